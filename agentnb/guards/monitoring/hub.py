"""`MonitorHub`: one agent's events → its monitors, in the background → findings.

The run's hot path calls only `enqueue` (a bounded deque append: no lock, no thread hop; see
`bench/monitors.py`). One daemon thread per process dispatches every hub's queue in order, so
each monitor sees one agent's events in emission order, from one thread, without locks.

Findings reach two places:

- the run's `RunResult.findings`: the hub keeps a run's findings until it processes that run's
  `RunFinished` (the events of a run are processed in order, so all of them are in by then)
  and appends them to `event.result`; no weak map of results is needed (`RunResult` is slotted
  and cannot be weakly referenced anyway);
- `on_finding(MonitorFinding)` as soon as they are made, for telemetry and live display.
  It is called from the monitor thread.

A monitor that raises becomes an error finding naming it (once per run; later errors are
counted in `stats`), and one that takes longer than `slow_after` becomes a warning; neither
reaches the run. CPython threads share the GIL, so a CPU-bound monitor still competes for the
interpreter; one that waits (I/O, sleep) costs the run nothing.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import traceback
import weakref
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Callable, Sequence
from typing import Any

from agentnb.events import Event, MonitorFinding, RunFinished, RunStarted
from agentnb.guards.monitoring.monitor import Finding, Monitor, Severity, as_findings

__all__ = ["HUB_NAME", "MonitorHub"]

logger = logging.getLogger("agentnb.monitors")

HUB_NAME = "monitor_hub"
"""The `monitor` name on findings the hub makes itself (dropped events)."""

_COALESCE = 0.001
"""Seconds the thread waits after a wake-up before it reads: a burst of events then costs
producers one `Event.set()` instead of one each."""

_PENDING_RUNS = 256
"""Runs whose findings wait for their `RunFinished`; a run whose end was dropped is evicted."""


class _Dispatcher:
    """The one background thread of the process and the hubs it serves."""

    def __init__(self) -> None:
        self.wake = threading.Event()
        self.lock = threading.RLock()  # a weakref callback may run inside `add` (GC)
        self.hubs: tuple[weakref.ref[MonitorHub], ...] = ()
        self.thread: threading.Thread | None = None

    def add(self, hub: MonitorHub) -> None:
        with self.lock:
            self.hubs = (*self.hubs, weakref.ref(hub, self._forget))

    def remove(self, hub: MonitorHub) -> None:
        with self.lock:
            self.hubs = tuple(ref for ref in self.hubs if ref() not in (hub, None))

    def _forget(self, gone: weakref.ref[MonitorHub]) -> None:
        with self.lock:
            self.hubs = tuple(ref for ref in self.hubs if ref is not gone)

    def notify(self) -> None:
        if self.thread is None:
            self._start()
        self.wake.set()

    def _start(self) -> None:
        with self.lock:
            if self.thread is not None:
                return
            thread = threading.Thread(target=self._run, name="agentnb-monitors", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # no threads left (or interpreter shutdown): the run goes on
                logger.warning("agentnb monitors could not start their thread; will retry")
                return
            self.thread = thread

    def _run(self) -> None:
        while True:
            wake = self.wake
            wake.wait()
            time.sleep(_COALESCE)
            wake.clear()
            for ref in self.hubs:
                hub = ref()
                if hub is None:
                    continue
                try:
                    more = hub._process()
                except BaseException:  # the thread serves every agent: it must survive anything
                    logger.exception("agentnb monitor hub failed; its events were skipped")
                    more = False
                if more:
                    wake.set()

    def after_fork(self) -> None:
        # The thread did not survive the fork and its locks may be held by it: start afresh.
        self.wake = threading.Event()
        self.lock = threading.RLock()
        self.thread = None


_DISPATCHER = _Dispatcher()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_DISPATCHER.after_fork)


class _RunState:
    __slots__ = ("findings", "noted")

    def __init__(self) -> None:
        self.findings: list[MonitorFinding] = []
        self.noted: set[tuple[str, str]] = set()
        """(what, monitor) already reported for this run: crashes and slowness, once each."""


class MonitorHub:
    """The monitors of one agent, fed from its events; subscribe `enqueue` to the agent.

    >>> from agentnb import Agent
    >>> from agentnb.guards.monitoring import monitor
    >>> @monitor
    ... def says_hi(event):
    ...     if event.kind == "run_finished":
    ...         return "saw a run"
    >>> agent = Agent("greeter", model="offline", telemetry=False)
    >>> hub = MonitorHub([says_hi], agent=agent.name)
    >>> unsubscribe = agent.on_event(hub.enqueue)
    >>> result = agent.run_sync("hi")
    >>> hub.drain()
    True
    >>> [f.message for f in result.findings]
    ['saw a run']
    """

    def __init__(
        self,
        monitors: Sequence[Monitor],
        *,
        agent: str = "",
        on_finding: Callable[[MonitorFinding], None] | None = None,
        maxsize: int = 10_000,
        slow_after: float = 1.0,
    ) -> None:
        for item in monitors:
            if not isinstance(item, Monitor):
                raise TypeError(
                    f"MonitorHub takes Monitor objects, got {type(item).__name__}; decorate a "
                    "function with @monitor or use agentnb.monitors.latency(...) and friends"
                )
        if maxsize < 1:
            raise ValueError(f"maxsize must be ≥ 1, got {maxsize}")
        self.monitors: tuple[Monitor, ...] = tuple(monitors)
        self.agent = agent
        """Agent name on findings; taken from the first `RunStarted` when not given."""
        self.on_finding = on_finding
        self.maxsize = maxsize
        self.slow_after = slow_after
        self.dropped = 0
        """Events not queued because the queue was full (monitors never saw them)."""
        self.processed = 0
        self.errors: Counter[str] = Counter()
        """Exceptions raised per monitor name, every one (findings report one per run)."""
        self.busy: defaultdict[str, float] = defaultdict(float)
        """Seconds spent in each monitor's `observe`."""
        self._reported_drops = 0
        self._reserve = maxsize // 10 + 16  # room for run ends (results) past a full queue
        self._queue: deque[Event | threading.Event] = deque()
        self._runs: OrderedDict[str, _RunState] = OrderedDict()
        self._dispatcher = _DISPATCHER
        _DISPATCHER.add(self)

    def __repr__(self) -> str:
        names = ", ".join(m.name for m in self.monitors)
        return f"MonitorHub({self.agent!r}, monitors=[{names}], queued={len(self._queue)})"

    # -- the run's side: must stay cheap ------------------------------------------------------

    def enqueue(self, event: Event) -> None:
        """Queue `event` for the monitors; never blocks, never raises, drops when full."""
        queue = self._queue
        if len(queue) >= self.maxsize and not self._admit_when_full(event):
            return
        queue.append(event)
        if not self._dispatcher.wake.is_set():
            self._dispatcher.notify()

    def _admit_when_full(self, event: Event) -> bool:
        # A run's end carries its result, which is where findings land: it may use a reserve.
        if event.kind == "run_finished" and len(self._queue) < self.maxsize + self._reserve:
            return True
        self.dropped += 1
        return False

    def drain(self, timeout: float | None = 5.0) -> bool:
        """Wait until every event queued before this call was processed; False on timeout.

        From the monitor thread itself (a monitor or an `on_finding` callback) it returns
        False at once: waiting there would wait for itself.
        """
        if threading.current_thread() is self._dispatcher.thread:
            return False
        marker = threading.Event()
        self._queue.append(marker)  # past the bound on purpose: markers are few and tiny
        self._dispatcher.notify()
        return marker.wait(timeout)

    def close(self) -> None:
        """Stop serving this hub; later events are dropped (and counted)."""
        self.maxsize = self._reserve = 0
        self._dispatcher.remove(self)

    @property
    def stats(self) -> dict[str, Any]:
        """Events queued, processed and dropped; exceptions and busy seconds per monitor."""
        return {
            "queued": len(self._queue),
            "processed": self.processed,
            "dropped": self.dropped,
            "errors": dict(self.errors),
            "busy_seconds": dict(self.busy),
        }

    # -- the monitor thread's side ------------------------------------------------------------

    def _process(self) -> bool:
        """Handle what was queued when called (fair to other hubs); True if more is waiting."""
        queue = self._queue
        for _ in range(len(queue)):
            item = queue.popleft()
            if isinstance(item, threading.Event):
                item.set()
            else:
                self._dispatch(item)
        return bool(queue)

    def _dispatch(self, event: Event) -> None:
        kind = event.kind
        if kind == "finding":
            return  # our own output, back through the agent's handlers: never a loop
        self.processed += 1
        if isinstance(event, RunStarted) and not self.agent:
            self.agent = event.agent
        for monitor in self.monitors:
            if monitor.kinds is None or kind in monitor.kinds:
                self._observe(monitor, event)
        if isinstance(event, RunFinished):
            self._note_drops(event.run_id)
            state = self._runs.pop(event.run_id, None)
            if state is not None and state.findings:
                event.result.findings.extend(state.findings)

    def _observe(self, monitor: Monitor, event: Event) -> None:
        started = time.perf_counter()
        try:
            found = as_findings(monitor.observe(event), monitor.severity)
        except Exception as exc:
            self.errors[monitor.name] += 1
            found = self._once(event.run_id, "crash", monitor, _crash(monitor, event, exc))
        took = time.perf_counter() - started
        self.busy[monitor.name] += took
        if took > self.slow_after:
            message = (
                f"monitor {monitor.name!r} took {took:.1f} s on a {event.kind} event "
                f"(slow_after={self.slow_after} s); it delays other monitors' findings, "
                "not the run"
            )
            evidence = {"seconds": took, "event": event.kind, "slow_after": self.slow_after}
            found += self._once(
                event.run_id, "slow", monitor, Finding(message, "warning", evidence)
            )
        for finding in found:
            self._deliver(event.run_id, monitor.name, finding)

    def _once(self, run_id: str, what: str, monitor: Monitor, finding: Finding) -> list[Finding]:
        noted = self._state(run_id).noted
        if (what, monitor.name) in noted:
            return []
        noted.add((what, monitor.name))
        return [finding]

    def _note_drops(self, run_id: str) -> None:
        dropped = self.dropped
        fresh = dropped - self._reported_drops
        if fresh <= 0:
            return
        self._reported_drops = dropped
        message = (
            f"the monitor queue of agent {self.agent!r} was full: {fresh} events were dropped "
            f"and not monitored (maxsize={self.maxsize}); a slow monitor is the usual cause"
        )
        logger.warning(message)
        evidence = {"dropped": fresh, "dropped_total": dropped, "maxsize": self.maxsize}
        self._deliver(run_id, HUB_NAME, Finding(message, "warning", evidence))

    def _state(self, run_id: str) -> _RunState:
        state = self._runs.get(run_id)
        if state is None:
            state = self._runs[run_id] = _RunState()
            if len(self._runs) > _PENDING_RUNS:
                self._runs.popitem(last=False)
        return state

    def _deliver(self, run_id: str, monitor: str, finding: Finding) -> None:
        severity: Severity = finding.severity
        made = MonitorFinding(
            run_id, self.agent, monitor, severity, finding.message, dict(finding.evidence)
        )
        self._state(run_id).findings.append(made)
        if self.on_finding is not None:
            try:
                self.on_finding(made)
            except Exception:
                logger.exception("agentnb on_finding callback failed for %s", monitor)


def _crash(monitor: Monitor, event: Event, exc: Exception) -> Finding:
    message = (
        f"monitor {monitor.name!r} raised {type(exc).__name__}: {exc} on a {event.kind} event; "
        "the run was not affected and the monitor keeps receiving events"
    )
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-5))
    evidence = {"exception": type(exc).__name__, "event": event.kind, "traceback": trace}
    return Finding(message, "error", evidence)


@atexit.register
def _drain_at_exit(timeout: float = 2.0) -> None:
    """Let queued findings reach telemetry before the interpreter goes (bounded wait)."""
    deadline = time.monotonic() + timeout
    for ref in _DISPATCHER.hubs:
        hub = ref()
        if hub is not None and hub._queue and _DISPATCHER.thread is not None:
            hub.drain(max(0.0, deadline - time.monotonic()))
