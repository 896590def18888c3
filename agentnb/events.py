"""Typed events the run loop emits, in order; tracing, monitors, display and streaming consume them.

Lives below `agents/` so that `guards/`, `layers/` and `telemetry/` can consume events without
importing the run loop. Events are slotted dataclasses with a monotonic timestamp `t` (seconds,
`time.perf_counter()`) so consumers can compute durations without asking the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, Literal, Union

from agentnb.models.base import ModelResponse
from agentnb.models.messages import ToolCall

__all__ = [
    "Emit",
    "Event",
    "GuardVerdict",
    "LayerEvent",
    "ModelRequestStarted",
    "ModelResponded",
    "MonitorFinding",
    "RunFinished",
    "RunScope",
    "RunStarted",
    "StepFinished",
    "TextDelta",
    "ToolCallFinished",
    "ToolCallStarted",
    "current_scope",
]


@dataclass(slots=True)
class RunStarted:
    """A run began: which agent (name, version, config hash) runs which model on what prompt."""

    run_id: str
    agent: str
    version: str
    model: str
    prompt: str
    config_hash: str
    t: float = field(default_factory=perf_counter)
    wall_time: float = 0.0
    """`time.time()` at start, for telemetry timestamps."""
    instructions: str = ""
    """The agent's instructions: the system prompt every model request of the run carries."""
    kind: Literal["run_started"] = "run_started"


@dataclass(slots=True)
class ModelRequestStarted:
    """A model request of step `step` was sent; `stream` says whether it streams."""

    run_id: str
    step: int
    model: str
    stream: bool
    t: float = field(default_factory=perf_counter)
    messages: int | None = None
    """How many messages the request holds: the run's first `messages` (`RunResult.messages`
    only grows during a run). None when unknown (an event not made by the run loop)."""
    kind: Literal["model_request"] = "model_request"


@dataclass(slots=True)
class TextDelta:
    """A piece of the model's streamed answer text in step `step`."""

    run_id: str
    step: int
    text: str
    t: float = field(default_factory=perf_counter)
    kind: Literal["text_delta"] = "text_delta"


@dataclass(slots=True)
class ModelResponded:
    """A model answered: the response, its `duration` (s) and `cost` (USD; None: unpriced)."""

    run_id: str
    step: int
    model: str
    response: ModelResponse
    duration: float
    cost: float | None
    error: str | None = None
    t: float = field(default_factory=perf_counter)
    kind: Literal["model_response"] = "model_response"


@dataclass(slots=True)
class ToolCallStarted:
    """A tool call the model asked for is about to run (guards at `tool_call` come first)."""

    run_id: str
    step: int
    call: ToolCall
    t: float = field(default_factory=perf_counter)
    kind: Literal["tool_call_started"] = "tool_call_started"


@dataclass(slots=True)
class ToolCallFinished:
    """A tool call ended, with what the model reads and how long it took (`duration`, s)."""

    run_id: str
    step: int
    call: ToolCall
    result: str
    """The text the model receives (the error feedback when `error` is set)."""
    error: str | None
    """None on success; else `invalid_arguments`, `unknown_tool`, `timeout`, `exception`,
    `blocked` or `cancelled` (the run was cancelled while the tool ran)."""
    duration: float
    value: Any = None
    """The tool's Python return value (not serialised), when it succeeded."""
    t: float = field(default_factory=perf_counter)
    kind: Literal["tool_call_finished"] = "tool_call_finished"


@dataclass(slots=True)
class StepFinished:
    """Step `step` ended; `tool_calls` is how many calls it made (0: the model answered)."""

    run_id: str
    step: int
    tool_calls: int
    t: float = field(default_factory=perf_counter)
    kind: Literal["step_finished"] = "step_finished"


@dataclass(slots=True)
class GuardVerdict:
    """A guard's decision at one guard point."""

    run_id: str
    step: int
    guard: str
    point: Literal["input", "model_output", "tool_call", "tool_result", "final_output"]
    outcome: Literal["pass", "warn", "block", "rewrite", "error"]
    reason: str
    action: str
    """What the run did: `continue`, `refuse`, `reask`, `raise`, `rewrite`, `skip`, `warn`."""
    duration: float
    target: str | None = None
    """The tool name for tool points, else None."""
    t: float = field(default_factory=perf_counter)
    kind: Literal["verdict"] = "verdict"


@dataclass(slots=True)
class MonitorFinding:
    """Something a background monitor noticed; may arrive after the run finished."""

    run_id: str
    agent: str
    monitor: str
    severity: Literal["info", "warning", "error"]
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    t: float = field(default_factory=perf_counter)
    kind: Literal["finding"] = "finding"


@dataclass(slots=True)
class LayerEvent:
    """A resilience layer acted: a retry, a fallback, a timeout, a circuit-breaker transition."""

    run_id: str
    step: int
    layer: Literal["retry", "fallback", "timeout", "breaker", "rate_limit"]
    model: str
    message: str
    attempt: int = 0
    state: str | None = None
    """For `breaker`: the new state (`closed`, `open`, `half_open`)."""
    t: float = field(default_factory=perf_counter)
    kind: Literal["layer"] = "layer"


@dataclass(slots=True)
class RunFinished:
    """A run ended, whatever its status; the last event of every run."""

    run_id: str
    result: Any
    """The run's `agentnb.agents.RunResult` (typed `Any`: events sit below `agents/` and name
    none of its types)."""
    t: float = field(default_factory=perf_counter)
    kind: Literal["run_finished"] = "run_finished"


Emit = Callable[["Event"], None]

Event = Union[
    RunStarted,
    ModelRequestStarted,
    TextDelta,
    ModelResponded,
    ToolCallStarted,
    ToolCallFinished,
    StepFinished,
    GuardVerdict,
    MonitorFinding,
    LayerEvent,
    RunFinished,
]


@dataclass(slots=True)
class RunScope:
    """Which run and step the current task works for, so wrappers (layers, guards) can emit.

    The run loop sets `current_scope` for the duration of a run; code below the loop reads it
    instead of taking the emitter as a parameter through every call.
    """

    run_id: str
    agent: str
    step: int
    emit: Emit | None


current_scope: ContextVar[RunScope | None] = ContextVar("agentnb_run_scope", default=None)
