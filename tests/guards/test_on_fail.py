"""What the run does when a guard blocks: every `on_fail` mode, rewrites, order, async, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from agentnb import Agent, FunctionModel, Tool, tool, tool_call
from agentnb.agents import RunResult
from agentnb.errors import GuardBlocked, OutputInvalid
from agentnb.guards import (
    GuardErrorWarning,
    GuardPoint,
    ToolCallView,
    ToolResultView,
    Verdict,
    guard,
)
from agentnb.models import (
    AssistantMessage,
    ModelRequest,
    ToolCall,
    ToolResultMessage,
    UserMessage,
)

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


def _actions(result: RunResult) -> list[tuple[str, str, str, str]]:
    return [(v.guard, v.point, v.outcome, v.action) for v in result.verdicts]


def _seen(model: FunctionModel) -> list[list[Any]]:
    return model.function.seen  # type: ignore[attr-defined, no-any-return]


# ----------------------------------------------------------------------------------- raise


@pytest.mark.parametrize(
    ("point", "said", "calls_made", "turns"),
    [
        ("input", "the input", [], 0),
        ("model_output", "the model output", [], 1),
        ("tool_call", "the tool call", [], 1),
        ("tool_result", "the tool result", [("A-1", 30.0)], 1),
        ("final_output", "the final output", [("A-1", 30.0)], 2),
    ],
)
async def test_raise_stops_the_run_with_guard_blocked(
    script: Script, point: GuardPoint, said: str, calls_made: list[Any], turns: int
) -> None:
    def stop(subject: Any) -> Verdict:
        return Verdict.block("not today")

    calls: list[tuple[str, float]] = []
    model = script(CALL, FINAL)
    stopper = guard(point, name="stopper", on_fail="raise")(stop)
    agent = Agent("shop", model=model, tools=[_refund(calls)], guards=[stopper])
    with pytest.raises(GuardBlocked) as info:
        await agent.run(PROMPT)

    error = info.value
    assert str(error) == f"guard 'stopper' blocked {said}: not today"
    assert (error.guard, error.point, error.reason) == ("stopper", point, "not today")
    assert error.result is not None
    assert error.result is agent.last_result
    assert (error.result.status, error.result.output, error.result.error_type) == (
        "blocked",
        None,
        "GuardBlocked",
    )
    assert _actions(error.result) == [("stopper", point, "block", "raise")]
    assert (calls, len(_seen(model))) == (calls_made, turns)


# ---------------------------------------------------------------------------------- refuse


async def test_refuse_at_tool_call_ends_the_run_before_the_tool(script: Script) -> None:
    @guard("tool_call", on_fail="refuse")
    def no_refunds(call: ToolCallView) -> Verdict:
        return Verdict.block("refunds need a manager")

    calls: list[tuple[str, float]] = []
    model = script(CALL)
    agent = Agent("shop", model=model, tools=[_refund(calls)], guards=[no_refunds])
    result = await agent.run(PROMPT)

    assert calls == []
    assert len(_seen(model)) == 1
    assert (result.status, result.output) == (
        "blocked",
        "I can't do that: blocked by guard no_refunds: refunds need a manager.",
    )
    assert _actions(result) == [("no_refunds", "tool_call", "block", "refuse")]


async def test_refuse_at_tool_result_withholds_the_result(script: Script) -> None:
    @guard("tool_result", on_fail="refuse")
    def quiet(result: ToolResultView) -> bool:
        return "refunded" not in result.content

    calls: list[tuple[str, float]] = []
    model = script(CALL)
    agent = Agent("shop", model=model, tools=[_refund(calls)], guards=[quiet])
    result = await agent.run(PROMPT)

    assert calls == [("A-1", 30.0)]
    assert len(_seen(model)) == 1  # the model never got to read the result
    assert (result.status, result.output) == (
        "blocked",
        "I can't do that: blocked by guard quiet: quiet returned False.",
    )


# ----------------------------------------------------------------------------------- reask


async def test_reask_at_final_output_round_trip() -> None:
    """The model reads the guard's reason as feedback and corrects its answer."""

    @guard("final_output", on_fail="reask")
    def no_internal_codes(answer: str) -> Verdict | None:
        return Verdict.block("mentions an internal code (X-)") if "X-" in answer else None

    shown: list[list[Any]] = []

    def play(request: ModelRequest) -> str:
        shown.append(list(request.messages))
        last = request.messages[-1]
        if isinstance(last, UserMessage) and last.content.startswith("Your answer was blocked"):
            return "Your order ships tomorrow."
        return "Your order X-9 ships tomorrow."

    agent = Agent("shop", model=FunctionModel(play), guards=[no_internal_codes])
    result = await agent.run("When does my order ship?")

    feedback = (
        "Your answer was blocked by guard no_internal_codes: mentions an internal code (X-). "
        "Answer again without that."
    )
    assert shown[1] == [
        UserMessage("When does my order ship?"),
        AssistantMessage("Your order X-9 ships tomorrow."),
        UserMessage(feedback),
    ]
    assert (result.status, result.output, len(result.steps)) == (
        "ok",
        "Your order ships tomorrow.",
        2,
    )
    assert _actions(result) == [
        ("no_internal_codes", "final_output", "block", "reask"),
        ("no_internal_codes", "final_output", "pass", "continue"),
    ]


