"""Live progress of agent runs: a widget in a notebook someone watches, text lines headless.

```python
from agentnb.notebook import ask, progress

result = ask(support, "Where is order 1042?")  # what `%ask support "..."` does

with progress(support):                         # any code that runs the agent
    support.run_sync("Where is order 1042?")
```
What is shown (`AGENTNB_PROGRESS`, or `mode=`):

- `widget`: an ipywidgets view updating with the streamed text, the step, the tool running and the
  elapsed time. Needs ipywidgets; without it `widget` falls back to `text`.
- `text`: one plain line per step, tool call, notable guard verdict, retry and finding, plus a
  last line with the outcome. For CI logs and executed notebooks.
- `off`: nothing.
- `auto` (the default): `widget` when the running cell came from a notebook UI a person watches
  (its execute request carries a cell id: JupyterLab, Notebook 7, VS Code), else `text` (nbclient,
  papermill, `nbconvert --execute`, consoles, scripts).

A progress display never breaks a run: if it fails, it logs why and stops showing.

Threads: `run_sync` inside a kernel runs the agent on a private loop thread, so events arrive
there while the cell's thread waits. Widget updates are comm messages, which ipykernel sends from
any thread. Text lines and the first `display()` are pinned to the cell that started the display
(`OutputRoute`), so a line never lands in a later cell.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from agentnb import events as ev
from agentnb.errors import UserError
from agentnb.notebook import _kernel
from agentnb.secrets import redact

if TYPE_CHECKING:
    from types import TracebackType

    from agentnb.agents.agent import Agent
    from agentnb.models.messages import Message
    from agentnb.notebook.widgets import ProgressView
    from agentnb.runs.result import RunResult

__all__ = ["ENV_VAR", "Mode", "Progress", "RunState", "ask", "progress", "progress_mode"]

Mode = Literal["widget", "text", "off"]
ENV_VAR = "AGENTNB_PROGRESS"
_CHOICES = ("widget", "text", "off", "auto")
_TICK = 0.25
"""Seconds between widget refreshes while a run is going (elapsed time, streamed text)."""

_log = logging.getLogger("agentnb.notebook")


def _widgets_usable() -> bool:
    return _kernel.shell() is not None and importlib.util.find_spec("ipywidgets") is not None


def progress_mode(mode: str | None = None) -> Mode:
    """The display to use: `mode`, else `AGENTNB_PROGRESS`, else what the front end suggests.

    >>> progress_mode("off")
    'off'
    """
    requested = (mode or os.environ.get(ENV_VAR) or "auto").strip().lower()
    if requested not in _CHOICES:
        source = "mode" if mode else ENV_VAR
        raise UserError(
            f"{source}={requested!r} is not a progress display: use one of {', '.join(_CHOICES)}"
        )
    if requested == "auto":
        requested = "widget" if _kernel.front_end_is_live() else "text"
    if requested == "widget" and not _widgets_usable():
        return "text"
    return requested  # type: ignore[return-value]  # narrowed by the checks above


def _clip(text: str, limit: int = 80) -> str:
    # Progress lines are cell output, saved with the notebook: redacted like every display,
    # before clipping (half a secret is no longer recognisable).
    text = " ".join(redact(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(slots=True)
class RunState:
    """What a progress display knows about the run it shows, updated event by event."""

    agent: str = ""
    version: str = ""
    model: str = ""
    run_id: str = ""
    status: str = "waiting"
    step: int = 0
    tool: str | None = None
    tool_calls: int = 0
    text: str = ""
    """The current step's text: streamed deltas, or the response when the run does not stream."""
    notes: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float | None = None
    _streamed_step: int = -1

    @property
    def elapsed(self) -> float:
        """Seconds since the run started (to its end once it ended; 0 before it starts)."""
        if not self.started:
            return 0.0
        return (self.ended if self.ended is not None else time.perf_counter()) - self.started

    def update(self, event: ev.Event) -> str | None:
        """Apply `event`; the progress line it deserves, if any."""
        if isinstance(event, ev.RunStarted):  # a new run in the same display starts over
            self.step, self.tool, self.tool_calls, self.text = 0, None, 0, ""
            self.notes, self.ended, self._streamed_step = [], None, -1
            self.agent, self.version, self.model = event.agent, event.version, event.model
            self.run_id, self.status, self.started = event.run_id, "running", event.t
            return f"started · {event.model} · run {event.run_id[:8]}"
        if isinstance(event, ev.ModelRequestStarted):
            self.step, self.tool, self.text = event.step, None, ""
            return f"step {event.step} · {event.model}"
        if isinstance(event, ev.TextDelta):
            self.text += event.text
            self._streamed_step = event.step
            return None
        if isinstance(event, ev.ModelResponded):
            if self._streamed_step != event.step:
                self.text = event.response.message.text
            if event.error:
                return f"step {event.step} · {event.model} failed: {_clip(event.error)}"
            return None
        if isinstance(event, ev.ToolCallStarted):
            self.tool = event.call.name
            self.tool_calls += 1
            return f"step {event.step} · {event.call.name}({_clip(event.call.arguments)})"
        if isinstance(event, ev.ToolCallFinished):
            self.tool = None
            took = f"{event.duration * 1000:.0f} ms"
            if event.error:
                return f"step {event.step} · {event.call.name} failed ({event.error}, {took})"
            return f"step {event.step} · {event.call.name} → {_clip(event.result)} ({took})"
        if isinstance(event, ev.GuardVerdict):
            if event.outcome == "pass":
                return None
            where = event.point.replace("_", " ") + (f" {event.target}" if event.target else "")
            note = f"guard {event.guard} · {event.outcome} at {where}: {event.reason}"
            self.notes.append(note)
            return _clip(note, 160)
        if isinstance(event, ev.LayerEvent):
            note = f"{event.layer} · {event.message}"
            self.notes.append(note)
            return _clip(note, 160)
        if isinstance(event, ev.MonitorFinding):
            note = f"monitor {event.monitor} · {event.severity}: {event.message}"
            self.notes.append(note)
            return _clip(note, 160)
        if isinstance(event, ev.RunFinished):
            result = event.result
            self.status, self.tool, self.ended = result.status, None, event.t
            calls = len(result.tool_calls)
            steps = len(result.steps)
            return (
                f"done · {result.status} · {steps} step{'s' * (steps != 1)} · "
                f"{calls} tool call{'s' * (calls != 1)} · {result.duration:.2f} s"
            )
        return None  # StepFinished: the next request says it all


