"""A run's guard verdicts as a table, in HTML and in text (`RunResult.verdicts` displays so).

Each row is a plain dict with the keys `step`, `point`, `guard`, `target`, `outcome`, `action`,
`reason` and `duration` (seconds), as `RunResult.to_dict()["verdicts"]` holds them. Reasons are
redacted like every other display (`agentnb.display.bundle`).

```python
rows = [{"step": 1, "point": "tool_call", "guard": "limit", "target": "refund",
         "outcome": "block", "action": "skip", "reason": "over 100", "duration": 0.0004}]
print(verdicts_text(rows))
# step  point      guard  target  outcome  action  reason    time
# 1     tool_call  limit  refund  block    skip    over 100  0.40 ms
```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentnb.display.html import badge, esc, format_duration, table, wrap
from agentnb.secrets import redact

__all__ = ["verdicts_html", "verdicts_text"]

_HEADERS = ("step", "point", "guard", "target", "outcome", "action", "reason", "time")
_REASON = 80
"""Characters of a reason the text table shows (the HTML shows it whole)."""


def _cells(row: Mapping[str, Any]) -> list[str]:
    return [
        str(row.get("step", "")),
        str(row.get("point", "")),
        str(row.get("guard", "")),
        str(row.get("target") or "–"),
        str(row.get("outcome", "")),
        str(row.get("action", "")),
        redact(str(row.get("reason") or "")),
        format_duration(float(row.get("duration") or 0.0)),
    ]


def verdicts_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """The verdicts as aligned text columns, one line each (`no guard verdicts` when empty)."""
    if not rows:
        return "no guard verdicts"
    lines = [list(_HEADERS)]
    for row in rows:
        cells = _cells(row)
        reason = " ".join(cells[6].split())
        cells[6] = reason if len(reason) <= _REASON else reason[: _REASON - 1] + "…"
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(_HEADERS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def verdicts_html(rows: Sequence[Mapping[str, Any]]) -> str:
    """The verdicts as an HTML table with an outcome badge per row."""
    if not rows:
        return wrap('<span class="anb-muted">no guard verdicts</span>')
    body = []
    for row in rows:
        cells = [esc(c) for c in _cells(row)]
        outcome = str(row.get("outcome", ""))
        cells[2] = f"<code>{cells[2]}</code>"
        cells[4] = badge(outcome)
        body.append(cells)
    return wrap(table(list(_HEADERS), body, numeric={0, 7}))