async def test_reask_at_model_output_round_trip(script: Script) -> None:
    @guard("model_output", on_fail="reask")
    def no_shouting(turn: AssistantMessage) -> Verdict | None:
        return Verdict.block("all capitals") if turn.text.isupper() else None

    model = script("NO.", "No, sorry.")
    agent = Agent("shop", model=model, guards=[no_shouting])
    result = await agent.run("Can I pay later?")

    assert _seen(model)[1] == [
        UserMessage("Can I pay later?"),
        AssistantMessage("NO."),
        UserMessage(
            "Your previous answer was blocked by guard no_shouting: all capitals. "
            "Answer again without that."
        ),
    ]
    assert (result.status, result.output) == ("ok", "No, sorry.")


@pytest.mark.parametrize("retries", [0, 1, 2])
async def test_reask_is_bounded_by_output_retries(script: Script, retries: int) -> None:
    @guard("final_output", on_fail="reask")
    def never_happy(answer: str) -> Verdict:
        return Verdict.block("not good enough")

    model = script(*["Here it is."] * (retries + 1))
    agent = Agent("shop", model=model, guards=[never_happy], settings={"output_retries": retries})
    with pytest.raises(OutputInvalid) as info:
        await agent.run("Write it.")

    assert str(info.value) == (
        "agent 'shop': Your answer was blocked by guard never_happy: not good enough. Answer "
        f"again without that. (gave up after {retries} corrections, settings.output_retries)"
    )
    assert len(_seen(model)) == retries + 1
    assert info.value.result is not None
    assert info.value.result.status == "error"
    assert _actions(info.value.result) == [("never_happy", "final_output", "block", "reask")] * (
        retries + 1
    )


async def test_reask_at_tool_call_feeds_the_reason_back_like_skip(script: Script) -> None:
    @guard("tool_call", on_fail="reask")
    def small(call: ToolCallView) -> Verdict | None:
        return Verdict.block("over 20") if call.args["amount"] > 20 else None

    calls: list[tuple[str, float]] = []
    model = script(CALL, tool_call("refund", call_id="c2", order_id="A-1", amount=20), FINAL)
    agent = Agent("shop", model=model, tools=[_refund(calls)], guards=[small])
    result = await agent.run(PROMPT)

    assert calls == [("A-1", 20.0)]
    assert _seen(model)[1][-1] == ToolResultMessage(
        "c1", "refund", "blocked by guard small: over 20", is_error=True
    )
    assert result.status == "ok"


# ------------------------------------------------------------------------------------ skip