class _TextView:
    """One line per notable event, written to the cell that started the display."""

    def __init__(self, route: _kernel.OutputRoute) -> None:
        self.route = route

    def show(self, state: RunState, line: str | None, event: ev.Event) -> None:
        if line is None:
            return
        name = state.agent or "agent"
        with self.route.active():
            sys.stdout.write(f"[{name} {state.elapsed:6.2f}s] {line}\n")

    def close(self, state: RunState) -> None:
        with self.route.active():
            sys.stdout.flush()

    def abandon(self) -> None:
        pass


class _WidgetView:
    """A `ProgressView` refreshed on every notable event and a few times a second between."""

    def __init__(self, route: _kernel.OutputRoute, lock: threading.RLock) -> None:
        from agentnb.notebook.widgets import ProgressView

        self.widget: ProgressView = ProgressView()
        self._lock = lock
        self._state: RunState | None = None
        self._stop = threading.Event()
        with route.active():
            _kernel.display(self.widget)
        self._ticker = threading.Thread(target=self._tick, name="agentnb-progress", daemon=True)
        self._ticker.start()

    def show(self, state: RunState, line: str | None, event: ev.Event) -> None:
        self._state = state
        if not isinstance(event, ev.TextDelta):  # deltas wait for the next tick
            self._draw(state)

    def _draw(self, state: RunState) -> None:
        w = self.widget
        with w.hold_sync():
            w.agent = f"{state.agent} {state.version}".strip()
            w.model = state.model
            w.status = state.status
            w.step, w.tool, w.tool_calls = state.step, state.tool, state.tool_calls
            w.elapsed = state.elapsed
            if w.text != state.text:
                w.text = state.text
            if len(w.notes) != len(state.notes):
                w.notes = list(state.notes)

    def _tick(self) -> None:
        while not self._stop.wait(_TICK):
            with self._lock:
                state = self._state
                if state is not None and state.status == "running":
                    try:
                        self._draw(state)
                    except Exception:
                        _log.warning("the progress widget failed; it stops updating", exc_info=True)
                        return

    def abandon(self) -> None:
        self._stop.set()

    def close(self, state: RunState) -> None:
        self._stop.set()
        if self._ticker is not threading.current_thread():
            self._ticker.join(timeout=2 * _TICK)
        with self._lock:
            if self._state is not None:
                self._draw(self._state)


