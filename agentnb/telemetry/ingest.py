"""The ingest worker: one process per store turns every process's spool into LanceDB rows.

```
python -m agentnb.telemetry.ingest <store uri>     # started by the spool when runs wait
```
The worker holds `worker.lock` in the spool directory (so one runs per store, however many
kernels start one at once), reads the spool files from where it stopped (`state.json`), builds the
rows of up to `_CHUNK` records, appends them, and compacts, indexes and prunes the tables by the
settings in `maintenance.json`. Being the only writer, it has no commit conflicts; a retryable one
(a user's `Store.optimize()` in another process) is retried quietly. It exits after `idle`
seconds without new runs (`AGENTNB_INGEST_IDLE`, default 30).

**Consistency.** A group's `spans`, `verdicts` and `findings` rows are appended first and its
`runs` rows last, and `state.json` records the group's file ranges as in flight before the first
append. A worker that dies mid-group (SIGKILL, power) leaves them in flight; the next one (or the
next `drain`) looks up which of those runs have their `runs` row (they were complete), deletes the
other runs' partial rows and appends them again. So no run is lost or stored twice, and after a
drain `runs` and `spans` agree.

`drain(uri)` is what queries call: it writes this process's queued runs, then ingests whatever is
left itself when no worker runs, or waits (with a bound) for the running worker to catch up.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from agentnb.telemetry import schema as S
from agentnb.telemetry import spool
from agentnb.telemetry.settings import current, resolve_uri
from agentnb.telemetry.spans import build_batch
from agentnb.telemetry.wire import RUN, complete, unpack

if TYPE_CHECKING:
    from agentnb.telemetry.embed import Embedder
    from agentnb.telemetry.lance import Connection

__all__ = ["Ingester", "drain", "main", "maintain_now"]

log = logging.getLogger("agentnb.telemetry")

_CHUNK = 2_500
"""Records per group: one append per table each, so a commit's fixed cost (6–12 ms) is small per
row, and a group's rows stay a few MB."""
_ORDER = (S.SPANS, S.VERDICTS, S.FINDINGS, S.RUNS)
"""Append order: a run's `runs` row last (its presence says the run is complete)."""
_RETRIES = (0.05, 0.2, 1.0, 3.0)
_IDLE_MAINTENANCE = 5.0
"""Seconds without new runs after which tables with any new append are compacted."""
_RETENTION_PERIOD = 3600.0
_LOCK_WAIT = 2.0
"""Seconds a starting worker tries for the lock (a drain may hold it briefly)."""