async def test_skip_at_tool_result_withholds_it_and_the_run_goes_on(script: Script) -> None:
    @guard("tool_result", on_fail="skip")
    def no_totals(result: ToolResultView) -> Verdict | None:
        return Verdict.block("contains a total") if "refunded" in result.content else None

    calls: list[tuple[str, float]] = []
    model = script(CALL, "Done.")
    agent = Agent("shop", model=model, tools=[_refund(calls)], guards=[no_totals])
    result = await agent.run(PROMPT)

    assert calls == [("A-1", 30.0)]
    assert _seen(model)[1][-1] == ToolResultMessage(
        "c1", "refund", "blocked by guard no_totals: contains a total", is_error=True
    )
    assert (result.status, result.output) == ("ok", "Done.")
    assert _actions(result) == [("no_totals", "tool_result", "block", "skip")]


# ------------------------------------------------------------------------- redact / rewrite


async def test_rewrites_at_every_point(script: Script) -> None:
    """A guard that returns a value (or `Verdict.rewrite`) replaces what it checked."""

    @guard("input")
    def polite(prompt: str) -> str:
        return prompt.replace("NOW", "please")

    @guard("model_output")
    def no_emoji(turn: AssistantMessage) -> Verdict | None:
        if "🙂" not in turn.text:
            return None
        return Verdict.rewrite(
            AssistantMessage(turn.text.replace(" 🙂", ""), turn.tool_calls), "removed emoji"
        )

    @guard("tool_call")
    def cap(call: ToolCallView) -> Verdict:
        return Verdict.rewrite({**call.args, "amount": min(call.args["amount"], 20)}, "capped")

    @guard("tool_result")
    def shorten(result: ToolResultView) -> str:
        return result.content.upper()

    @guard("final_output")
    def sign(answer: str) -> Verdict:
        return Verdict.rewrite(f"{answer} -- Shop", "signed")

    calls: list[tuple[str, float]] = []
    turn_1 = AssistantMessage("On it 🙂", CALL.tool_calls)
    model = script(turn_1, "Refunded 20.")
    agent = Agent(
        "shop",
        model=model,
        tools=[_refund(calls)],
        guards=[polite, no_emoji, cap, shorten, sign],
    )
    result = await agent.run("Refund A-1 NOW")

    assert calls == [("A-1", 20.0)]
    assert _seen(model)[1] == [
        UserMessage("Refund A-1 please"),
        AssistantMessage("On it", CALL.tool_calls),
        ToolResultMessage("c1", "refund", "REFUNDED 20.0 ON A-1"),
    ]
    assert result.output == "Refunded 20. -- Shop"
    assert [(v.guard, v.outcome, v.reason, v.action) for v in result.verdicts] == [
        ("polite", "rewrite", "polite rewrote the value", "rewrite"),
        ("no_emoji", "rewrite", "removed emoji", "rewrite"),
        ("cap", "rewrite", "capped", "rewrite"),
        ("shorten", "rewrite", "shorten rewrote the value", "rewrite"),
        ("no_emoji", "pass", "", "continue"),
        ("sign", "rewrite", "signed", "rewrite"),
    ]


async def test_rewritten_tool_arguments_are_validated_again(script: Script) -> None:
    @guard("tool_call")
    def bad(call: ToolCallView) -> dict[str, Any]:
        return {**call.args, "amount": "lots"}

    calls: list[tuple[str, float]] = []
    model = script(CALL, "ok")
    agent = Agent("shop", model=model, tools=[_refund(calls)], guards=[bad])
    result = await agent.run(PROMPT)
    assert calls == []
    assert [c.error for c in result.tool_calls] == ["invalid_arguments"]


@pytest.mark.parametrize("mode", ["redact", "rewrite"])
async def test_redact_without_a_value_falls_back_to_the_point_default(
    script: Script, mode: Any
) -> None:
    """A block from a guard set to redact/rewrite has nothing to rewrite with: skip the tool."""

    @guard("tool_call", on_fail=mode)
    def no(call: ToolCallView) -> bool:
        return False

    calls: list[tuple[str, float]] = []
    agent = Agent("shop", model=script(CALL, "ok"), tools=[_refund(calls)], guards=[no])
    result = await agent.run(PROMPT)
    assert (calls, result.status) == ([], "ok")
    assert _actions(result) == [("no", "tool_call", "block", "skip")]


# ------------------------------------------------------------------------------------ warn


