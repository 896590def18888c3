"""Every run this process finished, in order: what `agentnb run` counts after a notebook ran.

One small record per run, appended where a run finishes (`loop._record`), whatever its status;
telemetry may be off or still writing, this list is not. `list.append` is atomic, so runs
finishing on several threads need no lock.

    >>> from agentnb import Agent
    >>> before = len(finished_runs())
    >>> result = Agent("ledger-demo", model="offline", telemetry=False).run_sync("hi")
    >>> finished_runs()[before:] == [FinishedRun(result.run_id, "ledger-demo", "ok", ())]
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentnb.runs.result import RunResult
    from agentnb.runs.steps import RunStatus

__all__ = ["FinishedRun", "finished_runs", "record"]


@dataclass(frozen=True, slots=True)
class FinishedRun:
    """One finished run: its id, agent, status and the guards that raised during it."""

    run_id: str
    agent: str
    status: RunStatus
    guard_errors: tuple[str, ...]
    """Names of the guards that raised (one entry per error, in order)."""


_FINISHED: list[FinishedRun] = []


def record(result: RunResult) -> None:
    """Append `result`'s run (called once per run, by the run loop)."""
    errors = tuple(v.guard for v in result.verdicts if v.outcome == "error")
    _FINISHED.append(FinishedRun(result.run_id, result.agent, result.status, errors))


def finished_runs() -> list[FinishedRun]:
    """A copy of the runs finished in this process so far, oldest first."""
    return list(_FINISHED)
