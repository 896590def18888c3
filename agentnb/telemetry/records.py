"""Span rows from recorded runs: attributes, content capture, secret redaction, columns.

Runs on the background writer thread. Every free-text value passes through one function (`Text`)
so that a single `redact()` over a whole batch tells whether anything needs redacting; only runs
that contain a secret are rebuilt with redaction applied to each value. Nothing leaves this module
unredacted: the LanceDB rows and the OpenTelemetry spans are both built here.

The `spans.attributes` column holds only the attributes that have no column of their own;
`full_attributes()` puts the promoted ones back (the OTLP exporter and `Store.trace()` use it).
What each span says is decided in `spans.py`; this module turns it into rows and columns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentnb.secrets import redact
from agentnb.telemetry import attributes as A
from agentnb.telemetry.recorder import FindingRecord, RunRecord

if TYPE_CHECKING:
    import pyarrow as pa

    from agentnb.telemetry.embed import Embedder

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


class Text:
    """Every free-text value goes through here: remembered (to check for secrets) or redacted."""

    __slots__ = ("redacting", "seen")

    def __init__(self, redacting: bool) -> None:
        self.redacting = redacting
        self.seen: list[str] = []

    def __call__(self, value: str) -> str:
        if self.redacting:
            return redact(value)
        self.seen.append(value)
        return value


class Batch:
    """Column lists for each table, filled run by run, plus spans for OpenTelemetry."""

    def __init__(self, *, otel: bool) -> None:
        self.otel = otel
        # Rows as tuples in column order: one append per row, transposed once in `tables()`.
        self.spans: list[tuple[Any, ...]] = []
        self.runs: list[tuple[Any, ...]] = []
        self.verdicts: list[tuple[Any, ...]] = []
        self.findings: list[tuple[Any, ...]] = []
        self.texts: list[str] = []
        """The text embedded for each run row (prompt, output, error; content rules applied)."""
        self.otel_spans: list[OtelSpan] = []
        self.span_count = 0

    # --- building ----------------------------------------------------------------------------
    @classmethod
    def build(cls, records: Iterable[RunRecord | FindingRecord], *, otel: bool) -> Batch:
        """Rows for `records`, with every secret redacted.

        The batch is built once without redaction while remembering each free-text value; one
        `redact()` over all of them finds whether any contains a secret, and only the records
        that do are rebuilt with redaction on.
        """
        records = list(records)
        texts: list[Text] = []
        batch = cls(otel=otel)
        for record in records:
            text = Text(False)
            batch._add(record, text)
            texts.append(text)
        joined = "\n".join(s for t in texts for s in t.seen)
        if redact(joined) == joined:
            return batch
        clean = cls(otel=otel)
        for record, text in zip(records, texts, strict=True):
            own = "\n".join(text.seen)
            clean._add(record, Text(redact(own) != own))
        return clean

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
        if self.spans:
            # Clustered by operation (then agent): `stats()` reads one operation's spans, and
            # contiguous rows decode ~4x faster than every fourth row.
            out[S.SPANS] = table(self.spans, S.spans_schema()).sort_by(CLUSTER)
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

    def _add(self, record: RunRecord | FindingRecord, text: Text) -> None:
        from agentnb.telemetry.spans import add_finding, add_run

        if isinstance(record, RunRecord):
            add_run(self, record, text)
        else:
            add_finding(self, record, text)

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
        extra: dict[str, Any],
        *,
        error_type: str | None = None,
        error_message: str | None = None,
        model: str | None = None,
        tool: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost: float | None = None,
        content_in: str | None = None,
        content_out: str | None = None,
        events: list[tuple[str, float, dict[str, Any]]] | None = None,
    ) -> None:
        if error_message:
            extra[A.AGENTNB_ERROR_MESSAGE] = error_message
        self.spans.append(
            (  # SPAN_COLUMNS order
                trace_id, span_id, parent_id, name, op, int(start * 1e6), int(end * 1e6),
                (end - start) * 1000.0, status, error_type, agent, version, model, tool,
                input_tokens, output_tokens, cost, content_in, content_out, dumps(extra),
                dumps([{"name": n, "time": t, "attributes": a} for n, t, a in events])
                if events
                else None,
            )
        )  # fmt: skip
        self.span_count += 1
        if self.otel:
            row = {
                "trace_id": trace_id, "operation": op, "agent": agent, "version": version,
                "model": model, "tool": tool, "input_tokens": input_tokens,
                "output_tokens": output_tokens, "cost": cost, "error_type": error_type,
                "input": content_in, "output": content_out, "attributes": extra,
            }  # fmt: skip
            self.otel_spans.append(
                OtelSpan(
                    trace_id=trace_id,
                    span_id=span_id,
                    parent_id=parent_id,
                    name=name,
                    kind="client" if op == A.OP_CHAT else "internal",
                    start_ns=int(start * 1e9),
                    end_ns=int(end * 1e9),
                    attributes=full_attributes(row),
                    events=[(n, int(t * 1e9), a) for n, t, a in events or ()],
                    status=status,
                    status_message=error_message or error_type or "",
                )
            )
