"""Rate limit: keep one agent's requests (and tokens) per minute under a budget.

Two token buckets, refilled continuously: `requests_per_minute` takes one per request;
`tokens_per_minute` takes an estimate of the prompt's tokens (4 characters each) before the
request and settles to the real input + output tokens after it. A request that would overdraw a
bucket waits until the bucket has refilled enough. Buckets may go into debt: each request
reserves its share at once, so concurrent requests queue in order instead of stampeding when the
bucket refills, and no lock is needed.

The limits are per agent (per wrapped model), not per provider account: give several agents on
one API key a share of the account's limit each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from agentnb.layers._base import Layer, close, emit
from agentnb.layers.clock import SYSTEM_CLOCK, Clock
from agentnb.models.base import Model, ModelRequest, ModelResponse, StreamItem
from agentnb.models.messages import AssistantMessage
from agentnb.models.usage import estimate_usage

__all__ = ["RateLimitLayer", "RateLimiter"]

_NO_REPLY = AssistantMessage()


class _Bucket:
    __slots__ = ("capacity", "level", "rate", "updated")

    def __init__(self, per_minute: int, now: float) -> None:
        self.capacity = float(per_minute)
        self.level = float(per_minute)  # a full minute's budget at first, as providers allow
        self.rate = per_minute / 60.0
        self.updated = now

    def take(self, amount: float, now: float) -> float:
        """Reserve `amount`; the seconds to wait until it is covered."""
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate) - amount
        self.updated = now
        return max(0.0, -self.level / self.rate)

    def give(self, amount: float) -> None:
        self.level = min(self.capacity, self.level + amount)


class RateLimiter:
    """The buckets of one agent's model; `acquire` before a request, `settle` after it."""

    __slots__ = ("clock", "requests", "requests_per_minute", "tokens", "tokens_per_minute")

    def __init__(
        self,
        *,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        now = clock.now()
        self.clock = clock
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.requests = _Bucket(requests_per_minute, now) if requests_per_minute else None
        self.tokens = _Bucket(tokens_per_minute, now) if tokens_per_minute else None

    async def acquire(self, request: ModelRequest, model: str) -> int:
        """Wait until `request` fits the budget; returns the tokens reserved for it."""
        now = self.clock.now()
        wait, why, reserved = 0.0, "", 0
        if self.requests is not None:
            wait = self.requests.take(1, now)
            why = f"requests_per_minute={self.requests_per_minute}"
        if self.tokens is not None:
            reserved = estimate_usage(request, _NO_REPLY).input_tokens
            token_wait = self.tokens.take(reserved, now)
            if token_wait > wait:
                wait, why = token_wait, f"tokens_per_minute={self.tokens_per_minute}"
        if wait > 0:
            emit("rate_limit", model, f"waiting {wait:.2f}s to stay under {why}")
            try:
                await self.clock.sleep(wait)
            except BaseException:  # cancelled while waiting: the request was never sent
                if self.requests is not None:
                    self.requests.give(1)
                self.settle(reserved, 0)
                raise
        return reserved

    def settle(self, reserved: int, used: int) -> None:
        """Correct the token reservation by what the request really used."""
        if self.tokens is not None:
            self.tokens.give(reserved - used)


class RateLimitLayer(Layer):
    """Wait for `limiter` before each request to the inner model."""

    __slots__ = ("limiter",)

    def __init__(self, inner: Model, *, limiter: RateLimiter) -> None:
        super().__init__(inner)
        self.limiter = limiter

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The inner model's response, sent once the budget allows (this may wait)."""
        reserved = await self.limiter.acquire(request, self.id)
        used = 0  # a failed request's tokens are unknown: give the estimate back
        try:
            response = await self.inner.request(request)
            used = response.usage.total_tokens
            return response
        finally:
            self.limiter.settle(reserved, used)

    async def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        """The inner model's stream, started once the budget allows (this may wait)."""
        reserved = await self.limiter.acquire(request, self.id)
        used = 0
        stream = self.inner.request_stream(request)
        try:
            async for item in stream:
                if isinstance(item, ModelResponse):
                    used = item.usage.total_tokens
                yield item
        finally:
            self.limiter.settle(reserved, used)
            await close(stream)
