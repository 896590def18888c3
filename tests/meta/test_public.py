"""`agentnb.meta`'s surface: every public name resolves, lazily, and importing it stays cheap."""

from __future__ import annotations

import json
import subprocess
import sys

import agentnb.meta as meta

HEAVY = ("numpy", "pandas", "pyarrow", "lancedb", "plotly")


def test_every_public_name_resolves() -> None:
    missing = [name for name in meta.__all__ if getattr(meta, name, None) is None]
    assert missing == []
    assert len(set(meta.__all__)) == len(meta.__all__)


def test_the_loop_functions_are_functions_after_their_modules_load() -> None:
    from agentnb.meta.revision import Revision  # loads the submodule `agentnb.meta.revision`

    assert callable(meta.apply)
    assert meta.apply.__module__ == "agentnb.meta.revision"
    assert Revision.__module__ == "agentnb.meta.revision"
    for name in ("analyze", "compare", "export", "rollout", "propose"):
        assert getattr(meta, name).__name__ == name


def test_importing_the_meta_layer_loads_no_heavy_dependency() -> None:
    probe = (
        "import sys, json\n"
        "from agentnb import meta\n"
        "from agentnb.meta import analyze, apply, compare, export, propose, rollout, Proposal\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []
