"""`AgentConfig`: the serialisable, versioned definition of an agent (a draft until validated)."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from agentnb.components import ComponentRef

if TYPE_CHECKING:
    from collections.abc import Sequence

    from agentnb.agents.agent import Agent
    from agentnb.models.base import Model
    from agentnb.tools.tool import Tool

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "AgentConfig",
    "ComponentRef",
    "ResilienceSettings",
    "Settings",
    "ToolRef",
]

CURRENT_SCHEMA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class ResilienceSettings(_Strict):
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


class Settings(_Strict):
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


class ToolRef(_Strict):
    """A tool by name, optionally presented to the model with another description."""

    name: str
    description: str | None = None


def _shorthand(value: Any) -> Any:
    """`"name"` in YAML means `{name: ...}` with defaults: keeps config files short."""
    if isinstance(value, list):
        return [{"name": item} if isinstance(item, str) else item for item in value]
    return value


class AgentConfig(_Strict):
    """Everything that defines an agent, as plain data that round-trips to YAML and JSON.

    A config accepts anything well-typed; `validate()` checks the rest and returns a runnable
    `Agent` (only an `Agent` has `run`).
    """

    schema_version: int = CURRENT_SCHEMA_VERSION
    name: str
    version: str = "0.1.0"
    model: str | None = None
    """A model string (`"openai:gpt-4.1-mini"`, `"offline"`); None: the session default."""
    instructions: str = ""
    tools: list[ToolRef] = Field(default_factory=list)
    guards: list[ComponentRef] = Field(default_factory=list)
    monitors: list[ComponentRef] = Field(default_factory=list)
    settings: Settings = Field(default_factory=Settings)
    output_type: str | dict[str, Any] | None = None
    """A builtin type name (`"int"`), an import path (`"pkg.module:Model"`) or a JSON Schema."""

    @field_validator("tools", "guards", "monitors", mode="before")
    @classmethod
    def _expand_names(cls, value: Any) -> Any:
        return _shorthand(value)

    @field_serializer("tools", "guards", "monitors")
    def _shorten(self, refs: list[ToolRef] | list[ComponentRef]) -> list[Any]:
        return [
            ref.name
            if ref.model_dump(exclude_defaults=True).keys() == {"name"}
            else ref.model_dump(exclude_defaults=True)
            for ref in refs
        ]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_yaml(self) -> str:
        from agentnb.config.io import dump_yaml

        return dump_yaml(self.to_dict())

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<yaml>") -> AgentConfig:
        """Parse YAML; errors name the line and field (`ConfigError`)."""
        from agentnb.config.io import load_config_yaml

        return load_config_yaml(text, source=source)

    @classmethod
    def from_json(cls, text: str) -> AgentConfig:
        from agentnb.config.io import config_from_data

        return config_from_data(json.loads(text), source="<json>")

    @property
    def hash(self) -> str:
        """Content identity of the config: equal configs have equal hashes."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def validate(  # type: ignore[override]  # pydantic's deprecated v1 classmethod
        self,
        *,
        tools: Sequence[Tool[..., Any]] | None = None,
        output_type: Any = None,
        model: Model | None = None,
        telemetry: bool | None = None,
    ) -> Agent:
        """Check everything that can be checked before a model is called; return the `Agent`.

        Tools are looked up in `tools`, then among every `@tool` defined in this process.
        Raises `ConfigError` listing every problem with its field path and fix.
        """
        from agentnb.agents.agent import Agent

        return Agent.from_config(
            self, tools=tools, output_type=output_type, model=model, telemetry=telemetry
        )
