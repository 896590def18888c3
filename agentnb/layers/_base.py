"""What every layer shares: a `Model` around another model that keeps the inner one's identity.

Pricing, telemetry and configs key on `id`, `provider` and `model_name`, so a layered model
reports the inner model's. Which errors are worth retrying and how layers emit `LayerEvent`s
also live here, so that retry, breaker and fallback agree on them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, Literal

from agentnb.errors import (
    MalformedResponse,
    ModelConnectionError,
    ModelError,
    ModelTimeout,
    ProviderServerError,
    RateLimited,
)
from agentnb.events import LayerEvent, current_scope
from agentnb.models.base import Model, StreamItem

__all__ = [
    "LOCAL_PROVIDERS",
    "Layer",
    "close",
    "emit",
    "first_item",
    "is_remote",
    "is_transient",
]

LayerName = Literal["retry", "fallback", "timeout", "breaker", "rate_limit"]

LOCAL_PROVIDERS = frozenset({"offline", "function", "replay"})
"""Providers that answer in-process: no network to time out, fail transiently or recover."""

_TRANSIENT: tuple[type[ModelError], ...] = (
    RateLimited,
    ProviderServerError,
    ModelTimeout,
    ModelConnectionError,
    MalformedResponse,  # mostly a stream a proxy cut short; a second try usually succeeds
)
_TRANSIENT_STATUS = frozenset({408, 409})  # the statuses the provider SDKs retry besides 429/5xx

_log = logging.getLogger("agentnb.layers")


def is_remote(model: Model) -> bool:
    """Whether `model` talks to a server, which is what timeouts, retries and breakers are for.

    A model may say so itself with a `remote` attribute (a custom provider, or a test that wants
    the layers around a `FunctionModel`); otherwise every provider but the local ones is remote.
    """
    remote = getattr(model, "remote", None)
    return model.provider not in LOCAL_PROVIDERS if remote is None else bool(remote)


def is_transient(error: BaseException) -> bool:
    """A failure that may not happen again: rate limits, server errors, timeouts, cut answers.

    Auth errors, unknown models and rejected requests fail the same way every time.
    """
    return isinstance(error, _TRANSIENT) or (
        isinstance(error, ModelError) and error.status in _TRANSIENT_STATUS
    )


def emit(
    layer: LayerName, model: str, message: str, *, attempt: int = 0, state: str | None = None
) -> None:
    """Report what a layer did to the current run's events (and the `agentnb.layers` logger)."""
    _log.info("%s %s: %s", layer, model, message)
    scope = current_scope.get()
    if scope is not None and scope.emit is not None:
        scope.emit(LayerEvent(scope.run_id, scope.step, layer, model, message, attempt, state))


async def first_item(stream: AsyncIterator[StreamItem]) -> StreamItem | None:
    """The first item of `stream`, or None when it ends at once.

    Retry and fallback may start over only until something was yielded downstream.
    """
    try:
        return await anext(stream)
    except StopAsyncIteration:
        return None


async def close(stream: AsyncIterator[Any]) -> None:
    """Close an abandoned stream now rather than whenever the garbage collector finds it."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


class Layer:
    """A `Model` wrapping `inner`, with the same `id`, `provider` and `model_name`.

    Attributes a layer does not define (`aclose`, …) are read from the inner model.
    Subclasses implement `request` and `request_stream`.
    """

    __slots__ = ("id", "inner", "model_name", "provider", "remote")

    def __init__(self, inner: Model) -> None:
        self.inner = inner
        # Plain attributes rather than delegating properties: read on every request.
        self.id: str = inner.id
        self.provider: str = inner.provider
        self.model_name: str = inner.model_name
        self.remote = is_remote(inner)

    def __getattr__(self, name: str) -> Any:
        if name in Layer.__slots__ or name.startswith("__"):
            raise AttributeError(name)  # not set yet (copying, unpickling): do not recurse
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"
