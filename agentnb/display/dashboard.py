"""The telemetry dashboard's figures: its frames (`DashboardData`) as charts and static HTML.

The dashboard has three parts, one direction: `agentnb.notebook.dashboard_data` reads the store
into a `DashboardData` (a few small DataFrames), this module draws them (`figures`, `static_html`:
pure functions, no store and no widget), and `agentnb.notebook.dashboard_widget` shows them live.

```python
figs = figures(data)                 # {"runs": ChartFigure, "latency": …, "rates": …, …}
html = static_html(data, figs)       # the summary line and every chart's SVG
```

Guard errors (guards that raised: the action was stopped, the guard has a bug) are drawn when
the frames carry them (`guard_errors` columns of `Store.stats`); frames without them draw as
before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any, Final

from agentnb.display.charts import chart_bundle, chart_class
from agentnb.display.html import format_duration

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = [
    "BUCKETS",
    "STATUSES",
    "DashboardData",
    "figures",
    "guard_errors_shown",
    "static_html",
]

STATUSES: Final = ("ok", "error", "blocked", "cancelled")

BUCKETS: Final = (
    ("1min", 60, "minute"),
    ("5min", 300, "5 minutes"),
    ("15min", 900, "15 minutes"),
    ("1h", 3600, "hour"),
    ("6h", 6 * 3600, "6 hours"),
    ("1D", 86400, "day"),
    ("7D", 7 * 86400, "week"),
    ("30D", 30 * 86400, "30 days"),
)
"""Time buckets of the runs chart, finest first: (pandas frequency, seconds, name in words)."""
_COLOURS = {
    "ok": "#1a7f37",
    "error": "#cf222e",
    "blocked": "#bf8700",
    "cancelled": "#8c959f",
    "guard_error": "#a40e26",
    "p50": "#0969da",
    "p95": "#8250df",
    "cost": "#57606a",
}


@dataclass(frozen=True, eq=False)
class DashboardData:
    """What the dashboard shows for one choice of filters: a few small DataFrames."""

    agent: str | None
    version: str | None
    since: datetime | None
    """The start of the time range (UTC); None: every recorded run."""
    window: str
    """The time range in words: `last 24h`, `since 2026-11-25 10:00 UTC`, `all time`."""
    bucket: str
    """The pandas frequency of the `timeline` rows (`5min`, `1h`, `6h`, `1D`, …)."""
    timeline: pd.DataFrame
    """Runs per time bucket: `time` (UTC, the bucket's start), a count per status, `runs`."""
    versions: pd.DataFrame
    """`Store.stats(by=["agent", "version"])` plus `label` and `cost_per_run`."""
    tools: pd.DataFrame
    """The most failing tools: `Store.stats(by=["tool"])` plus `failures` (errors and guard
    blocks) and `failure_rate`, most failures first, at most `TOP_TOOLS` rows."""
    totals: Mapping[str, Any]
    """Over every matching run: `runs`, `errors`, `error_rate`, `blocked`, `block_rate`,
    `p50_ms`, `p95_ms`, `cost` (of the priced runs; None: no priced run), `cost_per_run`,
    `unpriced` (runs whose model has no price, see `agentnb.models.pricing`)."""

    @property
    def scope(self) -> str:
        """The agent and version shown, in words."""
        if self.agent is None:
            return "all agents" if self.version is None else f"all agents · {self.version}"
        return f"{self.agent} {self.version or '· all versions'}"

    @property
    def guard_errors(self) -> int | None:
        """Runs in which a guard raised (None: the store does not count them)."""
        if "guard_errors" not in self.versions:
            return None
        return int(self.versions["guard_errors"].sum())

    def summary(self) -> str:
        """One line: what is shown and its headline numbers."""
        t = self.totals
        head = f"{self.scope} · {self.window}"
        if not t["runs"]:
            return f"{head}: no runs"
        parts = [
            f"{t['runs']} run{'s' * (t['runs'] != 1)}",
            f"{t['errors']} error{'s' * (t['errors'] != 1)} ({t['error_rate']:.0%})",
            f"{t['blocked']} blocked by guards ({t['block_rate']:.0%})",
            f"p50 {format_duration(t['p50_ms'] / 1000)}",
            f"p95 {format_duration(t['p95_ms'] / 1000)}",
        ]
        if self.guard_errors:
            n = self.guard_errors
            parts.append(f"{n} guard error{'s' * (n != 1)}")
        if t["cost"] is not None:
            unpriced = f"; {t['unpriced']} without a price" if t["unpriced"] else ""
            parts.append(f"{_usd(t['cost'])} ({_usd(t['cost_per_run'])} per run{unpriced})")
        return f"{head}: " + " · ".join(parts)


def _usd(amount: float) -> str:
    """`$12.30`, `$0.0042`, `$0.000023`: small amounts keep two significant digits."""
    if amount == 0 or abs(amount) >= 0.01:
        return f"${amount:,.2f}"
    digits = 1 - math.floor(math.log10(abs(amount)))
    return f"${amount:.{digits}f}"


# --- figures ------------------------------------------------------------------------------------


def figures(data: DashboardData) -> dict[str, go.Figure]:
    """The dashboard's charts (`ChartFigure`s, which display with a static SVG fallback):
    `runs` over time, `latency` p50/p95 per version, error, guard-block (and, when there are
    any, guard-error) `rates` per version, `cost` per run per version, and the top failing
    `tools`."""
    return {
        "runs": _runs_chart(data),
        "latency": _latency_chart(data),
        "rates": _rates_chart(data),
        "cost": _cost_chart(data),
        "tools": _tools_chart(data),
    }


def _chart(title: str, traces: list[Any], empty: str | None, **layout: Any) -> go.Figure:
    fig = chart_class()(traces)
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 14}},
        height=300,
        margin={"l": 10, "r": 10, "t": 60, "b": 40},
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "traceorder": "normal"},
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
        **layout,
    )
    fig.update_yaxes(automargin=True, gridcolor="rgba(128,128,128,0.2)", rangemode="tozero")
    fig.update_xaxes(automargin=True)
    if empty is not None:
        fig.add_annotation(
            text=empty, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5, opacity=0.7
        )
    return fig


