"""How long `import agentnb` takes vs `import pydantic_ai` and `import agents` (openai-agents),
and `%load_ext agentnb` in a shell that has loaded what a running kernel has.

Each import runs in a fresh interpreter, five rounds interleaved, best of five reported; the
interpreter's own start-up is not counted (the child times the import statement itself).
`from pydantic import BaseModel` is the baseline: agentnb's one heavy dependency, which no
version of agentnb can avoid loading.
The last column lists the heavy modules the import pulled in; agentnb promises to pull in none
(provider SDKs, LanceDB and nbformat load on first use).

    .venv/bin/python bench/import_time.py            # about 12 s
    .venv/bin/python bench/import_time.py --rounds 9
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, load, table

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("openai", "anthropic", "lancedb", "nbformat", "nbclient")
"""Must not load on `import agentnb`; the table also shows `httpx` and `IPython`, for reference."""
SHOWN = (*HEAVY, "httpx", "IPython")
BASELINE = "from pydantic import BaseModel"
LOAD_EXT = "shell.run_line_magic('load_ext', 'agentnb')"
TARGETS = (BASELINE, "import agentnb", LOAD_EXT, "import pydantic_ai", "import agents")
SETUP = {
    # What a kernel has imported before any cell runs (not counted); history kept in memory.
    LOAD_EXT: "import ipykernel.ipkernel\n"
    "from traitlets.config import Config\n"
    "from IPython.core.interactiveshell import InteractiveShell\n"
    "config = Config()\n"
    "config.HistoryManager.hist_file = ':memory:'\n"
    "shell = InteractiveShell.instance(config=config)",
}

CHILD = """
import json, sys, time
{setup}
before = set(sys.modules)
c0, t0 = time.process_time(), time.perf_counter()
{statement}
elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
loaded = set(sys.modules) - before
heavy = [h for h in {shown!r} if h in loaded]
print(json.dumps({{"seconds": elapsed, "cpu": cpu, "modules": len(loaded), "heavy": heavy}}))
"""


@dataclass
class Result:
    statement: str
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    """CPU seconds: unlike the wall clock, not inflated when other processes take the CPU."""
    modules: int = 0
    heavy: list[str] = field(default_factory=list)


def _child(code: str) -> str:
    # PYTHONPATH keeps agentnb importable from the checkout (-I would drop it); -s and no
    # PYTHONSTARTUP so that nothing but the statement imports anything.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONSTARTUP", None)
    command = [sys.executable, "-s", "-c", code]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=ROOT, check=True
    ).stdout


def measure_once(statement: str, into: Result) -> None:
    setup = SETUP.get(statement, "")
    out = _child(CHILD.format(setup=setup, statement=statement, shown=SHOWN))
    data = json.loads(out.strip().splitlines()[-1])
    into.seconds.append(float(data["seconds"]))
    into.cpu.append(float(data["cpu"]))
    into.modules = int(data["modules"])
    into.heavy = [str(h) for h in data["heavy"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="fresh interpreters per import")
    args = parser.parse_args()
    started = time.perf_counter()
    results = {m: Result(m) for m in TARGETS}
    for statement in TARGETS:  # write the .pyc files first so that no round pays for compiling
        _child(f"{SETUP.get(statement, '')}\n{statement}")
    for index in range(args.rounds):  # interleaved, rotated: drift hits every statement alike
        shift = index % len(TARGETS)
        for statement in [*TARGETS[shift:], *TARGETS[:shift]]:
            measure_once(statement, results[statement])

    base, cpu_base = min(results[BASELINE].seconds), min(results[BASELINE].cpu)
    print(f"{environment()}; best of {args.rounds} fresh interpreters\n")
    headers = (
        "statement",
        "best ms",
        "median ms",
        "× BaseModel",
        "best CPU ms",
        "CPU × BaseModel",
        "modules",
        "heavy modules loaded",
    )
    rows = [
        (
            r.statement,
            f"{min(r.seconds) * 1e3:.1f}",
            f"{statistics.median(r.seconds) * 1e3:.1f}",
            f"{min(r.seconds) / base:.2f}×",
            f"{min(r.cpu) * 1e3:.1f}",
            f"{min(r.cpu) / cpu_base:.2f}×",
            str(r.modules),
            ", ".join(r.heavy) or "none",
        )
        for r in results.values()
    ]
    print(table(headers, rows))
    for statement, shown in (("import agentnb", "`import agentnb`"), (LOAD_EXT, "`%load_ext`")):
        heavy = [h for h in results[statement].heavy if h in HEAVY]
        verdict = "met" if not heavy else f"MISSED ({', '.join(heavy)})"
        print(f"\n{shown} loads no provider SDK, LanceDB or notebook library: {verdict}")
    print(f"\n(took {time.perf_counter() - started:.0f} s; {load()} at the end)")


if __name__ == "__main__":
    main()
