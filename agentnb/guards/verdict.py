"""`Verdict`: what a guard decided about one action."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "GUARD_POINTS",
    "GuardPoint",
    "OnFail",
    "Outcome",
    "Verdict",
]

GuardPoint = Literal["input", "model_output", "tool_call", "tool_result", "final_output"]
GUARD_POINTS: tuple[GuardPoint, ...] = (
    "input",
    "model_output",
    "tool_call",
    "tool_result",
    "final_output",
)
Outcome = Literal["pass", "warn", "block", "rewrite"]
OnFail = Literal["raise", "refuse", "reask", "skip", "redact", "rewrite", "warn"]
"""What the run does when a guard blocks:

- `raise`: stop with `GuardBlocked` naming the guard and the reason;
- `refuse`: end the run with status `blocked` and a refusal as output;
- `reask`: send the reason back to the model as feedback and let it try again (bounded);
- `skip`: (tool points) do not run the tool / withhold its result; the model reads why;
- `redact`/`rewrite`: use the value of a `rewrite` verdict (e.g. redacted text);
- `warn`: record the verdict and carry on.
"""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A guard's decision. Guards may also return True/None (pass), False (block) or a value
    (rewrite to that value)."""

    outcome: Outcome
    reason: str = ""
    value: Any = None
    """The replacement for `rewrite` verdicts."""

    @classmethod
    def allow(cls, reason: str = "") -> Verdict:
        """Pass, optionally saying why."""
        return cls("pass", reason)

    @classmethod
    def warn(cls, reason: str) -> Verdict:
        """Pass, but record `reason` as a warning."""
        return cls("warn", reason)

    @classmethod
    def block(cls, reason: str) -> Verdict:
        """Block for `reason`; what the run does next is the guard's `on_fail`."""
        return cls("block", reason)

    @classmethod
    def rewrite(cls, value: Any, reason: str = "") -> Verdict:
        """Replace the checked value with `value` (e.g. redacted text)."""
        return cls("rewrite", reason, value)
