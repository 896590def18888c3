"""The runs this process finished, in order: what `agentnb run` asks the kernel once a notebook ran.

The run loop calls `record` once per run as it finishes (whatever its status), so a headless
run counts the runs a notebook made rather than the results it happened to display, and can
name the guards that raised. Telemetry may be off or still writing; this list is not.

```python
from agentnb.agents import ledger

ledger.record("run_1", agent="fx", status="ok", guard_errors=["no_refunds_over_100"])
assert ledger.finished_runs()[-1].guard_errors == ("no_refunds_over_100",)
```
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["FinishedRun", "finished_runs", "record"]


@dataclass(frozen=True, slots=True)
class FinishedRun:
    """One finished run: its id, its agent, its status and the guards that raised during it."""

    run_id: str
    agent: str
    status: str
    guard_errors: tuple[str, ...] = ()
    """Names of the guards whose check raised an exception (each once, in order)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (`guard_errors` as a list)."""
        return {
            "run_id": self.run_id,
            "agent": self.agent,
            "status": self.status,
            "guard_errors": list(self.guard_errors),
        }


_runs: list[FinishedRun] = []
# Runs finish on the background loop thread, on worker threads and in the kernel's own thread.
_lock = threading.Lock()


def record(run_id: str, *, agent: str, status: str, guard_errors: Iterable[str] = ()) -> None:
    """Note that run `run_id` of `agent` finished with `status`; `guard_errors` names the
    guards that raised during it."""
    names = tuple(dict.fromkeys(guard_errors))
    with _lock:
        _runs.append(FinishedRun(run_id, agent, status, names))


def finished_runs() -> list[FinishedRun]:
    """The runs finished in this process so far, oldest first (a copy)."""
    with _lock:
        return list(_runs)
