"""The install puts the prebuilt lab extension and the server extension's config in place."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import agentnb

PREFIX = Path(sys.prefix)
LABEXTENSION = PREFIX / "share" / "jupyter" / "labextensions" / "agentnb"
SERVER_CONFIG = PREFIX / "etc" / "jupyter" / "jupyter_server_config.d" / "agentnb.json"


def jupyter(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "jupyter", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # no colours


def test_the_prebuilt_extension_is_installed_with_the_package() -> None:
    package = json.loads((LABEXTENSION / "package.json").read_text())
    assert (package["name"], package["version"]) == ("agentnb", agentnb.__version__)
    build = package["jupyterlab"]["_build"]
    assert {k: build[k] for k in ("extension", "mimeExtension", "style")} == {
        "extension": "./extension",
        "mimeExtension": "./mimeExtension",
        "style": "./style",
    }
    assert (LABEXTENSION / build["load"]).is_file()
    assert json.loads((LABEXTENSION / "install.json").read_text()) == {
        "packageManager": "python",
        "packageName": "agentnb",
        "uninstallInstructions": (
            "Use your Python package manager (pip, conda, etc.) to uninstall the package agentnb"
        ),
    }
    assert json.loads(SERVER_CONFIG.read_text()) == {
        "ServerApp": {"jpserver_extensions": {"agentnb.server": True}}
    }


@pytest.mark.slow
def test_jupyter_lists_both_extensions_enabled() -> None:
    assert "agentnb v0.1.0 enabled OK (python, agentnb)" in jupyter("labextension", "list")
    server = jupyter("server", "extension", "list")
    assert "agentnb.server enabled" in server
    assert re.search(r"agentnb\.server +OK", server)


def test_importing_agentnb_does_not_load_the_server() -> None:
    code = "import agentnb, sys; print(sorted(m for m in sys.modules if m.split('.')[0] in "
    code += "('tornado', 'jupyter_server') or m.startswith('agentnb.server')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
