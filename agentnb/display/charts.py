"""`ChartFigure`: a plotly bar chart that also displays where plotly.js cannot run.

The dashboard's charts are bar charts (vertical or horizontal, grouped or stacked). Like the run
timeline (`agentnb.display.timeline`), a `ChartFigure` displays a bundle with plotly's JSON *and* a
`text/html` fallback: a small static SVG drawn from the figure's own JSON, so nbconvert HTML and
GitHub show the chart too, and edits such as `fig.update_traces(...)` show in both.

```python
fig = chart_class()(go.Bar(x=["fx 1.0.0"], y=[0.25], name="error rate"))
html = chart_bundle(fig)["text/html"]    # '<div class="agentnb-chart"><svg …'
```
plotly is imported on first use, not with this module.
"""

from __future__ import annotations

import base64
import functools
import math
import re
from collections.abc import Collection, Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from agentnb.display.figures import (
    FONT,
    figure_bundle,
    number,
    plain_label,
    static_fallback_class,
    tick_values,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

    ChartFigure: type[go.Figure]  # made on first use by `chart_class()`, see `__getattr__`

__all__ = ["ChartFigure", "chart_bundle", "chart_class", "svg_bars"]

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})")


@functools.cache
def chart_class() -> type[go.Figure]:
    """`ChartFigure`, created on first use so that importing this module does not load plotly."""
    return static_fallback_class("ChartFigure", __name__, "The dashboard", chart_bundle)


def __getattr__(name: str) -> Any:
    if name == "ChartFigure":
        return chart_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def chart_bundle(
    fig: go.Figure,
    include: Collection[str] | None = None,
    exclude: Collection[str] | None = None,
) -> dict[str, Any]:
    """The display bundle of a chart: plotly's JSON, the static SVG bars, a line of text."""
    return figure_bundle(
        fig,
        include,
        exclude,
        fallback=svg_bars,
        plain=lambda spec: f"<{plain_label(_title(spec))}: {len(fig.data)} traces>",
    )


# --- the static fallback ------------------------------------------------------------------------


