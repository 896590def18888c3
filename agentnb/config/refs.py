"""References to components by name: `ToolRef` for tools, `ComponentRef` for guards and monitors.

They are plain data; `agents/` resolves them into tools, guards and monitors, and guards and
monitors describe themselves with a `ComponentRef` (their `ref`) without importing `agents/`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from agentnb.config.settings import StrictModel

__all__ = ["ComponentRef", "ToolRef"]


class ComponentRef(StrictModel):
    """A guard or monitor by name with its parameters (what its `config` serialises to)."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class ToolRef(StrictModel):
    """A tool by name, optionally presented to the model with another description."""

    name: str
    description: str | None = None
