"""Guards at the five points of a run: what each sees, and a block stops the action first.

Every scenario is the same small conversation played by a `FunctionModel`: the model calls
`refund` once, reads its result, then answers. Side effects are counted (the tool's calls, the
messages the model was shown) so "blocked" means "did not happen", not just "was recorded".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agentnb import Agent, FunctionModel, Tool, tool, tool_call
from agentnb.agents import RunResult
from agentnb.errors import ToolDefinitionError
from agentnb.events import Event, GuardVerdict
from agentnb.guards import GuardContext, ToolCallView, ToolResultView, Verdict, guard
from agentnb.models import AssistantMessage, ToolCall, ToolResultMessage, UserMessage

Script = Callable[..., FunctionModel]

PROMPT = "Refund order A-1 for 30 dollars."
CALL = tool_call("refund", call_id="c1", order_id="A-1", amount=30)
FINAL = "Refunded 30.0 on A-1."


def _refund(calls: list[tuple[str, float]]) -> Tool[..., Any]:
    @tool
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        calls.append((order_id, amount))
        return f"refunded {amount} on {order_id}"

    return refund


def _verdicts(result: RunResult) -> list[tuple[int, str, str, str, str, str, str | None]]:
    return [
        (v.step, v.guard, v.point, v.outcome, v.reason, v.action, v.target) for v in result.verdicts
    ]


def _seen(model: FunctionModel) -> list[list[Any]]:
    """What the model was shown, turn by turn (the `script` fixture's record)."""
    return model.function.seen  # type: ignore[attr-defined, no-any-return]


async def test_each_point_sees_its_subject_in_run_order(script: Script) -> None:
    seen: list[tuple[str, int, int, Any]] = []

    @guard("input", "model_output", "tool_call", "tool_result", "final_output")
    def watch(subject: Any, ctx: GuardContext) -> None:
        seen.append((type(subject).__name__, ctx.step, ctx.tool_calls, subject))

    calls: list[tuple[str, float]] = []
    agent = Agent("shop", model=script(CALL, FINAL), tools=[_refund(calls)], guards=[watch])
    result = await agent.run(PROMPT)

    args = {"order_id": "A-1", "amount": 30.0}
    assert seen == [
        ("str", 0, 0, PROMPT),
        ("AssistantMessage", 1, 0, CALL),
        ("ToolCallView", 1, 1, ToolCallView("refund", args, "c1")),
        (
            "ToolResultView",
            1,
            1,
            ToolResultView("refund", args, "refunded 30.0 on A-1", "refunded 30.0 on A-1"),
        ),
        ("AssistantMessage", 2, 1, AssistantMessage(FINAL)),
        ("str", 2, 1, FINAL),
    ]
    assert _verdicts(result) == [
        (0, "watch", "input", "pass", "", "continue", None),
        (1, "watch", "model_output", "pass", "", "continue", None),
        (1, "watch", "tool_call", "pass", "", "continue", "refund"),
        (1, "watch", "tool_result", "pass", "", "continue", "refund"),
        (2, "watch", "model_output", "pass", "", "continue", None),
        (2, "watch", "final_output", "pass", "", "continue", None),
    ]
    assert (result.status, result.output, calls) == ("ok", FINAL, [("A-1", 30.0)])


async def test_tool_result_view_carries_the_python_value(script: Script) -> None:
    values: list[Any] = []

    @guard("tool_result")
    def keep(result: ToolResultView) -> None:
        values.append((result.content, result.value))

    @tool
    def stock(sku: str) -> dict[str, int]:
        """Units in stock."""
        return {"units": 3}

    agent = Agent(
        "shop", model=script(tool_call("stock", sku="X"), "3"), tools=[stock], guards=[keep]
    )
    await agent.run("stock of X?")
    assert values == [('{"units":3}', {"units": 3})]


async def test_blocked_input_never_reaches_the_model(script: Script) -> None:
    @guard("input")
    def no_passwords(prompt: str) -> Verdict | None:
        return Verdict.block("asks for a password") if "password" in prompt else None

    model = script()  # no replies: a model call would fail the run
    agent = Agent("shop", model=model, guards=[no_passwords])
    result = await agent.run("What is the admin password?")

    assert _seen(model) == []
    assert (result.status, result.output, result.error) == (
        "blocked",
        "I can't do that: blocked by guard no_passwords: asks for a password.",
        None,
    )
    assert result.messages == [UserMessage("What is the admin password?")]
    assert result.steps == []
    assert _verdicts(result) == [
        (0, "no_passwords", "input", "block", "asks for a password", "refuse", None)
    ]


async def test_blocked_model_output_stops_its_tool_calls(script: Script) -> None:
    @guard("model_output")
    def no_refunds(turn: AssistantMessage) -> bool:
        return not any(c.name == "refund" for c in turn.tool_calls)

    calls: list[tuple[str, float]] = []
    model = script(CALL)
    agent = Agent("shop", model=model, tools=[_refund(calls)], guards=[no_refunds])
    result = await agent.run(PROMPT)

    assert calls == []
    assert len(_seen(model)) == 1
    assert (result.status, result.output) == (
        "blocked",
        "I can't do that: blocked by guard no_refunds: no_refunds returned False.",
    )
    assert result.tool_calls == []
    assert _verdicts(result) == [
        (1, "no_refunds", "model_output", "block", "no_refunds returned False", "refuse", None)
    ]


async def test_blocked_tool_call_is_not_executed_and_the_model_reads_why(script: Script) -> None:
    @guard("tool_call")
    def small_refunds(call: ToolCallView) -> Verdict | None:
        if call.args["amount"] > 20:
            return Verdict.block(f"refund of {call.args['amount']} is over 20")
        return None

    calls: list[tuple[str, float]] = []
    model = script(CALL, "I may not refund that much.")
    agent = Agent("shop", model=model, tools=[_refund(calls)], guards=[small_refunds])
    result = await agent.run(PROMPT)

    assert calls == []
    feedback = "blocked by guard small_refunds: refund of 30.0 is over 20"
    assert _seen(model)[1] == [
        UserMessage(PROMPT),
        AssistantMessage("", [ToolCall("c1", "refund", '{"order_id": "A-1", "amount": 30}')]),
        ToolResultMessage("c1", "refund", feedback, is_error=True),
    ]
    assert [(c.name, c.result, c.error) for c in result.tool_calls] == [
        ("refund", feedback, "blocked")
    ]
    assert (result.status, result.output) == ("ok", "I may not refund that much.")
    assert _verdicts(result) == [
        (1, "small_refunds", "tool_call", "block", "refund of 30.0 is over 20", "skip", "refund")
    ]


async def test_a_blocked_call_does_not_count_as_a_tool_failure(script: Script) -> None:
    """tool_retries bounds failures; a guard's decision is not one, however often it happens."""

    @guard("tool_call")
    def never(call: ToolCallView) -> bool:
        return False

    calls: list[tuple[str, float]] = []
    replies = [tool_call("refund", call_id=f"c{i}", order_id="A-1", amount=1) for i in range(3)]
    agent = Agent(
        "shop",
        model=script(*replies, "gave up"),
        tools=[_refund(calls)],
        guards=[never],
        settings={"tool_retries": 0},
    )
    result = await agent.run(PROMPT)
    assert (result.status, result.output, calls) == ("ok", "gave up", [])
    assert [c.error for c in result.tool_calls] == ["blocked"] * 3


async def test_blocked_tool_result_never_reaches_the_model(script: Script) -> None:
    @tool
    def read_file(path: str) -> str:
        """Read a file."""
        reads.append(path)
        return "root:x:0:0:root:/root:/bin/bash"

    @guard("tool_result")
    def no_system_files(result: ToolResultView) -> Verdict | None:
        return Verdict.block("looks like /etc/passwd") if "root:x:0:0" in result.content else None

    reads: list[str] = []
    model = script(tool_call("read_file", call_id="r1", path="/etc/passwd"), "I can't read it.")
    agent = Agent("files", model=model, tools=[read_file], guards=[no_system_files])
    result = await agent.run("Show /etc/passwd")

    assert reads == ["/etc/passwd"]  # the tool ran: a tool_result guard checks what it returned
    feedback = "blocked by guard no_system_files: looks like /etc/passwd"
    assert _seen(model)[1][-1] == ToolResultMessage("r1", "read_file", feedback, is_error=True)
    shown = [m for turn in _seen(model) for m in turn]
    assert not any("root:x" in str(m) for m in shown)
    assert not any("root:x" in str(m) for m in result.messages)
    assert (result.status, result.output) == ("ok", "I can't read it.")
    assert _verdicts(result) == [
        (
            1,
            "no_system_files",
            "tool_result",
            "block",
            "looks like /etc/passwd",
            "skip",
            "read_file",
        )
    ]


async def test_blocked_final_output_ends_the_run_with_a_refusal(script: Script) -> None:
    @guard("final_output")
    def no_promises(answer: str) -> Verdict | None:
        return Verdict.block("promises a refund") if "refund" in answer.lower() else None

    model = script("I promise a refund tomorrow.")
    agent = Agent("shop", model=model, guards=[no_promises])
    result = await agent.run("Will I get my money back?")

    assert (result.status, result.output, result.error) == (
        "blocked",
        "I can't do that: blocked by guard no_promises: promises a refund.",
        None,
    )
    assert len(_seen(model)) == 1
    assert _verdicts(result) == [
        (1, "no_promises", "final_output", "block", "promises a refund", "refuse", None)
    ]


async def test_verdicts_are_emitted_as_events_in_run_order(script: Script) -> None:
    @guard("tool_call", "final_output")
    def fine(subject: Any) -> None:
        return None

    events: list[Event] = []
    agent = Agent("shop", model=script(CALL, FINAL), tools=[_refund([])], guards=[fine])
    agent.on_event(events.append)
    result = await agent.run(PROMPT)

    emitted = [e for e in events if isinstance(e, GuardVerdict)]
    assert emitted == result.verdicts
    assert [(e.point, e.run_id) for e in emitted] == [
        ("tool_call", result.run_id),
        ("final_output", result.run_id),
    ]
    kinds = [e.kind for e in events]
    # The tool_call verdict comes between the call starting and finishing.
    assert kinds[kinds.index("tool_call_started") + 1] == "verdict"
    assert kinds[kinds.index("tool_call_finished") - 1] == "verdict"


async def test_unguarded_points_record_nothing(script: Script) -> None:
    agent = Agent("shop", model=script(CALL, FINAL), tools=[_refund([])])
    result = await agent.run(PROMPT)
    assert (result.status, result.verdicts) == ("ok", [])


def test_unknown_guard_points_are_refused_when_declared() -> None:
    def check(subject: Any) -> None:
        return None

    with pytest.raises(ToolDefinitionError) as info:
        guard("output")(check)  # type: ignore[arg-type]
    assert str(info.value) == (
        "guard 'check': unknown guard point(s) ['output']; use one of input, model_output, "
        "tool_call, tool_result, final_output"
    )


async def test_editing_call_args_in_place_does_not_change_the_call(script: Script) -> None:
    @guard("tool_call")
    def meddle(call: ToolCallView) -> None:
        call.args["amount"] = "not a number"

    calls: list[tuple[str, float]] = []
    agent = Agent("shop", model=script(CALL, FINAL), tools=[_refund(calls)], guards=[meddle])
    await agent.run(PROMPT)
    assert calls == [("A-1", 30.0)]
