"""A throwaway Jupyter server (`jupyter lab`, or a bare `jupyter server`) for tests: its own
root, config, workspace and telemetry store, a random port and token.

```python
with JupyterServer(tmp_path) as lab:
    page.goto(lab.url("lab/tree/notebooks/01-quickstart.ipynb"))
    status, body = lab.get("agentnb/api/runs")
```
The server and its kernels share one `AGENTNB_HOME` (kernels inherit the server's environment),
so what the kernel records is what the server extension reads.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Toasts that would cover screenshots (news, update checks).
DISABLED_PLUGINS = ["@jupyterlab/apputils-extension:announcements"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class JupyterServer:
    """`jupyter <app>` on 127.0.0.1 with a random token, everything it writes under `base`."""

    def __init__(
        self,
        base: Path,
        *,
        app: str = "lab",
        home: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.app = app
        self.base = base
        self.root = base / "root"
        self.home = home or base / "agentnb-home"
        """`AGENTNB_HOME` of the server and its kernels."""
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.log_path = base / f"jupyter-{app}.log"
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, **query: str) -> str:
        params = "&".join([f"token={self.token}", *(f"{k}={v}" for k, v in query.items())])
        return f"{self.base_url}/{path.lstrip('/')}?{params}"

    def environment(self) -> dict[str, str]:
        config = self.base / "jupyter-config"
        (config / "labconfig").mkdir(parents=True, exist_ok=True)
        (config / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": dict.fromkeys(DISABLED_PLUGINS, True)})
        )
        env = {
            **os.environ,
            "AGENTNB_HOME": str(self.home),
            "JUPYTER_CONFIG_DIR": str(config),
            "JUPYTER_RUNTIME_DIR": str(self.base / "runtime"),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.base / "workspaces"),
            "JUPYTERLAB_SETTINGS_DIR": str(self.base / "settings"),
            "IPYTHONDIR": str(self.base / "ipython"),
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
        for name in ("AGENTNB_TELEMETRY_URI", "AGENTNB_TELEMETRY", "AGENTNB_MODEL"):
            env.pop(name, None)
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "jupyter", self.app, "--no-browser", "--allow-root",
            "--ip=127.0.0.1", f"--port={self.port}", "--port-retries=0",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
        ]  # fmt: skip
        if self.app == "lab":  # nothing that would reach PyPI or the news feed
            command += [
                "--LabApp.check_for_updates_class="
                "jupyterlab.handlers.announcements.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly",
            ]
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            env=self.environment(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter {self.app} exited early:\n{self.log_text()}")
            try:
                self.get("api/status")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.25)
        raise TimeoutError(
            f"jupyter {self.app} did not answer within {timeout} s:\n{self.log_text()}"
        )

    def get(self, path: str, *, token: bool = True, **query: str) -> tuple[int, Any]:
        """GET a server path as JSON: (status, body); an HTTP error is returned, not raised."""
        url = self.url(path, **query) if token else f"{self.base_url}/{path.lstrip('/')}"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            body = error.read()
            try:
                return error.code, json.loads(body or b"null")
            except ValueError:
                return error.code, body.decode(errors="replace")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the server and its kernels
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        if hasattr(self, "log"):
            self.log.close()

    def __enter__(self) -> JupyterServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_notebook(
    base: Path, name: str, cells: list[str], env: dict[str, str]
) -> Iterator[JupyterServer]:
    """A running JupyterServer under `base` whose root holds `name` made of these code cells."""
    import shutil

    import nbformat

    server = JupyterServer(base, env=env)
    server.root.mkdir(parents=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, server.root / name)
    with server:
        yield server
    shutil.rmtree(base, ignore_errors=True)


def run_all_cells(page: Any, server: JupyterServer, name: str) -> None:
    """Open notebook `name` in Lab, wait for its kernel, and run all its cells from the menu."""
    from playwright.sync_api import expect

    page.set_default_timeout(30_000)
    page.goto(server.url(f"lab/tree/{name}", reset=""))
    expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
    idle = page.locator(".jp-StatusBar-Widget").filter(has_text="Idle").first
    expect(idle).to_be_visible(timeout=60_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
