"""The spool: finished runs appended to a local file, for the store's ingest worker.

A run's end encodes its record as plain values on the run's thread (`wire`: content rules
applied) and queues it. A small thread waits `flush_interval` (20 ms) so that runs
finishing close together form one group, checks the whole group for secrets with one `redact()`
(redacting the lines that hold one), and appends it to this process's spool file with one
`write()`: from then on the runs survive the process being killed (the data is in the operating
system's cache). The file is `fsync`ed about once a second
and at exit, so they also survive a crash of the machine soon after.

The process never imports LanceDB, pyarrow or pandas for this: one ingest worker per store
(`python -m agentnb.telemetry.ingest`, see `ingest`) turns every process's spool into table
rows. It is started when spooled runs wait for longer than a second with no worker running, and
when a process exits leaving runs behind; queries ingest what is left before they read
(`ingest.drain`), so a run is visible the moment it returned.

At interpreter exit, kernel shutdown (an interpreter exit) and SIGTERM the queue is written
synchronously, with a bounded wait that says in a log line how many records were still pending if
it is hit. SIGTERM then ends the process as it would have without agentnb (a handler the program
installed before is called instead).

Files, beside the store (`<store>.spool/`, or under `$AGENTNB_HOME/spool/` for remote stores):
`<pid>-<n>-<token>.spool` (one per process; rotated to `.done` past `_ROTATE_BYTES`),
`state.json` (how far the worker got in each file), `worker.lock`, `worker.log`,
`maintenance.json` (the compaction, index and retention settings of the last writer).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from agentnb.telemetry.records import FindingRecord, RunRecord
from agentnb.telemetry.settings import (
    Settings,
    current,
    on_change,
    otel_wanted,
    resolve_retention,
    resolve_uri,
)
from agentnb.telemetry.wire import encode_texts, redact_group, unpack

if TYPE_CHECKING:
    from agentnb.telemetry.otel import Consumers

__all__ = [
    "Spool",
    "active",
    "ensure_worker",
    "flush",
    "get",
    "read_state",
    "shutdown",
    "spool_dir",
    "submit",
    "worker_running",
    "write_maintenance",
]

log = logging.getLogger("agentnb.telemetry")

_SYNC_PERIOD = 1.0
"""Seconds between two `fsync`s of a spool file that was written to."""
_SPAWN_AFTER = 1.0
"""Seconds spooled runs may wait un-ingested before this process starts an ingest worker."""
_STARTING_FOR = 60.0
"""Seconds a started worker may take to take the lock before another start is tried."""
_ROTATE_BYTES = 64 << 20
_EXIT_BOUND = 10.0
"""Seconds the exit (or SIGTERM) flush may take before it gives up and says what was pending."""

_spool: Spool | None = None
_lock = threading.Lock()
_exited = False
"""Set once the exit flush ran: later records (monitor findings drained at exit) are written
synchronously by the thread that submits them."""


def spool_dir(uri: str) -> str:
    """The local spool directory of the store at `uri`."""
    if "://" not in uri:
        return uri.rstrip("/\\") + ".spool"
    home = os.environ.get("AGENTNB_HOME") or os.path.join(os.path.expanduser("~"), ".agentnb")
    return os.path.join(home, "spool", hashlib.sha1(uri.encode()).hexdigest()[:16])


def read_state(directory: str) -> dict[str, Any]:
    """The worker's progress: `{"offsets": {file key: bytes ingested}, "inflight": {...}}`."""
    try:
        with open(os.path.join(directory, "state.json"), encoding="utf-8") as f:
            state: dict[str, Any] = json.load(f)
    except (FileNotFoundError, ValueError):
        return {"offsets": {}, "inflight": {}}
    return state


