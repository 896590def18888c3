"""The dashboard's data: the telemetry store's runs as the small frames the charts draw.

`dashboard_data(store, agent=, version=, since=)` queries the store (`Store.runs`, `Store.stats`)
and returns a `DashboardData` (`agentnb.display.dashboard`), which the display kit draws and the
widget (`agentnb.notebook.dashboard_widget`) shows. It lives here, above `telemetry`, because it
queries; the figures below it take frames only.

```python
data = dashboard_data(store, agent="support", since="24h")
data.totals["runs"], list(data.versions.columns)
```
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from agentnb.display.dashboard import BUCKETS, STATUSES, DashboardData
from agentnb.errors import UserError
from agentnb.telemetry.settings import parse_duration, parse_since

if TYPE_CHECKING:
    from agentnb.telemetry.store import Store

__all__ = ["TOP_TOOLS", "agent_versions", "dashboard_data", "version_key"]

TOP_TOOLS: Final = 10
_MAX_BUCKETS = 48
"""The runs chart uses the finest bucket that cuts the range into at most this many
(1h → 5 min, 24h → hour, 7d → 6 hours)."""


def dashboard_data(
    store: Store,
    *,
    agent: str | None = None,
    version: str | None = None,
    since: str | datetime | timedelta | None = None,
) -> DashboardData:
    """Read what the dashboard shows from `store`: runs of `agent` (None: all) at `version`
    (None: all) since `since` (`"24h"`, `"7d"`, a timedelta, a datetime; None or "all": all)."""
    now = datetime.now(timezone.utc)
    start = None if since is None or since == "all" else parse_since(since)
    filters: dict[str, Any] = {"agent": agent, "version": version, "since": start}
    runs = (
        store.runs(**filters, last=None, as_arrow=True)
        .select(["started_at", "status", "duration_ms", "cost", "guard_blocks"])
        .to_pandas()
    )
    first = start or (runs["started_at"].min() if len(runs) else now)
    freq = _bucket(now - first)
    timeline = _timeline(runs, freq, first, now)

    versions = store.stats(by=["agent", "version"], **filters)
    versions["label"] = (
        versions["version"] if agent else versions["agent"] + " " + versions["version"]
    )
    versions["cost_per_run"] = versions["cost"] / versions["count"]
    if "guard_errors" in versions and "guard_error_rate" not in versions:
        versions["guard_error_rate"] = versions["guard_errors"] / versions["count"]
    keys = [
        (a, version_key(v)) for a, v in zip(versions["agent"], versions["version"], strict=True)
    ]
    order = sorted(range(len(keys)), key=keys.__getitem__)  # 1.10.0 after 1.9.0
    versions = versions.iloc[order].reset_index(drop=True)

    tools = store.stats(by=["tool"], **filters)
    tools["failures"] = tools["errors"] + tools["guard_blocks"]
    tools["failure_rate"] = tools["failures"] / tools["count"]
    tools = (
        tools[tools["failures"] > 0]
        .sort_values(["failures", "tool"], ascending=[False, True])
        .head(TOP_TOOLS)
        .reset_index(drop=True)
    )

    count = len(runs)
    errors = int((runs["status"] == "error").sum())
    blocked = int(((runs["guard_blocks"] > 0) | (runs["status"] == "blocked")).sum())
    cost = float(runs["cost"].sum()) if runs["cost"].notna().any() else None
    totals = {
        "runs": count,
        "errors": errors,
        "error_rate": errors / count if count else 0.0,
        "blocked": blocked,
        "block_rate": blocked / count if count else 0.0,
        "p50_ms": float(runs["duration_ms"].quantile(0.5)) if count else None,
        "p95_ms": float(runs["duration_ms"].quantile(0.95)) if count else None,
        "cost": cost,
        "cost_per_run": cost / count if cost is not None and count else None,
        "unpriced": int(runs["cost"].isna().sum()),
    }
    return DashboardData(
        agent=agent,
        version=version,
        since=start,
        window=_window(since, start),
        bucket=freq,
        timeline=timeline,
        versions=versions,
        tools=tools,
        totals=totals,
    )


def agent_versions(store: Store) -> dict[str, list[str]]:
    """Every agent with recorded runs and its versions, oldest version first."""
    rows = store.table("runs").search().select(["agent", "version"]).limit(None).to_arrow()
    found: dict[str, set[str]] = {}
    for agent, version in zip(rows["agent"].to_pylist(), rows["version"].to_pylist(), strict=True):
        found.setdefault(agent, set()).add(version)
    return {agent: sorted(found[agent], key=version_key) for agent in sorted(found)}


def _bucket(span: timedelta) -> str:
    seconds = max(span.total_seconds(), 0.0)
    return next((f for f, size, _ in BUCKETS if seconds / size <= _MAX_BUCKETS), BUCKETS[-1][0])


def _timeline(runs: pd.DataFrame, freq: str, first: datetime, now: datetime) -> pd.DataFrame:
    columns = ["time", *STATUSES, "runs"]
    if runs.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in columns}).astype(
            {"time": "datetime64[us, UTC]"}
        )
    times = pd.date_range(pd.Timestamp(first).floor(freq), pd.Timestamp(now).floor(freq), freq=freq)
    counts = (
        runs.groupby([runs["started_at"].dt.floor(freq), "status"])
        .size()
        .unstack(fill_value=0)
        .reindex(index=times, columns=list(STATUSES), fill_value=0)
        .astype("int64")
    )
    counts["runs"] = counts.sum(axis=1)
    return counts.rename_axis(index="time", columns=None).reset_index()


def _window(since: str | datetime | timedelta | None, start: datetime | None) -> str:
    if start is None:
        return "all time"
    if isinstance(since, str):
        with contextlib.suppress(UserError):
            parse_duration(since)
            return f"last {since.strip()}"
    return f"since {start:%Y-%m-%d %H:%M} UTC"


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """`1.10.0` after `1.9.0`: numeric parts compare as numbers."""
    parts = version.replace("-", ".").replace("+", ".").split(".")
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)
