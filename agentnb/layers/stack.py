"""`wrap`: the layered model an agent calls, built from `settings.resilience` in a fixed order.

From the outside in (`ORDER`):

- **fallback** is outermost: a model is given up on only after its own retries, or at once when
  its breaker is open, and every model of the chain has its own layers below.
- **retry** wraps the breaker, so each attempt counts as one failure for the breaker, and an
  open breaker (`CircuitOpen`, not retried) ends the retries at once.
- **breaker** sits above the rate limit, so refused calls do not spend the budget.
- **rate_limit** sits above the timeout, so waiting for the budget is not waiting for the model.
- **timeout** is innermost: it limits each attempt (and each streamed answer), not the retries
  together.

Timeout, retry and breaker guard against the network; they wrap remote models only (`is_remote`:
every provider but `offline`, `function` and `replay`, unless a model says otherwise with a
`remote` attribute), which keeps local models — and the run loop's overhead with them — bare.
Fallback and rate limit apply to every model, when configured.

    >>> from agentnb.config import ResilienceSettings
    >>> from agentnb.models.openai import OpenAIModel
    >>> layered = wrap(OpenAIModel("gpt-4.1-mini"), ResilienceSettings())
    >>> layered.id, type(layered).__name__, type(layered.inner).__name__
    ('openai:gpt-4.1-mini', 'RetryLayer', 'BreakerLayer')
    >>> breakers_of(layered)
    {'openai:gpt-4.1-mini': <Breaker openai:gpt-4.1-mini closed, 0 consecutive failures>}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentnb.layers._base import Layer, is_remote
from agentnb.layers.breaker import Breaker, BreakerLayer, breaker_for
from agentnb.layers.clock import SYSTEM_CLOCK, Clock
from agentnb.layers.fallback import FallbackLayer
from agentnb.layers.rate_limit import RateLimiter, RateLimitLayer
from agentnb.layers.retry import RetryLayer
from agentnb.layers.timeout import TimeoutLayer
from agentnb.models.base import Model
from agentnb.models.registry import resolve_model

if TYPE_CHECKING:  # agents/ builds on layers/, never the reverse: the settings are only read
    from agentnb.config import ResilienceSettings

__all__ = ["ORDER", "breakers_of", "wrap"]

ORDER = ("fallback", "retry", "breaker", "rate_limit", "timeout")
"""The layers from the outside in; the module docstring says why in this order."""


def wrap(
    model: Model,
    settings: ResilienceSettings,
    *,
    fallback: Sequence[Model] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Model:
    """`model` inside the layers `settings` ask for; `model` itself when none applies.

    `fallback` replaces the models named in `settings.fallback` (e.g. `FunctionModel`s, which
    have no model string). A model that is already layered is returned as it is, so a stack
    composed by hand is not wrapped twice.
    """
    if isinstance(model, Layer):
        return model
    chain = [model, *(fallback if fallback is not None else map(resolve_model, settings.fallback))]
    layered = [_layered(m, settings, clock) for m in chain]
    return layered[0] if len(layered) == 1 else FallbackLayer(layered[0], fallbacks=layered[1:])


def _layered(model: Model, s: ResilienceSettings, clock: Clock) -> Model:
    remote = is_remote(model)
    if remote and (s.request_timeout is not None or s.stream_timeout is not None):
        model = TimeoutLayer(model, seconds=s.request_timeout, stream_seconds=s.stream_timeout)
    if s.requests_per_minute or s.tokens_per_minute:
        limiter = RateLimiter(
            requests_per_minute=s.requests_per_minute,
            tokens_per_minute=s.tokens_per_minute,
            clock=clock,
        )
        model = RateLimitLayer(model, limiter=limiter)
    if remote and s.breaker_threshold is not None:
        model = BreakerLayer(
            model,
            breaker=breaker_for(model),
            threshold=s.breaker_threshold,
            reset_timeout=s.breaker_reset,
            clock=clock,
        )
    if remote and s.retries:
        model = RetryLayer(
            model, retries=s.retries, backoff=s.backoff, max_backoff=s.max_backoff, clock=clock
        )
    return model


def breakers_of(model: Model) -> dict[str, Breaker]:
    """The breakers guarding `model` and its fallbacks, by provider+model (what `agent.breakers`
    shows)."""
    found: dict[str, Breaker] = {}
    pending = [model]
    while pending:
        current = pending.pop(0)
        if isinstance(current, BreakerLayer):
            found[current.breaker.key] = current.breaker
        if isinstance(current, FallbackLayer):
            pending.extend(current.models)
        elif isinstance(current, Layer):
            pending.append(current.inner)
    return found