class Spool:
    """This process's spool file for one store, written in small groups by a thread."""

    def __init__(self, settings: Settings, *, start: bool = True) -> None:
        self.settings = settings
        self.uri = resolve_uri(settings=settings)
        self.dir = spool_dir(self.uri)
        self._queue: deque[tuple[tuple[Any, ...], list[str]]] = deque()
        self._io = threading.Lock()  # one writer of the file at a time
        self._wake = threading.Event()
        self._stopping = False
        self._fd: int | None = None
        self._key = ""
        self._size = 0
        self._seq = 0
        self._unsynced = False
        self._last_sync = time.monotonic()
        self._waiting_since: float | None = None  # oldest write not yet known to be ingested
        self._last_check = 0.0
        self._consumers: Consumers | None = None
        self._otel = otel_wanted(settings)
        self.records_written = 0
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._main, name="agentnb-spool", daemon=True)
        if start:
            self._thread.start()

    # --- called from any thread --------------------------------------------------------------
    def submit(self, record: RunRecord | FindingRecord) -> None:
        """Encode `record` now, on the caller's thread (its events then die young, and no other
        thread competes for the GIL to read them), and queue the line for the next group."""
        self._queue.append(encode_texts(record))
        if not self._wake.is_set():
            self._wake.set()

    @property
    def pending(self) -> int:
        """How many records are queued and not yet written to the spool file."""
        return len(self._queue)

    @property
    def key(self) -> str:
        """The name of the current spool file without its extension ("" before the first)."""
        return self._key

    @property
    def size(self) -> int:
        """Bytes written to the current spool file (it is rotated past a bound)."""
        return self._size

    def flush(self, timeout: float | None = 60.0, *, sync: bool = False) -> bool:
        """Write every queued record now, on this thread; `sync` also `fsync`s the file.

        False (and one log line saying how many records were pending) when another write held
        the file for longer than `timeout`.
        """
        if not self._io.acquire(timeout=-1 if timeout is None else timeout):
            log.error(
                "agentnb telemetry (%s): gave up writing the spool after %.0f s; %d records "
                "were pending",
                self.uri, timeout, len(self._queue),
            )  # fmt: skip
            return False
        try:
            self._write_queued()
            if sync:
                self._sync()
            if self._consumers is not None:
                self._consumers.flush()
        finally:
            self._io.release()
        return True

    def close(self, timeout: float | None = 60.0) -> None:
        """Flush and `fsync`, stop the thread and the OpenTelemetry exporters."""
        self._stopping = True
        self._wake.set()
        self.flush(timeout, sync=True)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._consumers is not None:
            self._consumers.shutdown()
            self._consumers = None

    # --- the thread --------------------------------------------------------------------------
    def _main(self) -> None:
        while not self._stopping:
            woke = self._wake.wait(_SYNC_PERIOD)
            if self._stopping:
                return
            if woke:
                self._wake.clear()
                time.sleep(self.settings.flush_interval)  # let the group gather
            try:
                with self._io:
                    self._write_queued()
                    if self._unsynced and time.monotonic() - self._last_sync >= _SYNC_PERIOD:
                        self._sync()
                self._check_worker()
            except Exception as exc:  # keep serving: a dead thread would lose every later run
                self._fail(f"the spool failed: {exc!r}", exc)

    # --- writing (under self._io) --------------------------------------------------------------
    def _write_queued(self) -> None:
        items = []
        queue = self._queue
        while queue:
            items.append(queue.popleft())
        if not items:
            return
        data = redact_group(items)
        fd = self._file(len(data))
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        self._size += len(data)
        self._unsynced = True
        self.records_written += len(items)
        if self._waiting_since is None:
            self._waiting_since = time.monotonic()
        if self._otel:
            self._export(data)

    def _file(self, adding: int) -> int:
        if self._fd is not None and self._size + adding > _ROTATE_BYTES and self._size:
            self._close_file(rotated=True)
        if self._fd is None:
            os.makedirs(self.dir, exist_ok=True)
            self._seq += 1
            self._key = f"{os.getpid()}-{self._seq}-{os.urandom(4).hex()}"
            path = os.path.join(self.dir, self._key + ".spool")
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._size = 0
            self._write_maintenance()
        return self._fd

    def _close_file(self, *, rotated: bool) -> None:
        if self._fd is None:
            return
        self._sync()
        os.close(self._fd)
        self._fd = None
        if rotated:  # tells the worker that nothing more comes to this file
            base = os.path.join(self.dir, self._key)
            os.replace(base + ".spool", base + ".done")

    def _sync(self) -> None:
        if self._fd is not None and self._unsynced:
            os.fsync(self._fd)
        self._unsynced = False
        self._last_sync = time.monotonic()

    def _write_maintenance(self) -> None:
        """The settings the worker maintains the store with (those of the last writer)."""
        write_maintenance(self.dir, self.settings)

    def _export(self, data: bytes) -> None:
        """Hand the group's spans to OpenTelemetry (only when something consumes them)."""
        try:
            if self._consumers is None:
                from agentnb.telemetry.otel import Consumers

                self._consumers = Consumers.from_settings(self.settings)
            if not self._consumers:
                return
            from agentnb.telemetry.spans import build_batch

            self._consumers.export(build_batch(unpack(data)[0]).otel_spans())
        except Exception as exc:  # a broken exporter never loses the spooled runs
            self._fail(f"OpenTelemetry export failed: {exc!r}", exc)

    def _fail(self, message: str, exc: BaseException) -> None:
        if message != self.last_error:
            log.error("agentnb telemetry (%s): %s", self.uri, message, exc_info=exc)
        self.last_error = message

    # --- the worker ----------------------------------------------------------------------------
    def _check_worker(self, *, now: bool = False) -> None:
        """Start an ingest worker when this process's runs wait un-ingested (at most once a
        second; at once when `now`)."""
        since = self._waiting_since
        if since is None:
            return
        t = time.monotonic()
        if not now and (t - self._last_check < _SPAWN_AFTER or t - since < _SPAWN_AFTER):
            return
        self._last_check = t
        done = read_state(self.dir)["offsets"].get(self._key, 0)
        if done >= self._size:
            self._waiting_since = None
            return
        ensure_worker(self.uri)


