"""The display kit sits low in the stack: it imports nothing above it, and nothing of the core
imports the notebook to display a result (the loop `agents/result.py` ↔ `notebook/*` ↔
`errors.py`/`events.py` is gone). Function-level imports count: a lazy import that points up is
still a loop for a reader."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "agentnb"
ABOVE_DISPLAY = (
    "agents", "guards", "layers", "telemetry", "memory", "workflows", "evals", "mcp", "meta",
    "notebook", "server", "cli",
)  # fmt: skip


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code (TYPE_CHECKING blocks included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def reaches(path: Path, packages: tuple[str, ...]) -> list[str]:
    return sorted(
        name
        for name in imported(path)
        if any(name == f"agentnb.{p}" or name.startswith(f"agentnb.{p}.") for p in packages)
    )


def test_the_display_kit_imports_nothing_above_it() -> None:
    found = {
        str(module.relative_to(PACKAGE)): reaches(module, ABOVE_DISPLAY)
        for module in sorted((PACKAGE / "display").glob("*.py"))
    }
    assert len(found) >= 10
    assert {module: names for module, names in found.items() if names} == {}
    ipython = {
        str(module.relative_to(PACKAGE))
        for module in (PACKAGE / "display").glob("*.py")
        if any(n == "IPython" or n.startswith("IPython.") for n in imported(module))
    }
    assert ipython == set()


def test_the_result_and_notebook_knot_is_untied() -> None:
    assert reaches(PACKAGE / "agents" / "result.py", ("notebook",)) == []
    assert reaches(PACKAGE / "agents" / "trace.py", ("notebook",)) == []
    assert reaches(PACKAGE / "errors.py", ("agents",)) == []
    assert reaches(PACKAGE / "events.py", ("agents",)) == []
    assert not (PACKAGE / "meta" / "_display.py").exists()
    for gone in ("html", "plot", "trace", "charts", "display"):
        assert not (PACKAGE / "notebook" / f"{gone}.py").exists(), gone


def test_import_agentnb_loads_no_display_module() -> None:
    probe = (
        "import sys, json, agentnb\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('agentnb.display'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []
