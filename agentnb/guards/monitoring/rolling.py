"""Shared machinery of the built-in monitors: one number per run, or a rate over a window.

Both keep rolling statistics across the runs of the one agent they watch and report on the
run that crossed a line, through `stats.Alarm`: once when a condition starts, a reminder every
`window` runs while it lasts, once when it clears.
"""

from __future__ import annotations

import inspect
from collections import Counter, deque
from typing import TYPE_CHECKING, Any

from agentnb.events import Event
from agentnb.guards.monitoring.monitor import Finding, Monitor, MonitorDefinitionError
from agentnb.guards.monitoring.stats import Alarm, Drift, Window

if TYPE_CHECKING:
    from agentnb.runs.result import RunResult

__all__ = ["RateMonitor", "RunMetric", "check", "check_names", "given_params"]


def given_params(init: Any, scope: dict[str, Any]) -> dict[str, Any]:
    """The arguments of `init` that differ from its defaults: what a config needs to say.

    `scope` is `init`'s `locals()`, taken first thing, so it holds only the arguments.
    """
    parameters = inspect.signature(init).parameters
    return {
        name: value
        for name, value in scope.items()
        if name in parameters and name != "self" and parameters[name].default != value
    }


def check(name: str, param: str, value: Any, *, rate: bool = False, count: bool = False) -> None:
    """Check one numeric parameter of monitor `name`; None means not given and passes.

    Args:
        name: The monitor, named in the message with `param`.
        rate: Require a number in (0, 1] instead of any number > 0.
        count: Require a whole number >= 1.

    Raises:
        MonitorDefinitionError: naming the monitor, the parameter, what it must be and the value.
    """
    if value is None:
        return
    if count:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
        want = "a whole number ≥ 1"
    else:
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = is_number and value > 0 and (not rate or value <= 1)
        want = "a number in (0, 1]" if rate else "a number > 0"
    if not ok:
        raise MonitorDefinitionError(f"monitor {name!r}: {param} must be {want}, got {value!r}")


def check_names(name: str, param: str, value: Any) -> None:
    """Check that `param` of monitor `name` is None or a list of names (tools, guards).

    Raises `MonitorDefinitionError` naming the monitor, the parameter and the value.
    """
    if value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return
    raise MonitorDefinitionError(
        f"monitor {name!r}: {param} must be a list of names, got {value!r}"
    )


