"""A finished run as the spool keeps it: a JSON line, content rules applied, secrets redacted.

`encode()` runs in the recording process, on the run's thread when the run ends: it reads the
live records (the events and the `RunResult` the recorder kept references to) once and writes
only what the rows need, as JSON text directly. Every free-text value passes through one function
(`Text`), so the spool checks a whole group of runs for secrets with a single `redact()` and
redacts only the lines that hold one; content is already kept, replaced by `[REDACTED]` or
dropped according to the run's capture mode. Nothing unredacted reaches the disk, and the ingest
worker (another process, which may not see this process's environment or its registered secret
names) only turns the parsed lines into rows.

Layout (positions, not names: the lists are written and read millions of times)::

    run:     ["r", capture, root_id, START, end_t, RESULT, MESSAGES, SPANS, ROOT_EVENTS]
    START:   [run_id, agent, version, model, config_hash, wall_time, t, instructions]
    RESULT:  [status, error_type, error, output, steps, input_tokens, output_tokens, cost,
              new_message_index, prompt]
    message: ["u", content] | ["a", text or None, [[call_id, name, arguments], …]]
             | ["t", call_id, content]
    span:    [op, span_id, parent_id, step, start_t, end_t, first_chunk_t, STARTED, FINISHED,
              EVENTS]
             chat:  STARTED [model, stream, n_messages]; FINISHED [response_model, response_id,
                    finish_reason, message (index into MESSAGES, or a message), input_tokens,
                    output_tokens, cost, error]
             tool:  STARTED [call_id, name, arguments]; FINISHED [error, result]
             guard: STARTED [guard, point, outcome, action, reason, target]; FINISHED null
    event:   [layer, model, message, attempt, state, t]
    finding: ["f", capture, wall, span_id, run_id, agent, monitor, severity, message, evidence]

Times ending in `_t` are `perf_counter` readings of the recording process; `wall_time` and `t`
of START convert them to Unix seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agentnb import semconv as A
from agentnb.secrets import REDACTED, redact
from agentnb.telemetry.records import FindingRecord, RunRecord, dumps, quote

if TYPE_CHECKING:
    from agentnb import events as ev

__all__ = ["FINDING", "RUN", "Text", "encode", "encode_group"]

RUN = "r"
FINDING = "f"

Text = Callable[[str], str]
"""What every free-text value passes through: a function that remembers it (the first pass over
a group, to check all of them for secrets at once), `redact`, or one that keeps it as is."""


def _redacted(value: str) -> str:
    return REDACTED


def _dropped(value: str) -> None:
    return None


def encode_texts(record: RunRecord | FindingRecord) -> tuple[str, list[str]]:
    """The record's JSON line (unredacted) and every free-text value in it, for `redact_group`."""
    seen: list[str] = []
    append = seen.append

    def remember(value: str) -> str:
        append(value)
        return value

    return encode(record, remember), seen


def redact_group(items: Sequence[tuple[str, list[str]]]) -> list[str]:
    """The lines of `encode_texts` results with every secret redacted.

    One `redact()` over all the group's texts finds whether any holds a secret (rarely); only
    then are the lines of the records that do redacted value by value.
    """
    joined = "\n".join(["\n".join(texts) for _, texts in items])
    if redact(joined) == joined:
        return [line for line, _ in items]
    out = []
    for line, texts in items:
        own = "\n".join(texts)
        out.append(line if redact(own) == own else dumps(_redacted_values(json.loads(line))) + "\n")
    return out


def _redacted_values(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted_values(v) for v in value]
    return value


def encode_group(records: Sequence[RunRecord | FindingRecord]) -> list[str]:
    """The spooled form of each record as one JSON line (with its newline), secrets redacted."""
    return redact_group([encode_texts(record) for record in records])


def _s(value: str | None) -> str:
    return "null" if value is None else quote(value)


def _n(value: float | None) -> str:
    """A JSON number (null for None, and for NaN and infinities, which JSON cannot hold)."""
    if value is None or value != value or value in (_INF, -_INF):
        return "null"
    return repr(value)


_INF = float("inf")


