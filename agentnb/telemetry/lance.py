"""The LanceDB side of the store: connect, create tables, check the schema version, maintain.

One `Connection` per store URI per process, shared by the ingestion and every `Store` opened on
that URI, so a query sees what it ingested at once; other processes' commits are seen on the next
query (`read_consistency_interval=0`: one manifest check, ~free on local disk).

Imports lancedb and pyarrow: only the ingest worker and `telemetry.open()` load this module.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import lancedb
import pyarrow as pa
from lancedb.index import Bitmap, BTree, IvfSq, LabelList

from agentnb.errors import UserError
from agentnb.telemetry import schema as S
from agentnb.telemetry.embed import Embedder, HashedNgramEmbedder

if TYPE_CHECKING:
    from lancedb.table import Table

__all__ = ["Connection", "SchemaMismatch", "StoreDamaged", "connection"]

log = logging.getLogger("agentnb.telemetry")

DATA_TABLES = (S.SPANS, S.RUNS, S.VERDICTS, S.FINDINGS)
TIME_COLUMN = {S.SPANS: "start_time", S.RUNS: "started_at", S.VERDICTS: "time", S.FINDINGS: "time"}
SCALAR_INDEXES: dict[str, list[tuple[str, Any]]] = {
    S.SPANS: [
        ("trace_id", BTree), ("operation", Bitmap), ("agent", Bitmap), ("status", Bitmap),
        ("tool", Bitmap), ("start_time", BTree),
    ],
    S.RUNS: [
        ("trace_id", BTree), ("agent", Bitmap), ("version", Bitmap), ("status", Bitmap),
        ("started_at", BTree), ("tools", LabelList),
    ],
    S.VERDICTS: [("trace_id", BTree), ("outcome", Bitmap)],
    S.FINDINGS: [("trace_id", BTree)],
}  # fmt: skip

_connections: dict[tuple[str, str], Connection] = {}
_lock = threading.Lock()


class SchemaMismatch(UserError):
    """The store was written by another agentnb schema version or another embedder."""


class StoreDamaged(UserError):
    """A table the store's metadata says exists is missing (deleted or moved by hand)."""


def connection(uri: str, embedder: Embedder | None = None) -> Connection:
    """The process's connection to the store at `uri` (created and checked on first use)."""
    key = (uri, embedder.name if embedder is not None else "")
    with _lock:
        conn = _connections.get(key)
        if conn is None:
            conn = Connection(uri, embedder)
            _connections[key] = conn
            if embedder is None:  # also serve requests naming the store's own embedder
                _connections[(uri, conn.embedder.name)] = conn
        return conn


def forget_connections() -> None:
    with _lock:
        _connections.clear()


def timestamp_literal(when: datetime) -> str:
    return f"TIMESTAMP '{when.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}'"