async def test_warn_records_and_carries_on(script: Script) -> None:
    @guard("tool_call", on_fail="warn")
    def big(call: ToolCallView) -> Verdict | None:
        return Verdict.block("over 20") if call.args["amount"] > 20 else None

    @guard("final_output")
    def note(answer: str) -> Verdict:
        return Verdict.warn("mentions money")

    calls: list[tuple[str, float]] = []
    agent = Agent("shop", model=script(CALL, FINAL), tools=[_refund(calls)], guards=[big, note])
    result = await agent.run(PROMPT)

    assert (calls, result.status, result.output) == ([("A-1", 30.0)], "ok", FINAL)
    assert [(v.guard, v.outcome, v.reason, v.action) for v in result.verdicts] == [
        ("big", "block", "over 20", "warn"),
        ("note", "warn", "mentions money", "continue"),
    ]


# ------------------------------------------------------------- order, async, guard errors


async def test_guards_run_in_declared_order_and_the_first_block_wins(script: Script) -> None:
    ran: list[str] = []

    def make(name: str, verdict: Verdict | None) -> Any:
        def check(call: ToolCallView) -> Verdict | None:
            ran.append(name)
            return verdict

        return guard("tool_call", name=name)(check)

    guards = [
        make("first", None),
        make("second", Verdict.warn("hm")),
        make("third", Verdict.block("no")),
        make("fourth", None),
    ]
    calls: list[tuple[str, float]] = []
    agent = Agent("shop", model=script(CALL, "ok"), tools=[_refund(calls)], guards=guards)
    result = await agent.run(PROMPT)

    assert ran == ["first", "second", "third"]
    assert calls == []
    assert _actions(result) == [
        ("first", "tool_call", "pass", "continue"),
        ("second", "tool_call", "warn", "continue"),
        ("third", "tool_call", "block", "skip"),
    ]


async def test_a_rewrite_is_what_the_next_guard_sees(script: Script) -> None:
    @guard("input")
    def lower(prompt: str) -> str:
        return prompt.lower()

    @guard("input")
    def no_refund(prompt: str) -> bool:
        return "refund" not in prompt

    model = script()
    agent = Agent("shop", model=model, guards=[lower, no_refund])
    result = await agent.run("REFUND me")
    assert result.status == "blocked"
    assert _actions(result) == [
        ("lower", "input", "rewrite", "rewrite"),
        ("no_refund", "input", "block", "refuse"),
    ]


async def test_async_guards_are_awaited(script: Script) -> None:
    @guard("tool_call")
    async def remote_policy(call: ToolCallView) -> Verdict:
        await asyncio.sleep(0)
        return Verdict.block("the policy service said no")

    calls: list[tuple[str, float]] = []
    model = script(CALL, "ok")
    agent = Agent("shop", model=model, tools=[_refund(calls)], guards=[remote_policy])
    result = await agent.run(PROMPT)

    assert (calls, result.status) == ([], "ok")
    assert _seen(model)[1][-1] == ToolResultMessage(
        "c1", "refund", "blocked by guard remote_policy: the policy service said no", True
    )


@pytest.mark.parametrize(
    ("point", "action"),
    [
        ("input", "refuse"),
        ("model_output", "refuse"),
        ("tool_call", "skip"),
        ("tool_result", "skip"),
        ("final_output", "refuse"),
    ],
)
async def test_a_guard_that_raises_blocks_with_outcome_error(
    script: Script, point: GuardPoint, action: str
) -> None:
    def broken(subject: Any) -> None:
        raise RuntimeError("policy file missing")

    calls: list[tuple[str, float]] = []
    agent = Agent(
        "shop",
        model=script(CALL, FINAL),
        tools=[_refund(calls)],
        guards=[guard(point, name="broken")(broken)],
    )
    with pytest.warns(GuardErrorWarning, match="guard 'broken' raised RuntimeError"):
        result = await agent.run(PROMPT)

    reason = "guard error: RuntimeError: policy file missing"
    first = result.verdicts[0]
    assert (first.guard, first.point, first.outcome, first.reason, first.action) == (
        "broken",
        point,
        "error",
        reason,
        action,
    )
    if action == "refuse":
        assert (result.status, result.output) == (
            "blocked",
            f"I can't do that: blocked by guard broken: {reason}.",
        )
    else:  # the tool point stopped the action; the model read why
        assert result.tool_calls[0].result == f"blocked by guard broken: {reason}"
        assert result.tool_calls[0].error == "blocked"
    if point in ("input", "model_output", "tool_call"):
        assert calls == []
    assert [(e.guard, e.point, e.error_type, e.message) for e in result.guard_errors] == [
        ("broken", point, "RuntimeError", "policy file missing")
    ]


