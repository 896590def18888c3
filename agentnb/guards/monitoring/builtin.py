"""Built-in monitors: latency, tool_errors, block_rate, cost, output_length.

Each keeps rolling statistics across the runs of the one agent it watches (see `rolling.py`)
and every default works with a bare name in a config (`monitors: [latency, tool_errors]`).

>>> latency(p95_ms=4000).ref.model_dump()
{'name': 'latency', 'params': {'p95_ms': 4000}}
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

from agentnb.events import Event
from agentnb.guards.monitoring.monitor import Finding, register
from agentnb.guards.monitoring.rolling import (
    RateMonitor,
    RunMetric,
    check,
    check_names,
    given_params,
)
from agentnb.guards.monitoring.stats import PerRun

if TYPE_CHECKING:
    from agentnb.runs.result import RunResult

__all__ = [
    "BlockRate",
    "Cost",
    "Latency",
    "OutputLength",
    "ToolErrors",
    "block_rate",
    "cost",
    "latency",
    "output_length",
    "tool_errors",
]


class Latency(RunMetric):
    """Run duration: p50/p95 over the last `window` runs vs limits in ms, and drift upwards."""

    name = "latency"
    unit = "ms"

    def __init__(
        self,
        *,
        p50_ms: float | None = None,
        p95_ms: float | None = None,
        drift: float | None = 0.5,
        window: int = 20,
        baseline: int = 20,
        min_runs: int = 5,
    ) -> None:
        given = given_params(Latency.__init__, locals())
        super().__init__(given, drift=drift, window=window, baseline=baseline, min_runs=min_runs)
        check(self.name, "p50_ms", p50_ms)
        check(self.name, "p95_ms", p95_ms)
        self.p50_ms, self.p95_ms = p50_ms, p95_ms

    def measure(self, result: RunResult) -> float:
        """The run's duration in ms."""
        return result.duration * 1000

    def show(self, value: float) -> str:
        """`value` (ms) for a finding's message: `"2.31 s"`, `"840 ms"`."""
        if value >= 1000:
            return f"{value / 1000:.2f} s"
        return f"{value:.0f} ms" if value >= 10 else f"{value:.2g} ms"

    def limits(self) -> list[tuple[str, float, float]]:
        """The p50/p95 limits that were given, as (label, quantile, limit in ms)."""
        pairs = (("p50", 0.5, self.p50_ms), ("p95", 0.95, self.p95_ms))
        return [(label, q, limit) for label, q, limit in pairs if limit is not None]


class Cost(RunMetric):
    """Cost per run in USD: a budget per run (`max_usd`) and drift upwards.

    Runs on models without a known price (`RunResult.cost is None`) are skipped; one info
    finding says so, with the fix.
    """

    name = "cost"
    unit = "usd"

    def __init__(
        self,
        *,
        max_usd: float | None = None,
        drift: float | None = 0.5,
        window: int = 20,
        baseline: int = 20,
        min_runs: int = 5,
    ) -> None:
        given = given_params(Cost.__init__, locals())
        super().__init__(given, drift=drift, window=window, baseline=baseline, min_runs=min_runs)
        check(self.name, "max_usd", max_usd)
        self.max_usd = max_usd
        self.unpriced: set[str] = set()

    def observe(self, event: Event) -> list[Finding]:
        """As `RunMetric.observe`; runs of an unpriced model give one info finding per model."""
        if event.kind == "run_finished" and event.result.cost is None:
            model = event.result.model
            if model in self.unpriced:
                return []
            self.unpriced.add(model)
            message = (
                f"cost of {model} runs is unknown, so it is not monitored; give it a price with "
                f"agentnb.models.set_price({model!r}, input_per_million=..., "
                "output_per_million=...)"
            )
            return [Finding(message, "info", {"model": model})]
        return super().observe(event)

    def measure(self, result: RunResult) -> float | None:
        """The run's cost in USD; None (skipped) when its model has no known price."""
        return result.cost

    def show(self, value: float) -> str:
        """`value` (USD) for a finding's message: `"$0.0123"`."""
        return f"${value:.4f}"

    def per_run(self, value: float) -> list[Finding]:
        """A warning when this run alone cost more than `max_usd`."""
        if self.max_usd is None or value <= self.max_usd:
            return []
        message = f"run cost {self.show(value)}, over the budget of {self.show(self.max_usd)}"
        return [Finding(message, "warning", {"cost": value, "max_usd": self.max_usd})]


