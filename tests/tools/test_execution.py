"""Tools running inside a run: sync and async, results fed back, per-tool timeouts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from pydantic import BaseModel

from agentnb import Agent, FunctionModel, tool, tool_call
from agentnb.agents import ToolCallRecord
from agentnb.models import AssistantMessage, ToolCall, ToolResultMessage, UserMessage

Script = Callable[..., FunctionModel]


class Quote(BaseModel):
    currency: str
    rate: float


async def test_sync_and_async_tools_results_are_serialised_for_the_model(script: Script) -> None:
    @tool
    def rate(currency: str) -> Quote:
        """Today's rate."""
        return Quote(currency=currency, rate=0.79)

    @tool
    async def stock(sku: str) -> dict[str, int]:
        """Units in stock."""
        await asyncio.sleep(0)
        return {sku: 3}

    model = script(
        AssistantMessage(
            "",
            [
                ToolCall("c1", "rate", '{"currency": "GBP"}'),
                ToolCall("c2", "stock", '{"sku": "A-1"}'),
            ],
        ),
        "done",
    )
    agent = Agent("shop", model=model, tools=[rate, stock])
    result = await agent.run("rate and stock?")

    assert model.function.seen[1][2:] == [  # type: ignore[attr-defined]
        ToolResultMessage("c1", "rate", '{"currency":"GBP","rate":0.79}'),
        ToolResultMessage("c2", "stock", '{"A-1":3}'),
    ]
    assert [(c.name, c.result, c.error) for c in result.tool_calls] == [
        ("rate", '{"currency":"GBP","rate":0.79}', None),
        ("stock", '{"A-1":3}', None),
    ]
    assert result.output == "done"


async def test_async_tool_timeout_is_fed_back_and_recorded(script: Script) -> None:
    stopped: list[str] = []

    @tool(timeout=0.05)
    async def slow(q: str) -> str:
        """Think for a long time."""
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            stopped.append("cancelled")  # the timeout stopped the coroutine, it did not finish
            raise
        return "never"

    model = script(tool_call("slow", q="x"), "gave up")
    agent = Agent("patient", model=model, tools=[slow])
    result = await agent.run("go")

    assert stopped == ["cancelled"]
    assert result.status == "ok"
    assert result.output == "gave up"
    assert model.function.seen[1] == [  # type: ignore[attr-defined]
        UserMessage("go"),
        tool_call("slow", q="x"),
        ToolResultMessage("call_slow", "slow", "Tool 'slow' timed out after 0.05 s.", True),
    ]
    [record] = result.tool_calls
    assert record == ToolCallRecord(
        1,
        "call_slow",
        "slow",
        '{"q": "x"}',
        "Tool 'slow' timed out after 0.05 s.",
        "timeout",
        record.duration,
        record.start,
    )
    assert record.duration >= 0.05  # it waited for the limit


async def test_sync_tool_timeout_is_fed_back_and_recorded(script: Script) -> None:
    release = threading.Event()

    @tool(timeout=0.05)
    def blocking(q: str) -> str:
        """Block the thread."""
        release.wait(60)  # until the run is over: a run waiting for the thread would hang
        return "late"

    agent = Agent(
        "patient", model=script(tool_call("blocking", q="x"), "gave up"), tools=[blocking]
    )
    try:
        result = await agent.run("go")
    finally:
        release.set()

    assert result.output == "gave up"  # the run finished while the function still blocked
    assert [(c.name, c.result, c.error) for c in result.tool_calls] == [
        ("blocking", "Tool 'blocking' timed out after 0.05 s.", "timeout")
    ]
    assert result.messages[2] == ToolResultMessage(
        "call_blocking", "blocking", "Tool 'blocking' timed out after 0.05 s.", True
    )


async def test_fast_tool_with_timeout_succeeds(script: Script) -> None:
    @tool(timeout=1)
    def quick(q: str) -> str:
        """Answer at once."""
        return q.upper()

    agent = Agent("a", model=script(tool_call("quick", q="hi"), "ok"), tools=[quick])
    result = await agent.run("go")
    assert [(c.result, c.error) for c in result.tool_calls] == [("HI", None)]