@pytest.mark.parametrize("mode", ["skip", "reask", "warn"])
async def test_a_blocked_input_never_reaches_the_model_whatever_on_fail(
    script: Script, mode: Any
) -> None:
    """A prompt cannot be skipped or re-asked: any block that stops it refuses the run."""

    @guard("input", on_fail=mode)
    def no_passwords(prompt: str) -> bool:
        return "password" not in prompt

    model = script("The password is hunter2.")
    agent = Agent("shop", model=model, guards=[no_passwords])
    result = await agent.run("What is the admin password?")
    if mode == "warn":
        assert (result.status, result.output) == ("ok", "The password is hunter2.")
        return
    assert _seen(model) == []
    assert (result.status, result.output) == (
        "blocked",
        "I can't do that: blocked by guard no_passwords: no_passwords returned False.",
    )


async def test_a_reasked_turn_drops_its_unanswered_tool_calls(script: Script) -> None:
    """Providers reject a tool call without a result: the re-asked turn keeps only its text."""

    @guard("model_output", on_fail="reask")
    def no_refund_calls(turn: AssistantMessage) -> Verdict | None:
        names = [c.name for c in turn.tool_calls]
        return Verdict.block("refunds need a ticket") if "refund" in names else None

    calls: list[tuple[str, float]] = []
    turn_1 = AssistantMessage("Refunding.", CALL.tool_calls)
    model = script(turn_1, "I need a ticket number first.")
    agent = Agent("shop", model=model, tools=[_refund(calls)], guards=[no_refund_calls])
    result = await agent.run(PROMPT)

    assert calls == []
    assert _seen(model)[1] == [
        UserMessage(PROMPT),
        AssistantMessage("Refunding."),
        UserMessage(
            "Your previous answer was blocked by guard no_refund_calls: refunds need a ticket. "
            "Answer again without that."
        ),
    ]
    assert (result.status, result.output) == ("ok", "I need a ticket number first.")


def test_verdict_constructors() -> None:
    assert [
        Verdict.allow(),
        Verdict.warn("w"),
        Verdict.block("b"),
        Verdict.rewrite(1, "r"),
        Verdict.rewrite([ToolCall("c", "t", "{}")]),
    ] == [
        Verdict("pass", ""),
        Verdict("warn", "w"),
        Verdict("block", "b"),
        Verdict("rewrite", "r", 1),
        Verdict("rewrite", "", [ToolCall("c", "t", "{}")]),
    ]


@pytest.mark.parametrize("mode", ["refuse", "raise"])
async def test_a_call_that_ends_the_run_is_recorded_as_blocked(script: Script, mode: Any) -> None:
    @guard("tool_call", on_fail=mode)
    def no_refunds(call: ToolCallView) -> Verdict | None:
        return Verdict.block("refunds are closed") if call.name == "refund" else None

    calls: list[tuple[str, float]] = []
    agent = Agent("shop", model=script(CALL, "done"), tools=[_refund(calls)], guards=[no_refunds])
    if mode == "raise":
        with pytest.raises(GuardBlocked) as info:
            await agent.run(PROMPT)
        assert info.value.result is not None
        result = info.value.result
    else:
        result = await agent.run(PROMPT)
    assert calls == []
    assert result.status == "blocked"
    assert [(c.name, c.error, c.result) for c in result.tool_calls] == [
        ("refund", "blocked", "blocked by guard no_refunds: refunds are closed")
    ]
