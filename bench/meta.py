"""What `meta.analyze` costs over a large store: 100,000 runs (about 930,000 spans).

The store is filled with `agentnb.meta.synthetic` (90,000 runs of `support` 1.2.0 and 10,000 of
1.2.1, with planted failures, blocks, loops, outliers, monitor findings), written straight into
LanceDB and then compacted and indexed with `Store.optimize()` (what the background writer does
over time). Then, each timed `--repeat` times (median):

- baseline: reading what `analyze` reads at least (the runs table, the failed tool calls, the
  verdicts, the monitor findings) through the same `Store` methods, with no analysis at all;
- `analyze`: every analyzer, one `Report`;
- `compare`: both versions side by side with their intervals.

Then one `analyze` split by analyzer (each analyzer's first read of a table counts as its own).

Target from the issue: `analyze` over 100k runs (~1M spans) in ≤ 10 s on this machine.

    .venv/bin/python bench/meta.py            # about 40 s on 2 cores (20 s of it making the store)
    .venv/bin/python bench/meta.py --quick    # 10,000 runs
"""

from __future__ import annotations

import os

os.environ["AGENTNB_TELEMETRY"] = "off"  # before agentnb is imported: nothing may start it

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/_common.py
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the repo root, for agentnb
from _common import environment, table

from agentnb import meta, telemetry
from agentnb import semconv as A
from agentnb.meta._data import Data, Scope, Thresholds
from agentnb.meta.analysis import ANALYZERS
from agentnb.meta.synthetic import Planted, generate

TARGET_S = 10.0


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), result


def read_floor(store: telemetry.Store) -> int:
    """What analyze reads at least, with the same queries and no analysis."""
    runs = store.runs("support", last=None, as_arrow=True)
    errors = store.spans(
        operation=A.OP_EXECUTE_TOOL, status="error", agent="support", last=None, as_arrow=True
    )
    verdicts = store.verdicts(where="agent = 'support'")
    findings = store.findings(where="agent = 'support'")
    return int(runs.num_rows + errors.num_rows + len(verdicts) + len(findings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10,000 runs, one repeat")
    args = parser.parse_args()
    runs = 10_000 if args.quick else args.runs
    repeat = 1 if args.quick else args.repeat
    print(environment("lancedb", "pyarrow", "numpy"))

    home = Path(tempfile.mkdtemp(prefix="agentnb-bench-meta-"))
    store = telemetry.open(str(home / "telemetry"))
    t0 = time.perf_counter()
    old = generate(store, Planted(runs=runs * 9 // 10, version="1.2.0", seed=1))
    new = generate(store, Planted(runs=runs - runs * 9 // 10, version="1.2.1", seed=2,
                                  invalid_rate=0.03, start=Planted().start))  # fmt: skip
    made = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.optimize()
    optimized = time.perf_counter() - t0
    spans = old.spans + new.spans
    print(
        f"\nstore: {runs:,} runs, {spans:,} spans, written in {made:.1f} s, "
        f"compacted and indexed in {optimized:.1f} s"
    )

    floor_s, _ = timed(lambda: read_floor(store), repeat)
    analyze_s, report = timed(lambda: meta.analyze(store, agent="support"), repeat)
    compare_s, _ = timed(lambda: meta.compare(store, "support", "1.2.0", "1.2.1"), repeat)

    verdict = "✓" if analyze_s <= TARGET_S else "✗"
    rows = [
        ("baseline: read runs, failed tool calls, verdicts, findings", f"{floor_s:.2f}",
         "1.00×", ""),
        (f"analyze: {len(report.findings)} findings", f"{analyze_s:.2f}",
         f"{analyze_s / floor_s:.2f}×", f"≤ {TARGET_S:.0f} s {verdict}"),
        ("compare: 2 versions, 8 metrics", f"{compare_s:.2f}", f"{compare_s / floor_s:.2f}×", ""),
    ]  # fmt: skip
    print(f"\nmedian of {repeat} (seconds, {runs:,} runs)\n")
    print(table(["what", "seconds", "× baseline", "target"], rows))

    data = Data(store, Scope("support", None, None, None))
    t0 = time.perf_counter()
    _ = data.runs
    stages = [("read the runs table", time.perf_counter() - t0)]
    for name, analyzer in ANALYZERS.items():
        t0 = time.perf_counter()
        found = analyzer(data, Thresholds())
        stages.append((f"{name} ({len(found)} findings)", time.perf_counter() - t0))
    total = sum(s for _, s in stages)
    print("\none analyze, by analyzer\n")
    print(
        table(
            ["stage", "seconds", "share"],
            [(n, f"{s:.2f}", f"{s / total:.0%}") for n, s in stages]
            + [("total", f"{total:.2f}", "100%")],
        )
    )
    print(f"\n{report.summary().splitlines()[0]}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