class Progress:
    """An event handler that shows runs as they happen; a context manager around them.

    Use `progress(agent)` to follow an agent, or pass events to the instance yourself (it is a
    plain `Agent.on_event` handler). Events may come from any thread.
    """

    def __init__(self, agent: Agent | None = None, *, mode: str | None = None) -> None:
        self.mode: Mode = progress_mode(mode)
        self.agent = agent
        self.state = RunState()
        self._lock = threading.RLock()
        self._view: _TextView | _WidgetView | None = None
        self._unsubscribe: Any = None
        self.widget: ProgressView | None = None
        """The widget shown, in widget mode once started (it stays after `stop`)."""

    def start(self) -> Progress:
        """Show the display now (in the calling cell) and follow the agent, if one was given."""
        if self.mode == "off" or self._view is not None:
            return self
        route = _kernel.OutputRoute()
        try:
            self._view = _WidgetView(route, self._lock) if self.mode == "widget" else None
        except Exception:  # no usable front end: say so once, show text instead
            _log.warning("cannot show a progress widget; showing text lines", exc_info=True)
            self.mode = "text"
        if isinstance(self._view, _WidgetView):
            self.widget = self._view.widget
        if self._view is None:
            self._view = _TextView(route)
        if self.agent is not None:
            self._unsubscribe = self.agent.on_event(self)
        return self

    def stop(self) -> None:
        """Stop following the agent and draw the final state."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        view, self._view = self._view, None
        if view is not None:
            try:
                view.close(self.state)
            except Exception:
                _log.warning("the progress display failed to close", exc_info=True)

    def __call__(self, event: ev.Event) -> None:
        """Show `event` (any thread); a failing display logs why and stops, never the run."""
        view = self._view
        if view is None:
            return
        try:
            with self._lock:
                line = self.state.update(event)
                view.show(self.state, line, event)
        except Exception:
            # A display must never fail the run it shows.
            _log.warning("the progress display failed; it stops showing", exc_info=True)
            self._view = None
            view.abandon()

    def __enter__(self) -> Progress:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def progress(agent: Agent, *, mode: str | None = None) -> Progress:
    """Show `agent`'s runs as they happen while the `with` block runs.

    `mode` is `widget`, `text`, `off` or `auto` (default: `AGENTNB_PROGRESS`, else `auto`).
    Runs made with `run_sync`/`run` show steps, tools and time; `stream` also shows the text as
    it is written (or use `ask`, which streams).
    """
    return Progress(agent, mode=mode)


async def _streamed(
    agent: Agent,
    prompt: str,
    shown: Progress,
    history: Sequence[Message] | RunResult | None,
    deps: Any,
) -> RunResult:
    result: RunResult | None = None
    async for event in agent.stream(prompt, message_history=history, deps=deps):
        shown(event)
        if isinstance(event, ev.RunFinished):
            result = event.result
    assert result is not None, "a stream always ends with RunFinished"
    return result


def ask(
    agent: Agent,
    prompt: str,
    *,
    message_history: Sequence[Message] | RunResult | None = None,
    deps: Any = None,
    mode: str | None = None,
) -> RunResult:
    """Run `agent` on `prompt` from sync code, showing progress; what `%ask` does.

    The run streams, so a widget shows the text as it is written. The result is what
    `agent.run_sync(prompt)` returns; a failed run raises the same error.
    """
    from agentnb._sync import run_sync

    shown = Progress(mode=mode)
    if shown.mode == "off":
        return agent.run_sync(prompt, message_history=message_history, deps=deps)
    with shown:
        return run_sync(_streamed(agent, prompt, shown, message_history, deps))
