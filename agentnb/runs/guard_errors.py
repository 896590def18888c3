"""Guards that raised: `GuardError`, the `GuardErrorWarning` shown under the cell, and the verdict
reason that records them (a guard that raises blocks its action: it fails closed, never silently).

They live beside `RunResult` (which lists them as `guard_errors`) rather than in `guards/`, so the
run's record, telemetry and the monitors can read them without importing the guard machinery.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentnb.events import GuardVerdict

if TYPE_CHECKING:
    from types import FrameType

__all__ = ["GuardError", "GuardErrorWarning", "error_reason", "warn_guard_errors"]

_ERROR_PREFIX = "guard error: "


def error_reason(exc: BaseException) -> str:
    """The verdict reason of a guard that raised `exc` (what `GuardError.from_verdict` reads)."""
    return f"{_ERROR_PREFIX}{type(exc).__name__}: {exc}"


@dataclass(frozen=True, slots=True)
class GuardError:
    """A guard that raised instead of deciding; the action it guarded was blocked (fail closed).

    `RunResult.guard_errors` lists them; each is also shown as a `GuardErrorWarning`.
    """

    guard: str
    point: str
    """The guard point (`tool_call`, `final_output`, …)."""
    error_type: str
    """The exception's class name, e.g. `KeyError`."""
    message: str
    target: str | None = None
    """The tool name at tool points."""

    @classmethod
    def from_verdict(cls, verdict: GuardVerdict) -> GuardError:
        """The error a verdict with outcome `error` records (stored verdicts included)."""
        error_type, _, message = verdict.reason.removeprefix(_ERROR_PREFIX).partition(": ")
        return cls(verdict.guard, verdict.point, error_type, message, verdict.target)

    def __str__(self) -> str:
        where = f"{self.point} of tool {self.target!r}" if self.target else self.point
        shown = f"{self.error_type}: {self.message}" if self.message else self.error_type
        return (
            f"guard {self.guard!r} raised {shown} at {where}; the action was blocked as if "
            "the guard had said no (result.guard_errors lists the run's guard errors)"
        )


class GuardErrorWarning(UserWarning):
    """Shown under the cell for each guard that raised during a run (see `GuardError`).

    Silence it with `warnings.filterwarnings("ignore", category=GuardErrorWarning)`, or make
    it an error in a test suite with `"error::agentnb.guards.GuardErrorWarning"`.
    """


def warn_guard_errors(errors: list[GuardError]) -> None:
    """One `GuardErrorWarning` per error, shown every time (the warnings registry would show a
    repeated line once) and attributed to the user's code: the first frame outside agentnb and
    the event-loop machinery, or none when the run was awaited on agentnb's private loop."""
    if not errors:
        return
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_MACHINERY):
        frame = frame.f_back
    # Line 0 is never shown by some hooks (IPython): the fallback names line 1 of no file.
    where = ("<agentnb>", 1, "agentnb") if frame is None else _location(frame)
    for error in errors:
        warnings.warn_explicit(
            GuardErrorWarning(str(error)),
            GuardErrorWarning,
            where[0],
            where[1],
            module=where[2],
            registry=None,
        )


_MACHINERY = ("agentnb", "asyncio", "concurrent", "threading", "contextvars")


def _location(frame: FrameType) -> tuple[str, int, str | None]:
    return frame.f_code.co_filename, frame.f_lineno, frame.f_globals.get("__name__")
