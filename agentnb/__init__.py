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

from agentnb import guards, meta, telemetry
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
    from agentnb.notebook.dashboard import dashboard as dashboard

__version__ = "0.1.0"

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
    # `dashboard` is defined once, in agentnb.notebook.dashboard; importing it here on first
    # access keeps `import agentnb` free of the notebook package.
    if name == "dashboard":
        from agentnb.notebook.dashboard import dashboard

        return dashboard
    raise AttributeError(f"module 'agentnb' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext agentnb`: the magics `%%agent`, `%ask`, `%%guard`, `%agentnb`."""
    from agentnb.notebook.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from agentnb.notebook.magics import unload_ipython_extension as unload

    unload(ipython)
