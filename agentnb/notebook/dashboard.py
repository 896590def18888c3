"""`dashboard()`: an agent's runs, latency, error and guard-block rates, cost and failing tools.

```python
import agentnb
agentnb.dashboard()                                   # this notebook's store, the last 24 hours
agentnb.dashboard(agent="support", since="7d")        # what `%agentnb dashboard --agent support
                                                      #        --since 7d` does
```
In a notebook someone watches it is a widget (`Dashboard`): pick the agent, the version and the
time range; Refresh re-reads the store. Where widgets cannot render (nbclient, `agentnb run`,
nbconvert, a terminal) it is a `StaticDashboard`: the same charts, each displayed with plotly's
JSON and a static SVG (`agentnb.notebook.charts`), so the HTML copy shows them too. No widget is
created there, so an executed notebook carries no widget state (which would make its HTML copy
load the widget manager from a CDN).

Both are drawn by two pure functions, testable without a front end:

```python
data = dashboard_data(store, agent="support", since="24h")   # DashboardData: small DataFrames
figs = figures(data)                                         # {"runs": ChartFigure, ...}
```
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from typing import TYPE_CHECKING, Any, Final

import ipywidgets as widgets
import pandas as pd
from traitlets import TraitError, Unicode, observe, validate

from agentnb import telemetry
from agentnb.errors import AgentnbError, UserError
from agentnb.notebook import _kernel
from agentnb.notebook.charts import chart_bundle, chart_class
from agentnb.notebook.html import format_duration
from agentnb.telemetry.settings import parse_duration, parse_since

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from agentnb.telemetry.store import Store

__all__ = [
    "RANGES",
    "Dashboard",
    "DashboardData",
    "StaticDashboard",
    "agent_versions",
    "dashboard",
    "dashboard_data",
    "figures",
]

RANGES: Final = ("1h", "24h", "7d", "all")
"""The time ranges the widget offers ("all": every recorded run)."""
STATUSES: Final = ("ok", "error", "blocked", "cancelled")
TOP_TOOLS: Final = 10

# Time buckets of the runs chart, finest first: the first that cuts the range into at most
# _MAX_BUCKETS is used (1h → 5 min, 24h → hour, 7d → 6 hours).
_BUCKETS = (
    ("1min", 60, "minute"),
    ("5min", 300, "5 minutes"),
    ("15min", 900, "15 minutes"),
    ("1h", 3600, "hour"),
    ("6h", 6 * 3600, "6 hours"),
    ("1D", 86400, "day"),
    ("7D", 7 * 86400, "week"),
    ("30D", 30 * 86400, "30 days"),
)
_MAX_BUCKETS = 48
_COLOURS = {
    "ok": "#1a7f37",
    "error": "#cf222e",
    "blocked": "#bf8700",
    "cancelled": "#8c959f",
    "p50": "#0969da",
    "p95": "#8250df",
    "cost": "#57606a",
}


# --- data ---------------------------------------------------------------------------------------


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
        if t["cost"] is not None:
            unpriced = f"; {t['unpriced']} without a price" if t["unpriced"] else ""
            parts.append(f"{_usd(t['cost'])} ({_usd(t['cost_per_run'])} per run{unpriced})")
        return f"{head}: " + " · ".join(parts)


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
    keys = [
        (a, _version_key(v)) for a, v in zip(versions["agent"], versions["version"], strict=True)
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
    return {agent: sorted(found[agent], key=_version_key) for agent in sorted(found)}


def _usd(amount: float) -> str:
    """`$12.30`, `$0.0042`, `$0.000023`: small amounts keep two significant digits."""
    if amount == 0 or abs(amount) >= 0.01:
        return f"${amount:,.2f}"
    digits = 1 - math.floor(math.log10(abs(amount)))
    return f"${amount:.{digits}f}"


def _bucket(span: timedelta) -> str:
    seconds = max(span.total_seconds(), 0.0)
    return next((f for f, size, _ in _BUCKETS if seconds / size <= _MAX_BUCKETS), _BUCKETS[-1][0])


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


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """`1.10.0` after `1.9.0`: numeric parts compare as numbers."""
    parts = version.replace("-", ".").replace("+", ".").split(".")
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


# --- figures ------------------------------------------------------------------------------------


def figures(data: DashboardData) -> dict[str, go.Figure]:
    """The dashboard's charts (`ChartFigure`s, which display with a static SVG fallback):
    `runs` over time, `latency` p50/p95 per version, error and guard-block `rates` per version,
    `cost` per run per version, and the top failing `tools`."""
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
    unit = next(words for f, _, words in _BUCKETS if f == data.bucket)
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
    traces = _bars(
        data.versions,
        "label",
        [
            ("error rate", "error_rate", _COLOURS["error"], hover),
            ("guard-block rate", "guard_block_rate", _COLOURS["blocked"], hover),
        ],
    )
    return _chart(
        "Error and guard-block rates per version",
        traces,
        _no_runs(data) if data.versions.empty else None,
        barmode="group",
        yaxis={"tickformat": ".0%"},
    )


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


# --- display ------------------------------------------------------------------------------------


class StaticDashboard:
    """The dashboard where widgets cannot render: a summary line and the charts, displayed one
    after the other, each with plotly's JSON and a static SVG."""

    def __init__(self, data: DashboardData) -> None:
        self.data = data
        self.figures = figures(data)

    def __repr__(self) -> str:
        return f"agentnb dashboard: {self.data.summary()}"

    def _repr_mimebundle_(
        self,
        include: Collection[str] | None = None,
        exclude: Collection[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        from agentnb.notebook.display import select

        return select(
            {
                "text/plain": self.__repr__,
                "text/html": lambda: static_html(self.data, self.figures),
            },
            include,
            exclude,
        )

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        line = f'<p class="agentnb-dashboard">{escape(self.data.summary())}</p>'
        summary = HTML(line)  # type: ignore[no-untyped-call]
        display(summary, *self.figures.values())  # type: ignore[no-untyped-call]


class Dashboard(widgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """The dashboard as a widget: agent, version and time-range pickers over the charts.

    The filters are traits: setting `dashboard.agent = "support"` re-filters as picking it does.
    `refresh()` (the Refresh button) re-reads the agents, versions and runs from the store.
    Displayed where widgets cannot render, it shows its `StaticDashboard` instead.

    >>> board = Dashboard(store, agent="support")  # doctest: +SKIP
    >>> board.version = "2.1.0"  # doctest: +SKIP
    >>> board.data.totals["runs"]  # doctest: +SKIP
    3
    """

    data: DashboardData
    """What the charts show now (set on creation, replaced on every change of filter)."""
    figures: dict[str, go.Figure]
    """The charts of `data`."""

    agent = Unicode(None, allow_none=True, help="The agent shown; None: every agent.")
    version = Unicode(None, allow_none=True, help="The version shown; None: every version.")
    since = Unicode(
        "24h",
        allow_none=True,
        help="The time range: '1h', '24h', '7d', any duration or ISO date; None or 'all': all.",
    )

    def __init__(
        self,
        store: Store | None = None,
        *,
        agent: str | None = None,
        version: str | None = None,
        since: str | None = "24h",
        **kwargs: Any,
    ) -> None:
        self.store = store if store is not None else telemetry.open()
        self._choices: dict[str, list[str]] = {}
        self._quiet = True  # until the controls exist and the first refresh
        sized = {"style": {"description_width": "56px"}, "layout": {"width": "230px"}}
        self.agent_picker = widgets.Dropdown(description="agent", **sized)
        self.version_picker = widgets.Dropdown(description="version", **sized)
        self.range_picker = widgets.ToggleButtons(
            style={"button_width": "48px"}, layout={"width": "auto"}
        )
        self.refresh_button = widgets.Button(
            description="Refresh",
            icon="refresh",
            tooltip="Re-read the telemetry store",
            layout={"width": "100px"},
        )
        self.summary = widgets.HTML()
        self.charts = {
            name: widgets.Output(layout=widgets.Layout(min_width="0"))
            for name in ("runs", "latency", "rates", "cost", "tools")
        }
        for picker, trait in (
            (self.agent_picker, "agent"),
            (self.version_picker, "version"),
            (self.range_picker, "since"),
        ):
            picker.observe(self._picked(trait), "value")
        self.refresh_button.on_click(lambda _: self.refresh())
        super().__init__(
            children=[
                widgets.HBox(
                    [
                        self.agent_picker,
                        self.version_picker,
                        self.range_picker,
                        self.refresh_button,
                    ],
                    layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
                ),
                self.summary,
                self.charts["runs"],
                widgets.GridBox(
                    [self.charts[n] for n in ("latency", "rates", "cost", "tools")],
                    layout=widgets.Layout(grid_template_columns="repeat(2, minmax(0, 1fr))"),
                ),
            ],
            agent=agent,
            version=version,
            since=since,
            **kwargs,
        )
        self._quiet = False
        self.refresh()

    @validate("agent", "version")
    def _none_for_all(self, proposal: dict[str, Any]) -> str | None:
        value = proposal["value"]
        return None if value is None else value.strip() or None

    @validate("since")
    def _valid_since(self, proposal: dict[str, Any]) -> str | None:
        value = proposal["value"]
        if value is None or value.strip() in ("", "all"):
            return None
        try:
            parse_since(value)
        except AgentnbError as exc:
            raise TraitError(str(exc)) from None
        return str(value).strip()

    @observe("agent", "version", "since")
    def _filters_changed(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        if change["name"] == "agent" and self.version not in (None, *self._versions()):
            with self._quietly():
                self.version = None  # not a version of the agent now shown
        self._load()

    def refresh(self) -> None:
        """Re-read the store: the agents and versions offered, then the charts."""
        self._choices = agent_versions(self.store)
        self._load()

    def snapshot(self) -> StaticDashboard:
        """What the widget shows now, without widgets."""
        return StaticDashboard(self.data)

    def _load(self) -> None:
        with self._quietly():
            self._show_filters()
        self.data = dashboard_data(
            self.store, agent=self.agent, version=self.version, since=self.since
        )
        self.figures = figures(self.data)
        self.summary.value = f"<p>{escape(self.data.summary())}</p>"
        for name, fig in self.figures.items():
            bundle = chart_bundle(fig)
            self.charts[name].outputs = (
                {"output_type": "display_data", "data": bundle, "metadata": {}},
            )

    def _versions(self) -> list[str]:
        if self.agent is not None:
            return self._choices.get(self.agent, [])
        every = {v for versions in self._choices.values() for v in versions}
        return sorted(every, key=_version_key)

    def _show_filters(self) -> None:
        """The pickers' options and values from the traits (an unknown agent or version is
        offered too: its runs may come later)."""
        agents = list(self._choices)
        versions = self._versions()
        ranges = list(RANGES)
        for known, value in ((agents, self.agent), (versions, self.version), (ranges, self.since)):
            if value is not None and value not in known:
                known.insert(-1 if known is ranges else len(known), value)
        # A picker's None means "nothing selected" (shown blank): "all" is "" or "all" there.
        self.agent_picker.options = [("all agents", ""), *((a, a) for a in agents)]
        self.agent_picker.value = self.agent or ""
        self.version_picker.options = [("all versions", ""), *((v, v) for v in versions)]
        self.version_picker.value = self.version or ""
        self.range_picker.options = ranges
        self.range_picker.value = self.since or "all"

    def _picked(self, trait: str) -> Any:
        def set_trait(change: dict[str, Any]) -> None:
            if not self._quiet:
                setattr(self, trait, change["new"] or None)  # the range's "all": see since

        return set_trait

    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        quiet, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = quiet

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        if bundle is not None and hasattr(self, "data"):
            # Where the widget state is not saved (nbconvert, GitHub), this is shown instead.
            bundle["text/html"] = static_html(self.data, self.figures)
        return bundle

    def _ipython_display_(self) -> None:
        if _kernel.front_end_is_live():
            from IPython.display import display

            display(self._repr_mimebundle_(), raw=True)  # type: ignore[no-untyped-call]
        else:
            self.snapshot()._ipython_display_()

    def __repr__(self) -> str:
        shown = self.data.summary() if hasattr(self, "data") else "loading"
        return f"agentnb dashboard (a widget): {shown}"


# --- entry point --------------------------------------------------------------------------------


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

    >>> agentnb.dashboard(agent="support", since="7d")  # doctest: +SKIP
    """
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
        return Dashboard(opened, agent=agent, version=version, since=since)
    return StaticDashboard(dashboard_data(opened, agent=agent, version=version, since=since))
