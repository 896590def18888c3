"""`dashboard()`: an agent's runs, latency, error and guard-block rates, cost and failing tools.

```python
import agentnb
agentnb.dashboard()                                   # this notebook's store, the last 24 hours
agentnb.dashboard(agent="support", since="7d")        # what `%agentnb dashboard --agent support
                                                      #        --since 7d` does
```
This is the one entry point (`agentnb.dashboard` is this function, re-exported lazily). Importing
this module is cheap: pandas, plotly and ipywidgets load when the dashboard is made. The parts, one
direction: data (`agentnb.notebook.dashboard_data`: queries → frames), figures
(`agentnb.display.dashboard`: frames → charts), widget (`agentnb.notebook.dashboard_widget`).

```python
data = dashboard_data(store, agent="support", since="24h")   # DashboardData: small DataFrames
figs = figures(data)                                         # {"runs": ChartFigure, ...}
```
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from agentnb.errors import MissingDependency

if TYPE_CHECKING:
    from agentnb.notebook.dashboard_widget import Dashboard, StaticDashboard
    from agentnb.telemetry.store import Store

__all__ = ["dashboard"]


def dashboard(
    store: Store | str | None = None,
    *,
    agent: str | None = None,
    version: str | None = None,
    since: str | datetime | timedelta | None = "24h",
    widget: bool | None = None,
) -> Dashboard | StaticDashboard:
    """The telemetry dashboard of `store` (a `Store`, a URI, or None: `telemetry.open()`).

    Shows runs of `agent` at `version` (None: all) since `since` (`"1h"`, `"24h"`, `"7d"`, any
    duration, a datetime; None or `"all"`: every run). `widget` chooses the kind (None: a
    `Dashboard` widget when a person is watching the notebook, else a `StaticDashboard`).
    Charts: runs over time, latency p50/p95 per version, error, guard-block and guard-error
    rates, cost per run, top failing tools.

    >>> agentnb.dashboard(agent="support", since="7d")  # doctest: +SKIP
    """
    try:
        from agentnb.notebook import dashboard_widget as board
    except ImportError as exc:  # ipywidgets, pandas and plotly come with the notebook extra
        raise MissingDependency(
            exc.name or "ipywidgets", "notebook", "agentnb.dashboard()"
        ) from None
    from agentnb import telemetry
    from agentnb.notebook import _kernel
    from agentnb.notebook.dashboard_data import dashboard_data
    from agentnb.telemetry.settings import parse_since

    opened = store if store is not None and not isinstance(store, str) else telemetry.open(store)
    if isinstance(since, timedelta):
        since = f"{since.total_seconds():g}s"
    elif isinstance(since, datetime):
        since = since.isoformat()
    if since is not None and since != "all":
        parse_since(since)  # a UserError naming the value, before any widget is made
    if widget is None:
        widget = _kernel.front_end_is_live()
    if widget:
        return board.Dashboard(opened, agent=agent, version=version, since=since)
    data = dashboard_data(opened, agent=agent, version=version, since=since)
    return board.StaticDashboard(data)
