"""`ComponentRef`: how a guard or monitor is written in a config file.

It sits below `agents/` so that guards and monitors can describe themselves without importing
the agent layer.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ComponentRef"]


class ComponentRef(BaseModel):
    """A guard or monitor by name with its parameters (what its `config` serialises to)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
