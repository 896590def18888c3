"""One read of an agent's telemetry, shared by every analyzer.

Everything goes through `Store` methods (runs, spans, stats, verdicts, findings) and the column
names of `agentnb.telemetry.records`; each table is read once, lazily, with the narrowest query
the store offers, so 100k runs analyse in seconds: span attributes (JSON) are read only for failed
tool calls, a sample of successful ones, and the tool calls of runs that might loop.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from agentnb import semconv as A
from agentnb.meta.report import Severity
from agentnb.secrets import redact
from agentnb.telemetry.records import full_attributes

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    from agentnb.telemetry.store import Store

__all__ = [
    "SPAN_FIELDS",
    "Data",
    "Scope",
    "Thresholds",
    "arguments",
    "attributes",
    "disguise",
    "quote",
    "rows",
    "shape",
]

_IN_CHUNK = 2000
"""Run ids per `trace_id IN (...)` query."""
_NUMBER = re.compile(r"(?<![A-Za-z])\d+(?:\.\d+)?")
_QUANTIFIER = re.compile(r"\{\d+(?:,\d*)?\}")
"""`{6}` in a pattern quoted by a message: part of the rule, not a particular to blank."""
_HEX = re.compile(r"\b[0-9a-f]{12,}\b")


@dataclass(frozen=True)
class Thresholds:
    """When a measured figure becomes a finding, and how severe it is."""

    min_count: int = 3
    """Least number of runs (or calls, checks) showing something before it is reported."""
    report: float = 0.005
    """Least share (of runs, calls or checks) reported."""
    warning: float = 0.02
    critical: float = 0.10
    loop_repeats: int = 3
    """The same tool called with the same arguments this many times in one run is a loop."""
    outlier_mads: float = 5.0
    """A run is an outlier beyond the median + this many MADs of the log of the metric …"""
    outlier_floor: float = 3.0
    """… and beyond this multiple of the median."""
    drift_p: float = 0.001
    """Significance a change between time windows needs (several metrics are tested)."""
    drift_change: float = 0.25
    """Least relative change of a median (or doubling of a small rate) reported as drift."""
    drift_min_runs: int = 50
    """Runs each window needs before drift is tested."""
    cluster_similarity: float = 0.6
    """Cosine similarity of failure texts put in one cluster."""
    examples: int = 200
    """Successful calls sampled per failing tool for examples of valid arguments."""

    def severity(self, share: float) -> Severity:
        if share >= self.critical:
            return "critical"
        return "warning" if share >= self.warning else "info"

    def reported(self, count: int, share: float) -> bool:
        return count >= self.min_count and share >= self.report


@dataclass(frozen=True)
class Scope:
    agent: str
    versions: list[str] | None
    since: Any
    until: Any


def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def shape(text: str) -> str:
    """A message with its particulars (numbers, long hex ids) blanked, to count alike ones."""
    kept = _QUANTIFIER.findall(text)
    text = _NUMBER.sub("#", _QUANTIFIER.sub("\0", _HEX.sub("…", text)))
    for quantifier in kept:
        text = text.replace("\0", quantifier, 1)
    return text.strip()


def rows(table: pa.Table, columns: Sequence[str]) -> list[dict[str, Any]]:
    """The rows of `table` as dicts of these columns (those the store has)."""
    have = [c for c in columns if c in table.column_names]
    result: list[dict[str, Any]] = table.select(have).to_pylist()
    return result


SPAN_FIELDS = ("trace_id", "operation", "tool", "error_type", "input", "attributes")
"""The span columns tool analyzers read (`full_attributes` needs operation, input, attributes)."""


def attributes(row: dict[str, Any]) -> dict[str, Any]:
    """Every attribute of a span row, wherever the store keeps it (columns or JSON)."""
    return full_attributes(row)


def arguments(row: dict[str, Any]) -> dict[str, Any] | None:
    """The arguments of a tool-call span row; None when content was not captured."""
    raw = attributes(row).get(A.GEN_AI_TOOL_CALL_ARGUMENTS)
    if not isinstance(raw, str):
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {"<unparsed>": raw}
    return value if isinstance(value, dict) else {"<value>": value}


def disguise(value: Any, pattern: str | None = None) -> Any:
    """`value` as an example fit to quote in a tool description: secrets redacted, digits
    replaced (deterministically) so no customer's order number or phone number is copied into a
    config, unless that breaks `pattern`."""
    if not isinstance(value, str):
        return value
    import hashlib

    clean = redact(value)
    digest = hashlib.sha256(clean.encode()).hexdigest()
    digits = iter(str(int(c, 16) % 10) for c in digest * 4)
    swapped = "".join(next(digits) if c.isdigit() else c for c in clean)
    if pattern is not None:
        try:
            if not re.fullmatch(pattern, swapped):
                return clean
        except re.error:
            return clean
    return swapped


class Data:
    """The telemetry of one agent in one scope, read on first use."""

    def __init__(self, store: Store, scope: Scope) -> None:
        self.store = store
        self.scope = scope

    def _filters(self) -> dict[str, Any]:
        s = self.scope
        return {"agent": s.agent, "version": s.versions, "since": s.since, "until": s.until}

    @cached_property
    def runs(self) -> pa.Table:
        """One row per run, newest first."""
        return self.store.runs(**self._filters(), last=None, as_arrow=True)

    @cached_property
    def run_ids(self) -> pa.Array:
        return self.runs["trace_id"].combine_chunks()

    def column(self, name: str) -> npt.NDArray[np.float64]:
        """A numeric run column as float64 (nulls → NaN)."""
        import numpy as np
        import pyarrow.compute as pc

        column = pc.cast(self.runs[name], "float64").fill_null(np.nan)
        return np.asarray(column.to_numpy(), dtype=np.float64)

    @cached_property
    def started(self) -> npt.NDArray[np.int64]:
        """Run start times in microseconds since the epoch."""
        import numpy as np
        import pyarrow.compute as pc

        micros = pc.cast(self.runs["started_at"], "int64")
        return np.asarray(micros.to_numpy(), dtype=np.int64)

    @cached_property
    def tool_stats(self) -> pa.Table:
        """Per tool: calls, errors, p50/p95 duration (`Store.stats(by=["tool"])`)."""
        return self.store.stats(by=["tool"], **self._filters(), as_arrow=True)

    @cached_property
    def model_stats(self) -> pa.Table:
        """Per model: calls, errors, p50/p95 latency of model calls."""
        return self.store.stats(by=["model"], **self._filters(), as_arrow=True)

    @cached_property
    def tool_errors(self) -> pa.Table:
        """Failed tool-call spans (every column, attributes included)."""
        table = self.store.spans(
            operation=A.OP_EXECUTE_TOOL,
            status="error",
            **self._filters(),
            last=None,
            as_arrow=True,
        )
        return self._in_scope(table)

    def tool_successes(self, tool: str, limit: int) -> pa.Table:
        """The newest `limit` successful calls of `tool`."""
        return self.store.spans(
            operation=A.OP_EXECUTE_TOOL,
            status="ok",
            tool=tool,
            **self._filters(),
            last=limit,
            as_arrow=True,
        )

    def tool_calls_of(self, run_ids: Sequence[str]) -> Iterator[pa.Table]:
        """The tool-call spans of these runs, a chunk of runs at a time."""
        for start in range(0, len(run_ids), _IN_CHUNK):
            ids = ", ".join(quote(r) for r in run_ids[start : start + _IN_CHUNK])
            yield self.store.spans(
                operation=A.OP_EXECUTE_TOOL,
                agent=self.scope.agent,
                where=f"trace_id IN ({ids})",
                last=None,
                as_arrow=True,
            )

    @cached_property
    def verdicts(self) -> pa.Table:
        """Guard verdicts of the runs in scope."""
        import pyarrow as pa

        frame = self.store.verdicts(where=f"agent = {quote(self.scope.agent)}")
        return self._in_scope(pa.Table.from_pandas(frame, preserve_index=False))

    @cached_property
    def monitor_findings(self) -> pa.Table:
        """Monitor findings about the runs in scope."""
        import pyarrow as pa

        frame = self.store.findings(where=f"agent = {quote(self.scope.agent)}")
        return self._in_scope(pa.Table.from_pandas(frame, preserve_index=False))

    def _in_scope(self, table: pa.Table) -> pa.Table:
        """Rows of runs in scope: verdicts and findings carry no version or run time."""
        import pyarrow.compute as pc

        if table.num_rows == 0:
            return table
        return table.filter(pc.is_in(table["trace_id"], value_set=self.run_ids))

    @property
    def first_last(self) -> tuple[datetime | None, datetime | None]:
        if self.runs.num_rows == 0:
            return None, None
        import pyarrow.compute as pc

        bounds = pc.min_max(self.runs["started_at"]).as_py()
        return bounds["min"], bounds["max"]
