"""`agentnb runs` and `agentnb trace`: the telemetry store from a terminal.

```
agentnb runs [--agent A] [--status S] [--version V] [--since 1h] [--last N] [--store URI]
agentnb trace RUN_ID [--json] [--store URI]
```
`agentnb/cli.py` mounts these with `add_subcommands(subparsers)`; each parser sets `handler`, a
function of the parsed arguments returning the exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any, TextIO

from agentnb.errors import UserError

__all__ = ["add_subcommands", "format_runs", "runs_command", "trace_command"]


def add_subcommands(subparsers: Any) -> None:
    """Add `runs` and `trace` to an `argparse` subparsers object."""
    runs = subparsers.add_parser(
        "runs", help="list recorded runs, newest first", description="List recorded runs."
    )
    runs.add_argument("--agent", action="append", help="only this agent (repeatable)")
    runs.add_argument("--status", action="append", help="ok, error, cancelled or blocked")
    runs.add_argument("--version", dest="agent_version", help="only this agent version")
    runs.add_argument("--since", help="only runs newer than this: 30m, 1h, 7d or an ISO date")
    runs.add_argument("--last", type=int, default=20, metavar="N", help="at most N runs (20)")
    runs.add_argument("--store", metavar="URI", help="telemetry store (default: ./.agentnb)")
    runs.set_defaults(handler=runs_command)

    trace = subparsers.add_parser(
        "trace", help="print the span tree of one run", description="Print one run's spans."
    )
    trace.add_argument("run_id", help="the run id (RunResult.trace_id) or a unique prefix")
    trace.add_argument("--json", action="store_true", help="print the tree as JSON")
    trace.add_argument("--store", metavar="URI", help="telemetry store (default: ./.agentnb)")
    trace.set_defaults(handler=trace_command)


def runs_command(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """`agentnb runs`: print the recorded runs matching `args` as a table; returns the exit code.

    A filter no run can have, or an unreadable store, prints the message to stderr and returns 2.
    """
    from agentnb import telemetry

    out = out or sys.stdout
    try:
        store = telemetry.open(args.store)
        table = store.runs(
            args.agent,
            status=args.status,
            version=args.agent_version,
            since=args.since,
            last=args.last,
            as_arrow=True,
        )
    except UserError as exc:
        print(f"agentnb runs: {exc}", file=sys.stderr)
        return 2
    print(format_runs(table.to_pylist()), file=out)
    return 0


def trace_command(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """`agentnb trace`: print one run's span tree (JSON with `--json`); returns the exit code.

    An unknown run id, an ambiguous or too short prefix, or an unreadable store prints the message
    to stderr and returns 2.
    """
    from agentnb import telemetry

    out = out or sys.stdout
    try:
        trace = telemetry.open(args.store).trace(args.run_id)
    except UserError as exc:
        print(f"agentnb trace: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(trace.to_dict(), indent=2, default=str), file=out)
    else:
        print(trace.render(), file=out)
    return 0


_COLUMNS = ("run", "started", "agent", "version", "status", "steps", "tools", "tokens", "cost",
            "ms", "prompt")  # fmt: skip


def format_runs(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of run rows (as `Store.runs(as_arrow=True).to_pylist()` gives)."""
    if not rows:
        return "no runs recorded (yet): run an agent, or point --store at another store"
    cells = [_COLUMNS]
    for r in rows:
        started: datetime = r["started_at"]
        cost = r["cost"]
        cells.append(
            (
                r["trace_id"][:12],
                started.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                r["agent"],
                r["version"],
                r["status"],
                str(r["steps"]),
                ",".join(r["tools"] or []) or "-",
                str(r["input_tokens"] + r["output_tokens"]),
                "-" if cost is None else f"{cost:.4f}",
                _ms(r["duration_ms"]),
                _clip(r["prompt"] or "", 40),
            )
        )
    widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:,.0f}"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
