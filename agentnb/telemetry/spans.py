"""What each span of a run says: names, GenAI attributes, the run's summary row.

`build_batch()` turns spooled records (`wire` lists: content rules and redaction already applied
in the recording process) into the rows of a `Batch`: the root `invoke_agent` span, a `chat` span
per model call, an `execute_tool` span per tool call, a `guard` span per verdict and the `runs`
row; a monitor finding becomes its `monitor` span and `findings` row. Runs in the ingest worker,
where it is most of the ingest cost: span attributes are written as JSON text directly (a dict and
`json.dumps` per span cost several times more), and each run takes as few Python calls as its
spans allow.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agentnb import semconv as A
from agentnb.telemetry.records import dumps, quote, root_span_id, split_model
from agentnb.telemetry.rows import Batch
from agentnb.telemetry.wire import RUN

__all__ = ["RunRows", "add_finding", "build_batch"]


def build_batch(records: Iterable[list[Any]]) -> Batch:
    """The rows of spooled runs and findings (see `wire` for their layout)."""
    batch = Batch()
    for record in records:
        if record[0] == RUN:
            RunRows(batch, record).build()
        else:
            add_finding(batch, record)
    return batch


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


class RunRows:
    """The rows of one spooled run."""

    __slots__ = (
        "_answers", "_rendered", "agent", "batch", "capture", "end", "instructions", "messages",
        "model", "provider", "quoted_provider", "record", "result", "root_id", "run_model",
        "start", "t0", "trace_id", "version", "wall0",
    )  # fmt: skip

    def __init__(self, batch: Batch, record: list[Any]) -> None:
        _, capture, root_id, start, end, result, messages, _spans, _events = record
        run_id, agent, version, model, _hash, wall_time, t, instructions = start
        self.batch = batch
        self.record = record
        self.start = start
        self.result = result
        self.messages = messages
        self.capture = capture
        self.root_id = root_id
        self._rendered: list[str] = []
        self._answers: dict[int, str] = {}
        self.run_model = model
        self.provider, self.model = split_model(model)
        self.quoted_provider = quote(self.provider)
        self.trace_id = run_id
        self.agent = agent
        self.version = version
        self.wall0 = wall_time
        self.t0 = t
        self.end = end
        self.instructions = self.system_instructions(instructions)

    def system_instructions(self, instructions: str) -> str:
        """`,"gen_ai.system_instructions":…` for every chat span of the run, or "" (no
        instructions, or capture off). The value is JSON text, like the messages."""
        if not instructions:
            return ""
        return _SYSTEM_INSTRUCTIONS + quote(f'[{{"type":"text","content":{quote(instructions)}}}]')

    def conversation(self, cut: int) -> str | None:
        """The GenAI semantic-convention JSON of the run's first `cut` messages (None when
        capture is off). Each message is rendered once per run, though every chat span repeats
        the conversation so far."""
        if self.capture == "off":
            return None
        rendered = self._rendered
        if len(rendered) < cut:
            answers = self._answers
            for i in range(len(rendered), min(cut, len(self.messages))):
                seen = answers.get(i)
                rendered.append(message_json(self.messages[i]) if seen is None else seen)
        return "[" + ",".join(rendered[:cut]) + "]"

    def answer(self, ref: Any, finish_reason: str) -> str | None:
        """The JSON of one model answer, as `gen_ai.output.messages` (the message's JSON is kept:
        the answer reappears in the next request). `ref` indexes the run's messages, or is the
        message itself (an answer that never joined the conversation)."""
        if self.capture == "off" or ref is None:
            return None
        if isinstance(ref, int):
            text = self._answers[ref] = message_json(self.messages[ref])
        else:
            text = message_json(ref)
        return f'[{text[:-1]},"finish_reason":{quote(finish_reason)}}}]'

    def events(self, events: list[list[Any]]) -> str:
        """The span events of resilience layers, as JSON text."""
        out = []
        for layer, model, message, attempt, state, t in events:
            attrs: dict[str, Any] = {
                A.AGENTNB_LAYER_NAME: layer,
                A.AGENTNB_LAYER_MODEL: model,
                A.AGENTNB_LAYER_MESSAGE: message,
                A.AGENTNB_LAYER_ATTEMPT: attempt,
            }
            if state is not None:
                attrs[A.AGENTNB_LAYER_STATE] = state
            time = self.wall0 + (t - self.t0)
            out.append({"name": f"agentnb.{layer}", "time": time, "attributes": attrs})
        return dumps(out)

    def build(self) -> None:
        """Append the run's spans, verdict and run rows to the batch."""
        end_wall = self.wall0 + (self.end - self.t0)
        start_wall = self.wall0
        failed = self.result[1] or "error"
        model_calls = tool_calls = tool_errors = verdicts = blocks = 0
        tools: list[str] = []
        for span in self.record[7]:
            op = span[0]
            if op == A.OP_CHAT:
                model_calls += 1
                self.chat(span, end_wall, failed)
            elif op == A.OP_EXECUTE_TOOL:
                tool_calls += 1
                name = span[7][1]
                if name not in tools:
                    tools.append(name)
                if self.tool(span, end_wall, failed):
                    tool_errors += 1
            else:
                verdicts += 1
                blocks += span[7][2] == "block"
                self.guard(span)
        self.root(start_wall, end_wall, tool_calls)
        self.run_row(start_wall, end_wall, model_calls, tool_calls, tool_errors, tools,
                     verdicts, blocks)  # fmt: skip

    def chat(self, span: list[Any], end_wall: float, failed: str) -> None:
        """Append the `chat` span of one turn (`failed`: the run's error type, for a cut turn)."""
        _, span_id, parent_id, step, t_start, t_end, first_chunk, started, done, events = span
        requested, stream, n_messages = started
        model, provider = self.model, self.quoted_provider
        if requested != self.run_model:  # a fallback model answered
            name, model = split_model(requested)
            provider = quote(name)
        attrs = (
            f"{_PROVIDER_FIRST}{provider}{_STREAM}{'true' if stream else 'false'}"
            f"{_STEP}{step}{self.instructions}"
        )
        if first_chunk is not None:
            attrs += _FIRST_CHUNK + dumps(first_chunk - t_start)
        # The request held the run's first `n_messages` messages (the conversation only grows).
        inputs = self.conversation(n_messages) if n_messages is not None else None
        output = error_type = error_message = None
        tokens_in = tokens_out = None
        cost = None
        if done is not None:
            r_model, r_id, finish_reason, message, tokens_in, tokens_out, cost, error = done
            if r_model:
                attrs += _RESPONSE_MODEL + quote(r_model)
            if r_id:
                attrs += _RESPONSE_ID + quote(r_id)
            if finish_reason:
                attrs += f"{_FINISH_REASONS}[{quote(finish_reason)}]"
            output = self.answer(message, finish_reason or "stop")
            if error:
                error_type = "error"
                error_message = error
            end = self.wall0 + ((t_end if t_end is not None else self.end) - self.t0)
        else:
            error_type = failed
            error_message = self.result[2]
            end = end_wall
        if error_message:
            attrs += _ERROR_MESSAGE + quote(error_message)
        self.batch.add_span(
            self.trace_id, span_id, parent_id, f"chat {model}", A.OP_CHAT,
            self.wall0 + (t_start - self.t0), end, "error" if error_type else "ok", self.agent,
            self.version, attrs + "}", error_type=error_type, model=model,
            input_tokens=tokens_in, output_tokens=tokens_out, cost=cost, content_in=inputs,
            content_out=output, events=self.events(events) if events else None,
        )  # fmt: skip

    def tool(self, span: list[Any], end_wall: float, failed: str) -> bool:
        """Append the `execute_tool` span of one tool call; True when the call failed."""
        _, span_id, parent_id, step, t_start, t_end, _first, started, done, _events = span
        call_id, name, arguments = started
        attrs = f"{_TOOL_FIRST}{_TOOL_CALL_ID}{quote(call_id)}{_STEP}{step}"
        output = error_type = error_message = None
        if done is not None:
            error, result = done
            end = self.wall0 + ((t_end if t_end is not None else self.end) - self.t0)
            if error == "blocked":  # a guard's decision (see the guard span), not a failure
                attrs += _BLOCKED + _ERROR_MESSAGE + quote(result)
            elif error:
                error_type = error
                error_message = result
            else:
                output = result
        else:
            end = end_wall
            error_type = failed
            error_message = self.result[2]
        if error_message:
            attrs += _ERROR_MESSAGE + quote(error_message)
        self.batch.add_span(
            self.trace_id, span_id, parent_id, f"execute_tool {name}",
            A.OP_EXECUTE_TOOL, self.wall0 + (t_start - self.t0), end,
            "error" if error_type else "ok", self.agent, self.version, attrs + "}",
            error_type=error_type, tool=name, content_in=arguments, content_out=output,
        )  # fmt: skip
        return error_type is not None

    def guard(self, span: list[Any]) -> None:
        """Append the span and the `verdicts` row of one guard verdict."""
        _, span_id, parent_id, step, t_start, t_end, _first, started, _done, _events = span
        guard, point, outcome, action, reason, target = started
        attrs = (
            f"{_GUARD_FIRST}{quote(guard)}{_POINT}{quote(point)}{_OUTCOME}{quote(outcome)}"
            f"{_ACTION}{quote(action)}{_STEP}{step}"
        )
        if reason:
            attrs += _REASON + quote(reason)
        if target is not None:
            attrs += _TARGET + quote(target)
        start = self.wall0 + (t_start - self.t0)
        end = self.wall0 + ((t_end if t_end is not None else t_start) - self.t0)
        failed = outcome == "error"
        self.batch.add_span(
            self.trace_id, span_id, parent_id, f"guard {guard}", A.OP_GUARD, start,
            end, "error" if failed else "ok", self.agent, self.version, attrs + "}",
            error_type="guard_error" if failed else None,
        )  # fmt: skip
        self.batch.verdicts.append(
            (
                self.trace_id, span_id, self.agent, self.version, step, guard, point, outcome,
                action, target, reason or None, (end - start) * 1000.0, int(end * 1e6),
            )
        )  # VERDICT_COLUMNS order  # fmt: skip

    def root(self, start: float, end: float, tool_calls: int) -> None:
        """Append the run's `invoke_agent` root span."""
        status, error_type, error, output, steps, tokens_in, tokens_out, cost, index, prompt = (
            self.result
        )
        attrs = (
            f"{_PROVIDER_FIRST}{self.quoted_provider}"
            f"{_CONFIG_HASH}{quote(self.start[4])}{_RUN_STATUS}{quote(status)}"
            f"{_RUN_STEPS}{steps}{_RUN_TOOL_CALLS}{tool_calls}"
            f"{_CAPTURE}{quote(self.capture)}"
        )
        if error:
            attrs += _ERROR_MESSAGE + quote(error)
        inputs = content_out = None
        if self.capture != "off":
            messages = self.messages
            first = messages[index] if index < len(messages) else None
            if not (first is not None and first[0] == "u" and first[1] == prompt):
                inputs = "[" + message_json(["u", prompt]) + "]"  # a guard rewrote it
            elif index < len(self._rendered):  # the first request's last message
                inputs = "[" + self._rendered[index] + "]"
            else:
                inputs = "[" + message_json(first) + "]"
            if output is not None:
                content_out = (
                    '[{"role":"assistant","parts":[{"type":"text","content":'
                    + quote(output)
                    + '}],"finish_reason":"stop"}]'
                )
        failed = status in ("error", "cancelled")
        events = self.record[8]
        self.batch.add_span(
            self.trace_id, self.root_id, None, f"invoke_agent {self.agent}",
            A.OP_INVOKE_AGENT, start, end, "error" if failed else "ok", self.agent, self.version,
            attrs + "}", error_type=(error_type or status) if failed else None,
            model=self.model, input_tokens=tokens_in, output_tokens=tokens_out, cost=cost,
            content_in=inputs, content_out=content_out,
            events=self.events(events) if events else None,
        )  # fmt: skip

    def run_row(
        self, start: float, end: float, model_calls: int, tool_calls: int, tool_errors: int,
        tools: list[str], verdicts: int, blocks: int,
    ) -> None:  # fmt: skip
        """Append the run's row of the `runs` table."""
        status, error_type, error, output, steps, tokens_in, tokens_out, cost, _, prompt = (
            self.result
        )
        s = self.start
        self.batch.runs.append(
            (
                self.trace_id, self.agent, self.version, s[4], s[3], self.provider, status,
                error_type, error, int(start * 1e6), int(end * 1e6), (end - start) * 1000.0,
                steps, model_calls, tool_calls, tool_errors, tools, tokens_in, tokens_out, cost,
                verdicts, blocks, self.capture, prompt, output,
            )
        )  # RUN_COLUMNS order  # fmt: skip
        if self.capture == "full" and (prompt or output):
            searchable = (prompt, output, error) if error else (prompt, output)
            self.batch.texts.append(" \n".join(filter(None, searchable)))
        else:
            self.batch.texts.append(error or "")


