"""`agentnb runs` and `agentnb trace` print the store."""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable

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
