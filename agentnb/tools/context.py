"""What a tool sees of the run when its first parameter is annotated `RunContext`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["RunContext"]

DepsT = TypeVar("DepsT")


@dataclass(slots=True)
class RunContext(Generic[DepsT]):
    """The run a tool call belongs to; `deps` is what was passed as `agent.run(..., deps=...)`.

    `cancelled` is set when the run is cancelled (Ctrl-C or a kernel interrupt during
    `run_sync`, a cancelled task, `settings.timeout`). A running Python function cannot be
    stopped from outside: the run ends at once and records the call as "cancelled while
    running; the function was left to finish". A long tool can stop early by checking it:

        @tool
        def crawl(ctx: RunContext[None], pages: int) -> int:
            done = 0
            for _ in range(pages):
                if ctx.cancelled.wait(0.5):  # sleeps 0.5 s, or returns True once cancelled
                    break
                done += 1
            return done
    """

    deps: DepsT
    run_id: str
    agent: str
    step: int
    retry: int = 0
    """How many earlier calls of this tool in this run failed (invalid arguments or errors)."""
    cancelled: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)
    """Set once the run is cancelled: `ctx.cancelled.is_set()`, or `ctx.cancelled.wait(s)`."""
