"""Retry: try a failed request again after a backoff, when the failure may not happen again.

Only transient failures are retried (rate limits, 5xx, timeouts, lost connections, cut answers);
a rejected key or an unknown model fails the same way every time. The wait before retry `n`
(from 0) is "full jitter" — uniform in `[0, min(max_backoff, backoff * 2**n)]` — which spreads
the retries of many clients best. A `Retry-After` from the provider wins over the backoff; one
longer than `max_backoff` is not waited for: the error is raised at once, so that a fallback
model can answer instead of the run stalling.

A stream is retried only until its first piece was passed on: after that the consumer has seen
part of an answer, and starting over would repeat it.
"""

from __future__ import annotations

import random
import sys
from collections.abc import AsyncIterator, Callable

from agentnb.errors import ModelError, RateLimited
from agentnb.layers._base import Layer, close, emit, first_item, is_transient
from agentnb.layers.clock import SYSTEM_CLOCK, Clock
from agentnb.models.base import Model, ModelRequest, ModelResponse, StreamItem

__all__ = ["RetryLayer"]


class RetryLayer(Layer):
    """Retry transient failures of the inner model up to `retries` times.

    `clock` does the waiting and `jitter` draws the random fraction of each backoff (both
    replaceable in tests).
    """

    __slots__ = ("backoff", "clock", "jitter", "max_backoff", "retries")

    def __init__(
        self,
        inner: Model,
        *,
        retries: int = 2,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        clock: Clock = SYSTEM_CLOCK,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(inner)
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.clock = clock
        self.jitter = jitter

    def __repr__(self) -> str:
        return f"RetryLayer({self.inner!r}, retries={self.retries})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The inner model's response, retrying transient `ModelError`s after a backoff.

        Raises the last error when the retries run out or the failure is not transient.
        """
        attempt = 0
        while True:
            try:
                return await self.inner.request(request)
            except ModelError as exc:
                wait = self.wait_before_retry(exc, attempt=attempt)
                if wait is None:
                    raise
            attempt += 1
            await self.clock.sleep(wait)

    async def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        """The inner model's stream, retried as `request` is until its first piece is passed on."""
        attempt = 0
        while True:
            stream = self.inner.request_stream(request)
            try:
                try:
                    first = await first_item(stream)
                except ModelError as exc:
                    wait = self.wait_before_retry(exc, attempt=attempt)
                    if wait is None:
                        raise
                else:
                    if first is None:
                        return
                    yield first
                    async for item in stream:
                        yield item
                    return
            finally:
                await close(stream)
            attempt += 1
            await self.clock.sleep(wait)

    def wait_before_retry(self, error: ModelError, *, attempt: int) -> float | None:
        """Seconds to wait before retrying after failed attempt `attempt` (from 0); None: raise.

        Emits the `retry` event when it decides to retry.
        """
        if not is_transient(error):
            return None
        if attempt >= self.retries:
            if self.retries:
                _note(error, f"gave up after {attempt + 1} attempts (settings.resilience.retries)")
            return None
        asked = error.retry_after if isinstance(error, RateLimited) else None
        if asked is not None and asked > self.max_backoff:
            _note(
                error,
                f"not retried: the provider asked to wait {asked:g}s, longer than "
                f"settings.resilience.max_backoff={self.max_backoff:g}s",
            )
            return None
        if asked is not None:
            wait, why = asked, "Retry-After"
        else:
            wait = self.jitter() * min(self.max_backoff, self.backoff * 2.0**attempt)
            why = "backoff"
        emit(
            "retry",
            self.id,
            f"attempt {attempt + 1} failed ({type(error).__name__}: {error}); "
            f"retrying in {wait:.2f}s ({why})",
            attempt=attempt + 1,
        )
        return wait


def _note(error: BaseException, note: str) -> None:
    if sys.version_info >= (3, 11):  # notes show under the traceback; 3.10 has none
        error.add_note(note)
