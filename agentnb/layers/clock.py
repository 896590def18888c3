"""Time as the layers see it: the system clock, or a manual one that makes tests instant.

Retry backoff, breaker reset timeouts and rate limits all wait; taking the clock as a parameter
lets tests check the waits without spending them.

    >>> import asyncio
    >>> clock = ManualClock()
    >>> asyncio.run(clock.sleep(30.0))
    >>> clock.now(), clock.sleeps
    (30.0, [30.0])
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["SYSTEM_CLOCK", "Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """What the layers wait with: `now()` and `sleep(seconds)`."""

    def now(self) -> float:
        """Seconds on a monotonic scale (only differences mean anything)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds`."""
        ...


class SystemClock:
    """`time.monotonic` and `asyncio.sleep`."""

    __slots__ = ()

    def now(self) -> float:
        """`time.monotonic()`, in seconds."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """`asyncio.sleep(seconds)`."""
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """A clock that only moves when told to, or when something sleeps on it.

    `sleep` advances time at once and records the wait in `sleeps`; `advance` moves time as if
    the caller had waited.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        """The manual time, in seconds."""
        return self.time

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, as if the caller had waited."""
        self.time += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the wait in `sleeps` and move time forward by `seconds` at once."""
        self.sleeps.append(seconds)
        self.time += seconds
        await asyncio.sleep(0)  # still a suspension point, as a real sleep is
