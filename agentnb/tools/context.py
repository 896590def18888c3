"""What a tool sees of the run when its first parameter is annotated `RunContext`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["RunContext"]

DepsT = TypeVar("DepsT")


@dataclass(slots=True)
class RunContext(Generic[DepsT]):
    """The run a tool call belongs to; `deps` is what was passed as `agent.run(..., deps=...)`."""

    deps: DepsT
    run_id: str
    agent: str
    step: int
    retry: int = 0
    """How many earlier calls of this tool in this run failed (invalid arguments or errors)."""
