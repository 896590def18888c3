"""The public surface is `agentnb.__all__`: adding or removing a name is a decision, made here."""

from __future__ import annotations

import agentnb

PUBLIC = [
    "Agent",
    "AgentConfig",
    "AgentnbError",
    "CircuitOpen",
    "ConfigError",
    "FunctionModel",
    "GuardBlocked",
    "MaxStepsExceeded",
    "ModelError",
    "RunContext",
    "RunError",
    "RunResult",
    "Settings",
    "Tool",
    "ToolFailed",
    "UserError",
    "Verdict",
    "__version__",
    "dashboard",
    "guard",
    "guards",
    "meta",
    "monitor",
    "monitors",
    "record",
    "set_default_model",
    "telemetry",
    "tool",
    "tool_call",
]


def test_all_is_pinned() -> None:
    assert sorted(agentnb.__all__) == PUBLIC


def test_every_public_name_exists() -> None:
    missing = [name for name in agentnb.__all__ if not hasattr(agentnb, name)]
    assert missing == []


def test_all_has_no_duplicates() -> None:
    assert len(set(agentnb.__all__)) == len(agentnb.__all__)
