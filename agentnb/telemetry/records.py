"""Telemetry's ground floor: record types, column lists, ids and the JSON helpers.

Everything else in `agentnb.telemetry` imports downward from here, in one direction:

    recorder (events → `RunRecord`/`FindingRecord`) → spool (records → redacted frames on
    local disk) → ingest worker (frames → rows → LanceDB tables) → store (queries)

This module holds what those steps share: the finished-run records the recorder hands on, the
span/run/verdict/finding column lists (in table order), span ids, the compact JSON encoder, and
`full_attributes()` (a stored span row's OpenTelemetry attributes). It imports only the standard
library and `attributes`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentnb import semconv as A

if TYPE_CHECKING:
    from agentnb import events as ev
    from agentnb.runs.result import RunResult

__all__ = [
    "CLUSTER",
    "FINDING_COLUMNS",
    "RUN_COLUMNS",
    "SPAN_COLUMNS",
    "VERDICT_COLUMNS",
    "FindingRecord",
    "OtelSpan",
    "RunDraft",
    "RunRecord",
    "SpanDraft",
    "dumps",
    "full_attributes",
    "new_span_id",
    "quote",
    "root_span_id",
    "split_model",
]


def new_span_id() -> str:
    """A random, non-zero 64-bit span id as 16 hex digits."""
    return f"{random.getrandbits(64) or 1:016x}"


def root_span_id(run_id: str) -> str:
    """The root span's id is derived from the run id, so late events (monitor findings) can
    name their parent without any state."""
    head = run_id[:16]
    return head if head.strip("0") else "0" * 15 + "1"


class SpanDraft:
    """A span as the run saw it: its events and `perf_counter` times (rows are built later)."""

    __slots__ = (
        "end",
        "events",
        "finished",
        "first_chunk",
        "op",
        "parent_id",
        "span_id",
        "start",
        "started",
        "step",
        "token",
    )

    def __init__(
        self, span_id: str, parent_id: str, op: str, step: int, start: float, started: Any
    ) -> None:
        self.span_id = span_id
        self.parent_id = parent_id
        self.op = op
        self.step = step
        self.start = start
        self.end: float | None = None
        self.started = started
        self.finished: Any = None
        self.events: list[ev.LayerEvent] | None = None
        self.first_chunk: float | None = None
        self.token: object = None


class RunDraft:
    """A run in progress: its start event, capture mode and span drafts."""

    __slots__ = (
        "capture",
        "nesting",
        "open_chats",
        "open_tools",
        "root_events",
        "root_id",
        "spans",
        "start",
    )

    def __init__(self, start: ev.RunStarted, capture: str, nesting: bool) -> None:
        self.start = start
        self.capture = capture
        self.nesting = nesting
        self.root_id = root_span_id(start.run_id)
        self.spans: list[SpanDraft] = []
        self.open_chats: list[SpanDraft] = []
        self.open_tools: dict[int, SpanDraft] = {}
        self.root_events: list[ev.LayerEvent] = []

    def wall(self, t: float) -> float:
        """Unix seconds of a `perf_counter` reading taken during this run."""
        return self.start.wall_time + (t - self.start.t)


class RunRecord:
    """A finished run, handed to the spool."""

    __slots__ = ("draft", "end", "result")

    def __init__(self, draft: RunDraft, result: RunResult, end: float) -> None:
        self.draft = draft
        self.result = result
        self.end = end


class FindingRecord:
    """A monitor finding (may arrive after its run finished), handed to the spool."""

    __slots__ = ("capture", "event", "span_id", "wall")

    def __init__(self, event: ev.MonitorFinding, wall: float, capture: str) -> None:
        self.event = event
        self.wall = wall
        self.capture = capture
        self.span_id = new_span_id()
        """Chosen when the finding is recorded, so ingesting it twice is recognisable."""


SPAN_COLUMNS = (
    "trace_id", "span_id", "parent_span_id", "name", "operation", "start_time", "end_time",
    "duration_ms", "status", "error_type", "agent", "version", "model", "tool", "input_tokens",
    "output_tokens", "cost", "input", "output", "attributes", "events",
)  # fmt: skip
RUN_COLUMNS = (
    "trace_id", "agent", "version", "config_hash", "model", "provider", "status", "error_type",
    "error", "started_at", "ended_at", "duration_ms", "steps", "model_calls", "tool_calls",
    "tool_errors", "tools", "input_tokens", "output_tokens", "cost", "guard_verdicts",
    "guard_blocks", "capture", "prompt", "output",
)  # fmt: skip
VERDICT_COLUMNS = (
    "trace_id", "span_id", "agent", "version", "step", "guard", "point", "outcome", "action",
    "target", "reason", "duration_ms", "time",
)  # fmt: skip
FINDING_COLUMNS = (
    "trace_id", "span_id", "agent", "monitor", "severity", "message", "evidence", "time",
)  # fmt: skip


def _makedumps() -> Callable[[Any], str]:
    """Compact JSON, non-ASCII kept. The C encoder is built once: `json.dumps` builds one per
    call, which costs as much as the encoding itself for these small objects."""
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has it
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
    iterencode = make(None, str, encoder.encode_basestring, None, ":", ",", False, False, True)
    return lambda value: "".join(iterencode(value, 0))


dumps = _makedumps()
CLUSTER = [("operation", "ascending"), ("agent", "ascending")]
"""The order of span rows within each append."""
quote: Callable[[str], str] = json.encoder.encode_basestring
"""A JSON string literal, non-ASCII kept (the C implementation)."""


def split_model(model_id: str) -> tuple[str, str]:
    """`"openai:gpt-4.1"` → (`"openai"`, `"gpt-4.1"`); `"offline"` → (`"offline"`, `"offline"`)."""
    provider, _, name = model_id.partition(":")
    return provider, name or provider


def full_attributes(row: dict[str, Any]) -> dict[str, Any]:
    """All OpenTelemetry attributes of a stored span row (its columns merged back in)."""
    attrs: dict[str, Any] = {A.GEN_AI_OPERATION_NAME: row["operation"]}
    extra = row.get("attributes")
    if isinstance(extra, str) and extra:
        attrs.update(json.loads(extra))
    elif isinstance(extra, dict):
        attrs.update(extra)
    op = row["operation"]
    if op == A.OP_INVOKE_AGENT:
        attrs[A.GEN_AI_AGENT_NAME] = attrs[A.AGENTNB_AGENT_NAME] = row["agent"]
        attrs[A.GEN_AI_AGENT_VERSION] = attrs[A.AGENTNB_AGENT_VERSION] = row["version"]
        attrs[A.AGENTNB_RUN_ID] = row["trace_id"]
    for column, name in _PROMOTED:
        value = row.get(column)
        if value is not None:
            attrs[name] = value
    content = _TOOL_CONTENT if op == A.OP_EXECUTE_TOOL else _MESSAGES
    for column, name in content:
        value = row.get(column)
        if value is not None:
            attrs[name] = value
    return attrs


_PROMOTED = (
    ("model", A.GEN_AI_REQUEST_MODEL),
    ("tool", A.GEN_AI_TOOL_NAME),
    ("input_tokens", A.GEN_AI_USAGE_INPUT_TOKENS),
    ("output_tokens", A.GEN_AI_USAGE_OUTPUT_TOKENS),
    ("cost", A.AGENTNB_COST),
    ("error_type", A.ERROR_TYPE),
)
# The content attributes live in the `input` and `output` columns (no JSON escaped inside JSON).
_MESSAGES = (("input", A.GEN_AI_INPUT_MESSAGES), ("output", A.GEN_AI_OUTPUT_MESSAGES))
_TOOL_CONTENT = (("input", A.GEN_AI_TOOL_CALL_ARGUMENTS), ("output", A.GEN_AI_TOOL_CALL_RESULT))


@dataclass(slots=True)
class OtelSpan:
    """A finished span for the OpenTelemetry exporters (all attributes, redacted, wall times)."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    """`client` (chat) or `internal`."""
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    events: list[tuple[str, int, dict[str, Any]]]
    status: str
    status_message: str
    """The error's description when `status` is `error` (else empty)."""
