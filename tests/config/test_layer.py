"""`agentnb.config` is the ground floor of agentnb's own packages: it imports nothing above it."""

from __future__ import annotations

import ast
from pathlib import Path

import agentnb.config

BELOW_CONFIG = ("agentnb.errors", "agentnb.secrets", "agentnb._json", "agentnb._sync")
"""What `config/` may import besides itself (shared DESIGN.md's layer list)."""


def _agentnb_imports(path: Path) -> set[str]:
    """Every agentnb module `path` imports, function-level and `TYPE_CHECKING` imports included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return {name for name in found if name.split(".")[0] == "agentnb"}


def test_config_imports_only_itself_and_the_layer_below() -> None:
    package = Path(agentnb.config.__file__).parent
    upward = {
        f"{path.name} imports {name}"
        for path in sorted(package.glob("*.py"))
        for name in _agentnb_imports(path)
        if not name.startswith(("agentnb.config", *BELOW_CONFIG))
    }
    assert upward == set()


def test_validate_is_handed_down_by_the_agent_layer() -> None:
    config = agentnb.config.AgentConfig(name="fx", model="offline")
    agent = config.validate()
    assert isinstance(agent, agentnb.Agent)
    assert agent.config == config
