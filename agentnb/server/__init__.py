"""The Jupyter server extension: authenticated REST endpoints the JupyterLab sidebar reads.

`pip install agentnb` enables it (`etc/jupyter/jupyter_server_config.d/agentnb.json`); check
with `jupyter server extension list`. Endpoints and their answers: `agentnb.server.handlers`;
which telemetry stores they read: `agentnb.server.api`.

Only jupyter_server imports this package: tornado and jupyter_server load inside the hooks, so
`import agentnb` never pays for them.
"""

from __future__ import annotations

from typing import Any

__all__: list[str] = []


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "agentnb.server"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from agentnb.server.handlers import setup_handlers

    setup_handlers(server_app)
