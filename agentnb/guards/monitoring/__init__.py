"""Async monitors: watch runs in the background, never block or fail them (`agentnb.monitors`).

```python
from agentnb import Agent, monitor, monitors

@monitor
def slow_tools(event):  # runs on a background thread, for every event of every run
    if event.kind == "tool_call_finished" and event.duration > 1.0:
        return f"{event.call.name} took {event.duration:.1f} s"  # a warning finding

agent = Agent("support", monitors=[slow_tools, monitors.latency(p95_ms=4000)])
```
Built-ins: `latency`, `tool_errors`, `block_rate`, `cost`, `output_length`; each keeps rolling
statistics across the runs of its agent in this session.
"""

from agentnb.guards.monitoring.builtin import (
    BlockRate,
    Cost,
    Latency,
    OutputLength,
    ToolErrors,
    block_rate,
    cost,
    latency,
    output_length,
    tool_errors,
)
from agentnb.guards.monitoring.hub import MonitorHub
from agentnb.guards.monitoring.monitor import (
    REGISTRY,
    Finding,
    FunctionMonitor,
    Monitor,
    MonitorDefinitionError,
    monitor,
    register,
)
from agentnb.guards.monitoring.resolve import resolve_monitors

__all__ = [
    "REGISTRY",
    "BlockRate",
    "Cost",
    "Finding",
    "FunctionMonitor",
    "Latency",
    "Monitor",
    "MonitorDefinitionError",
    "MonitorHub",
    "OutputLength",
    "ToolErrors",
    "block_rate",
    "cost",
    "latency",
    "monitor",
    "output_length",
    "register",
    "resolve_monitors",
    "tool_errors",
]
