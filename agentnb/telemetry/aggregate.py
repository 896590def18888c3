"""Arrow computations of `Store.stats()` and `Store.runs()`: per-group figures, counts by key.

Kept apart from `store` (which builds the LanceDB queries) so each stays a readable size; both
work on Arrow tables only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["aggregate", "keep_rows", "occurrences"]


def occurrences(keys: pa.Array | pa.ChunkedArray, found: pa.Array | pa.ChunkedArray) -> pa.Array:
    """For each of `keys`, how often it occurs in `found` (0 if never)."""
    if len(found) == 0:
        return pa.nulls(len(keys), pa.int64()).fill_null(0)
    counts = pa.table({"k": found}).group_by("k").aggregate([([], "count_all")])
    hits = pc.take(counts["count_all"], pc.index_in(keys, value_set=counts["k"]))
    return pc.fill_null(hits, 0)


def keep_rows(
    rows: pa.Table,
    equal: dict[str, str | Sequence[str] | None],
    since: datetime | None,
    until: datetime | None,
) -> pa.Table:
    """`rows` whose columns hold the `equal` values (None: any) and whose `time` is in
    [since, until): the conditions `Store` puts in SQL, applied in Arrow to a few rows."""
    for column, value in equal.items():
        if value is not None:
            values = pa.array([value] if isinstance(value, str) else list(value), pa.string())
            rows = rows.filter(pc.is_in(rows[column], value_set=values))
    for bound, keep in ((since, pc.greater_equal), (until, pc.less)):
        if bound is not None:
            rows = rows.filter(keep(rows["time"], pa.scalar(bound, rows.schema.field("time").type)))
    return rows


def aggregate(data: pa.Table, by: list[str]) -> pa.Table:
    """Group `data` by `by`: count, errors, error rate, p50/p95 of duration_ms, sums."""
    error = pc.cast(pc.equal(data["status"], "error"), pa.int64())
    data = data.append_column("_error", error)
    aggregations: list[Any] = [
        ([], "count_all"),
        ("_error", "sum"),
        ("duration_ms", "tdigest", pc.TDigestOptions(q=[0.5, 0.95])),
    ]
    sums = [
        c
        for c in ("input_tokens", "output_tokens", "cost", "guard_blocks", "guard_errors")
        if c in data.column_names
    ]
    aggregations += [(c, "sum") for c in sums]
    grouped = data.group_by(by, use_threads=False).aggregate(aggregations)
    count = grouped["count_all"]
    quantiles = grouped["duration_ms_tdigest"]
    columns: dict[str, Any] = {b: grouped[b] for b in by}
    columns["count"] = count
    columns["errors"] = grouped["_error_sum"]
    columns["error_rate"] = pc.divide(
        pc.cast(grouped["_error_sum"], pa.float64()), pc.cast(count, pa.float64())
    )
    columns["p50_ms"] = pc.list_element(quantiles, 0)
    columns["p95_ms"] = pc.list_element(quantiles, 1)
    for c in ("input_tokens", "output_tokens", "cost", "guard_blocks"):
        columns[c] = (
            grouped[f"{c}_sum"]
            if c in sums
            else pa.nulls(len(count), pa.int64() if c != "cost" else pa.float64())
        )
    blocks = columns["guard_blocks"]
    columns["guard_block_rate"] = pc.divide(
        pc.cast(blocks, pa.float64()), pc.cast(count, pa.float64())
    )
    columns["guard_errors"] = (
        grouped["guard_errors_sum"] if "guard_errors" in sums else pa.nulls(len(count), pa.int64())
    )
    return pa.table(columns).sort_by([(b, "ascending") for b in by]) if by else pa.table(columns)
