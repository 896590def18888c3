"""The run loop: model turn → tool calls → … → final output, emitting events on the way.

Every action passes the agent's guards (`GuardPipeline`) at its point: the prompt (`input`), each
model turn (`model_output`), each validated tool call before it runs (`tool_call`), each tool
result before the model reads it (`tool_result`) and the final answer (`final_output`).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from agentnb import events as ev
from agentnb._json import parse_json_answer
from agentnb._sync import on_interrupt
from agentnb.agents import ledger
from agentnb.errors import GuardBlocked, MaxStepsExceeded, OutputInvalid, RunError, ToolFailed
from agentnb.guards.guard import GuardContext, ToolCallView, ToolResultView
from agentnb.guards.pipeline import Blocked
from agentnb.models.base import ModelRequest, ModelResponse, ModelSettings
from agentnb.models.base import TextDelta as ModelTextDelta
from agentnb.models.messages import (
    AssistantMessage,
    Message,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from agentnb.models.pricing import estimate_cost
from agentnb.runs.result import RunResult
from agentnb.runs.steps import RunStatus, StepRecord, ToolCallRecord
from agentnb.tools.context import RunContext
from agentnb.tools.results import serialize_result
from agentnb.tools.tool import ToolArgumentsInvalid

if TYPE_CHECKING:
    from agentnb.agents.validation import OutputSpec
    from agentnb.config import AgentConfig
    from agentnb.guards.pipeline import GuardPipeline
    from agentnb.models.base import Model, OutputSchema, ToolDefinition
    from agentnb.tools.tool import Tool

__all__ = ["RunnableAgent", "execute_run"]


class RunnableAgent(Protocol):
    """What the loop reads of an `Agent` (which builds on this module, so the loop names the
    parts it needs instead of importing the class)."""

    config: AgentConfig
    config_hash: str
    model: Model
    tools: dict[str, Tool[..., Any]]
    tool_definitions: tuple[ToolDefinition, ...]
    guards: GuardPipeline
    output: OutputSpec | None
    output_schema: OutputSchema | None
    last_result: RunResult | None


def _new_run_id() -> str:
    return os.urandom(16).hex()  # an OpenTelemetry trace id: 32 hex digits


class _Refused(Exception):
    """A guard ended the run (`refuse`); caught in `_finish` and turned into a blocked result."""

    def __init__(self, blocked: Blocked) -> None:
        self.blocked = blocked


class _Run:
    """State of one run; lives only for the duration of `execute_run`."""

    def __init__(
        self,
        agent: RunnableAgent,
        prompt: str,
        history: Sequence[Message],
        deps: Any,
        emit: ev.Emit | None,
        stream: bool,
    ) -> None:
        self.agent = agent
        self.config = agent.config
        self.guards = agent.guards
        self.emit = emit
        self.stream = stream
        self.deps = deps
        self.run_id = _new_run_id()
        self.prompt = prompt
        self.messages: list[Message] = [*history, UserMessage(prompt)]
        self.first_new = len(history)
        self.steps: list[StepRecord] = []
        self.verdicts: list[ev.GuardVerdict] = []
        self.usage = Usage()
        self.cost: float | None = 0.0
        self.failures: dict[str, int] = {}
        settings = self.config.settings
        self.model_settings = ModelSettings(settings.temperature, settings.max_tokens)
        self.started = time.perf_counter()
        self.started_at = time.time()
        self.scope = ev.RunScope(self.run_id, self.config.name, 0, emit)
        self.ctx = GuardContext(self.run_id, self.config.name, prompt, self.messages, self.started)
        # Set on a cancel; thread-safe, so that an interrupted `run_sync` sets it at once even
        # while this run's loop thread is busy, and tools in worker threads can wait on it.
        self.cancelled = threading.Event()
        on_interrupt(self.cancelled.set)

    def result(
        self, output: Any, status: RunStatus, error: BaseException | None = None
    ) -> RunResult:
        return RunResult(
            run_id=self.run_id,
            agent=self.config.name,
            version=self.config.version,
            model=self.agent.model.id,
            prompt=self.prompt,
            output=output,
            status=status,
            messages=self.messages,
            steps=self.steps,
            usage=self.usage,
            cost=self.cost,
            duration=time.perf_counter() - self.started,
            started_at=self.started_at,
            perf_start=self.started,
            new_message_index=self.first_new,
            error=None if error is None else (str(error) or type(error).__name__),
            error_type=None if error is None else type(error).__name__,
            verdicts=self.verdicts,
        )

    async def guard(
        self, point: Any, subject: Any, target: str | None = None
    ) -> tuple[Any, Blocked | None]:
        """Run the guards at `point`; `raise` and `refuse` actions end the run here."""
        if not self.guards.at[point]:
            return subject, None
        subject, blocked = await self.guards.check(
            point, subject, self.ctx, self.verdicts, self.emit, target
        )
        if blocked is not None:
            if blocked.action == "raise":
                raise GuardBlocked(blocked.guard, blocked.point, blocked.reason)
            if blocked.action == "refuse":
                raise _Refused(blocked)
        return subject, blocked

    async def call_model(self, step: int) -> ModelResponse:
        if self.cancelled.is_set():  # never spend on a model request after a stop
            raise asyncio.CancelledError
        model = self.agent.model
        request = ModelRequest(
            self.config.instructions,
            self.messages,
            self.agent.tool_definitions,
            self.model_settings,
            self.agent.output_schema,
        )
        emit = self.emit
        self.scope.step = self.ctx.step = step
        if emit:
            emit(
                ev.ModelRequestStarted(
                    self.run_id, step, model.id, self.stream, messages=len(self.messages)
                )
            )
        t0 = time.perf_counter()
        if self.stream:
            response: ModelResponse | None = None
            async for item in model.request_stream(request):
                if isinstance(item, ModelTextDelta):
                    if emit:
                        emit(ev.TextDelta(self.run_id, step, item.text))
                else:
                    response = item
            if response is None:
                raise RuntimeError(f"model {model.id} ended its stream without a response")
        else:
            response = await model.request(request)
        duration = time.perf_counter() - t0
        cost = estimate_cost(response.usage, response.model, model.id)
        self.usage = self.ctx.usage = self.usage + response.usage
        self.cost = self.ctx.cost = None if cost is None or self.cost is None else self.cost + cost
        self.steps.append(
            StepRecord(
                step,
                response.model or model.model_name,
                response.message.text,
                response.usage,
                duration,
                cost,
                response.finish_reason,
                start=t0 - self.started,
            )
        )
        if emit:
            emit(ev.ModelResponded(self.run_id, step, model.id, response, duration, cost))
        return response

    async def call_tools(self, step: int, calls: list[ToolCall]) -> None:
        """Run every call of a turn; the calls of one turn run concurrently."""
        if len(calls) == 1:
            records = [await self.run_tool(step, calls[0])]
        else:
            records = list(await asyncio.gather(*(self.run_tool(step, c) for c in calls)))
        for record in records:
            self.steps[-1].tool_calls.append(record)
            self.messages.append(
                ToolResultMessage(record.id, record.name, record.result, record.error is not None)
            )
        limit = self.config.settings.tool_retries
        for record in records:
            if record.error and self.failures.get(record.name, 0) > limit:
                raise ToolFailed(
                    record.name,
                    f"failed {_times(self.failures[record.name])} in this run "
                    f"(settings.tool_retries={limit}); last error: {record.result}",
                )

    async def run_tool(self, step: int, call: ToolCall) -> ToolCallRecord:
        """Validate, guard, call and guard the result of one tool call."""
        if self.emit:
            self.emit(ev.ToolCallStarted(self.run_id, step, call))
        t0 = time.perf_counter()
        self.ctx.tool_calls += 1
        tool = self.agent.tools.get(call.name)
        if tool is None:
            known = ", ".join(self.agent.tools) or "none"
            text = f"Unknown tool {call.name!r}. Available tools: {known}."
            return self.tool_done(step, call, t0, text, "unknown_tool")
        try:
            args = tool.validate_args(call.arguments)
        except ToolArgumentsInvalid as exc:
            return self.tool_done(step, call, t0, str(exc), "invalid_arguments")
        kwargs = args.__dict__
        if self.guards.at["tool_call"]:
            view, blocked = await self.guard_tool(
                "tool_call", ToolCallView(call.name, dict(kwargs), call.id), step, call, t0
            )
            if blocked is not None:
                return self.tool_done(step, call, t0, blocked.message, "blocked")
            if isinstance(view, dict):  # a guard rewrote the arguments: validate them again
                try:
                    args = tool.validate_args(view)
                except ToolArgumentsInvalid as exc:
                    return self.tool_done(step, call, t0, str(exc), "invalid_arguments")
        ctx = (
            RunContext(
                self.deps,
                self.run_id,
                self.config.name,
                step,
                self.failures.get(call.name, 0),
                self.cancelled,
            )
            if tool.takes_context
            else None
        )
        inline = tool.runs_inline()
        try:
            value = tool.invoke(args, ctx)
            if inspect.isawaitable(value):
                value = await value
        except (asyncio.CancelledError, KeyboardInterrupt):
            self.cancelled.set()
            # A coroutine or an inline function is stopped by the cancel itself; a worker
            # thread cannot be stopped from outside, so the function runs on to its end.
            stopped = tool.is_async or inline
            text = f"Tool {call.name!r} was cancelled while running" + (
                "." if stopped else "; the function was left to finish."
            )
            self.steps[-1].tool_calls.append(self.tool_done(step, call, t0, text, "cancelled"))
            raise
        except (TimeoutError, asyncio.TimeoutError) as exc:  # distinct classes on Python 3.10
            if tool.timeout is None:  # the tool itself raised it
                text = f"Tool {call.name!r} raised {type(exc).__name__}: {exc}"
                return self.tool_done(step, call, t0, text, "exception")
            text = f"Tool {call.name!r} timed out after {tool.timeout} s."
            return self.tool_done(step, call, t0, text, "timeout")
        except Exception as exc:
            text = f"Tool {call.name!r} raised {type(exc).__name__}: {exc}"
            return self.tool_done(step, call, t0, text, "exception")
        text = serialize_result(value)
        if self.guards.at["tool_result"]:
            seen = ToolResultView(call.name, kwargs, text, value)
            checked, blocked = await self.guard_tool("tool_result", seen, step, call, t0)
            if blocked is not None:
                return self.tool_done(step, call, t0, blocked.message, "blocked")
            text = checked.content if isinstance(checked, ToolResultView) else str(checked)
        return self.tool_done(step, call, t0, text, None, value)

    async def guard_tool(
        self, point: Any, subject: Any, step: int, call: ToolCall, t0: float
    ) -> tuple[Any, Blocked | None]:
        """`guard` at a tool point; when a guard ends the run there, the call is still recorded
        (as blocked) so the trace and telemetry show which call stopped the run."""
        try:
            return await self.guard(point, subject, call.name)
        except (_Refused, GuardBlocked) as stop:
            if isinstance(stop, _Refused):
                text = stop.blocked.message
            else:
                text = f"blocked by guard {stop.guard}: {stop.reason}"
            self.steps[-1].tool_calls.append(self.tool_done(step, call, t0, text, "blocked"))
            raise

    def tool_done(
        self,
        step: int,
        call: ToolCall,
        t0: float,
        text: str,
        error: str | None,
        value: Any = None,
    ) -> ToolCallRecord:
        duration = time.perf_counter() - t0
        if error and error != "blocked":  # a block is a guard's decision, not a tool failure
            self.failures[call.name] = self.failures.get(call.name, 0) + 1
        if self.emit:
            self.emit(ev.ToolCallFinished(self.run_id, step, call, text, error, duration, value))
        return ToolCallRecord(
            step, call.id, call.name, call.arguments, text, error, duration, t0 - self.started
        )

    def parse_output(self, text: str) -> tuple[Any, str | None]:
        """The validated output, or (None, feedback for the model)."""
        spec = self.agent.output
        if spec is None:
            return text, None
        try:
            data = parse_json_answer(text)
        except ValueError as exc:
            return None, f"Your answer is not valid JSON ({exc}). Answer with JSON only."
        if spec.adapter is None:
            return data, None
        if spec.wrapped and isinstance(data, dict) and "result" in data:
            data = data["result"]
        try:
            return spec.adapter.validate_python(data), None
        except ValidationError as exc:
            problems = "; ".join(_describe_error(e) for e in exc.errors(include_url=False))
            return None, (
                f"Your answer does not match the required output schema: {problems}. "
                "Answer again with valid JSON."
            )

    async def turn_output(self, response: ModelResponse) -> AssistantMessage | str:
        """The model turn after `model_output` guards, or the feedback to re-ask with."""
        message, blocked = await self.guard("model_output", response.message)
        if blocked is not None:
            return f"Your previous answer was {blocked.message}. Answer again without that."
        if isinstance(message, str):
            return AssistantMessage(message, response.message.tool_calls)
        return message if isinstance(message, AssistantMessage) else response.message

    async def final(self, text: str) -> tuple[Any, str | None]:
        """The final output after validation and `final_output` guards, or feedback."""
        output, feedback = self.parse_output(text)
        if feedback is not None:
            return None, feedback
        output, blocked = await self.guard("final_output", output)
        if blocked is not None:
            return None, f"Your answer was {blocked.message}. Answer again without that."
        return output, None

    async def loop(self) -> RunResult:
        settings = self.config.settings
        prompt, blocked = await self.guard("input", self.prompt)
        if blocked is not None:
            raise _Refused(blocked)  # a prompt cannot be re-asked or skipped: only refused
        if prompt != self.prompt:  # rewritten (e.g. redacted): the run keeps only the new one
            self.prompt = self.ctx.prompt = str(prompt)
            self.messages[-1] = UserMessage(self.prompt)
        reasks = 0
        step = 0
        while True:
            if step >= settings.max_steps:
                raise MaxStepsExceeded(
                    f"agent {self.config.name!r} used all {settings.max_steps} steps "
                    "(settings.max_steps) without a final answer; raise max_steps or check for "
                    "a tool-call loop in the trace"
                )
            step += 1
            response = await self.call_model(step)
            turn = await self.turn_output(response)
            feedback: str | None = None
            if isinstance(turn, str):
                # The blocked turn's tool calls are dropped: left unanswered, providers reject
                # the next request.
                if response.message.text:
                    self.messages.append(AssistantMessage(response.message.text))
                feedback = turn
            else:
                self.messages.append(turn)
                if turn.tool_calls:
                    await self.call_tools(step, turn.tool_calls)
                else:
                    output, feedback = await self.final(turn.text)
                    if feedback is None:
                        if self.emit:
                            self.emit(ev.StepFinished(self.run_id, step, 0))
                        return self.result(output, "ok")
            if feedback is not None:
                reasks += 1
                if reasks > settings.output_retries:
                    raise OutputInvalid(
                        f"agent {self.config.name!r}: {feedback} (gave up after "
                        f"{settings.output_retries} corrections, settings.output_retries)"
                    )
                self.messages.append(UserMessage(feedback))
            if self.emit:
                self.emit(
                    ev.StepFinished(
                        self.run_id,
                        step,
                        len(turn.tool_calls) if isinstance(turn, AssistantMessage) else 0,
                    )
                )


async def execute_run(
    agent: RunnableAgent,
    prompt: str,
    *,
    history: Sequence[Message] = (),
    deps: Any = None,
    emit: ev.Emit | None = None,
    stream: bool = False,
) -> RunResult:
    """Run `agent` on `prompt`; run errors carry the partial result as `.result`."""
    run = _Run(agent, prompt, history, deps, emit, stream)
    scope_token = ev.current_scope.set(run.scope)
    try:
        return await _finish(agent, run, emit)
    finally:
        ev.current_scope.reset(scope_token)


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _describe_error(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {message}" if where else message


def _refusal(blocked: Blocked) -> str:
    return f"I can't do that: {blocked.message.rstrip('.')}."


async def _finish(agent: RunnableAgent, run: _Run, emit: ev.Emit | None) -> RunResult:
    """Run the loop and record the outcome, whatever it is, before returning or raising."""
    if emit:
        emit(
            ev.RunStarted(
                run.run_id,
                agent.config.name,
                agent.config.version,
                agent.model.id,
                run.prompt,
                agent.config_hash,
                wall_time=run.started_at,
                instructions=agent.config.instructions,
            )
        )
    try:
        timeout = agent.config.settings.timeout
        result = await (asyncio.wait_for(run.loop(), timeout) if timeout else run.loop())
    except _Refused as refused:
        result = run.result(_refusal(refused.blocked), "blocked")
    except (asyncio.CancelledError, KeyboardInterrupt) as exc:
        run.cancelled.set()  # tools still running in worker threads can stop early
        _record(agent, run.result(None, "cancelled", exc), emit)
        raise
    except Exception as exc:
        failure: BaseException = exc
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
            run.cancelled.set()
            failure = RunError(
                f"agent {agent.config.name!r} exceeded settings.timeout="
                f"{agent.config.settings.timeout} s"
            )
        partial = run.result(None, "blocked" if isinstance(exc, GuardBlocked) else "error", failure)
        if isinstance(failure, RunError):
            failure.result = partial
        _record(agent, partial, emit)
        if failure is exc:
            raise
        raise failure from exc
    _record(agent, result, emit)
    return result


def _record(agent: RunnableAgent, result: RunResult, emit: ev.Emit | None) -> None:
    """The one place a run finishes, whatever its status."""
    agent.last_result = result
    ledger.record(result)
    if emit:
        emit(ev.RunFinished(result.run_id, result))
