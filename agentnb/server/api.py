"""What the REST endpoints answer, as plain functions over the telemetry stores (no tornado here).

```python
api = RunsApi(root_dir="/home/me/project")
api.runs(agent="fx", status="blocked", limit=50)  # {"stores": [...], "runs": [...], "facets": ...}
api.trace("1bd9fe87")                              # the trace payload (agentnb.display.trace)
api.stats(by=["agent", "version"])                 # {"stats": [...]}
```

Which stores: kernels write to `$AGENTNB_TELEMETRY_URI`, else `$AGENTNB_HOME/telemetry`, else
`.agentnb/telemetry` in the notebook's directory. With either variable set (the server passes its
environment to its kernels) that one store is read. Without, every `.agentnb/telemetry` under the
server's root directory (a few levels deep) is read, so runs of notebooks in sub-folders show up.

Problems come back as `ApiError(status, message)`; the message names the thing and the fix: 400
for a request that cannot match (an unknown status, a bad grouping), 500 for a store that cannot
be read (a damaged table, a file where the store should be), naming the table and what to do.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentnb.errors import UserError
from agentnb.telemetry.problems import StoreUnreadable

if TYPE_CHECKING:
    from agentnb.telemetry.store import Store

__all__ = ["ApiError", "RunsApi", "discover_stores"]

RUN_FIELDS = (
    "agent", "version", "model", "status", "error_type", "error", "steps", "tool_calls",
    "tool_errors", "input_tokens", "output_tokens", "cost", "guard_verdicts", "guard_blocks",
    "guard_errors", "prompt",
)  # fmt: skip
FACETS = ("agent", "version", "status")
STATS_GROUPS = ("agent", "version", "model", "status", "tool", "config_hash", "provider")
MAX_LIMIT = 1000
SKIP_DIRS = {"node_modules", "__pycache__", "site-packages", "venv", "env"}


class ApiError(Exception):
    """An answer other than 200: the HTTP status and a message for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def discover_stores(root: Path, *, depth: int = 3) -> list[Path]:
    """The `.agentnb/telemetry` directories under `root`, at most `depth` folders down.

    Hidden folders (other than `.agentnb`), virtual environments and `node_modules` are skipped.
    """
    found: list[Path] = []

    def visit(folder: Path, level: int) -> None:
        store = folder / ".agentnb" / "telemetry"
        if store.is_dir():
            found.append(store)
        if level >= depth:
            return
        try:
            children = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in children:
            if (
                entry.is_dir(follow_symlinks=False)
                and not entry.name.startswith(".")
                and entry.name not in SKIP_DIRS
            ):
                visit(Path(entry.path), level + 1)

    visit(root, 0)
    return found


