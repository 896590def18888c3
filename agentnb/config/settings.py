"""`Settings` and `ResilienceSettings`: how an agent runs, as plain, finite data.

Types (and finiteness: `NaN` and infinity are refused for every float, because `nan > 0` and
`nan <= 0` are both false and would slip past every range check) are checked on construction;
ranges by `AgentConfig.validate()`, which reports them all at once.

>>> Settings(timeout=30).timeout
30.0
>>> from agentnb.config import AgentConfig
>>> AgentConfig.from_json('{"name": "fx", "settings": {"timeout": NaN}}')
Traceback (most recent call last):
...
agentnb.errors.ConfigError: Agent config 'fx' has 1 problem:
  - settings.timeout: Input should be a finite number -> got nan: write a finite number
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ResilienceSettings", "Settings", "StrictModel"]


class StrictModel(BaseModel):
    """Base of every config model: unknown fields and non-finite floats are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False, allow_inf_nan=False)


class ResilienceSettings(StrictModel):
    """Layers around model calls: timeout, retry, circuit breaker, fallback, rate limit.

    On by default for remote models (OpenAI, Anthropic, …); the local `offline`, `function` and
    `replay` models get only the fallback and rate limit, when configured. See `agentnb.layers`.
    """

    request_timeout: float | None = 120.0
    """Seconds one attempt may take (None: no limit). For a stream: seconds per streamed piece.

    Long enough for a long non-streamed answer; a connection that goes silent is caught sooner by
    the provider client's own read timeout.
    """
    stream_timeout: Annotated[float | None, Field(gt=0)] = 600.0
    """Seconds a whole streamed answer may take (None: no limit), however steadily its pieces
    arrive: a stream that keeps sending pieces but never ends is cut here. Retried like a timed
    out request when none of the answer was passed on yet."""
    retries: int = 2
    """Retries of a failed request (429, 5xx, timeouts, connection errors), with backoff."""
    backoff: float = 0.5
    """Base of the exponential backoff in seconds: retry n waits up to `backoff * 2**n`, jittered.

    A provider's `Retry-After` wins over it.
    """
    max_backoff: float = 30.0
    """Longest wait before a retry; a longer `Retry-After` is not waited for (the error is raised,
    so a fallback model can answer)."""
    breaker_threshold: int | None = 5
    """Consecutive failures of one provider+model that open its circuit breaker (None: off)."""
    breaker_reset: float = 30.0
    """Seconds an open breaker waits before letting one probe request through (half-open)."""
    fallback: list[str] = Field(default_factory=list)
    """Models tried in order when the primary fails after its retries (or its breaker is open)."""
    requests_per_minute: int | None = None
    """Requests this agent may send per minute (None: no limit); more wait their turn."""
    tokens_per_minute: int | None = None
    """Input + output tokens this agent may use per minute (None: no limit)."""


class Settings(StrictModel):
    """Run settings; ranges are checked by `AgentConfig.validate()`, not on construction."""

    temperature: float | None = None
    max_tokens: int | None = None
    max_steps: int = 10
    """Model turns allowed before the run stops with `MaxStepsExceeded`."""
    tool_retries: int = 2
    """Failed calls (invalid arguments, errors, timeouts) allowed per tool before the run fails."""
    output_retries: int = 2
    """Times an invalid structured output is sent back to the model for correction."""
    timeout: float | None = None
    """Wall-clock limit for one run, in seconds (None: no limit)."""
    resilience: ResilienceSettings = Field(default_factory=ResilienceSettings)