# --- the lock ----------------------------------------------------------------------------------
@contextlib.contextmanager
def _locked(directory: str, wait: float) -> Iterator[bool]:
    """Hold the store's worker lock for the block; yields False if it stayed taken for `wait`."""
    os.makedirs(directory, exist_ok=True)
    fd = os.open(os.path.join(directory, "worker.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.01)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# --- one store's ingestion -----------------------------------------------------------------------
class Ingester:
    """Reads the spool of the store at `uri` from where the last ingestion stopped and appends
    its rows. Only call it while holding the worker lock."""

    def __init__(self, uri: str, embedder: Embedder | None = None) -> None:
        self.uri = uri
        self.dir = spool.spool_dir(uri)
        self.embedder = embedder
        self.state = spool.read_state(self.dir)
        self.state.setdefault("offsets", {})
        self.state.setdefault("inflight", {})
        self.state.setdefault("appends", {})
        self.records = 0
        self.spans = 0
        self._conn: Connection | None = None
        self._cursor: dict[str, int] = dict(self.state["offsets"])
        """How far reading got (ahead of `offsets` while a group is being appended)."""
        self._lock = threading.Lock()  # the state, shared with the appending thread
        self._appending: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def conn(self) -> Connection:
        """The store's LanceDB connection, opened on first use (LanceDB loads then)."""
        if self._conn is None:
            from agentnb.telemetry.lance import connection

            self._conn = connection(self.uri, self.embedder)
        return self._conn

    # --- reading the spool -------------------------------------------------------------------
    def _files(self) -> list[tuple[str, str, bool]]:
        """(key, path, finished) of every spool file; finished: nothing more will be added."""
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        out = []
        for name in sorted(names):
            key, _, ext = name.rpartition(".")
            if ext == "done":
                out.append((key, os.path.join(self.dir, name), True))
            elif ext == "spool":
                finished = not _alive(int(key.split("-", 1)[0]))
                out.append((key, os.path.join(self.dir, name), finished))
        return out

    def _read(self, limit: int) -> tuple[list[list[Any]], dict[str, list[int]]]:
        """Up to `limit` unread records and the file ranges they came from."""
        records: list[list[Any]] = []
        ranges: dict[str, list[int]] = {}
        cursor = self._cursor
        for key, path, _finished in self._files():
            start = cursor.get(key, 0)
            try:
                with open(path, "rb") as f:
                    f.seek(start)
                    data = f.read()
            except FileNotFoundError:
                continue
            got, end, damaged = unpack(data, limit - len(records))
            if damaged:  # a frame a killed writer left unreadable: nothing to recover
                log.warning("agentnb telemetry: skipped %d damaged groups in %s", damaged, path)
            records += got
            if end:
                ranges[key] = [start, start + end]
                cursor[key] = start + end
            if len(records) >= limit:
                break
        return records, ranges

    def _forget(self, key: str, path: str) -> None:
        """Remove a spool file whose writer is gone and whose every line is ingested."""
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        with self._lock:
            self.state["offsets"].pop(key, None)
            self._cursor.pop(key, None)
            self._save()

    def _save(self) -> None:
        path = os.path.join(self.dir, "state.json")
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(self.state, f)
        os.replace(temporary, path)

    # --- ingesting ---------------------------------------------------------------------------
    def step(self) -> int:
        """Read and build up to `_CHUNK` records and start appending them (on a thread, while the
        next group is built: LanceDB releases the GIL). The number read; 0 when the spool is
        drained, after the last group's append finished."""
        with _no_gc():
            return self._step()

    def _step(self) -> int:
        if self.state["inflight"] and self._appending is None:
            self._recover()
        records, ranges = self._read(_CHUNK)
        if not ranges:
            self.finish()
            return 0
        with self._lock:
            inflight = self.state["inflight"]
            for key, (start, end) in ranges.items():
                inflight[key] = [inflight[key][0] if key in inflight else start, end]
            self._save()
        batch = build_batch(records)
        tables = batch.tables(self.conn.embedder)
        self.finish()
        self._appending = threading.Thread(
            target=self._append_group,
            args=(tables, ranges, len(records), batch.span_count),
            name="agentnb-ingest-append",
        )
        self._appending.start()
        return max(1, len(records))

    def finish(self) -> None:
        """Wait for the group being appended; raise what made its append fail."""
        thread, self._appending = self._appending, None
        if thread is not None:
            thread.join()
        failure, self._failure = self._failure, None
        if failure is not None:
            self._cursor = dict(self.state["offsets"])  # re-read from what is stored
            raise failure

    def _append_group(
        self, tables: dict[str, Any], ranges: dict[str, list[int]], records: int, spans: int
    ) -> None:
        try:
            self._append_tables(tables)
            with self._lock:
                inflight = self.state["inflight"]
                for key, (_, end) in ranges.items():
                    self.state["offsets"][key] = end
                    if key in inflight and inflight[key][1] <= end:
                        del inflight[key]
                    elif key in inflight:
                        inflight[key][0] = end
                self._save()
            self.records += records
            self.spans += spans
        except BaseException as exc:  # raised on the ingesting thread by finish()
            self._failure = exc

    def drain(self) -> int:
        """Ingest everything in the spool; the number of records ingested."""
        before = self.records
        try:
            while self.step():
                pass
        finally:
            self.finish()
        self._cleanup()
        return self.records - before

    def _cleanup(self) -> None:
        """Remove fully ingested files of processes that are gone."""
        offsets = self.state["offsets"]
        for key, path, finished in self._files():
            if not finished:
                continue
            try:
                size = os.path.getsize(path)
            except FileNotFoundError:
                continue
            if offsets.get(key, 0) >= size or _only_torn_tail(path, offsets.get(key, 0)):
                self._forget(key, path)

    def _append(self, records: list[list[Any]]) -> None:
        """Append the rows of `records` now (on this thread)."""
        if records:
            batch = build_batch(records)
            self._append_tables(batch.tables(self.conn.embedder))
            self.spans += batch.span_count

    def _append_tables(self, tables: dict[str, Any]) -> None:
        appends = self.state["appends"]
        for name in _ORDER:
            data = tables.get(name)
            if data is None:
                continue
            _retrying(self.conn.table(name).add, data, what=f"appending to {name!r}")
            with self._lock:
                appends[name] = appends.get(name, 0) + 1

    def _recover(self) -> None:
        """Finish the group a killed ingestion left in flight, without storing a run twice."""
        ranges = self.state["inflight"]
        records: list[list[Any]] = []
        for key, (start, end) in ranges.items():
            for path in (
                os.path.join(self.dir, key + ".spool"),
                os.path.join(self.dir, key + ".done"),
            ):
                with contextlib.suppress(FileNotFoundError), open(path, "rb") as f:
                    f.seek(start)
                    records += unpack(f.read(end - start))[0]
        runs = [r[3][0] for r in records if r[0] == RUN]
        findings = [r[3] for r in records if r[0] != RUN]
        have_runs = self._present(S.RUNS, "trace_id", runs)
        have_findings = self._present(S.FINDINGS, "span_id", findings)
        missing_runs = [r for r in runs if r not in have_runs]
        missing_findings = [f for f in findings if f not in have_findings]
        conn = self.conn
        if missing_runs:  # their spans and verdicts may be half there: write them anew
            ids = _sql_list(missing_runs)
            conn.table(S.SPANS).delete(f"trace_id IN {ids} AND operation != 'monitor'")
            conn.table(S.VERDICTS).delete(f"trace_id IN {ids}")
        if missing_findings:
            conn.table(S.SPANS).delete(f"span_id IN {_sql_list(missing_findings)}")
        todo = [
            r for r in records
            if (r[0] == RUN and r[3][0] not in have_runs)
            or (r[0] != RUN and r[3] not in have_findings)
        ]  # fmt: skip
        self._append(todo)
        if len(todo) < len(records):
            log.info(
                "agentnb telemetry: %d of %d records of an interrupted ingestion were already "
                "stored", len(records) - len(todo), len(records),
            )  # fmt: skip
        with self._lock:
            for key, (_, end) in ranges.items():
                self.state["offsets"][key] = max(end, self.state["offsets"].get(key, 0))
            self.state["inflight"] = {}
            self._save()
        self._cursor = dict(self.state["offsets"])

    def _present(self, table: str, column: str, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            where = f"{column} IN {_sql_list(ids[i : i + 500])}"
            rows = self.conn.table(table).search().where(where).select([column]).limit(None)
            found.update(rows.to_arrow()[column].to_pylist())
        return found

    # --- maintenance ---------------------------------------------------------------------------
    def maintain(self, *, idle: bool = False, force: bool = False) -> None:
        """Compact tables with `compact_every` appends since the last compaction (any append
        when `idle`; all tables when `force`), build due indexes, apply retention."""
        if self.uri.startswith("db://"):  # LanceDB Cloud compacts and indexes by itself
            return
        self.finish()  # never compact while this process appends
        m = self.maintenance()
        appends = self.state["appends"]
        least = 1 if idle else int(m["compact_every"])
        due = [n for n in _ORDER if force or appends.get(n, 0) >= least]
        retention = m.get("retention")
        last = float(self.state.get("retention_at", 0.0))
        prune = retention is not None and (force or time.time() - last > _RETENTION_PERIOD)
        if not due and not prune:
            return
        conn = self.conn
        if prune and retention is not None:
            conn.prune(datetime.now(timezone.utc) - timedelta(seconds=float(retention)))
            self.state["retention_at"] = time.time()
        keep = timedelta(seconds=float(m["keep_versions"]))
        for name in due:
            _retrying(conn.compact, name, keep, what=f"compacting {name!r}")
            conn.ensure_indexes(
                name,
                scalar_rows=int(m["scalar_index_rows"]),
                vector_rows=int(m["vector_index_rows"]),
            )
            with self._lock:
                appends[name] = 0
        with self._lock:
            self._save()

    def maintenance(self) -> dict[str, Any]:
        """The maintenance settings the writers left (`maintenance.json`), else this process's."""
        try:
            with open(os.path.join(self.dir, "maintenance.json"), encoding="utf-8") as f:
                values: dict[str, Any] = json.load(f)
                return values
        except (FileNotFoundError, ValueError):
            s = current()
            return {
                "compact_every": s.compact_every,
                "keep_versions": s.keep_versions.total_seconds(),
                "scalar_index_rows": s.scalar_index_rows,
                "vector_index_rows": s.vector_index_rows,
                "retention": None,
            }


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The garbage collector paused while a group is decoded and built: its lists are acyclic
    and freed with the group, and collections triggered by their allocations would traverse
    every one of them again (they took more time than the decoding itself)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _retrying(action: Callable[..., object], *args: Any, what: str) -> None:
    """`action(*args)`, retrying a commit conflict quietly (another process compacting)."""
    for pause in (*_RETRIES, None):
        try:
            action(*args)
            return
        except Exception as exc:
            if pause is None or ("etryable" not in str(exc) and "onflict" not in str(exc)):
                raise RuntimeError(f"agentnb telemetry: {what} failed: {exc}") from exc
            time.sleep(pause)


def _sql_list(values: list[str]) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _only_torn_tail(path: str, offset: int) -> bool:
    """Whether everything after `offset` is a frame without its end (a killed writer's last)."""
    with contextlib.suppress(FileNotFoundError), open(path, "rb") as f:
        f.seek(offset)
        return complete(f.read()) == 0
    return True


# --- for queries -----------------------------------------------------------------------------
def drain(
    uri: str | None = None, *, timeout: float = 30.0, embedder: Embedder | None = None
) -> bool:
    """Make every run recorded so far (by any process) visible in the store's tables.

    Writes this process's queued runs to the spool, then ingests the spool here when no worker
    runs, or waits up to `timeout` seconds for the running worker to catch up. False (and a log
    line) if the bound was hit.
    """
    uri = resolve_uri(uri)
    own = spool.active()
    if own is not None and own.uri == uri:
        own.flush(timeout)
    directory = spool.spool_dir(uri)
    if not os.path.isdir(directory):
        return True
    targets = _sizes(directory)
    if not targets and not spool.read_state(directory)["inflight"]:
        return True
    deadline = time.monotonic() + timeout
    while True:
        with _locked(directory, 0.0) as mine:
            if mine:
                ingester = Ingester(uri, embedder)
                if ingester.drain():
                    ingester.maintain()
                return True
        offsets = spool.read_state(directory)["offsets"]
        if all(offsets.get(k, 0) >= size for k, size in _sizes(directory).items() if k in targets):
            return True
        if time.monotonic() >= deadline:
            log.warning(
                "agentnb telemetry (%s): the ingest worker did not catch up within %.0f s; "
                "queries may miss the newest runs",
                uri, timeout,
            )  # fmt: skip
            return False
        time.sleep(0.005)


def _sizes(directory: str) -> dict[str, int]:
    """The size of every spool file up to its last complete frame."""
    offsets = spool.read_state(directory)["offsets"]
    out: dict[str, int] = {}
    for name in os.listdir(directory):
        key, _, ext = name.rpartition(".")
        if ext in ("spool", "done"):
            path = os.path.join(directory, name)
            with contextlib.suppress(FileNotFoundError), open(path, "rb") as f:
                start = f.seek(offsets.get(key, 0))  # ingested up to a frame's end
                out[key] = start + complete(f.read())
    return out


def maintain_now(uri: str | None = None, *, embedder: Embedder | None = None) -> None:
    """Ingest the spool, then compact every table, build due indexes and apply retention now,
    with this process's settings (blocking)."""
    uri = resolve_uri(uri)
    drain(uri, embedder=embedder)
    directory = spool.spool_dir(uri)
    with _locked(directory, 60.0):
        ingester = Ingester(uri, embedder)
        _write_own_maintenance(ingester)
        ingester.maintain(force=True)


def _write_own_maintenance(ingester: Ingester) -> None:
    spool.write_maintenance(ingester.dir, current())


# --- the worker process --------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """`python -m agentnb.telemetry.ingest <uri> [--idle SECONDS]`: the store's worker."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m agentnb.telemetry.ingest")
    parser.add_argument("uri")
    parser.add_argument(
        "--idle", type=float, default=float(os.environ.get("AGENTNB_INGEST_IDLE", "30"))
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    directory = spool.spool_dir(args.uri)
    try:
        with _locked(directory, _LOCK_WAIT) as mine:
            if not mine:
                return 0  # another worker serves this store
            with open(os.path.join(directory, "worker.pid"), "w", encoding="utf-8") as f:
                f.write(str(os.getpid()))
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(directory, "worker.starting"))
            return _serve(Ingester(args.uri), args.idle)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(directory, "worker.starting"))


def _serve(ingester: Ingester, idle: float) -> int:
    last_work = time.monotonic()
    maintained = True
    while True:
        try:
            got = ingester.step()
            if not got and not maintained:  # drained (the last append finished): compact
                ingester.maintain()
        except Exception:
            log.exception("ingesting %s failed; retrying in 1 s", ingester.uri)
            time.sleep(1.0)
            continue
        now = time.monotonic()
        if got:
            last_work = now
            maintained = False
            continue
        quiet = now - last_work
        if (
            quiet >= _IDLE_MAINTENANCE
            and ingester.state["appends"]
            and any(ingester.state["appends"].values())
        ):
            try:
                ingester._cleanup()
                ingester.maintain(idle=True)
            except Exception:
                log.exception("maintaining %s failed", ingester.uri)
        maintained = True
        if quiet >= idle:
            ingester._cleanup()
            return 0
        time.sleep(0.01 if quiet < 2.0 else 0.1)


if __name__ == "__main__":
    sys.exit(main())
