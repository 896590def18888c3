"""Notebooks run headlessly in a real kernel: the quickstart, and `agentnb run`'s exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html import escape
from pathlib import Path
from typing import Any

import nbformat
import pytest

from agentnb import telemetry
from agentnb.cli import main
from agentnb.notebook.execute import TRACE_MIME, CellReport, execute_notebook, parse_parameter

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "notebooks" / "01-quickstart.ipynb"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
AGENTNB = Path(sys.executable).with_name("agentnb")

# Appended to the quickstart: reports what the kernel ran on and the first result, as JSON.
PROBE = """\
import asyncio, json, sys
try:
    asyncio.get_running_loop()
    loop_running = True
except RuntimeError:
    loop_running = False
print(json.dumps({"executable": sys.executable, "loop_running": loop_running,
                  "result": result.to_dict()}))
"""


def write_notebook(path: Path, *sources: str, tags: dict[int, list[str]] | None = None) -> Path:
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    for index, cell_tags in (tags or {}).items():
        cells[index].metadata["tags"] = cell_tags
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def agentnb_run(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    assert AGENTNB.exists(), f"no console script at {AGENTNB}: pip install -e '.[test]'"
    return subprocess.run(
        [str(AGENTNB), "run", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,  # a hang guard
    )


def cell_text(notebook: Any, source: str) -> str:
    """Everything the cell with exactly this source displayed, as text."""
    (cell,) = [c for c in notebook.cells if c.source == source]
    return "".join(
        out.get("text", "") + out.get("data", {}).get("text/plain", "") for out in cell.outputs
    )


# -- without a kernel ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n=3", ("n", 3)),
        ("ratio=0.5", ("ratio", 0.5)),
        ("flag=True", ("flag", True)),
        ("items=[1, 'a']", ("items", [1, "a"])),
        ("model=openai:gpt-4.1-mini", ("model", "openai:gpt-4.1-mini")),
        ("quoted='12'", ("quoted", "12")),
        ("empty=", ("empty", "")),
        ("url=http://localhost:11434/v1", ("url", "http://localhost:11434/v1")),
    ],
)
def test_parameters_are_literals_else_strings(text: str, expected: tuple[str, Any]) -> None:
    assert parse_parameter(text) == expected


@pytest.mark.parametrize("text", ["n", "2n=3", "a-b=1", "=3"])
def test_a_bad_parameter_is_a_usage_error(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "x.ipynb", "-p", text])
    assert exited.value.code == 2
    assert f"Parameter {text!r} is not of the form name=value" in capsys.readouterr().err


def test_output_and_html_name_one_notebook(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "a.ipynb", "b.ipynb", "--output", "x.ipynb"])
    assert exited.value.code == 2
    assert "with several notebooks use --html-dir" in capsys.readouterr().err


def test_a_missing_notebook_fails_with_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tmp_path / "nope.ipynb")]) == 1
    assert f"Notebook '{tmp_path / 'nope.ipynb'}' does not exist" in capsys.readouterr().err


def test_progress_lines() -> None:
    ok = CellReport(number=3, total=7, index=5, status="ok", duration=0.123)
    failed = CellReport(3, 7, 5, "error", 0.05, "ZeroDivisionError", "division by zero")
    timed_out = CellReport(3, 7, 5, "timeout", 2.0)
    assert [ok.line(), failed.line(), timed_out.line()] == [
        "[3/7] cell 3 ok (0.12 s)",
        "[3/7] cell 3 failed (0.05 s): ZeroDivisionError: division by zero",
        "[3/7] cell 3 timed out after 2.00 s",
    ]


# -- in a real kernel ------------------------------------------------------------------------


@pytest.mark.slow
def test_quickstart_runs_in_a_real_kernel(tmp_path: Path) -> None:
    notebook = nbformat.read(QUICKSTART, as_version=4)
    assert all(c.get("outputs", []) == [] for c in notebook.cells), "commit it with outputs cleared"
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
    probed = tmp_path / "quickstart.ipynb"
    nbformat.write(notebook, probed)
    lines: list[str] = []

    summary = execute_notebook(
        probed,
        output=tmp_path / "out.ipynb",
        html=tmp_path / "out.html",
        on_cell=lambda report: lines.append(report.line()),
    )

    assert summary.failure is None, summary.describe()
    code_cells = sum(c.cell_type == "code" for c in notebook.cells)
    assert (summary.cells, summary.total_cells, len(lines)) == (code_cells,) * 3
    assert all(re.fullmatch(r"\[\d+/\d+\] cell \d+ ok \(\d+\.\d\d s\)", line) for line in lines)
    # The runs the kernel made, displayed or not: result, in_euros, the streamed one, weather, big
    # (blocked by a guard), %ask.
    assert summary.agent_runs == 6

    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    probe = json.loads(cell_text(executed, PROBE))
    assert probe["executable"] == sys.executable  # the `python3` kernel is this interpreter
    assert probe["loop_running"] is True  # so run_sync took the background-loop path
    result = probe["result"]
    assert (result["status"], result["model"], result["prompt"]) == (
        "ok",
        "offline",
        "How much is 12.5 dollars in GBP?",
    )
    calls = [call for step in result["steps"] for call in step["tool_calls"]]
    assert [
        (c["name"], json.loads(c["arguments"]), json.loads(c["result"]), c["error"]) for c in calls
    ] == [
        (
            "convert",
            {"amount": 12.5, "currency": "GBP"},
            {"amount_usd": 12.5, "currency": "GBP", "converted": 9.5},
            None,
        )
    ]
    assert "9.5" in result["output"]

    # What a reader sees: the displayed cells and the HTML copy.
    shown_calls = cell_text(executed, "result.tool_calls")
    assert "name='convert'" in shown_calls
    assert '"amount": 12.5' in shown_calls
    assert '"currency": "GBP"' in shown_calls
    assert "9.5" in cell_text(executed, "result.output")
    first_run = 'result = agent.run_sync("How much is 12.5 dollars in GBP?")\nresult'
    assert "fx 0.1.0 · offline · ok · 2 steps · 1 tool call" in cell_text(executed, first_run)
    assert "schema_version: 1" in cell_text(executed, "print(agent.config.to_yaml())")
    assert cell_text(executed, "weather.tool_calls") == "[]"
    html = (tmp_path / "out.html").read_text()
    assert "How much is 12.5 dollars in GBP?" in html
    assert "9.5" in html

    # The rich display: the trace for the JupyterLab extension and the static HTML with badges.
    (shown,) = next(c for c in executed.cells if c.source == first_run).outputs
    assert sorted(shown["data"]) == [TRACE_MIME, "text/html", "text/plain"]
    trace = shown["data"][TRACE_MIME]
    assert (trace["version"], trace["run_id"], trace["status"]) == (1, result["run_id"], "ok")
    assert [(s["kind"], s["name"]) for s in trace["spans"]] == [
        ("invoke_agent", "invoke_agent fx"),
        ("chat", "chat offline"),
        ("execute_tool", "execute_tool convert"),
        ("chat", "chat offline"),
    ]
    assert '<span class="anb-badge anb-b-status-ok"' in shown["data"]["text/html"]
    assert result["output"] in shown["data"]["text/html"]
    assert html.count('<div class="agentnb-trace" data-status="ok">') == 5  # nbconvert kept them


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.name for n in NOTEBOOKS])
def test_every_notebook_shows_its_runs_with_trace_badges_and_answers(
    notebook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGENTNB_TELEMETRY")  # as a user runs them: recording on, into AGENTNB_HOME
    summary = execute_notebook(notebook, output=tmp_path / notebook.name)
    assert summary.ok, summary.describe()

    executed = nbformat.read(tmp_path / notebook.name, as_version=4)
    shown = [
        out["data"]
        for cell in executed.cells
        for out in cell.get("outputs", [])
        if TRACE_MIME in out.get("data", {})
    ]
    for data in shown:  # every displayed run (a notebook may only print)
        trace, html = data[TRACE_MIME], data["text/html"]
        assert trace["version"] == 1
        assert json.loads(json.dumps(trace)) == trace
        assert html.startswith(f'<div class="agentnb-trace" data-status="{trace["status"]}">')
        assert f'<span class="anb-badge anb-b-status-{trace["status"]}"' in html
        verdicts = [s for s in trace["spans"] if s["kind"] == "guard"]
        for outcome in ("pass", "warn", "block", "rewrite", "error"):
            expected = sum(s["attributes"]["agentnb.guard.outcome"] == outcome for s in verdicts)
            assert html.count(f'<span class="anb-badge anb-b-{outcome}"') == expected
        answer = trace["output"] if isinstance(trace["output"], str) else ""
        first_line = (answer.splitlines() or [""])[0][:100]
        assert escape(first_line) in html  # the start of the answer is always shown


@pytest.mark.slow
def test_cli_runs_the_quickstart(tmp_path: Path) -> None:
    done = agentnb_run(QUICKSTART, "--html-dir", tmp_path / "out", cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    cells = sum(c.cell_type == "code" for c in nbformat.read(QUICKSTART, as_version=4).cells)
    assert lines[0] == f"running {QUICKSTART}"
    assert [re.sub(r"\(\d+\.\d\d s\)", "(T)", line) for line in lines[1 : cells + 1]] == [
        f"[{n}/{cells}] cell {n} ok (T)" for n in range(1, cells + 1)
    ]
    assert re.fullmatch(
        rf"ok: {re.escape(str(QUICKSTART))} · {cells}/{cells} cells · 6 agent runs · \d+\.\d s",
        lines[cells + 1],
    )
    assert lines[cells + 2 :] == [
        f"  executed notebook: {tmp_path / 'out' / '01-quickstart.ipynb'}",
        f"  html: {tmp_path / 'out' / '01-quickstart.html'}",
    ]
    assert "9.5" in (tmp_path / "out" / "01-quickstart.html").read_text()


@pytest.mark.slow
def test_cli_injects_parameters_after_the_parameters_cell(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "params.ipynb",
        "n = 1\nword = 'default'",
        "print(repr((n, word, model)))",
        tags={0: ["parameters"]},
    )
    done = agentnb_run(
        notebook,
        "-p",
        "n=3",
        "-p",
        "word=hi",
        "-p",
        "model=openai:gpt-4.1-mini",
        "--output",
        tmp_path / "ran.ipynb",
        "--html",
        tmp_path / "ran.html",
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    executed = nbformat.read(tmp_path / "ran.ipynb", as_version=4)
    assert executed.cells[1].metadata["tags"] == ["injected-parameters"]
    assert cell_text(executed, "print(repr((n, word, model)))") == (
        "(3, 'hi', 'openai:gpt-4.1-mini')\n"
    )
    assert (tmp_path / "ran.html").exists()


@pytest.mark.slow
def test_cli_fails_naming_the_failing_cell(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "fails.ipynb", "x = 1", "y = x / 0", "print('never runs')")
    done = agentnb_run(notebook, "--html-dir", tmp_path / "out", cwd=tmp_path)

    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert re.sub(r"\(\d+\.\d\d s\)", "(T)", lines[2]) == (
        "[2/3] cell 2 failed (T): ZeroDivisionError: division by zero"
    )
    assert lines[3] == (f"FAILED: {notebook} · cell 2 raised ZeroDivisionError: division by zero")
    assert lines[4] == "  cell 2 starts with: y = x / 0"
    assert "never runs" not in done.stdout
    # The partial run is still written, so the failure can be read in context.
    executed = nbformat.read(tmp_path / "out" / "fails.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["ename"] == "ZeroDivisionError"
    assert (tmp_path / "out" / "fails.html").exists()


@pytest.mark.slow
def test_a_cell_timeout_is_one_clean_line_and_the_cell_is_stopped(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "slow.ipynb", "x = 1", "import time\ntime.sleep(600)")
    done = agentnb_run(notebook, "--timeout", "2", "--html-dir", tmp_path / "out", cwd=tmp_path)

    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"\[2/2\] cell 2 timed out after \d+\.\d\d s", lines[2])
    assert lines[3] == f"FAILED: {notebook} · cell 2 timed out after 2 s (--timeout): import time"
    # Neither nbclient's log line nor a traceback from a kernel shut down in mid-cell. (The
    # kernel's own stderr may carry ipykernel's "IOStream.flush timed out" on a busy machine.)
    assert "Timeout waiting for execute reply" not in done.stderr
    assert "Traceback" not in done.stderr
    assert "ZMQError" not in done.stderr
    # The cell was interrupted (not left running until the kernel was killed).
    executed = nbformat.read(tmp_path / "out" / "slow.ipynb", as_version=4)
    assert [o.get("ename") for o in executed.cells[1].outputs] == ["KeyboardInterrupt"]


@pytest.mark.slow
def test_parameters_go_after_the_cell_that_assigns_them_when_none_is_tagged(
    tmp_path: Path,
) -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# A report"),
            nbformat.v4.new_code_cell("%load_ext agentnb\nimport math"),
            nbformat.v4.new_code_cell("n: int = 1\nlabel, word = 'x', 'default'"),
            nbformat.v4.new_code_cell("print(repr((n, word)))"),
        ]
    )
    nbformat.write(notebook, tmp_path / "report.ipynb")
    done = agentnb_run(
        tmp_path / "report.ipynb",
        "-p",
        "n=3",
        "-p",
        "word=hi",
        "--output",
        "ran.ipynb",
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == (
        "agentnb: no cell tagged 'parameters'; injected after cell 2, which assigns n, word\n"
    )
    executed = nbformat.read(tmp_path / "ran.ipynb", as_version=4)
    assert cell_text(executed, "print(repr((n, word)))") == "(3, 'hi')\n"
    assert executed.cells[3].metadata["tags"] == ["injected-parameters"]


# Three runs of an agent whose tool-call guard has a bug, one run of another agent; one result
# displayed.
GUARD_BUG = """from agentnb import Agent, guard, tool

