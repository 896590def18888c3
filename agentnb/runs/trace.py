"""`trace_payload(result)`: a `RunResult` as the versioned trace payload (`agentnb.display.trace`).

The payload is the run's display data: the JupyterLab extension, the static HTML and the plotly
timeline all draw it. Building it needs the live result (its steps, verdicts, findings and the
clock they were timed with), so it lives beside `RunResult`; the schema and its renderers live in
`agentnb.display`, which knows nothing of agents.

```python
payload = trace_payload(result)
assert json.loads(json.dumps(payload)) == payload
```
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from agentnb import semconv as A
from agentnb.display.trace import OUTCOMES, TRACE_VERSION, SpanStatus, stopped
from agentnb.events import GuardVerdict, MonitorFinding
from agentnb.models.messages import Usage
from agentnb.runs.steps import RunStatus, StepRecord, ToolCallRecord

__all__ = ["trace_payload"]

_TOOL_POINTS = ("tool_call", "tool_result")


class TracedRun(Protocol):
    """What the payload is built from: the fields of a `RunResult` it reads (`RunResult` is
    built on top of this module, so the payload does not import it)."""

    @property
    def run_id(self) -> str: ...
    @property
    def agent(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def prompt(self) -> str: ...
    @property
    def output(self) -> Any: ...
    @property
    def status(self) -> RunStatus: ...
    @property
    def steps(self) -> list[StepRecord]: ...
    @property
    def usage(self) -> Usage: ...
    @property
    def cost(self) -> float | None: ...
    @property
    def duration(self) -> float: ...
    @property
    def started_at(self) -> float: ...
    @property
    def error(self) -> str | None: ...
    @property
    def error_type(self) -> str | None: ...
    @property
    def perf_start(self) -> float: ...
    @property
    def verdicts(self) -> list[GuardVerdict]: ...
    @property
    def findings(self) -> list[MonitorFinding]: ...


def trace_payload(result: TracedRun) -> dict[str, Any]:
    """The trace of `result` as plain JSON data (schema in this module's docstring)."""
    provider, _, model_name = result.model.partition(":")
    origin = result.perf_start
    by_id: dict[str, dict[str, Any]] = {}
    children: dict[str, list[dict[str, Any]]] = {}

    def add(span: dict[str, Any]) -> dict[str, Any]:
        by_id[span["id"]] = span
        children.setdefault(span["parent_id"], []).append(span)
        return span

    verdicts = list(result.verdicts)
    chats: dict[int, dict[str, Any]] = {}
    tools: list[tuple[ToolCallRecord, dict[str, Any]]] = []
    for step in result.steps:
        chats[step.index] = add(_chat_span(step, provider, model_name or provider))
        for n, call in enumerate(step.tool_calls, 1):
            tools.append((call, add(_tool_span(call, f"tool-{step.index}.{n}"))))

    for n, verdict in enumerate(verdicts, 1):
        start = _relative(verdict.t - verdict.duration, origin, result.duration)
        parent = _verdict_parent(verdict, start, chats, tools)
        span = add(_guard_span(verdict, f"guard-{n}", parent, start))
        if span["status"] == "blocked" and parent in by_id:
            by_id[parent]["status"] = "blocked"  # the turn or the call it stopped

    for n, finding in enumerate(result.findings, 1):
        add(_monitor_span(finding, f"monitor-{n}", _relative(finding.t, origin, result.duration)))

    root = _root_span(result, provider, model_name or provider)
    ordered: list[dict[str, Any]] = []
    _depth_first(root, children, ordered)
    return {
        "version": TRACE_VERSION,
        "run_id": result.run_id,
        "agent": result.agent,
        "agent_version": result.version,
        "model": result.model,
        "status": result.status,
        "error": result.error,
        "error_type": result.error_type,
        "prompt": result.prompt,
        "output": _json_value(result.output),
        "started_at": result.started_at,
        "duration": result.duration,
        "totals": _totals(result, verdicts),
        "spans": ordered,
    }


# --- spans ---------------------------------------------------------------------------------------


def _span(
    id: str,
    parent_id: str | None,
    kind: str,
    name: str,
    step: int | None,
    start: float,
    duration: float,
    status: SpanStatus,
    attributes: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": id,
        "parent_id": parent_id,
        "kind": kind,
        "name": name,
        "step": step,
        "start": start,
        "duration": duration,
        "status": status,
        "attributes": {A.GEN_AI_OPERATION_NAME: kind, **attributes},
    }


def _root_span(result: TracedRun, provider: str, model: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        A.GEN_AI_AGENT_NAME: result.agent,
        A.GEN_AI_AGENT_VERSION: result.version,
        A.GEN_AI_PROVIDER_NAME: provider,
        A.GEN_AI_REQUEST_MODEL: model,
        A.GEN_AI_USAGE_INPUT_TOKENS: result.usage.input_tokens,
        A.GEN_AI_USAGE_OUTPUT_TOKENS: result.usage.output_tokens,
        A.AGENTNB_RUN_ID: result.run_id,
        A.AGENTNB_RUN_STATUS: result.status,
        A.AGENTNB_RUN_STEPS: len(result.steps),
        A.AGENTNB_RUN_TOOL_CALLS: sum(len(s.tool_calls) for s in result.steps),
    }
    if result.cost is not None:
        attrs[A.AGENTNB_COST] = result.cost
    if result.error is not None:
        attrs[A.ERROR_TYPE] = result.error_type or result.status
        attrs[A.AGENTNB_ERROR_MESSAGE] = result.error
    return _span(
        "run",
        None,
        A.OP_INVOKE_AGENT,
        f"{A.OP_INVOKE_AGENT} {result.agent}",
        None,
        0.0,
        result.duration,
        result.status,
        attrs,
    )


def _chat_span(step: StepRecord, provider: str, model: str) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if step.text:
        parts.append({"type": "text", "content": step.text})
    parts.extend(
        {"type": "tool_call", "id": c.id, "name": c.name, "arguments": c.arguments}
        for c in step.tool_calls
    )
    attrs: dict[str, Any] = {
        A.GEN_AI_PROVIDER_NAME: provider,
        A.GEN_AI_REQUEST_MODEL: model,
        A.GEN_AI_RESPONSE_MODEL: step.model,
    }
    if step.finish_reason:
        attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] = [step.finish_reason]
    attrs[A.GEN_AI_USAGE_INPUT_TOKENS] = step.usage.input_tokens
    attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] = step.usage.output_tokens
    if step.cost is not None:
        attrs[A.AGENTNB_COST] = step.cost
    attrs[A.AGENTNB_STEP] = step.index
    attrs[A.GEN_AI_OUTPUT_MESSAGES] = [
        {"role": "assistant", "parts": parts, "finish_reason": step.finish_reason or "stop"}
    ]
    return _span(
        f"chat-{step.index}",
        "run",
        A.OP_CHAT,
        f"{A.OP_CHAT} {model}",
        step.index,
        step.start,
        step.duration,
        "ok",
        attrs,
    )


