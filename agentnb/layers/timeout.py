"""Timeout: a request may take at most `seconds`; a stream, `seconds` per piece and `stream_seconds`
in all.

The per-piece limit catches a stream that stalls without cutting off a long answer that keeps
arriving; the whole-stream limit catches one that keeps dripping pieces but never ends. On expiry
the layer raises `ModelTimeout`, which the retry layer retries (a stream only while none of it
was passed on) and the breaker counts.

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
import math
from collections.abc import AsyncIterator

from agentnb.errors import ModelTimeout
from agentnb.layers._base import Layer, close, emit
from agentnb.layers._watchdog import start
from agentnb.models.base import Model, ModelRequest, ModelResponse, StreamItem

__all__ = ["TimeoutLayer"]


class TimeoutLayer(Layer):
    """Raise `ModelTimeout` when the inner model takes longer than `seconds` (None: no limit per
    request or piece) or a whole stream longer than `stream_seconds` (None: no limit).

    Not `asyncio.timeout`/`wait_for`: a shared watchdog costs a tenth of their overhead per
    request (see `_watchdog`).
    """

    __slots__ = ("seconds", "stream_seconds")

    def __init__(
        self, inner: Model, *, seconds: float | None, stream_seconds: float | None = None
    ) -> None:
        super().__init__(inner)
        self.seconds = seconds
        self.stream_seconds = stream_seconds

    def __repr__(self) -> str:
        whole = "" if self.stream_seconds is None else f", stream_seconds={self.stream_seconds:g}"
        return f"TimeoutLayer({self.inner!r}, seconds={self.seconds}{whole})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The inner model's response; raises `ModelTimeout` after `seconds`."""
        if self.seconds is None:
            return await self.inner.request(request)
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
        """The inner model's stream; raises `ModelTimeout` if a piece or the whole of it is late."""
        loop = asyncio.get_running_loop()
        end = math.inf if self.stream_seconds is None else loop.time() + self.stream_seconds
        piece = math.inf if self.seconds is None else self.seconds
        stream = self.inner.request_stream(request)
        try:
            while True:
                # The wait for this piece ends at the piece's limit or the stream's, if sooner.
                left = end - loop.time()
                whole = left < piece
                watch = start(max(0.0, left) if whole else piece)
                try:
                    item = await anext(stream)
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    if watch.expired and watch.uncancel():
                        raise self._expired(whole=whole) from None
                    raise
                finally:
                    watch.stop()
                yield item
        finally:
            await close(stream)

    def _expired(self, *, whole: bool = False) -> ModelTimeout:
        if whole:
            message = (
                f"the stream did not finish within {self.stream_seconds:g}s "
                "(settings.resilience.stream_timeout); raise the limit for longer answers"
            )
        else:
            message = (
                f"no answer within {self.seconds:g}s (settings.resilience.request_timeout). Raise "
                "the limit, or stream the answer (a stream's limit applies to each piece)."
            )
        emit("timeout", self.id, message)
        return ModelTimeout(message, provider=self.provider, model=self.model_name)
