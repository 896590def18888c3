"""A small, overridable price table (USD per million tokens) for cost estimates."""

from __future__ import annotations

from typing import Any

from agentnb.models.messages import Usage

__all__ = ["PRICES", "estimate_cost", "set_price"]

_resolved: dict[str, tuple[float, float] | None] = {}
"""Lookups already made: the prefix scan in `_price` would otherwise run on every model turn."""


class _PriceTable(dict[str, tuple[float, float]]):
    """A dict that forgets cached lookups whenever it changes, however it is changed."""

    def _changed(self) -> None:
        _resolved.clear()

    def __setitem__(self, key: str, value: tuple[float, float]) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._changed()

    def clear(self) -> None:
        super().clear()
        self._changed()

    def pop(self, key: str, *default: Any) -> Any:
        self._changed()
        return super().pop(key, *default)


# (input, output) USD per 1M tokens, list prices; keys are model ids or provider-less model names.
PRICES: dict[str, tuple[float, float]] = _PriceTable(
    {
        "gpt-4.1": (2.00, 8.00),
        "gpt-4.1-mini": (0.40, 1.60),
        "gpt-4.1-nano": (0.10, 0.40),
        "gpt-4o": (2.50, 10.00),
        "gpt-4o-mini": (0.15, 0.60),
        "o4-mini": (1.10, 4.40),
        "claude-sonnet-4-5": (3.00, 15.00),
        "claude-opus-4-1": (15.00, 75.00),
        "claude-haiku-4-5": (1.00, 5.00),
        "claude-3-5-haiku-latest": (0.80, 4.00),
        "offline": (0.0, 0.0),
    }
)


def set_price(model: str, *, input_per_million: float, output_per_million: float) -> None:
    """Override or add a price; `model` is an id (`"openai:my-model"`) or a bare model name."""
    PRICES[model] = (input_per_million, output_per_million)


def _price(name: str) -> tuple[float, float] | None:
    if name in _resolved:
        return _resolved[name]
    price = PRICES.get(name) or PRICES.get(name.partition(":")[2])
    if price is None:
        # Providers answer with dated names ("gpt-4.1-mini-2025-04-14"): longest known prefix.
        bare = name.partition(":")[2] or name
        prefixes = [k for k in PRICES if bare.startswith(k)]
        price = PRICES[max(prefixes, key=len)] if prefixes else None
    _resolved[name] = price
    return price


def estimate_cost(usage: Usage, *models: str) -> float | None:
    """USD cost of `usage` priced as the first of `models` with a known price, else None.

    Pass the model that answered first (after a fallback it is not the configured one), then
    the configured model id.
    """
    for name in models:
        price = _price(name) if name else None
        if price is not None:
            return (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1_000_000
    return None
