"""Budget guard: stop a run that uses too many steps, tokens, dollars or seconds."""

from __future__ import annotations

from typing import Any, ClassVar

from agentnb.guards.builtin._base import BuiltinGuard
from agentnb.guards.guard import GuardContext, ToolCallView
from agentnb.guards.verdict import GuardPoint, OnFail, Verdict

__all__ = ["budget"]


class _Budget(BuiltinGuard):
    kind = "budget"
    # Checked after each model turn and before each tool call: the earliest moments a budget
    # can be seen to be spent, and before the next side effect.
    default_points: ClassVar[tuple[GuardPoint, ...]] = ("model_output", "tool_call")
    default_on_fail: ClassVar[OnFail | None] = "refuse"

    def __init__(
        self,
        max_steps: int | None = None,
        max_tokens: int | None = None,
        max_cost_usd: float | None = None,
        max_seconds: float | None = None,
        **common: Any,
    ) -> None:
        limits = {
            "max_steps": max_steps,
            "max_tokens": max_tokens,
            "max_cost_usd": max_cost_usd,
            "max_seconds": max_seconds,
        }
        if all(v is None for v in limits.values()):
            raise ValueError(
                "budget needs at least one of max_steps, max_tokens, max_cost_usd, max_seconds"
            )
        for key, value in limits.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"budget {key} must be a positive number, got {value!r}")
        super().__init__(limits, **common)
        self.max_steps = max_steps
        self.max_tokens = max_tokens
        self.max_cost = max_cost_usd
        self.max_seconds = max_seconds

    def check(self, subject: Any, ctx: GuardContext) -> Verdict | None:
        # A tool call at the last allowed step would need one more model turn to be answered.
        steps_used = ctx.step + 1 if isinstance(subject, ToolCallView) else ctx.step
        if self.max_steps is not None and steps_used > self.max_steps:
            return Verdict.block(f"the run would exceed its budget of {self.max_steps} steps")
        tokens = ctx.usage.total_tokens
        if self.max_tokens is not None and tokens > self.max_tokens:
            return Verdict.block(f"{tokens} tokens exceed the budget of {self.max_tokens}")
        if self.max_cost is not None and ctx.cost is None:
            return Verdict.warn(
                "the cost budget cannot be checked: this model has no price; set one with "
                "agentnb.models.set_price(...)"
            )
        if self.max_cost is not None and ctx.cost is not None and ctx.cost > self.max_cost:
            return Verdict.block(f"cost ${ctx.cost:.4f} exceeds the budget of ${self.max_cost}")
        if self.max_seconds is not None and ctx.elapsed > self.max_seconds:
            return Verdict.block(f"{ctx.elapsed:.1f} s exceed the budget of {self.max_seconds} s")
        return None


def budget(
    *,
    max_steps: int | None = None,
    max_tokens: int | None = None,
    max_cost_usd: float | None = None,
    max_seconds: float | None = None,
    name: str | None = None,
    on_fail: OnFail | None = None,
) -> BuiltinGuard:
    """End the run (status `blocked`) once it uses more steps, tokens, cost or time than this."""
    return _Budget(max_steps, max_tokens, max_cost_usd, max_seconds, name=name, on_fail=on_fail)
