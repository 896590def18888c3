"""The run loop, driven by a `FunctionModel`: tool errors fed back, retries, limits, results."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from agentnb import (
    Agent,
    FunctionModel,
    MaxStepsExceeded,
    RunContext,
    RunError,
    ToolFailed,
    tool,
    tool_call,
)
from agentnb.agents import RunResult, StepRecord, ToolCallRecord
from agentnb.errors import MalformedResponse
from agentnb.models import (
    AssistantMessage,
    ModelRequest,
    ModelResponse,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
    set_price,
)
from agentnb.models.usage import estimate_usage

Script = Callable[..., FunctionModel]


class _AnyDuration(float):
    """Equal to any plausible duration or offset (seconds) of a fast step."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, float) and 0 <= other < 1

    __hash__ = float.__hash__


ANY_DURATION = _AnyDuration(0)


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def _records(result: RunResult) -> list[tuple[int, str, str, str, str | None]]:
    return [(c.step, c.name, c.arguments, c.result, c.error) for c in result.tool_calls]


async def test_invalid_arguments_round_trip() -> None:
    """The model sends a string for an int, reads the validation error and corrects itself."""

    def play(request: ModelRequest) -> AssistantMessage | str:
        last = request.messages[-1]
        if isinstance(last, UserMessage):
            return tool_call("add", a="two", b=3)
        assert isinstance(last, ToolResultMessage)
        if last.is_error:
            return tool_call("add", call_id="call_add_2", a=2, b=3)
        return f"The sum is {last.content}."

    agent = Agent("calc", model=FunctionModel(play), tools=[add])
    result = await agent.run("What is two plus 3?")

    feedback = (
        "Invalid arguments for tool 'add': a: Input should be a valid integer, unable to parse "
        "string as an integer (got 'two'). Fix the arguments and call the tool again."
    )
    assert result.messages == [
        UserMessage("What is two plus 3?"),
        AssistantMessage("", [ToolCall("call_add", "add", '{"a": "two", "b": 3}')]),
        ToolResultMessage("call_add", "add", feedback, is_error=True),
        AssistantMessage("", [ToolCall("call_add_2", "add", '{"a": 2, "b": 3}')]),
        ToolResultMessage("call_add_2", "add", "5"),
        AssistantMessage("The sum is 5."),
    ]
    assert _records(result) == [
        (1, "add", '{"a": "two", "b": 3}', feedback, "invalid_arguments"),
        (2, "add", '{"a": 2, "b": 3}', "5", None),
    ]
    assert (result.status, result.output, len(result.steps)) == ("ok", "The sum is 5.", 3)


@pytest.mark.parametrize("retries", [0, 1, 2])
async def test_tool_retries_are_bounded(script: Script, retries: int) -> None:
    calls = [tool_call("add", call_id=f"c{i}", a="x", b=1) for i in range(retries + 1)]
    agent = Agent(
        "calc",
        model=script(*calls),
        tools=[add],
        settings={"tool_retries": retries},
    )
    with pytest.raises(ToolFailed) as info:
        await agent.run("add")

    feedback = (
        "Invalid arguments for tool 'add': a: Input should be a valid integer, unable to parse "
        "string as an integer (got 'x'). Fix the arguments and call the tool again."
    )
    assert str(info.value) == (
        f"tool 'add': failed {'once' if retries == 0 else f'{retries + 1} times'} in this run "
        f"(settings.tool_retries={retries}); "
        f"last error: {feedback}"
    )
    assert info.value.tool == "add"
    partial = info.value.result
    assert partial is not None
    assert partial is agent.last_result
    assert (partial.status, partial.output, partial.error_type, partial.error) == (
        "error",
        None,
        "ToolFailed",
        str(info.value),
    )
    assert [c.error for c in partial.tool_calls] == ["invalid_arguments"] * (retries + 1)
    assert len(partial.steps) == retries + 1


