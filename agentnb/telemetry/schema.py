"""Arrow schemas of the telemetry tables, the stored schema version, and numbered migrations.

Tables (one LanceDB database, `<home>/telemetry`):

- `spans`: one row per span (`invoke_agent`, `chat`, `execute_tool`, `guard`, `monitor`). The
  columns queries filter and group on are promoted out of `attributes` (the other OpenTelemetry
  attributes, as JSON) so they can be indexed; `input`/`output` hold the captured content
  (`gen_ai.input.messages`/`gen_ai.output.messages`, or a tool call's arguments and result).
- `runs`: one summary row per run, with the embedding of its prompt, output and error.
- `verdicts`: one row per guard verdict; `findings`: one row per monitor finding.
- `agentnb_meta`: key/value rows, among them `schema_version` and the embedder identity.

pyarrow is imported inside the functions: importing this module stays free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "FINDINGS",
    "META",
    "MIGRATIONS",
    "RUNS",
    "SCHEMA_VERSION",
    "SPANS",
    "VERDICTS",
    "findings_schema",
    "meta_schema",
    "runs_schema",
    "schema_for",
    "spans_schema",
    "verdicts_schema",
]

SCHEMA_VERSION: Final = 1
"""Bump with a migration in `MIGRATIONS` whenever a table's columns change."""

SPANS: Final = "spans"
RUNS: Final = "runs"
VERDICTS: Final = "verdicts"
FINDINGS: Final = "findings"
META: Final = "agentnb_meta"

MIGRATIONS: dict[int, Callable[[object], None]] = {}
"""`n -> migrate(db)` upgrades a store from schema version n-1 to n (append-only, numbered)."""


def _meta(table: str) -> dict[bytes, bytes]:
    return {
        b"agentnb.schema_version": str(SCHEMA_VERSION).encode(),
        b"agentnb.table": table.encode(),
    }


def _ts() -> pa.DataType:
    import pyarrow as pa

    return pa.timestamp("us", tz="UTC")


def spans_schema() -> pa.Schema:
    """The Arrow schema of `spans`: the promoted columns, then `attributes` and `events` as JSON.

    Times are UTC microseconds; `input`/`output` hold the captured content (None when not captured).
    """
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("trace_id", pa.string(), nullable=False),
            pa.field("span_id", pa.string(), nullable=False),
            pa.field("parent_span_id", pa.string()),
            pa.field("name", pa.string(), nullable=False),
            pa.field("operation", pa.string(), nullable=False),
            pa.field("start_time", _ts(), nullable=False),
            pa.field("end_time", _ts(), nullable=False),
            pa.field("duration_ms", pa.float64(), nullable=False),
            pa.field("status", pa.string(), nullable=False),
            pa.field("error_type", pa.string()),
            pa.field("agent", pa.string(), nullable=False),
            pa.field("version", pa.string(), nullable=False),
            pa.field("model", pa.string()),
            pa.field("tool", pa.string()),
            pa.field("input_tokens", pa.int64()),
            pa.field("output_tokens", pa.int64()),
            pa.field("cost", pa.float64()),
            pa.field("input", pa.string()),
            pa.field("output", pa.string()),
            pa.field("attributes", pa.string(), nullable=False),
            pa.field("events", pa.string()),
        ],
        metadata=_meta(SPANS),
    )


def runs_schema(dim: int) -> pa.Schema:
    """The Arrow schema of `runs`; `vector` is the run's embedding, `dim` float16 values."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("trace_id", pa.string(), nullable=False),
            pa.field("agent", pa.string(), nullable=False),
            pa.field("version", pa.string(), nullable=False),
            pa.field("config_hash", pa.string(), nullable=False),
            pa.field("model", pa.string(), nullable=False),
            pa.field("provider", pa.string(), nullable=False),
            pa.field("status", pa.string(), nullable=False),
            pa.field("error_type", pa.string()),
            pa.field("error", pa.string()),
            pa.field("started_at", _ts(), nullable=False),
            pa.field("ended_at", _ts(), nullable=False),
            pa.field("duration_ms", pa.float64(), nullable=False),
            pa.field("steps", pa.int32(), nullable=False),
            pa.field("model_calls", pa.int32(), nullable=False),
            pa.field("tool_calls", pa.int32(), nullable=False),
            pa.field("tool_errors", pa.int32(), nullable=False),
            pa.field("tools", pa.list_(pa.string())),
            pa.field("input_tokens", pa.int64(), nullable=False),
            pa.field("output_tokens", pa.int64(), nullable=False),
            pa.field("cost", pa.float64()),
            pa.field("guard_verdicts", pa.int32(), nullable=False),
            pa.field("guard_blocks", pa.int32(), nullable=False),
            pa.field("capture", pa.string(), nullable=False),
            pa.field("prompt", pa.string()),
            pa.field("output", pa.string()),
            pa.field("vector", pa.list_(pa.float16(), dim)),
        ],
        metadata=_meta(RUNS),
    )


def verdicts_schema() -> pa.Schema:
    """The Arrow schema of `verdicts`: one row per guard verdict."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("trace_id", pa.string(), nullable=False),
            pa.field("span_id", pa.string(), nullable=False),
            pa.field("agent", pa.string(), nullable=False),
            pa.field("version", pa.string(), nullable=False),
            pa.field("step", pa.int32(), nullable=False),
            pa.field("guard", pa.string(), nullable=False),
            pa.field("point", pa.string(), nullable=False),
            pa.field("outcome", pa.string(), nullable=False),
            pa.field("action", pa.string(), nullable=False),
            pa.field("target", pa.string()),
            pa.field("reason", pa.string()),
            pa.field("duration_ms", pa.float64(), nullable=False),
            pa.field("time", _ts(), nullable=False),
        ],
        metadata=_meta(VERDICTS),
    )


def findings_schema() -> pa.Schema:
    """The Arrow schema of `findings`: one row per monitor finding."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("trace_id", pa.string(), nullable=False),
            pa.field("span_id", pa.string(), nullable=False),
            pa.field("agent", pa.string(), nullable=False),
            pa.field("monitor", pa.string(), nullable=False),
            pa.field("severity", pa.string(), nullable=False),
            pa.field("message", pa.string()),
            pa.field("evidence", pa.string()),
            pa.field("time", _ts(), nullable=False),
        ],
        metadata=_meta(FINDINGS),
    )


def meta_schema() -> pa.Schema:
    """The Arrow schema of `agentnb_meta`: timestamped key/value rows (`schema_version`, ...)."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("key", pa.string(), nullable=False),
            pa.field("value", pa.string(), nullable=False),
            pa.field("time", _ts(), nullable=False),
        ],
        metadata=_meta(META),
    )


def schema_for(table: str, *, dim: int) -> pa.Schema:
    """The current schema of `table` (`dim`: the embedding width of `runs.vector`)."""
    if table == RUNS:
        return runs_schema(dim)
    builders = {
        SPANS: spans_schema,
        VERDICTS: verdicts_schema,
        FINDINGS: findings_schema,
        META: meta_schema,
    }
    return builders[table]()
