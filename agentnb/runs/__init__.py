"""What a run produced, as data: `RunResult` with its steps, tool calls, verdicts and guard
errors, and the versioned trace payload built from it.

This package sits below guards, layers and telemetry (which read finished runs) and above the
display kit (which renders the trace payload); the run loop in `agents/` fills it in.
"""

from agentnb.runs.guard_errors import GuardError, GuardErrorWarning
from agentnb.runs.result import RunResult
from agentnb.runs.steps import RunStatus, StepRecord, ToolCallRecord

__all__ = [
    "GuardError",
    "GuardErrorWarning",
    "RunResult",
    "RunStatus",
    "StepRecord",
    "ToolCallRecord",
]
