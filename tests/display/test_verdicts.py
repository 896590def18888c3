"""`result.verdicts` is a list that displays as a table, in text and in HTML."""

from __future__ import annotations

import re
from collections.abc import Callable

from IPython.core.formatters import DisplayFormatter

from agentnb import Agent, FunctionModel, Verdict, guard, tool, tool_call
from agentnb.agents import RunResult
from agentnb.guards import ToolCallView
from agentnb.runs.result import Verdicts

Script = Callable[..., FunctionModel]


@tool
def refund(order: str, amount: float) -> str:
    """Refund an order."""
    return f"refunded {amount} on {order}"


@guard("tool_call")
def at_most_100(call: ToolCallView) -> Verdict:
    if call.args["amount"] > 100:
        return Verdict.block(f"{call.args['amount']:g} is over the limit of 100")
    return Verdict.allow()


@guard("final_output", on_fail="warn")
def polite(text: str) -> Verdict:
    return Verdict.warn("no greeting")


def run(script: Script) -> RunResult:
    model = script(
        tool_call("refund", order="A-1", amount=30),
        tool_call("refund", order="A-2", amount=300),
        "Refunded A-1.",
    )
    agent = Agent("shop", model=model, tools=[refund], guards=[at_most_100, polite])
    return agent.run_sync("refund A-1 and A-2")


def test_verdicts_keep_list_behaviour(script: Script) -> None:
    verdicts = run(script).verdicts
    assert isinstance(verdicts, Verdicts)
    assert isinstance(verdicts, list)
    assert verdicts == list(verdicts)
    assert [v.outcome for v in verdicts] == ["pass", "block", "warn"]
    assert type(verdicts[:1]) is list
    assert len(verdicts) == 3


def test_verdicts_display_as_a_table(script: Script) -> None:
    verdicts = run(script).verdicts
    data, _ = DisplayFormatter().format(verdicts)

    times = re.compile(r"[\d.]+ ms$", re.M)  # the last column: measured, so it varies
    assert times.sub("T", data["text/plain"]) == (
        "step  point         guard        target  outcome  action    reason"
        "                        time\n"
        "1     tool_call     at_most_100  refund  pass     continue"
        "                                T\n"
        "2     tool_call     at_most_100  refund  block    skip      300 is over the limit of 100"
        "  T\n"
        "3     final_output  polite       –       warn     continue  no greeting"
        "                   T"
    )
    assert repr(verdicts) == data["text/plain"]

    page = data["text/html"]
    assert page.count("<tr>") == 1 + 3
    badges = re.findall(r'class="anb-badge anb-b-(\w+)"', page)
    assert badges == ["pass", "block", "warn"]
    assert "300 is over the limit of 100" in page
    assert '<table class="anb-table">' in page


def test_no_verdicts(script: Script) -> None:
    empty = Agent("shop", model=script("hi")).run_sync("hi").verdicts
    assert repr(empty) == "no guard verdicts"
    assert empty == []