async def test_unknown_tool_is_fed_back(script: Script) -> None:
    @tool
    def mul(a: int, b: int) -> int:
        """Multiply."""
        return a * b

    model = script(tool_call("divide", a=1, b=2), tool_call("add", a=1, b=2), "3")
    result = await Agent("calc", model=model, tools=[add, mul]).run("1+2")

    assert model.function.seen[1][-1] == ToolResultMessage(  # type: ignore[attr-defined]
        "call_divide", "divide", "Unknown tool 'divide'. Available tools: add, mul.", True
    )
    assert _records(result) == [
        (
            1,
            "divide",
            '{"a": 1, "b": 2}',
            "Unknown tool 'divide'. Available tools: add, mul.",
            "unknown_tool",
        ),
        (2, "add", '{"a": 1, "b": 2}', "3", None),
    ]
    assert result.output == "3"


async def test_tool_exception_is_fed_back(script: Script) -> None:
    @tool
    def lookup(order_id: str) -> str:
        """Find an order."""
        raise KeyError(f"no order {order_id}")

    model = script(tool_call("lookup", order_id="7"), "Order 7 does not exist.")
    result = await Agent("shop", model=model, tools=[lookup]).run("where is order 7?")

    assert result.messages[2] == ToolResultMessage(
        "call_lookup", "lookup", "Tool 'lookup' raised KeyError: 'no order 7'", True
    )
    assert _records(result) == [
        (
            1,
            "lookup",
            '{"order_id": "7"}',
            "Tool 'lookup' raised KeyError: 'no order 7'",
            "exception",
        )
    ]
    assert (result.status, result.output) == ("ok", "Order 7 does not exist.")


async def test_async_tool_exception_is_fed_back(script: Script) -> None:
    @tool
    async def fetch(url: str) -> str:
        """Fetch a page."""
        await asyncio.sleep(0)
        raise ConnectionError("host unreachable")

    model = script(tool_call("fetch", url="http://x"), "offline")
    result = await Agent("web", model=model, tools=[fetch]).run("get x")
    assert _records(result) == [
        (
            1,
            "fetch",
            '{"url": "http://x"}',
            "Tool 'fetch' raised ConnectionError: host unreachable",
            "exception",
        )
    ]


async def test_parallel_async_tools_run_concurrently(script: Script) -> None:
    # Each tool waits until both have started: run one after the other, the first would wait
    # for the second forever (until the hang guard).
    started: list[str] = []
    both = asyncio.Event()

    async def meet(name: str) -> None:
        started.append(name)
        if len(started) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 60)

    @tool
    async def slow_a(x: int) -> int:
        """Slow."""
        await meet("a")
        return x

    @tool
    async def slow_b(x: int) -> int:
        """Slower."""
        await meet("b")
        return x * 10

    turn = AssistantMessage(
        "", [ToolCall("c1", "slow_a", '{"x": 1}'), ToolCall("c2", "slow_b", '{"x": 2}')]
    )
    agent = Agent("par", model=script(turn, "11"), tools=[slow_a, slow_b])
    result = await agent.run("both")

    assert started == ["a", "b"]
    assert result.messages[2:4] == [
        ToolResultMessage("c1", "slow_a", "1"),
        ToolResultMessage("c2", "slow_b", "20"),
    ]
    assert _records(result) == [
        (1, "slow_a", '{"x": 1}', "1", None),
        (1, "slow_b", '{"x": 2}', "20", None),
    ]


@dataclass
class Shop:
    currency: str
    orders: dict[str, str]


async def test_run_context_brings_deps_to_the_tool(script: Script) -> None:
    seen: list[RunContext[Shop]] = []

    @tool
    def status(ctx: RunContext[Shop], order_id: str) -> str:
        """Order status."""
        seen.append(ctx)
        return ctx.deps.orders[order_id]

    shop = Shop("EUR", {"1042": "shipped"})
    agent = Agent("shop", model=script(tool_call("status", order_id="1042"), "ok"), tools=[status])
    result = await agent.run("order 1042?", deps=shop)

    assert [c.result for c in result.tool_calls] == ["shipped"]
    assert seen == [RunContext(deps=shop, run_id=result.run_id, agent="shop", step=1, retry=0)]
    assert seen[0].deps is shop