def message_json(m: list[Any]) -> str:
    """One spooled message in the GenAI semantic conventions' JSON."""
    kind = m[0]
    if kind == "u":
        return f'{{"role":"user","parts":[{{"type":"text","content":{quote(m[1] or "")}}}]}}'
    if kind == "a":
        parts = [f'{{"type":"text","content":{quote(m[1])}}}'] if m[1] is not None else []
        for call_id, name, arguments in m[2]:
            parts.append(
                f'{{"type":"tool_call","id":{quote(call_id)},"name":{quote(name)},'
                f'"arguments":{quote(arguments or "")}}}'
            )
        return f'{{"role":"assistant","parts":[{",".join(parts)}]}}'
    return (
        f'{{"role":"tool","parts":[{{"type":"tool_call_response","id":{quote(m[1])},'
        f'"response":{quote(m[2] or "")}}}]}}'
    )


def add_finding(batch: Batch, record: list[Any]) -> None:
    """The `monitor` span and `findings` row of a spooled monitor finding."""
    _, _capture, wall, span_id, run_id, agent, monitor, severity, message, evidence = record
    extra: dict[str, Any] = {
        A.AGENTNB_MONITOR_NAME: monitor,
        A.AGENTNB_MONITOR_SEVERITY: severity,
    }
    if message:
        extra[A.AGENTNB_MONITOR_MESSAGE] = message
    if evidence:
        extra[A.AGENTNB_MONITOR_EVIDENCE] = evidence
    batch.add_span(
        run_id, span_id, root_span_id(run_id), f"monitor {monitor}", A.OP_MONITOR,
        wall, wall, "ok", agent, "", dumps(extra),
    )  # fmt: skip
    batch.findings.append(
        (run_id, span_id, agent, monitor, severity, message, evidence, int(wall * 1e6))
    )  # FINDING_COLUMNS order
