"""A stored run as the trace payload the lab renderer draws (`agentnb.display.trace`, version 1).

A cell's display carries the payload built from the live `RunResult`; the sidebar opens runs
read back from the telemetry store instead. This module rebuilds the same payload from what the
store holds — the `runs` row and the span tree — so one renderer draws both:

```python
store = telemetry.open()
run = store.runs(where=f"trace_id = '{run_id}'", last=1, as_arrow=True).to_pylist()[0]
payload = payload_from_store(store.trace(run_id), run)
assert payload["version"] == 1 and payload["spans"][0]["kind"] == "invoke_agent"
```

Differences from a live payload: span ids are the stored OpenTelemetry span ids, message
content follows the run's capture mode (it may be `[REDACTED]` or absent), and span statuses are
derived from the stored attributes with the same rules (`stopped()` verdicts block the span they
concern). Spans may carry an extra `events` list (retries, fallbacks, breaker transitions).
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentnb import semconv as A
from agentnb.display.trace import OUTCOMES, TRACE_VERSION, stopped

if TYPE_CHECKING:
    from agentnb.telemetry.tree import SpanNode, Trace

__all__ = ["payload_from_store"]

_STRUCTURED = (
    A.GEN_AI_INPUT_MESSAGES,
    A.GEN_AI_OUTPUT_MESSAGES,
    A.GEN_AI_SYSTEM_INSTRUCTIONS,
    A.AGENTNB_MONITOR_EVIDENCE,
)
"""Attributes the store keeps as JSON text (OpenTelemetry values are flat); the payload has
them as JSON data."""


def payload_from_store(trace: Trace, run: dict[str, Any] | None) -> dict[str, Any]:
    """The version-1 trace payload of a stored run: its span tree and its `runs` row (None when
    the row is missing, e.g. while the run is still being written: totals come from the spans)."""
    root = trace.root or (trace.roots[0] if trace.roots else None)
    origin = root.start_time if root is not None else _first_start(trace)
    spans: list[dict[str, Any]] = []
    by_id: dict[str, dict[str, Any]] = {}
    for top in trace.roots:
        for node in top.walk():
            span = _span(node, origin, known_parent=node.parent_span_id in by_id)
            spans.append(span)
            by_id[span["id"]] = span
    for span in spans:  # a verdict that stopped an action blocks the turn or call it concerns
        parent = by_id.get(span["parent_id"] or "")
        if (
            span["kind"] == A.OP_GUARD
            and span["status"] == "blocked"
            and parent is not None
            and parent["kind"] in (A.OP_CHAT, A.OP_EXECUTE_TOOL)
        ):
            parent["status"] = "blocked"

    root_attrs = root.attributes if root is not None else {}
    row = run or {}
    duration = (
        row["duration_ms"] / 1000.0
        if row.get("duration_ms") is not None
        else (root.duration_ms / 1000.0 if root is not None else 0.0)
    )
    started = row.get("started_at") or origin
    return {
        "version": TRACE_VERSION,
        "run_id": trace.trace_id,
        "agent": row.get("agent") or root_attrs.get(A.GEN_AI_AGENT_NAME, ""),
        "agent_version": row.get("version") or root_attrs.get(A.GEN_AI_AGENT_VERSION, ""),
        "model": row.get("model") or _model_id(root_attrs),
        "status": row.get("status") or root_attrs.get(A.AGENTNB_RUN_STATUS, "ok"),
        "error": row.get("error") or root_attrs.get(A.AGENTNB_ERROR_MESSAGE),
        "error_type": row.get("error_type") or root_attrs.get(A.ERROR_TYPE),
        "prompt": row.get("prompt") or _first_text(root_attrs.get(A.GEN_AI_INPUT_MESSAGES)) or "",
        "output": row.get("output", _first_text(root_attrs.get(A.GEN_AI_OUTPUT_MESSAGES))),
        "started_at": started.timestamp() if isinstance(started, datetime) else 0.0,
        "duration": duration,
        "totals": _totals(spans, row, duration),
        "spans": spans,
    }


def _span(node: SpanNode, origin: datetime | None, *, known_parent: bool) -> dict[str, Any]:
    attrs = dict(node.attributes)
    for key in _STRUCTURED:
        value = attrs.get(key)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):  # else kept as text, e.g. "[REDACTED]"
                attrs[key] = json.loads(value)
    step = attrs.get(A.AGENTNB_STEP)
    span: dict[str, Any] = {
        "id": node.span_id,
        "parent_id": node.parent_span_id if known_parent else None,
        "kind": node.operation,
        "name": node.name,
        "step": step if isinstance(step, int) else None,
        "start": (node.start_time - origin).total_seconds() if origin is not None else 0.0,
        "duration": node.duration_ms / 1000.0,
        "status": _status(node, attrs),
        "attributes": attrs,
    }
    if node.events:
        span["events"] = node.events
    return span


def _status(node: SpanNode, attrs: dict[str, Any]) -> str:
    """The payload's span status (see `agentnb.display.trace`) from a stored span."""
    op = node.operation
    failed = node.status == "error"
    if op == A.OP_INVOKE_AGENT:
        return str(attrs.get(A.AGENTNB_RUN_STATUS) or ("error" if failed else "ok"))
    if op == A.OP_EXECUTE_TOOL and attrs.get(A.AGENTNB_TOOL_BLOCKED):
        return "blocked"
    if op == A.OP_GUARD:
        outcome = str(attrs.get(A.AGENTNB_GUARD_OUTCOME, "pass"))
        if stopped(outcome, str(attrs.get(A.AGENTNB_GUARD_ACTION, ""))):
            return "blocked"
        if outcome == "error":
            return "error"
        return "warn" if outcome in ("warn", "block") else "ok"
    if op == A.OP_MONITOR:
        severity = attrs.get(A.AGENTNB_MONITOR_SEVERITY)
        return {"error": "error", "warning": "warn"}.get(str(severity), "ok")
    return "error" if failed else "ok"