class RunMetric(Monitor):
    """One number per run (from `RunFinished`), checked against limits and against drift."""

    kinds = frozenset({"run_finished"})
    unit = ""
    """Of the values in evidence (`ms`, `usd`, `chars`)."""
    two_sided = False
    """Drift counts in both directions (output length) or only upwards (latency, cost)."""

    def __init__(
        self,
        given: dict[str, Any],
        *,
        drift: float | None,
        window: int,
        baseline: int,
        min_runs: int,
    ) -> None:
        super().__init__(**given)
        for param, value in (("window", window), ("baseline", baseline), ("min_runs", min_runs)):
            check(self.name, param, value, count=True)
        check(self.name, "drift", drift)
        self.drift_limit = drift
        self.window_size, self.min_runs = window, min_runs
        self.recent = Window(window)
        self.drift = Drift(baseline=baseline, window=window)
        self.alarms: dict[str, Alarm] = {}

    def measure(self, result: RunResult) -> float | None:
        """This run's number (in `unit`), or None to skip the run; subclasses implement it."""
        raise NotImplementedError

    def show(self, value: float) -> str:
        """`value` (in `unit`) as a finding's message writes it; subclasses implement it."""
        raise NotImplementedError

    def limits(self) -> list[tuple[str, float, float]]:
        """(label, quantile, limit) pairs checked over the recent window."""
        return []

    def per_run(self, value: float) -> list[Finding]:
        """Checks of this run alone (cost's budget per run)."""
        return []

    def observe(self, event: Event) -> list[Finding]:
        """Measure a finished run, then check it alone, the window's limits and drift."""
        if event.kind != "run_finished":
            return []
        value = self.measure(event.result)
        if value is None:
            return []
        self.recent.add(value)
        self.drift.add(value)
        found = self.per_run(value)
        if len(self.recent) >= self.min_runs:
            for label, q, limit in self.limits():
                found += self._limit(label, self.recent.quantile(q), limit)
        if self.drift_limit is not None:
            found += self._drift(self.drift_limit)
        return found

    def _alarm(self, key: str, breached: bool) -> str | None:
        return self.alarms.setdefault(key, Alarm(self.window_size)).update(breached)

    def _limit(self, label: str, value: float, limit: float) -> list[Finding]:
        runs = len(self.recent)
        evidence = {
            "statistic": label,
            "value": value,
            "limit": limit,
            "unit": self.unit,
            "runs": runs,
        }
        state = self._alarm(label, value > limit)
        if state == "fire":
            message = (
                f"{self.name} {label} {self.show(value)} over the last {runs} runs exceeds "
                f"{self.show(limit)}"
            )
            return [Finding(message, "warning", evidence)]
        if state == "clear":
            message = f"{self.name} {label} back to {self.show(value)} (limit {self.show(limit)})"
            return [Finding(message, "info", evidence)]
        return []

    def _drift(self, limit: float) -> list[Finding]:
        change = self.drift.change(self.min_runs)
        if change is None:
            return []
        before, now, relative = change
        moved = abs(relative) if self.two_sided else relative
        state = self._alarm("drift", moved > limit)
        if state is None:
            return []
        evidence = {
            "baseline_median": before,
            "recent_median": now,
            "unit": self.unit,
            "change": relative,
            "limit": limit,
            "baseline_runs": len(self.drift.baseline),
            "recent_runs": len(self.drift.recent),
        }
        if state == "clear":
            message = f"{self.name} back near its baseline: median {self.show(now)}"
            return [Finding(message, "info", evidence)]
        direction = "higher" if relative > 0 else "lower"
        message = (
            f"{self.name} drifted {abs(relative):.0%} {direction} than at the start of the "
            f"session: median {self.show(now)} over the last {len(self.drift.recent)} runs vs "
            f"{self.show(before)} over the first {len(self.drift.baseline)}"
        )
        return [Finding(message, "warning", evidence)]

    def reset(self) -> None:
        """Forget the window, the drift baseline and the alarms."""
        self.recent.values.clear()
        self.drift.reset()
        self.alarms.clear()


class RateMonitor(Monitor):
    """A rate of bad outcomes over a rolling window of items (tool calls, runs)."""

    def __init__(
        self,
        given: dict[str, Any],
        *,
        max_rate: float,
        window: int,
        min_items: tuple[str, int],
    ) -> None:
        super().__init__(**given)
        check(self.name, "max_rate", max_rate, rate=True)
        check(self.name, "window", window, count=True)
        check(self.name, *min_items, count=True)
        self.max_rate, self.min_items = max_rate, min_items[1]
        self.items: deque[tuple[str, ...]] = deque(maxlen=window)
        """One entry per item: the names (tools, guards) it went wrong for; empty when fine."""
        self.alarm = Alarm(window)

    def evaluate(self, noun: str, culprit: str, **extra: Any) -> list[Finding]:
        """Findings on the rate of bad items in the window, once it holds `min_items`.

        Args:
            noun: What the window counts (`"calls"`, `"runs"`), for the message and evidence.
            culprit: What bad items are blamed on (`"tool"`, `"guard"`): evidence `by_<culprit>`.
            **extra: More evidence.
        """
        total = len(self.items)
        if total < self.min_items:
            return []
        bad = sum(1 for names in self.items if names)
        rate = bad / total
        by_name = Counter(name for names in self.items for name in names)
        evidence = {
            "rate": rate,
            "max_rate": self.max_rate,
            noun: total,
            "failed": bad,
            f"by_{culprit}": dict(by_name),
            **extra,
        }
        state = self.alarm.update(rate > self.max_rate)
        if state == "clear":
            message = f"{self.name} back to {rate:.0%} (limit {self.max_rate:.0%})"
            return [Finding(message, "info", evidence)]
        if state is None:
            return []
        worst = ", ".join(f"{name} ×{count}" for name, count in by_name.most_common(3))
        message = (
            f"{self.name} {rate:.0%} over the last {total} {noun} exceeds "
            f"{self.max_rate:.0%} ({worst})"
        )
        return [Finding(message, "warning", evidence)]

    def reset(self) -> None:
        """Forget the window and the alarm."""
        self.items.clear()
        self.alarm = Alarm(self.alarm.every)
