"""Timeout: a request may take at most `seconds`; a stream, at most `seconds` per piece.

A stream's limit applies to each wait for its next piece, so a long answer that keeps arriving
is not cut off, while one that stalls is. On expiry the layer raises `ModelTimeout`, which the
retry layer retries and the breaker counts.

    >>> import asyncio
    >>> from agentnb.errors import ModelTimeout
    >>> from agentnb.models import FunctionModel
    >>> async def slow(request):
    ...     await asyncio.sleep(1)
    ...     return "late"
    >>> layered = TimeoutLayer(FunctionModel(slow), seconds=0.01)
    >>> try:
    ...     asyncio.run(layered.request(ModelRequest("", [])))
    ... except ModelTimeout as exc:
    ...     print(str(exc)[:48])
    function:slow: no answer within 0.01s (settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from agentnb.errors import ModelTimeout
from agentnb.layers._base import Layer, close, emit
from agentnb.layers._watchdog import start
from agentnb.models.base import Model, ModelRequest, ModelResponse, StreamItem

__all__ = ["TimeoutLayer"]


class TimeoutLayer(Layer):
    """Raise `ModelTimeout` when the inner model takes longer than `seconds`.

    Not `asyncio.timeout`/`wait_for`: a shared watchdog costs a tenth of their overhead per
    request (see `_watchdog`).
    """

    __slots__ = ("seconds",)

    def __init__(self, inner: Model, *, seconds: float) -> None:
        super().__init__(inner)
        self.seconds = seconds

    def __repr__(self) -> str:
        return f"TimeoutLayer({self.inner!r}, seconds={self.seconds:g})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        watch = start(self.seconds)
        try:
            return await self.inner.request(request)
        except asyncio.CancelledError:
            if watch.expired and watch.uncancel():
                raise self._expired() from None
            raise
        finally:
            watch.stop()

    async def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        stream = self.inner.request_stream(request)
        try:
            while True:
                watch = start(self.seconds)
                try:
                    item = await anext(stream)
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    if watch.expired and watch.uncancel():
                        raise self._expired() from None
                    raise
                finally:
                    watch.stop()
                yield item
        finally:
            await close(stream)

    def _expired(self) -> ModelTimeout:
        message = (
            f"no answer within {self.seconds:g}s (settings.resilience.request_timeout). Raise the "
            "limit, or stream the answer (a stream's limit applies to each piece)."
        )
        emit("timeout", self.id, message)
        return ModelTimeout(message, provider=self.provider, model=self.model_name)