def _totals(spans: list[dict[str, Any]], row: dict[str, Any], duration: float) -> dict[str, Any]:
    verdicts = dict.fromkeys(OUTCOMES, 0)
    blocked = findings = 0
    chats = [s for s in spans if s["kind"] == A.OP_CHAT]
    tools = [s for s in spans if s["kind"] == A.OP_EXECUTE_TOOL]
    for s in spans:
        if s["kind"] == A.OP_GUARD:
            outcome = str(s["attributes"].get(A.AGENTNB_GUARD_OUTCOME, "pass"))
            verdicts[outcome] = verdicts.get(outcome, 0) + 1
            blocked += s["status"] == "blocked"
        elif s["kind"] == A.OP_MONITOR:
            findings += 1

    def tokens(key: str) -> int:
        return sum(int(s["attributes"].get(key) or 0) for s in chats)

    input_tokens = _int(row.get("input_tokens"), tokens(A.GEN_AI_USAGE_INPUT_TOKENS))
    output_tokens = _int(row.get("output_tokens"), tokens(A.GEN_AI_USAGE_OUTPUT_TOKENS))
    costs = [s["attributes"].get(A.AGENTNB_COST) for s in chats]
    cost = row.get("cost") if row else (sum(costs) if costs and None not in costs else None)
    return {
        "steps": _int(row.get("steps"), len({s["step"] for s in chats})),
        "tool_calls": _int(row.get("tool_calls"), len(tools)),
        "tool_errors": _int(row.get("tool_errors"), sum(s["status"] == "error" for s in tools)),
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "cost": cost,
        "duration": duration,
        "verdicts": verdicts,
        "blocked": blocked,
        "findings": findings,
    }


def _int(value: Any, default: int) -> int:
    return int(value) if value is not None else default


def _first_start(trace: Trace) -> datetime | None:
    return min((s.start_time for s in trace.spans), default=None)


def _model_id(attrs: dict[str, Any]) -> str:
    provider = str(attrs.get(A.GEN_AI_PROVIDER_NAME, ""))
    model = str(attrs.get(A.GEN_AI_REQUEST_MODEL, ""))
    return model if not provider or provider == model else f"{provider}:{model}"


def _first_text(messages: Any) -> str | None:
    """The first text part of GenAI-convention messages (JSON text or data)."""
    if isinstance(messages, str):
        try:
            messages = json.loads(messages)
        except ValueError:
            return str(messages)
    for message in messages if isinstance(messages, list) else ():
        for part in message.get("parts", ()) if isinstance(message, dict) else ():
            if isinstance(part, dict) and part.get("type") == "text":
                return str(part.get("content", ""))
    return None
