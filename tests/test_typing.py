"""Only a validated `Agent` can run: mypy rejects `.run_sync(...)` on an `AgentConfig`.

mypy checks each example the way a user's project would see agentnb: from outside the
repository, as an installed package (which needs the `py.typed` marker to be type-checked).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = Path(__file__).parent / "typing"
CACHE = ROOT / ".mypy_cache" / "typing-examples"
"""Shared between runs: a cold mypy spends most of its time on pydantic."""


def mypy(example: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    shutil.copy(EXAMPLES / example, workdir / example)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(CACHE),
            example,
        ],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=300,
    )


def test_running_a_config_is_a_type_error(tmp_path: Path) -> None:
    done = mypy("config_has_no_run.py", tmp_path)
    error = '"AgentConfig" has no attribute "run_sync"  [attr-defined]'
    assert (done.returncode, done.stdout.splitlines()) == (
        1,
        [f"config_has_no_run.py:6: error: {error}"],
    ), done.stderr


def test_running_a_validated_config_type_checks(tmp_path: Path) -> None:
    done = mypy("config_validated_runs.py", tmp_path)
    assert (done.returncode, done.stdout) == (0, ""), done.stdout + done.stderr
