"""The background writer: one thread per process turns finished runs into rows and commits them.

A run's end only appends its record to a queue and wakes the thread (about a microsecond).
The thread waits at least `flush_interval` between commits, so runs that finish close together
share one commit per table (each LanceDB commit costs 6–12 ms whatever its size), then builds the
rows, redacts, embeds, appends one Arrow table per table, hands the spans to any OpenTelemetry
consumer, and every `compact_every` appends compacts the tables and builds their indexes on a
second thread.

Runs are durable within about `flush_interval` plus one commit of finishing. Pending runs are
flushed when the interpreter exits (a kernel shutdown is an interpreter exit), on `flush()`, and
before any query of this process's store; a run interrupted by an exception or `KeyboardInterrupt`
still ends with `RunFinished` (status `error`/`cancelled`) and is written like any other.

Nothing heavy is imported until the thread starts.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import sys
import threading
import time
from collections import deque
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from agentnb.telemetry.settings import Settings, current, resolve_retention, resolve_uri

if TYPE_CHECKING:
    import pyarrow as pa

    from agentnb.telemetry.lance import Connection
    from agentnb.telemetry.otel import Consumers
    from agentnb.telemetry.recorder import FindingRecord, RunRecord
    from agentnb.telemetry.records import Batch

__all__ = [
    "Writer",
    "flush",
    "flush_if",
    "get",
    "import_heavy",
    "reconfigure",
    "shutdown",
    "submit",
    "wait_for_maintenance",
]

log = logging.getLogger("agentnb.telemetry")

_RETRIES = (0.1, 0.5, 2.0)
_CHUNK = 2_500
"""Records per Arrow batch (one commit per table each): big enough that a commit's fixed cost
(6-12 ms) is small per row, small enough that building one chunk's rows and tables (Python)
overlaps with committing the previous one (LanceDB releases the GIL)."""
_MAINTENANCE_PERIOD = 60.0
"""Seconds between maintenance checks while idle (retention, indexes of quiet stores)."""
_RETENTION_PERIOD = 3600.0

_writer: Writer | None = None
_lock = threading.Lock()
_import_lock = threading.RLock()
_atexit_registered = False
_exited = False
"""Set once the exit flush ran: later records (monitor findings drained at exit) are written
synchronously by the thread that submits them."""


class Writer:
    """The process's background writer for one store URI."""

    def __init__(self, settings: Settings, *, start: bool = True) -> None:
        self.settings = settings
        self.uri = resolve_uri(settings=settings)
        self._queue: deque[RunRecord | FindingRecord | threading.Event] = deque()
        self._wake = threading.Event()
        self._urgent = threading.Event()
        self._stopping = False
        self._conn: Connection | None = None
        self._consumers: Consumers | None = None
        self._appends: dict[str, int] = {}  # since the last compaction, per table
        self.commits: dict[str, int] = {}  # appends per table, in all
        self._maintenance: threading.Thread | None = None
        self._last_commit = 0.0
        self._last_maintenance = 0.0
        self._last_retention = 0.0
        self.runs_written = 0
        self.spans_written = 0
        self.dropped = 0
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._main, name="agentnb-telemetry", daemon=True)
        if start:
            self._thread.start()

    # --- called from any thread --------------------------------------------------------------
    def submit(self, record: RunRecord | FindingRecord) -> None:
        self._queue.append(record)
        if not self._wake.is_set():
            self._wake.set()

    def flush(self, timeout: float | None = 60.0) -> bool:
        """Wait until everything submitted so far is committed (and handed to OpenTelemetry)."""
        if threading.current_thread() is self._thread:
            return False
        done = threading.Event()
        self._queue.append(done)
        self._urgent.set()
        self._wake.set()
        return done.wait(timeout)

    def close(self, timeout: float | None = 60.0) -> None:
        """Flush, stop the thread and the OpenTelemetry exporters."""
        self._stopping = True
        self.flush(timeout)
        self._urgent.set()
        self._wake.set()
        self._thread.join(timeout)
        if self._maintenance is not None:
            self._maintenance.join(timeout)
        if self._consumers is not None:
            self._consumers.shutdown()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def consumers(self) -> Consumers | None:
        """The OpenTelemetry consumers (None without any: the SDK is then never imported).

        Never raises: a broken exporter setup is logged and the spans still go to LanceDB.
        """
        if self._consumers is None and _otel_wanted(self.settings):
            try:
                with _import_lock:
                    from agentnb.telemetry.otel import Consumers

                self._consumers = Consumers.from_settings(self.settings)
            except Exception as exc:
                self._fail(f"setting up OpenTelemetry export failed: {exc!r}", 0, exc)
                return None
        return self._consumers if self._consumers else None

    def connection(self) -> Connection:
        if self._conn is None:
            import_heavy()
            from agentnb.telemetry.lance import connection

            self._conn = connection(self.uri, self.settings.embedder)
        return self._conn

    # --- the thread --------------------------------------------------------------------------
    def _main(self) -> None:
        # Connect at once: LanceDB takes ~1.7 s to import, better now than at exit (when thread
        # pools no longer accept work and some imports fail).
        try:
            import_heavy()
            self.connection()
            self.consumers()
        except Exception as exc:
            self._fail(f"opening the store failed: {exc!r}", 0, exc)
        while True:
            try:
                if self._step():
                    return
            except Exception as exc:  # keep serving: a dead writer would lose every later run
                self._fail(f"the writer failed: {exc!r}", 0, exc)

    def _step(self) -> bool:
        """One round: wait, drain, write, signal; True when the writer should stop."""
        self._wake.wait(_MAINTENANCE_PERIOD)
        self._wake.clear()
        if not self._urgent.is_set() and not self._stopping:
            delay = self._last_commit + self.settings.flush_interval - time.monotonic()
            if delay > 0:
                self._urgent.wait(delay)
        self._urgent.clear()
        records: list[RunRecord | FindingRecord] = []
        waiters: list[threading.Event] = []
        while self._queue:
            item = self._queue.popleft()
            if isinstance(item, threading.Event):
                waiters.append(item)
            else:
                records.append(item)
        try:
            if records:
                self._write(records)
                self._last_commit = time.monotonic()
            if waiters and self._consumers:
                self._consumers.flush()
        finally:
            for waiter in waiters:
                waiter.set()
        if not self._stopping:
            self._maybe_maintain()
        return self._stopping and not self._queue

    def _write(self, records: list[RunRecord | FindingRecord]) -> None:
        """Rows for `records`, appended in chunks of `_CHUNK` records: while one chunk is being
        committed (LanceDB releases the GIL), the next one is built.

        Building a chunk's rows and its Arrow tables (embedding its runs) both hold the GIL most
        of the time, so both happen on this thread: the committing thread only appends.
        """
        try:
            conn = self.connection()
            consumers = self.consumers()
            from agentnb.telemetry.records import Batch
        except Exception as exc:
            self._fail(f"opening the store failed: {exc!r}", len(records), exc)
            return
        committing: threading.Thread | None = None
        for i in range(0, len(records), _CHUNK):
            chunk = records[i : i + _CHUNK]
            try:
                batch = Batch.build(chunk, otel=consumers is not None)
            except Exception as exc:
                self._fail(f"building rows failed: {exc!r}", len(chunk), exc)
                continue
            try:
                tables = batch.tables(conn.embedder)
            except Exception as exc:
                self._fail(f"building Arrow tables failed: {exc!r}", len(batch.runs), exc)
                continue
            if committing is not None:
                committing.join()
            if i + _CHUNK >= len(records):  # the last (usually the only) chunk: commit here
                self._commit(conn, tables, batch, consumers)
                committing = None
            else:
                committing = threading.Thread(
                    target=self._commit, args=(conn, tables, batch, consumers), daemon=True
                )
                committing.start()
        if committing is not None:
            committing.join()

    def _commit(
        self,
        conn: Connection,
        tables: dict[str, pa.Table],
        batch: Batch,
        consumers: Consumers | None,
    ) -> None:
        """The Arrow tables of `batch` appended to LanceDB; its spans exported."""
        for name, data in tables.items():
            for attempt, pause in enumerate((*_RETRIES, None)):
                try:
                    conn.table(name).add(data)
                    self._appends[name] = self._appends.get(name, 0) + 1
                    self.commits[name] = self.commits.get(name, 0) + 1
                    break
                except Exception as exc:
                    if pause is None:
                        self._fail(
                            f"appending to {name!r} failed {attempt + 1} times: {exc!r}",
                            data.num_rows if name == "runs" else 0,
                            exc,
                        )
                    else:
                        time.sleep(pause)
        self.runs_written += len(batch.runs)
        self.spans_written += batch.span_count
        if consumers is not None and batch.otel_spans:
            try:
                consumers.export(batch.otel_spans)
            except Exception as exc:
                self._fail(f"OpenTelemetry export failed: {exc!r}", 0, exc)

    def _fail(self, message: str, lost: int, exc: BaseException) -> None:
        self.dropped += lost
        if message != self.last_error:
            log.error("agentnb telemetry (%s): %s", self.uri, message, exc_info=exc)
        self.last_error = message

    # --- maintenance (its own thread: compaction and index builds must not delay commits) ----
    def _maybe_maintain(self) -> None:
        if self._conn is None or (self._maintenance and self._maintenance.is_alive()):
            return
        if self.uri.startswith("db://"):  # LanceDB Cloud compacts and indexes by itself
            return
        now = time.monotonic()
        # Compact a table after `compact_every` appends, or any appended table once idle.
        least = 1 if now - self._last_maintenance >= _MAINTENANCE_PERIOD else None
        due = [
            n for n, count in self._appends.items()
            if count >= (least or self.settings.compact_every)
        ]  # fmt: skip
        retention = resolve_retention(self.settings)
        prune = retention is not None and now - self._last_retention > _RETENTION_PERIOD
        if not due and not prune:
            return
        for name in due:
            self._appends[name] = 0
        self._last_maintenance = now
        if prune:
            self._last_retention = now
        self._maintenance = threading.Thread(
            target=self._maintain,
            args=(due, retention if prune else None),
            name="agentnb-telemetry-maintenance",
            daemon=True,
        )
        self._maintenance.start()

    def _maintain(self, tables: list[str], retention: Any) -> None:
        conn = self._conn
        assert conn is not None
        s = self.settings
        try:
            if retention is not None:
                conn.prune(datetime.now(timezone.utc) - retention)
            for name in tables:
                conn.compact(name, s.keep_versions)
                conn.ensure_indexes(
                    name, scalar_rows=s.scalar_index_rows, vector_rows=s.vector_index_rows
                )
        except Exception as exc:  # e.g. a conflicting compaction by another process: next time
            log.warning("agentnb telemetry: maintenance of %s failed: %r", self.uri, exc)

    def maintain_now(self) -> None:
        """Compact every table and build due indexes now (blocking)."""
        from agentnb.telemetry.lance import DATA_TABLES

        if self._maintenance is not None:
            self._maintenance.join()
        self.flush()
        self._maintain(list(DATA_TABLES), resolve_retention(self.settings))
        self._appends.clear()