def _tool_span(call: ToolCallRecord, id: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        A.GEN_AI_TOOL_NAME: call.name,
        A.GEN_AI_TOOL_TYPE: "function",
        A.GEN_AI_TOOL_CALL_ID: call.id,
        A.GEN_AI_TOOL_CALL_ARGUMENTS: call.arguments,
        A.AGENTNB_STEP: call.step,
    }
    status: SpanStatus = "ok"
    if call.error is None:
        attrs[A.GEN_AI_TOOL_CALL_RESULT] = call.result
    else:
        attrs[A.ERROR_TYPE] = call.error
        attrs[A.AGENTNB_ERROR_MESSAGE] = call.result
        status = "blocked" if call.error == "blocked" else "error"
    return _span(
        id,
        "run",
        A.OP_EXECUTE_TOOL,
        f"{A.OP_EXECUTE_TOOL} {call.name}",
        call.step,
        call.start,
        call.duration,
        status,
        attrs,
    )


def _guard_span(v: GuardVerdict, id: str, parent: str, start: float) -> dict[str, Any]:
    status: SpanStatus = "ok"
    if stopped(v.outcome, v.action):
        status = "blocked"
    elif v.outcome == "error":
        status = "error"
    elif v.outcome in ("warn", "block"):
        status = "warn"
    attrs = {
        A.AGENTNB_GUARD_NAME: v.guard,
        A.AGENTNB_GUARD_POINT: v.point,
        A.AGENTNB_GUARD_OUTCOME: v.outcome,
        A.AGENTNB_GUARD_ACTION: v.action,
        A.AGENTNB_GUARD_REASON: v.reason,
        A.AGENTNB_GUARD_TARGET: v.target,
        A.AGENTNB_STEP: v.step,
    }
    name = f"{A.OP_GUARD} {v.guard}"
    return _span(id, parent, A.OP_GUARD, name, v.step, start, v.duration, status, attrs)


