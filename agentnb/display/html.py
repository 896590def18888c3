"""Small HTML pieces shared by the meta layer's displays (reports, proposals, comparisons).

Every display is a function of plain data, self-contained (one scoped `<style>`, inline colours
where it matters so sanitised front ends still show them) and escapes every text it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from html import escape
from typing import Any

__all__ = ["STYLE", "badge", "bundle", "diff_html", "esc", "fmt", "table", "wrap"]

ROOT = "agentnb-meta"
STYLE = f"""<style>
.{ROOT} {{font-family: var(--jp-ui-font-family, system-ui, sans-serif); font-size: 13px;
  line-height: 1.45; max-width: 1100px}}
.{ROOT} table {{border-collapse: collapse; margin: 4px 0 10px}}
.{ROOT} th, .{ROOT} td {{padding: 3px 10px; border-bottom: 1px solid rgba(128,128,128,.25);
  text-align: left; vertical-align: top}}
.{ROOT} td.num {{text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap}}
.{ROOT} pre {{margin: 4px 0; padding: 6px 8px; background: rgba(128,128,128,.08);
  white-space: pre-wrap; font-size: 12px}}
.{ROOT} .muted {{opacity: .7}}
.{ROOT} h4 {{margin: 8px 0 4px}}
</style>"""

_COLOURS = {
    "critical": "#cf222e",
    "warning": "#9a6700",
    "info": "#0969da",
    "major": "#cf222e",
    "minor": "#9a6700",
    "patch": "#1a7f37",
    "better": "#1a7f37",
    "worse": "#cf222e",
    "same": "#6e7781",
}


def esc(value: Any) -> str:
    return escape(str(value), quote=True)


def fmt(value: float | None, unit: str = "") -> str:
    """A figure as people read it: shares as percentages, large counts with separators."""
    if value is None or value != value:  # None or NaN
        return "–"
    if unit == "share":
        return f"{value * 100:.1f}%" if abs(value) >= 0.001 or value == 0 else f"{value * 100:.2f}%"
    if unit == "pp":
        return f"{value * 100:+.1f} pp"
    if unit == "ms":
        if abs(value) >= 1000:
            return f"{value / 1000:.2f} s"
        return f"{value:.0f} ms" if abs(value) >= 10 else f"{value:.2g} ms"
    if unit == "usd":
        if abs(value) >= 1:
            return f"${value:,.2f}"
        return f"${value:.4f}" if abs(value) >= 0.01 or value == 0 else f"${value:.6f}"
    if unit == "tokens":
        return f"{value:,.0f} tokens" if abs(value) >= 100 else f"{value:.1f} tokens"
    if unit == "steps":
        return f"{value:.2f} steps" if not float(value).is_integer() else f"{int(value)} steps"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}" + (f" {unit}" if unit and unit != "count" else "")
    return f"{value:,.2f}" + (f" {unit}" if unit and unit != "count" else "")


def badge(label: str, key: str | None = None) -> str:
    colour = _COLOURS.get(key or label, "#6e7781")
    return (
        f'<span style="background:{colour};color:#fff;border-radius:3px;padding:0 5px;'
        f'font-size:11px;white-space:nowrap">{esc(label)}</span>'
    )


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Collection[int] = ()
) -> str:
    """An HTML table; cells are HTML already (escape them with `esc`)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def diff_html(diff: str) -> str:
    """A unified diff with added lines green and removed lines red (inline styles)."""
    lines = []
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            style = "background:rgba(26,127,55,.15)"
        elif line.startswith("-") and not line.startswith("---"):
            style = "background:rgba(207,34,46,.15)"
        else:
            style = "opacity:.75"
        lines.append(f'<span style="{style}">{esc(line)}</span>')
    return "<pre>" + "\n".join(lines) + "</pre>"


def wrap(inner: str) -> str:
    return f'{STYLE}<div class="{ROOT}">{inner}</div>'


def bundle(
    makers: dict[str, Callable[[], Any]],
    include: Collection[str] | None,
    exclude: Collection[str] | None,
) -> dict[str, Any]:
    """The entries of `makers` the front end asked for (IPython's include/exclude)."""
    return {
        mime: make()
        for mime, make in makers.items()
        if (include is None or mime in include) and (exclude is None or mime not in exclude)
    }
