"""Telemetry: every run as OpenTelemetry GenAI spans in LanceDB tables you own, queryable.

```python
from agentnb import telemetry
store = telemetry.open()                               # .agentnb/ beside the notebook
store.runs(agent="fx", since="1h", status="error")     # one row per run → pandas DataFrame
store.trace(result.trace_id)                           # the span tree of one run
store.stats(by=["agent", "version", "tool"])           # count, error rate, p50/p95, tokens, cost
store.search("refund refused", k=10)                   # runs closest to the text
```
Every agent run is recorded without extra code: the run loop's events become spans (`invoke_agent`
root, `chat` per model call, `execute_tool` per tool call, `guard` per verdict, `monitor` per
finding). A finished run is appended to a local spool file within ~20 ms (`spool`), and one ingest
worker process per store writes every process's runs to LanceDB (`ingest`); queries ingest what
is left first, so a run is visible the moment it returned.
`AGENTNB_TELEMETRY=off` or `Agent(..., telemetry=False)` turns recording off;
`AGENTNB_CAPTURE_CONTENT` / `configure(capture=...)` chooses how much content (messages, the
instructions, tool arguments and results) is kept (`full`, `redacted`, `off`); secrets are
redacted before anything is written or exported.
Setting `OTEL_EXPORTER_OTLP_ENDPOINT` also sends the spans over OTLP (see `agentnb.telemetry.otel`).

Importing this package is cheap, and so is recording: LanceDB, pyarrow and pandas are loaded only
by `open()` (and the ingest worker); the OpenTelemetry SDK only when spans are exported.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from agentnb.telemetry.recorder import Recorder
from agentnb.telemetry.schema import SCHEMA_VERSION
from agentnb.telemetry.settings import CaptureMode, Settings, configure
from agentnb.telemetry.spool import shutdown

if TYPE_CHECKING:
    from agentnb.telemetry.embed import (
        Embedder,
        HashedNgramEmbedder,
        OpenAIEmbedder,
        SentenceTransformerEmbedder,
    )
    from agentnb.telemetry.store import Store
    from agentnb.telemetry.tree import SpanNode, Trace

__all__ = [
    "SCHEMA_VERSION",
    "CaptureMode",
    "Embedder",
    "HashedNgramEmbedder",
    "OpenAIEmbedder",
    "Recorder",
    "SentenceTransformerEmbedder",
    "Settings",
    "SpanNode",
    "Store",
    "Trace",
    "configure",
    "event_handler",
    "flush",
    "open",
    "shutdown",
]

_LAZY = {
    "Embedder": "agentnb.telemetry.embed",
    "HashedNgramEmbedder": "agentnb.telemetry.embed",
    "OpenAIEmbedder": "agentnb.telemetry.embed",
    "SentenceTransformerEmbedder": "agentnb.telemetry.embed",
    "Store": "agentnb.telemetry.store",
    "Trace": "agentnb.telemetry.tree",
    "SpanNode": "agentnb.telemetry.tree",
}
_handlers: dict[CaptureMode | None, Recorder] = {}
_import_lock = threading.RLock()


def import_heavy() -> None:
    """Import LanceDB, pyarrow and the query modules built on them, once, under a lock (two
    threads importing `lancedb` at once can see a half-initialised module)."""
    with _import_lock:
        import agentnb.telemetry.store  # noqa: F401


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agentnb.telemetry' has no attribute {name!r}")
    import importlib

    import_heavy()
    return getattr(importlib.import_module(module), name)


def open(uri: str | None = None, *, embedder: Embedder | None = None) -> Store:
    """Open the telemetry store for queries.

    `uri` is any LanceDB URI (`s3://…`, `gs://…`, `db://…`) or directory; by default the one
    runs are recorded to: `AGENTNB_TELEMETRY_URI`, else `$AGENTNB_HOME/telemetry`, else
    `./.agentnb/telemetry`.
    """
    import_heavy()
    from agentnb.telemetry.store import open_store

    return open_store(uri, embedder=embedder)


def flush(timeout: float = 60.0) -> bool:
    """Make every run recorded so far visible in the store's tables now (there is no need to
    call this: queries do it first). Writes this process's queued runs to the spool and ingests
    the spool, which imports LanceDB here; False if `timeout` was hit."""
    from agentnb.telemetry import ingest, spool

    if not spool.flush(timeout):
        return False
    own = spool.active()
    return ingest.drain(own.uri if own is not None else None, timeout=timeout)


def event_handler(*, capture: CaptureMode | None = None) -> Recorder:
    """The process's recorder: the event handler an `Agent` with telemetry on subscribes.

    `capture` pins a content-capture mode for the agents using this handler (None: the
    configured mode, read when each run starts).
    """
    handler = _handlers.get(capture)
    if handler is None:
        handler = _handlers.setdefault(capture, Recorder(capture=capture))
    return handler
