"""Human approval guard: a person approves a tool call before it runs.

Who approves is pluggable: in a live notebook the notebook layer installs an approver that
shows Approve/Reject buttons; anywhere else (scripts, CI, nbclient) the guard follows its
configured `policy` — deny by default — and says so in the verdict's reason.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from agentnb.guards.builtin._base import BuiltinGuard
from agentnb.guards.guard import GuardContext, ToolCallView
from agentnb.guards.verdict import GuardPoint, OnFail, Verdict

__all__ = ["ApprovalRequest", "approval", "set_approver"]


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What an approver is shown: which agent, in which run, wants to call which tool with what."""

    agent: str
    run_id: str
    tool: str
    args: dict[str, Any]


Approver = Callable[[ApprovalRequest], "bool | Awaitable[bool]"]
_approver: Approver | None = None


def set_approver(approver: Approver | None) -> None:
    """Install who approves tool calls (None: nobody, the headless policy applies)."""
    global _approver
    _approver = approver


class _Approval(BuiltinGuard):
    kind = "approval"
    default_points: ClassVar[tuple[GuardPoint, ...]] = ("tool_call",)

    def __init__(
        self,
        tools: Sequence[str] | None = None,
        policy: Literal["deny", "allow"] = "deny",
        **common: Any,
    ) -> None:
        if policy not in ("deny", "allow"):
            raise ValueError(f"approval policy must be 'deny' or 'allow', got {policy!r}")
        super().__init__(
            {
                "tools": list(tools) if tools else None,
                "policy": policy if policy != "deny" else None,
            },
            **common,
        )
        self.tools = frozenset(tools or ())
        self.policy = policy

    async def check(self, subject: ToolCallView, ctx: GuardContext) -> Verdict | None:
        if self.tools and subject.name not in self.tools:
            return None
        if _approver is None:
            reason = (
                f"{subject.name} needs human approval; no one can approve here (headless), "
                f"so policy {self.policy!r} applies"
            )
            return Verdict.warn(reason) if self.policy == "allow" else Verdict.block(reason)
        answer = _approver(ApprovalRequest(ctx.agent, ctx.run_id, subject.name, subject.args))
        approved = await answer if inspect.isawaitable(answer) else answer
        return (
            Verdict.allow("approved by a person")
            if approved
            else Verdict.block(f"a person rejected {subject.name}")
        )


def approval(
    tools: Sequence[str] | None = None,
    *,
    policy: Literal["deny", "allow"] = "deny",
    name: str | None = None,
    on_fail: OnFail | None = None,
) -> BuiltinGuard:
    """Ask a person before calling `tools` (all tools if None); headless, follow `policy`."""
    return _Approval(tools, policy, name=name, on_fail=on_fail)
