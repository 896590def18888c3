"""Timeout layer: in-process timing, per-piece limits on streams, and a slow server over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentnb import Agent, Settings, tool
from agentnb import events as ev
from agentnb.config import ResilienceSettings
from agentnb.errors import ModelError, ModelTimeout
from agentnb.layers import TimeoutLayer, wrap
from agentnb.layers._watchdog import _DOGS
from agentnb.models import FunctionModel
from agentnb.models.base import ModelRequest, ModelResponse, StreamItem, TextDelta
from agentnb.models.messages import AssistantMessage
from agentnb.models.openai import OpenAIModel
from tests.layers.conftest import HI, collect_events, drain, summary
from tests.wire_server import Call, Reply, WireServer

EXPIRED = (
    "function:slow: no answer within 0.05s (settings.resilience.request_timeout). Raise the "
    "limit, or stream the answer (a stream's limit applies to each piece)."
)


async def slow(request: ModelRequest) -> str:
    await asyncio.sleep(5)
    return "late"


class Trickle:
    """Streams `pieces`, each `gap` seconds after the previous one."""

    provider = "function"
    model_name = "slow"
    id = "function:slow"

    def __init__(self, pieces: list[str], gap: float, stall: float = 0.0) -> None:
        self.pieces, self.gap, self.stall = pieces, gap, stall

    async def request(self, request: ModelRequest) -> ModelResponse:
        raise NotImplementedError

    async def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        for piece in self.pieces:
            await asyncio.sleep(self.gap)
            yield TextDelta(piece)
        await asyncio.sleep(self.stall)
        yield ModelResponse(AssistantMessage("".join(self.pieces)), model="slow")


async def test_a_slow_request_times_out_with_an_event() -> None:
    layered = TimeoutLayer(FunctionModel(slow), seconds=0.05)

    with collect_events() as events, pytest.raises(ModelTimeout) as raised:
        await layered.request(HI)

    assert str(raised.value) == EXPIRED
    assert (raised.value.provider, raised.value.model) == ("function", "slow")
    assert summary(events) == [("timeout", "function:slow", None, 0)]
    assert events[0].message == EXPIRED.removeprefix("function:slow: ")


async def test_a_fast_request_passes_untouched() -> None:
    layered = TimeoutLayer(FunctionModel(lambda request: "quick", name="slow"), seconds=0.05)

    response = await layered.request(HI)

    assert response.message == AssistantMessage("quick")


async def test_a_timeout_raised_inside_the_model_is_not_reworded() -> None:
    def broken(request: ModelRequest) -> str:
        raise TimeoutError("the model's own")

    with pytest.raises(TimeoutError, match="the model's own"):
        await TimeoutLayer(FunctionModel(broken), seconds=5).request(HI)


async def test_a_stream_is_limited_per_piece_not_in_total() -> None:
    # Five pieces 30 ms apart take 150 ms in total, three times the 50 ms limit.
    layered = TimeoutLayer(Trickle(["a", "b", "c", "d", "e"], gap=0.03), seconds=0.05)

    items = [item async for item in layered.request_stream(HI)]

    assert [i.text for i in items if isinstance(i, TextDelta)] == ["a", "b", "c", "d", "e"]
    assert isinstance(items[-1], ModelResponse)


async def test_a_stalled_stream_times_out_after_its_pieces() -> None:
    layered = TimeoutLayer(Trickle(["a", "b"], gap=0.0, stall=5), seconds=0.05)
    seen: list[StreamItem] = []

    with pytest.raises(ModelTimeout, match=r"no answer within 0\.05s"):
        await drain(layered.request_stream(HI), seen)

    assert seen == [TextDelta("a"), TextDelta("b")]


async def test_a_slow_server_times_out_over_http(wire: WireServer) -> None:
    wire.script(Reply(text="warm"), Reply(text="too late", delay=5))
    model = OpenAIModel("gpt-test", base_url=f"{wire.url}/v1", api_key="test-key")
    layered = wrap(model, ResilienceSettings(request_timeout=0.2, retries=0))
    try:
        await model.request(HI)  # the first request also imports the SDK: not what is timed
        started = time.perf_counter()
        with pytest.raises(ModelTimeout) as raised:
            await layered.request(HI)
        elapsed = time.perf_counter() - started
    finally:
        await model.aclose()

    assert elapsed >= 0.2  # it waited for the limit
    assert str(raised.value).startswith("openai:gpt-test: no answer within 0.2s")
    assert len(wire.requests) == 2


async def test_a_cancellation_from_outside_is_not_a_timeout() -> None:
    layered = TimeoutLayer(FunctionModel(slow), seconds=5)
    task = asyncio.ensure_future(layered.request(HI))
    await asyncio.sleep(0.01)

    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancelled_from_outside_as_the_limit_expires_stays_cancelled() -> None:
    layered = TimeoutLayer(FunctionModel(slow), seconds=0.05)
    task = asyncio.ensure_future(layered.request(HI))
    await asyncio.sleep(0.01)
    watch = next(iter(_DOGS[asyncio.get_running_loop()].watches))

    watch.expired = True  # as if the watchdog had fired in the same loop iteration
    task.cancel()
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task


async def test_limits_of_several_lengths_share_the_loop_watchdog() -> None:
    async def quick(request: ModelRequest) -> str:
        await asyncio.sleep(0.1)
        return "in time"

    long = TimeoutLayer(FunctionModel(quick, name="quick"), seconds=5)  # arms the watchdog for 5 s
    short = TimeoutLayer(FunctionModel(slow), seconds=0.05)  # must re-arm it sooner

    results = await asyncio.gather(
        *(long.request(HI) for _ in range(20)),
        *(short.request(HI) for _ in range(20)),
        return_exceptions=True,
    )

    assert [r.message.text for r in results[:20]] == ["in time"] * 20  # type: ignore[union-attr]
    assert all(isinstance(r, ModelTimeout) for r in results[20:])
    assert not _DOGS[asyncio.get_running_loop()].watches


class Drip:
    """Streams a piece every `gap` seconds and never ends."""

    provider = "function"
    model_name = "slow"
    id = "function:slow"

    def __init__(self, gap: float) -> None:
        self.gap = gap

    async def request(self, request: ModelRequest) -> ModelResponse:
        raise NotImplementedError

    async def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        while True:
            await asyncio.sleep(self.gap)
            yield TextDelta("more ")


HANG_GUARD = 60.0  # seconds; only reached if the bound under test does not hold


async def test_a_stream_that_never_ends_is_cut_by_the_whole_stream_limit() -> None:
    # Every piece arrives well within the per-piece limit; only the whole-stream one can end it.
    layered = TimeoutLayer(Drip(gap=0.01), seconds=5, stream_seconds=0.2)
    seen: list[StreamItem] = []

    with collect_events() as events, pytest.raises(ModelTimeout) as raised:
        await asyncio.wait_for(drain(layered.request_stream(HI), seen), HANG_GUARD)

    assert str(raised.value) == (
        "function:slow: the stream did not finish within 0.2s "
        "(settings.resilience.stream_timeout); raise the limit for longer answers"
    )
    assert seen
    assert all(item == TextDelta("more ") for item in seen)
    assert summary(events) == [("timeout", "function:slow", None, 0)]


def test_the_whole_stream_limit_is_on_by_default() -> None:
    settings = ResilienceSettings()
    layered = wrap(OpenAIModel("gpt-test", api_key="k"), settings)
    while not isinstance(layered, TimeoutLayer):
        layered = layered.inner  # type: ignore[attr-defined]
    assert (settings.stream_timeout, layered.stream_seconds) == (600.0, 600.0)
    with pytest.raises(ValueError, match="stream_timeout"):
        ResilienceSettings(stream_timeout=0)


LIMIT = 1.0  # the whole-stream limit the agents below get; each piece comes 0.05 s apart
CUT = f"the stream did not finish within {LIMIT:g}s (settings.resilience.stream_timeout)"


def _streaming_agent(wire: WireServer, **resilience: Any) -> Agent:
    @tool
    def lookup(order: str) -> str:
        """Look an order up."""
        return f"order {order} shipped"

    model = OpenAIModel("gpt-test", base_url=f"{wire.url}/v1", api_key="test-key")
    settings = Settings(resilience={"backoff": 0.001, "stream_timeout": LIMIT, **resilience})
    return Agent("streamer", model=model, tools=[lookup], settings=settings, telemetry=False)


async def _stream(agent: Agent) -> tuple[list[ev.Event], BaseException | None]:
    seen: list[ev.Event] = []

    async def consume() -> None:
        async for event in agent.stream("where is order 7?"):
            seen.append(event)

    try:
        await asyncio.wait_for(consume(), HANG_GUARD)
    except ModelError as exc:
        return seen, exc
    finally:
        await agent.model.aclose()
    return seen, None


async def test_a_dripping_stream_nothing_was_shown_of_is_retried(wire: WireServer) -> None:
    """Tool-call pieces are not shown to the user: a stalled tool call can start over."""
    dripping = Reply(calls=[Call("lookup", {"order": "7"})], drip=0.05)
    wire.script(dripping, dripping, Reply(calls=[Call("lookup", {"order": "7"})]))

    events, error = await _stream(_streaming_agent(wire))

    assert error is None
    assert [e.message.split(";")[0] for e in events if isinstance(e, ev.LayerEvent)] == [
        CUT,
        f"attempt 1 failed (ModelTimeout: openai:gpt-test: {CUT}",
        CUT,
        f"attempt 2 failed (ModelTimeout: openai:gpt-test: {CUT}",
    ]
    assert isinstance(events[-1], ev.RunFinished)
    assert events[-1].result.output == "echo: where is order 7?"
    assert len(wire.requests) == 4  # three tries of the first turn, then the answer


async def test_a_truncated_stream_nothing_was_shown_of_is_retried(wire: WireServer) -> None:
    cut = Reply(calls=[Call("lookup", {"order": "7"})], truncate=True)
    wire.script(cut, cut, Reply(calls=[Call("lookup", {"order": "7"})]))

    events, error = await _stream(_streaming_agent(wire))

    assert error is None
    assert isinstance(events[-1], ev.RunFinished)
    assert events[-1].result.status == "ok"
    assert len(wire.requests) == 4  # like the same answer not streamed: 1 + 2 retries, then text


async def test_a_dripping_stream_already_shown_ends_the_run_at_its_limit(wire: WireServer) -> None:
    """Text pieces were shown: starting over would repeat them, so the run fails, bounded."""
    wire.script(Reply(text="one two three", drip=0.05))

    events, error = await _stream(_streaming_agent(wire))

    assert isinstance(error, ModelTimeout)
    assert CUT in str(error)
    assert [e.text for e in events if isinstance(e, ev.TextDelta)][:3] == ["one ", "two ", "three"]
    assert len(wire.requests) == 1
