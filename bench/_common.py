"""Shared timing and table printing for the bench scripts (standard library only)."""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

__all__ = [
    "Variant",
    "environment",
    "load",
    "measure",
    "median_us",
    "paired_ratio",
    "print_table",
    "table",
]


@dataclass
class Variant:
    """One thing to time: `run()` does one whole agent run (sync, or a coroutine if `is_async`)."""

    name: str
    run: Callable[[], Any] | Callable[[], Awaitable[Any]]
    is_async: bool = False
    earlier: str = ""
    """What this variant measured before agentnb existed, shown beside today's number."""
    samples: list[float] = field(default_factory=list)
    """Wall-clock seconds per run."""
    cpu: list[float] = field(default_factory=list)
    """CPU seconds per run, all threads of this process (the wire server's too): unlike the wall
    clock, not inflated when other processes take the CPU away."""


def environment(*packages: str) -> str:
    """One line naming the interpreter, the machine and the versions being compared."""
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:  # agentnb run from a checkout
            module = sys.modules.get(name) or __import__(name)
            versions.append(f"{name} {getattr(module, '__version__', '?')} (source)")
    where = f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs"
    return "; ".join([f"{where}, {load()}", *([", ".join(versions)] if versions else [])])


def load() -> str:
    """The 1-minute load average: above the CPU count, other processes skew the wall clock."""
    return f"load average {os.getloadavg()[0]:.2f}"


async def _timed_batch(variant: Variant, n: int, keep: bool = True) -> None:
    run: Callable[[], Awaitable[Any]] = variant.run
    wall, cpu = time.perf_counter, time.process_time
    for _ in range(n):
        c0 = cpu()  # outside the wall-clock reading: process_time is a system call
        t0 = wall()
        await run()
        t1 = wall()
        c1 = cpu()
        if keep:
            variant.samples.append(t1 - t0)
            variant.cpu.append(c1 - c0)


def _sync_batch(variant: Variant, n: int, keep: bool = True) -> None:
    run = variant.run
    wall, cpu = time.perf_counter, time.process_time
    for _ in range(n):
        c0 = cpu()
        t0 = wall()
        run()
        t1 = wall()
        c1 = cpu()
        if keep:
            variant.samples.append(t1 - t0)
            variant.cpu.append(c1 - c0)


def _batch(variant: Variant, loop: asyncio.AbstractEventLoop, n: int, keep: bool = True) -> None:
    if variant.is_async:
        loop.run_until_complete(_timed_batch(variant, n, keep))
    else:
        _sync_batch(variant, n, keep)


def measure(
    variants: Sequence[Variant],
    *,
    loop: asyncio.AbstractEventLoop,
    runs: int,
    batch: int,
    warmup: int,
    progress: bool = True,
) -> None:
    """Time `runs` runs of every variant, interleaved in rounds of `batch` runs each.

    Every round runs each variant once, in an order rotated by one per round, so slow drift
    (thermal, other processes, heap growth) is shared by all variants instead of landing on
    whichever ran last. Async variants run inside `loop`, which stays open for the whole
    measurement (HTTP clients keep their connections); sync variants run from plain sync code.
    """
    for variant in variants:  # warm-up: lazy imports, caches, open connections
        _batch(variant, loop, warmup, keep=False)
    gc.collect()
    rounds = max(1, runs // batch)
    started = time.perf_counter()
    for index in range(rounds):
        shift = index % len(variants)
        for variant in [*variants[shift:], *variants[:shift]]:
            _batch(variant, loop, batch)
        if progress and (index + 1) % max(1, rounds // 10) == 0:
            elapsed = time.perf_counter() - started
            print(f"  round {index + 1}/{rounds} ({elapsed:.0f} s)", file=sys.stderr, flush=True)


def median_us(variant: Variant, *, cpu: bool = False) -> float:
    return statistics.median(variant.cpu if cpu else variant.samples) * 1e6


def paired_ratio(variant: Variant, floor: Variant) -> float:
    """Median of run-by-run ratios: run i of both was measured in the same round, so a burst of
    load inflates both halves of a ratio, where it may land on only one of two medians."""
    return statistics.median(a / b for a, b in zip(variant.samples, floor.samples, strict=True))


def _fmt(us: float, unit: str) -> str:
    if unit == "ms":
        return f"{us / 1000:,.2f}"
    return f"{us:,.1f}" if us < 100 else f"{us:,.0f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table; every column but the first and the last is right-aligned (numbers)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    last = len(headers) - 1

    def line(cells: Sequence[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return (
            "| "
            + " | ".join(c.ljust(w) if i in (0, last) else c.rjust(w) for i, (c, w) in pairs)
            + " |"
        )

    rule = ["-" * (w + 2) if i in (0, last) else "-" * (w + 1) + ":" for i, w in enumerate(widths)]
    return "\n".join([line(headers), "|" + "|".join(rule) + "|", *(line(r) for r in rows)])


def print_table(
    title: str, variants: Sequence[Variant], floor: Variant, *, unit: str = "µs"
) -> None:
    """Wall-clock median and p90 per run (in `unit`: µs or ms), the median's ratio to `floor`'s,
    and the same median and ratio in CPU time."""
    base, cpu_base = median_us(floor), median_us(floor, cpu=True)
    headers = (
        "variant",
        "runs",
        f"median {unit}",
        f"p90 {unit}",
        "× floor",
        f"CPU {unit}",
        "CPU × floor",
        "earlier, pre-agentnb",
    )
    rows = []
    for v in variants:
        median, cpu = median_us(v), median_us(v, cpu=True)
        p90 = statistics.quantiles(v.samples, n=10)[-1] * 1e6
        rows.append(
            (
                v.name,
                f"{len(v.samples):,}",
                _fmt(median, unit),
                _fmt(p90, unit),
                f"{median / base:,.2f}×",
                _fmt(cpu, unit),
                f"{cpu / cpu_base:,.2f}×",
                v.earlier,
            )
        )
    print(f"\n{title}\n")
    print(table(headers, rows))
