"""`agentnb runs` and `agentnb trace` print the store."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agentnb import Agent, FunctionModel, telemetry
from agentnb.telemetry.cli import add_subcommands

Recording = Callable[..., Agent]


def run_cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="agentnb")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out = io.StringIO()
    return args.handler(args, out=out), out.getvalue()


def test_runs_prints_a_table_newest_first(recording: Recording) -> None:
    fx = recording("fx", model=FunctionModel(lambda r: "ok"))
    other = recording("triage", model=FunctionModel(lambda r: "ok"))
    first = fx.run_sync("first question").trace_id
    second = other.run_sync("second question").trace_id

    code, out = run_cli("runs")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == [
        "run",
        "started",
        "agent",
        "version",
        "status",
        "steps",
        "tools",
        "tokens",
        "cost",
        "ms",
        "prompt",
    ]
    assert lines[1].startswith(second[:12])
    assert lines[2].startswith(first[:12])
    assert "second question" in lines[1]

    code, out = run_cli("runs", "--agent", "fx", "--status", "ok", "--last", "5")
    assert code == 0
    assert len(out.splitlines()) == 2
    assert first[:12] in out
    assert run_cli("runs", "--agent", "nobody")[1].startswith("no runs recorded")


def test_trace_prints_the_tree(recording: Recording, capsys: pytest.CaptureFixture[str]) -> None:
    run_id = recording("fx", model=FunctionModel(lambda r: "ok")).run_sync("hi").trace_id
    code, out = run_cli("trace", run_id[:10])
    assert code == 0
    assert out.splitlines() == [f"trace {run_id}", out.splitlines()[1], out.splitlines()[2]]
    assert "invoke_agent fx" in out
    assert "chat <lambda>" in out
    code, out = run_cli("trace", run_id, "--json")
    assert code == 0
    assert f'"trace_id": "{run_id}"' in out

    assert run_cli("trace", "0" * 32)[0] == 2
    assert "no run" in capsys.readouterr().err


def test_a_store_elsewhere(recording: Recording, tmp_path: object) -> None:
    telemetry.configure(uri=str(tmp_path) + "/other")
    run_id = recording("fx", model=FunctionModel(lambda r: "ok")).run_sync("hi").trace_id
    code, out = run_cli("runs", "--store", str(tmp_path) + "/other")
    assert code == 0
    assert run_id[:12] in out


def agentnb(*argv: str) -> subprocess.CompletedProcess[str]:
    """The real `agentnb` command in a subprocess (what a user sees, tracebacks included)."""
    return subprocess.run(
        [sys.executable, "-m", "agentnb.cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_empty_store_says_there_are_no_runs(tmp_path: Path) -> None:
    telemetry.open(str(tmp_path / "empty"))  # created, no rows
    code, out = run_cli("runs", "--store", str(tmp_path / "empty"))
    assert code == 0
    assert out.startswith("no runs recorded (yet)")


def test_a_status_that_cannot_match_is_refused(
    recording: Recording, capsys: pytest.CaptureFixture[str]
) -> None:
    recording("fx", model=FunctionModel(lambda r: "ok")).run_sync("hi")
    assert run_cli("runs", "--status", "failed")[0] == 2
    assert capsys.readouterr().err == (
        "agentnb runs: status='failed' matches no stored value: use one of ok, error, "
        "cancelled, blocked. Did you mean 'error'?\n"
    )


def test_a_damaged_store_is_one_line_and_a_non_zero_exit(
    recording: Recording, tmp_path: Path
) -> None:
    uri = str(tmp_path / "store")
    telemetry.configure(uri=uri)
    run_id = recording("fx", model=FunctionModel(lambda r: "ok")).run_sync("hi").trace_id
    telemetry.flush()
    for table in ("runs", "spans"):
        (data,) = sorted((Path(uri) / f"{table}.lance" / "data").glob("*.lance"))[:1]
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])

    for argv, table in ((["runs"], "runs"), (["trace", run_id], "spans")):
        done = agentnb(*argv, "--store", uri)
        assert done.returncode != 0
        assert done.stdout == ""
        (line,) = done.stderr.splitlines()
        assert line.startswith(
            f"agentnb {argv[0]}: the {table!r} table of the telemetry store at {uri} cannot be "
            f"read: data file {uri}/{table}.lance/data/"
        )
        assert "Traceback" not in done.stderr


def test_a_file_as_the_store_is_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    (tmp_path / "store").write_text("not a store")
    done = agentnb("runs", "--store", str(tmp_path / "store"))
    assert done.returncode != 0
    assert done.stderr.splitlines() == [
        f"agentnb runs: the telemetry store path {tmp_path / 'store'} is a file, not a folder: "
        "point the store at a folder (--store DIR, AGENTNB_TELEMETRY_URI or "
        "telemetry.configure(uri=...)), or move the file away"
    ]