async def test_run_context_counts_earlier_failures(script: Script) -> None:
    retries: list[int] = []

    @tool
    def flaky(ctx: RunContext[None], n: int) -> str:
        """Fails twice."""
        retries.append(ctx.retry)
        if ctx.retry < 2:
            raise RuntimeError("try again")
        return "ok"

    calls = [tool_call("flaky", call_id=f"c{i}", n=i) for i in range(3)]
    result = await Agent("f", model=script(*calls, "done"), tools=[flaky]).run("go")
    assert retries == [0, 1, 2]
    assert [c.error for c in result.tool_calls] == ["exception", "exception", None]


async def test_max_steps_stops_a_tool_call_loop(script: Script) -> None:
    calls = [tool_call("add", call_id=f"c{i}", a=i, b=1) for i in range(3)]
    agent = Agent("loopy", model=script(*calls), tools=[add], settings={"max_steps": 3})
    with pytest.raises(MaxStepsExceeded) as info:
        await agent.run("count forever")
    assert str(info.value) == (
        "agent 'loopy' used all 3 steps (settings.max_steps) without a final answer; raise "
        "max_steps or check for a tool-call loop in the trace"
    )
    partial = info.value.result
    assert partial is not None
    assert (partial.status, partial.error_type, len(partial.steps)) == (
        "error",
        "MaxStepsExceeded",
        3,
    )
    assert [c.result for c in partial.tool_calls] == ["1", "2", "3"]


async def test_message_history_continues_a_conversation(script: Script) -> None:
    model = script("Hello Ann.", "Your name is Ann.", "Still Ann.")
    agent = Agent("chat", model=model)
    first = await agent.run("I am Ann.")
    second = await agent.run("What is my name?", message_history=first)

    assert second.messages == [
        UserMessage("I am Ann."),
        AssistantMessage("Hello Ann."),
        UserMessage("What is my name?"),
        AssistantMessage("Your name is Ann."),
    ]
    assert second.new_messages == second.messages[2:]
    assert model.function.seen[1] == second.messages[:3]  # type: ignore[attr-defined]
    assert first.messages == second.messages[:2]  # the first result is left alone

    # a plain message list works as history too
    third = await agent.run("And again?", message_history=second.messages[:2])
    assert third.messages == [
        UserMessage("I am Ann."),
        AssistantMessage("Hello Ann."),
        UserMessage("And again?"),
        AssistantMessage("Still Ann."),
    ]
    assert third.new_message_index == 2


async def test_usage_steps_cost_and_trace_id(script: Script) -> None:
    set_price("function:scripted", input_per_million=1_000_000, output_per_million=2_000_000)
    replies = [
        ModelResponse(tool_call("add", a=2, b=3), Usage(10, 4, 1), "m-1", "tool_calls", "r1"),
        ModelResponse(AssistantMessage("5"), Usage(20, 1, 1), "m-1", "stop", "r2"),
    ]
    agent = Agent("calc", model=script(*replies), tools=[add], version="1.2.3")
    before = time.time()
    result = await agent.run("2+3")
    after = time.time()

    assert re.fullmatch(r"[0-9a-f]{32}", result.trace_id)
    assert result.trace_id == result.run_id
    assert result.usage == Usage(30, 5, 2)
    assert result.cost == pytest.approx(40.0)  # (10 + 20) * 1 + (4 + 1) * 2
    assert [(s.index, s.model, s.text, s.usage, s.cost, s.finish_reason) for s in result.steps] == [
        (1, "m-1", "", Usage(10, 4, 1), 18.0, "tool_calls"),
        (2, "m-1", "5", Usage(20, 1, 1), 22.0, "stop"),
    ]
    assert result.steps[0].tool_calls == [
        ToolCallRecord(
            1, "call_add", "add", '{"a": 2, "b": 3}', "5", None, ANY_DURATION, ANY_DURATION
        )
    ]
    assert (result.agent, result.version, result.model, result.prompt) == (
        "calc",
        "1.2.3",
        "function:scripted",
        "2+3",
    )
    assert (result.status, result.error, result.error_type) == ("ok", None, None)
    assert 0 <= result.duration <= after - before
    assert before <= result.started_at <= after
    assert agent.last_result is result


