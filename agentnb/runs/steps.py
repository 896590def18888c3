"""The parts of a run's record: a `StepRecord` per model turn, a `ToolCallRecord` per tool call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from agentnb.models.messages import Usage

__all__ = ["RunStatus", "StepRecord", "ToolCallRecord"]

RunStatus = Literal["ok", "error", "cancelled", "blocked"]


@dataclass(slots=True)
class ToolCallRecord:
    """One tool call of a run: what the model asked for and what it got back."""

    step: int
    id: str
    name: str
    arguments: str
    """The raw JSON arguments the model sent."""
    result: str
    """What the model received back (the error feedback when `error` is set)."""
    error: str | None = None
    """None on success; else `invalid_arguments`, `unknown_tool`, `timeout`, `exception`,
    `blocked` (a guard stopped it) or `cancelled` (the run was cancelled while it ran)."""
    duration: float = 0.0
    start: float = 0.0
    """Seconds from the start of the run to the start of the call."""

    def to_dict(self) -> dict[str, Any]:
        """The call as a JSON-ready dict (durations and start in seconds)."""
        return {
            "step": self.step,
            "id": self.id,
            "name": self.name,
            "arguments": self.arguments,
            "result": self.result,
            "error": self.error,
            "duration": self.duration,
            "start": self.start,
        }


@dataclass(slots=True)
class StepRecord:
    """One model turn and the tool calls it asked for."""

    index: int
    model: str
    text: str
    usage: Usage
    duration: float
    cost: float | None
    finish_reason: str | None = None
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    start: float = 0.0
    """Seconds from the start of the run to the model request."""

    def to_dict(self) -> dict[str, Any]:
        """The step as a JSON-ready dict, its usage and tool calls included."""
        return {
            "index": self.index,
            "model": self.model,
            "text": self.text,
            "usage": self.usage.to_dict(),
            "duration": self.duration,
            "cost": self.cost,
            "finish_reason": self.finish_reason,
            "start": self.start,
            "tool_calls": [c.to_dict() for c in self.tool_calls],
        }
