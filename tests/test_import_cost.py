"""`import agentnb` must not load the heavy optional dependencies (each costs 0.6-1.7 s)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("openai", "anthropic", "lancedb", "nbformat", "nbclient")


@pytest.mark.parametrize("module", ["agentnb", "agentnb.cli", "agentnb.notebook"])
def test_import_loads_no_heavy_dependency(module: str) -> None:
    probe = (
        f"import sys, json, {module}\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == [], f"`import {module}` loaded heavy modules"


def test_import_agentnb_loads_only_the_core() -> None:
    """The meta layer, the store's queries, the display kit and the notebook layer load when
    first used (`agentnb.meta`, `telemetry.open()`, a result shown, `%load_ext`), not at import."""
    probe = (
        "import sys, json, agentnb\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('agentnb.'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(done.stdout)
    lazy = ("agentnb.meta", "agentnb.telemetry.store", "agentnb.display", "agentnb.notebook")
    assert [m for m in loaded if m.startswith(lazy)] == []
    assert "agentnb.agents.agent" in loaded  # the probe itself can see what import loaded
