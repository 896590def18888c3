"""What monitoring costs the run: `MonitorHub.enqueue` per event, against a bare `list.append`.

Target: ≤ 5 µs per event. The events are the real ones of a one-tool-call run, replayed in
order. Each sample times a batch of `--batch` enqueues; the table shows µs per event.

- `list.append`: the floor (what any in-process hand-off costs at least).
- `queue.Queue.put_nowait`: the standard library's bounded, thread-safe queue, for reference.
- `hub.enqueue, no monitors`: the queue itself, with the monitor thread draining concurrently.
- `hub.enqueue, 5 built-ins + @monitor`: the same while the monitors run (they share the GIL).
- `hub.enqueue, queue full (drop)`: the drop path, the monitor thread held up on purpose.

Then whole runs (FunctionModel, one tool call) with and without a hub of every built-in.

    .venv/bin/python bench/monitors.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import queue
import statistics
import threading
import time
from collections.abc import Callable, Sequence

from _common import Variant, environment, measure, median_us, print_table

from agentnb import Agent, FunctionModel, tool, tool_call
from agentnb.events import Event
from agentnb.guards.monitoring import (
    MonitorHub,
    block_rate,
    cost,
    latency,
    monitor,
    output_length,
    tool_errors,
)
from agentnb.models import ModelRequest


@tool
def get_weather(city: str, unit: str = "C") -> str:
    """Weather in a city."""
    return f"21 {unit} in {city}"


def _play(request: ModelRequest) -> object:
    return tool_call("get_weather", city="Paris") if len(request.messages) == 1 else "Sunny."


def _agent() -> Agent:
    return Agent("bench", model=FunctionModel(_play), tools=[get_weather], telemetry=False)


@monitor
def slow_tools(event: Event) -> str | None:
    if event.kind == "tool_call_finished" and event.duration > 1.0:
        return f"{event.call.name} took {event.duration:.1f} s"
    return None


def _all_monitors() -> list:  # type: ignore[type-arg]
    return [latency(p95_ms=4000), tool_errors(), block_rate(), cost(), output_length(), slow_tools]


def _recorded_events() -> list[Event]:
    agent = _agent()
    events: list[Event] = []
    agent.on_event(events.append)
    agent.run_sync("Weather in Paris?")
    return events


def _time_batches(
    put: Callable[[Event], object], events: Sequence[Event], batch: int, samples: int
) -> list[float]:
    """Seconds per event, one value per batch."""
    stream = [events[i % len(events)] for i in range(batch)]
    out: list[float] = []
    clock = time.perf_counter
    for _ in range(samples):
        t0 = clock()
        for event in stream:
            put(event)
        out.append((clock() - t0) / batch)
    return out


def _row(name: str, per_event: list[float], floor: float) -> tuple[str, ...]:
    median = statistics.median(per_event) * 1e6
    p90 = statistics.quantiles(per_event, n=10)[-1] * 1e6
    return (name, f"{median:.3f}", f"{p90:.3f}", f"{median / floor:.1f}×")


def _print(rows: list[tuple[str, ...]], batch: int, samples: int) -> None:
    headers = ("variant", "median µs/event", "p90 µs/event", "× list.append")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print(f"\nEnqueue cost per event ({samples} batches of {batch:,} events each)\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 1) + (":" if i else "-") for i, w in enumerate(widths)) + "|")
    for row in rows:
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs]
        print("| " + " | ".join(cells) + " |")


def enqueue_table(batch: int, samples: int) -> None:
    events = _recorded_events()
    rows: list[tuple[str, ...]] = []

    sink: list[Event] = []

    def append(event: Event) -> None:
        sink.append(event)
        if len(sink) > 100_000:
            sink.clear()

    floor = _time_batches(append, events, batch, samples)
    floor_us = statistics.median(floor) * 1e6
    rows.append(_row("list.append", floor, floor_us))

    stdlib: queue.Queue[Event] = queue.Queue(maxsize=10**7)
    rows.append(
        _row(
            "queue.Queue.put_nowait",
            _time_batches(stdlib.put_nowait, events, batch, samples),
            floor_us,
        )
    )

    for name, monitors in (
        ("hub.enqueue, no monitors", []),
        ("hub.enqueue, 5 built-ins + @monitor", _all_monitors()),
    ):
        hub = MonitorHub(monitors, agent="bench", maxsize=10**7)
        gc.collect()
        per_event = _time_batches(hub.enqueue, events, batch, samples)
        hub.drain(timeout=120)
        hub.close()
        rows.append(_row(name, per_event, floor_us))

    gate = threading.Event()

    @monitor(name="held")
    def held(event: Event) -> None:
        gate.wait()

    hub = MonitorHub([held], agent="bench", maxsize=16)
    hub.enqueue(events[0])
    time.sleep(0.01)  # the monitor thread now waits in `held`; the queue fills and stays full
    per_event = _time_batches(
        hub.enqueue, [e for e in events if e.kind != "run_finished"], batch, samples
    )
    gate.set()
    hub.drain(timeout=10)
    hub.close()
    rows.append(_row("hub.enqueue, queue full (drop)", per_event, floor_us))
    _print(rows, batch, samples)
    worst = max(float(r[1]) for r in rows[2:])
    verdict = "meets" if worst <= 5 else "MISSES"
    print(f"\nWorst hub median {worst:.3f} µs/event: {verdict} the 5 µs target.")


def run_table(runs: int) -> None:
    plain = _agent()
    watched = _agent()
    hub = MonitorHub(_all_monitors(), agent=watched.name)
    watched.on_event(hub.enqueue)
    counted = _agent()
    counted.on_event(lambda event: None)  # events built and handed off, no queue
    variants = [
        Variant("agent.run_sync, no event handlers", lambda: plain.run_sync("Weather?")),
        Variant("… + a no-op event handler", lambda: counted.run_sync("Weather?")),
        Variant("… + MonitorHub with 5 built-ins + @monitor", lambda: watched.run_sync("Weather?")),
    ]
    loop = asyncio.new_event_loop()
    try:
        measure(variants, loop=loop, runs=runs, batch=20, warmup=50, progress=False)
    finally:
        loop.close()
    hub.drain(timeout=60)
    print_table(
        f"Whole runs (one tool call, two model turns); {runs:,} runs each", variants, variants[0]
    )
    added = median_us(variants[2]) - median_us(variants[1])
    print(
        f"\nThe hub adds {added:.1f} µs per run over a no-op handler; "
        f"dropped events: {hub.dropped}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (seconds)")
    args = parser.parse_args()
    batch, samples, runs = (1_000, 50, 200) if args.quick else (1_000, 400, 2_000)
    print(environment("agentnb"))
    enqueue_table(batch, samples)
    run_table(runs)


if __name__ == "__main__":
    main()
