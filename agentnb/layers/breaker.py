"""Circuit breaker: stop calling a provider+model that keeps failing, and probe for its recovery.

```
closed ──threshold consecutive failures──▶ open ──reset timeout elapsed──▶ half_open
  ▲                                          ▲                                │
  └───────────── the probe succeeded ────────┼──────── the probe failed ──────┘
```
While open, requests fail at once with `CircuitOpen` (a fallback model answers instead, if one
is configured). Half-open lets exactly one probe request through; others are refused until it
settles. Every transition is a `LayerEvent(layer="breaker", state=...)`.

Breakers are process-wide, one per provider+model (`model.id`), so every agent calling a failing
model learns from the others' failures: `breaker_for(model)` finds it, `all_breakers()` lists
them. Each caller applies its own settings to the shared state: the failure that reaches the
caller's `threshold` opens the breaker, and the caller that opens it sets when it half-opens.
Only transient failures count (see `is_transient`); any other answer, even an error such as a
rejected request, shows the provider is up.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Literal

from agentnb.errors import CircuitOpen, ModelError
from agentnb.layers._base import Layer, close, emit, is_transient
from agentnb.layers.clock import SYSTEM_CLOCK, Clock
from agentnb.models.base import Model, ModelRequest, ModelResponse, StreamItem

__all__ = [
    "Breaker",
    "BreakerLayer",
    "BreakerState",
    "all_breakers",
    "breaker_for",
    "reset_breakers",
]

BreakerState = Literal["closed", "open", "half_open"]


class Breaker:
    """The health of one provider+model as seen by this process; shared by every agent.

    `state`, `failures` (consecutive transient failures), `last_error` and `retry_at` (the clock
    time at which an open breaker lets a probe through) are for reading; `reset()` closes it.
    """

    __slots__ = (
        "_lock",
        "failures",
        "key",
        "last_error",
        "model",
        "probing",
        "provider",
        "retry_at",
        "state",
    )

    def __init__(self, key: str, *, provider: str, model: str) -> None:
        self.key = key
        self.provider = provider
        self.model = model
        self.state: BreakerState = "closed"
        self.failures = 0
        self.last_error: str | None = None
        self.retry_at = 0.0
        self.probing = False
        # Two event loops may share a breaker (the background loop of `run_sync` and a kernel's).
        # Reentrant: transitions call event handlers, which may well read or reset the breaker.
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"<Breaker {self.key} {self.state}, {self.failures} consecutive failures>"

    def admit(self, clock: Clock) -> bool:
        """Let a request through (True: it is the half-open probe) or raise `CircuitOpen`."""
        if self.state == "closed":
            return False
        with self._lock:
            state: BreakerState = self.state
            if state == "closed":  # another thread's probe closed it meanwhile
                return False
            now = clock.now()
            if state == "open" and now >= self.retry_at:
                state = "half_open"
                self._move(state, "reset timeout elapsed; letting one probe request through")
            if state == "half_open" and not self.probing:
                self.probing = True
                return True
            raise self._refusal(now)

    def succeeded(self, probe: bool) -> None:
        """The provider answered (a response, or an error that is the request's fault)."""
        if not probe:
            if self.failures and self.state == "closed":
                self.failures = 0  # only consecutive failures count
            return
        with self._lock:
            self.probing = False
            self.failures = 0
            if self.state == "half_open":
                self._move("closed", "the probe request succeeded")

    def failed(
        self, error: ModelError, *, probe: bool, threshold: int, reset_timeout: float, clock: Clock
    ) -> None:
        """A transient failure; opens the breaker at `threshold` or when the probe failed."""
        with self._lock:
            self.failures += 1
            self.last_error = f"{type(error).__name__}: {error}"
            if probe:
                self.probing = False
            if (probe and self.state == "half_open") or (
                self.state == "closed" and self.failures >= threshold
            ):
                self.retry_at = clock.now() + reset_timeout
                why = "the probe failed" if probe else f"{self.failures} consecutive failures"
                message = f"{why} (last: {self.last_error}); half-opens in {reset_timeout:g}s"
                self._move("open", message)

    def release(self, probe: bool) -> None:
        """The request ended without telling anything about the provider (cancelled, a bug)."""
        if probe:
            self.probing = False

    def reset(self) -> None:
        """Close the breaker by hand (e.g. after fixing what made the provider fail)."""
        with self._lock:
            self.failures = 0
            self.probing = False
            if self.state != "closed":
                self._move("closed", "reset by hand")

    def _move(self, state: BreakerState, message: str) -> None:
        self.state = state
        emit("breaker", self.key, f"{state}: {message}", state=state)

    def _refusal(self, now: float) -> CircuitOpen:
        if self.state == "half_open":
            wait = 0.0
            what = "a probe request is testing whether it recovered; try again in a moment"
        else:
            wait = max(0.0, self.retry_at - now)
            what = (
                f"it opened after {self.failures} consecutive failures (last: {self.last_error}) "
                f"and lets a probe request through in {wait:.1f}s"
            )
        return CircuitOpen(
            f"circuit breaker open: {what}. Add a fallback model (settings.resilience.fallback) "
            "to answer meanwhile.",
            retry_after=wait,
            provider=self.provider,
            model=self.model,
        )


_BREAKERS: dict[str, Breaker] = {}


def breaker_for(model: Model) -> Breaker:
    """The process-wide breaker of `model`'s provider+model, created closed on first use."""
    found = _BREAKERS.get(model.id)
    if found is None:
        found = _BREAKERS.setdefault(
            model.id, Breaker(model.id, provider=model.provider, model=model.model_name)
        )
    return found


def all_breakers() -> dict[str, Breaker]:
    """Every breaker of this process by provider+model (a copy: adding to it changes nothing)."""
    return dict(_BREAKERS)


def reset_breakers() -> None:
    """Forget every breaker (tests; a notebook that wants a clean slate)."""
    _BREAKERS.clear()


class BreakerLayer(Layer):
    """Refuse calls while `breaker` is open; tell it how each admitted call went."""

    __slots__ = ("breaker", "clock", "reset_timeout", "threshold")

    def __init__(
        self,
        inner: Model,
        *,
        breaker: Breaker | None = None,
        threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(inner)
        self.breaker = breaker if breaker is not None else breaker_for(inner)
        self.threshold = threshold
        self.reset_timeout = reset_timeout
        self.clock = clock

    def __repr__(self) -> str:
        return f"BreakerLayer({self.inner!r}, {self.breaker!r})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The inner model's response, if the breaker admits the request.

        Raises `CircuitOpen` while the breaker is open (or its probe is out); how the request
        went is reported to the breaker.
        """
        breaker = self.breaker
        probe = breaker.admit(self.clock)
        try:
            response = await self.inner.request(request)
        except ModelError as exc:
            self._settle(exc, probe)
            raise
        except BaseException:
            breaker.release(probe)
            raise
        breaker.succeeded(probe)
        return response

    async def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        """The inner model's stream, if the breaker admits it; raises `CircuitOpen` if not."""
        breaker = self.breaker
        probe = breaker.admit(self.clock)
        stream = self.inner.request_stream(request)
        settled = False
        try:
            async for item in stream:
                yield item
            settled = True
            breaker.succeeded(probe)
        except ModelError as exc:
            settled = True
            self._settle(exc, probe)
            raise
        finally:
            if not settled:  # the consumer stopped early, or something that is not the provider
                breaker.release(probe)
            await close(stream)

    def _settle(self, error: ModelError, probe: bool) -> None:
        if is_transient(error):
            self.breaker.failed(
                error,
                probe=probe,
                threshold=self.threshold,
                reset_timeout=self.reset_timeout,
                clock=self.clock,
            )
        else:
            self.breaker.succeeded(probe)
