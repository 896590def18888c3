"""`timeline(payload)`: a run as a plotly waterfall, which also shows where plotly.js cannot run.

Each span of the trace payload (`agentnb.display.trace`) is a horizontal bar from its start to its
end: the run, each model call, each tool call, each guard check, coloured by kind; blocked and
failed spans are drawn in red with a ⊘ / ✕ in their label, and monitor findings are diamonds on
the run's row. `RunResult.plot()` is this over the run's (redacted) payload.

The figure is a `TraceFigure` (`agentnb.display.figures`): displayed (last expression of a cell,
or `display(fig)`) it shows plotly's JSON and a static SVG drawn from that JSON (`svg_timeline`)
rather than going through `plotly.io.renderers.default`; `fig.show()` still goes through plotly's
renderers. plotly is imported on the first call, not with this module.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from agentnb import semconv as A
from agentnb.display.figures import (
    FONT,
    figure_bundle,
    number,
    plain_label,
    static_fallback_class,
    tick_values,
)
from agentnb.display.html import format_duration

if TYPE_CHECKING:
    import plotly.graph_objects as go

    TraceFigure: type[go.Figure]  # made on first use by `figure_class()`, see `__getattr__`

__all__ = ["TraceFigure", "svg_timeline", "timeline", "timeline_bundle"]

# (legend name, colour) per kind; blocked and failed spans get their own legend entries.
_KINDS = {
    "invoke_agent": ("run", "#57606a"),
    "chat": ("model call", "#0969da"),
    "execute_tool": ("tool call", "#8250df"),
    "guard": ("guard", "#9198a1"),
    "blocked": ("blocked", "#cf222e"),
    "error": ("failed", "#a40e26"),
}
_FINDING = ("monitor finding", "#bf8700")


def timeline(payload: Mapping[str, Any]) -> go.Figure:
    """A waterfall of the spans of a trace payload.

    >>> fig = timeline(trace_payload(result))  # doctest: +SKIP
    >>> fig.update_layout(height=400)  # doctest: +SKIP
    """
    figure_type = figure_class()
    import plotly.graph_objects as go

    spans = [s for s in payload.get("spans", []) if s.get("kind") != "monitor"]
    total = float(payload.get("duration") or 0.0)
    scale, unit = (1.0, "s") if total >= 2 else (1000.0, "ms")
    # Zero-length checks would be invisible: every bar is at least 0.4% of the run.
    least = max(total * scale * 0.004, 1e-6)

    groups: dict[str, list[Mapping[str, Any]]] = {}
    for span in spans:
        status = span.get("status")
        key = status if status in ("blocked", "error") else span.get("kind", "guard")
        if key not in _KINDS:
            key = "guard"
        groups.setdefault(str(key), []).append(span)

    fig = figure_type()
    for key, (name, colour) in _KINDS.items():
        members = groups.get(key)
        if not members:
            continue
        fig.add_trace(
            go.Bar(
                name=name,
                orientation="h",
                y=[s["id"] for s in members],
                base=[float(s.get("start", 0.0)) * scale for s in members],
                x=[max(float(s.get("duration", 0.0)) * scale, least) for s in members],
                marker={"color": colour, "line": {"width": 0}},
                customdata=[_hover(s, unit, scale) for s in members],
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
    findings = [s for s in payload.get("spans", []) if s.get("kind") == "monitor"]
    if findings:
        # Monitors report in the background, often after the run: such findings sit at its end
        # (their hover text says when they came) rather than stretch the axis past the run.
        fig.add_trace(
            go.Scatter(
                name=_FINDING[0],
                mode="markers",
                y=["run"] * len(findings),
                x=[min(float(s.get("start", 0.0)), total) * scale for s in findings],
                marker={"symbol": "diamond", "size": 11, "color": _FINDING[1]},
                customdata=[_hover(s, unit, scale) for s in findings],
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
    ids = [s["id"] for s in spans]
    fig.update_layout(
        title={"text": _title(payload, total), "x": 0, "xanchor": "left", "font": {"size": 14}},
        barmode="overlay",
        bargap=0.35,
        height=110 + 24 * max(len(ids), 1),
        margin={"l": 10, "r": 20, "t": 70, "b": 40},
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        xaxis={
            "title": {"text": f"{unit} since the run started"},
            "rangemode": "tozero",
            "gridcolor": "rgba(128,128,128,0.2)",
            "zeroline": False,
        },
        yaxis={
            "tickmode": "array",
            "tickvals": ids,
            "ticktext": [_label(s) for s in spans],
            "categoryorder": "array",
            "categoryarray": ids,
            "autorange": "reversed",
            "automargin": True,
            "showgrid": False,
            "ticklabelstandoff": 6,
        },
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
        hoverlabel={"align": "left"},
    )
    return fig


@functools.cache
def figure_class() -> type[go.Figure]:
    """`TraceFigure`, created on first use so that importing this module does not load plotly."""
    return static_fallback_class("TraceFigure", __name__, "result.plot()", timeline_bundle)


def __getattr__(name: str) -> Any:
    if name == "TraceFigure":
        return figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def timeline_bundle(
    fig: go.Figure,
    include: Collection[str] | None = None,
    exclude: Collection[str] | None = None,
) -> dict[str, Any]:
    """The display bundle of a `TraceFigure`: plotly's JSON, the static SVG, a line of text."""
    return figure_bundle(fig, include, exclude, fallback=svg_timeline)


