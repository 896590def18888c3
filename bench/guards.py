"""What guards cost: µs per guarded action for the cheap built-ins, and PII on short/long text.

Every agent run is the same conversation, played in process by a `FunctionModel`: the model calls
`get_weather` once, reads its result, then answers (one tool call, two model turns). The prompt,
the tool result and the answer are each about 200 characters of ordinary text with numbers in it,
so content guards have something to read. Variants differ only in their guards; the baseline is
the same agent without guards, measured in the same rounds (interleaved, order rotated).

A "guarded action" is one guard check: one `GuardVerdict` in `result.verdicts`. The five cheap
built-ins at their default points make 8 checks per run (allow_tools, deny_tools and tool_args at
the tool call; blocklist at input and final output; budget at both model turns and the tool
call). µs per guarded action = (median run with guards − median run without) / checks per run.

Then `pii` alone, its `check` called directly on a ~200-character and a ~20 kB text, clean and
with PII to redact, against one regex search over the same text.

Target from the issue: ≤ 20 µs per guarded action for every built-in except the LLM judge and
PII on long texts.

    .venv/bin/python bench/guards.py            # about 15 s on 2 cores
    .venv/bin/python bench/guards.py --quick    # a smoke run
"""

from __future__ import annotations

import os

os.environ["AGENTNB_TELEMETRY"] = "off"  # before agentnb is imported: nothing may start it

import argparse
import asyncio
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Literal

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/_common.py
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the repo root, for agentnb
from _common import Variant, environment, load, measure, median_us, table

from agentnb import Agent, FunctionModel, tool
from agentnb.guards import (
    Guard,
    GuardContext,
    allow_tools,
    blocklist,
    budget,
    deny_tools,
    guard,
    pii,
    tool_args,
)
from agentnb.models import AssistantMessage, ModelRequest, ToolCall, ToolResultMessage, set_price

PROMPT = (
    "Good morning! Could you tell me what the weather is like in Paris today, in degrees "
    "Celsius? I ordered 3 umbrellas last week (order 1042, $12.50 each) and wonder whether "
    "I will need one before 18:00."
)
REPORT = (
    "Paris, 2024-05-01: 21 degrees, sunny spells, wind 12 km/h from the west, humidity 40%, "
    "chance of rain 10% until the evening. Sunset at 20:58; the next showers are expected "
    "after midnight, with 2 mm over 3 hours."
)
FINAL = (
    "It is 21 °C and mostly sunny in Paris today, with only a 10% chance of rain before "
    "the evening; the next showers should come after midnight, so you will not need one of "
    "your 3 umbrellas before 18:00."
)
ARGS = '{"city": "Paris", "unit": "C"}'


def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
    """Current weather in a city.

    Args:
        city: The city's name.
        unit: Celsius or Fahrenheit.
    """
    return REPORT


def play(request: ModelRequest) -> AssistantMessage | str:
    if isinstance(request.messages[-1], ToolResultMessage):
        return FINAL
    return AssistantMessage("", [ToolCall("call_1", "get_weather", ARGS)])


@guard("input", "model_output", "tool_call", "tool_result", "final_output")
def noop(subject: Any) -> None:
    """Passes everything: what the pipeline costs per check, with no guard logic."""
    return None


def delete_everything() -> str:
    """Delete every order (never called: it gives deny_tools something to deny)."""
    return "gone"


def cheap_five() -> list[Guard]:
    """The five cheapest built-ins, each at its default points, all passing."""
    return [
        allow_tools(["get_weather", "delete_everything"]),
        deny_tools(["delete_everything"]),
        tool_args("get_weather", city={"pattern": r"[A-Z][a-z]+"}, unit={"one_of": ["C", "F"]}),
        blocklist(["password", "credit card"], patterns=[r"\bDROP\s+TABLE\b"]),
        budget(max_steps=8, max_tokens=50_000, max_cost_usd=1.0, max_seconds=60),
    ]


def guarded() -> list[tuple[str, list[Guard]]]:
    five = cheap_five()
    return [
        *((g.kind, [g]) for g in five),
        ("five cheap built-ins together", five),
        ("no-op @guard at every point", [noop]),
        ("pii (redact), ~200-char texts", [pii()]),
    ]


def agent_with(guards: list[Guard]) -> Agent:
    # Every variant, the baseline too, has the same two tools: only the guards differ.
    tools = [tool(get_weather), tool(delete_everything)]
    return Agent("bench", model=FunctionModel(play), tools=tools, guards=guards, telemetry=False)


# Priced so the budget guard checks cost (an unpriced model only gets a warning).
set_price("function:play", input_per_million=0.4, output_per_million=1.6)


def run_variant(name: str, agent: Agent) -> tuple[Variant, int]:
    """The variant and its guard checks per run (counted from one run's verdicts)."""
    loop = asyncio.new_event_loop()
    result = loop.run_until_complete(agent.run(PROMPT))
    loop.close()
    assert (result.status, result.output) == ("ok", FINAL), (name, result.status, result.output)
    assert all(v.outcome == "pass" for v in result.verdicts), (name, result.verdicts)

    async def once() -> None:
        await agent.run(PROMPT)

    return Variant(name, once, is_async=True), len(result.verdicts)