def import_heavy() -> None:
    """Import LanceDB, pyarrow and the modules built on them, once, under a lock.

    The writer thread imports them while the notebook may be opening a store: two threads
    importing `lancedb` at once can see a half-initialised module (ImportError).
    """
    with _import_lock:
        import agentnb.telemetry.lance
        import agentnb.telemetry.records
        import agentnb.telemetry.spans
        import agentnb.telemetry.store  # noqa: F401


# --- the process's writer ----------------------------------------------------------------------
def get() -> Writer:
    global _writer, _atexit_registered
    writer = _writer
    if writer is not None:
        return writer
    with _lock:
        if _writer is None:
            # Imported lazily by LanceDB, this module registers a threading exit hook, which
            # Python refuses once the interpreter is shutting down: the exit flush would fail.
            import concurrent.futures.thread  # noqa: F401

            _writer = Writer(current())
            if not _atexit_registered:
                atexit.register(_at_exit)
                _atexit_registered = True
        return _writer


def submit(record: RunRecord | FindingRecord) -> None:
    """The recorder's sink: queue a finished run or a finding for the background writer."""
    writer = _writer
    if writer is None:
        if _exited:
            _write_now(record)
            return
        writer = get()
    writer.submit(record)


def _write_now(record: RunRecord | FindingRecord) -> None:
    writer = Writer(current(), start=False)
    writer._write([record])
    if writer._consumers is not None:
        writer._consumers.shutdown()
    del writer
    _forget_tables()