async def test_unknown_price_gives_no_cost(script: Script) -> None:
    result = await Agent("a", model=script("hi")).run("hello")
    assert result.cost is None
    assert [s.cost for s in result.steps] == [None]


async def test_estimated_usage_for_function_models(script: Script) -> None:
    agent = Agent("a", model=script("hi there"), instructions="Be brief.")
    result = await agent.run("hello")
    request = ModelRequest("Be brief.", [UserMessage("hello")])
    assert result.usage == estimate_usage(request, AssistantMessage("hi there")) == Usage(3, 2, 1)


async def test_model_error_records_an_error_result() -> None:
    agent = Agent("bad", model=FunctionModel(lambda request: 42, name="bad"))  # type: ignore[arg-type,return-value]
    with pytest.raises(MalformedResponse) as info:
        await agent.run("hi")
    assert str(info.value) == (
        "function:bad: the function returned int; return a str, an AssistantMessage "
        "(e.g. tool_call(...)) or a ModelResponse"
    )
    assert info.value.result is agent.last_result
    assert agent.last_result is not None
    assert (agent.last_result.status, agent.last_result.error_type) == (
        "error",
        "MalformedResponse",
    )


async def test_run_timeout_setting(script: Script) -> None:
    async def slow(request: ModelRequest) -> str:
        await asyncio.sleep(1)
        return "late"

    agent = Agent("slow", model=FunctionModel(slow), settings={"timeout": 0.05})
    with pytest.raises(RunError) as info:
        await agent.run("hi")
    assert str(info.value) == "agent 'slow' exceeded settings.timeout=0.05 s"
    assert info.value.result is not None
    assert info.value.result.status == "error"


async def test_cancelling_a_run_records_it_as_cancelled(script: Script) -> None:
    started = asyncio.Event()

    @tool
    async def wait(seconds: float) -> str:
        """Wait."""
        started.set()
        await asyncio.sleep(seconds)
        return "waited"

    agent = Agent("w", model=script(tool_call("wait", seconds=0.3), "done"), tools=[wait])
    task = asyncio.create_task(agent.run("wait please"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    result = agent.last_result
    assert result is not None
    assert (result.status, result.output, result.error_type) == (
        "cancelled",
        None,
        "CancelledError",
    )
    assert result.messages == [UserMessage("wait please"), tool_call("wait", seconds=0.3)]
    assert [s.index for s in result.steps] == [1]


def test_keyboard_interrupt_in_a_tool_ends_the_run_as_cancelled(script: Script) -> None:
    @tool
    def interrupt(q: str) -> str:
        """Raises like a kernel interrupt would."""
        raise KeyboardInterrupt

    agent = Agent("k", model=script(tool_call("interrupt", q="x"), "never"), tools=[interrupt])
    with pytest.raises(KeyboardInterrupt):
        agent.run_sync("go")
    result = agent.last_result
    assert result is not None
    assert (result.status, result.error_type, result.error) == (
        "cancelled",
        "KeyboardInterrupt",
        "KeyboardInterrupt",
    )

    # the run's loop is still usable afterwards
    agent2 = Agent("k2", model=FunctionModel(lambda r: "fine"))
    assert agent2.run_sync("again").output == "fine"


def test_steps_are_records() -> None:
    result = Agent("a", model=FunctionModel(lambda r: "x", name="f")).run_sync("hi")
    assert result.steps == [
        StepRecord(1, "f", "x", Usage(1, 1, 1), ANY_DURATION, None, "stop", start=ANY_DURATION)
    ]
