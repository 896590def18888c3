"""What each span of a run says: names, GenAI attributes, content capture, the run's summary row.

`add_record` turns one recorded run into its rows of a `Batch` (the root `invoke_agent` span, a
`chat` span per model call, an `execute_tool` span per tool call, a `guard` span per verdict, the
`runs` row), or a monitor finding into its `monitor` span and `findings` row. Runs on the writer
thread, where it is most of the ingest cost: span attributes are written as JSON text directly (a
dict and `json.dumps` per span cost several times more), and each run takes as few Python calls as
its spans allow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentnb import semconv as A
from agentnb.models.messages import AssistantMessage, Message, ToolResultMessage, UserMessage
from agentnb.secrets import REDACTED
from agentnb.telemetry.recorder import (
    FindingRecord,
    RunRecord,
    SpanDraft,
    new_span_id,
    root_span_id,
)
from agentnb.telemetry.records import Batch, Text, dumps, quote, split_model

if TYPE_CHECKING:
    from agentnb import events as ev

__all__ = ["RunRows", "add_finding", "add_record"]


def add_record(batch: Batch, record: RunRecord | FindingRecord, text: Text) -> None:
    """The rows of a finished run or a monitor finding; `text` takes every free-text value."""
    if isinstance(record, RunRecord):
        RunRows(batch, record, text).build()
    else:
        add_finding(batch, record, text)


def _key(name: str, first: bool = False) -> str:
    """The JSON text before an attribute's value: `,"name":` (`{"name":` for the first)."""
    return ("{" if first else ",") + quote(name) + ":"


_PROVIDER_FIRST = _key(A.GEN_AI_PROVIDER_NAME, first=True)
_STREAM = _key(A.GEN_AI_REQUEST_STREAM)
_STEP = _key(A.AGENTNB_STEP)
_SYSTEM_INSTRUCTIONS = _key(A.GEN_AI_SYSTEM_INSTRUCTIONS)
_FIRST_CHUNK = _key("gen_ai.response.time_to_first_chunk")
_RESPONSE_MODEL = _key(A.GEN_AI_RESPONSE_MODEL)
_RESPONSE_ID = _key(A.GEN_AI_RESPONSE_ID)
_FINISH_REASONS = _key(A.GEN_AI_RESPONSE_FINISH_REASONS)
_ERROR_MESSAGE = _key(A.AGENTNB_ERROR_MESSAGE)
_TOOL_FIRST = _key(A.GEN_AI_TOOL_TYPE, first=True) + quote("function")
_TOOL_CALL_ID = _key(A.GEN_AI_TOOL_CALL_ID)
_BLOCKED = _key(A.AGENTNB_TOOL_BLOCKED) + "true"
_GUARD_FIRST = _key(A.AGENTNB_GUARD_NAME, first=True)
_POINT = _key(A.AGENTNB_GUARD_POINT)
_OUTCOME = _key(A.AGENTNB_GUARD_OUTCOME)
_ACTION = _key(A.AGENTNB_GUARD_ACTION)
_REASON = _key(A.AGENTNB_GUARD_REASON)
_TARGET = _key(A.AGENTNB_GUARD_TARGET)
_CONFIG_HASH = _key(A.AGENTNB_CONFIG_HASH)
_RUN_STATUS = _key(A.AGENTNB_RUN_STATUS)
_RUN_STEPS = _key(A.AGENTNB_RUN_STEPS)
_RUN_TOOL_CALLS = _key(A.AGENTNB_RUN_TOOL_CALLS)
_CAPTURE = _key(A.AGENTNB_CAPTURE_CONTENT)


def _redacted(value: str) -> str:
    return REDACTED


def _dropped(value: str) -> None:
    return None


