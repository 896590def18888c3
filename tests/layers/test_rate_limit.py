"""Rate limit: requests and tokens per minute, on a manual clock."""

from __future__ import annotations

import asyncio

import pytest

from agentnb.layers import ManualClock, RateLimiter, RateLimitLayer
from agentnb.models import FunctionModel
from agentnb.models.base import ModelRequest, ModelResponse
from agentnb.models.messages import AssistantMessage, Usage, UserMessage
from tests.layers.conftest import HI, collect_events, summary


def answer(tokens: int) -> FunctionModel:
    """Answers every request with a response that used `tokens` tokens."""
    return FunctionModel(
        lambda request: ModelResponse(AssistantMessage("ok"), Usage(tokens, 0, 1), "m"), name="m"
    )


async def test_requests_beyond_the_minute_budget_wait() -> None:
    clock = ManualClock()
    layered = RateLimitLayer(answer(1), limiter=RateLimiter(requests_per_minute=2, clock=clock))

    with collect_events() as events:
        for _ in range(4):
            await layered.request(HI)

    assert clock.sleeps == [30.0, 30.0]  # two at once, then one per 30 s
    assert summary(events) == [("rate_limit", "function:m", None, 0)] * 2
    assert events[0].message == "waiting 30.00s to stay under requests_per_minute=2"


async def test_tokens_are_settled_by_what_a_request_used() -> None:
    clock = ManualClock()
    limiter = RateLimiter(tokens_per_minute=600, clock=clock)
    layered = RateLimitLayer(answer(900), limiter=limiter)

    await layered.request(HI)  # estimated at 1 token, used 900: 300 in debt
    await layered.request(HI)

    assert clock.sleeps == [pytest.approx(30.1)]  # 301 tokens at 10 tokens per second


async def test_a_prompt_is_estimated_before_it_is_sent() -> None:
    clock = ManualClock()
    limiter = RateLimiter(tokens_per_minute=60, clock=clock)
    long_prompt = ModelRequest("", [UserMessage("x" * 400)])  # about 100 tokens

    await limiter.acquire(long_prompt, "m")

    assert clock.sleeps == [pytest.approx(40.0)]  # 40 tokens short, at 1 token per second


async def test_a_request_cancelled_while_waiting_gives_its_share_back() -> None:
    limiter = RateLimiter(requests_per_minute=1)  # the real clock: the wait is a minute
    await limiter.acquire(HI, "m")
    waiting = asyncio.ensure_future(limiter.acquire(HI, "m"))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting

    assert limiter.requests is not None
    assert limiter.requests.level == pytest.approx(0.0, abs=0.01)


async def test_a_stream_settles_its_tokens() -> None:
    clock = ManualClock()
    limiter = RateLimiter(tokens_per_minute=600, clock=clock)
    layered = RateLimitLayer(answer(900), limiter=limiter)

    _ = [item async for item in layered.request_stream(HI)]

    assert limiter.tokens is not None
    assert limiter.tokens.level == pytest.approx(-300)
