"""Rolling statistics the built-in monitors keep across the runs of one agent in a session."""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from typing import Generic, TypeVar

__all__ = ["Alarm", "Drift", "PerRun", "Window", "quantile"]

T = TypeVar("T")


def quantile(values: list[float], q: float) -> float:
    """The `q` quantile (0–1) of `values`, linearly interpolated (numpy's default method).

    >>> quantile([1.0, 2.0, 3.0, 4.0], 0.5)
    2.5
    """
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class Window:
    """The last `size` values; older ones fall out."""

    def __init__(self, size: int) -> None:
        self.values: deque[float] = deque(maxlen=size)

    def add(self, value: float) -> None:
        """Append `value`, dropping the oldest when full."""
        self.values.append(value)

    def __len__(self) -> int:
        return len(self.values)

    def quantile(self, q: float) -> float:
        """The `q` quantile (0–1) of the values in the window."""
        return quantile(list(self.values), q)

    def mean(self) -> float:
        """The mean of the values in the window; raises `ZeroDivisionError` when it is empty."""
        return sum(self.values) / len(self.values)


class Drift:
    """A frozen baseline (the first `baseline` values of the session) against a recent window.

    Comparing with the session's own start rather than with a fixed number asks "did this
    agent change?", which needs no threshold tuned per agent or model.
    """

    def __init__(self, *, baseline: int, window: int) -> None:
        self.baseline_size = baseline
        self.baseline: list[float] = []
        self.recent = Window(window)

    def add(self, value: float) -> None:
        """Fill the baseline first; once it is full, values go to the recent window."""
        if len(self.baseline) < self.baseline_size:
            self.baseline.append(value)
        else:
            self.recent.add(value)

    def change(self, min_recent: int) -> tuple[float, float, float] | None:
        """(baseline median, recent median, relative change), once both have enough values."""
        if len(self.baseline) < self.baseline_size or len(self.recent) < min_recent:
            return None
        before = quantile(self.baseline, 0.5)
        now = self.recent.quantile(0.5)
        if before == 0:
            return (before, now, 0.0 if now == 0 else math.inf)
        return (before, now, now / before - 1)

    def reset(self) -> None:
        """Forget the baseline and the recent window: the next values start a new baseline."""
        self.baseline.clear()
        self.recent.values.clear()


class Alarm:
    """Turns "is the statistic out of bounds now?" into findings that do not repeat every run.

    Fires when a condition starts, again every `every` runs while it lasts (a reminder on a
    later run's result), and reports once when it clears.
    """

    def __init__(self, every: int) -> None:
        self.every = every
        self.active = False
        self.since_fired = 0

    def update(self, breached: bool) -> str | None:
        """`"fire"`, `"clear"` or None for this run."""
        if breached:
            self.since_fired += 1
            if not self.active or self.since_fired >= self.every:
                self.active, self.since_fired = True, 0
                return "fire"
            return None
        if self.active:
            self.active, self.since_fired = False, 0
            return "clear"
        return None


class PerRun(Generic[T]):
    """Per-run accumulators by run id; runs of one agent may interleave (concurrent `run`s).

    Bounded: a run whose `RunFinished` was dropped from a full queue must not leak its entry.
    """

    def __init__(self, factory: type[T], limit: int = 64) -> None:
        self.factory = factory
        self.limit = limit
        self.runs: OrderedDict[str, T] = OrderedDict()

    def get(self, run_id: str) -> T:
        """The accumulator of `run_id`, made on first use (past `limit` runs the oldest goes)."""
        found = self.runs.get(run_id)
        if found is None:
            found = self.runs[run_id] = self.factory()
            if len(self.runs) > self.limit:
                self.runs.popitem(last=False)
        return found

    def pop(self, run_id: str) -> T:
        """Remove and return the accumulator of `run_id` (a fresh one if it was never made)."""
        found = self.runs.pop(run_id, None)
        return self.factory() if found is None else found
