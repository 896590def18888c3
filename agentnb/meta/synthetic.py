"""Synthetic telemetry with planted rates: realistic rows for tests, benchmarks and demos.

`generate(store, Planted(...))` writes runs of a "support" agent straight into the telemetry
tables (the rows the recorder would write, with the same columns and attribute names) and returns
the `Truth`: what was actually planted, counted, so an analyzer's answer can be checked exactly and
the planted probabilities within sampling error.

```python
from agentnb import telemetry
from agentnb.meta.synthetic import Planted, generate

truth = generate(telemetry.open(), Planted(runs=2000, invalid_rate=0.2))
truth.tools["lookup_order"].invalid / truth.tools["lookup_order"].calls   # ≈ 0.2
```

The agent has three tools. Every `lookup_order` call is independently malformed with probability
`invalid_rate` (the model retries until the id is valid or the third rejection ends the run), so
the share of rejected calls is `invalid_rate` in expectation; `refund` raises with
`refund_error_rate` and a `tool_args` guard blocks it with `block_rate` per call; `search_faq`
never fails but is where loops (the same call repeated) and runs that use up `max_steps` happen.

Rows are written with `Store.table(name).add(...)` in batches, bypassing the recorder: a million
spans take seconds instead of minutes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from agentnb import semconv as A
from agentnb.telemetry import schema as S
from agentnb.telemetry.records import SPAN_COLUMNS as _SPAN_COLUMNS

if TYPE_CHECKING:
    from agentnb.telemetry.store import Store

__all__ = ["INVALID_ID_MESSAGE", "ORDER_ID_PATTERN", "Planted", "ToolTruth", "Truth", "generate"]

ORDER_ID_PATTERN = r"^ORD-\d{6}$"
INVALID_ID_MESSAGE = (
    "Invalid arguments for tool 'lookup_order': order_id: String should match pattern "
    "'^ORD-\\d{{6}}$' (got '{bad}'). Fix the arguments and call the tool again."
)
_BAD_IDS = ("{n}", "#{n}", "ord-{n}", "order {n}", "{n}-ORD")
_FAQ = ("shipping times", "return policy", "change address", "cancel order", "gift cards")
_REFUSALS = (
    "Tool 'refund' raised PermissionError: refund of {amount} for ORD-{n:06d} refused by the bank",
    "Tool 'refund' raised TimeoutError: payment gateway did not answer for ORD-{n:06d}",
)
_MODEL_ERROR = "openai:gpt-4.1-mini (HTTP 503): The server is overloaded, please retry later"
_PRICE = (0.40e-6, 1.60e-6)  # gpt-4.1-mini, USD per token
_CHUNK = 20_000
"""Runs per batch of appends: bounds memory for 100k-run benchmarks."""

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_CONTENT_ATTRIBUTES = (
    (A.GEN_AI_INPUT_MESSAGES, A.GEN_AI_OUTPUT_MESSAGES),
    (A.GEN_AI_TOOL_CALL_ARGUMENTS, A.GEN_AI_TOOL_CALL_RESULT),
)
"""Where content goes when the spans table has no `input`/`output` columns (by tool or not)."""


@dataclass(frozen=True)
class Planted:
    """What to generate; every rate is a probability per run unless it says per call."""

    runs: int = 2000
    agent: str = "support"
    version: str = "1.2.0"
    model: str = "openai:gpt-4.1-mini"
    start: datetime = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
    period: timedelta = timedelta(days=7)
    """Runs are spread evenly over `[start, start + period)`."""
    invalid_rate: float = 0.2
    """Per `lookup_order` call: the id is malformed and fails argument validation."""
    refund_rate: float = 0.3
    """Per normal run: the run asks for a refund (one `refund` call)."""
    refund_error_rate: float = 0.1
    """Per `refund` call that was not blocked: the tool raises."""
    block_rate: float = 0.1
    """Per `refund` call: the `refund_limit` guard blocks it."""
    max_steps_rate: float = 0.02
    loop_rate: float = 0.02
    """Runs calling `search_faq` four times with the same arguments."""
    model_error_rate: tuple[float, float] = (0.01, 0.01)
    """In the first and the second half of the period: drift when they differ."""
    slow_rate: float = 0.01
    """Runs 30x slower than usual (latency outliers)."""
    token_outlier_rate: float = 0.01
    """Runs with 12x the usual input tokens."""
    finding_rate: float = 0.03
    max_steps: int = 8
    seed: int = 0


@dataclass
class ToolTruth:
    """What `generate` wrote for one tool: its calls, invalid ones, failures and blocks."""

    calls: int = 0
    invalid: int = 0
    errors: int = 0
    """Failed calls of any kind (invalid arguments included); blocked calls are not failures."""
    blocked: int = 0


@dataclass
class Truth:
    """What `generate` actually wrote (counts, and the run ids behind each planted effect)."""

    runs: int = 0
    spans: int = 0
    tools: dict[str, ToolTruth] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)
    max_steps_runs: list[str] = field(default_factory=list)
    loop_runs: list[str] = field(default_factory=list)
    slow_runs: list[str] = field(default_factory=list)
    token_runs: list[str] = field(default_factory=list)
    tool_failed_runs: list[str] = field(default_factory=list)
    model_errors: tuple[int, int] = (0, 0)
    halves: tuple[int, int] = (0, 0)
    """Runs in the first and second half of the period."""
    guard_checks: dict[str, int] = field(default_factory=dict)
    guard_blocks: dict[str, int] = field(default_factory=dict)
    findings: int = 0


def _append(columns: dict[str, list[Any]], row: dict[str, Any]) -> None:
    """Append `row` to every column (None where it has no value)."""
    for name, values in columns.items():
        values.append(row.get(name))


class _Rows:
    """Column lists of every table for one batch of runs."""

    def __init__(self) -> None:
        from agentnb.telemetry.records import (
            FINDING_COLUMNS,
            RUN_COLUMNS,
            SPAN_COLUMNS,
            VERDICT_COLUMNS,
        )

        self.spans: dict[str, list[Any]] = {c: [] for c in SPAN_COLUMNS}
        self.runs: dict[str, list[Any]] = {c: [] for c in RUN_COLUMNS}
        self.verdicts: dict[str, list[Any]] = {c: [] for c in VERDICT_COLUMNS}
        self.findings: dict[str, list[Any]] = {c: [] for c in FINDING_COLUMNS}
        self.texts: list[str] = []


class _Run:
    """Builds the rows of one run, span by span, on a running clock (microseconds)."""

    def __init__(self, gen: _Generator, run_id: str, start_us: int, slow: bool) -> None:
        self.g = gen
        self.id = run_id
        self.root = run_id[:16]
        self.clock = start_us
        self.start = start_us
        self.scale = 30 if slow else 1
        self.step = 0
        self.tokens = [0, 0]
        self.tool_calls = 0
        self.tool_errors = 0
        self.tools: list[str] = []
        self.verdicts = 0
        self.blocks = 0

    def emit(self, values: dict[str, Any], extra: dict[str, Any]) -> None:
        """Append one span row; content goes to the `input`/`output` columns when the store has
        them, else into the attributes (the layout `full_attributes` reads back)."""
        names = _CONTENT_ATTRIBUTES[values["operation"] == A.OP_EXECUTE_TOOL]
        for column, attribute in zip(("input", "output"), names, strict=True):
            value = values.pop(column, None)
            if value is None:
                continue
            if column in _SPAN_COLUMNS:
                values[column] = value
            else:
                extra[attribute] = value
        values["attributes"] = _dumps(extra)
        values.setdefault("agent", self.g.plan.agent)
        values.setdefault("version", self.g.plan.version)
        _append(self.g.rows.spans, values)
        self.g.truth.spans += 1

    def span(self, name: str, op: str, ms: float, extra: dict[str, Any], **cols: Any) -> str:
        span_id = f"{self.g.rng.getrandbits(64) or 1:016x}"
        start = self.clock
        self.clock += int(ms * 1000 * self.scale)
        cols.setdefault("status", "ok")
        self.emit(
            {
                "trace_id": self.id,
                "span_id": span_id,
                "parent_span_id": self.root,
                "name": name,
                "operation": op,
                "start_time": start,
                "end_time": self.clock,
                "duration_ms": (self.clock - start) / 1000,
                **cols,
            },
            extra,
        )
        return span_id

    def chat(self, *, error: bool = False, big: bool = False) -> None:
        self.step += 1
        rng = self.g.rng
        tokens_in = int(rng.gauss(420, 60) * (12 if big else 1)) + 80 * self.step
        tokens_out = 0 if error else int(rng.gauss(40, 8))
        extra: dict[str, Any] = {
            A.GEN_AI_PROVIDER_NAME: "openai",
            A.GEN_AI_REQUEST_STREAM: False,
            A.AGENTNB_STEP: self.step,
        }
        cols: dict[str, Any] = {"model": "gpt-4.1-mini"}
        if error:
            extra[A.AGENTNB_ERROR_MESSAGE] = _MODEL_ERROR
            cols.update(status="error", error_type="ProviderServerError")
        else:
            extra[A.GEN_AI_RESPONSE_MODEL] = "gpt-4.1-mini-2025-04-14"
            extra[A.GEN_AI_RESPONSE_FINISH_REASONS] = ["stop"]
            cost = tokens_in * _PRICE[0] + tokens_out * _PRICE[1]
            cols.update(input_tokens=tokens_in, output_tokens=tokens_out, cost=cost)
            self.tokens[0] += tokens_in
            self.tokens[1] += tokens_out
        self.span("chat gpt-4.1-mini", A.OP_CHAT, max(rng.gauss(900, 250), 150), extra, **cols)
        if not error:
            self.guard("budget", "model_output", block=False)

    def tool(
        self,
        name: str,
        args: dict[str, Any],
        *,
        error: str | None = None,
        message: str = "",
        blocked: bool = False,
    ) -> None:
        g = self.g
        truth = g.truth.tools.setdefault(name, ToolTruth())
        truth.calls += 1
        self.tool_calls += 1
        if name not in self.tools:
            self.tools.append(name)
        extra: dict[str, Any] = {
            A.GEN_AI_TOOL_TYPE: "function",
            A.GEN_AI_TOOL_CALL_ID: f"call_{g.rng.getrandbits(40):010x}",
            A.AGENTNB_STEP: self.step,
        }
        cols: dict[str, Any] = {"tool": name, "input": _dumps(args)}
        if blocked:
            truth.blocked += 1
            extra[A.AGENTNB_TOOL_BLOCKED] = True
            extra[A.AGENTNB_ERROR_MESSAGE] = message
        elif error:
            truth.errors += 1
            truth.invalid += error == "invalid_arguments"
            self.tool_errors += 1
            extra[A.AGENTNB_ERROR_MESSAGE] = message
            cols.update(status="error", error_type=error)
        else:
            cols["output"] = '{"status":"shipped","eta":"2 days"}'
        ms = 2.0 if error == "invalid_arguments" else max(g.rng.gauss(60, 15), 5)
        self.span(f"execute_tool {name}", A.OP_EXECUTE_TOOL, ms, extra, **cols)

    def guard(
        self,
        name: str,
        point: str,
        *,
        block: bool,
        target: str | None = None,
        reason: str | None = None,
    ) -> None:
        g = self.g
        outcome, action = ("block", "skip") if block else ("pass", "continue")
        extra: dict[str, Any] = {
            A.AGENTNB_GUARD_NAME: name,
            A.AGENTNB_GUARD_POINT: point,
            A.AGENTNB_GUARD_OUTCOME: outcome,
            A.AGENTNB_GUARD_ACTION: action,
            A.AGENTNB_STEP: self.step,
        }
        if reason:
            extra[A.AGENTNB_GUARD_REASON] = reason
        if target:
            extra[A.AGENTNB_GUARD_TARGET] = target
        start = self.clock
        span_id = self.span(f"guard {name}", A.OP_GUARD, 0.02, extra)
        g.truth.guard_checks[name] = g.truth.guard_checks.get(name, 0) + 1
        g.truth.guard_blocks[name] = g.truth.guard_blocks.get(name, 0) + block
        self.verdicts += 1
        self.blocks += block
        _append(g.rows.verdicts, {
            "trace_id": self.id, "span_id": span_id, "agent": g.plan.agent,
            "version": g.plan.version, "step": self.step, "guard": name, "point": point,
            "outcome": outcome, "action": action, "target": target, "reason": reason,
            "duration_ms": (self.clock - start) / 1000, "time": self.clock,
        })  # fmt: skip

    def finish(
        self, prompt: str, output: str | None, error_type: str | None, error: str | None
    ) -> None:
        g = self.g
        p = g.plan
        status = "error" if error_type else "ok"
        end = self.clock + int(g.rng.uniform(1, 3) * 1000 * self.scale)
        tokens_in, tokens_out = self.tokens
        cost = tokens_in * _PRICE[0] + tokens_out * _PRICE[1]
        extra: dict[str, Any] = {
            A.GEN_AI_PROVIDER_NAME: "openai",
            A.AGENTNB_CONFIG_HASH: g.config_hash,
            A.AGENTNB_RUN_STATUS: status,
            A.AGENTNB_RUN_STEPS: self.step,
            A.AGENTNB_RUN_TOOL_CALLS: self.tool_calls,
            A.AGENTNB_CAPTURE_CONTENT: "full",
        }
        if error:
            extra[A.AGENTNB_ERROR_MESSAGE] = error
        messages = [{"role": "user", "parts": [{"type": "text", "content": prompt}]}]
        answer = [{"role": "assistant", "parts": [{"type": "text", "content": output}]}]
        self.emit(
            {
                "trace_id": self.id,
                "span_id": self.root,
                "parent_span_id": None,
                "name": f"invoke_agent {p.agent}",
                "operation": A.OP_INVOKE_AGENT,
                "start_time": self.start,
                "end_time": end,
                "duration_ms": (end - self.start) / 1000,
                "status": status,
                "error_type": error_type,
                "model": "gpt-4.1-mini",
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "cost": cost,
                "input": _dumps(messages),
                "output": _dumps(answer) if output else None,
            },
            extra,
        )
        _append(g.rows.runs, {
            "trace_id": self.id, "agent": p.agent, "version": p.version,
            "config_hash": g.config_hash, "model": p.model, "provider": "openai",
            "status": status, "error_type": error_type, "error": error,
            "started_at": self.start, "ended_at": end, "duration_ms": (end - self.start) / 1000,
            "steps": self.step, "model_calls": self.step, "tool_calls": self.tool_calls,
            "tool_errors": self.tool_errors, "tools": self.tools, "input_tokens": tokens_in,
            "output_tokens": tokens_out, "cost": cost, "guard_verdicts": self.verdicts,
            "guard_blocks": self.blocks, "capture": "full", "prompt": prompt, "output": output,
        })  # fmt: skip
        g.rows.texts.append(" \n".join(t for t in (prompt, output, error) if t))


class _Generator:
    def __init__(self, plan: Planted) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.truth = Truth()
        self.rows = _Rows()
        self.config_hash = f"{random.Random(plan.version).getrandbits(64):016x}"

    def runs(self) -> Iterator[int]:
        p = self.plan
        start = int(p.start.timestamp() * 1e6)
        gap = p.period.total_seconds() * 1e6 / max(p.runs, 1)
        for i in range(p.runs):
            yield start + int(i * gap + self.rng.uniform(0, gap * 0.5))

    def one(self, start_us: int, second_half: bool) -> None:
        p, rng, truth = self.plan, self.rng, self.truth
        run_id = f"{rng.getrandbits(128):032x}"
        truth.run_ids.append(run_id)
        slow = rng.random() < p.slow_rate
        big = rng.random() < p.token_outlier_rate
        if slow:
            truth.slow_runs.append(run_id)
        if big:
            truth.token_runs.append(run_id)
        run = _Run(self, run_id, start_us, slow)
        order = rng.randrange(1, 1_000_000)
        prompt = f"Where is my order {order}? It was due {rng.choice(('today', 'Monday'))}."
        run.guard("pii", "input", block=False)
        fate = rng.random()
        model_rate = p.model_error_rate[1 if second_half else 0]
        if fate < model_rate:
            run.chat(error=True, big=big)
            halves = list(truth.model_errors)
            halves[second_half] += 1
            truth.model_errors = (halves[0], halves[1])
            run.finish(prompt, None, "ProviderServerError", _MODEL_ERROR)
        elif fate < model_rate + p.max_steps_rate:
            truth.max_steps_runs.append(run_id)
            for i in range(p.max_steps):
                run.chat(big=big)
                run.tool("search_faq", {"query": f"{_FAQ[i % len(_FAQ)]} for order {order + i}"})
            message = (
                f"agent {p.agent!r} used all {p.max_steps} steps (settings.max_steps) without a "
                "final answer; raise max_steps or check for a tool-call loop in the trace"
            )
            run.finish(prompt, None, "MaxStepsExceeded", message)
        elif fate < model_rate + p.max_steps_rate + p.loop_rate:
            truth.loop_runs.append(run_id)
            query = {"query": f"{rng.choice(_FAQ)} order {order}"}
            for _ in range(4):
                run.chat(big=big)
                run.tool("search_faq", query)
            run.chat(big=big)
            run.finish(prompt, "Here is what our FAQ says about that.", None, None)
        else:
            self.normal(run, prompt, order, big)
        if rng.random() < p.finding_rate:
            self.finding(run)

    def normal(self, run: _Run, prompt: str, order: int, big: bool) -> None:
        p, rng = self.plan, self.rng
        for attempt in range(3):
            run.chat(big=big)
            if rng.random() < p.invalid_rate:
                bad = rng.choice(_BAD_IDS).format(n=order)
                message = INVALID_ID_MESSAGE.format(bad=bad)
                run.tool(
                    "lookup_order", {"order_id": bad}, error="invalid_arguments", message=message
                )
                if attempt == 2:
                    self.truth.tool_failed_runs.append(run.id)
                    error = (
                        "tool 'lookup_order': failed 3 times in this run "
                        f"(settings.tool_retries=2); last error: {message}"
                    )
                    run.finish(prompt, None, "ToolFailed", error)
                    return
            else:
                run.tool("lookup_order", {"order_id": f"ORD-{order:06d}"})
                break
        if rng.random() < p.refund_rate:
            run.chat(big=big)
            amount = round(rng.uniform(20, 400), 2)
            blocked = rng.random() < p.block_rate
            reason = f"amount={amount!r} is above the maximum 100" if blocked else None
            run.guard("refund_limit", "tool_call", block=blocked, target="refund", reason=reason)
            args = {"order_id": f"ORD-{order:06d}", "amount": amount}
            if blocked:
                run.tool("refund", args, blocked=True, message=f"blocked by guard: {reason}")
            elif rng.random() < p.refund_error_rate:
                message = rng.choice(_REFUSALS).format(amount=amount, n=order)
                run.tool("refund", args, error="exception", message=message)
            else:
                run.tool("refund", args)
        run.chat(big=big)
        run.finish(
            prompt, f"Your order ORD-{order:06d} has shipped and arrives in 2 days.", None, None
        )

    def finding(self, run: _Run) -> None:
        self.truth.findings += 1
        _append(self.rows.findings, {
            "trace_id": run.id, "span_id": f"{self.rng.getrandbits(64) or 1:016x}",
            "agent": self.plan.agent, "monitor": "tool_errors", "severity": "warning",
            "message": "tool_errors 40% over the last 5 calls", "time": run.clock,
        })  # fmt: skip

    def flush(self, store: Store) -> None:
        import numpy as np
        import pyarrow as pa

        rows = self.rows
        if not rows.runs["trace_id"]:
            return
        embedder = store.embedder
        # Run texts repeat a lot (templated prompts): embed each distinct text once.
        unique = list(dict.fromkeys(rows.texts))
        index = {t: i for i, t in enumerate(unique)}
        vectors = embedder.embed(unique).astype(np.float16)[[index[t] for t in rows.texts]]
        runs: dict[str, Any] = dict(rows.runs)
        runs["vector"] = pa.FixedSizeListArray.from_arrays(
            pa.array(vectors.ravel(), pa.float16()), embedder.dim
        )
        store.table("spans").add(pa.Table.from_pydict(rows.spans, schema=S.spans_schema()))
        store.table("runs").add(pa.Table.from_pydict(runs, schema=S.runs_schema(embedder.dim)))
        if rows.verdicts["trace_id"]:
            store.table("verdicts").add(
                pa.Table.from_pydict(rows.verdicts, schema=S.verdicts_schema())
            )
        if rows.findings["trace_id"]:
            store.table("findings").add(
                pa.Table.from_pydict(rows.findings, schema=S.findings_schema())
            )
        self.rows = _Rows()


def generate(store: Store, plan: Planted | None = None, /, **overrides: Any) -> Truth:
    """Write `plan`'s runs into `store`; returns what was written.

    Keyword arguments override fields of `plan` (`generate(store, runs=500, invalid_rate=0.3)`).
    """
    from dataclasses import replace

    plan = replace(plan or Planted(), **overrides)
    gen = _Generator(plan)
    middle = int((plan.start + plan.period / 2).timestamp() * 1e6)
    halves = [0, 0]
    for i, start_us in enumerate(gen.runs()):
        second = start_us >= middle
        halves[second] += 1
        gen.one(start_us, second)
        if (i + 1) % _CHUNK == 0:
            gen.flush(store)
    gen.flush(store)
    gen.truth.runs = plan.runs
    gen.truth.halves = (halves[0], halves[1])
    return gen.truth
