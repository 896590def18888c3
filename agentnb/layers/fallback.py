"""Fallback: when a model fails (after its own retries, or with its breaker open), ask the next.

The chain keeps the primary model's identity (`id`, `provider`, `model_name`); the response's
`.model` names the model that answered. Any `ModelError` moves on to the next model — a
rejected key or an unknown model at one provider says nothing about the next one — and the last
model's error is raised, with the earlier failures noted under its traceback. Each move is a
`LayerEvent(layer="fallback")`.

A stream falls back only until its first piece was passed on (as with retries).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Sequence

from agentnb.errors import ModelError
from agentnb.layers._base import Layer, close, emit, first_item
from agentnb.models.base import Model, ModelRequest, ModelResponse, StreamItem

__all__ = ["FallbackLayer"]


class FallbackLayer(Layer):
    """Ask `primary`, then each of `fallbacks` in order until one answers."""

    __slots__ = ("models",)

    def __init__(self, primary: Model, *, fallbacks: Sequence[Model]) -> None:
        super().__init__(primary)
        self.models: tuple[Model, ...] = (primary, *fallbacks)

    def __repr__(self) -> str:
        return f"FallbackLayer({', '.join(map(repr, self.models))})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The first answer along the chain; raises the last model's `ModelError` if none does."""
        failures: list[ModelError] = []
        for model in self.models:
            try:
                response = await model.request(request)
            except ModelError as exc:
                self._failed(model, exc, failures)
                continue
            response.model = response.model or model.model_name
            return response
        raise AssertionError("unreachable: the last failure is raised")  # pragma: no cover

    async def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        """The first stream along the chain that yields a piece; raises as `request` does."""
        failures: list[ModelError] = []
        for model in self.models:
            stream = model.request_stream(request)
            try:
                try:
                    first = await first_item(stream)
                except ModelError as exc:
                    self._failed(model, exc, failures)
                    continue
                item = first
                while item is not None:
                    if isinstance(item, ModelResponse):
                        item.model = item.model or model.model_name
                    yield item
                    item = await first_item(stream)
                return
            finally:
                await close(stream)

    def _failed(self, model: Model, error: ModelError, failures: list[ModelError]) -> None:
        """Report the move to the next model, or raise `error` when there is none."""
        failures.append(error)
        if len(failures) == len(self.models):
            if sys.version_info >= (3, 11):
                for earlier, failed in zip(self.models, failures[:-1], strict=False):
                    error.add_note(f"fell back from {earlier.id}: {failed}")
            raise error
        following = self.models[len(failures)]
        emit(
            "fallback",
            following.id,
            f"{model.id} failed ({type(error).__name__}: {error}); falling back to {following.id}",
            attempt=len(failures),
        )

    async def aclose(self) -> None:
        """Close every model of the chain that holds connections."""
        closers = [getattr(m, "aclose", None) for m in self.models]
        await asyncio.gather(*(closer() for closer in closers if closer is not None))
