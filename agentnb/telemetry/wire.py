"""A finished run as the spool keeps it: a frame of plain values, content rules applied,
secrets redacted.

`encode()` runs in the recording process, on the run's thread when the run ends: it reads the
live records (the events and the `RunResult` the recorder kept references to) once and keeps
only what the rows need, as nested tuples of strings and numbers. Every free-text value passes
through one function (`Text`), so the spool checks a whole group of runs for secrets with a
single `redact()` and redacts only the records that hold one; content is already kept, replaced
by `[REDACTED]` or dropped according to the run's capture mode. Nothing unredacted reaches the
disk, and the ingest worker (another process, which may not see this process's environment or
its registered secret names) only turns the records into rows.

On disk each group of records the spool writes at once is one frame: its length (4 bytes,
little-endian) and the `marshal` bytes of the tuple of its records (written and read in C: JSON
text cost the recording process ~4x and the worker ~3x more). The
worker runs the interpreter that started it; `marshal`'s format has been stable since Python
3.4, and a frame that cannot be read is skipped with a warning.

Layout (positions, not names: the tuples are written and read millions of times)::

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

import marshal
import struct
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agentnb import semconv as A
from agentnb.secrets import REDACTED, redact
from agentnb.telemetry.records import FindingRecord, RunRecord, dumps

if TYPE_CHECKING:
    from agentnb import events as ev

__all__ = [
    "FINDING", "RUN", "Text", "complete", "encode", "encode_group", "encode_texts", "pack",
    "redact_group", "unpack",
]  # fmt: skip

RUN = "r"
FINDING = "f"

Text = Callable[[str], str]
"""What every free-text value passes through: a function that remembers it (the first pass over
a group, to check all of them for secrets at once), `redact`, or one that keeps it as is."""


def _redacted(value: str) -> str:
    return REDACTED


def _dropped(value: str) -> None:
    return None


def encode_texts(record: RunRecord | FindingRecord) -> tuple[tuple[Any, ...], list[str]]:
    """The record's spooled form (unredacted) and every free-text value in it, for
    `redact_group`."""
    seen: list[str] = []
    append = seen.append

    def remember(value: str) -> str:
        append(value)
        return value

    return encode(record, remember), seen


def redact_group(items: Sequence[tuple[tuple[Any, ...], list[str]]]) -> bytes:
    """The framed bytes of `encode_texts` results, every secret redacted.

    One `redact()` over all the group's texts finds whether any holds a secret (rarely); only
    then are the records that do redacted value by value.
    """
    # Each distinct text once: instructions and prompts repeat from run to run. (A secret is
    # redacted only within one value, so the order the texts are joined in does not matter.)
    joined = "\n".join(set().union(*[texts for _, texts in items]))
    if redact(joined) == joined:
        out = [value for value, _ in items]
    else:
        out = []
        for value, texts in items:
            own = "\n".join(texts)
            out.append(value if redact(own) == own else _redacted_values(value))
    return b"".join([pack(out[i : i + _FRAME]) for i in range(0, len(out), _FRAME)])


def _redacted_values(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, tuple):
        return tuple([_redacted_values(v) for v in value])
    return value


def encode_group(records: Sequence[RunRecord | FindingRecord]) -> bytes:
    """The spooled form of `records`, framed and with secrets redacted."""
    return redact_group([encode_texts(record) for record in records])


def pack(values: Sequence[tuple[Any, ...]]) -> bytes:
    """One frame holding `values`: the `marshal` bytes of the tuple of them behind their length
    (4 bytes, little-endian). A group in one call costs about a third of a call per record,
    and strings the records share (names, ids, instructions) are written once."""
    group = tuple(values)
    try:
        data = marshal.dumps(group)
    except ValueError:  # a str or int subclass (an enum) from a model SDK: plain values
        data = marshal.dumps(_plain(group))
    return _LENGTH.pack(len(data)) + data


def _plain(value: Any) -> Any:
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, tuple):
        return tuple([_plain(v) for v in value])
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def unpack(data: bytes, limit: int = 1 << 62) -> tuple[list[Any], int, int]:
    """The records of the complete frames at the start of `data` (frames are read while fewer
    than `limit` records were), how many bytes they took, and how many frames could not be read
    (damaged; skipped)."""
    records: list[Any] = []
    loads = marshal.loads
    unpack_from = _LENGTH.unpack_from
    size = len(data)
    at = damaged = 0
    view = memoryview(data)
    while at + 4 <= size and len(records) < limit:
        (length,) = unpack_from(data, at)
        end = at + 4 + length
        if end > size:  # a frame still being written (or a killed writer's last)
            break
        try:
            records += loads(view[at + 4 : end])
        except (ValueError, EOFError, TypeError):
            damaged += 1
        at = end
    return records, at, damaged


def complete(data: bytes) -> int:
    """How many bytes at the start of `data` are complete frames."""
    unpack_from = _LENGTH.unpack_from
    size = len(data)
    at = 0
    while at + 4 <= size:
        end = at + 4 + unpack_from(data, at)[0]
        if end > size:
            break
        at = end
    return at


_LENGTH = struct.Struct("<I")
_FRAME = 256
"""Records per frame at most: the worker reads whole frames, in groups of about `_CHUNK`."""


def _n(value: float | None) -> float | None:
    """A number (None for NaN and infinities, which the rows store as null)."""
    if value is None or value != value or value in (_INF, -_INF):
        return None
    return value


_INF = float("inf")


def encode(record: RunRecord | FindingRecord, text: Text) -> tuple[Any, ...]:
    """The spooled form of one record (see the module doc), before framing.

    Built as tuples of plain values in one pass over the live objects: `marshal` then writes
    them in C, several times faster than formatting JSON text in Python, and the ingest worker
    reads them back without parsing.
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
        messages: tuple[Any, ...] = ()
        index: dict[int, int] = {}
    else:
        messages = tuple([_message(m, content) for m in r.messages])
        index = {id(m): i for i, m in enumerate(r.messages)}
    spans: list[tuple[Any, ...]] = []
    for span in draft.spans:
        op = span.op
        started = span.started
        done = span.finished
        finished: tuple[Any, ...] | None = None
        if op == A.OP_CHAT:
            state: tuple[Any, ...] = (started.model, bool(started.stream), started.messages)
            if done is not None:
                response = done.response
                message: Any = None
                if capture != "off":
                    at = index.get(id(response.message))
                    message = at if at is not None else _message(response.message, content)
                usage = response.usage
                finished = (
                    response.model, response.provider_id, response.finish_reason, message,
                    usage.input_tokens, usage.output_tokens, _n(done.cost),
                    text(done.error) if done.error else None,
                )  # fmt: skip
        elif op == A.OP_EXECUTE_TOOL:
            call = started.call
            state = (call.id, call.name, content(call.arguments))
            if done is not None:
                result = text(done.result) if done.error else content(done.result)
                finished = (done.error, result)
        else:
            v = started
            reason = text(v.reason) if v.reason else None
            state = (v.guard, v.point, v.outcome, v.action, reason, v.target)
        spans.append(
            (
                op, span.span_id, span.parent_id, span.step, span.start, _n(span.end),
                _n(span.first_chunk), state, finished, _events(span.events, text),
            )
        )  # fmt: skip
    output = r.output
    if output is not None and not isinstance(output, str):
        dump = getattr(output, "model_dump", None)
        output = dumps(dump(mode="json") if dump else output)
    instructions = (content(s.instructions) or "") if s.instructions else ""
    usage = r.usage
    return (
        RUN, capture, draft.root_id,
        (s.run_id, s.agent, s.version, s.model, s.config_hash, s.wall_time, s.t, instructions),
        record.end,
        (
            r.status, r.error_type, text(r.error) if r.error else None,
            None if output is None else content(output), len(r.steps), usage.input_tokens,
            usage.output_tokens, _n(r.cost), r.new_message_index, content(r.prompt),
        ),
        messages, tuple(spans), _events(draft.root_events, text),
    )  # fmt: skip


def _message(m: Any, content: Callable[[str], str | None]) -> tuple[Any, ...]:
    role = m.role
    if role == "user":
        return ("u", content(m.content))
    if role == "assistant":
        calls = tuple([(c.id, c.name, content(c.arguments)) for c in m.tool_calls])
        return ("a", content(m.text) if m.text else None, calls)
    return ("t", m.call_id, content(m.content))


def _events(events: list[ev.LayerEvent] | None, text: Text) -> tuple[Any, ...] | None:
    if not events:
        return None
    return tuple([(e.layer, e.model, text(e.message), e.attempt, e.state, e.t) for e in events])


def _finding(record: FindingRecord, text: Text) -> tuple[Any, ...]:
    e = record.event
    evidence = None  # may quote the run's content: follows the capture mode
    if e.evidence and record.capture != "off":
        evidence = text(dumps(e.evidence)) if record.capture == "full" else REDACTED
    message = text(e.message) if e.message else None  # a diagnostic, kept in every mode
    return (
        FINDING, record.capture, record.wall, record.span_id, e.run_id, e.agent, e.monitor,
        e.severity, message, evidence,
    )  # fmt: skip
