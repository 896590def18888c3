"""Plotly figures that also display where plotly.js cannot run: the figure half of the kit.

plotly's own display in a kernel emits only `application/vnd.plotly.v1+json`, which nbconvert HTML
and GitHub cannot draw. A figure class made by `static_fallback_class` (a `plotly.graph_objects.
Figure` subclass) displays `figure_bundle(fig)` instead: that JSON *and* a `text/html` fallback, a
small static SVG drawn from the figure's own JSON (so edits such as `fig.update_traces(...)` show in
both). Alternatives weighed: `to_html(include_plotlyjs=True)` embeds 3.5 MB of plotly.js in every
figure; `include_plotlyjs="cdn"` is an external script (no network, no figure; and sanitisers drop
scripts); kaleido (static images) is not available. The SVG is a few kB and needs nothing.

The run timeline (`agentnb.display.timeline`) and the dashboard's bar charts
(`agentnb.display.charts`) are such figures; this module holds what they share. plotly is
imported on first use, never when a module loads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection
from html import unescape
from typing import TYPE_CHECKING, Any, Final

from agentnb.display.bundle import select
from agentnb.errors import MissingDependency

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "FONT",
    "PLOTLY_MIME",
    "figure_bundle",
    "number",
    "plain_label",
    "static_fallback_class",
    "tick_values",
]

PLOTLY_MIME: Final = "application/vnd.plotly.v1+json"


def static_fallback_class(
    name: str, module: str, feature: str, bundle: Callable[..., dict[str, Any]]
) -> type[go.Figure]:
    """A `go.Figure` subclass named `module.name` that displays as `bundle(fig, include,
    exclude)`; plotly is imported here, on first use, never when the module loads."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise MissingDependency("plotly", "notebook", feature) from None

    class StaticFallbackFigure(go.Figure):  # type: ignore[misc]
        # IPython calls `_ipython_display_` before any `_repr_*_`: plotly's sends the figure
        # through `plotly.io` renderers, which in a kernel emit the plotly JSON alone.
        _ipython_display_ = None

        def _repr_mimebundle_(
            self,
            include: Collection[str] | None = None,
            exclude: Collection[str] | None = None,
            **kwargs: Any,
        ) -> dict[str, Any]:
            return bundle(self, include, exclude)

    StaticFallbackFigure.__name__ = name
    StaticFallbackFigure.__module__ = module
    StaticFallbackFigure.__qualname__ = name  # pickles by reference: via the module's __getattr__
    StaticFallbackFigure.__doc__ = (
        f"A plotly `Figure` displayed with a static SVG fallback ({module})."
    )
    return StaticFallbackFigure


def figure_bundle(
    fig: go.Figure,
    include: Collection[str] | None = None,
    exclude: Collection[str] | None = None,
    *,
    fallback: Callable[[dict[str, Any]], str],
    plain: Callable[[dict[str, Any]], str] | None = None,
) -> dict[str, Any]:
    """The display bundle of a figure: plotly's JSON, a static HTML fallback made from that JSON
    by `fallback`, and a line of text (`plain`, default: the figure's type and trace count)."""
    spec: dict[str, Any] | None = None

    def figure_json() -> dict[str, Any]:
        nonlocal spec
        if spec is None:
            spec = json.loads(fig.to_json())
            spec["config"] = {"displaylogo": False}
        return spec

    return select(
        {
            PLOTLY_MIME: figure_json,
            "text/html": lambda: fallback(figure_json()),
            "text/plain": lambda: (
                plain(figure_json()) if plain else f"<{type(fig).__name__}: {len(fig.data)} traces>"
            ),
        },
        include,
        exclude,
    )


# --- pieces of the static fallbacks -------------------------------------------------------------

FONT: Final = (
    "font-family:var(--jp-ui-font-family,system-ui,-apple-system,'Segoe UI',Roboto,Arial,"
    "sans-serif);font-size:11px"
)


def tick_values(xmax: float) -> list[float]:
    """About five round tick values from 0 to at least `xmax`."""
    if xmax <= 0:
        return [0.0, 1.0]
    raw = xmax / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    count = math.ceil(xmax / step - 1e-9)
    return [round(i * step, 10) for i in range(count + 1)]


def number(value: float) -> str:
    """A short label for an axis value: `0.25`, `1500`, or `3.0e-03` below 0.01."""
    return f"{value:g}" if abs(value) >= 0.01 or value == 0 else f"{value:.1e}"


def plain_label(text: str) -> str:
    """The text of a plotly label: its line breaks and tags removed, its entities decoded."""
    for tag in ("<br>", "<br/>", "<br />"):
        text = text.replace(tag, " · ")
    for tag in ("<b>", "</b>", "<i>", "</i>"):
        text = text.replace(tag, "")
    return unescape(text)