class OutputLength(RunMetric):
    """Length of the final output in characters, against the session's first runs (±drift).

    Structured outputs count as their JSON; runs without an output (errors) are skipped.
    """

    name = "output_length"
    unit = "chars"
    two_sided = True

    def __init__(
        self,
        *,
        drift: float | None = 0.5,
        window: int = 20,
        baseline: int = 20,
        min_runs: int = 5,
    ) -> None:
        given = given_params(OutputLength.__init__, locals())
        super().__init__(given, drift=drift, window=window, baseline=baseline, min_runs=min_runs)

    def measure(self, result: RunResult) -> float | None:
        """Characters of the final output (JSON for structured ones); None for runs that failed."""
        output = result.output
        if output is None or result.status != "ok":
            return None
        if not isinstance(output, str):
            dumped = output.model_dump(mode="json") if hasattr(output, "model_dump") else output
            output = json.dumps(dumped, default=str)
        return float(len(output))

    def show(self, value: float) -> str:
        """`value` for a finding's message: `"412 chars"`."""
        return f"{value:.0f} chars"


class ToolErrors(RateMonitor):
    """Share of tool calls that failed (invalid arguments, exception, timeout, unknown tool).

    The window counts calls, across runs; `tools` narrows it to some tools.
    """

    name = "tool_errors"
    kinds = frozenset({"tool_call_finished", "run_finished"})

    def __init__(
        self,
        *,
        max_rate: float = 0.2,
        window: int = 50,
        min_calls: int = 10,
        tools: list[str] | None = None,
    ) -> None:
        given = given_params(ToolErrors.__init__, locals())
        super().__init__(
            given, max_rate=max_rate, window=window, min_items=("min_calls", min_calls)
        )
        check_names(self.name, "tools", tools)
        self.tools = None if tools is None else frozenset(tools)
        self.new_calls = 0
        self.errors: Counter[str] = Counter()
        """How calls failed (`invalid_arguments`, `exception`, …) over the session."""

    def observe(self, event: Event) -> list[Finding]:
        """Count each finished tool call; check the failure rate when a run with calls ends."""
        if event.kind == "tool_call_finished":
            name = event.call.name
            if self.tools is None or name in self.tools:
                self.items.append((name,) if event.error else ())
                self.new_calls += 1
                if event.error:
                    self.errors[event.error] += 1
            return []
        if event.kind != "run_finished" or not self.new_calls:
            return []  # a run without tool calls tells nothing new about tools
        self.new_calls = 0
        return self.evaluate("calls", "tool", by_error=dict(self.errors))


class BlockRate(RateMonitor):
    """Share of runs in which a guard blocked (a `GuardVerdict` with outcome "block").

    The window counts runs; `guards` narrows it to some guards.
    """

    name = "block_rate"
    kinds = frozenset({"verdict", "run_finished"})

    def __init__(
        self,
        *,
        max_rate: float = 0.2,
        window: int = 20,
        min_runs: int = 5,
        guards: list[str] | None = None,
    ) -> None:
        given = given_params(BlockRate.__init__, locals())
        super().__init__(given, max_rate=max_rate, window=window, min_items=("min_runs", min_runs))
        check_names(self.name, "guards", guards)
        self.guards = None if guards is None else frozenset(guards)
        self.blocks: PerRun[list[str]] = PerRun(list)

    def observe(self, event: Event) -> list[Finding]:
        """Collect each run's blocking guards; check the block rate when the run ends."""
        if event.kind == "verdict":
            if event.outcome == "block" and (self.guards is None or event.guard in self.guards):
                self.blocks.get(event.run_id).append(event.guard)
            return []
        if event.kind != "run_finished":
            return []
        guards = self.blocks.pop(event.run_id)
        if not guards and event.result.status == "blocked" and self.guards is None:
            guards = ["(unknown guard)"]  # its verdict event was dropped from a full queue
        self.items.append(tuple(dict.fromkeys(guards)))
        return self.evaluate("runs", "guard")


latency = Latency
tool_errors = ToolErrors
block_rate = BlockRate
cost = Cost
output_length = OutputLength

for _factory in (Latency, ToolErrors, BlockRate, Cost, OutputLength):
    register(_factory.name, _factory)