def runs_table(runs: int) -> list[tuple[str, float]]:
    floor, _ = run_variant("no guards (baseline)", agent_with([]))
    measured = [run_variant(name, agent_with(guards)) for name, guards in guarded()]
    variants = [floor, *(v for v, _ in measured)]
    loop = asyncio.new_event_loop()
    measure(variants, loop=loop, runs=runs, batch=20, warmup=min(200, runs))
    loop.close()

    base, cpu_base = median_us(floor), median_us(floor, cpu=True)
    rows = [(floor.name, f"{len(floor.samples):,}", "0", f"{base:.1f}", "", "", "", "")]
    per_action: list[tuple[str, float]] = []
    for variant, checks in measured:
        us, cpu = median_us(variant), median_us(variant, cpu=True)
        each, cpu_each = (us - base) / checks, (cpu - cpu_base) / checks
        per_action.append((variant.name, each))
        rows.append(
            (
                variant.name,
                f"{len(variant.samples):,}",
                str(checks),
                f"{us:.1f}",
                f"{us - base:+.1f}",
                f"{each:.2f}",
                f"{cpu_each:.2f}",
                "met" if each <= 20 else "MISSED",
            )
        )
    headers = (
        "variant",
        "runs",
        "checks/run",
        "median µs/run",
        "overhead µs/run",
        "µs/guarded action",
        "CPU µs/action",
        "≤ 20 µs",
    )
    print("\nWhole runs (FunctionModel: one tool call, two model turns; telemetry off)\n")
    print(table(headers, rows))
    return per_action


def _long_text(with_pii: bool) -> str:
    sentences = [
        "Order {n} shipped on 2024-05-{d:02d} and cost ${n}.{d:02d} including tax.",
        "The meeting moved to {d}:30 in room {n}; bring the Q{q} figures and {d} copies.",
        "Our team in Paris visited {d} customers in {y} and closed {q} of the open tickets.",
        "Revenue grew {d}% in {y}, while the warehouse kept {n} units in stock at all times.",
    ]
    parts = []
    i = 0
    while sum(map(len, parts)) < 20_000:
        template = sentences[i % len(sentences)]
        parts.append(template.format(n=1000 + i, d=1 + i % 28, q=1 + i % 4, y=1990 + i % 35))
        if with_pii and i % 40 == 0:
            parts.append(f"Contact ana{i}@example.com or call +44 20 7946 {i % 10000:04d}.")
        i += 1
    return " ".join(parts)


def pii_table(runs: int) -> None:
    short_clean = FINAL
    short_pii = "Write to ana@example.com or call +44 20 7946 0958; " + FINAL[:150]
    long_clean, long_pii = _long_text(False), _long_text(True)
    ctx = GuardContext("bench", "bench", "", [], time.perf_counter())
    check = pii().check
    absent = re.compile(r"\bzebra-crossing\b")

    def variant(name: str, text: str, fn: Any) -> Variant:
        return Variant(f"{name} ({len(text):,} chars)", lambda: fn(text, ctx))

    def floor_fn(text: str, ctx: GuardContext) -> Any:
        return absent.search(text)

    assert check(short_clean, ctx) is None
    assert check(long_clean, ctx) is None
    assert check(short_pii, ctx) is not None
    assert check(long_pii, ctx) is not None
    groups = [
        (
            variant("one regex search, short", short_clean, floor_fn),
            [
                variant("pii, short, clean", short_clean, check),
                variant("pii, short, 2 items to redact", short_pii, check),
            ],
        ),
        (
            variant("one regex search, long", long_clean, floor_fn),
            [
                variant("pii, long, clean", long_clean, check),
                variant(
                    f"pii, long, {len(re.findall('@', long_pii))} emails + phones", long_pii, check
                ),
            ],
        ),
    ]
    rows = []
    loop = asyncio.new_event_loop()  # measure() wants one; these variants are all sync
    for floor, variants in groups:
        measure(
            [floor, *variants],
            loop=loop,
            runs=runs,
            batch=20,
            warmup=min(50, runs),
            progress=False,
        )
        base = median_us(floor)
        for v in [floor, *variants]:
            us = median_us(v)
            p90 = statistics.quantiles(v.samples, n=10)[-1] * 1e6
            rows.append(
                (v.name, f"{len(v.samples):,}", f"{us:,.1f}", f"{p90:,.1f}", f"{us / base:,.1f}×")
            )
    loop.close()
    print(
        "\nPII guard check alone (pii().check(text), default kinds: secret, email, IBAN, "
        "card, phone)\n"
    )
    print(table(("text", "runs", "median µs/check", "p90 µs", "× one regex search"), rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3000, help="agent runs per variant")
    parser.add_argument("--quick", action="store_true", help="few runs, to check the script")
    args = parser.parse_args()
    runs = 60 if args.quick else args.runs
    print(environment("agentnb", "pydantic"))
    started = time.perf_counter()
    per_action = runs_table(runs)
    pii_table(max(20, runs // 4))
    name, worst = max(per_action, key=lambda item: item[1])
    print(
        f"\nTarget: ≤ 20 µs per guarded action (every built-in but the LLM judge and PII on long "
        f"texts): worst {worst:.2f} µs ({name}) → {'met' if worst <= 20 else 'MISSED'}"
    )
    print(f"\n(took {time.perf_counter() - started:.0f} s; {load()} at the end)")
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        print("Other processes competed for the CPU: trust the CPU column over the wall clock.")


if __name__ == "__main__":
    main()
