"""The query API over the telemetry tables: `runs`, `spans`, `trace`, `stats`, `search`.

```python
from agentnb import telemetry
store = telemetry.open()                              # ./.agentnb/telemetry, or the configured URI
store.runs(agent="fx", since="1h", status="error")    # newest first, one row per run
store.trace(result.trace_id)                          # the span tree of one run
store.stats(by=["agent", "version", "tool"])          # counts, error rate, latency, tokens, cost
store.search("refund refused", k=10)                  # runs whose prompt/output/error are closest
```
Results are pandas DataFrames (`as_arrow=True` gives Arrow tables). Every query first commits
this process's pending runs when they go to this store, so a run is visible right after it ends.
A filter value no run can have (`status="failed"`) raises `UserError` with the valid values; a
store whose files cannot be read raises `StoreUnreadable` naming the table, the file and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import pyarrow as pa
import pyarrow.compute as pc
from lancedb.query import LanceVectorQueryBuilder

from agentnb.errors import UserError
from agentnb.telemetry import schema as S
from agentnb.telemetry.aggregate import aggregate, keep_rows, occurrences
from agentnb.telemetry.ingest import drain
from agentnb.telemetry.lance import DATA_TABLES, Connection, connection
from agentnb.telemetry.problems import (
    OPERATIONS,
    RUN_STATUSES,
    SPAN_STATUSES,
    StoreUnreadable,
    check_choice,
    opening,
    reading,
)
from agentnb.telemetry.settings import current, parse_since, resolve_uri
from agentnb.telemetry.sql import Filter, When, Where, fetch, quote
from agentnb.telemetry.tree import Trace

if TYPE_CHECKING:
    import pandas as pd

    from agentnb.telemetry.embed import Embedder

__all__ = ["Store", "StoreUnreadable", "open_store"]

_LEVEL_NAMES = {"run": "runs", "tool": "tool calls", "model": "model calls"}
RUN_LEVEL = ("agent", "version", "config_hash", "model", "provider", "status")
TOOL_LEVEL = ("agent", "version", "tool", "status")
MODEL_LEVEL = ("agent", "version", "model", "status")


def open_store(uri: str | None = None, *, embedder: Embedder | None = None) -> Store:
    """Open the telemetry store: `uri` (any LanceDB URI or directory), else the configured one
    (`AGENTNB_TELEMETRY_URI`, `$AGENTNB_HOME/telemetry`, `./.agentnb/telemetry`)."""
    return Store(resolve_uri(uri), embedder=embedder or current().embedder)


class Store:
    """A telemetry store: LanceDB tables `spans`, `runs`, `verdicts`, `findings`."""

    def __init__(self, uri: str, *, embedder: Embedder | None = None) -> None:
        self.uri = uri
        self._embedder = embedder
        with opening(uri):
            connection(uri, embedder)  # open (and check) the store now
        self._guard_errors: tuple[int, pa.Table] | None = None

    @property
    def _conn(self) -> Connection:
        # Looked up, not held: the process's connections are dropped at exit (see writer).
        return connection(self.uri, self._embedder)

    def __repr__(self) -> str:
        return f"Store({self.uri!r})"

    @property
    def embedder(self) -> Embedder:
        """The embedder of this store's run vectors (the stored one when none was configured);
        `search()` embeds its query with it.
        """
        return self._conn.embedder

    def table(self, name: Literal["spans", "runs", "verdicts", "findings"]) -> Any:
        """The underlying LanceDB table, for queries this API does not cover."""
        self._sync()
        return self._conn.table(name)

    def _sync(self) -> None:
        drain(self.uri, embedder=self._embedder)

    def _query(
        self,
        name: str,
        where: str | None,
        columns: Sequence[str] | None = None,
        *,
        limit: int | None = None,
    ) -> pa.Table:
        query = self._conn.table(name).search()
        if where:
            query = query.where(where)
        if columns is not None:
            query = query.select(list(columns))
        with reading(self.uri, name):
            return fetch(query.limit(limit))

    def _guard_error_rows(self) -> pa.Table:
        """Every guard verdict whose check raised (outcome `error`): few by nature, so read
        whole and kept until the verdicts table changes."""
        table = self._conn.table(S.VERDICTS)
        with reading(self.uri, S.VERDICTS):
            version = int(table.version)
        cached = self._guard_errors
        if cached is None or cached[0] != version:
            columns = ["trace_id", "agent", "version", "target", "time"]
            cached = (version, self._query(S.VERDICTS, "outcome = 'error'", columns))
            self._guard_errors = cached
        return cached[1]

    # --- runs --------------------------------------------------------------------------------
    @overload
    def runs(
        self, agent: Filter = ..., *, version: Filter = ..., status: Filter = ...,
        since: When = ..., until: When = ..., tool: str | None = ..., model: Filter = ...,
        where: str | None = ..., last: int | None = ..., as_arrow: Literal[False] = ...,
    ) -> pd.DataFrame: ...  # fmt: skip
    @overload
    def runs(
        self, agent: Filter = ..., *, version: Filter = ..., status: Filter = ...,
        since: When = ..., until: When = ..., tool: str | None = ..., model: Filter = ...,
        where: str | None = ..., last: int | None = ..., as_arrow: Literal[True],
    ) -> pa.Table: ...  # fmt: skip
    def runs(
        self,
        agent: Filter = None,
        *,
        version: Filter = None,
        status: Filter = None,
        since: When = None,
        until: When = None,
        tool: str | None = None,
        model: Filter = None,
        where: str | None = None,
        last: int | None = 100,
        as_arrow: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """One row per run, newest first: the `last` most recent matching runs (None: all).

        `since`/`until` take `"1h"`, `"7d"`, a timedelta (ago), a datetime or an ISO date;
        `tool` keeps runs that called that tool; `where` adds a raw SQL condition.
        """
        check_choice("status", status, RUN_STATUSES)
        self._sync()
        w = (
            Where()
            .eq("agent", agent)
            .eq("version", version)
            .eq("status", status)
            .eq("model", model)
            .time("started_at", since, until)
            .raw(where)
        )
        if tool is not None:
            w.parts.append(f"array_has_any(tools, [{quote(tool)}])")
        columns = [c for c in self._conn.table(S.RUNS).schema.names if c != "vector"]
        table = self._newest(S.RUNS, w.sql(), columns, "started_at", last)
        errors = self._guard_error_rows()["trace_id"]
        table = table.append_column("guard_errors", occurrences(table["trace_id"], errors))
        return table if as_arrow else table.to_pandas()

    def _newest(
        self, name: str, where: str | None, columns: list[str], time: str, last: int | None
    ) -> pa.Table:
        """Rows matching `where`, newest first; with `last`, pick the row ids first (on the
        indexed time column) and read the other columns of those rows only."""
        if last is None:
            rows = self._query(name, where, columns)
        else:
            query = self._conn.table(name).search()
            if where:
                query = query.where(where)
            with reading(self.uri, name):
                keys = fetch(query.select([time]).with_row_id(True).limit(None))
            if keys.num_rows > last:
                keys = keys.take(pc.select_k_unstable(keys, last, [(time, "descending")]))
            taken = self._take(name, keys["_rowid"], columns)
            if taken is not None:
                rows = taken
            else:
                rows = self._query(name, where, columns)
                if rows.num_rows > last:
                    rows = rows.take(pc.select_k_unstable(rows, last, [(time, "descending")]))
        return rows.sort_by([(time, "descending")]).select(columns)

    def _take(
        self, name: str, ids: pa.Array | pa.ChunkedArray, columns: list[str]
    ) -> pa.Table | None:
        """The `columns` of the rows with these row ids, in their order: reading a few rows
        by id beats reading every column of every candidate. None if the ids no longer
        match (a compaction committed in between) or the read failed (the caller's query
        then says why)."""
        if len(ids) == 0:
            schema = self._conn.table(name).schema
            return pa.table({c: pa.array([], schema.field(c).type) for c in columns})
        try:
            rows = self._conn.table(name).take_row_ids(ids.to_pylist()).with_row_id()
            rows = rows.select(columns).to_arrow()
        except Exception:
            return None
        if rows.num_rows != len(ids):
            return None
        order = pc.index_in(pc.cast(ids, pa.uint64()), value_set=rows["_rowid"])
        return rows.take(order).select(columns)

    def spans(
        self,
        trace_id: str | None = None,
        *,
        operation: Filter = None,
        agent: Filter = None,
        version: Filter = None,
        status: Filter = None,
        tool: Filter = None,
        since: When = None,
        until: When = None,
        where: str | None = None,
        last: int | None = 1000,
        as_arrow: bool = False,
    ) -> Any:
        """Span rows, newest first (`operation`: `invoke_agent`, `chat`, `execute_tool`, …)."""
        check_choice("operation", operation, OPERATIONS)
        check_choice("status", status, SPAN_STATUSES)
        self._sync()
        w = (
            Where()
            .eq("trace_id", trace_id)
            .eq("operation", operation)
            .eq("agent", agent)
            .eq("version", version)
            .eq("status", status)
            .eq("tool", tool)
            .time("start_time", since, until)
            .raw(where)
        )
        columns = list(self._conn.table(S.SPANS).schema.names)
        table = self._newest(S.SPANS, w.sql(), columns, "start_time", last)
        return table if as_arrow else table.to_pandas()

    def verdicts(self, trace_id: str | None = None, *, where: str | None = None) -> pd.DataFrame:
        """Guard verdicts (of one run, or all), oldest first."""
        self._sync()
        sql = Where().eq("trace_id", trace_id).raw(where).sql()
        return self._query(S.VERDICTS, sql).sort_by("time").to_pandas()

    def findings(self, trace_id: str | None = None, *, where: str | None = None) -> pd.DataFrame:
        """Monitor findings (of one run, or all), oldest first."""
        self._sync()
        sql = Where().eq("trace_id", trace_id).raw(where).sql()
        return self._query(S.FINDINGS, sql).sort_by("time").to_pandas()

    # --- one run -----------------------------------------------------------------------------
    def trace(self, run_id: str) -> Trace:
        """The span tree of one run; `run_id` may be a unique prefix (at least 6 characters)."""
        self._sync()
        run_id = run_id.strip().lower()
        if len(run_id) == 32:
            table = self._query(S.SPANS, f"trace_id = {quote(run_id)}")
        elif len(run_id) >= 6 and all(c in "0123456789abcdef" for c in run_id):
            table = self._query(S.SPANS, f"trace_id LIKE {quote(run_id + '%')}")
            ids = set(table["trace_id"].to_pylist())
            if len(ids) > 1:
                raise UserError(
                    f"run id prefix {run_id!r} matches {len(ids)} runs "
                    f"({', '.join(sorted(ids)[:3])}, …): give more characters"
                )
            run_id = ids.pop() if ids else run_id
        else:
            raise UserError(
                f"{run_id!r} is not a run id: give the 32 hex digits of RunResult.trace_id "
                "(or a prefix of at least 6)"
            )
        if table.num_rows == 0:
            raise UserError(f"no run {run_id!r} in the telemetry store at {self.uri}")
        return Trace(run_id, table)

    # --- aggregates --------------------------------------------------------------------------
    @overload
    def stats(
        self, by: Sequence[str] = ..., *, agent: Filter = ..., version: Filter = ...,
        since: When = ..., until: When = ..., as_arrow: Literal[False] = ...,
    ) -> pd.DataFrame: ...  # fmt: skip
    @overload
    def stats(
        self, by: Sequence[str] = ..., *, agent: Filter = ..., version: Filter = ...,
        since: When = ..., until: When = ..., as_arrow: Literal[True],
    ) -> pa.Table: ...  # fmt: skip
    def stats(
        self,
        by: Sequence[str] = ("agent", "version"),
        *,
        agent: Filter = None,
        version: Filter = None,
        since: When = None,
        until: When = None,
        as_arrow: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """Counts, error rate, p50/p95 latency, tokens, cost and guard block rate per group.

        What is counted depends on `by`: with `tool`, tool calls (`execute_tool` spans, their
        guard blocks from the verdicts); with `model`, model calls (`chat` spans); otherwise
        runs. Model calls are counted from agentnb's own records only, so SDKs that trace
        themselves (anthropic) never double a count.
        """
        self._sync()
        by = list(by)
        allowed: tuple[str, ...]
        if "tool" in by:
            level, allowed = "tool", TOOL_LEVEL
        elif "model" in by:
            level, allowed = "model", MODEL_LEVEL
        else:
            level, allowed = "run", RUN_LEVEL
        unknown = [b for b in by if b not in allowed]
        if unknown:
            raise UserError(
                f"stats(by={by!r}): cannot group {_LEVEL_NAMES[level]} by "
                f"{', '.join(map(repr, unknown))}; "
                f"use any of {', '.join(allowed)}"
            )
        if level == "run":
            w = Where().eq("agent", agent).eq("version", version).time("started_at", since, until)
            cols = [*by, "status", "duration_ms", "input_tokens", "output_tokens", "cost",
                    "guard_blocks"]  # fmt: skip
            data = self._query(S.RUNS, w.sql(), list(dict.fromkeys(cols)))
            blocked = pc.or_(
                pc.greater(data["guard_blocks"], 0), pc.equal(data["status"], "blocked")
            )
            data = data.set_column(
                data.schema.get_field_index("guard_blocks"),
                "guard_blocks",
                pc.cast(blocked, pa.int64()),
            )
            data = data.append_column("guard_errors", self._run_guard_errors(w.sql(), data))
        else:
            op = "execute_tool" if level == "tool" else "chat"
            w = (
                Where()
                .eq("operation", op)
                .eq("agent", agent)
                .eq("version", version)
                .time("start_time", since, until)
            )
            cols = [*by, "status", "duration_ms"]
            if level == "model":
                cols += ["input_tokens", "output_tokens", "cost"]
            data = self._query(S.SPANS, w.sql(), list(dict.fromkeys(cols)))
        result = aggregate(data, by)
        if level == "tool":
            result = self._tool_blocks(result, by, agent, version, since, until)
        return result if as_arrow else result.to_pandas()

    def _run_guard_errors(self, where: str | None, data: pa.Table) -> pa.Array:
        """Per row of `data` (runs matching `where`, in order): its guard checks that raised.
        The run ids are read only when some guard ever raised."""
        errors = self._guard_error_rows()["trace_id"]
        if len(errors) == 0:
            return pa.nulls(data.num_rows, pa.int64()).fill_null(0)
        ids = self._query(S.RUNS, where, ["trace_id"])["trace_id"]
        return occurrences(ids, errors)

    def _tool_blocks(
        self, result: pa.Table, by: list[str], agent: Filter, version: Filter, since: When,
        until: When,
    ) -> pa.Table:  # fmt: skip
        w = (
            Where()
            .eq("agent", agent)
            .eq("version", version)
            .eq("outcome", "block")
            .time("time", since, until)
            .raw("target IS NOT NULL")
        )
        keys = [b for b in by if b != "status"]
        cols = [("target" if k == "tool" else k) for k in keys]
        blocks = self._query(S.VERDICTS, w.sql(), list(dict.fromkeys(cols)))
        blocks = blocks.rename_columns(
            ["tool" if c == "target" else c for c in blocks.column_names]
        )
        counted = (
            blocks.group_by(keys).aggregate([([], "count_all")])
            .rename_columns([*keys, "blocks"])
        )  # fmt: skip
        joined = result.drop_columns(["guard_blocks", "guard_block_rate"]).join(
            counted, keys=keys, join_type="left outer"
        )
        blocks_col = pc.fill_null(joined["blocks"], 0)
        joined = joined.drop_columns(["blocks"])
        joined = joined.append_column("guard_blocks", blocks_col)
        rate = pc.divide(pc.cast(blocks_col, pa.float64()), pc.cast(joined["count"], pa.float64()))
        joined = joined.append_column("guard_block_rate", rate)
        errors = keep_rows(
            self._guard_error_rows(),
            {"agent": agent, "version": version},
            None if since is None else parse_since(since, "since"),
            None if until is None else parse_since(until, "until"),
        )
        errors = errors.rename_columns(
            ["tool" if c == "target" else c for c in errors.column_names]
        )
        errors = errors.filter(pc.is_valid(errors["tool"]))
        failed = errors.group_by(keys).aggregate([([], "count_all")]).rename_columns([*keys, "_ge"])
        joined = joined.drop_columns(["guard_errors"]).join(
            failed, keys=keys, join_type="left outer"
        )
        guard_errors = pc.fill_null(joined["_ge"], 0)
        joined = joined.drop_columns(["_ge"]).append_column("guard_errors", guard_errors)
        return joined.sort_by([(k, "ascending") for k in by])

    # --- search ------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        *,
        agent: Filter = None,
        version: Filter = None,
        status: Filter = None,
        since: When = None,
        until: When = None,
        as_arrow: bool = False,
    ) -> Any:
        """The `k` runs whose prompt, output and error text are closest to `query`.

        Adds a `score` column (cosine similarity, 1 is identical). With the default offline
        embedder, closeness is shared words and word pieces, not meaning.
        """
        check_choice("status", status, RUN_STATUSES)
        self._sync()
        vector = self._conn.embedder.embed([query])[0]
        w = (
            Where()
            .eq("agent", agent)
            .eq("version", version)
            .eq("status", status)
            .time("started_at", since, until)
        )
        columns = [c for c in self._conn.table(S.RUNS).schema.names if c != "vector"]
        q = self._conn.table(S.RUNS).search(vector, vector_column_name="vector")
        assert isinstance(q, LanceVectorQueryBuilder)
        q = q.distance_type("cosine")
        sql = w.sql()
        if sql:
            q = q.where(sql, prefilter=True)
        with reading(self.uri, S.RUNS):
            table = fetch(q.select([*columns, "_distance"]).limit(k))
        score = pc.subtract(1.0, pc.cast(table["_distance"], pa.float64()))
        table = table.drop_columns(["_distance"])
        table = table.append_column("score", score)
        return table if as_arrow else table.to_pandas()

    # --- housekeeping ------------------------------------------------------------------------
    def optimize(self) -> None:
        """Compact every table and build the indexes that are due, now (the writer does this
        in the background; useful after a bulk import)."""
        s = current()
        self._sync()
        for name in DATA_TABLES:
            self._conn.compact(name, s.keep_versions)
            self._conn.ensure_indexes(
                name, scalar_rows=s.scalar_index_rows, vector_rows=s.vector_index_rows
            )

    def prune(self, older_than: When) -> None:
        """Delete runs, spans, verdicts and findings older than `older_than` (`"30d"`, …)."""
        if older_than is None:
            return
        self._sync()
        self._conn.prune(parse_since(older_than, "older_than"))

    def info(self) -> dict[str, Any]:
        """Rows and fragments per table, the schema version, the embedder, the URI."""
        self._sync()
        rows = {}
        for name in DATA_TABLES:
            with reading(self.uri, name):
                rows[name] = self._conn.table(name).count_rows()
        return {
            "uri": self.uri,
            "schema_version": int(self._conn.meta_value("schema_version") or 0),
            "embedder": self._conn.embedder.name,
            "rows": rows,
            "fragments": self._conn.fragments(),
        }