# --- the worker process: started on demand ---------------------------------------------------
def worker_running(directory: str) -> bool:
    """Whether an ingest worker holds the store's lock."""
    import fcntl

    path = os.path.join(directory, "worker.lock")
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases a shared lock we got
    return False


def ensure_worker(uri: str) -> None:
    """Start the store's ingest worker unless one runs (`AGENTNB_INGEST_WORKER=off`: never).

    Safe against races: of several workers started at once, one takes the lock and the others
    exit.
    """
    if os.environ.get("AGENTNB_INGEST_WORKER", "").lower() in ("off", "0", "false"):
        return
    directory = spool_dir(uri)
    if worker_running(directory):
        return
    os.makedirs(directory, exist_ok=True)
    # One start at a time across processes: a worker takes a few seconds to import and lock.
    starting = os.path.join(directory, "worker.starting")
    try:
        if time.time() - os.path.getmtime(starting) < _STARTING_FOR:
            return
        os.remove(starting)  # a start that never got the lock (killed while importing)
    except FileNotFoundError:
        pass
    try:
        os.close(os.open(starting, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return  # another process is starting one right now
    # Started in the background by a shell that exits at once: the worker is nobody's child
    # here (no zombie, no process handle to reap), in a session of its own (a kernel's
    # interrupt or its process group's end do not reach it).
    subprocess.run(
        ["/bin/sh", "-c", 'exec "$0" -m agentnb.telemetry.ingest "$1" </dev/null >>"$2" 2>&1 &',
         sys.executable, uri, os.path.join(directory, "worker.log")],
        check=False, start_new_session=True, close_fds=True, timeout=30,
    )  # fmt: skip


# --- the process's spool -----------------------------------------------------------------------
def get() -> Spool:
    """The spool of the configured store (started on first use)."""
    spool = _spool
    if spool is not None:
        return spool
    return _start()


def _start() -> Spool:
    global _spool
    with _lock:
        if _spool is None:
            _spool = Spool(current())
        return _spool


def active() -> Spool | None:
    """This process's spool, if a run was recorded since the last settings change."""
    return _spool


def submit(record: RunRecord | FindingRecord) -> None:
    """The recorder's sink: queue a finished run or a finding for the spool."""
    spool = _spool or _start()
    spool.submit(record)
    if _exited:  # the exit flush already ran: nobody else will write it
        spool.flush(_EXIT_BOUND, sync=True)


def flush(timeout: float | None = 60.0) -> bool:
    """Write every run recorded so far to the spool (there is no need to call this: see the
    module doc). Queries also ingest it: `ingest.drain`."""
    spool = _spool
    return True if spool is None else spool.flush(timeout)


def shutdown(timeout: float | None = 60.0) -> None:
    """Flush and stop the spool; the next run starts a new one (with the current settings)."""
    global _spool
    with _lock:
        spool, _spool = _spool, None
    if spool is not None:
        spool.close(timeout)


def _reconfigure(old: Settings, new: Settings, restart: bool) -> None:
    spool = _spool
    if spool is None:
        return
    if restart or resolve_uri(settings=old) != resolve_uri(settings=new) or (
        old.otlp, old.tracer_provider, old.embedder,
    ) != (new.otlp, new.tracer_provider, new.embedder):  # fmt: skip
        shutdown()
        return
    with spool._io:
        spool.settings = new
        if spool._fd is not None:
            spool._write_maintenance()


on_change(_reconfigure)


def _leave(timeout: float) -> None:
    """Write and `fsync` every queued record, then make sure a worker will ingest them."""
    global _exited
    _exited = True
    spool = _spool
    if spool is None:
        return
    if spool.flush(timeout, sync=True):
        with contextlib.suppress(Exception):
            spool._check_worker(now=True)


def _at_exit() -> None:
    try:
        _leave(_EXIT_BOUND)
        spool = _spool
        if spool is not None and spool._consumers is not None:
            spool._consumers.shutdown()
    except Exception:  # the interpreter is going away: never raise from atexit
        log.exception("agentnb telemetry: flushing the spool at exit failed")


atexit.register(_at_exit)

_previous_sigterm: Any = None
_sigterm_installed = False


def _on_sigterm(signum: int, frame: Any) -> None:
    """Flush the spool, then do what SIGTERM did before: the program's handler, or the end."""
    try:
        _leave(_EXIT_BOUND)
    except Exception:
        log.exception("agentnb telemetry: flushing the spool on SIGTERM failed")
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
        return
    if previous == signal.SIG_IGN:
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # die of SIGTERM, with its usual status
    os.kill(os.getpid(), signal.SIGTERM)


def install_sigterm_handler() -> bool:
    """Flush the spool on SIGTERM (chaining any handler already set); only from the main thread.

    Called when the first recorder is made. True when installed (now or before).
    """
    global _previous_sigterm, _sigterm_installed
    if _sigterm_installed:
        return True
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        _previous_sigterm = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):  # not the main interpreter, or signals unavailable
        return False
    _sigterm_installed = True
    return True


def _after_fork() -> None:
    global _spool
    _spool = None  # the spool thread did not survive the fork; the child writes its own file


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def write_maintenance(directory: str, settings: Settings) -> None:
    """Write `maintenance.json` in the spool `directory`: the compaction, index and retention
    settings the ingest worker maintains the store with (atomically: a reader never sees half)."""
    retention = resolve_retention(settings)
    values = {
        "compact_every": settings.compact_every,
        "keep_versions": settings.keep_versions.total_seconds(),
        "scalar_index_rows": settings.scalar_index_rows,
        "vector_index_rows": settings.vector_index_rows,
        "retention": None if retention is None else retention.total_seconds(),
    }
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "maintenance.json")
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(values, f)
    os.replace(temporary, path)
