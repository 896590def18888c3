"""`RunResult`: what one agent run produced and how it got there."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentnb.events import GuardVerdict, MonitorFinding
from agentnb.models.messages import Message, Usage, message_to_dict
from agentnb.runs.guard_errors import GuardError
from agentnb.runs.steps import RunStatus, StepRecord, ToolCallRecord
from agentnb.secrets import redact as redact_text

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from agentnb.display.run import RunView

__all__ = ["RunResult", "Verdicts"]


class Verdicts(list[GuardVerdict]):
    """A run's guard verdicts, in order: a list that displays as a table (text and HTML).

    >>> result.verdicts  # doctest: +SKIP
    step  point       guard     target  outcome  action    reason  time
    0     input       no_pii    –       pass     continue          0.01 ms
    """

    def __init__(self, verdicts: Iterable[GuardVerdict] = ()) -> None:
        super().__init__(verdicts)

    def rows(self) -> list[dict[str, Any]]:
        """One plain dict per verdict: what the tables show."""
        return [
            {
                "step": v.step,
                "point": v.point,
                "guard": v.guard,
                "target": v.target,
                "outcome": v.outcome,
                "action": v.action,
                "reason": v.reason,
                "duration": v.duration,
            }
            for v in self
        ]

    def __repr__(self) -> str:
        from agentnb.display.verdicts import verdicts_text

        return verdicts_text(self.rows())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        from agentnb.display.verdicts import verdicts_html

        return verdicts_html(self.rows())


@dataclass(slots=True)
class RunResult:
    """The outcome of `agent.run(...)`.

    `output` is the final text, or the validated object when the agent has an `output_type`.
    """

    run_id: str
    agent: str
    version: str
    model: str
    prompt: str
    output: Any
    status: RunStatus
    messages: list[Message]
    steps: list[StepRecord]
    usage: Usage
    cost: float | None
    duration: float
    started_at: float
    """Unix time the run started."""
    new_message_index: int = 0
    error: str | None = None
    error_type: str | None = None
    perf_start: float = 0.0
    """`time.perf_counter()` at the start: event and verdict times `t` are relative to it."""
    verdicts: list[GuardVerdict] = field(default_factory=Verdicts)
    """Every guard verdict of the run, in order (a `Verdicts` list: it displays as a table)."""
    findings: list[MonitorFinding] = field(default_factory=list)
    """Monitor findings about this run; background monitors may add to it after it returned."""

    def __post_init__(self) -> None:
        if not isinstance(self.verdicts, Verdicts):
            self.verdicts = Verdicts(self.verdicts)

    @property
    def trace_id(self) -> str:
        """The OpenTelemetry trace id of this run (the run id)."""
        return self.run_id

    @property
    def guard_errors(self) -> list[GuardError]:
        """The guards that raised during the run (each blocked what it guarded), in order."""
        return [GuardError.from_verdict(v) for v in self.verdicts if v.outcome == "error"]

    @property
    def tool_calls(self) -> list[ToolCallRecord]:
        """Every tool call of the run across all steps, in order."""
        return [call for step in self.steps for call in step.tool_calls]

    @property
    def new_messages(self) -> list[Message]:
        """Messages this run added (pass `messages` as `message_history` to continue)."""
        return self.messages[self.new_message_index :]

    def to_dict(self) -> dict[str, Any]:
        """The whole run as a JSON-ready dict (not redacted; `summary()` and `show()` are).

        A pydantic output is dumped to JSON types, anything else unserialisable becomes `str`;
        verdict times are seconds from the start of the run.
        """
        output = self.output
        if hasattr(output, "model_dump"):
            output = output.model_dump(mode="json")
        return {
            "run_id": self.run_id,
            "agent": self.agent,
            "version": self.version,
            "model": self.model,
            "prompt": self.prompt,
            "output": json.loads(json.dumps(output, default=str)),
            "status": self.status,
            "error": self.error,
            "error_type": self.error_type,
            "steps": [s.to_dict() for s in self.steps],
            "messages": [message_to_dict(m) for m in self.messages],
            "usage": self.usage.to_dict(),
            "cost": self.cost,
            "duration": self.duration,
            "started_at": self.started_at,
            "verdicts": [_verdict_dict(v, self.perf_start) for v in self.verdicts],
            "findings": [_finding_dict(f) for f in self.findings],
        }

    def summary(self, *, redact: bool = True) -> str:
        """A few lines for humans: status, totals, each step's tool calls, the output.

        Secrets (`agentnb.secrets`) are replaced by `[REDACTED]` unless `redact=False`.
        """

        def clip(text: str) -> str:
            # Redact before clipping: a secret cut in half would no longer be recognised.
            return _clip(redact_text(text) if redact else text)

        cost = "n/a" if self.cost is None else f"${self.cost:.4f}"
        calls = len(self.tool_calls)
        head = (
            f"{self.agent} {self.version} · {self.model} · {self.status} · "
            f"{len(self.steps)} step{'s' * (len(self.steps) != 1)} · "
            f"{calls} tool call{'s' * (calls != 1)} · {self.usage.total_tokens} tokens · "
            f"{cost} · {self.duration * 1000:.1f} ms"
        )
        lines = [head]
        for step in self.steps:
            said = f" says {clip(step.text)!r}" if step.text else ""
            lines.append(f"  step {step.index}: {step.model}{said}")
            for call in step.tool_calls:
                mark = f" [{call.error}]" if call.error else ""
                lines.append(f"    {call.name}({clip(call.arguments)}){mark} → {clip(call.result)}")
        if self.error:
            lines.append(f"error: {self.error}")
        lines.append(
            f"output: {self.output!r}"
            if not isinstance(self.output, str)
            else f"output: {self.output}"
        )
        text = "\n".join(lines)
        return redact_text(text) if redact else text

    def __str__(self) -> str:
        return self.summary()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.summary())

    def show(self, *, redact: bool = True) -> RunView:
        """The run's display: summary text, static HTML of the trace, and the trace payload
        (`application/vnd.agentnb.trace+json`) for the JupyterLab extension.

        Secrets are redacted from all of it, as telemetry redacts them; `redact=False` shows
        the raw texts (what a notebook shows is saved with it: use it only where needed).

        >>> result.show(redact=False)  # doctest: +SKIP
        """
        from agentnb.display.run import RunView
        from agentnb.runs.trace import trace_payload  # loads the display kit: on first show

        return RunView(
            lambda: self.summary(redact=redact), lambda: trace_payload(self), redact=redact
        )

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, Any]:
        """What a notebook shows: `show()` (redacted summary, trace HTML and trace payload)."""
        return self.show()._repr_mimebundle_(include, exclude)

    def plot(self, *, redact: bool = True) -> go.Figure:
        """The run as a plotly timeline: a bar per model call, tool call and guard check.

        Needs plotly (`pip install 'agentnb[notebook]'`); the figure also displays as a static
        SVG where plotly.js is not available (nbconvert HTML, GitHub). Its hover texts are
        redacted like the rest of the display unless `redact=False`.
        """
        from agentnb.display.timeline import timeline

        return timeline(self.show(redact=redact).payload())


def _verdict_dict(v: GuardVerdict, perf_start: float) -> dict[str, Any]:
    return {
        "start": max(0.0, v.t - v.duration - perf_start),
        "step": v.step,
        "guard": v.guard,
        "point": v.point,
        "outcome": v.outcome,
        "reason": v.reason,
        "action": v.action,
        "duration": v.duration,
        "target": v.target,
    }


def _finding_dict(f: MonitorFinding) -> dict[str, Any]:
    return {
        "monitor": f.monitor,
        "severity": f.severity,
        "message": f.message,
        "evidence": f.evidence,
    }


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