def _monitor_span(f: MonitorFinding, id: str, start: float) -> dict[str, Any]:
    status: SpanStatus = "error" if f.severity == "error" else "ok"
    if f.severity == "warning":
        status = "warn"
    attrs = {
        A.AGENTNB_MONITOR_NAME: f.monitor,
        A.AGENTNB_MONITOR_SEVERITY: f.severity,
        A.AGENTNB_MONITOR_MESSAGE: f.message,
        A.AGENTNB_MONITOR_EVIDENCE: _json_value(f.evidence),
    }
    name = f"{A.OP_MONITOR} {f.monitor}"
    return _span(id, "run", A.OP_MONITOR, name, None, start, 0.0, status, attrs)


def _verdict_parent(
    v: GuardVerdict,
    start: float,
    chats: dict[int, dict[str, Any]],
    tools: list[tuple[ToolCallRecord, dict[str, Any]]],
) -> str:
    """The id of the span a verdict is about (see the module docstring)."""
    if v.point in _TOOL_POINTS:
        candidates = [s for c, s in tools if c.step == v.step and c.name == v.target]
        if candidates:
            # Calls of one turn may run concurrently: the call whose time span holds the check.
            def distance(span: dict[str, Any]) -> float:
                begin, end = span["start"], span["start"] + span["duration"]
                return 0.0 if begin <= start <= end else min(abs(start - begin), abs(start - end))

            return str(min(candidates, key=distance)["id"])
    if v.point != "input" and v.step in chats:
        return str(chats[v.step]["id"])
    return "run"


def _depth_first(
    span: dict[str, Any], children: dict[str, list[dict[str, Any]]], out: list[dict[str, Any]]
) -> None:
    out.append(span)
    # sorted() is stable: spans starting together keep the order the run recorded them in
    for child in sorted(children.get(span["id"], ()), key=lambda s: s["start"]):
        _depth_first(child, children, out)


# --- values --------------------------------------------------------------------------------------


def _relative(t: float, origin: float, duration: float) -> float:
    """Seconds from the run's start of a `perf_counter` reading `t` (never negative).

    A result built without `perf_start` (origin 0) has no clock to relate `t` to: such times
    are placed at the end of the run.
    """
    if origin <= 0:
        return duration
    return max(0.0, t - origin)


def _totals(result: TracedRun, verdicts: Iterable[GuardVerdict]) -> dict[str, Any]:
    counts = dict.fromkeys(OUTCOMES, 0)
    blocked = 0
    for v in verdicts:
        counts[v.outcome] = counts.get(v.outcome, 0) + 1
        blocked += stopped(v.outcome, v.action)
    calls = [c for s in result.steps for c in s.tool_calls]
    return {
        "steps": len(result.steps),
        "tool_calls": len(calls),
        "tool_errors": sum(c.error is not None and c.error != "blocked" for c in calls),
        "input_tokens": result.usage.input_tokens,
        "output_tokens": result.usage.output_tokens,
        "total_tokens": result.usage.total_tokens,
        "cost": result.cost,
        "duration": result.duration,
        "verdicts": counts,
        "blocked": blocked,
        "findings": len(result.findings),
    }


def _json_value(value: Any) -> Any:
    """`value` as JSON data: pydantic models dumped, anything else unknown as its `str`."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        value = dump(mode="json")
    return json.loads(json.dumps(value, default=str))
