"""A finished run as the spool keeps it: plain JSON lists, content rules applied, secrets redacted.

`encode()` runs in the recording process (on the spool thread): it reads the live records (the
events and the `RunResult` the recorder kept references to) once and keeps only what the rows
need. Every free-text value passes through one function (`Text`), so the spool can check a whole
group of runs for secrets with a single `redact()` and re-encode only the runs that hold one;
content is already kept, replaced by `[REDACTED]` or dropped according to the run's capture mode.
Nothing unredacted reaches the disk, and the ingest worker (another process, which may not see
this process's environment or its registered secret names) only turns the lists into rows.

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

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agentnb.secrets import REDACTED, redact
from agentnb.telemetry import attributes as A
from agentnb.telemetry.records import FindingRecord, RunRecord, dumps

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


def encode_group(records: Sequence[RunRecord | FindingRecord]) -> list[list[Any]]:
    """The spooled form of each record, every secret redacted.

    The group is encoded once without redaction while remembering each free-text value; one
    `redact()` over all of them finds whether any holds a secret, and only the records that do
    are encoded again with redaction on.
    """
    seen: list[str] = []
    append = seen.append

    def remember(value: str) -> str:
        append(value)
        return value

    encoded: list[list[Any]] = []
    bounds: list[int] = []
    for record in records:
        bounds.append(len(seen))
        encoded.append(encode(record, remember))
    bounds.append(len(seen))
    joined = "\n".join(seen)
    if redact(joined) != joined:
        for i, record in enumerate(records):
            own = "\n".join(seen[bounds[i] : bounds[i + 1]])
            if redact(own) != own:
                encoded[i] = encode(record, redact)
    return encoded


def encode(record: RunRecord | FindingRecord, text: Text) -> list[Any]:
    """The spooled form of one record (see the module doc)."""
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
        messages: list[list[Any]] = []
        index: dict[int, int] = {}
    else:
        messages = [_message(m, content) for m in r.messages]
        index = {id(m): i for i, m in enumerate(r.messages)}
    spans: list[list[Any]] = []
    for span in draft.spans:
        op = span.op
        started = span.started
        done = span.finished
        finished: list[Any] | None = None
        if op == A.OP_CHAT:
            state: list[Any] = [started.model, started.stream, started.messages]
            if done is not None:
                response = done.response
                message: Any = None
                if capture != "off":
                    message = index.get(id(response.message))
                    if message is None:
                        message = _message(response.message, content)
                usage = response.usage
                finished = [
                    response.model, response.provider_id, response.finish_reason, message,
                    usage.input_tokens, usage.output_tokens, done.cost,
                    text(done.error) if done.error else None,
                ]  # fmt: skip
        elif op == A.OP_EXECUTE_TOOL:
            call = started.call
            state = [call.id, call.name, content(call.arguments)]
            if done is not None:
                result = text(done.result) if done.error else content(done.result)
                finished = [done.error, result]
        else:
            v = started
            state = [v.guard, v.point, v.outcome, v.action, text(v.reason) if v.reason else None,
                     v.target]  # fmt: skip
        spans.append(
            [op, span.span_id, span.parent_id, span.step, span.start, span.end,
             span.first_chunk, state, finished, _events(span.events, text)]
        )  # fmt: skip
    output = r.output
    if output is not None and not isinstance(output, str):
        dump = getattr(output, "model_dump", None)
        output = dumps(dump(mode="json") if dump else output)
    return [
        RUN, capture, draft.root_id,
        [s.run_id, s.agent, s.version, s.model, s.config_hash, s.wall_time, s.t,
         (content(s.instructions) or "") if s.instructions else ""],
        record.end,
        [r.status, r.error_type, text(r.error) if r.error else None,
         None if output is None else content(output), len(r.steps), r.usage.input_tokens,
         r.usage.output_tokens, r.cost, r.new_message_index, content(r.prompt)],
        messages, spans, _events(draft.root_events, text),
    ]  # fmt: skip


def _message(m: Any, content: Callable[[str], str | None]) -> list[Any]:
    role = m.role
    if role == "user":
        return ["u", content(m.content)]
    if role == "assistant":
        calls = [[c.id, c.name, content(c.arguments)] for c in m.tool_calls]
        return ["a", content(m.text) if m.text else None, calls]
    return ["t", m.call_id, content(m.content)]


def _events(events: list[ev.LayerEvent] | None, text: Text) -> list[list[Any]] | None:
    if not events:
        return None
    return [[e.layer, e.model, text(e.message), e.attempt, e.state, e.t] for e in events]


def _finding(record: FindingRecord, text: Text) -> list[Any]:
    e = record.event
    evidence = None  # may quote the run's content: follows the capture mode
    if e.evidence and record.capture != "off":
        evidence = text(dumps(e.evidence)) if record.capture == "full" else REDACTED
    message = text(e.message) if e.message else None  # a diagnostic, kept in every mode
    return [
        FINDING, record.capture, record.wall, record.span_id, e.run_id, e.agent, e.monitor,
        e.severity, message, evidence,
    ]  # fmt: skip
