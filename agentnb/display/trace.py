"""The trace payload of a run: one versioned, JSON-serialisable dict every renderer reads.

`agentnb.runs.trace.trace_payload(result)` builds it from a `RunResult`, and
`agentnb.server.payload` from a stored run; a `RunResult` display carries it under `TRACE_MIME`
(the JupyterLab extension renders it), and the static HTML (`agentnb.display.trace_html`) and the
plotly timeline (`agentnb.display.timeline`) are drawn from the same dict. It is complete: nothing
is truncated (renderers clip for display, the payload does not).

```python
payload = trace_payload(result)
assert json.loads(json.dumps(payload)) == payload
chat = [s for s in payload["spans"] if s["kind"] == "chat"]
```

Schema, version 1 (a renderer must check `version` and may ignore keys it does not know):

```
{
  "version": 1,
  "run_id": str,              # 32 hex digits, also the OpenTelemetry trace id
  "agent": str, "agent_version": str, "model": str,
  "status": "ok" | "error" | "cancelled" | "blocked",
  "error": str | null, "error_type": str | null,
  "prompt": str,
  "output": any JSON | null,  # text, or the validated object of a typed agent
  "started_at": float,        # Unix seconds
  "duration": float,          # seconds
  "totals": {
    "steps": int, "tool_calls": int, "tool_errors": int,   # tool_errors: failed, not blocked
    "input_tokens": int, "output_tokens": int, "total_tokens": int,
    "cost": float | null,     # USD, null when a price is unknown
    "duration": float,
    "verdicts": {"pass": int, "warn": int, "block": int, "rewrite": int, "error": int},
    "blocked": int,           # verdicts that stopped an action (see span status "blocked")
    "findings": int
  },
  "spans": [Span, ...]        # depth first from the root; siblings in start order
}

Span = {
  "id": str,                  # "run", "chat-<step>", "tool-<step>.<n>", "guard-<n>", "monitor-<n>"
  "parent_id": str | null,    # null only for the root
  "kind": "invoke_agent" | "chat" | "execute_tool" | "guard" | "monitor",
  "name": str,                # as in telemetry: "chat <model>", "execute_tool <tool>", ...
  "step": int | null,         # the model turn (1-based); 0 for input guards; null: root, monitor
  "start": float,             # seconds from the start of the run
  "duration": float,          # seconds (0 for monitor findings)
  "status": "ok" | "warn" | "error" | "blocked" | "cancelled",
  "attributes": {str: any}    # OpenTelemetry names, see below
}
```

Parents: `chat` and `execute_tool` spans are children of the root (as in telemetry: a tool runs
after the model call that asked for it); a `guard` span is a child of what its verdict concerns:
`input` → the root, `model_output` and `final_output` → the step's `chat` span, `tool_call` and
`tool_result` → the `execute_tool` span of that call; `monitor` spans (findings) are children of
the root and may start after the run ended (monitors run in the background).

Status: the root has the run's status; a `chat` span is `blocked` when a guard stopped its turn;
an `execute_tool` span is `blocked` when a guard stopped the call or withheld its result, `error`
when the tool failed; a `guard` span is `blocked` when its verdict stopped the action, `error`
when the guard itself failed without stopping it, `warn` for a warning (or a block configured to
only warn), else `ok`; a `monitor` span is `error`, `warn` or `ok` by the finding's severity.

Attributes use the names of `agentnb.semconv` (GenAI semantic conventions and
`agentnb.*`); unlike OpenTelemetry attributes, values may be structured JSON:

- every span: `gen_ai.operation.name` (= `kind`);
- `invoke_agent`: `gen_ai.agent.name`, `gen_ai.agent.version`, `gen_ai.provider.name`,
  `gen_ai.request.model`, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`,
  `agentnb.usage.cost_usd` (when known), `agentnb.run.id`, `agentnb.run.status`,
  `agentnb.run.steps`, `agentnb.run.tool_calls`; `error.type` and `agentnb.error.message` when
  the run has an error;
- `chat`: `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.response.model`,
  `gen_ai.response.finish_reasons` (when known), `gen_ai.usage.input_tokens`,
  `gen_ai.usage.output_tokens`, `agentnb.usage.cost_usd` (when known), `agentnb.step`, and
  `gen_ai.output.messages`: `[{"role": "assistant", "parts": [...], "finish_reason": str}]` with
  parts `{"type": "text", "content": str}` and `{"type": "tool_call", "id", "name", "arguments"}`
  (`arguments`: the raw JSON text the model sent);
- `execute_tool`: `gen_ai.tool.name`, `gen_ai.tool.type` (`function`), `gen_ai.tool.call.id`,
  `gen_ai.tool.call.arguments` (raw JSON text), `agentnb.step`, and either
  `gen_ai.tool.call.result` (the text the model read) or, when the call failed or was blocked,
  `error.type` (`blocked`, `invalid_arguments`, `unknown_tool`, `timeout`, `exception`) and
  `agentnb.error.message` (what the model read instead);
- `guard`: `agentnb.guard.name`, `agentnb.guard.point`, `agentnb.guard.outcome` (`pass`, `warn`,
  `block`, `rewrite`, `error`), `agentnb.guard.action` (what the run did: `continue`, `warn`,
  `rewrite`, `refuse`, `reask`, `raise`, `skip`), `agentnb.guard.reason`, `agentnb.guard.target`
  (the tool, for tool points; else null), `agentnb.step`;
- `monitor`: `agentnb.monitor.name`, `agentnb.monitor.severity` (`info`, `warning`, `error`),
  `agentnb.monitor.message`, `agentnb.monitor.evidence` (an object).
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["OUTCOMES", "TRACE_MIME", "TRACE_VERSION", "SpanStatus", "stopped"]

TRACE_MIME: Final = "application/vnd.agentnb.trace+json"
"""The MIME type of the payload in a `RunResult` display bundle."""

TRACE_VERSION: Final = 1

SpanStatus = Literal["ok", "warn", "error", "blocked", "cancelled"]

OUTCOMES: Final = ("pass", "warn", "block", "rewrite", "error")
"""A guard verdict's outcomes, in the order totals count them."""
_ALLOWED = ("continue", "warn", "rewrite")
"""Actions after which the run went on as if the guard had passed."""


def stopped(outcome: str, action: str) -> bool:
    """Whether a verdict stopped what it checked (a block, or a failing guard, that was enforced).

    >>> stopped("block", "skip"), stopped("block", "warn"), stopped("warn", "continue")
    (True, False, False)
    """
    return outcome in ("block", "error") and action not in _ALLOWED
