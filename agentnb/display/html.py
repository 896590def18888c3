"""The shared HTML pieces of every display: badges, tables, texts, numbers, and the stylesheet.

Run traces, verdict tables, meta reports, proposals, comparisons and the dashboard all build their
HTML from these, so a badge or a table looks and reads the same everywhere. Every piece is a
function of plain data, escapes every text it is given, and carries its colours inline where it
matters (front ends that sanitise HTML drop `<style>` but keep `style=""`; GitHub drops both, so
badges also say what they mean in words and symbols).

```python
from agentnb.display.html import badge, table, wrap

wrap(table(["guard", "outcome"], [["no_pii", badge("pass")]]))
# '<div class="agentnb-view"><style>.agentnb-view{…}</style><table class="anb-table">…'
```
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any, Final

__all__ = [
    "BADGES",
    "COLOURS",
    "MAX_TEXT",
    "PREVIEW_CHARS",
    "PREVIEW_LINES",
    "ROOT",
    "badge",
    "diff_html",
    "esc",
    "fmt",
    "format_cost",
    "format_duration",
    "minify_css",
    "stylesheet",
    "table",
    "text_block",
    "wrap",
]

ROOT: Final = "agentnb-view"
"""The root class of views other than the trace (`agentnb-trace`): reports, tables, charts."""

PREVIEW_CHARS: Final = 300
"""Characters of a long text shown before "show more"."""
PREVIEW_LINES: Final = 6
MAX_TEXT: Final = 20_000
"""Characters of one text the HTML holds at most (preview and "show more" together)."""

# Solid colours read on light and dark backgrounds alike (white text on a mid tone).
COLOURS: Final = {
    "green": "#1a7f37",
    "amber": "#9a6700",
    "red": "#cf222e",
    "dark_red": "#a40e26",
    "purple": "#8250df",
    "blue": "#0969da",
    "grey": "#6e7781",
}
_C = COLOURS
BADGES: Final[dict[str, tuple[str, str, str]]] = {
    # key: (symbol, label, colour). A guard verdict's outcome:
    "pass": ("✓", "pass", _C["green"]),
    "warn": ("⚠", "warn", _C["amber"]),
    "block": ("⊘", "block", _C["red"]),
    "rewrite": ("✎", "rewrite", _C["purple"]),
    "error": ("✕", "error", _C["dark_red"]),
    # a run's status (distinct keys: a page can count verdict badges by class)
    "status-ok": ("✓", "ok", _C["green"]),
    "status-error": ("✕", "error", _C["dark_red"]),
    "status-blocked": ("⊘", "blocked", _C["red"]),
    "status-cancelled": ("■", "cancelled", _C["grey"]),
    # a tool call; a guard that raised
    "blocked": ("⊘", "blocked", _C["red"]),
    "failed": ("✕", "failed", _C["dark_red"]),
    "guard-error": ("✕", "guard error", _C["red"]),
    # a monitor finding's severity
    "info": ("i", "info", _C["blue"]),
    "warning": ("⚠", "warning", _C["amber"]),
    "severe": ("✕", "error", _C["dark_red"]),
    # a meta finding's severity, a version bump, a comparison's verdict
    "critical": ("✕", "critical", _C["red"]),
    "major": ("▲", "major", _C["red"]),
    "minor": ("△", "minor", _C["amber"]),
    "patch": ("·", "patch", _C["green"]),
    "better": ("▲", "better", _C["green"]),
    "worse": ("▼", "worse", _C["red"]),
    "same": ("=", "same", _C["grey"]),
}

_HERE = Path(__file__).parent


def minify_css(css: str) -> str:
    """The stylesheet without comments and line breaks: it is repeated in every output."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return re.sub(r"\s*\n\s*", "", css).replace(": ", ":").replace(" {", "{")


_BASE_CSS = minify_css((_HERE / "base.css").read_text(encoding="utf-8"))


def stylesheet(root: str = ROOT) -> str:
    """The shared rules (fonts, badges, tables, code, muted text) scoped under `.root`."""
    return _BASE_CSS.replace(".ROOT", f".{root}")


def wrap(inner: str, *, root: str = ROOT) -> str:
    """`inner` in a self-contained view: one scoped `<style>` block and the root `<div>`."""
    return f'<div class="{root}"><style>{stylesheet(root)}</style>{inner}</div>'


def esc(value: Any) -> str:
    """`str(value)` escaped for HTML text and attribute values."""
    return escape(str(value), quote=True)


def badge(key: str, label: str | None = None, *, caps: bool = False) -> str:
    """A coloured pill for `key` (see `BADGES`), its symbol and `label` (default: the key's).

    >>> badge("block").endswith('white-space:nowrap">⊘ block</span>')
    True
    >>> badge("guard-error", "guard error: pii")[-25:]
    '✕ guard error: pii</span>'
    """
    symbol, default, colour = BADGES.get(key, ("•", key, _C["grey"]))
    text = label if label is not None else default
    if caps:
        text = text.upper()
    return (
        f'<span class="anb-badge anb-b-{esc(key)}" style="background:{colour};color:#fff;'
        'border-radius:10px;padding:0 6px;font-size:11px;font-weight:600;white-space:nowrap">'
        f"{symbol} {esc(text)}</span>"
    )


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Collection[int] = ()
) -> str:
    """An HTML table; cells are HTML already (escape them with `esc`); columns in `numeric`
    are right-aligned."""
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if i in numeric else f"<th>{esc(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table class="anb-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


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


def text_block(text: str, *, code: bool = False) -> str:
    """Escaped `text`, whitespace kept; a long one as a preview and a "show more" with the rest
    (capped at `MAX_TEXT` characters)."""
    cut = _cut(text)
    pre, end = ("<pre>", "</pre>") if code else ('<div class="anb-prose">', "</div>")
    if cut >= len(text):
        return f"{pre}{escape(text)}{end}"
    rest = text[cut:MAX_TEXT]
    dropped = len(text) - max(cut, min(len(text), MAX_TEXT))
    note = (
        f'\n<span class="anb-muted">… {dropped:,} more characters not shown: the full text is '
        "in the trace JSON (result.to_dict()).</span>"
        if dropped > 0
        else ""
    )
    return (
        f"{pre}{escape(text[:cut])}…{end}"
        f'<details class="anb-more"><summary>show more ({len(text) - cut:,} more characters)'
        f"</summary>{pre}{escape(rest)}{note}{end}</details>"
    )


def _cut(text: str) -> int:
    """Where the preview of `text` ends (its length when it is short enough to show whole)."""
    cut = min(len(text), PREVIEW_CHARS)
    newline = -1
    for _ in range(PREVIEW_LINES):
        newline = text.find("\n", newline + 1)
        if newline < 0:
            break
    if 0 <= newline < cut:
        cut = newline
    if cut >= len(text):
        return len(text)
    # The whole text when the rest is only a little longer than the preview.
    return len(text) if len(text) - cut <= 40 else cut


def format_duration(seconds: float) -> str:
    """`0.42 ms`, `12.3 ms`, `456 ms`, `1.23 s`, `2 min 5 s`.

    >>> format_duration(0.0123), format_duration(125)
    ('12.3 ms', '2 min 5 s')
    """
    if seconds < 0.001:
        return f"{seconds * 1000:.2f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.0f} s"


def format_cost(cost: float | None) -> str:
    """`$0.0042`, `$12.30`, or `cost n/a` when the price is unknown."""
    if cost is None:
        return "cost n/a"
    return f"${float(cost):.4f}" if cost < 1 else f"${float(cost):,.2f}"


def fmt(value: float | None, unit: str = "") -> str:
    """A figure as people read it: shares as percentages, large counts with separators.

    >>> fmt(0.125, "share"), fmt(1234.0, "ms"), fmt(12000)
    ('12.5%', '1.23 s', '12,000')
    """
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
