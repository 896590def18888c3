"""`Agent`: a validated config bound to its tools and model; the only thing that can run."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from agentnb import events as ev
from agentnb._sync import run_sync
from agentnb.agents.loop import execute_run
from agentnb.agents.validation import OutputSpec, output_reference, resolve
from agentnb.config import AgentConfig, ComponentRef, Settings, ToolRef, config_from_data
from agentnb.errors import RunError
from agentnb.guards.guard import Guard
from agentnb.guards.monitoring.hub import MonitorHub
from agentnb.guards.monitoring.monitor import Monitor
from agentnb.guards.pipeline import GuardPipeline
from agentnb.layers import Breaker, breakers_of, wrap
from agentnb.models.base import Model, OutputSchema, ToolDefinition
from agentnb.models.messages import Message
from agentnb.runs.guard_errors import warn_guard_errors
from agentnb.runs.result import RunResult
from agentnb.tools.tool import Tool

__all__ = ["Agent"]

EventHandler = Callable[[ev.Event], None]
logger = logging.getLogger("agentnb.agents")


class Agent:
    """A runnable agent.

    >>> agent = Agent(name="echo", model="offline", instructions="Say hello.")
    >>> agent.run_sync("hi").status
    'ok'

    `Agent(...)` builds an `AgentConfig` from its arguments and validates it; use
    `AgentConfig.validate()` to start from a config (e.g. one loaded from YAML).
    """

    def __init__(
        self,
        name: str,
        *,
        model: str | Model | None = None,
        instructions: str = "",
        tools: Sequence[Tool[..., Any]] = (),
        guards: Sequence[Guard | ComponentRef | str | dict[str, Any]] = (),
        monitors: Sequence[Monitor | ComponentRef | str | dict[str, Any]] = (),
        settings: Settings | dict[str, Any] | None = None,
        output_type: Any = None,
        version: str = "0.1.0",
        telemetry: bool | None = None,
    ) -> None:
        config = config_from_data(
            {
                "name": name,
                "version": version,
                "model": model if isinstance(model, str) or model is None else model.id,
                "instructions": instructions,
                "tools": [ToolRef(name=t.name) for t in tools],
                "guards": [g.ref if isinstance(g, Guard) else g for g in guards],
                "monitors": [m.ref if isinstance(m, Monitor) else m for m in monitors],
                "settings": settings if settings is not None else Settings(),
                "output_type": output_reference(output_type),
            },
            source=name,
        )
        self._bind(
            config,
            tools=tools,
            output_type=output_type,
            model=None if isinstance(model, str) else model,
            telemetry=telemetry,
            guards=[g if isinstance(g, Guard) else None for g in guards],
            monitors=[m if isinstance(m, Monitor) else None for m in monitors],
        )

    @classmethod
    def from_config(
        cls,
        config: AgentConfig,
        *,
        tools: Sequence[Tool[..., Any]] | None = None,
        output_type: Any = None,
        model: Model | None = None,
        telemetry: bool | None = None,
        guards: Sequence[Guard | None] = (),
        monitors: Sequence[Monitor | None] = (),
    ) -> Agent:
        """The agent `config` describes; `guards[i]`/`monitors[i]`, when given and not None, is
        the object `config.guards[i]`/`config.monitors[i]` was made from (else it is resolved
        by name)."""
        agent = cls.__new__(cls)
        agent._bind(
            config,
            tools=tools,
            output_type=output_type,
            model=model,
            telemetry=telemetry,
            guards=guards,
            monitors=monitors,
        )
        return agent

    def _bind(
        self,
        config: AgentConfig,
        *,
        tools: Sequence[Tool[..., Any]] | None,
        output_type: Any,
        model: Model | None,
        telemetry: bool | None,
        guards: Sequence[Guard | None] = (),
        monitors: Sequence[Monitor | None] = (),
    ) -> None:
        resolved = resolve(
            config,
            tools=tools,
            output_type=output_type,
            model=model,
            guards=guards,
            monitors=monitors,
        )
        self.config: AgentConfig = config.model_copy(deep=True)
        self.tools: dict[str, Tool[..., Any]] = resolved.tools
        self.model: Model = wrap(resolved.model, self.config.settings.resilience)
        self.output: OutputSpec | None = resolved.output
        self.guards = GuardPipeline(resolved.guards)
        self.tool_definitions: tuple[ToolDefinition, ...] = tuple(
            t.definition for t in self.tools.values()
        )
        self.output_schema: OutputSchema | None = (
            resolved.output.schema if resolved.output else None
        )
        self.config_hash = self.config.hash
        env_off = os.environ.get("AGENTNB_TELEMETRY", "").lower() in ("off", "0", "false")
        self.telemetry: bool = (not env_off) if telemetry is None else telemetry
        self.last_result: RunResult | None = None
        self._handlers: list[EventHandler] = []
        if self.telemetry:
            # In _handlers (not only the run's emitter) so that monitor findings arriving after
            # the run are recorded too. The handler only keeps events: writing happens elsewhere.
            from agentnb.telemetry import event_handler

            self._handlers.append(event_handler())
        self.monitors: MonitorHub | None = (
            MonitorHub(resolved.monitors, agent=config.name, on_finding=self._forward_finding)
            if resolved.monitors
            else None
        )
        """The agent's background monitors (None without any); `drain_monitors()` waits."""

    def _forward_finding(self, finding: ev.MonitorFinding) -> None:
        # Runs on the monitor thread, possibly after the run returned. A stream's asyncio
        # queue is not among `_handlers` (not thread-safe); a failing handler is logged so the
        # others still get the finding.
        for handler in list(self._handlers):
            try:
                handler(finding)
            except Exception:
                logger.exception("event handler %r failed on a monitor finding", handler)

    def drain_monitors(self, timeout: float | None = 5.0) -> bool:
        """Wait until the monitors have seen every event so far (findings are then in place)."""
        return True if self.monitors is None else self.monitors.drain(timeout)

    @property
    def breakers(self) -> dict[str, Breaker]:
        """Circuit breakers of this agent's model and fallbacks, by provider+model (shared by
        every agent calling the same provider+model; empty for local models)."""
        return breakers_of(self.model)

    @property
    def name(self) -> str:
        """The agent's name from its config (what traces and the registry key on)."""
        return self.config.name

    @property
    def version(self) -> str:
        """The agent's semantic version from its config, e.g. `"1.0.0"`."""
        return self.config.version

    def __repr__(self) -> str:
        tools = ", ".join(self.tools) or "no tools"
        return f"Agent({self.name!r} {self.version}, model={self.model.id!r}, tools=[{tools}])"

    def on_event(self, handler: EventHandler) -> Callable[[], None]:
        """Call `handler` with every event of every run; returns a function that unsubscribes."""
        self._handlers.append(handler)
        return lambda: self._handlers.remove(handler)

    def _emitter(self, extra: EventHandler | None) -> Callable[[ev.Event], None] | None:
        hub = [self.monitors.enqueue] if self.monitors is not None else []
        handlers = [*hub, *self._handlers, *([extra] if extra else [])]
        if not handlers:
            return None  # the loop skips building events entirely
        if len(handlers) == 1:
            return handlers[0]

        def emit(event: ev.Event) -> None:
            for handler in handlers:
                handler(event)

        return emit

    async def run(
        self,
        prompt: str,
        *,
        message_history: Sequence[Message] | RunResult | None = None,
        deps: Any = None,
    ) -> RunResult:
        """Run the agent on `prompt`; continue a conversation with `message_history`.

        A guard that raises blocks what it guarded and shows a `GuardErrorWarning`.
        """
        history = _history(message_history)
        try:
            result = await execute_run(
                self, prompt, history=history, deps=deps, emit=self._emitter(None)
            )
        except RunError as exc:
            _show_guard_errors(exc.result)
            raise
        _show_guard_errors(result)
        return result

    def run_sync(
        self,
        prompt: str,
        *,
        message_history: Sequence[Message] | RunResult | None = None,
        deps: Any = None,
    ) -> RunResult:
        """`run` from sync code; works in scripts and inside a running Jupyter kernel.

        A Ctrl-C (kernel interrupt) ends the run at once as `cancelled` (`last_result`); a sync
        tool still running is left to finish in its thread and sees `ctx.cancelled` set.
        """
        history = _history(message_history)
        try:
            # Not `run_sync(self.run(...))`: guard errors are shown here, on the caller's thread.
            result = run_sync(
                execute_run(self, prompt, history=history, deps=deps, emit=self._emitter(None))
            )
        except RunError as exc:
            _show_guard_errors(exc.result)
            raise
        _show_guard_errors(result)
        return result

    async def stream(
        self,
        prompt: str,
        *,
        message_history: Sequence[Message] | RunResult | None = None,
        deps: Any = None,
    ) -> AsyncIterator[ev.Event]:
        """Yield the run's events as they happen (text deltas, tool calls, steps, the result).

        The last event is `RunFinished`, whose `.result` is the `RunResult`. A failed run raises
        after its events were yielded.
        """
        queue: asyncio.Queue[ev.Event | None] = asyncio.Queue()
        history = _history(message_history)
        task = asyncio.ensure_future(
            execute_run(
                self,
                prompt,
                history=history,
                deps=deps,
                emit=self._emitter(queue.put_nowait),
                stream=True,
            )
        )
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                yield event
            try:
                result = task.result()  # re-raise the run's error, if any
            except RunError as exc:
                _show_guard_errors(exc.result)
                raise
            _show_guard_errors(result)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


def _history(given: Sequence[Message] | RunResult | None) -> Sequence[Message]:
    return given.messages if isinstance(given, RunResult) else (given or ())


def _show_guard_errors(result: RunResult | None) -> None:
    if result is not None and result.verdicts:
        warn_guard_errors(result.guard_errors)