class Connection:
    """A LanceDB database holding the telemetry tables, checked against this schema version."""

    def __init__(self, uri: str, embedder: Embedder | None = None) -> None:
        self.uri = uri
        self.db = lancedb.connect(uri, read_consistency_interval=timedelta(0))
        self.tables: dict[str, Table] = {}
        self.meta = self._table(S.META, dim=0)
        stored = self._meta_values()
        version = max((int(v) for v in stored.get("schema_version", [])), default=0)
        if version > S.SCHEMA_VERSION:
            raise SchemaMismatch(
                f"the telemetry store at {uri} has schema version {version}, newer than this "
                f"agentnb's {S.SCHEMA_VERSION}: upgrade agentnb (pip install -U agentnb)"
            )
        for step in range(version + 1, S.SCHEMA_VERSION + 1):
            if step in S.MIGRATIONS and version > 0:
                S.MIGRATIONS[step](self.db)
        names = stored.get("embedder", [])
        self.embedder = _choose_embedder(uri, embedder, names[-1] if names else None)
        if version > 0:  # an existing store: its tables must all be there
            self._check_tables()
        for name in DATA_TABLES:
            self._table(name, dim=self.embedder.dim)
        self._check_dim()
        if version < S.SCHEMA_VERSION or not names:
            self.set_meta({"schema_version": str(S.SCHEMA_VERSION), "embedder": self.embedder.name})

    # --- tables ------------------------------------------------------------------------------
    def _table(self, name: str, *, dim: int) -> Table:
        schema = S.schema_for(name, dim=dim)
        try:
            table = self.db.create_table(name, schema=schema, exist_ok=True)
        except Exception:  # another process created it between our check and our commit
            table = self.db.open_table(name)
        self.tables[name] = table
        return table

    def table(self, name: str) -> Table:
        """The open LanceDB table `name` (one of `DATA_TABLES` or `meta`)."""
        return self.tables[name]

    def _check_tables(self) -> None:
        """Never recreate, empty, a table of an existing store: its runs' other rows would be
        orphaned and the loss silent."""
        present: set[str] = set()
        token = None
        while True:
            page = self.db.list_tables(page_token=token)
            present.update(page.tables)
            token = page.page_token
            if not token:
                break
        missing = [name for name in DATA_TABLES if name not in present]
        if missing:
            where = ", ".join(f"{self.uri}/{name}.lance" for name in missing)
            raise StoreDamaged(
                f"the telemetry store at {self.uri} is damaged: table(s) {', '.join(missing)} "
                f"missing ({where}), though the store's metadata says they existed. Restore "
                f"them from a backup, or move the store aside (e.g. mv {self.uri} "
                f"{self.uri}.damaged) to start a new one; agentnb will not recreate them empty"
            )

    def _check_dim(self) -> None:
        field = self.tables[S.RUNS].schema.field("vector")
        width = getattr(field.type, "list_size", None)
        if width != self.embedder.dim:
            raise SchemaMismatch(
                f"the telemetry store at {self.uri} holds {width}-d run embeddings but embedder "
                f"{self.embedder.name!r} makes {self.embedder.dim}-d ones: configure the "
                "store's embedder, or use another store (telemetry.configure(uri=...))"
            )

    def _meta_values(self) -> dict[str, list[str]]:
        rows = self.meta.search().limit(None).to_arrow().sort_by("time").to_pylist()
        out: dict[str, list[str]] = {}
        for row in rows:
            out.setdefault(row["key"], []).append(row["value"])
        return out

    def set_meta(self, values: dict[str, str]) -> None:
        """Record `values` in the `meta` table, stamped now (the newest row per key wins)."""
        now = datetime.now(timezone.utc)
        self.meta.add(
            pa.table(
                {"key": list(values), "value": list(values.values()), "time": [now] * len(values)},
                schema=S.meta_schema(),
            )
        )

    def meta_value(self, key: str) -> str | None:
        """The newest value stored under `key` in the `meta` table, or None."""
        values = self._meta_values().get(key)
        return values[-1] if values else None

    # --- maintenance -------------------------------------------------------------------------
    def compact(self, name: str, keep_versions: timedelta) -> None:
        """Merge small fragments, fold new rows into the indexes, drop old versions.

        Another process compacting the same table at the same moment makes the commit fail
        as retryable: try again, a few times.
        """
        for attempt in range(4):
            try:
                self.tables[name].optimize(cleanup_older_than=keep_versions)
                return
            except RuntimeError as exc:
                if "etryable" not in str(exc) or attempt == 3:
                    raise
                time.sleep(0.05 * 2**attempt)

    def ensure_indexes(self, name: str, *, scalar_rows: int, vector_rows: int) -> None:
        """Build the scalar and vector indexes `name` is due for: only once it holds enough rows."""
        table = self.tables[name]
        rows = table.count_rows()
        existing = {index.columns[0] for index in table.list_indices()}
        if rows >= scalar_rows:
            for column, kind in SCALAR_INDEXES[name]:
                if column not in existing:
                    table.create_index(column, config=kind(), replace=False)
        if name == S.RUNS and rows >= vector_rows:
            built = int(self.meta_value("vector_index_rows") or 0)
            if "vector" not in existing or rows >= 4 * built:
                t0 = time.perf_counter()
                partitions = max(8, min(1024, rows // 4000))
                table.create_index(
                    "vector", config=IvfSq(distance_type="cosine", num_partitions=partitions)
                )
                self.set_meta({"vector_index_rows": str(rows)})
                log.info("agentnb telemetry: vector index over %d runs in %.1f s", rows,
                         time.perf_counter() - t0)  # fmt: skip

    def prune(self, older_than: datetime) -> None:
        """Delete every row older than `older_than` from the data tables."""
        literal = timestamp_literal(older_than)
        for name in DATA_TABLES:
            self.tables[name].delete(f"{TIME_COLUMN[name]} < {literal}")

    def fragments(self) -> dict[str, int]:
        """How many data fragments each data table has now (compaction keeps this bounded)."""
        return {name: _fragment_count(self.tables[name]) for name in DATA_TABLES}


def _choose_embedder(uri: str, configured: Embedder | None, stored: str | None) -> Embedder:
    if configured is not None:
        if stored is not None and stored != configured.name:
            raise SchemaMismatch(
                f"the telemetry store at {uri} embeds runs with {stored!r}, not "
                f"{configured.name!r}: configure that embedder, or use another store"
            )
        return configured
    default = HashedNgramEmbedder()
    if stored is None or stored == default.name:
        return default
    if stored.startswith("hashed-ngram-v1-"):
        dim, ngrams = stored.removeprefix("hashed-ngram-v1-").split("-")
        return HashedNgramEmbedder(int(dim), [int(n) for n in ngrams.split(".")])
    raise SchemaMismatch(
        f"the telemetry store at {uri} embeds runs with {stored!r}: pass that embedder to "
        "telemetry.configure(embedder=...) or telemetry.open(uri, embedder=...)"
    )


def _fragment_count(table: Table) -> int:
    stats: Any = table.stats()  # typed as a class, returned as a dict by lancedb 0.40
    fragments = stats["fragment_stats"] if isinstance(stats, dict) else stats.fragment_stats
    count = fragments["num_fragments"] if isinstance(fragments, dict) else fragments.num_fragments
    return int(count)
