"""The `agentnb` command.

```
agentnb run notebooks/01-quickstart.ipynb --html-dir out/
agentnb run report.ipynb -p model=openai:gpt-4.1-mini -p n=3 --output run.ipynb --html run.html
```

Exit status: 0 when every notebook ran, 1 when a cell failed or timed out, a guard raised an
exception during an agent run (unless --allow-guard-errors) or a notebook could not run, 2 for a
bad command line. The logic lives in `agentnb.notebook.execute`; this module
only parses arguments and prints.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentnb._version import __version__
from agentnb.errors import AgentnbError

__all__ = ["main"]

DEFAULT_OUT_DIR = Path("out")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentnb", description="Build, watch and improve AI agents in Jupyter notebooks."
    )
    parser.add_argument("--version", action="version", version=f"agentnb {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="execute notebooks headlessly in a fresh kernel",
        description=(
            "Execute each notebook in a fresh kernel of this Python, print one line per cell, "
            "and write the executed notebook and an HTML copy with its outputs "
            f"(by default into {DEFAULT_OUT_DIR}/). Exits 1 when a cell fails or times out, or "
            "when a guard raised an exception during an agent run."
        ),
    )
    run.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    run.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=(
            "set a variable: VALUE is a Python literal or a string. The assignments go after "
            "the cell tagged 'parameters' (add the tag in JupyterLab's property inspector), so "
            "they override its defaults; with no tagged cell, after the first cell that assigns "
            "one of the names (said on stderr)"
        ),
    )
    run.add_argument(
        "--output",
        type=Path,
        metavar="OUT.ipynb",
        help="where to write the executed notebook (one notebook only)",
    )
    html = run.add_mutually_exclusive_group()
    html.add_argument(
        "--html", type=Path, metavar="OUT.html", help="where to write the HTML (one notebook only)"
    )
    html.add_argument(
        "--html-dir",
        type=Path,
        metavar="DIR",
        help=f"folder for the HTML and executed notebooks (default: {DEFAULT_OUT_DIR}/)",
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        metavar="S",
        help="seconds one cell may run before the notebook fails (default: 600; 0: no limit)",
    )
    run.add_argument(
        "--allow-guard-errors",
        action="store_true",
        help="exit 0 even when a guard raised an exception during an agent run (it still blocked "
        "what it checked, and the guard is still named)",
    )
    from agentnb.telemetry.cli import add_subcommands as add_telemetry_commands

    add_telemetry_commands(commands)
    return parser


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from agentnb.notebook.execute import execute_notebook, parse_parameter

    if len(args.notebooks) > 1 and (args.output or args.html):
        parser.error("--output and --html name one file: with several notebooks use --html-dir")
    try:
        parameters: dict[str, Any] = dict(parse_parameter(p) for p in args.parameter)
    except AgentnbError as exc:
        parser.error(str(exc))
    out_dir: Path = args.html_dir or DEFAULT_OUT_DIR
    failed = 0
    for notebook in args.notebooks:
        stem = Path(notebook).stem
        output = args.output or out_dir / f"{stem}.ipynb"
        html = args.html or out_dir / f"{stem}.html"
        print(f"running {notebook}", flush=True)
        summary = execute_notebook(
            notebook,
            parameters=parameters,
            output=output,
            html=html,
            timeout=args.timeout or None,
            on_cell=lambda report: print(report.line(), flush=True),
            on_notice=lambda notice: print(f"agentnb: {notice}", file=sys.stderr, flush=True),
        )
        print(summary.describe())
        print(f"  executed notebook: {summary.output}")
        print(f"  html: {summary.html}", flush=True)
        guard_errors = summary.describe_guard_errors()
        if guard_errors is not None:
            allowed = " (allowed by --allow-guard-errors)" if args.allow_guard_errors else ""
            print(f"guard errors in {notebook}{allowed}:\n{guard_errors}", file=sys.stderr)
        failed += not summary.ok or (guard_errors is not None and not args.allow_guard_errors)
    if len(args.notebooks) > 1:
        print(f"{len(args.notebooks) - failed}/{len(args.notebooks)} notebooks ran without errors")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `agentnb` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return _run(args, parser)
        if args.command in ("runs", "trace"):
            return int(args.handler(args))
    except AgentnbError as exc:
        print(f"agentnb: error: {exc}", file=sys.stderr)
        return 1
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover - argparse rejects it


if __name__ == "__main__":
    sys.exit(main())
