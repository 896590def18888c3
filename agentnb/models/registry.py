"""Model strings → `Model` instances, the session's default model, and credential checks.

Providers are registered by import path so that `import agentnb` never loads a provider SDK:
the module is imported the first time a model of that provider is resolved.
"""

from __future__ import annotations

import difflib
import importlib
import os
from dataclasses import dataclass
from typing import Any

from agentnb.errors import UnknownModelError
from agentnb.models.base import Model

__all__ = [
    "credentials_problem",
    "default_model_id",
    "register_provider",
    "resolve_model",
    "set_default_model",
]


@dataclass(frozen=True, slots=True)
class _Provider:
    factory: str
    """`module:callable` taking the part after `provider:` (and keyword options)."""
    api_key_env: str | None = None
    needs_name: bool = True


_PROVIDERS: dict[str, _Provider] = {
    "openai": _Provider("agentnb.models.openai:OpenAIModel", "OPENAI_API_KEY"),
    "anthropic": _Provider("agentnb.models.anthropic:AnthropicModel", "ANTHROPIC_API_KEY"),
    "offline": _Provider("agentnb.models.offline:OfflineModel", needs_name=False),
    "replay": _Provider("agentnb.models.replay:ReplayModel"),
    "function": _Provider("agentnb.models.function:from_spec"),
}

_session_default: str | None = None


def register_provider(
    name: str, factory: str, *, api_key_env: str | None = None, needs_name: bool = True
) -> None:
    """Make `name:<model>` strings resolve through `factory` (a `module:callable` path)."""
    _PROVIDERS[name] = _Provider(factory, api_key_env, needs_name)


def set_default_model(spec: str | None) -> None:
    """Set the model agents use when their config names none (None restores the default)."""
    if spec is not None:
        _split(spec)  # fail now, not at the first run
    global _session_default
    _session_default = spec


def default_model_id() -> str:
    """The session default, else `AGENTNB_MODEL`, else the deterministic `offline` model."""
    return _session_default or os.environ.get("AGENTNB_MODEL") or "offline"


def _split(spec: str) -> tuple[str, str, _Provider]:
    provider, _, name = spec.partition(":")
    entry = _PROVIDERS.get(provider)
    if entry is None:
        close = difflib.get_close_matches(provider, list(_PROVIDERS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        known = ", ".join(f"'{p}:…'" if _PROVIDERS[p].needs_name else f"'{p}'" for p in _PROVIDERS)
        raise UnknownModelError(
            f"Unknown model provider {provider!r} in model {spec!r}.{hint} "
            f"Known providers: {known}."
        )
    if entry.needs_name and not name:
        raise UnknownModelError(
            f"Model {spec!r} names no model: write '{provider}:<model name>', "
            f"e.g. 'openai:gpt-4.1-mini' or 'anthropic:claude-sonnet-4-5'."
        )
    return provider, name, entry


def resolve_model(spec: str | Model | None, **options: Any) -> Model:
    """A `Model` for a model string such as `"openai:gpt-4.1-mini"` (None: the default model)."""
    if spec is not None and not isinstance(spec, str):
        return spec
    _, name, entry = _split(spec or default_model_id())
    module_name, _, attr = entry.factory.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    model: Model = factory(name, **options) if entry.needs_name else factory(**options)
    return model


def credentials_problem(spec: str) -> str | None:
    """Why `spec` cannot run here (no API key, missing cassette), or None when it can."""
    provider, name, entry = _split(spec)
    if entry.api_key_env and not os.environ.get(entry.api_key_env):
        return (
            f"provider {provider!r} needs an API key: set {entry.api_key_env}, "
            f"or use model='offline' (or 'replay:<cassette>') to run without one"
        )
    if provider == "replay" and not os.path.exists(name):
        return f"cassette {name!r} does not exist: record it first with agentnb.models.record(...)"
    return None