def _forget_tables() -> None:
    """Drop our LanceDB tables while the interpreter is whole: released during finalization
    (after compactions), LanceDB's worker threads call into Python and abort the process
    ("PyGILState_Release: thread state must be current")."""
    lance = sys.modules.get("agentnb.telemetry.lance")
    if lance is not None:
        lance.forget_connections()
        gc.collect()


def wait_for_maintenance(uri: str) -> None:
    """Let this process's background compaction of `uri` finish (before compacting by hand)."""
    writer = _writer
    thread = writer._maintenance if writer is not None and writer.uri == uri else None
    if thread is not None:
        thread.join()


def flush(timeout: float | None = 60.0) -> bool:
    """Commit every run recorded so far (there is no need to call this: see the module doc)."""
    writer = _writer
    return True if writer is None else writer.flush(timeout)


def flush_if(uri: str) -> None:
    """Before a query of `uri`: commit this process's pending runs if they go there."""
    writer = _writer
    if writer is not None and writer.uri == uri:
        writer.flush()


def shutdown(timeout: float | None = 60.0) -> None:
    """Flush and stop the writer; the next run starts a new one (with the current settings)."""
    global _writer
    with _lock:
        writer, _writer = _writer, None
    if writer is not None:
        writer.close(timeout)


def reconfigure(old: Settings, new: Settings) -> None:
    writer = _writer
    if writer is None:
        return
    if (old.uri, old.embedder, old.otlp, old.tracer_provider) != (
        new.uri, new.embedder, new.otlp, new.tracer_provider,
    ):  # fmt: skip
        shutdown()
    else:
        writer.settings = new


def _at_exit() -> None:
    global _exited
    _exited = True
    try:
        shutdown(timeout=30.0)
    except Exception:  # the interpreter is going away: never raise from atexit
        log.exception("agentnb telemetry: flushing at exit failed")
    _forget_tables()


def _otel_wanted(settings: Settings) -> bool:
    if settings.otlp is not None or settings.tracer_provider is not None:
        return bool(settings.otlp or settings.tracer_provider is not None)
    env = os.environ
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return env.get("OTEL_SDK_DISABLED", "").lower() != "true"
    from agentnb.telemetry.recorder import global_provider_set

    return global_provider_set()


def _after_fork() -> None:
    global _writer
    _writer = None  # the writer thread did not survive the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
