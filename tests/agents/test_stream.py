"""`agent.stream(...)`: the run's typed events, in order."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agentnb import Agent, FunctionModel, ToolFailed, tool, tool_call
from agentnb import events as ev
from agentnb.models import AssistantMessage, ToolCall

Script = Callable[..., FunctionModel]


@tool
def convert(amount: float, currency: str = "EUR") -> dict[str, object]:
    """Convert money."""
    return {"amount": round(amount * 0.79, 2), "currency": currency}


async def test_event_sequence_of_a_tool_run(script: Script) -> None:
    agent = Agent(
        "fx",
        model=script(tool_call("convert", amount=10, currency="GBP"), "7.9 GBP"),
        tools=[convert],
        instructions="Convert money.",
    )
    events = [event async for event in agent.stream("10 EUR in GBP?")]

    assert [type(e).__name__ for e in events] == [
        "RunStarted",
        "ModelRequestStarted",
        "ModelResponded",
        "ToolCallStarted",
        "ToolCallFinished",
        "StepFinished",
        "ModelRequestStarted",
        "TextDelta",
        "ModelResponded",
        "StepFinished",
        "RunFinished",
    ]
    started, finished = events[0], events[-1]
    assert isinstance(started, ev.RunStarted)
    assert isinstance(finished, ev.RunFinished)
    result = finished.result
    assert result is agent.last_result
    assert (result.status, result.output) == ("ok", "7.9 GBP")
    assert {getattr(e, "run_id", None) for e in events} == {result.run_id}
    assert (
        started.agent,
        started.version,
        started.model,
        started.prompt,
        started.config_hash,
        started.instructions,
    ) == ("fx", "0.1.0", "function:scripted", "10 EUR in GBP?", agent.config_hash, "Convert money.")
    assert [(e.kind, e.step) for e in events[1:-1]] == [  # type: ignore[union-attr]
        ("model_request", 1),
        ("model_response", 1),
        ("tool_call_started", 1),
        ("tool_call_finished", 1),
        ("step_finished", 1),
        ("model_request", 2),
        ("text_delta", 2),
        ("model_response", 2),
        ("step_finished", 2),
    ]
    call = ToolCall("call_convert", "convert", '{"amount": 10, "currency": "GBP"}')
    tool_started, tool_finished = events[3], events[4]
    assert isinstance(tool_started, ev.ToolCallStarted)
    assert isinstance(tool_finished, ev.ToolCallFinished)
    assert tool_started.call == tool_finished.call == call
    assert (tool_finished.result, tool_finished.error, tool_finished.value) == (
        '{"amount":7.9,"currency":"GBP"}',
        None,
        {"amount": 7.9, "currency": "GBP"},
    )
    request = events[1]
    assert isinstance(request, ev.ModelRequestStarted)
    assert request.stream
    # each request holds the run's first `messages` messages: the prompt, then the tool round too
    requests = [e for e in events if isinstance(e, ev.ModelRequestStarted)]
    assert [e.messages for e in requests] == [1, 3]
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    delta = events[7]
    assert isinstance(delta, ev.TextDelta)
    assert delta.text == "7.9 GBP"
    times = [e.t for e in events]
    assert times == sorted(times)


async def test_step_finished_counts_tool_calls(script: Script) -> None:
    turn = AssistantMessage(
        "", [ToolCall("a", "convert", '{"amount": 1}'), ToolCall("b", "convert", '{"amount": 2}')]
    )
    agent = Agent("fx", model=script(turn, "done"), tools=[convert])
    steps = [e async for e in agent.stream("go") if isinstance(e, ev.StepFinished)]
    assert [(e.step, e.tool_calls) for e in steps] == [(1, 2), (2, 0)]


async def test_failed_run_yields_its_events_then_raises(script: Script) -> None:
    agent = Agent(
        "fx",
        model=script(tool_call("convert", amount="lots")),
        tools=[convert],
        settings={"tool_retries": 0},
    )
    kinds: list[str] = []

    async def consume() -> None:
        async for event in agent.stream("go"):
            kinds.append(event.kind)

    with pytest.raises(ToolFailed):
        await consume()
    assert kinds == [
        "run_started",
        "model_request",
        "model_response",
        "tool_call_started",
        "tool_call_finished",
        "run_finished",
    ]
    assert agent.last_result is not None
    assert agent.last_result.status == "error"


async def test_on_event_sees_every_run(script: Script) -> None:
    agent = Agent("fx", model=script("one", "two"))
    seen: list[str] = []
    unsubscribe = agent.on_event(lambda e: seen.append(e.kind))
    await agent.run("a")
    unsubscribe()
    await agent.run("b")
    assert seen == [
        "run_started",
        "model_request",
        "model_response",
        "step_finished",
        "run_finished",
    ]
