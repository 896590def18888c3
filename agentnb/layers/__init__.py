"""Composable layers around model calls: timeout, retry, circuit breaker, fallback, rate limit.

Each layer is a `Model` wrapping another and keeping its `id`, so layers stack in any order by
hand; `wrap(model, settings.resilience)` builds the stack agents use, in the order `ORDER`
declares (the `stack` module says why). Every action is a `LayerEvent` in the run's events.

    >>> from agentnb.models.openai import OpenAIModel
    >>> model = RetryLayer(TimeoutLayer(OpenAIModel("gpt-4.1-mini"), seconds=10), retries=3)
    >>> model.id
    'openai:gpt-4.1-mini'
"""

from agentnb.layers._base import LOCAL_PROVIDERS, Layer, is_remote, is_transient
from agentnb.layers.breaker import (
    Breaker,
    BreakerLayer,
    BreakerState,
    all_breakers,
    breaker_for,
    reset_breakers,
)
from agentnb.layers.checks import check_resilience
from agentnb.layers.clock import SYSTEM_CLOCK, Clock, ManualClock
from agentnb.layers.fallback import FallbackLayer
from agentnb.layers.rate_limit import RateLimiter, RateLimitLayer
from agentnb.layers.retry import RetryLayer
from agentnb.layers.stack import ORDER, breakers_of, wrap
from agentnb.layers.timeout import TimeoutLayer

__all__ = [
    "LOCAL_PROVIDERS",
    "ORDER",
    "SYSTEM_CLOCK",
    "Breaker",
    "BreakerLayer",
    "BreakerState",
    "Clock",
    "FallbackLayer",
    "Layer",
    "ManualClock",
    "RateLimitLayer",
    "RateLimiter",
    "RetryLayer",
    "TimeoutLayer",
    "all_breakers",
    "breaker_for",
    "breakers_of",
    "check_resilience",
    "is_remote",
    "is_transient",
    "reset_breakers",
    "wrap",
]
