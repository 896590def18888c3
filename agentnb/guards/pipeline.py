"""The guard pipeline: run an agent's guards at one point and decide what the run does."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentnb import events as ev
from agentnb.guards.guard import Guard, GuardContext, is_error, run_check
from agentnb.guards.verdict import GUARD_POINTS, GuardPoint, OnFail

__all__ = ["Blocked", "GuardPipeline"]

_POINT_DEFAULT: dict[GuardPoint, OnFail] = {
    "input": "refuse",
    "model_output": "refuse",
    "tool_call": "skip",
    "tool_result": "skip",
    "final_output": "refuse",
}


@dataclass(slots=True)
class Blocked:
    """A block the run must act on: which guard, why, and the action it resolved to."""

    guard: str
    point: GuardPoint
    reason: str
    action: OnFail

    @property
    def message(self) -> str:
        """The block as one line: `"blocked by guard <name>: <reason>"`."""
        return f"blocked by guard {self.guard}: {self.reason}"


class GuardPipeline:
    """An agent's guards grouped by point, in declared order."""

    def __init__(self, guards: Sequence[Guard]) -> None:
        self.guards = tuple(guards)
        self.at: dict[GuardPoint, tuple[Guard, ...]] = {
            point: tuple(g for g in guards if point in g.points) for point in GUARD_POINTS
        }

    async def check(
        self,
        point: GuardPoint,
        subject: Any,
        ctx: GuardContext,
        verdicts: list[ev.GuardVerdict],
        emit: ev.Emit | None,
        target: str | None = None,
    ) -> tuple[Any, Blocked | None]:
        """Run the guards at `point` on `subject`: the (possibly rewritten) subject and the
        first block that stops the action, if any. Every verdict is recorded and emitted."""
        for g in self.at[point]:
            t0 = time.perf_counter()
            verdict = await run_check(g, subject, ctx)
            duration = time.perf_counter() - t0
            outcome = "error" if is_error(verdict) else verdict.outcome
            action: str = "continue"
            blocked: Blocked | None = None
            if verdict.outcome == "rewrite":
                subject = verdict.value
                action = "rewrite"
            elif verdict.outcome == "block":
                on_fail = g.on_fail or _POINT_DEFAULT[point]
                if on_fail in ("redact", "rewrite"):
                    on_fail = _POINT_DEFAULT[point]  # nothing to rewrite with: fall back
                if point == "input" and on_fail not in ("raise", "warn"):
                    on_fail = "refuse"  # a prompt cannot be skipped or re-asked
                if on_fail == "warn":
                    action = "warn"
                else:
                    blocked = Blocked(g.name, point, verdict.reason, on_fail)
                    action = on_fail
            record = ev.GuardVerdict(
                ctx.run_id,
                ctx.step,
                g.name,
                point,
                outcome,
                verdict.reason,
                action,
                duration,
                target,
            )
            verdicts.append(record)
            if emit:
                emit(record)
            if blocked is not None:
                return subject, blocked
        return subject, None
