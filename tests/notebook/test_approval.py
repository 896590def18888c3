"""Human approval with widgets: the view, the approver, and clicks reaching a busy kernel.

The kernel tests play JupyterLab's part on the wire (cells with a `cellId`, a click is a
`comm_msg` to the button's comm), while the cell blocks in `run_sync` or awaits `agent.run`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.utils.capture import capture_output
from traitlets import TraitError

from agentnb import Agent, FunctionModel, guards, tool, tool_call
from agentnb.agents import RunResult
from agentnb.guards import GuardErrorWarning, set_approver
from agentnb.notebook.approval import WidgetApprover
from agentnb.notebook.widgets import ApprovalView
from tests.notebook.live_kernel import CellRun, LiveKernel, live_kernel


@tool
def refund(order_id: int, amount: float) -> str:
    """Refund an amount for an order.

    Args:
        order_id: The order number.
        amount: How much to refund.
    """
    return f"refunded {amount} for order {order_id}"


def careful(script: Callable[..., FunctionModel]) -> Agent:
    return Agent(
        "careful",
        model=script(tool_call("refund", order_id=1042, amount=40), "done"),
        tools=[refund],
        guards=[guards.approval(["refund"])],
        telemetry=False,
    )


def refund_call(result: RunResult) -> tuple[str, str | None, str]:
    (call,) = result.tool_calls
    return call.name, call.error, call.result


@pytest.fixture
def approver() -> Iterator[WidgetApprover]:
    made = WidgetApprover()
    set_approver(made)
    try:
        yield made
    finally:
        set_approver(None)


def click_when_shown(approver: WidgetApprover, approve: bool) -> threading.Thread:
    """A person at the notebook: waits for the buttons, then clicks one (from another thread)."""

    def person() -> None:
        deadline = time.monotonic() + 120  # a hang guard: the buttons show once the run gets there
        while not approver.views and time.monotonic() < deadline:
            time.sleep(0.01)
        view = approver.views[-1]
        (view.approve_button if approve else view.reject_button).click()

    thread = threading.Thread(target=person, daemon=True)
    thread.start()
    return thread


# -- the view ------------------------------------------------------------------------------------


def test_the_first_answer_stands() -> None:
    view = ApprovalView(agent="careful", tool="refund", arguments='{"amount": 40}')
    answers: list[bool] = []
    view.on_decision(answers.append)

    view.reject_button.click()
    view.approve_button.click()  # too late: the buttons are disabled and the answer is final
    view.expire("too late as well")

    assert (view.decision, view.reason, answers) == ("rejected", "", [False])
    assert [b.disabled for b in view.buttons] == [True, True]
    assert view.answer.value == "✘ rejected"
    assert view.question.value == (
        '<b>careful</b> wants to call <code>refund</code><pre style="margin:2px 0">'
        "{&quot;amount&quot;: 40}</pre>"
    )
    with pytest.raises(TraitError, match="already rejected; it cannot become approved"):
        view.decision = "approved"


def test_an_expired_wait_tells_nobody() -> None:
    view = ApprovalView(tool="refund")
    answers: list[bool] = []
    view.on_decision(answers.append)

    view.expire("the run was cancelled")

    assert (view.decision, answers, view.answer.value) == (
        "expired",
        [],
        "no answer: the run was cancelled",
    )


# -- the approver, no kernel (clicks come from code) ---------------------------------------------


def test_an_approved_call_runs(
    script: Callable[..., FunctionModel], approver: WidgetApprover
) -> None:
    agent = careful(script)
    person = click_when_shown(approver, approve=True)

    with capture_output():
        result = agent.run_sync("Refund order 1042 by 40")
    person.join()

    assert refund_call(result) == ("refund", None, "refunded 40.0 for order 1042")
    assert [(v.guard, v.outcome, v.reason) for v in result.verdicts] == [
        ("approval", "pass", "approved by a person")
    ]
    assert approver.views[-1].decision == "approved"
    assert repr(approver.views[-1]) == "agentnb approval: refund (approved)"


def test_a_rejected_call_is_blocked(
    script: Callable[..., FunctionModel], approver: WidgetApprover
) -> None:
    agent = careful(script)
    person = click_when_shown(approver, approve=False)

    with capture_output():
        result = agent.run_sync("Refund order 1042 by 40")
    person.join()

    assert refund_call(result) == (
        "refund",
        "blocked",
        "blocked by guard approval: a person rejected refund",
    )


def test_an_unanswered_wait_ends_at_the_timeout(
    script: Callable[..., FunctionModel], approver: WidgetApprover
) -> None:
    approver.timeout = 0.2
    agent = careful(script)

    with capture_output(), pytest.warns(GuardErrorWarning, match="ApprovalUnavailable"):
        result = agent.run_sync("Refund order 1042 by 40")

    assert refund_call(result)[1:] == (
        "blocked",
        "blocked by guard approval: guard error: ApprovalUnavailable: nobody answered the "
        "approval of refund within 0.2 s",
    )
    assert (approver.views[-1].decision, approver.views[-1].reason) == (
        "expired",
        "nobody answered within 0.2 s",
    )


async def test_a_cancelled_run_closes_the_question(
    script: Callable[..., FunctionModel], approver: WidgetApprover
) -> None:
    agent = careful(script)

    with capture_output(), pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(agent.run("Refund order 1042 by 40"), 0.3)

    assert (approver.views[-1].decision, approver.views[-1].reason) == (
        "expired",
        "the run was cancelled",
    )


# -- real kernels --------------------------------------------------------------------------------

TOOLS = '''\
from agentnb import tool

@tool
def refund(order_id: int, amount: float) -> str:
    """Refund an amount for an order.

    Args:
        order_id: The order number.
        amount: How much to refund.
    """
    return f"refunded {amount} for order {order_id}"
'''
AGENT = """\
%%agent support --model offline
tools: [refund]
guards:
  - name: approval
    params: {tools: [refund]}"""
APPROVER = "from agentnb.guards.builtin import human\nprint(human._approver)"


def click(kernel: LiveKernel, label: str) -> Callable[[dict[str, Any], CellRun], None]:
    """An `on_message` hook: a person clicks `label` once the buttons are shown.

    Shown means displayed: like a browser, which renders a widget when its view is displayed,
    not when its comm opens.
    """
    seen: list[str] = []

    def on_message(message: dict[str, Any], run: CellRun) -> None:
        if message["msg_type"] == "comm_open":
            state = message["content"]["data"].get("state", {})
            if state.get("_model_name") == "ButtonModel" and state.get("description") == label:
                seen.append(message["content"]["comm_id"])
        elif message["msg_type"] == "display_data" and seen:
            kernel.click(seen.pop())

    return on_message


def buttons(run: CellRun) -> dict[str, bool]:
    return {
        s["description"]: s["disabled"]
        for s in run.widgets().values()
        if s.get("_model_name") == "ButtonModel"
    }


def output_of(run: CellRun) -> str:
    (result,) = run.results()
    return str(result["text/plain"])


@pytest.mark.slow
def test_clicks_reach_a_kernel_busy_with_the_run(tmp_path: Path) -> None:
    env = {"AGENTNB_HOME": str(tmp_path), "AGENTNB_TELEMETRY": "off"}
    with live_kernel(env=env) as kernel:
        # nbclient and other headless runners: no approver, the guard's policy decides.
        assert kernel.run("%load_ext agentnb.notebook.magics", live=False).status == "ok"
        assert kernel.run(APPROVER).stdout == "None\n"
        # A notebook someone looks at: the widget approver.
        loaded = kernel.run(
            "import agentnb.notebook.magics as m\nm.load_ipython_extension(get_ipython())"
        )
        assert loaded.status == "ok"
        assert kernel.run(APPROVER).stdout == "WidgetApprover(timeout=None)\n"
        assert kernel.run(TOOLS).status == kernel.run(AGENT).status == "ok"

        # run_sync blocks the cell's thread: the click goes through agentnb's subshell.
        approved = kernel.run(
            '%ask support "Refund order 1042 by 40 dollars"',
            on_message=click(kernel, "Approve"),
            timeout=30,
        )
        # A top-level await: the same buttons, the other answer.
        rejected = kernel.run(
            'r = await support.run("Refund order 1042 by 40 dollars")\nr',
            on_message=click(kernel, "Reject"),
            timeout=30,
        )

    assert approved.status == "ok", approved.error
    assert "refund returned refunded 40.0 for order 1042" in output_of(approved)
    assert buttons(approved) == {"Approve": True, "Reject": True}
    assert rejected.status == "ok", rejected.error
    assert "blocked by guard approval: a person rejected refund" in output_of(rejected)
    assert buttons(rejected) == {"Approve": True, "Reject": True}


@pytest.mark.slow
def test_without_a_subshell_await_still_works_and_run_sync_says_why(tmp_path: Path) -> None:
    env = {"AGENTNB_HOME": str(tmp_path), "AGENTNB_TELEMETRY": "off"}
    with live_kernel(env=env) as kernel:
        assert kernel.run("%load_ext agentnb.notebook.magics").status == "ok"
        assert kernel.run(TOOLS).status == kernel.run(AGENT).status == "ok"
        no_subshell = "import agentnb.notebook._kernel as k\nk.comm_subshell = lambda **kw: None"
        assert kernel.run(no_subshell).status == "ok"

        awaited = kernel.run(
            'r = await support.run("Refund order 1042 by 40 dollars")\nr',
            on_message=click(kernel, "Approve"),
            timeout=30,
        )
        # The timeout is a hang guard: waiting for a click that cannot arrive would hit it.
        blocked = kernel.run('%ask support "Refund order 1042 by 40 dollars"', timeout=120)

    assert "refund returned refunded 40.0 for order 1042" in output_of(awaited)
    assert (
        "blocked by guard approval: guard error: ApprovalUnavailable: approval buttons cannot "
        "receive a click while run_sync blocks the kernel"
    ) in output_of(blocked)