# --- the static fallback ------------------------------------------------------------------------


def svg_timeline(spec: Mapping[str, Any]) -> str:
    """A static SVG of a timeline figure's JSON (horizontal bars and markers; other traces are
    skipped), wrapped in a `<div>`: the HTML fallback of `TraceFigure`."""
    layout = spec.get("layout", {})
    yaxis = layout.get("yaxis", {})
    rows: list[Any] = list(yaxis.get("tickvals") or [])
    labels = dict(zip(rows, yaxis.get("ticktext") or rows, strict=False))
    bars: list[tuple[Any, float, float, str, str]] = []  # row, start, length, colour, tooltip
    marks: list[tuple[Any, float, str, str]] = []
    legend: list[tuple[str, str]] = []
    for trace in spec.get("data", []):
        colour = str(trace.get("marker", {}).get("color", "#57606a"))
        hover = [str(h) for h in trace.get("customdata") or []]
        if trace.get("type") == "bar" and trace.get("orientation") == "h":
            ys, xs = trace.get("y", []), trace.get("x", [])
            bases = trace.get("base") or [0.0] * len(ys)
            for i, (y, base, x) in enumerate(zip(ys, bases, xs, strict=False)):
                bars.append((y, float(base), float(x), colour, hover[i] if i < len(hover) else ""))
        elif trace.get("type") == "scatter":
            for i, (y, x) in enumerate(zip(trace.get("y", []), trace.get("x", []), strict=False)):
                marks.append((y, float(x), colour, hover[i] if i < len(hover) else ""))
        else:
            continue
        if trace.get("showlegend", True) and trace.get("name"):
            legend.append((str(trace["name"]), colour))
    for y in [b[0] for b in bars] + [m[0] for m in marks]:
        if y not in labels:
            rows.append(y)
            labels[y] = y

    label_width = min(300, 16 + 6.4 * max((len(str(v)) for v in labels.values()), default=4))
    width, row_h, top, bottom = 760, 22, 52, 36
    plot_w = width - label_width - 24
    height = top + row_h * max(len(rows), 1) + bottom
    xmax = max([b[1] + b[2] for b in bars] + [m[1] for m in marks] + [0.0])
    ticks = tick_values(xmax)
    span = ticks[-1] if ticks and ticks[-1] > 0 else 1.0

    def px(x: float) -> float:
        return label_width + plot_w * x / span

    def row_y(y: Any) -> float:
        return top + row_h * rows.index(y)

    title = plain_label(layout.get("title", {}).get("text", ""))
    unit = plain_label(layout.get("xaxis", {}).get("title", {}).get("text", ""))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" style="{FONT};max-width:100%;height:auto">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="14" fill="currentColor" style="font-size:13px;font-weight:600">'
        f"{escape(title)}</text>",
    ]
    lx = 0.0
    for name, colour in legend:
        out.append(
            f'<rect x="{lx:.1f}" y="26" width="10" height="10" rx="2" fill="{escape(colour)}"/>'
            f'<text x="{lx + 14:.1f}" y="35" fill="currentColor">{escape(name)}</text>'
        )
        lx += 24 + 6.4 * len(name)
    for tick in ticks:
        x = px(tick)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{height - bottom + 2}" '
            'stroke="currentColor" stroke-opacity="0.15"/>'
            f'<text x="{x:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
            f'fill="currentColor" fill-opacity="0.7">{number(tick)}</text>'
        )
    if unit:
        out.append(
            f'<text x="{label_width + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle" '
            f'fill="currentColor" fill-opacity="0.7">{escape(unit)}</text>'
        )
    for y in rows:
        out.append(
            f'<text x="{label_width - 8:.1f}" y="{row_y(y) + row_h / 2 + 4:.1f}" '
            f'text-anchor="end" fill="currentColor">'
            f"{escape(plain_label(str(labels[y])))}</text>"
        )
    for y, start, length, colour, tip in bars:
        out.append(
            f'<rect x="{px(start):.1f}" y="{row_y(y) + 5:.1f}" '
            f'width="{max(px(start + length) - px(start), 2.0):.1f}" height="{row_h - 10}" '
            f'rx="2" fill="{escape(colour)}"><title>{escape(plain_label(tip))}</title></rect>'
        )
    for y, x, colour, tip in marks:
        cx, cy = px(x), row_y(y) + row_h / 2
        out.append(
            f'<path d="M{cx:.1f} {cy - 6:.1f}L{cx + 6:.1f} {cy:.1f}L{cx:.1f} {cy + 6:.1f}'
            f'L{cx - 6:.1f} {cy:.1f}Z" fill="{escape(colour)}"><title>{escape(plain_label(tip))}'
            "</title></path>"
        )
    out.append("</svg>")
    return f'<div class="agentnb-timeline">{"".join(out)}</div>'


