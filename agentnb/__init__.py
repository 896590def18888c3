"""agentnb: build, watch and improve AI agents in Jupyter notebooks.

```python
from agentnb import tool, Agent

@tool
def convert(amount: float, currency: Literal["EUR", "USD", "GBP"] = "EUR") -> dict: ...

agent = Agent(name="fx", model="offline", instructions="You convert money.", tools=[convert])
agent.run_sync("How much is 12.5 dollars in GBP?")
```
Importing agentnb is cheap: provider SDKs, LanceDB and nbformat load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentnb import guards, telemetry
from agentnb._version import __version__
from agentnb.agents import Agent, AgentConfig, RunResult, Settings
from agentnb.errors import (
    AgentnbError,
    CircuitOpen,
    ConfigError,
    GuardBlocked,
    MaxStepsExceeded,
    ModelError,
    RunError,
    ToolFailed,
    UserError,
)
from agentnb.guards import Verdict, guard
from agentnb.guards import monitoring as monitors
from agentnb.guards.monitoring import monitor
from agentnb.models import FunctionModel, record, set_default_model, tool_call
from agentnb.tools import RunContext, Tool, tool

if TYPE_CHECKING:
    from agentnb import meta as meta
    from agentnb.notebook.dashboard import dashboard as dashboard

__all__ = [
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


def __getattr__(name: str) -> Any:
    # The meta layer and the dashboard load on first access (as rich's console does), so that
    # `import agentnb` carries neither: `dashboard` is defined once, in agentnb.notebook.dashboard.
    if name == "meta":
        import importlib

        return importlib.import_module("agentnb.meta")
    if name == "dashboard":
        from agentnb.notebook.dashboard import dashboard

        return dashboard
    raise AttributeError(f"module 'agentnb' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext agentnb`: the magics `%%agent`, `%ask`, `%%guard`, `%agentnb`."""
    from agentnb.notebook.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """`%unload_ext agentnb`: remove the magics again."""
    from agentnb.notebook.magics import unload_ipython_extension as unload

    unload(ipython)
