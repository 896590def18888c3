"""Per-run overhead of agentnb vs a plain-Python floor, pydantic-ai and openai-agents.

Every run is the same conversation: the model calls one tool (`get_weather`), gets its result,
then answers in text: one tool call, two model turns. In process, a Python function plays the
model; over HTTP, the local wire-protocol server (tests/wire_server.py) answers in the OpenAI Chat
Completions protocol. All variants are measured in this one process, interleaved in rounds.

    .venv/bin/python bench/overhead.py               # both tables (about 30 s on 2 cores)
    .venv/bin/python bench/overhead.py --quick       # a smoke run
    .venv/bin/python bench/overhead.py --only inproc # or: --only http, --only telemetry

Needs the bench extras: pip install -e ".[bench,openai]".
"""

from __future__ import annotations

import os

os.environ["AGENTNB_TELEMETRY"] = "off"  # before agentnb is imported: nothing may start it

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/_common.py
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the repo root: tests.wire_server
from _common import Variant, environment, load, measure, median_us, paired_ratio, print_table

PROMPT = "What is the weather in Paris?"
INSTRUCTIONS = "You report the weather. Use the get_weather tool."
ARGS = json.dumps({"city": "Paris", "unit": "C"})
FINAL = "It is 21 °C in Paris."
PACKAGES = ("agentnb", "pydantic-ai-slim", "openai-agents", "openai", "pydantic")


def get_weather(city: str, unit: Literal["C", "F"] = "C") -> dict[str, Any]:
    """Current weather in a city."""
    return {"city": city, "temperature": 21 if unit == "C" else 70, "unit": unit}


class WeatherArgs(BaseModel):
    city: str
    unit: Literal["C", "F"] = "C"


# ---------------------------------------------------------------------------- in process


