"""Nothing is lost: at exit, on interrupts, with two writing processes; the store stays compact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentnb import Agent, FunctionModel, monitor, telemetry
from agentnb import events as ev
from agentnb.agents.result import RunResult
from agentnb.models import Usage
from agentnb.telemetry import writer

Recording = Callable[..., Agent]
ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """
import os, sys, time, signal
from agentnb import Agent, FunctionModel, telemetry, tool, tool_call

@tool
def convert(amount: float, currency: str = "EUR") -> dict:
    '''Convert US dollars to another currency.'''
    return {"amount": amount * 0.8, "currency": currency}

def fx(request):
    if not any(m.role == "tool" for m in request.messages):
        return tool_call("convert", amount=12.5, currency="GBP")
    return "12.5 USD is 10.0 GBP."

agent = Agent("fx", model=FunctionModel(fx), tools=[convert], telemetry=False)
agent.on_event(telemetry.event_handler())
"""


def run_script(body: str, home: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTNB_HOME": str(home), "PYTHONPATH": str(ROOT)}
    code = PRELUDE + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def start_script(body: str, home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "AGENTNB_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_runs_are_flushed_when_the_interpreter_exits(tmp_path: Path) -> None:
    done = run_script(
        """
        ids = [agent.run_sync("12.5 dollars in GBP?").trace_id for _ in range(3)]
        print(",".join(ids))  # and exit at once: no flush() anywhere
        """,
        tmp_path,
    )
    ids = done.stdout.strip().split(",")
    store = telemetry.open(str(tmp_path / "telemetry"))
    assert sorted(store.runs()["trace_id"]) == sorted(ids)
    assert len(store.spans(as_arrow=True)) == 12


def test_a_sigint_mid_run_leaves_a_cancelled_run_in_the_store(tmp_path: Path) -> None:
    done = run_script(
        """
        @tool
        def slow(query: str) -> str:
            '''Takes a while.'''
            print(agent_run_id(), flush=True)
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl+C / a kernel interrupt, mid-tool
            time.sleep(5)
            return "never"

        def agent_run_id():
            return telemetry_ids[-1]

        telemetry_ids = []
        slowpoke = Agent("slowpoke", model=FunctionModel(lambda r: tool_call("slow", query="x")),
                         tools=[slow], telemetry=False)
        slowpoke.on_event(
            lambda e: telemetry_ids.append(e.run_id) if e.kind == "run_started" else None
        )
        slowpoke.on_event(telemetry.event_handler())
        slowpoke.run_sync("go")  # KeyboardInterrupt propagates: the process dies with it
        """,
        tmp_path,
        check=False,
    )
    assert done.returncode != 0
    assert "KeyboardInterrupt" in done.stderr
    run_id = done.stdout.strip()
    store = telemetry.open(str(tmp_path / "telemetry"))
    (row,) = store.runs().to_dict("records")
    assert (row["trace_id"], row["status"]) == (run_id, "cancelled")
    (tool_span,) = store.trace(run_id).find("execute_tool")
    assert tool_span.status == "error"
    assert tool_span.duration_ms < 5000


def test_two_processes_writing_one_store_lose_nothing(tmp_path: Path) -> None:
    go = tmp_path / "go"
    body = f"""
        telemetry.configure(flush_interval=0.0, compact_every=8)  # many small, racing commits
        while not os.path.exists({str(go)!r}):
            time.sleep(0.005)
        ids = []
        for i in range(150):
            ids.append(agent.run_sync("12.5 dollars in GBP?").trace_id)
            if i % 10 == 0:
                telemetry.flush()
        print(",".join(ids))
        """
    procs = [start_script(body, tmp_path) for _ in range(2)]
    time.sleep(1.0)  # both imported and waiting: start together on an empty store
    go.touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    expected = {i for out, _ in outputs for i in out.strip().split(",")}
    assert len(expected) == 300

    store = telemetry.open(str(tmp_path / "telemetry"))
    assert set(store.runs(last=None)["trace_id"]) == expected
    assert store.info()["rows"]["spans"] == 1200


def test_a_finding_made_after_the_exit_flush_is_still_written(tmp_path: Path) -> None:
    """Monitors drain their queues at exit too, possibly after telemetry flushed: a finding
    arriving then is written by the thread that reports it."""
    done = run_script(
        """
        import atexit
        from agentnb import events

        def late_finding():  # registered first, so it runs after telemetry's exit flush
            recorder = telemetry.event_handler()
            recorder(events.MonitorFinding(run_id[0], "fx", "judge", "info", "looked fine"))

        atexit.register(late_finding)
        run_id = [agent.run_sync("12.5 dollars in GBP?").trace_id]
        print(run_id[0])
        """,
        tmp_path,
    )
    run_id = done.stdout.strip()
    store = telemetry.open(str(tmp_path / "telemetry"))
    assert list(store.findings(run_id)["message"]) == ["looked fine"]
    assert [s.name for s in store.trace(run_id).find("monitor")] == ["monitor judge"]


def test_findings_after_the_run_become_monitor_spans_under_its_root(
    recording: Recording,
) -> None:
    @monitor(kinds=["run_finished"], severity="error")
    def judge(event: Any) -> str:
        time.sleep(0.05)
        return "the answer quotes no source"

    agent = recording("fx", model=FunctionModel(lambda r: "42"), monitors=[judge])
    result = agent.run_sync("what is the answer?")
    assert agent.drain_monitors()
    store = telemetry.open()
    trace = store.trace(result.trace_id)
    root = trace.root
    assert root is not None
    (finding,) = [c for c in root.children if c.operation == "monitor"]
    assert finding.attributes["agentnb.monitor.severity"] == "error"
    assert finding.attributes["agentnb.monitor.message"] == "the answer quotes no source"
    assert store.findings()[["monitor", "severity"]].to_dict("records") == [
        {"monitor": "judge", "severity": "error"}
    ]


def test_small_appends_are_compacted_and_indexed(recording: Recording) -> None:
    telemetry.configure(
        flush_interval=0.0, compact_every=4, scalar_index_rows=10, vector_index_rows=40
    )
    agent = recording("fx", model=FunctionModel(lambda r: f"echo {r.messages[-1].content}"))
    for i in range(48):
        agent.run_sync(f"question number {i}")
        telemetry.flush()  # one commit per run: the worst case for fragmentation
    store = telemetry.open()
    deadline = time.monotonic() + 20
    while max(store.info()["fragments"].values()) > 6 and time.monotonic() < deadline:
        time.sleep(0.2)  # the background maintenance compacts every 4 appends
    assert max(store.info()["fragments"].values()) <= 6

    store.optimize()
    info = store.info()
    assert info["fragments"]["spans"] == 1
    assert info["rows"]["runs"] == 48
    indexed = {i.columns[0] for i in store.table("runs").list_indices()}
    assert {"trace_id", "agent", "status", "started_at", "vector"} <= indexed
    assert {i.columns[0] for i in store.table("spans").list_indices()} >= {"trace_id", "operation"}
    assert store.search("question number 7", k=1)["prompt"].iloc[0] == "question number 7"


def _old_run(recorder: telemetry.Recorder, age_days: float) -> str:
    run_id = os.urandom(16).hex()
    wall = time.time() - age_days * 86400
    recorder(ev.RunStarted(run_id, "old", "1.0.0", "offline", "hi", "c0ffee", wall_time=wall))
    result = RunResult(
        run_id, "old", "1.0.0", "offline", "hi", "hello", "ok", [], [], Usage(), 0.0, 0.01, wall
    )
    recorder(ev.RunFinished(run_id, result))
    return run_id


def test_retention_prunes_old_runs() -> None:
    recorder = telemetry.Recorder()
    old = [_old_run(recorder, 3) for _ in range(3)]
    young = [_old_run(recorder, 0.1) for _ in range(2)]
    store = telemetry.open()
    assert set(store.runs()["trace_id"]) == {*old, *young}

    telemetry.configure(retention="2d")
    writer.get().maintain_now()
    assert set(store.runs()["trace_id"]) == set(young)
    assert set(store.spans()["trace_id"]) == set(young)
    store.prune("1h")
    assert store.runs().empty


@pytest.mark.parametrize("variable", ["AGENTNB_TELEMETRY_RETENTION"])
def test_retention_can_come_from_the_environment(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = telemetry.Recorder()
    _old_run(recorder, 10)
    monkeypatch.setenv(variable, "7d")
    writer.get().maintain_now()
    assert telemetry.open().runs().empty


def test_configure_flushes_before_moving_the_store(recording: Recording, tmp_path: Path) -> None:
    agent = recording("fx", model=FunctionModel(lambda r: "hi"))
    first = agent.run_sync("one").trace_id
    telemetry.configure(uri=str(tmp_path / "moved"))
    second = agent.run_sync("two").trace_id
    assert list(
        telemetry.open(str(tmp_path / "agentnb-home" / "telemetry")).runs()["trace_id"]
    ) == [first]
    assert list(telemetry.open().runs()["trace_id"]) == [second]
    assert json.dumps(telemetry.open().info(), default=str)


@pytest.mark.slow
def test_runs_are_flushed_when_a_kernel_shuts_down(tmp_path: Path) -> None:
    """The last cell runs an agent and the kernel is shut down at once: the run is stored."""
    import nbformat

    from agentnb.notebook.execute import execute_notebook

    cell = PRELUDE + "result = agent.run_sync('12.5 dollars in GBP?')\nprint(result.trace_id)"
    notebook = tmp_path / "last-cell.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)]), notebook)
    summary = execute_notebook(notebook, output=tmp_path / "out.ipynb")
    assert summary.ok, summary.describe()
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    run_id = out.cells[0].outputs[0]["text"].strip()
    assert list(telemetry.open().runs()["trace_id"]) == [run_id]