def svg_bars(spec: Mapping[str, Any]) -> str:
    """A static SVG of a bar chart's JSON (other trace types are skipped), in a `<div>`."""
    layout = spec.get("layout", {})
    traces = [t for t in spec.get("data", []) if t.get("type") == "bar"]
    horizontal = bool(traces) and traces[0].get("orientation") == "h"
    along, across = ("y", "x") if horizontal else ("x", "y")
    value_axis = layout.get("xaxis" if horizontal else "yaxis", {})
    categories: list[Any] = []
    series: list[tuple[str, str, dict[Any, float]]] = []  # name, colour, value per category
    for trace in traces:
        keys, values = _array(trace.get(along)), _array(trace.get(across))
        for key in keys:
            if key not in categories:
                categories.append(key)
        colour = trace.get("marker", {}).get("color", "#57606a")
        series.append(
            (
                str(trace.get("name") or ""),
                colour if isinstance(colour, str) else "#57606a",
                {k: float(v or 0) for k, v in zip(keys, values, strict=False)},
            )
        )
    stacked = layout.get("barmode") == "stack"
    if stacked:
        top = max((sum(s[2].get(c, 0.0) for s in series) for c in categories), default=0.0)
    else:
        top = max((v for s in series for v in s[2].values()), default=0.0)
    dtick = value_axis.get("dtick")
    if isinstance(dtick, (int, float)) and dtick > 0:  # plotly's fixed tick step
        ticks = [i * float(dtick) for i in range(max(math.ceil(top / dtick - 1e-9), 1) + 1)]
    else:
        ticks = tick_values(top)
    scale = ticks[-1] if ticks[-1] > 0 else 1.0
    labels = _labels(categories)

    width, title_h = 480, 48 if len(series) > 1 else 30
    if horizontal:
        left = min(200.0, 16 + 6.4 * max((len(v) for v in labels), default=4))
        slot = 24.0
        plot_h = slot * max(len(categories), 1)
        height = title_h + plot_h + 36
        plot_w = width - left - 16
    else:
        left = 12 + 6.4 * max(len(_format(t, value_axis)) for t in ticks)
        height = 260
        plot_h = height - title_h - 44
        plot_w = width - left - 12
        slot = plot_w / max(len(categories), 1)

    def fmt(value: float) -> str:
        return _format(value, value_axis)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
        f'viewBox="0 0 {width} {height:.0f}" role="img" '
        f'style="{FONT};max-width:100%;height:auto">',
        f"<title>{escape(plain_label(_title(spec)))}</title>",
        f'<text x="0" y="14" fill="currentColor" style="font-size:13px;font-weight:600">'
        f"{escape(plain_label(_title(spec)))}</text>",
    ]
    if len(series) > 1:
        lx = 0.0
        for name, colour, _ in series:
            out.append(
                f'<rect x="{lx:.1f}" y="24" width="10" height="10" rx="2" fill="{escape(colour)}"/>'
                f'<text x="{lx + 14:.1f}" y="33" fill="currentColor">{escape(name)}</text>'
            )
            lx += 24 + 6.4 * len(name)
    for tick in ticks:  # value grid lines and their labels
        if horizontal:
            x = left + plot_w * tick / scale
            out.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{title_h}" y2="{title_h + plot_h:.1f}" '
                'stroke="currentColor" stroke-opacity="0.15"/>'
                f'<text x="{x:.1f}" y="{title_h + plot_h + 14:.1f}" text-anchor="middle" '
                f'fill="currentColor" fill-opacity="0.7">{escape(fmt(tick))}</text>'
            )
        else:
            y = title_h + plot_h * (1 - tick / scale)
            out.append(
                f'<line x1="{left:.1f}" x2="{left + plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                'stroke="currentColor" stroke-opacity="0.15"/>'
                f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" '
                f'fill="currentColor" fill-opacity="0.7">{escape(fmt(tick))}</text>'
            )
    # Vertical charts label every k-th category so that labels do not overlap, counting from
    # the last (on a time axis: the latest bucket), and drop a label that would be cut off.
    room = 8 + 6.4 * max((len(v) for v in labels), default=1)
    every = 1 if horizontal else max(math.ceil(room / slot), 1)
    for i, label in enumerate(labels):  # category labels
        if (len(labels) - 1 - i) % every:
            continue
        if horizontal:
            y = title_h + slot * i + slot / 2 + 4
            out.append(
                f'<text x="{left - 8:.1f}" y="{y:.1f}" text-anchor="end" '
                f'fill="currentColor">{escape(label)}</text>'
            )
        else:
            x = left + slot * i + slot / 2
            if x - 3.2 * len(label) < 0 or x + 3.2 * len(label) > width:
                continue
            out.append(
                f'<text x="{x:.1f}" y="{title_h + plot_h + 16:.1f}" text-anchor="middle" '
                f'fill="currentColor">{escape(label)}</text>'
            )
    bar = slot * (0.7 if stacked or len(series) < 2 else 0.8 / len(series))
    for i, category in enumerate(categories):
        base = 0.0
        for j, (name, colour, heights) in enumerate(series):
            value = heights.get(category)
            if value is None:
                continue
            offset = slot * 0.15 if stacked or len(series) < 2 else slot * 0.1 + bar * j
            start = slot * i + offset
            low, high = (base, base + value) if stacked else (0.0, value)
            base = high if stacked else base
            tip = f"{labels[i]} · {name + ': ' if name else ''}{fmt(value)}"
            length = plot_w if horizontal else plot_h
            a, b = length * low / scale, length * high / scale
            if b - a <= 0:
                continue
            if horizontal:
                x, y, w, h = left + a, title_h + start, b - a, bar
            else:
                x, y, w, h = left + start, title_h + plot_h - b, bar, b - a
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                f'fill="{escape(colour)}"><title>{escape(tip)}</title></rect>'
            )
    for note in layout.get("annotations") or []:  # what an empty chart says instead
        words = escape(plain_label(str(note.get("text", ""))))
        out.append(
            f'<text x="{width / 2:.0f}" y="{title_h + plot_h / 2:.0f}" text-anchor="middle" '
            f'fill="currentColor" fill-opacity="0.7">{words}</text>'
        )
    out.append("</svg>")
    return f'<div class="agentnb-chart">{"".join(out)}</div>'


def _title(spec: Mapping[str, Any]) -> str:
    title = spec.get("layout", {}).get("title", {})
    return str(title.get("text", "") if isinstance(title, Mapping) else title)


def _array(value: Any) -> list[Any]:
    """A trace's data array as a list; plotly's JSON writes numpy arrays as base64 buffers."""
    if isinstance(value, Mapping) and "bdata" in value:
        import numpy as np

        return list(np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist())
    return list(value or [])


def _format(value: float, axis: Mapping[str, Any]) -> str:
    """A value as the axis shows it: `tickformat` percent (`.0%`) and `tickprefix` (`$`)."""
    prefix = str(axis.get("tickprefix", ""))
    if str(axis.get("tickformat", "")).endswith("%"):
        return f"{prefix}{value * 100:g}%"
    if prefix == "$" and 0 < abs(value) < 0.01:  # amounts in dollars: no scientific notation
        import numpy as np

        return prefix + np.format_float_positional(value, precision=8, trim="-")
    return f"{prefix}{number(value)}"


def _labels(categories: list[Any]) -> list[str]:
    """Category labels; ISO times are shortened to what differs between them (UTC)."""
    times = [_ISO.match(str(c)) for c in categories]
    if not categories or not all(times):
        return [plain_label(str(c)) for c in categories]
    parts = [m.groups() for m in times if m is not None]
    one_day = len({p[:3] for p in parts}) == 1
    midnights = all(p[3:] == ("00", "00") for p in parts)
    if one_day:
        return [f"{p[3]}:{p[4]}" for p in parts]
    if midnights:
        return [f"{p[1]}-{p[2]}" for p in parts]
    return [f"{p[1]}-{p[2]} {p[3]}:{p[4]}" for p in parts]