def floor_play(messages: list[dict[str, Any]]) -> dict[str, Any]:
    if messages[-1]["role"] == "tool":
        return {"role": "assistant", "content": FINAL}
    call = {"id": "call_1", "name": "get_weather", "arguments": ARGS}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def floor_run() -> str:
    """What any agent loop has to do: the JSON parse, validation, the call, the appends."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
    while True:
        reply = floor_play(messages)
        messages.append(reply)
        calls = reply.get("tool_calls")
        if not calls:
            return str(reply["content"])
        for call in calls:
            args = WeatherArgs.model_validate(json.loads(call["arguments"]))
            result = get_weather(args.city, args.unit)
            messages.append({"role": "tool", "id": call["id"], "content": json.dumps(result)})


def agentnb_inproc() -> Any:
    from agentnb import Agent, FunctionModel, tool
    from agentnb.models import AssistantMessage, ModelRequest, ToolCall, ToolResultMessage

    def play(request: ModelRequest) -> AssistantMessage | str:
        if isinstance(request.messages[-1], ToolResultMessage):
            return FINAL
        return AssistantMessage("", [ToolCall("call_1", "get_weather", ARGS)])

    model, tools = FunctionModel(play), [tool(get_weather)]
    return Agent("weather", model=model, instructions=INSTRUCTIONS, tools=tools, telemetry=False)


def pydantic_ai_inproc() -> Any:
    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    # async: a sync function would be sent to a worker thread on every turn
    async def play(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if any(p.part_kind == "tool-return" for p in messages[-1].parts):
            return ModelResponse(parts=[TextPart(FINAL)])
        return ModelResponse(parts=[ToolCallPart("get_weather", ARGS, "call_1")])

    return Agent(FunctionModel(play), instructions=INSTRUCTIONS, tools=[get_weather])


def openai_agents_inproc() -> tuple[Any, Any]:
    import agents
    from agents.items import ModelResponse
    from agents.models.interface import Model
    from agents.testing import assistant_message, function_call

    agents.set_tracing_disabled(True)
    call = function_call("get_weather", ARGS, call_id="call_1")
    answer = assistant_message(FINAL)

    class CannedModel(Model):
        async def get_response(  # the full abstract signature; the runner passes keywords
            self,
            system_instructions: str | None,
            input: str | list[Any],
            model_settings: Any,
            tools: list[Any],
            output_schema: Any,
            handoffs: list[Any],
            tracing: Any,
            *,
            previous_response_id: str | None,
            conversation_id: str | None,
            prompt: Any,
        ) -> ModelResponse:
            last = input[-1] if isinstance(input, list) and input else {}
            done = isinstance(last, dict) and last.get("type") == "function_call_output"
            usage = agents.Usage(requests=1, input_tokens=20, output_tokens=10, total_tokens=30)
            return ModelResponse(output=[answer if done else call], usage=usage, response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    tools: list[Any] = [agents.function_tool(get_weather)]
    agent = agents.Agent(
        name="weather", instructions=INSTRUCTIONS, model=CannedModel(), tools=tools
    )
    return agents.Runner, agent


def inproc_variants() -> tuple[list[Variant], Variant]:
    nb = agentnb_inproc()
    pa = pydantic_ai_inproc()
    runner, oa = openai_agents_inproc()

    async def nb_await() -> None:
        assert (await nb.run(PROMPT)).output == FINAL

    def nb_sync() -> None:
        assert nb.run_sync(PROMPT).output == FINAL

    async def pa_run() -> None:
        assert (await pa.run(PROMPT)).output == FINAL

    async def oa_run() -> None:
        assert (await runner.run(oa, PROMPT)).final_output == FINAL

    floor = Variant("plain-Python floor (sync loop)", floor_run, earlier="10–17")
    return [
        floor,
        Variant("agentnb  await agent.run()", nb_await, is_async=True),
        Variant("agentnb  agent.run_sync()", nb_sync),
        Variant("pydantic-ai  FunctionModel", pa_run, is_async=True, earlier="8,700–11,800"),
        Variant("openai-agents  fake Model", oa_run, is_async=True, earlier="5,300–7,200"),
    ], floor


# ---------------------------------------------------------------------------- telemetry


def telemetry_variants(home: str) -> list[Variant]:
    """agentnb's `run_sync` with telemetry off and on (the default: the recorder and the spool
    writing to a store in `home`), and two steps between them that show where the cost lies: a
    no-op event handler (the loop then builds its events) and the recorder without the spool
    (events kept, no encoding or writing). The spool's thread writes in groups every 20 ms: its
    CPU time lands on whichever run it overlaps, so the report uses means for CPU, not medians."""
    from agentnb import telemetry
    from agentnb.telemetry.recorder import Recorder

    os.environ["AGENTNB_HOME"] = home
    os.environ["AGENTNB_INGEST_WORKER"] = "off"  # the worker is another process: not timed here
    off = agentnb_inproc()
    events = agentnb_inproc()
    events.on_event(lambda event: None)
    kept = agentnb_inproc()
    kept.on_event(Recorder(lambda record: None))
    on = agentnb_inproc()
    on.on_event(telemetry.event_handler())

    def runner(agent: Any) -> Callable[[], None]:
        def run() -> None:
            assert agent.run_sync(PROMPT).output == FINAL

        return run

    return [
        Variant("agentnb run_sync, telemetry off", runner(off)),
        Variant("  + a no-op event handler (events built)", runner(events)),
        Variant("  + the recorder, no spool (events kept)", runner(kept)),
        Variant("agentnb run_sync, telemetry on (default)", runner(on)),
    ]


def report_telemetry(variants: list[Variant]) -> None:
    off, on = variants[0], variants[-1]
    wall_off, wall_on = median_us(off), median_us(on)
    cpu_off = statistics.fmean(off.cpu) * 1e6
    cpu_on = statistics.fmean(on.cpu) * 1e6
    print(f"\nTelemetry: one tool call, two model turns (FunctionModel), run_sync, {load()}")
    header = (
        f"  {'variant':<42} {'wall µs (median)':>17} {'CPU µs (mean, all threads)':>27}"
        f" {'CPU / off':>10}"
    )
    print(header)
    for v in variants:
        cpu = statistics.fmean(v.cpu) * 1e6
        print(f"  {v.name:<42} {median_us(v):17.1f} {cpu:27.1f} {cpu / cpu_off:9.2f}×")
    added = wall_on - wall_off
    ratio = cpu_on / cpu_off
    print(
        f"  telemetry adds {added:.1f} µs wall per run  ≤ 100 µs: {verdict(added <= 100)}\n"
        f"  CPU on/off {ratio:.2f}×  ≤ 1.3×: {verdict(ratio <= 1.3)}"
        f"  (wall on/off {wall_on / wall_off:.2f}×; run-by-run {paired_ratio(on, off):.2f}×)"
    )


# ---------------------------------------------------------------------------- over HTTP

TOOL_SCHEMA: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": WeatherArgs.model_json_schema(),
    },
}


def http_variants(server: Any, extras: bool) -> tuple[list[Variant], Variant, Callable[[], int]]:
    """The variants, the baseline, and how many runs were scripted so far."""
    from openai import AsyncOpenAI

    from agentnb import Agent, tool
    from agentnb.models.openai import OpenAIModel
    from tests.wire_server import Call, Reply

    base_url = server.url + "/v1"

    scripted = [0]

    def script() -> None:
        scripted[0] += 1
        server.script(Reply(calls=[Call("get_weather", json.loads(ARGS))]), Reply(text=FINAL))

    client = AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)

    async def hand_written() -> None:
        script()
        messages: list[Any] = [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": PROMPT},
        ]
        while True:
            completion = await client.chat.completions.create(
                model="gpt-4.1-mini", messages=messages, tools=[TOOL_SCHEMA]
            )
            message = completion.choices[0].message
            messages.append(message.model_dump(exclude_none=True))
            if not message.tool_calls:
                assert message.content == FINAL
                return
            for call in message.tool_calls:
                assert call.type == "function"
                args = WeatherArgs.model_validate(json.loads(call.function.arguments))
                result = json.dumps(get_weather(args.city, args.unit))
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})

    model = OpenAIModel("gpt-4.1-mini", base_url=base_url, api_key="bench")
    tools = [tool(get_weather)]
    nb = Agent("weather", model=model, instructions=INSTRUCTIONS, tools=tools, telemetry=False)

    async def nb_await() -> None:
        script()
        assert (await nb.run(PROMPT)).output == FINAL

    floor = Variant("hand-written loop on AsyncOpenAI", hand_written, True, "10.2 ms")
    variants = [floor, Variant("agentnb  openai provider", nb_await, is_async=True)]
    if extras:
        variants += _http_extras(base_url, script)
    return variants, floor, lambda: scripted[0]


def _http_extras(base_url: str, script: Any) -> list[Variant]:
    import agents
    from openai import AsyncOpenAI
    from pydantic_ai import Agent as PAgent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    agents.set_tracing_disabled(True)
    pa_client = AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    pa_model = OpenAIChatModel("gpt-4.1-mini", provider=OpenAIProvider(openai_client=pa_client))
    pa = PAgent(pa_model, instructions=INSTRUCTIONS, tools=[get_weather])
    oa_client = AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    oa_model = agents.OpenAIChatCompletionsModel("gpt-4.1-mini", oa_client)
    tools: list[Any] = [agents.function_tool(get_weather)]
    oa = agents.Agent(name="weather", instructions=INSTRUCTIONS, model=oa_model, tools=tools)

    async def pa_run() -> None:
        script()
        assert (await pa.run(PROMPT)).output == FINAL

    async def oa_run() -> None:
        script()
        assert (await agents.Runner.run(oa, PROMPT)).final_output == FINAL

    return [
        Variant("pydantic-ai  OpenAIChatModel", pa_run, is_async=True, earlier="28.2 ms"),
        Variant("openai-agents  ChatCompletions", oa_run, is_async=True, earlier="23.6 ms"),
    ]


# ---------------------------------------------------------------------------- main


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report_inproc(variants: list[Variant], floor: Variant) -> None:
    print_table("In process: one tool call, two model turns, telemetry off", variants, floor)
    print("\nTargets (agentnb, in process; wall clock, CPU time in brackets):")
    pa = variants[3]
    for nb in variants[1:3]:
        us, cpu = median_us(nb), median_us(nb, cpu=True)
        faster, cpu_faster = median_us(pa) / us, median_us(pa, cpu=True) / cpu
        label = nb.name.split()[-1]
        print(f"  {label:<17} {us:6.1f} µs [{cpu:.1f}]  ≤ 100 µs: {verdict(us <= 100)}")
        print(
            f"  {'':<17} {faster:6.0f}× [{cpu_faster:.0f}×] faster than pydantic-ai"
            f"  ≥ 50×: {verdict(faster >= 50)}"
        )


def report_http(variants: list[Variant], floor: Variant) -> None:
    title = (
        "Over HTTP to the local wire server (OpenAI Chat Completions); floor = hand-written loop"
    )
    print_table(title, variants, floor, unit="ms")
    ratio = median_us(variants[1]) / median_us(floor)
    cpu_ratio = median_us(variants[1], cpu=True) / median_us(floor, cpu=True)
    paired = paired_ratio(variants[1], floor)
    print(
        f"\nTarget (agentnb over HTTP): {ratio:.3f}× the hand-written loop  ≤ 1.15×: "
        f"{verdict(ratio <= 1.15)}\n  (run-by-run: {paired:.3f}×; CPU time: {cpu_ratio:.3f}×)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("inproc", "http", "telemetry"))
    parser.add_argument("--runs", type=int, default=3000, help="in-process runs per variant")
    parser.add_argument("--http-runs", type=int, default=300, help="HTTP runs per variant")
    parser.add_argument("--no-extras", action="store_true", help="HTTP: skip the frameworks")
    parser.add_argument("--quick", action="store_true", help="few runs, to check the script")
    args = parser.parse_args()
    runs, http_runs = (100, 20) if args.quick else (args.runs, args.http_runs)
    print(environment(*(PACKAGES if args.only != "telemetry" else ("agentnb", "pydantic"))))
    busy_at_start = os.getloadavg()[0] > (os.cpu_count() or 1)
    started = time.perf_counter()
    loop = asyncio.new_event_loop()
    if args.only in (None, "inproc"):
        variants, floor = inproc_variants()
        measure(variants, loop=loop, runs=runs, batch=20, warmup=min(200, runs))
        report_inproc(variants, floor)
    if args.only in (None, "telemetry"):
        import shutil
        import tempfile

        home = tempfile.mkdtemp(prefix="agentnb-bench-overhead-")
        try:
            variants = telemetry_variants(home)
            measure(variants, loop=loop, runs=runs, batch=50, warmup=min(200, runs))
            report_telemetry(variants)
        finally:
            shutil.rmtree(home, ignore_errors=True)
    if args.only in (None, "http"):
        from tests.wire_server import WireServer

        with WireServer() as server:
            variants, floor, scripted = http_variants(server, not args.no_extras)
            measure(variants, loop=loop, runs=http_runs, batch=1, warmup=min(20, http_runs))
            # Each run must have taken exactly its two scripted replies, no extra request.
            assert len(server.requests) == 2 * scripted(), "a variant sent extra requests"
            report_http(variants, floor)
    loop.close()
    print(f"\n(took {time.perf_counter() - started:.0f} s; {load()} at the end)")
    if busy_at_start or os.getloadavg()[0] > (os.cpu_count() or 1) + 1:  # +1: this script
        print("Other processes competed for the CPU: trust the CPU columns over the wall clock.")


if __name__ == "__main__":
    main()
