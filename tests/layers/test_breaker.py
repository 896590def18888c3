"""Circuit breaker: opens after N failures over HTTP, half-open probe, shared state, events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest

from agentnb import events as ev
from agentnb.config import ResilienceSettings
from agentnb.errors import CircuitOpen, ModelAuthError, ProviderServerError
from agentnb.layers import (
    BreakerLayer,
    ManualClock,
    all_breakers,
    breaker_for,
    breakers_of,
    wrap,
)
from agentnb.models import FunctionModel
from agentnb.models.base import ModelRequest
from agentnb.models.openai import OpenAIModel
from tests.layers.conftest import HI, collect_events, summary
from tests.wire_server import Reply, WireServer

Flaky = Callable[..., FunctionModel]


def server_error() -> ProviderServerError:
    return ProviderServerError("down", provider="function", model="flaky", status=503)


async def test_opens_after_five_consecutive_failures_over_http(
    openai_model: OpenAIModel, wire: WireServer
) -> None:
    wire.script(*[Reply(status=500)] * 5)
    clock = ManualClock()
    layered = wrap(openai_model, ResilienceSettings(retries=0), clock=clock)  # default breaker

    with collect_events() as events:
        for _ in range(5):
            with pytest.raises(ProviderServerError):
                await layered.request(HI)
        with pytest.raises(CircuitOpen) as raised:
            await layered.request(HI)

    assert len(wire.requests) == 5  # the sixth request never left the process
    assert str(raised.value) == (
        "openai:gpt-test: circuit breaker open: it opened after 5 consecutive failures (last: "
        "ProviderServerError: openai:gpt-test (HTTP 500): the provider failed on its side. "
        "Retry later. The provider said: scripted error 500) and lets a probe request through "
        "in 30.0s. Add a fallback model (settings.resilience.fallback) to answer meanwhile."
    )
    assert raised.value.retry_after == 30.0
    assert summary(events) == [("breaker", "openai:gpt-test", "open", 0)]
    assert events[0].message.startswith("open: 5 consecutive failures (last: ProviderServerError")
    assert events[0].message.endswith("half-opens in 30s")
    breaker = breakers_of(layered)["openai:gpt-test"]
    assert (breaker.state, breaker.failures) == ("open", 5)
    assert repr(breaker) == "<Breaker openai:gpt-test open, 5 consecutive failures>"


async def test_half_open_probe_closes_it_over_http(
    openai_model: OpenAIModel, wire: WireServer
) -> None:
    wire.script(Reply(status=503), Reply(status=503), Reply(text="recovered"))
    clock = ManualClock()
    settings = ResilienceSettings(retries=0, breaker_threshold=2, breaker_reset=10)
    layered = wrap(openai_model, settings, clock=clock)
    for _ in range(2):
        with pytest.raises(ProviderServerError):
            await layered.request(HI)

    clock.advance(9.9)
    with pytest.raises(CircuitOpen) as raised:
        await layered.request(HI)
    assert raised.value.retry_after == pytest.approx(0.1)
    clock.advance(0.1)
    with collect_events() as events:
        response = await layered.request(HI)

    assert response.message.text == "recovered"
    assert summary(events) == [
        ("breaker", "openai:gpt-test", "half_open", 0),
        ("breaker", "openai:gpt-test", "closed", 0),
    ]
    assert [e.message for e in events] == [
        "half_open: reset timeout elapsed; letting one probe request through",
        "closed: the probe request succeeded",
    ]
    assert breaker_for(openai_model).state == "closed"
    assert breaker_for(openai_model).failures == 0


async def test_a_failed_probe_opens_it_again(flaky: Flaky) -> None:
    clock = ManualClock()
    model = flaky(server_error(), server_error())
    layered = BreakerLayer(model, threshold=1, reset_timeout=10, clock=clock)
    with pytest.raises(ProviderServerError):
        await layered.request(HI)
    clock.advance(10)

    with collect_events() as events, pytest.raises(ProviderServerError):
        await layered.request(HI)  # the probe

    assert summary(events) == [
        ("breaker", "function:flaky", "half_open", 0),
        ("breaker", "function:flaky", "open", 0),
    ]
    assert events[1].message.startswith("open: the probe failed (last: ProviderServerError")
    assert layered.breaker.retry_at == 20.0
    with pytest.raises(CircuitOpen):
        await layered.request(HI)


async def test_half_open_lets_one_probe_through_at_a_time() -> None:
    release = asyncio.Event()

    async def hanging(request: ModelRequest) -> str:
        await release.wait()
        return "probe answered"

    clock = ManualClock()
    layered = BreakerLayer(FunctionModel(hanging, name="flaky"), threshold=1, clock=clock)
    layered.breaker.failed(server_error(), probe=False, threshold=1, reset_timeout=30, clock=clock)
    clock.advance(30)

    probe = asyncio.ensure_future(layered.request(HI))
    await asyncio.sleep(0)
    with pytest.raises(CircuitOpen, match="a probe request is testing whether it recovered"):
        await layered.request(HI)
    release.set()

    assert (await probe).message.text == "probe answered"
    assert layered.breaker.state == "closed"


async def test_a_cancelled_probe_lets_the_next_request_probe() -> None:
    async def hanging(request: ModelRequest) -> str:
        await asyncio.sleep(10)
        return "never"

    clock = ManualClock()
    layered = BreakerLayer(FunctionModel(hanging, name="flaky"), threshold=1, clock=clock)
    layered.breaker.failed(server_error(), probe=False, threshold=1, reset_timeout=30, clock=clock)
    clock.advance(30)
    probe = asyncio.ensure_future(layered.request(HI))
    await asyncio.sleep(0)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe

    assert (layered.breaker.state, layered.breaker.probing) == ("half_open", False)


async def test_only_consecutive_transient_failures_count(flaky: Flaky) -> None:
    rejected = ModelAuthError("bad key", provider="function", model="flaky", status=401)
    model = flaky(server_error(), server_error(), "fine", server_error(), rejected, server_error())
    layered = BreakerLayer(model, threshold=3, clock=ManualClock())

    for _ in range(6):
        with contextlib.suppress(ProviderServerError, ModelAuthError):
            await layered.request(HI)

    # a success resets the count; a rejected key is an answer, so the provider is up
    assert (layered.breaker.state, layered.breaker.failures) == ("closed", 1)


async def test_every_agent_shares_a_provider_models_breaker(flaky: Flaky) -> None:
    clock = ManualClock()
    settings = ResilienceSettings(retries=0, breaker_threshold=2)
    first = wrap(flaky(server_error(), server_error()), settings, clock=clock)
    second_model = flaky()
    second = wrap(second_model, settings, clock=clock)
    for _ in range(2):
        with pytest.raises(ProviderServerError):
            await first.request(HI)

    with pytest.raises(CircuitOpen):
        await second.request(HI)

    assert second_model.function.calls == 0  # type: ignore[attr-defined]
    assert breakers_of(first) == breakers_of(second) == all_breakers()


async def test_retries_stop_when_the_breaker_opens(
    openai_model: OpenAIModel, wire: WireServer
) -> None:
    wire.script(*[Reply(status=500)] * 5)
    settings = ResilienceSettings(retries=4, breaker_threshold=2)
    layered = wrap(openai_model, settings, clock=ManualClock())

    with pytest.raises(CircuitOpen):
        await layered.request(HI)

    assert len(wire.requests) == 2


async def test_a_stream_abandoned_by_its_consumer_tells_nothing(
    openai_model: OpenAIModel, wire: WireServer
) -> None:
    wire.script(Reply(text="one two three"))
    clock = ManualClock()
    layered = BreakerLayer(openai_model, threshold=1, clock=clock)
    layered.breaker.failed(server_error(), probe=False, threshold=1, reset_timeout=1, clock=clock)
    clock.advance(1)

    stream = layered.request_stream(HI)
    await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]

    assert (layered.breaker.state, layered.breaker.probing) == ("half_open", False)


async def test_a_failing_stream_counts(openai_model: OpenAIModel, wire: WireServer) -> None:
    wire.script(Reply(status=500))
    layered = BreakerLayer(openai_model, threshold=1, clock=ManualClock())

    with pytest.raises(ProviderServerError):
        async for _ in layered.request_stream(HI):
            pass

    assert layered.breaker.state == "open"


async def test_reset_closes_it_by_hand(flaky: Flaky) -> None:
    layered = BreakerLayer(flaky(server_error()), threshold=1, clock=ManualClock())
    with pytest.raises(ProviderServerError):
        await layered.request(HI)

    with collect_events() as events:
        layered.breaker.reset()

    assert layered.breaker.state == "closed"
    assert [e.message for e in events] == ["closed: reset by hand"]
    assert (await layered.request(HI)).message.text == "ok"


async def test_an_event_handler_may_use_the_breaker(flaky: Flaky) -> None:
    layered = BreakerLayer(flaky(server_error()), threshold=1, clock=ManualClock())
    seen: list[str] = []
    scope = ev.RunScope("run-1", "agent", 1, lambda event: seen.append(layered.breaker.state))
    token = ev.current_scope.set(scope)

    try:
        with pytest.raises(ProviderServerError):
            await layered.request(HI)
    finally:
        ev.current_scope.reset(token)

    assert seen == ["open"]  # read from inside the transition without deadlocking