class RunsApi:
    """Reads the telemetry stores for the REST endpoints (thread-safe; one instance per server)."""

    def __init__(self, root_dir: str | os.PathLike[str], *, rescan_seconds: float = 5.0) -> None:
        self.root = Path(root_dir).expanduser().resolve()
        self.rescan_seconds = rescan_seconds
        self._lock = threading.Lock()
        self._stores: dict[str, Store] = {}
        self._scanned: tuple[float, list[str]] = (-math.inf, [])
        self._facet_cache: dict[str, tuple[int, dict[str, set[str]]]] = {}

    # --- where ---------------------------------------------------------------------------------
    def store_uris(self) -> list[str]:
        """The configured store, or the stores found under the root (rescanned every few s)."""
        configured = os.environ.get("AGENTNB_TELEMETRY_URI") or os.environ.get("AGENTNB_HOME")
        if configured:
            from agentnb.telemetry.settings import resolve_uri

            return [resolve_uri()]
        with self._lock:
            when, uris = self._scanned
            if time.monotonic() - when > self.rescan_seconds:
                uris = [str(p) for p in discover_stores(self.root)]
                self._scanned = (time.monotonic(), uris)
            return uris

    def _exists(self, uri: str) -> bool:
        return "://" in uri or Path(uri).is_dir()

    def _store(self, uri: str) -> Store:
        with self._lock:
            store = self._stores.get(uri)
            if store is None:
                from agentnb.telemetry.store import open_store

                try:
                    store = open_store(uri)
                except StoreUnreadable as error:  # a damaged store, or a file in its place
                    raise ApiError(500, str(error)) from None
                except UserError as error:  # another schema version or embedder
                    message = f"cannot read the telemetry store at {uri}: {error}"
                    raise ApiError(500, message) from None
                self._stores[uri] = store
            return store

    def _open_stores(self) -> Iterator[tuple[str, Store]]:
        for uri in self.store_uris():
            if "://" in uri or Path(uri).exists():  # a file there: opening it says so
                yield uri, self._store(uri)

    def _label(self, uri: str) -> str:
        """A store's name for people: its folder relative to the root when inside it."""
        path = Path(uri)
        try:
            relative = path.relative_to(self.root)
        except ValueError:
            return uri
        return str(relative) if str(relative) != "." else uri

    # --- endpoints -------------------------------------------------------------------------------
    def runs(
        self,
        *,
        agent: str | None = None,
        version: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """The newest runs of every store (filters match exactly), the stores read, and the
        values each filter can take."""
        if not 1 <= limit <= MAX_LIMIT:
            raise ApiError(400, f"limit={limit} is out of range: give 1 to {MAX_LIMIT}")
        rows: list[dict[str, Any]] = []
        facets: dict[str, set[str]] = {f: set() for f in FACETS}
        uris = self.store_uris()
        for uri, store in self._open_stores():
            with _answering():
                table = store.runs(agent, version=version, status=status, last=limit, as_arrow=True)
                found = self._facets(uri, store)
            columns = ["trace_id", "started_at", "duration_ms", *RUN_FIELDS]
            rows.extend(_run_json(r, self._label(uri)) for r in table.select(columns).to_pylist())
            for name, values in found.items():
                facets[name].update(values)
        rows.sort(key=lambda r: r["started_at"], reverse=True)
        return {
            "stores": [
                {"uri": u, "label": self._label(u), "exists": self._exists(u)} for u in uris
            ],
            "runs": rows[:limit],
            "facets": {name: sorted(values) for name, values in facets.items()},
        }

    def _facets(self, uri: str, store: Store) -> dict[str, set[str]]:
        """The distinct agents, versions and statuses of a store (read again only after the
        `runs` table changed: the sidebar asks every few seconds)."""
        from agentnb.telemetry.problems import reading

        table = store.table("runs")
        with reading(uri, "runs"):
            version = int(table.version)
            cached = self._facet_cache.get(uri)
            if cached is not None and cached[0] == version:
                return cached[1]
            columns = table.search().select(list(FACETS)).limit(None).to_arrow()
        values = {name: {v for v in columns[name].to_pylist() if v} for name in FACETS}
        self._facet_cache[uri] = (version, values)
        return values

    def trace(self, run_id: str) -> dict[str, Any]:
        """The trace payload of one run (`run_id`: 32 hex digits, or a unique prefix of 6+)."""
        from agentnb.server.payload import payload_from_store

        run_id = run_id.strip().lower()
        if not 6 <= len(run_id) <= 32 or any(c not in "0123456789abcdef" for c in run_id):
            raise ApiError(
                404,
                f"{run_id[:40]!r} is not a run id: give the 32 hex digits of a run "
                "(RunResult.run_id) or a prefix of at least 6",
            )
        stores = list(self._open_stores())
        problems: list[str] = []
        for _, store in stores:
            try:
                trace = store.trace(run_id)
            except StoreUnreadable as error:
                raise ApiError(500, str(error)) from None
            except UserError as error:
                problems.append(str(error))
                continue
            with _answering():
                row = store.runs(where=f"trace_id = '{trace.trace_id}'", last=1, as_arrow=True)
            rows = row.to_pylist()
            return payload_from_store(trace, rows[0] if rows else None)
        ambiguous = [p for p in problems if "matches" in p]
        if ambiguous:
            raise ApiError(404, ambiguous[0])
        where = ", ".join(self._label(u) for u, _ in stores) or "no telemetry store yet"
        raise ApiError(404, f"no run {run_id!r} in the telemetry store(s): {where}")

    def stats(
        self,
        *,
        by: Sequence[str] = ("agent", "version"),
        agent: str | None = None,
        version: str | None = None,
        since: str | None = None,
    ) -> dict[str, Any]:
        """Counts, error rate, latency percentiles, tokens and cost per group, per store."""
        unknown = [b for b in by if b not in STATS_GROUPS]
        if unknown:
            raise ApiError(
                400, f"cannot group by {', '.join(unknown)}: use any of {', '.join(STATS_GROUPS)}"
            )
        out: list[dict[str, Any]] = []
        for uri, store in self._open_stores():
            with _answering():
                table = store.stats(by, agent=agent, version=version, since=since, as_arrow=True)
            for row in table.to_pylist():
                out.append({"store": self._label(uri), **{k: _clean(v) for k, v in row.items()}})
        return {"by": list(by), "stats": out}


@contextmanager
def _answering() -> Iterator[None]:
    """Around store queries: a store that cannot be read is a 500, a request that cannot match
    (an unknown status, a bad `since`) a 400, each with the store's message."""
    try:
        yield
    except StoreUnreadable as error:
        raise ApiError(500, str(error)) from None
    except UserError as error:
        raise ApiError(400, str(error)) from None


def _run_json(row: dict[str, Any], store: str) -> dict[str, Any]:
    started = row["started_at"]
    out: dict[str, Any] = {
        "run_id": row["trace_id"],
        "store": store,
        "started_at": started.timestamp() if isinstance(started, datetime) else started,
        "duration": row["duration_ms"] / 1000.0,
    }
    out.update((k, _clean(row[k])) for k in RUN_FIELDS)
    return out


def _clean(value: Any) -> Any:
    """JSON-safe: NaN becomes null, datetimes Unix seconds."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return value
