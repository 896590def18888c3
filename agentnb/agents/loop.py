"""The run loop: model turn → tool calls → … → final output, emitting events on the way."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agentnb import events as ev
from agentnb.agents.result import RunResult, RunStatus, StepRecord, ToolCallRecord
from agentnb.agents.validation import parse_json_output
from agentnb.errors import MaxStepsExceeded, OutputInvalid, RunError, ToolFailed
from agentnb.models.base import ModelRequest, ModelResponse, ModelSettings
from agentnb.models.base import TextDelta as ModelTextDelta
from agentnb.models.messages import Message, ToolCall, ToolResultMessage, Usage, UserMessage
from agentnb.models.pricing import estimate_cost
from agentnb.tools.context import RunContext
from agentnb.tools.results import serialize_result
from agentnb.tools.tool import ToolArgumentsInvalid

if TYPE_CHECKING:
    from agentnb.agents.agent import Agent

__all__ = ["Emit", "execute_run"]

Emit = Callable[[ev.Event], None]


def _new_run_id() -> str:
    return os.urandom(16).hex()  # an OpenTelemetry trace id: 32 hex digits


class _Run:
    """State of one run; lives only for the duration of `execute_run`."""

    def __init__(
        self,
        agent: Agent,
        prompt: str,
        history: Sequence[Message],
        deps: Any,
        emit: Emit | None,
        stream: bool,
    ) -> None:
        self.agent = agent
        self.config = agent.config
        self.emit = emit
        self.stream = stream
        self.deps = deps
        self.run_id = _new_run_id()
        self.prompt = prompt
        self.messages: list[Message] = [*history, UserMessage(prompt)]
        self.first_new = len(history)
        self.steps: list[StepRecord] = []
        self.usage = Usage()
        self.cost: float | None = 0.0
        self.failures: dict[str, int] = {}
        settings = self.config.settings
        self.model_settings = ModelSettings(settings.temperature, settings.max_tokens)
        self.started = time.perf_counter()
        self.started_at = time.time()

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
            new_message_index=self.first_new,
            error=None if error is None else (str(error) or type(error).__name__),
            error_type=None if error is None else type(error).__name__,
        )

    async def call_model(self, step: int) -> ModelResponse:
        model = self.agent.model
        request = ModelRequest(
            self.config.instructions,
            self.messages,
            self.agent.tool_definitions,
            self.model_settings,
            self.agent.output_schema,
        )
        emit = self.emit
        if emit:
            emit(ev.ModelRequestStarted(self.run_id, step, model.id, self.stream))
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
        cost = estimate_cost(model.id, response.usage)
        self.usage = self.usage + response.usage
        self.cost = None if cost is None or self.cost is None else self.cost + cost
        self.steps.append(
            StepRecord(
                step,
                response.model or model.model_name,
                response.message.text,
                response.usage,
                duration,
                cost,
                response.finish_reason,
            )
        )
        if emit:
            emit(ev.ModelResponded(self.run_id, step, model.id, response, duration, cost))
        return response

    async def call_tools(self, step: int, calls: list[ToolCall]) -> None:
        """Run every call of a turn; async tools of one turn run concurrently."""
        records = [self.start_tool(step, call) for call in calls]
        pending = [r for r in records if not isinstance(r, ToolCallRecord)]
        if pending:
            done = await asyncio.gather(*(self.finish_tool(step, *p) for p in pending))
            it = iter(done)
            records = [r if isinstance(r, ToolCallRecord) else next(it) for r in records]
        for record in records:
            assert isinstance(record, ToolCallRecord)
            self.steps[-1].tool_calls.append(record)
            self.messages.append(
                ToolResultMessage(record.id, record.name, record.result, record.error is not None)
            )
        for record in records:
            assert isinstance(record, ToolCallRecord)
            if (
                record.error
                and self.failures.get(record.name, 0) > self.config.settings.tool_retries
            ):
                raise ToolFailed(
                    record.name,
                    f"failed {self.failures[record.name]} times in this "
                    f"run (settings.tool_retries={self.config.settings.tool_retries}); "
                    f"last error: {record.result}",
                )

    def start_tool(self, step: int, call: ToolCall) -> ToolCallRecord | tuple[ToolCall, Any, float]:
        """Validate and start one call: a finished record, or (call, awaitable, t0) to await."""
        if self.emit:
            self.emit(ev.ToolCallStarted(self.run_id, step, call))
        t0 = time.perf_counter()
        tool = self.agent.tools.get(call.name)
        if tool is None:
            known = ", ".join(self.agent.tools) or "none"
            return self.tool_done(
                step,
                call,
                t0,
                f"Unknown tool {call.name!r}. Available tools: {known}.",
                "unknown_tool",
            )
        try:
            args = tool.validate_args(call.arguments)
        except ToolArgumentsInvalid as exc:
            return self.tool_done(step, call, t0, str(exc), "invalid_arguments")
        ctx = (
            RunContext(
                self.deps, self.run_id, self.config.name, step, self.failures.get(call.name, 0)
            )
            if tool.takes_context
            else None
        )
        try:
            value = tool.invoke(args, ctx)
        except Exception as exc:
            return self.tool_done(step, call, t0, _tool_error_text(call.name, exc), "exception")
        if inspect.isawaitable(value):
            return call, value, t0
        return self.tool_done(step, call, t0, serialize_result(value), None, value)

    async def finish_tool(
        self, step: int, call: ToolCall, pending: Any, t0: float
    ) -> ToolCallRecord:
        try:
            value = await pending
        except TimeoutError:
            timeout = self.agent.tools[call.name].timeout
            return self.tool_done(
                step, call, t0, f"Tool {call.name!r} timed out after {timeout} s.", "timeout"
            )
        except Exception as exc:
            return self.tool_done(step, call, t0, _tool_error_text(call.name, exc), "exception")
        return self.tool_done(step, call, t0, serialize_result(value), None, value)

    def tool_done(
        self, step: int, call: ToolCall, t0: float, text: str, error: str | None, value: Any = None
    ) -> ToolCallRecord:
        duration = time.perf_counter() - t0
        if error:
            self.failures[call.name] = self.failures.get(call.name, 0) + 1
        if self.emit:
            self.emit(ev.ToolCallFinished(self.run_id, step, call, text, error, duration, value))
        return ToolCallRecord(step, call.id, call.name, call.arguments, text, error, duration)

    def parse_output(self, text: str) -> tuple[Any, str | None]:
        """The validated output, or (None, feedback for the model)."""
        spec = self.agent.output
        if spec is None:
            return text, None
        try:
            data = parse_json_output(text)
        except ValueError as exc:
            return None, f"Your answer is not valid JSON ({exc}). Answer with JSON only."
        if spec.adapter is None:
            return data, None
        if spec.wrapped and isinstance(data, dict) and "result" in data:
            data = data["result"]
        try:
            return spec.adapter.validate_python(data), None
        except ValidationError as exc:
            return None, (
                f"Your answer does not match the required output schema: "
                f"{exc.errors(include_url=False)}. Answer again with valid JSON."
            )

    async def loop(self) -> RunResult:
        settings = self.config.settings
        output_retries = 0
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
            calls = response.message.tool_calls
            self.messages.append(response.message)
            if calls:
                await self.call_tools(step, calls)
            else:
                output, feedback = self.parse_output(response.message.text)
                if feedback is None:
                    if self.emit:
                        self.emit(ev.StepFinished(self.run_id, step, 0))
                    return self.result(output, "ok")
                output_retries += 1
                if output_retries > settings.output_retries:
                    raise OutputInvalid(
                        f"agent {self.config.name!r}: {feedback} (gave up after "
                        f"{settings.output_retries} corrections, "
                        "settings.output_retries)"
                    )
                self.messages.append(UserMessage(feedback))
            if self.emit:
                self.emit(ev.StepFinished(self.run_id, step, len(calls)))


def _tool_error_text(name: str, exc: BaseException) -> str:
    return f"Tool {name!r} raised {type(exc).__name__}: {exc}"


async def execute_run(
    agent: Agent,
    prompt: str,
    *,
    history: Sequence[Message] = (),
    deps: Any = None,
    emit: Emit | None = None,
    stream: bool = False,
) -> RunResult:
    """Run `agent` on `prompt`; run errors carry the partial result as `.result`."""
    run = _Run(agent, prompt, history, deps, emit, stream)
    if emit:
        emit(
            ev.RunStarted(
                run.run_id,
                agent.config.name,
                agent.config.version,
                agent.model.id,
                prompt,
                agent.config_hash,
                wall_time=run.started_at,
            )
        )
    try:
        timeout = agent.config.settings.timeout
        result = await (asyncio.wait_for(run.loop(), timeout) if timeout else run.loop())
    except (asyncio.CancelledError, KeyboardInterrupt) as exc:
        agent.last_result = run.result(None, "cancelled", exc)
        if emit:
            emit(ev.RunFinished(run.run_id, agent.last_result))
        raise
    except Exception as exc:
        failure: BaseException = exc
        if isinstance(exc, TimeoutError):
            failure = RunError(
                f"agent {agent.config.name!r} exceeded settings.timeout="
                f"{agent.config.settings.timeout} s"
            )
        partial = run.result(None, "error", failure)
        agent.last_result = partial
        if isinstance(failure, RunError):
            failure.result = partial
        if emit:
            emit(ev.RunFinished(run.run_id, partial))
        if failure is exc:
            raise
        raise failure from exc
    agent.last_result = result
    if emit:
        emit(ev.RunFinished(run.run_id, result))
    return result