class RunRows:
    """The rows of one finished run."""

    __slots__ = (
        "_answers", "_output", "_rendered", "agent", "batch", "capture", "content", "draft",
        "end", "instructions", "model", "provider", "quoted_provider", "result", "run_model",
        "t0", "text", "trace_id", "version", "wall0",
    )  # fmt: skip

    def __init__(self, batch: Batch, record: RunRecord, text: Text) -> None:
        draft = record.draft
        start = draft.start
        self.batch = batch
        self.draft = draft
        self.result = record.result
        self.text = text
        self.capture = capture = draft.capture
        # content capture: `full` keeps (redacted) text, `redacted` keeps the shape, `off` drops it
        self.content: Callable[[str], str | None] = (
            text if capture == "full" else _redacted if capture == "redacted" else _dropped
        )
        self._rendered: list[str] = []
        self._answers: dict[int, str] = {}
        self._output: tuple[str | None] | None = None
        self.run_model = start.model
        self.provider, self.model = split_model(start.model)
        self.quoted_provider = quote(self.provider)
        self.trace_id = start.run_id
        self.agent = start.agent
        self.version = start.version
        # `RunDraft.wall()` inlined: a call per timestamp is a noticeable share of a run's rows
        self.wall0 = start.wall_time
        self.t0 = start.t
        self.end = record.end
        self.instructions = self.system_instructions(start.instructions)

    def system_instructions(self, instructions: str) -> str:
        """`,"gen_ai.system_instructions":…` for every chat span of the run, or "" (no
        instructions, or capture off). The value is JSON text, like the messages."""
        content = self.content(instructions) if instructions else None
        if content is None:
            return ""
        return _SYSTEM_INSTRUCTIONS + quote(f'[{{"type":"text","content":{quote(content)}}}]')

    def conversation(self, cut: int) -> str | None:
        """The GenAI semantic-convention JSON of the run's first `cut` messages (None when
        capture is off). Each message is rendered once per run, though every chat span repeats
        the conversation so far."""
        if self.capture == "off":
            return None
        rendered = self._rendered
        if len(rendered) < cut:
            answers = self._answers
            for m in self.result.messages[len(rendered) : cut]:
                seen = answers.get(id(m))
                rendered.append(self.message_json(m) if seen is None else seen)
        return "[" + ",".join(rendered[:cut]) + "]"

    def answer(self, m: Message, finish_reason: str) -> str | None:
        """The JSON of one model answer, as `gen_ai.output.messages` (the message's JSON is kept:
        the answer reappears in the next request)."""
        if self.capture == "off":
            return None
        text = self._answers[id(m)] = self.message_json(m)
        return f'[{text[:-1]},"finish_reason":{quote(finish_reason)}}}]'

    def message_json(self, m: Message) -> str:
        c = self.content
        if isinstance(m, UserMessage):
            content = quote(c(m.content) or "")
            return f'{{"role":"user","parts":[{{"type":"text","content":{content}}}]}}'
        if isinstance(m, AssistantMessage):
            parts = [f'{{"type":"text","content":{quote(c(m.text) or "")}}}'] if m.text else []
            for call in m.tool_calls:
                parts.append(
                    f'{{"type":"tool_call","id":{quote(call.id)},"name":{quote(call.name)},'
                    f'"arguments":{quote(c(call.arguments) or "")}}}'
                )
            return f'{{"role":"assistant","parts":[{",".join(parts)}]}}'
        assert isinstance(m, ToolResultMessage)
        return (
            f'{{"role":"tool","parts":[{{"type":"tool_call_response","id":{quote(m.call_id)},'
            f'"response":{quote(c(m.content) or "")}}}]}}'
        )

    def events(self, events: list[ev.LayerEvent]) -> str:
        """The span events of resilience layers, as JSON text."""
        out = []
        for e in events:
            attrs: dict[str, Any] = {
                A.AGENTNB_LAYER_NAME: e.layer,
                A.AGENTNB_LAYER_MODEL: e.model,
                A.AGENTNB_LAYER_MESSAGE: self.text(e.message),
                A.AGENTNB_LAYER_ATTEMPT: e.attempt,
            }
            if e.state is not None:
                attrs[A.AGENTNB_LAYER_STATE] = e.state
            time = self.wall0 + (e.t - self.t0)
            out.append({"name": f"agentnb.{e.layer}", "time": time, "attributes": attrs})
        return dumps(out)

    def build(self) -> None:
        result = self.result
        end_wall = self.wall0 + (self.end - self.t0)
        start_wall = self.wall0
        failed = result.error_type or "error"
        model_calls = tool_calls = tool_errors = verdicts = blocks = 0
        tools: list[str] = []
        for span in self.draft.spans:
            op = span.op
            if op == A.OP_CHAT:
                model_calls += 1
                self.chat(span, end_wall, failed)
            elif op == A.OP_EXECUTE_TOOL:
                tool_calls += 1
                name = span.started.call.name
                if name not in tools:
                    tools.append(name)
                if self.tool(span, end_wall, failed):
                    tool_errors += 1
            else:
                verdicts += 1
                blocks += span.started.outcome == "block"
                self.guard(span)
        self.root(start_wall, end_wall, tool_calls)
        self.run_row(start_wall, end_wall, model_calls, tool_calls, tool_errors, tools,
                     verdicts, blocks)  # fmt: skip

    def chat(self, span: SpanDraft, end_wall: float, failed: str) -> None:
        started: ev.ModelRequestStarted = span.started
        done: ev.ModelResponded | None = span.finished
        model, provider = self.model, self.quoted_provider
        if started.model != self.run_model:  # a fallback model answered
            name, model = split_model(started.model)
            provider = quote(name)
        attrs = (
            f"{_PROVIDER_FIRST}{provider}{_STREAM}{'true' if started.stream else 'false'}"
            f"{_STEP}{span.step}{self.instructions}"
        )
        if span.first_chunk is not None:
            attrs += _FIRST_CHUNK + dumps(span.first_chunk - span.start)
        # The request held the run's first `messages` messages (the conversation only grows).
        inputs = self.conversation(started.messages) if started.messages is not None else None
        output = error_type = error_message = None
        tokens_in = tokens_out = None
        cost = None
        if done is not None:
            response = done.response
            if response.model:
                attrs += _RESPONSE_MODEL + quote(response.model)
            if response.provider_id:
                attrs += _RESPONSE_ID + quote(response.provider_id)
            if response.finish_reason:
                attrs += f"{_FINISH_REASONS}[{quote(response.finish_reason)}]"
            output = self.answer(response.message, response.finish_reason or "stop")
            usage = response.usage
            tokens_in, tokens_out = usage.input_tokens, usage.output_tokens
            cost = done.cost
            if done.error:
                error_type = "error"
                error_message = self.text(done.error)
            end = self.wall0 + ((span.end if span.end is not None else self.end) - self.t0)
        else:
            error_type = failed
            error_message = self.text(self.result.error) if self.result.error else None
            end = end_wall
        if error_message:
            attrs += _ERROR_MESSAGE + quote(error_message)
        self.batch.add_span(
            self.trace_id, span.span_id, span.parent_id, f"chat {model}", A.OP_CHAT,
            self.wall0 + (span.start - self.t0), end, "error" if error_type else "ok", self.agent,
            self.version, attrs + "}", error_type=error_type, model=model,
            input_tokens=tokens_in, output_tokens=tokens_out, cost=cost, content_in=inputs,
            content_out=output, events=self.events(span.events) if span.events else None,
        )  # fmt: skip

    def tool(self, span: SpanDraft, end_wall: float, failed: str) -> bool:
        started: ev.ToolCallStarted = span.started
        done: ev.ToolCallFinished | None = span.finished
        call = started.call
        attrs = f"{_TOOL_FIRST}{_TOOL_CALL_ID}{quote(call.id)}{_STEP}{span.step}"
        arguments = self.content(call.arguments)
        output = error_type = error_message = None
        if done is not None:
            end = self.wall0 + ((span.end if span.end is not None else self.end) - self.t0)
            if done.error == "blocked":  # a guard's decision (see the guard span), not a failure
                attrs += _BLOCKED + _ERROR_MESSAGE + quote(self.text(done.result))
            elif done.error:
                error_type = done.error
                error_message = self.text(done.result)
            else:
                output = self.content(done.result)
        else:
            end = end_wall
            error_type = failed
            error_message = self.text(self.result.error) if self.result.error else None
        if error_message:
            attrs += _ERROR_MESSAGE + quote(error_message)
        self.batch.add_span(
            self.trace_id, span.span_id, span.parent_id, f"execute_tool {call.name}",
            A.OP_EXECUTE_TOOL, self.wall0 + (span.start - self.t0), end,
            "error" if error_type else "ok", self.agent, self.version, attrs + "}",
            error_type=error_type, tool=call.name, content_in=arguments, content_out=output,
        )  # fmt: skip
        return error_type is not None

    def guard(self, span: SpanDraft) -> None:
        v: ev.GuardVerdict = span.started
        reason = self.text(v.reason) if v.reason else None
        attrs = (
            f"{_GUARD_FIRST}{quote(v.guard)}{_POINT}{quote(v.point)}{_OUTCOME}{quote(v.outcome)}"
            f"{_ACTION}{quote(v.action)}{_STEP}{span.step}"
        )
        if reason:
            attrs += _REASON + quote(reason)
        if v.target is not None:
            attrs += _TARGET + quote(v.target)
        start = self.wall0 + (span.start - self.t0)
        end = self.wall0 + ((span.end if span.end is not None else span.start) - self.t0)
        failed = v.outcome == "error"
        self.batch.add_span(
            self.trace_id, span.span_id, span.parent_id, f"guard {v.guard}", A.OP_GUARD, start,
            end, "error" if failed else "ok", self.agent, self.version, attrs + "}",
            error_type="guard_error" if failed else None,
        )  # fmt: skip
        self.batch.verdicts.append(
            (
                self.trace_id,
                span.span_id,
                self.agent,
                self.version,
                span.step,
                v.guard,
                v.point,
                v.outcome,
                v.action,
                v.target,
                reason,
                (end - start) * 1000.0,
                int(end * 1e6),
            )
        )  # VERDICT_COLUMNS order

    def root(self, start: float, end: float, tool_calls: int) -> None:
        r = self.result
        attrs = (
            f"{_PROVIDER_FIRST}{self.quoted_provider}"
            f"{_CONFIG_HASH}{quote(self.draft.start.config_hash)}{_RUN_STATUS}{quote(r.status)}"
            f"{_RUN_STEPS}{len(r.steps)}{_RUN_TOOL_CALLS}{tool_calls}"
            f"{_CAPTURE}{quote(self.capture)}"
        )
        if r.error:
            attrs += _ERROR_MESSAGE + quote(self.text(r.error))
        inputs = output = None
        if self.capture != "off":
            index = r.new_message_index
            first = r.messages[index] if index < len(r.messages) else None
            if not (isinstance(first, UserMessage) and first.content == r.prompt):
                inputs = "[" + self.message_json(UserMessage(r.prompt)) + "]"  # a guard rewrote it
            elif index < len(self._rendered):  # the first request's last message
                inputs = "[" + self._rendered[index] + "]"
            else:
                inputs = "[" + self.message_json(first) + "]"
            text = self.output_text()
            if text is not None:
                output = (
                    '[{"role":"assistant","parts":[{"type":"text","content":'
                    + quote(text)
                    + '}],"finish_reason":"stop"}]'
                )
        failed = r.status in ("error", "cancelled")
        events = self.draft.root_events
        self.batch.add_span(
            self.trace_id, self.draft.root_id, None, f"invoke_agent {self.agent}",
            A.OP_INVOKE_AGENT, start, end, "error" if failed else "ok", self.agent, self.version,
            attrs + "}", error_type=(r.error_type or r.status) if failed else None,
            model=self.model, input_tokens=r.usage.input_tokens,
            output_tokens=r.usage.output_tokens, cost=r.cost, content_in=inputs,
            content_out=output, events=self.events(events) if events else None,
        )  # fmt: skip

    def output_text(self) -> str | None:
        """The run's output as text (content rules applied), computed once."""
        if self._output is None:
            output = self.result.output
            if output is not None and not isinstance(output, str):
                dump = getattr(output, "model_dump", None)
                output = dumps(dump(mode="json") if dump else output)
            self._output = (None if output is None else self.content(output),)
        return self._output[0]

    def run_row(
        self, start: float, end: float, model_calls: int, tool_calls: int, tool_errors: int,
        tools: list[str], verdicts: int, blocks: int,
    ) -> None:  # fmt: skip
        r = self.result
        s = self.draft.start
        prompt = self.content(r.prompt)
        output = self.output_text()
        error = self.text(r.error) if r.error else None
        self.batch.runs.append(
            (
                self.trace_id,
                self.agent,
                self.version,
                s.config_hash,
                s.model,
                self.provider,
                r.status,
                r.error_type,
                error,
                int(start * 1e6),
                int(end * 1e6),
                (end - start) * 1000.0,
                len(r.steps),
                model_calls,
                tool_calls,
                tool_errors,
                tools,
                r.usage.input_tokens,
                r.usage.output_tokens,
                r.cost,
                verdicts,
                blocks,
                self.capture,
                prompt,
                output,
            )
        )  # RUN_COLUMNS order
        if self.capture == "full" and (prompt or output):
            searchable = (prompt, output, error) if error else (prompt, output)
            self.batch.texts.append(" \n".join(filter(None, searchable)))
        else:
            self.batch.texts.append(error or "")


def add_finding(batch: Batch, record: FindingRecord, text: Text) -> None:
    e = record.event
    span_id = new_span_id()
    message = text(e.message) if e.message else None  # a diagnostic, kept in every mode
    evidence = None  # may quote the run's content: follows the capture mode
    if e.evidence and record.capture != "off":
        evidence = text(dumps(e.evidence)) if record.capture == "full" else REDACTED
    extra: dict[str, Any] = {
        A.AGENTNB_MONITOR_NAME: e.monitor,
        A.AGENTNB_MONITOR_SEVERITY: e.severity,
    }
    if message:
        extra[A.AGENTNB_MONITOR_MESSAGE] = message
    if evidence:
        extra[A.AGENTNB_MONITOR_EVIDENCE] = evidence
    batch.add_span(
        e.run_id, span_id, root_span_id(e.run_id), f"monitor {e.monitor}", A.OP_MONITOR,
        record.wall, record.wall, "ok", e.agent, "", dumps(extra),
    )  # fmt: skip
    batch.findings.append(
        (
            e.run_id,
            span_id,
            e.agent,
            e.monitor,
            e.severity,
            message,
            evidence,
            int(record.wall * 1e6),
        )
    )  # FINDING_COLUMNS order
