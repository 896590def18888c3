"""Human approval in a live notebook: Approve / Reject buttons under the cell, the run waits.

```python
from agentnb import guards
from agentnb.notebook.approval import widget_approver

guards.set_approver(widget_approver)   # `%load_ext agentnb` does this in a live notebook
support = Agent(..., guards=[guards.approval(["refund"])])
support.run_sync("Refund order 1042 by 40 dollars")   # buttons appear; the run waits
```
Where it works: in JupyterLab / Notebook 7 / VS Code on **ipykernel 7.4 or newer**, for runs made
with `run_sync`, `%ask`, `ask(...)` and top-level `await agent.run(...)` alike.

Why it needs 7.4: a click is a message to the kernel, and ipykernel handles messages on the
thread that runs cells. While `run_sync` blocks that thread, a click would wait until the cell
ends — after the run that waits for it (jupyter-ui-poll, the usual fix, pumps messages through
`kernel.do_one_iteration()`, which ipykernel 7 no longer has). ipykernel 7.4 can hand a comm's
messages to a subshell, a kernel thread with its own loop: the buttons are routed there (see
`agentnb.notebook._kernel`). Top-level `await` cells need no subshell: ipykernel 7.4 dispatches
comm messages while an async cell waits. On older kernels the approver raises
`ApprovalUnavailable` at once instead of waiting for a click that cannot arrive; the guard then
blocks the call and the run records why.

Headless (nbclient, CI, scripts) nobody can click: leave the approver unset and
`guards.approval(policy=...)` decides.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import TYPE_CHECKING

from agentnb.errors import RunError
from agentnb.notebook import _kernel

if TYPE_CHECKING:
    from agentnb.guards.builtin.human import ApprovalRequest
    from agentnb.notebook.widgets import ApprovalView

__all__ = ["ApprovalUnavailable", "WidgetApprover", "widget_approver"]


class ApprovalUnavailable(RunError):
    """The approval buttons could not receive a click in this kernel."""


class WidgetApprover:
    """An approver for `guards.set_approver`: shows the call with Approve / Reject, waits.

    `timeout` (seconds, None: wait as long as it takes) ends an unanswered wait; the guard then
    blocks the call, saying nobody answered.
    Interrupting the kernel cancels the run, and with it the wait. `views` keeps the approval
    widgets shown so far, newest last.
    """

    def __init__(self, *, timeout: float | None = None) -> None:
        self.timeout = timeout
        self.views: list[ApprovalView] = []

    def __repr__(self) -> str:
        return f"WidgetApprover(timeout={self.timeout!r})"

    async def __call__(self, request: ApprovalRequest) -> bool:
        """Show `request` with Approve / Reject and wait for a click; True when approved.

        Raises:
            ApprovalUnavailable: Nobody answered within `timeout`, or this kernel cannot
                deliver a click while the cell runs (old ipykernel, or `run_sync` without a
                subshell); the message says what to change.
        """
        from agentnb.notebook.widgets import ApprovalView

        subshell = self._subshell()
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bool] = loop.create_future()

        def settle(approved: bool) -> None:
            if not answer.done():
                answer.set_result(approved)

        view = ApprovalView(
            agent=request.agent, tool=request.tool, arguments=json.dumps(request.args, default=str)
        )

        def decided(approved: bool) -> None:  # on whichever thread handled the click
            loop.call_soon_threadsafe(settle, approved)

        view.on_decision(decided)
        if subshell is not None:
            for button in view.buttons:
                _kernel.route_comm(button, subshell)
        self.views.append(view)
        _kernel.display(view)
        try:
            return await asyncio.wait_for(answer, self.timeout)
        except asyncio.TimeoutError:
            view.expire(f"nobody answered within {self.timeout:g} s")
            raise ApprovalUnavailable(
                f"nobody answered the approval of {request.tool} within {self.timeout:g} s"
            ) from None
        except asyncio.CancelledError:
            view.expire("the run was cancelled")
            raise

    @staticmethod
    def _subshell() -> str | None:
        """Where clicks must go, or None when the waiting thread's loop will see them."""
        k = _kernel.kernel()
        if k is None:
            return None  # no kernel, no front end: only code can click (tests, embedding)
        if not _kernel.reply_routing_supported(k):
            raise ApprovalUnavailable(
                "approval buttons need ipykernel>=7.4 to receive a click while a cell runs: "
                "pip install -U ipykernel (or let guards.approval(policy=...) decide)"
            )
        subshell = _kernel.comm_subshell()
        if subshell is None and threading.current_thread() is not threading.main_thread():
            raise ApprovalUnavailable(
                "approval buttons cannot receive a click while run_sync blocks the kernel: "
                "the kernel gave no subshell to route it to (see the log); run the agent "
                "with `await agent.run(...)` in the cell instead"
            )
        return subshell  # None on the cell's thread: a top-level `await` lets comms through


widget_approver = WidgetApprover()
"""The approver `%load_ext agentnb` installs in a live notebook (no timeout)."""