def encode(record: RunRecord | FindingRecord, text: Text) -> str:
    """The spooled form of one record as a JSON line (see the module doc).

    Written as text directly: building the nested lists first and dumping them allocates a
    container per value for the garbage collector, which cost more than the encoding itself.
    """
    if isinstance(record, FindingRecord):
        return _finding(record, text)
    draft = record.draft
    s = draft.start
    r = record.result
    capture = draft.capture
    content: Callable[[str], str | None] = (
        text if capture == "full" else _redacted if capture == "redacted" else _dropped
    )
    if capture == "off":  # no conversation is stored: skip the messages entirely
        messages = ""
        index: dict[int, int] = {}
    else:
        messages = ",".join([_message(m, content) for m in r.messages])
        index = {id(m): i for i, m in enumerate(r.messages)}
    spans: list[str] = []
    for span in draft.spans:
        op = span.op
        started = span.started
        done = span.finished
        finished = "null"
        if op == A.OP_CHAT:
            stream = "true" if started.stream else "false"
            state = f"[{quote(started.model)},{stream},{_n(started.messages)}]"
            if done is not None:
                response = done.response
                message = "null"
                if capture != "off":
                    at = index.get(id(response.message))
                    message = str(at) if at is not None else _message(response.message, content)
                usage = response.usage
                error = _s(text(done.error)) if done.error else "null"
                finished = (
                    f"[{_s(response.model)},{_s(response.provider_id)},"
                    f"{_s(response.finish_reason)},{message},{usage.input_tokens},"
                    f"{usage.output_tokens},{_n(done.cost)},{error}]"
                )
        elif op == A.OP_EXECUTE_TOOL:
            call = started.call
            state = f"[{quote(call.id)},{quote(call.name)},{_s(content(call.arguments))}]"
            if done is not None:
                result = text(done.result) if done.error else content(done.result)
                finished = f"[{_s(done.error)},{_s(result)}]"
        else:
            v = started
            reason = _s(text(v.reason)) if v.reason else "null"
            state = (
                f"[{quote(v.guard)},{quote(v.point)},{quote(v.outcome)},{quote(v.action)},"
                f"{reason},{_s(v.target)}]"
            )
        spans.append(
            f"[{quote(op)},{quote(span.span_id)},{quote(span.parent_id)},{span.step},"
            f"{span.start!r},{_n(span.end)},{_n(span.first_chunk)},{state},{finished},"
            f"{_events(span.events, text)}]"
        )
    output = r.output
    if output is not None and not isinstance(output, str):
        dump = getattr(output, "model_dump", None)
        output = dumps(dump(mode="json") if dump else output)
    instructions = (content(s.instructions) or "") if s.instructions else ""
    error = _s(text(r.error)) if r.error else "null"
    usage = r.usage
    return (
        f'["r",{quote(capture)},{quote(draft.root_id)},'
        f"[{quote(s.run_id)},{quote(s.agent)},{quote(s.version)},{quote(s.model)},"
        f"{quote(s.config_hash)},{s.wall_time!r},{s.t!r},{quote(instructions)}],{record.end!r},"
        f"[{quote(r.status)},{_s(r.error_type)},{error},"
        f"{'null' if output is None else _s(content(output))},{len(r.steps)},"
        f"{usage.input_tokens},{usage.output_tokens},{_n(r.cost)},{r.new_message_index},"
        f"{_s(content(r.prompt))}],[{messages}],[{','.join(spans)}],"
        f"{_events(draft.root_events, text)}]\n"
    )


def _message(m: Any, content: Callable[[str], str | None]) -> str:
    role = m.role
    if role == "user":
        return f'["u",{_s(content(m.content))}]'
    if role == "assistant":
        calls = ",".join(
            [f"[{quote(c.id)},{quote(c.name)},{_s(content(c.arguments))}]" for c in m.tool_calls]
        )
        return f'["a",{_s(content(m.text)) if m.text else "null"},[{calls}]]'
    return f'["t",{quote(m.call_id)},{_s(content(m.content))}]'


def _events(events: list[ev.LayerEvent] | None, text: Text) -> str:
    if not events:
        return "null"
    return (
        "["
        + ",".join(
            [
                f"[{quote(e.layer)},{quote(e.model)},{quote(text(e.message))},{e.attempt},"
                f"{_s(e.state)},{e.t!r}]"
                for e in events
            ]
        )
        + "]"
    )


def _finding(record: FindingRecord, text: Text) -> str:
    e = record.event
    evidence = None  # may quote the run's content: follows the capture mode
    if e.evidence and record.capture != "off":
        evidence = text(dumps(e.evidence)) if record.capture == "full" else REDACTED
    message = text(e.message) if e.message else None  # a diagnostic, kept in every mode
    return (
        f'["f",{quote(record.capture)},{record.wall!r},{quote(record.span_id)},'
        f"{quote(e.run_id)},{quote(e.agent)},{quote(e.monitor)},{quote(e.severity)},"
        f"{_s(message)},{_s(evidence)}]\n"
    )