# --- labels -------------------------------------------------------------------------------------


def _title(payload: Mapping[str, Any], total: float) -> str:
    totals = payload.get("totals", {})
    agent, version, status = (
        escape(str(payload.get(key, ""))) for key in ("agent", "agent_version", "status")
    )
    return (
        f"<b>{agent}</b> {version} · {status} · {totals.get('steps', 0)} steps · "
        f"{totals.get('total_tokens', 0):,} tokens · {format_duration(total)}"
    )


def _label(span: Mapping[str, Any]) -> str:
    a = span.get("attributes", {})
    kind = span.get("kind")
    status = span.get("status")
    mark = {"blocked": " ⊘", "error": " ✕", "warn": " ⚠"}.get(str(status), "")
    if kind == "invoke_agent":
        text = f"run {a.get(A.GEN_AI_AGENT_NAME, '')}"
    elif kind == "chat":
        text = f"step {span.get('step')} · model"
    elif kind == "execute_tool":
        text = f"tool {a.get(A.GEN_AI_TOOL_NAME, '')}"
    else:
        text = f"guard {a.get(A.AGENTNB_GUARD_NAME, '')}"
    return escape(text + mark)


def _hover(span: Mapping[str, Any], unit: str, scale: float) -> str:
    a = span.get("attributes", {})
    start = float(span.get("start", 0.0)) * scale
    duration = float(span.get("duration", 0.0)) * scale
    lines = [f"<b>{escape(str(span.get('name')))}</b> · {escape(str(span.get('status')))}"]
    kind = span.get("kind")
    if kind == "monitor":
        lines.append(f"reported at {start:.3g} {unit}")
    else:
        lines.append(f"start {start:.3g} {unit} · duration {duration:.3g} {unit}")
    if kind == "chat":
        lines.append(
            f"{a.get(A.GEN_AI_USAGE_INPUT_TOKENS, 0)} → {a.get(A.GEN_AI_USAGE_OUTPUT_TOKENS, 0)}"
            " tokens"
        )
    elif kind == "guard":
        reason = a.get(A.AGENTNB_GUARD_REASON) or ""
        lines.append(
            f"{escape(str(a.get(A.AGENTNB_GUARD_OUTCOME)))} at "
            f"{escape(str(a.get(A.AGENTNB_GUARD_POINT)))}: {escape(_short(str(reason)))}"
        )
    elif kind == "execute_tool" and A.AGENTNB_ERROR_MESSAGE in a:
        lines.append(escape(_short(str(a[A.AGENTNB_ERROR_MESSAGE]))))
    elif kind == "monitor":
        lines.append(escape(_short(str(a.get(A.AGENTNB_MONITOR_MESSAGE, "")))))
    return "<br>".join(lines)


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
