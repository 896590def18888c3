"""`AgentConfig`: the serialisable, versioned definition of an agent (a draft until validated).

Plain data that round-trips to YAML and JSON. Turning it into a runnable `Agent` (resolving tool,
guard and monitor names, the model, the output type) is the job of `agentnb.agents`, which sits
above this package and registers that step here (`set_validator`): `config/` imports nothing above
it.

>>> config = AgentConfig.from_yaml("name: fx\\nmodel: offline\\ntools: [convert]\\n")
>>> print(config.to_yaml(), end="")  # doctest: +ELLIPSIS
schema_version: 1
name: fx
version: 0.1.0
model: offline
instructions: ''
tools:
- convert
...
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_serializer, field_validator

from agentnb.config.migrations import CURRENT_SCHEMA_VERSION, migrate
from agentnb.config.refs import ComponentRef, ToolRef
from agentnb.config.settings import Settings, StrictModel
from agentnb.secrets import redact_data

if TYPE_CHECKING:
    import yaml

__all__ = [
    "AgentConfig",
    "Validator",
    "config_from_data",
    "load_config_yaml",
    "set_validator",
]

Validator = Callable[..., Any]
"""`(config, *, tools, output_type, model, telemetry) -> Agent`: run by `AgentConfig.validate`."""

_validator: Validator | None = None


def set_validator(validator: Validator) -> None:
    """Install what `AgentConfig.validate()` runs (`agentnb.agents` installs `Agent.from_config`).

    The config layer cannot import the agent layer above it; the agent layer hands its entry
    point down instead, when it is imported (which `import agentnb` always does).
    """
    global _validator
    _validator = validator


def _shorthand(value: Any) -> Any:
    """`"name"` in YAML means `{name: ...}` with defaults: keeps config files short."""
    if isinstance(value, list):
        return [{"name": item} if isinstance(item, str) else item for item in value]
    return value


class AgentConfig(StrictModel):
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
        """The config as JSON-ready data (secrets included: this is the config itself)."""
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        """The config as JSON for a file, with every secret redacted (`agentnb.secrets`)."""
        return json.dumps(redact_data(self.to_dict()), indent=2)

    def to_yaml(self) -> str:
        """The config as YAML for a file, with every secret redacted (`agentnb.secrets`).

        A key pasted into the instructions must not reach a file that is committed to git: keep
        secrets in environment variables. Loading the text back gives `[REDACTED]` in its place.
        """
        from agentnb.config.io import dump_yaml  # loads yaml: not at import time

        return dump_yaml(redact_data(self.to_dict()))

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<yaml>") -> AgentConfig:
        """Parse YAML; errors name the line and field (`ConfigError`)."""
        return load_config_yaml(text, source=source)

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "<json>") -> AgentConfig:
        """Parse JSON; errors name the line and column, or the field (`ConfigError`)."""
        from agentnb.config.io import parse_json

        data = parse_json(text, source=source)
        if isinstance(data, dict):
            data = migrate(data, source=source)
        return config_from_data(data, source=source)

    @property
    def hash(self) -> str:
        """Content identity of the config: equal configs have equal hashes."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def validate(  # type: ignore[override]  # pydantic's deprecated v1 classmethod
        self,
        *,
        tools: Any = None,
        output_type: Any = None,
        model: Any = None,
        telemetry: bool | None = None,
    ) -> Any:
        """Check everything that can be checked before a model is called; return the `Agent`.

        Tools (a sequence of `Tool`) are looked up in `tools`, then among every `@tool` defined
        in this process; `model` (a `Model` object) replaces the configured model string. Raises
        `ConfigError` listing every problem with its field path and fix. See `agentnb.Agent`.
        """
        if _validator is None:  # only while agentnb itself is half imported
            raise RuntimeError("AgentConfig.validate() needs agentnb.agents: import agentnb")
        return _validator(
            self, tools=tools, output_type=output_type, model=model, telemetry=telemetry
        )


def config_from_data(
    data: Any,
    *,
    source: str,
    root: yaml.Node | None = None,
    overrides: dict[str, Any] | None = None,
) -> AgentConfig:
    """An `AgentConfig` from parsed data; type errors become one `ConfigError`.

    `root` is the YAML node tree the data came from: problems then name their line.
    """
    from agentnb.config.io import validate_data  # loads yaml: not at import time

    return validate_data(AgentConfig, data, source=source, root=root, overrides=overrides)


def load_config_yaml(
    text: str, *, source: str = "<yaml>", overrides: dict[str, Any] | None = None
) -> AgentConfig:
    """Parse an agent config from YAML; every problem names its line (`ConfigError`).

    Files of older schema versions are migrated to the current one first.
    """
    from agentnb.config.io import parse_yaml

    data, root = parse_yaml(text, source=source)
    if isinstance(data, dict):
        data = migrate(data, source=source)
    return config_from_data(
        data if data is not None else {}, source=source, root=root, overrides=overrides
    )