def _no_runs(data: DashboardData) -> str:
    return f"no runs of {data.scope} ({data.window})"


def _bars(
    frame: pd.DataFrame,
    category: str,
    series: list[tuple[str, str, str, str]],
    *,
    horizontal: bool = False,
) -> list[Any]:
    """A bar trace per `(name, column, colour, hover)` of `series`, over `frame[category]`
    (none for an empty frame); `hover` is a plotly hovertemplate."""
    import plotly.graph_objects as go

    if frame.empty:
        return []
    categories = frame[category].tolist()
    traces = []
    for name, column, colour, hover in series:
        values = frame[column].tolist()
        x, y = (values, categories) if horizontal else (categories, values)
        traces.append(
            go.Bar(
                name=name,
                x=x,
                y=y,
                orientation="h" if horizontal else "v",
                marker={"color": colour},
                customdata=frame["count"].tolist() if "count" in frame else None,
                hovertemplate=f"{hover}<extra>{name}</extra>",
            )
        )
    return traces


def _runs_chart(data: DashboardData) -> go.Figure:
    t = data.timeline.assign(time=[time.to_pydatetime() for time in data.timeline["time"]])
    shown = [s for s in STATUSES if s in ("ok", "error") or t[s].any()]  # no empty legend rows
    unit = next(words for f, _, words in BUCKETS if f == data.bucket)
    traces = _bars(t, "time", [(s, s, _COLOURS[s], "%{x}: %{y} runs") for s in shown])
    empty = _no_runs(data) if t.empty else None
    most = int(t["runs"].max()) if not t.empty else 0
    return _chart(
        f"Runs per {unit} (UTC)",
        traces,
        empty,
        barmode="stack",
        bargap=0.15,
        yaxis=_counts(most),
    )


def _latency_chart(data: DashboardData) -> go.Figure:
    hover = "%{x}: %{y:.1f} ms over %{customdata} runs"
    traces = _bars(
        data.versions,
        "label",
        [(name, f"{name}_ms", _COLOURS[name], hover) for name in ("p50", "p95")],
    )
    empty = _no_runs(data) if data.versions.empty else None
    return _chart("Latency per version (ms)", traces, empty, barmode="group")


def _rates_chart(data: DashboardData) -> go.Figure:
    hover = "%{x}: %{y:.0%} of %{customdata} runs"
    series = [
        ("error rate", "error_rate", _COLOURS["error"], hover),
        ("guard-block rate", "guard_block_rate", _COLOURS["blocked"], hover),
    ]
    title = "Error and guard-block rates per version"
    if guard_errors_shown(data.versions):
        series.append(("guard-error rate", "guard_error_rate", _COLOURS["guard_error"], hover))
        title = "Error, guard-block and guard-error rates per version"
    return _chart(
        title,
        _bars(data.versions, "label", series),
        _no_runs(data) if data.versions.empty else None,
        barmode="group",
        yaxis={"tickformat": ".0%"},
    )


def guard_errors_shown(versions: pd.DataFrame) -> bool:
    """Whether the per-version frame counts guard errors and has any: a store that does not
    count them, or runs without any, draw no guard-error bars (and no empty legend entry)."""
    return "guard_error_rate" in versions and bool((versions["guard_error_rate"] > 0).any())


def _cost_chart(data: DashboardData) -> go.Figure:
    priced = data.versions[data.versions["cost"].notna()]
    hover = "%{x}: $%{y:.4g} per run over %{customdata} runs"
    traces = _bars(priced, "label", [("cost per run", "cost_per_run", _COLOURS["cost"], hover)])
    empty = None
    if data.versions.empty:
        empty = _no_runs(data)
    elif priced.empty:
        empty = "no cost recorded: these models have no price (agentnb.models.pricing)"
    return _chart(
        "Cost per run per version (USD)",
        traces,
        empty,
        yaxis={"tickprefix": "$", "exponentformat": "none"},
    )


def _tools_chart(data: DashboardData) -> go.Figure:
    hover = "%{y}: %{x} of %{customdata} calls"
    traces = _bars(
        data.tools,
        "tool",
        [
            ("errors", "errors", _COLOURS["error"], hover),
            ("guard blocks", "guard_blocks", _COLOURS["blocked"], hover),
        ],
        horizontal=True,
    )
    empty = None
    if data.versions.empty:
        empty = _no_runs(data)
    elif data.tools.empty:
        empty = "no failing tool calls"
    return _chart(
        "Top failing tools (errors and guard blocks)",
        traces,
        empty,
        barmode="stack",
        yaxis={"autorange": "reversed"},  # the most failing on top
        xaxis=_counts(int(data.tools["failures"].max()) if not data.tools.empty else 0),
    )


def _counts(most: int) -> dict[str, Any]:
    """An axis of counts: whole-number ticks while the counts are small."""
    return {"dtick": 1} if most <= 6 else {}


def static_html(data: DashboardData, charts: Mapping[str, go.Figure]) -> str:
    """The dashboard as static HTML: its summary line and each chart's SVG."""
    svgs = "".join(chart_bundle(fig, include={"text/html"})["text/html"] for fig in charts.values())
    return (
        f'<div class="agentnb-dashboard"><p>{escape(data.summary())}</p>'
        f'<div style="display:flex;flex-wrap:wrap;gap:8px 16px">{svgs}</div></div>'
    )
