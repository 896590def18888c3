"""Nothing is lost: at exit, on interrupts, with two writing processes; the store stays compact."""

from __future__ import annotations

import json
import os
import signal
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
from agentnb.models import Usage
from agentnb.runs.result import RunResult
from agentnb.telemetry import ingest, lance

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


def run_script(
    body: str, home: Path, *, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTNB_HOME": str(home), "PYTHONPATH": str(ROOT), **(env or {})}
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
    # Ended by the interrupt, not by the sleep: the tool never returned its text.
    assert "never" not in repr(tool_span.to_dict())


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
    ingest.maintain_now()
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
    ingest.maintain_now()
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


# --- the spool: signals, crashes, many writers, damaged stores ------------------------------------
WAIT_THEN_SLEEP = """
result = agent.run_sync("12.5 dollars in GBP?")
print(result.trace_id, flush=True)  # the run returned: from here on it must survive
time.sleep(60)
"""


def _started_run(home: Path, extra_env: dict[str, str] | None = None) -> tuple[Any, str]:
    env = {**os.environ, "AGENTNB_HOME": str(home), "PYTHONPATH": str(ROOT), **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-c", PRELUDE + WAIT_THEN_SLEEP],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.communicate(timeout=60)[1]
    return proc, run_id


def test_a_run_that_returned_survives_sigterm_at_once(tmp_path: Path) -> None:
    proc, run_id = _started_run(tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM, err  # the usual status of a terminated process
    store = telemetry.open(str(tmp_path / "telemetry"))
    assert list(store.runs()["trace_id"]) == [run_id]
    assert len(store.trace(run_id).spans) == 4


def test_a_program_s_own_sigterm_handler_still_runs(tmp_path: Path) -> None:
    done = run_script(
        """
        signal.signal(signal.SIGTERM, lambda *_: print("mine", flush=True) or sys.exit(3))
        agent = Agent("fx", model=FunctionModel(fx), tools=[convert], telemetry=False)
        agent.on_event(telemetry.event_handler())  # installed after the program's handler
        print(agent.run_sync("12.5 dollars in GBP?").trace_id, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
        """,
        tmp_path,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    run_id, mine = done.stdout.split()
    assert mine == "mine"
    assert list(telemetry.open(str(tmp_path / "telemetry")).runs()["trace_id"]) == [run_id]


def test_a_run_that_returned_survives_sigkill_200_ms_later(tmp_path: Path) -> None:
    proc, run_id = _started_run(tmp_path)
    time.sleep(0.2)  # the scenario, not a bound: killed 200 ms after the run returned
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    store = telemetry.open(str(tmp_path / "telemetry"))
    assert list(store.runs()["trace_id"]) == [run_id]
    assert len(store.trace(run_id).spans) == 4


def test_recording_loads_no_lancedb_pyarrow_or_pandas(tmp_path: Path) -> None:
    done = run_script(
        """
        import json
        ids = [agent.run_sync("12.5 dollars in GBP?").trace_id for _ in range(200)]
        heavy = sorted(m for m in ("lancedb", "pyarrow", "pandas") if m in sys.modules)
        print(json.dumps({"heavy": heavy, "ids": ids}))
        """,
        tmp_path,
    )
    out = json.loads(done.stdout)
    assert out["heavy"] == []
    store = telemetry.open(str(tmp_path / "telemetry"))
    assert sorted(store.runs(last=None)["trace_id"]) == sorted(out["ids"])


def _spool_runs(home: Path, count: int) -> list[str]:
    """`count` runs spooled by a process that starts no ingest worker."""
    done = run_script(
        f"""
        ids = [agent.run_sync("12.5 dollars in GBP?").trace_id for _ in range({count})]
        print(",".join(ids))
        """,
        home,
        env={"AGENTNB_INGEST_WORKER": "off"},
    )
    return done.stdout.strip().split(",")


def test_an_ingest_worker_killed_mid_ingest_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    ids = _spool_runs(tmp_path, 6000)
    uri = str(tmp_path / "telemetry")
    spool_dir = Path(uri + ".spool")
    worker = subprocess.Popen(
        [sys.executable, "-m", "agentnb.telemetry.ingest", uri],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
    )
    killed_in_flight = False
    deadline = time.monotonic() + 120  # a hang guard
    while time.monotonic() < deadline and worker.poll() is None:
        state = (
            (spool_dir / "state.json").read_text() if (spool_dir / "state.json").exists() else ""
        )
        if '"inflight": {"' in state and '"offsets": {}' not in state:
            worker.kill()  # mid-group: after some groups were stored, before this one's end
            killed_in_flight = True
            break
        time.sleep(0.001)
    worker.communicate(timeout=60)
    assert killed_in_flight, "the worker finished before it could be killed mid-ingest"

    store = telemetry.open(uri)  # the next drain recovers the interrupted group
    runs = store.runs(last=None)["trace_id"]
    assert sorted(runs) == sorted(ids)  # none lost, none twice
    assert store.info()["rows"]["spans"] == 4 * len(ids)
    spans = store.table("spans").search().select(["trace_id"]).limit(None).to_arrow()
    assert set(spans["trace_id"].to_pylist()) == set(ids)


CONFLICT_WORDS = ("ommit failed", "etryable", "onflict")


def test_four_processes_writing_one_store_print_no_commit_conflicts(tmp_path: Path) -> None:
    go = tmp_path / "go"
    body = f"""
        telemetry.configure(compact_every=2)  # compact often: where conflicts came from
        while not os.path.exists({str(go)!r}):
            time.sleep(0.005)
        ids = []
        for i in range(120):
            ids.append(agent.run_sync("12.5 dollars in GBP?").trace_id)
            if i % 10 == 0:
                time.sleep(0.05)
        print(",".join(ids))
        """
    env = {**os.environ, "AGENTNB_INGEST_IDLE": "3"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PRELUDE + textwrap.dedent(body)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "AGENTNB_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)},
        )
        for _ in range(4)
    ]
    go.touch()
    outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        conflicts = [ln for ln in err.splitlines() if any(w in ln for w in CONFLICT_WORDS)]
        assert conflicts == [], err
    expected = [i for out, _ in outputs for i in out.strip().split(",")]
    store = telemetry.open(str(tmp_path / "telemetry"))
    runs = list(store.runs(last=None)["trace_id"])
    assert sorted(runs) == sorted(expected)
    assert len(expected) == 480


def test_a_deleted_runs_table_is_an_error_not_a_new_empty_table(tmp_path: Path) -> None:
    import shutil

    from agentnb.telemetry.lance import StoreDamaged

    ids = _spool_runs(tmp_path, 3)
    uri = tmp_path / "telemetry"
    assert len(telemetry.open(str(uri)).runs()) == len(ids)
    lance.forget_connections()
    shutil.rmtree(uri / "runs.lance")
    with pytest.raises(StoreDamaged) as failure:
        telemetry.open(str(uri))
    message = str(failure.value)
    assert "runs" in message
    assert str(uri / "runs.lance") in message
    assert "backup" in message
    assert not (uri / "runs.lance").exists()


@pytest.mark.slow
def test_a_last_cell_run_is_stored_20_times_in_a_row_on_a_busy_machine(tmp_path: Path) -> None:
    """nbclient shuts the kernel down right after the last cell, while two processes burn CPU."""
    import nbformat

    from agentnb.notebook.execute import execute_notebook

    cell = PRELUDE + "result = agent.run_sync('12.5 dollars in GBP?')\nprint(result.trace_id)"
    notebook = tmp_path / "last-cell.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)]), notebook)
    burn = "import time\nend = time.time() + 300\nwhile time.time() < end: pass"
    burners = [subprocess.Popen([sys.executable, "-c", burn]) for _ in range(2)]
    expected = []
    try:
        for i in range(20):
            out = tmp_path / f"out-{i}.ipynb"
            summary = execute_notebook(notebook, output=out)
            assert summary.ok, summary.describe()
            executed = nbformat.read(out, as_version=4)
            expected.append(executed.cells[0].outputs[0]["text"].strip())
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    stored = list(telemetry.open().runs(last=None)["trace_id"])
    assert sorted(stored) == sorted(expected)
