"""What recording costs a process, and what survives signals and concurrent writers.

1. **Peak RSS**: a fresh process runs 2,000 one-tool runs (FunctionModel) with telemetry off, and
   with telemetry on (the default: recorder + spool) making no query; `ru_maxrss` at the end, and
   whether LanceDB, pyarrow or pandas were imported. Target ≤ 60 MB with telemetry on.
2. **N writers**: 4 processes write 150 runs each into one store at once (the ingest worker
   shared); the lines on their stderr and in the worker's log mentioning a commit conflict
   ("Compaction commit failed", "Retryable", "conflict"), and runs lost or stored twice.
   Target 0, 0.
3. **Signals**: a process prints a run's id the moment the run returned and is sent SIGTERM at
   once, or SIGKILL 200 ms later; runs missing from the store. Target 0 of every trial.

    .venv/bin/python bench/telemetry_memory.py            # ≈ 1–2 min on 2 cores
    .venv/bin/python bench/telemetry_memory.py --trials 3 # fewer signal trials
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/_common.py
from _common import environment, load, table

ROOT = Path(__file__).resolve().parents[1]
PRELUDE = """
import json, os, resource, sys, time
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
"""
CONFLICT = ("ommit failed", "etryable", "onflict")


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "AGENTNB_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("AGENTNB_TELEMETRY", None)
    return {**env, **extra}


def _script(body: str) -> list[str]:
    return [sys.executable, "-c", PRELUDE + textwrap.dedent(body)]


def peak_rss(home: Path, runs: int) -> list[tuple[str, ...]]:
    rows = []
    results = {}
    for label, subscribe in (("telemetry off", ""), ("telemetry on, no query", "on")):
        body = f"""
            if {subscribe!r}:
                agent.on_event(telemetry.event_handler())
            for i in range({runs}):
                agent.run_sync(f"How much is {{i}} dollars in GBP?")
            heavy = [m for m in ("lancedb", "pyarrow", "pandas") if m in sys.modules]
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(json.dumps({{"peak": peak, "heavy": heavy}}))
            """
        done = subprocess.run(
            _script(body), env=_env(home / label.replace(" ", "-")), capture_output=True,
            text=True, timeout=600, check=True,
        )  # fmt: skip
        results[label] = json.loads(done.stdout)
    base = results["telemetry off"]["peak"]
    for label, r in results.items():
        target = "≤ 60 MB" if "on" in label else ""
        heavy = ", ".join(r["heavy"]) or "none"
        rows.append((label, f"{r['peak']:.1f} MB", f"{r['peak'] / base:.2f}×", heavy, target))
    return rows


def writers(home: Path, n: int, runs: int) -> list[tuple[str, ...]]:
    home.mkdir(parents=True, exist_ok=True)
    go = home / "go"
    body = f"""
        agent.on_event(telemetry.event_handler())
        telemetry.configure(compact_every=2)
        while not os.path.exists({str(go)!r}):
            time.sleep(0.005)
        ids = [agent.run_sync("12.5 dollars in GBP?").trace_id for _ in range({runs})]
        print(",".join(ids))
        """
    env = _env(home, AGENTNB_INGEST_IDLE="3")
    procs = [
        subprocess.Popen(_script(body), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for _ in range(n)
    ]  # fmt: skip
    time.sleep(1.0)
    go.touch()
    t0 = time.perf_counter()
    outputs = [p.communicate(timeout=600) for p in procs]
    elapsed = time.perf_counter() - t0
    ids = [i for out, _ in outputs for i in out.strip().split(",")]
    lines = [ln for _, err in outputs for ln in err.splitlines()]
    worker_log = home / "telemetry.spool" / "worker.log"
    time.sleep(0.5)
    log_lines = worker_log.read_text().splitlines() if worker_log.exists() else []
    conflicts = sum(any(c in ln for c in CONFLICT) for ln in lines)
    worker_conflicts = sum(any(c in ln for c in CONFLICT) for ln in log_lines)
    from agentnb import telemetry

    stored = list(telemetry.open(str(home / "telemetry")).runs(last=None)["trace_id"])
    lost = len(set(ids) - set(stored))
    twice = len(stored) - len(set(stored))
    return [
        (f"{n} writers × {runs} runs in", f"{elapsed:.1f} s", ""),
        ("conflict lines on the writers' stderr", str(conflicts), "0"),
        ("conflict lines in the worker's log", str(worker_conflicts), "0"),
        ("runs lost", str(lost), "0"),
        ("runs stored twice", str(twice), "0"),
    ]


def signals(home: Path, trials: int) -> list[tuple[str, ...]]:
    body = """
        agent.on_event(telemetry.event_handler())
        for i in range(20):
            agent.run_sync("warm up")
        print(agent.run_sync("12.5 dollars in GBP?").trace_id, flush=True)
        time.sleep(60)
        """
    from agentnb import telemetry

    rows = []
    for name, sig, delay in (("SIGTERM at once", signal.SIGTERM, 0.0),
                             ("SIGKILL 200 ms later", signal.SIGKILL, 0.2)):  # fmt: skip
        lost = 0
        for trial in range(trials):
            store_home = home / f"{sig.name}-{trial}"
            proc = subprocess.Popen(_script(body), env=_env(store_home), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)  # fmt: skip
            assert proc.stdout is not None
            run_id = proc.stdout.readline().strip()
            if delay:
                time.sleep(delay)
            proc.send_signal(sig)
            proc.communicate(timeout=60)
            stored = telemetry.open(str(store_home / "telemetry")).runs(last=None)["trace_id"]
            lost += run_id not in set(stored)
        rows.append((name, f"{lost} of {trials}", "0"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    os.environ.pop("AGENTNB_TELEMETRY", None)
    root = Path(tempfile.mkdtemp(prefix="agentnb-bench-memory-"))
    print(environment("lancedb", "pyarrow"))
    try:
        rows = peak_rss(root / "rss", args.runs)
        print(f"\n1. Peak RSS after {args.runs:,} runs, {load()}\n")
        print(table(("process", "peak RSS", "× off", "heavy modules", "target"), rows))
        rows = writers(root / "writers", args.writers, 150)
        print(f"\n2. Writers sharing one store, {load()}\n")
        print(table(("what", "measured", "target"), rows))
        rows = signals(root / "signals", args.trials)
        print(f"\n3. A run that returned, then a signal; {args.trials} trials each, {load()}\n")
        print(table(("signal", "runs lost", "target"), rows))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
