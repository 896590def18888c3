"""Span, run, verdict and finding rows as column lists, and the Arrow tables made from them.

`spans.build_batch()` fills a `Batch` from spooled runs; `Batch.tables()` turns it into the Arrow
tables the ingest worker appends; `Batch.otel_spans()` reads the same rows back as OpenTelemetry
spans, so what is exported is exactly what is stored.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from agentnb import semconv as A
from agentnb.telemetry.records import CLUSTER, SPAN_COLUMNS, OtelSpan, full_attributes

if TYPE_CHECKING:
    import pyarrow as pa

    from agentnb.telemetry.embed import Embedder

__all__ = ["Batch", "SpanColumns"]


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
    """Rows for each table, filled run by run."""

    def __init__(self) -> None:
        self.spans = SpanColumns()
        # One row per run or fewer: tuples in column order, transposed once in `tables()`.
        self.runs: list[tuple[Any, ...]] = []
        self.verdicts: list[tuple[Any, ...]] = []
        self.findings: list[tuple[Any, ...]] = []
        self.texts: list[str] = []
        """The text embedded for each run row (prompt, output, error; content rules applied)."""

    @property
    def span_count(self) -> int:
        """How many span rows the batch holds."""
        return len(self.spans)

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

    def otel_spans(self) -> list[OtelSpan]:
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
