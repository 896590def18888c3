"""Span rows from recorded runs: attributes, content capture, secret redaction, columns.

Runs on the background writer thread. Every free-text value passes through one function (`Text`)
so that a single `redact()` over a whole batch tells whether anything needs redacting; only runs
that contain a secret are rebuilt with redaction applied to each value. Nothing leaves this module
unredacted: the LanceDB rows and the OpenTelemetry spans are both built here.

The `spans.attributes` column holds only the attributes that have no column of their own;
`full_attributes()` puts the promoted ones back (the OTLP exporter and `Store.trace()` use it).
What each span says is decided in `spans.py`; this module turns it into rows and columns. The
spans for OpenTelemetry are read back from the finished rows, so what is exported is exactly what
is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentnb import semconv as A
from agentnb.secrets import redact

if TYPE_CHECKING:
    import pyarrow as pa

    from agentnb.telemetry.embed import Embedder
    from agentnb.telemetry.recorder import FindingRecord, RunRecord

__all__ = [
    "CLUSTER",
    "SPAN_COLUMNS",
    "Batch",
    "OtelSpan",
    "Text",
    "dumps",
    "full_attributes",
    "quote",
    "split_model",
]

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


Text = Callable[[str], str]
"""What every free-text value passes through: a function that remembers it (the first pass over
a batch, to check all of them for secrets at once), `redact`, or one that keeps it as is."""


def _remembering(seen: list[str]) -> Text:
    append = seen.append

    def text(value: str) -> str:
        append(value)
        return value

    return text


def _as_is(value: str) -> str:
    return value


class SpanColumns:
    """The batch's `spans` rows as one list per column (`SPAN_COLUMNS` order).

    Spans are the bulk of the data (four or more per run): appending to column lists allocates
    nothing per row for the garbage collector to track (row tuples kept alive until the commit
    made full collections over every pending run), and each list becomes one Arrow array.
    `start`/`end` hold Unix seconds; the timestamp and duration columns are computed from them
    with numpy when the table is made.
    """

    __slots__ = (*SPAN_COLUMNS[:5], "start", "end", *SPAN_COLUMNS[8:])

    def __init__(self) -> None:
        self.trace_id: list[str] = []
        self.span_id: list[str] = []
        self.parent_span_id: list[str | None] = []
        self.name: list[str] = []
        self.operation: list[str] = []
        self.start: list[float] = []
        self.end: list[float] = []
        self.status: list[str] = []
        self.error_type: list[str | None] = []
        self.agent: list[str] = []
        self.version: list[str] = []
        self.model: list[str | None] = []
        self.tool: list[str | None] = []
        self.input_tokens: list[int | None] = []
        self.output_tokens: list[int | None] = []
        self.cost: list[float | None] = []
        self.input: list[str | None] = []
        self.output: list[str | None] = []
        self.attributes: list[str] = []
        self.events: list[str | None] = []

    def __len__(self) -> int:
        return len(self.trace_id)

    def arrays(self, schema: pa.Schema) -> list[pa.Array]:
        """One Arrow array per column of `schema` (the `spans` schema)."""
        import numpy as np
        import pyarrow as pa

        start = np.array(self.start, dtype=np.float64)
        end = np.array(self.end, dtype=np.float64)
        # The same IEEE operations as int(start * 1e6) and (end - start) * 1000.0 per row.
        computed = {
            "start_time": (start * 1e6).astype(np.int64),
            "end_time": (end * 1e6).astype(np.int64),
            "duration_ms": (end - start) * 1000.0,
        }
        return [
            pa.array(computed[f.name] if f.name in computed else getattr(self, f.name), f.type)
            for f in schema
        ]


class Batch:
    """Rows for each table, filled run by run, plus spans for OpenTelemetry."""

    def __init__(self, *, otel: bool) -> None:
        self.otel = otel
        self.spans = SpanColumns()
        # One row per run or fewer: tuples in column order, transposed once in `tables()`.
        self.runs: list[tuple[Any, ...]] = []
        self.verdicts: list[tuple[Any, ...]] = []
        self.findings: list[tuple[Any, ...]] = []
        self.texts: list[str] = []
        """The text embedded for each run row (prompt, output, error; content rules applied)."""
        self.otel_spans: list[OtelSpan] = []

    @property
    def span_count(self) -> int:
        return len(self.spans)

    # --- building ----------------------------------------------------------------------------
    @classmethod
    def build(cls, records: Iterable[RunRecord | FindingRecord], *, otel: bool) -> Batch:
        """Rows for `records`, with every secret redacted.

        The batch is built once without redaction while remembering each free-text value; one
        `redact()` over all of them finds whether any contains a secret, and only the records
        that do are rebuilt with redaction on.
        """
        from agentnb.telemetry.spans import add_record  # spans.py builds on this module

        records = list(records)
        seen: list[str] = []
        remember = _remembering(seen)
        bounds: list[int] = []
        batch = cls(otel=otel)
        for record in records:
            bounds.append(len(seen))
            add_record(batch, record, remember)
        bounds.append(len(seen))
        joined = "\n".join(seen)
        if redact(joined) != joined:
            batch = cls(otel=otel)
            for i, record in enumerate(records):
                own = "\n".join(seen[bounds[i] : bounds[i + 1]])
                add_record(batch, record, redact if redact(own) != own else _as_is)
        if otel:
            batch.otel_spans = batch._otel_spans()
        return batch

    def tables(self, embedder: Embedder) -> dict[str, pa.Table]:
        """The Arrow tables to append (only the non-empty ones); embeds the run texts."""
        import numpy as np
        import pyarrow as pa

        from agentnb.telemetry import schema as S

        def table(rows: list[tuple[Any, ...]], schema: pa.Schema, **extra: Any) -> pa.Table:
            columns = {
                n: list(c) for n, c in zip(schema.names, zip(*rows, strict=True), strict=False)
            }
            return pa.Table.from_pydict({**columns, **extra}, schema=schema)

        out: dict[str, pa.Table] = {}
        if len(self.spans):
            # Clustered by operation (then agent): `stats()` reads one operation's spans, and
            # contiguous rows decode ~4x faster than every fourth row.
            schema = S.spans_schema()
            spans = pa.Table.from_arrays(self.spans.arrays(schema), schema=schema)
            out[S.SPANS] = spans.sort_by(CLUSTER)
        if self.runs:
            vectors = embedder.embed(self.texts).astype(np.float16)
            flat = pa.array(vectors.ravel(), pa.float16())
            out[S.RUNS] = table(
                self.runs,
                S.runs_schema(embedder.dim),
                vector=pa.FixedSizeListArray.from_arrays(flat, embedder.dim),
            )
        if self.verdicts:
            out[S.VERDICTS] = table(self.verdicts, S.verdicts_schema())
        if self.findings:
            out[S.FINDINGS] = table(self.findings, S.findings_schema())
        return out

    # --- emitting ----------------------------------------------------------------------------
    def add_span(
        self,
        trace_id: str,
        span_id: str,
        parent_id: str | None,
        name: str,
        op: str,
        start: float,
        end: float,
        status: str,
        agent: str,
        version: str,
        attributes: str,
        *,
        error_type: str | None = None,
        model: str | None = None,
        tool: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost: float | None = None,
        content_in: str | None = None,
        content_out: str | None = None,
        events: str | None = None,
    ) -> None:
        """One span row: `start`/`end` in Unix seconds; `attributes` (those without a column
        of their own, the error message among them) and `events` as JSON text."""
        s = self.spans
        s.trace_id.append(trace_id)
        s.span_id.append(span_id)
        s.parent_span_id.append(parent_id)
        s.name.append(name)
        s.operation.append(op)
        s.start.append(start)
        s.end.append(end)
        s.status.append(status)
        s.error_type.append(error_type)
        s.agent.append(agent)
        s.version.append(version)
        s.model.append(model)
        s.tool.append(tool)
        s.input_tokens.append(input_tokens)
        s.output_tokens.append(output_tokens)
        s.cost.append(cost)
        s.input.append(content_in)
        s.output.append(content_out)
        s.attributes.append(attributes)
        s.events.append(events)

    def _otel_spans(self) -> list[OtelSpan]:
        """The span rows as OpenTelemetry spans."""
        s = self.spans
        out = []
        for i in range(len(s)):
            row = {name: getattr(s, name)[i] for name in _OTEL_COLUMNS}
            attributes = full_attributes(row)
            status = s.status[i]
            message = attributes.get(A.AGENTNB_ERROR_MESSAGE) or row["error_type"] or ""
            stored = s.events[i]
            events = json.loads(stored) if stored else ()
            out.append(
                OtelSpan(
                    trace_id=row["trace_id"],
                    span_id=s.span_id[i],
                    parent_id=s.parent_span_id[i],
                    name=s.name[i],
                    kind="client" if row["operation"] == A.OP_CHAT else "internal",
                    start_ns=int(s.start[i] * 1e9),
                    end_ns=int(s.end[i] * 1e9),
                    attributes=attributes,
                    events=[(e["name"], int(e["time"] * 1e9), e["attributes"]) for e in events],
                    status=status,
                    status_message=message if status == "error" else "",
                )
            )
        return out


_OTEL_COLUMNS = (
    "trace_id", "operation", "agent", "version", "model", "tool", "input_tokens",
    "output_tokens", "cost", "error_type", "input", "output", "attributes",
)  # fmt: skip
"""The columns `full_attributes()` reads."""
