"""Retry layer: backoff with full jitter, Retry-After (for real, over HTTP), streams, give-ups."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from agentnb.config import ResilienceSettings
from agentnb.errors import (
    MalformedResponse,
    ModelAuthError,
    ModelError,
    ProviderServerError,
    RateLimited,
)
from agentnb.layers import ManualClock, RetryLayer, wrap
from agentnb.models import FunctionModel
from agentnb.models.base import ModelResponse, StreamItem, TextDelta
from agentnb.models.openai import OpenAIModel
from tests.layers.conftest import HI, collect_events, drain, summary
from tests.wire_server import Reply, WireServer

if TYPE_CHECKING:
    from tests.models.conftest import Ask

Flaky = Callable[..., FunctionModel]


def server_error(status: int = 503) -> ProviderServerError:
    return ProviderServerError("down", provider="function", model="flaky", status=status)


def rate_limited(after: float | None) -> RateLimited:
    return RateLimited("slow down", retry_after=after, provider="function", model="flaky")


async def test_retry_after_is_honoured_over_http(
    openai_model: OpenAIModel, wire: WireServer, ask: Ask
) -> None:
    wire.script(Reply(status=429, headers={"Retry-After": "0.3"}), Reply(text="finally"))
    layered = wrap(openai_model, ResilienceSettings())  # the defaults, the real clock
    started = time.perf_counter()

    with collect_events() as events:
        response = await ask(layered, HI)

    assert response.message.text == "finally"
    assert time.perf_counter() - started >= 0.3
    assert len(wire.requests) == 2
    assert summary(events) == [("retry", "openai:gpt-test", None, 1)]
    assert events[0].message.startswith("attempt 1 failed (RateLimited: openai:gpt-test (HTTP 429)")
    assert events[0].message.endswith("retrying in 0.30s (Retry-After)")


async def test_server_errors_back_off_exponentially(
    openai_model: OpenAIModel, wire: WireServer, ask: Ask
) -> None:
    wire.script(Reply(status=503), Reply(status=500), Reply(text="third time lucky"))
    clock = ManualClock()
    layered = RetryLayer(openai_model, retries=2, backoff=0.5, clock=clock, jitter=lambda: 1.0)

    response = await ask(layered, HI)

    assert response.message.text == "third time lucky"
    assert clock.sleeps == [0.5, 1.0]
    assert len(wire.requests) == 3


async def test_backoff_is_jittered_and_capped(flaky: Flaky) -> None:
    clock = ManualClock()
    model = flaky(*(server_error() for _ in range(5)))
    layered = RetryLayer(
        model, retries=5, backoff=1.0, max_backoff=3.0, clock=clock, jitter=lambda: 0.5
    )

    assert (await layered.request(HI)).message.text == "ok"
    assert clock.sleeps == [0.5, 1.0, 1.5, 1.5, 1.5]  # half of 1, 2, then of the 3 s cap


async def test_gives_up_after_the_retries_with_the_last_error(flaky: Flaky) -> None:
    clock = ManualClock()
    model = flaky(server_error(500), server_error(502), server_error(503))

    with pytest.raises(ProviderServerError) as raised:
        await RetryLayer(model, retries=2, clock=clock).request(HI)

    assert raised.value.status == 503
    assert raised.value.__notes__ == ["gave up after 3 attempts (settings.resilience.retries)"]
    assert model.function.calls == 3  # type: ignore[attr-defined]
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize(
    "error",
    [
        ModelAuthError("bad key", provider="function", model="flaky", status=401),
        ModelError("bad request", provider="function", model="flaky", status=400),
    ],
)
async def test_errors_that_would_repeat_are_not_retried(flaky: Flaky, error: ModelError) -> None:
    clock = ManualClock()
    model = flaky(error)

    with collect_events() as events, pytest.raises(ModelError) as raised:
        await RetryLayer(model, clock=clock).request(HI)

    assert raised.value is error
    assert (model.function.calls, clock.sleeps, events) == (1, [], [])  # type: ignore[attr-defined]


async def test_a_request_timeout_status_is_retried(flaky: Flaky) -> None:
    model = flaky(ModelError("408", provider="function", model="flaky", status=408))

    assert (await RetryLayer(model, clock=ManualClock()).request(HI)).message.text == "ok"


async def test_retry_after_wins_over_the_backoff(flaky: Flaky) -> None:
    clock = ManualClock()
    layered = RetryLayer(flaky(rate_limited(7.0)), backoff=0.1, clock=clock, jitter=lambda: 1.0)

    with collect_events() as events:
        await layered.request(HI)

    assert clock.sleeps == [7.0]
    assert events[0].message == (
        "attempt 1 failed (RateLimited: function:flaky: slow down); retrying in 7.00s (Retry-After)"
    )


async def test_a_retry_after_longer_than_max_backoff_is_raised_at_once(flaky: Flaky) -> None:
    clock = ManualClock()
    model = flaky(rate_limited(600.0))

    with pytest.raises(RateLimited) as raised:
        await RetryLayer(model, max_backoff=30, clock=clock).request(HI)

    assert raised.value.__notes__ == [
        "not retried: the provider asked to wait 600s, longer than "
        "settings.resilience.max_backoff=30s"
    ]
    assert clock.sleeps == []


async def test_a_stream_failing_before_its_first_piece_is_retried(
    openai_model: OpenAIModel, wire: WireServer
) -> None:
    wire.script(Reply(status=502), Reply(text="streamed answer"))
    layered = RetryLayer(openai_model, clock=ManualClock())

    items = [item async for item in layered.request_stream(HI)]

    assert [i.text for i in items if isinstance(i, TextDelta)] == ["streamed ", "answer"]
    assert isinstance(items[-1], ModelResponse)
    assert len(wire.requests) == 2


async def test_a_stream_cut_after_its_first_piece_is_not_retried(
    openai_model: OpenAIModel, wire: WireServer
) -> None:
    wire.script(Reply(text="one two three four five six", truncate=True), Reply(text="again"))
    layered = RetryLayer(openai_model, clock=ManualClock())
    seen: list[StreamItem] = []

    with pytest.raises(MalformedResponse):
        await drain(layered.request_stream(HI), seen)

    assert seen  # the consumer saw part of an answer: starting over would repeat it
    assert all(isinstance(item, TextDelta) for item in seen)
    assert len(wire.requests) == 1
