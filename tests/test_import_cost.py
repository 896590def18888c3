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
