"""The dashboard as a widget (`Dashboard`) and, where widgets cannot render, as `StaticDashboard`.

In a notebook someone watches it is a widget: pick the agent, the version and the time range;
Refresh re-reads the store. Where widgets cannot render (nbclient, `agentnb run`, nbconvert, a
terminal) it is a `StaticDashboard`: the same charts, each displayed with plotly's JSON and a
static SVG (`agentnb.display.charts`), so the HTML copy shows them too. No widget is created there,
so an executed notebook carries no widget state (which would make its HTML copy load the widget
manager from a CDN).

The data comes from `agentnb.notebook.dashboard_data`, the charts from `agentnb.display.dashboard`;
`agentnb.dashboard()` (`agentnb.notebook.dashboard`) picks the kind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator
from html import escape
from typing import TYPE_CHECKING, Any, Final

import ipywidgets as widgets
from traitlets import TraitError, Unicode, observe, validate

from agentnb import telemetry
from agentnb.display.bundle import select
from agentnb.display.charts import chart_bundle
from agentnb.display.dashboard import DashboardData, figures, static_html
from agentnb.errors import AgentnbError
from agentnb.notebook import _kernel
from agentnb.notebook.dashboard_data import agent_versions, dashboard_data, version_key
from agentnb.telemetry.settings import parse_since

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from agentnb.telemetry.store import Store

__all__ = ["RANGES", "Dashboard", "StaticDashboard"]

RANGES: Final = ("1h", "24h", "7d", "all")
"""The time ranges the widget offers ("all": every recorded run)."""


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
        return sorted(every, key=version_key)

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