@tool
def refund(order: str, amount: float) -> str:
    \"\"\"Refund an order.\"\"\"
    return f"refunded {amount} on {order}"

@guard("tool_call")
def max_refund(call):
    return call.args["amount"] <= call.args["limit"]  # a bug: refund has no `limit`

support = Agent("support", model="offline", tools=[refund], guards=[max_refund])
results = [support.run_sync(f"refund 20 on order A-{n}") for n in range(3)]
results.append(Agent("fx", model="offline").run_sync("hello"))
print(results[0].run_id)
results[-1]
"""


@pytest.mark.slow
def test_agentnb_run_counts_the_runs_made_and_fails_naming_the_guard_that_raised(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(tmp_path / "guarded.ipynb", GUARD_BUG)
    done = agentnb_run(notebook, "--output", "ran.ipynb", "--html", "ran.html", cwd=tmp_path)

    assert done.returncode == 1, done.stdout + done.stderr
    first_run = cell_text(nbformat.read(tmp_path / "ran.ipynb", as_version=4), GUARD_BUG)
    first_run = first_run.splitlines()[0]
    assert re.fullmatch(
        rf"ok: {re.escape(str(notebook))} · 1/1 cells · 4 agent runs · \d+\.\d s",
        done.stdout.splitlines()[2],
    )
    assert done.stderr == (
        f"guard errors in {notebook}:\n"
        f"guard 'max_refund' raised an exception in 3 runs of support (first: run {first_run}); "
        "the call it checked was blocked\n"
        "fix the guard (its traceback is in the run's trace: agentnb trace RUN_ID), "
        "or pass --allow-guard-errors to accept\n"
    )

    allowed = agentnb_run(notebook, "--allow-guard-errors", "--html-dir", "out", cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert allowed.stderr.startswith(
        f"guard errors in {notebook} (allowed by --allow-guard-errors):\n"
        "guard 'max_refund' raised an exception in 3 runs of support"
    )


@pytest.mark.slow
def test_a_notebook_that_never_imports_agentnb_made_no_runs(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "plain.ipynb", "print(sum(range(4)))")
    done = agentnb_run(notebook, "--html-dir", "out", cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert " · 1/1 cells · 0 agent runs · " in done.stdout.splitlines()[2]
    assert done.stderr == ""


LAST_CELL_RUN = """from agentnb import Agent
result = Agent("last", model="offline").run_sync("How much is 12.5 dollars in GBP?")
print(result.trace_id)
"""


@pytest.mark.slow
def test_a_run_in_the_last_cell_is_stored_when_agentnb_run_returns(tmp_path: Path) -> None:
    """The kernel is shut down gracefully and waited for: its exit hooks write the run."""
    notebook = write_notebook(tmp_path / "last.ipynb", LAST_CELL_RUN)
    env = {k: v for k, v in os.environ.items() if k != "AGENTNB_TELEMETRY"}  # recording on
    done = agentnb_run(
        notebook, "--output", "ran.ipynb", "--html-dir", "out", cwd=tmp_path, env=env
    )

    assert done.returncode == 0, done.stdout + done.stderr
    trace_id = cell_text(nbformat.read(tmp_path / "ran.ipynb", as_version=4), LAST_CELL_RUN)
    assert list(telemetry.open().runs()["trace_id"]) == [trace_id.strip()]
