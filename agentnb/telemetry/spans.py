"""What each span of a run says: names, GenAI attributes, content capture, the run's summary row.

`add_run` turns one recorded run into its rows of a `Batch` (the root `invoke_agent` span, a `chat`
span per model call, an `execute_tool` span per tool call, a `guard` span per verdict, the `runs`
row); `add_finding` does the same for a monitor finding. Runs on the writer thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentnb.models.messages import AssistantMessage, Message, ToolResultMessage, UserMessage
from agentnb.secrets import REDACTED
from agentnb.telemetry import attributes as A
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

__all__ = ["RunRows", "add_finding", "add_run"]


def add_run(batch: Batch, record: RunRecord, text: Text) -> None:
    RunRows(batch, record, text).build()


def _request_cuts(
    spans: list[SpanDraft], messages: list[Message], first_new: int
) -> dict[str, int]:
    """For each chat span, how many of the run's messages its request held.

    A model turn is appended to the conversation as the very object the provider returned unless
    a guard rewrote or dropped it, so the answer's position is found by identity; a request whose
    answer is not in the list (failed, blocked, rewritten) held everything up to the previous
    answer and the tool results that followed it.
    """
    position = {id(m): i for i, m in enumerate(messages) if isinstance(m, AssistantMessage)}
    cuts: dict[str, int] = {}
    end = min(first_new + 1, len(messages))  # the history and the prompt
    for span in spans:
        if span.op != A.OP_CHAT:
            continue
        done = span.finished
        found = position.get(id(done.response.message)) if done is not None else None
        if found is not None:
            cuts[span.span_id] = found
            end = found + 1
            while end < len(messages) and isinstance(messages[end], ToolResultMessage):
                end += 1
        else:
            cuts[span.span_id] = end
    return cuts


def _layer_events(
    events: list[ev.LayerEvent] | None, wall: Callable[[float], float], text: Text
) -> list[tuple[str, float, dict[str, Any]]] | None:
    if not events:
        return None
    out = []
    for e in events:
        attrs: dict[str, Any] = {
            A.AGENTNB_LAYER_NAME: e.layer,
            A.AGENTNB_LAYER_MODEL: e.model,
            A.AGENTNB_LAYER_MESSAGE: text(e.message),
            A.AGENTNB_LAYER_ATTEMPT: e.attempt,
        }
        if e.state is not None:
            attrs[A.AGENTNB_LAYER_STATE] = e.state
        out.append((f"agentnb.{e.layer}", wall(e.t), attrs))
    return out


class RunRows:
    """The rows of one finished run."""

    def __init__(self, batch: Batch, record: RunRecord, text: Text) -> None:
        self.batch = batch
        self.record = record
        self.draft = record.draft
        self.result = record.result
        self.text = text
        self.capture = record.draft.capture
        self._rendered: list[str] = []
        self._by_id: dict[int, str] = {}
        self._output: tuple[str | None] | None = None
        self.provider, self.model = split_model(record.draft.start.model)
        start = record.draft.start
        self.trace_id = start.run_id
        self.agent = start.agent
        self.version = start.version
        self.wall = record.draft.wall

    # content capture: `full` keeps (redacted) text, `redacted` keeps the shape, `off` drops it
    def content(self, value: str) -> str | None:
        if self.capture == "full":
            return self.text(value)
        return REDACTED if self.capture == "redacted" else None

    def conversation(self, cut: int) -> str | None:
        """The GenAI semantic-convention JSON of the run's first `cut` messages (None when
        capture is off). Each message is rendered once per run, though every chat span repeats
        the conversation so far."""
        if self.capture == "off":
            return None
        messages, rendered = self.result.messages, self._rendered
        for m in messages[len(rendered) : cut]:
            rendered.append(self.message_json(m))
        return "[" + ",".join(rendered[:cut]) + "]"

    def answer(self, m: Message, finish_reason: str) -> str | None:
        """The JSON of one model answer, as `gen_ai.output.messages`."""
        if self.capture == "off":
            return None
        ending = ',"finish_reason":' + quote(finish_reason) + "}]"
        return "[" + self.message_json(m)[:-1] + ending

    def message_json(self, m: Message) -> str:
        """One message's JSON, rendered once per run (answers reappear in later requests)."""
        key = id(m)
        text = self._by_id.get(key)
        if text is None:
            text = self._by_id[key] = self._message_json(m)
        return text

    def _message_json(self, m: Message) -> str:
        c = self.content
        if isinstance(m, UserMessage):
            return (
                '{"role":"user","parts":[{"type":"text","content":'
                + quote(c(m.content) or "")
                + "}]}"
            )
        if isinstance(m, AssistantMessage):
            parts = []
            if m.text:
                parts.append('{"type":"text","content":' + quote(c(m.text) or "") + "}")
            for call in m.tool_calls:
                parts.append(
                    '{"type":"tool_call","id":' + quote(call.id) + ',"name":' + quote(call.name)
                    + ',"arguments":' + quote(c(call.arguments) or "") + "}"
                )  # fmt: skip
            return '{"role":"assistant","parts":[' + ",".join(parts) + "]}"
        assert isinstance(m, ToolResultMessage)
        return (
            '{"role":"tool","parts":[{"type":"tool_call_response","id":' + quote(m.call_id)
            + ',"response":' + quote(c(m.content) or "") + "}]}"
        )  # fmt: skip

    def build(self) -> None:
        result = self.result
        end_wall = self.wall(self.record.end)
        start_wall = self.draft.start.wall_time
        failed = result.error_type or "error"
        cuts = _request_cuts(self.draft.spans, result.messages, result.new_message_index)
        model_calls = tool_calls = tool_errors = verdicts = blocks = 0
        tools: list[str] = []
        for span in self.draft.spans:
            if span.op == A.OP_CHAT:
                model_calls += 1
                self.chat(span, cuts[span.span_id], end_wall, failed)
            elif span.op == A.OP_EXECUTE_TOOL:
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
        self.root(start_wall, end_wall, model_calls, tool_calls)
        self.run_row(start_wall, end_wall, model_calls, tool_calls, tool_errors, tools,
                     verdicts, blocks)  # fmt: skip

    def chat(self, span: SpanDraft, cut: int, end_wall: float, failed: str) -> None:
        started: ev.ModelRequestStarted = span.started
        done: ev.ModelResponded | None = span.finished
        provider, model = self.provider, self.model
        if started.model != self.draft.start.model:  # a fallback model answered
            provider, model = split_model(started.model)
        extra: dict[str, Any] = {
            A.GEN_AI_PROVIDER_NAME: provider,
            A.GEN_AI_REQUEST_STREAM: started.stream,
            A.AGENTNB_STEP: span.step,
        }
        inputs = self.conversation(cut)
        output = None
        if span.first_chunk is not None:
            extra["gen_ai.response.time_to_first_chunk"] = span.first_chunk - span.start
        error_type = error_message = None
        tokens_in = tokens_out = None
        cost = None
        if done is not None:
            response = done.response
            if response.model:
                extra[A.GEN_AI_RESPONSE_MODEL] = response.model
            if response.provider_id:
                extra[A.GEN_AI_RESPONSE_ID] = response.provider_id
            if response.finish_reason:
                extra[A.GEN_AI_RESPONSE_FINISH_REASONS] = [response.finish_reason]
            output = self.answer(response.message, response.finish_reason or "stop")
            tokens_in = response.usage.input_tokens
            tokens_out = response.usage.output_tokens
            cost = done.cost
            if done.error:
                error_type = "error"
                error_message = self.text(done.error)
            end = self.wall(span.end if span.end is not None else self.record.end)
        else:
            error_type = failed
            error_message = self.text(self.result.error) if self.result.error else None
            end = end_wall
        self.batch.add_span(
            self.trace_id, span.span_id, span.parent_id, f"chat {model}", A.OP_CHAT,
            self.wall(span.start), end, "error" if error_type else "ok", self.agent, self.version,
            extra, error_type=error_type, error_message=error_message, model=model,
            input_tokens=tokens_in, output_tokens=tokens_out, cost=cost, content_in=inputs,
            content_out=output, events=_layer_events(span.events, self.wall, self.text),
        )  # fmt: skip

    def tool(self, span: SpanDraft, end_wall: float, failed: str) -> bool:
        started: ev.ToolCallStarted = span.started
        done: ev.ToolCallFinished | None = span.finished
        call = started.call
        extra: dict[str, Any] = {
            A.GEN_AI_TOOL_TYPE: "function",
            A.GEN_AI_TOOL_CALL_ID: call.id,
            A.AGENTNB_STEP: span.step,
        }
        arguments = self.content(call.arguments)
        output = None
        error_type = error_message = None
        if done is not None:
            end = self.wall(span.end if span.end is not None else self.record.end)
            if done.error == "blocked":  # a guard's decision (see the guard span), not a failure
                extra[A.AGENTNB_TOOL_BLOCKED] = True
                extra[A.AGENTNB_ERROR_MESSAGE] = self.text(done.result)
            elif done.error:
                error_type = done.error
                error_message = self.text(done.result)
            else:
                output = self.content(done.result)
        else:
            end = end_wall
            error_type = failed
            error_message = self.text(self.result.error) if self.result.error else None
        self.batch.add_span(
            self.trace_id, span.span_id, span.parent_id, f"execute_tool {call.name}",
            A.OP_EXECUTE_TOOL, self.wall(span.start), end, "error" if error_type else "ok",
            self.agent, self.version, extra, error_type=error_type, error_message=error_message,
            tool=call.name, content_in=arguments, content_out=output,
        )  # fmt: skip
        return error_type is not None

    def guard(self, span: SpanDraft) -> None:
        v: ev.GuardVerdict = span.started
        reason = self.text(v.reason) if v.reason else None
        extra: dict[str, Any] = {
            A.AGENTNB_GUARD_NAME: v.guard,
            A.AGENTNB_GUARD_POINT: v.point,
            A.AGENTNB_GUARD_OUTCOME: v.outcome,
            A.AGENTNB_GUARD_ACTION: v.action,
            A.AGENTNB_STEP: span.step,
        }
        if reason:
            extra[A.AGENTNB_GUARD_REASON] = reason
        if v.target is not None:
            extra[A.AGENTNB_GUARD_TARGET] = v.target
        start = self.wall(span.start)
        end = self.wall(span.end if span.end is not None else span.start)
        self.batch.add_span(
            self.trace_id, span.span_id, span.parent_id, f"guard {v.guard}", A.OP_GUARD, start,
            end, "error" if v.outcome == "error" else "ok", self.agent, self.version, extra,
            error_type="guard_error" if v.outcome == "error" else None,
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

    def root(self, start: float, end: float, model_calls: int, tool_calls: int) -> None:
        r = self.result
        s = self.draft.start
        extra: dict[str, Any] = {
            A.GEN_AI_PROVIDER_NAME: self.provider,
            A.AGENTNB_CONFIG_HASH: s.config_hash,
            A.AGENTNB_RUN_STATUS: r.status,
            A.AGENTNB_RUN_STEPS: len(r.steps),
            A.AGENTNB_RUN_TOOL_CALLS: tool_calls,
            A.AGENTNB_CAPTURE_CONTENT: self.capture,
        }
        inputs = output = None
        if self.capture != "off":
            first = r.messages[r.new_message_index] if r.messages[r.new_message_index :] else None
            if not (isinstance(first, UserMessage) and first.content == r.prompt):
                first = UserMessage(r.prompt)  # a guard rewrote the prompt the model saw
            inputs = "[" + self.message_json(first) + "]"
            text = self.output_text()
            if text is not None:
                output = (
                    '[{"role":"assistant","parts":[{"type":"text","content":'
                    + quote(text)
                    + '}],"finish_reason":"stop"}]'
                )
        failed = r.status in ("error", "cancelled")
        self.batch.add_span(
            self.trace_id, self.draft.root_id, None, f"invoke_agent {self.agent}",
            A.OP_INVOKE_AGENT, start, end, "error" if failed else "ok", self.agent, self.version,
            extra, error_type=(r.error_type or r.status) if failed else None,
            error_message=self.text(r.error) if r.error else None, model=self.model,
            input_tokens=r.usage.input_tokens, output_tokens=r.usage.output_tokens, cost=r.cost,
            content_in=inputs, content_out=output,
            events=_layer_events(self.draft.root_events, self.wall, self.text),
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
        provider = self.provider
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
                provider,
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
        searchable = [prompt, output] if self.capture == "full" else []
        self.batch.texts.append(" \n".join(t for t in (*searchable, error) if t))


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
        record.wall, record.wall, "ok", e.agent, "", extra,
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
