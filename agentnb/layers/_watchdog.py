"""Deadlines for many awaits at the cost of a set insertion each: what the timeout layer uses.

`asyncio.timeout` arms and cancels a loop timer on every use (about 5 µs), and
`asyncio.wait_for` also starts a task. Model requests are guarded by long limits (minutes) that
almost never fire, so one timer per event loop serves them all: it is armed for the earliest
deadline, cancels the tasks past theirs when it fires, and re-arms for the next one. A run of
requests shorter than their limit arms a timer only every `limit` seconds.

    >>> import asyncio
    >>> async def main():
    ...     watch = start(0.01)
    ...     try:
    ...         await asyncio.sleep(1)
    ...     except asyncio.CancelledError:
    ...         return watch.expired and watch.uncancel()
    ...     finally:
    ...         watch.stop()
    >>> asyncio.run(main())
    True
"""

from __future__ import annotations

import asyncio
import math
import sys
import weakref

__all__ = ["Watch", "start"]


class Watch:
    """One guarded await: its task and deadline; `expired` once the watchdog cancelled it."""

    __slots__ = ("deadline", "dog", "expired", "task")

    def __init__(self, dog: _Watchdog, task: asyncio.Task[object], deadline: float) -> None:
        self.dog = dog
        self.task = task
        self.deadline = deadline
        self.expired = False

    def stop(self) -> None:
        self.dog.watches.discard(self)

    def uncancel(self) -> bool:
        """Take back the watchdog's cancellation; False when someone else cancelled the task too
        (then the cancellation must go on), as `asyncio.timeout` decides."""
        if sys.version_info >= (3, 11):
            return self.task.uncancel() == 0
        return True  # 3.10 does not count cancellations: assume it was only ours


class _Watchdog:
    __slots__ = ("__weakref__", "armed_at", "watches")

    def __init__(self) -> None:
        self.watches: set[Watch] = set()
        self.armed_at = math.inf

    def arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        # A timer armed for later is not cancelled: it finds itself stale when it fires.
        self.armed_at = when
        loop.call_at(when, self.fire, loop, when)

    def fire(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if when != self.armed_at:
            return  # superseded by an earlier deadline, which re-armed the watchdog
        self.armed_at = math.inf
        now = loop.time()
        following = math.inf
        for watch in self.watches:
            if watch.expired:
                continue  # cancelled already; its task has not run yet to stop watching
            if watch.deadline <= now:
                watch.expired = True
                watch.task.cancel()
            elif watch.deadline < following:
                following = watch.deadline
        if following < math.inf:
            self.arm(loop, following)


_DOGS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watchdog] = weakref.WeakKeyDictionary()


def start(seconds: float) -> Watch:
    """Cancel the current task in `seconds` unless `.stop()` is called first."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task(loop)
    if task is None:
        raise RuntimeError("a deadline needs a running task")
    dog = _DOGS.get(loop)
    if dog is None:
        dog = _DOGS[loop] = _Watchdog()
    watch = Watch(dog, task, loop.time() + seconds)
    dog.watches.add(watch)
    if watch.deadline < dog.armed_at:
        dog.arm(loop, watch.deadline)
    return watch
