"""Telemetry settings: where runs are stored, what content is captured, how long runs are kept.

Every setting has an environment variable, read when it is needed; `configure()` overrides it:

| setting | environment | default |
|---|---|---|
| `uri` | `AGENTNB_TELEMETRY_URI`, else `$AGENTNB_HOME/telemetry` | `./.agentnb/telemetry` |
| `capture` | `AGENTNB_CAPTURE_CONTENT` (`full`, `redacted`, `off`) | `full` |
| `retention` | `AGENTNB_TELEMETRY_RETENTION` (`30d`, `12h`, …) | keep everything |

Recording itself is switched off per agent (`Agent(..., telemetry=False)`) or for the process
(`AGENTNB_TELEMETRY=off`).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal, get_args

from agentnb.errors import UserError

if TYPE_CHECKING:
    from agentnb.telemetry.embed import Embedder

__all__ = [
    "CaptureMode",
    "Settings",
    "configure",
    "current",
    "on_change",
    "otel_wanted",
    "parse_since",
    "reset",
    "resolve_capture",
    "resolve_uri",
]

CaptureMode = Literal["full", "redacted", "off"]
"""`full`: message content is stored (secrets redacted); `redacted`: the structure (roles, tool
names, call ids) is kept and every content string becomes `[REDACTED]`; `off`: no content."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class Settings:
    """The process-wide telemetry settings (see `configure`)."""

    uri: str | None = None
    """A LanceDB URI or directory; None: from the environment, else `./.agentnb/telemetry`."""
    capture: CaptureMode | None = None
    """None: `AGENTNB_CAPTURE_CONTENT`, else `full`."""
    retention: timedelta | None = None
    """Runs older than this are pruned by the ingest worker (None:
    `AGENTNB_TELEMETRY_RETENTION`, else never)."""
    embedder: Embedder | None = None
    """Embeds run text for `search()`; None: the offline `HashedNgramEmbedder`."""
    otlp: bool | None = None
    """None: export over OTLP when `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT` is set."""
    tracer_provider: Any = None
    """An OpenTelemetry SDK `TracerProvider` to hand every span to (None: the global one, if the
    application set one up and agentnb's own OTLP exporter is off)."""
    flush_interval: float = 0.02
    """Seconds the spool gathers finished runs before writing them in one group (a run that
    returned is on disk, in the operating system's cache, at most this long after)."""
    compact_every: int = 16
    """Appends to a table between two compactions (`optimize`)."""
    keep_versions: timedelta = field(default_factory=lambda: timedelta(minutes=10))
    """Table versions older than this are removed when compacting (other readers may still use
    younger ones, so not zero)."""
    vector_index_rows: int = 20_000
    """Build the vector index on `runs` once it holds this many rows."""
    scalar_index_rows: int = 5_000
    """Build the scalar (BTREE/Bitmap) indexes once a table holds this many rows."""


_settings = Settings()


def current() -> Settings:
    """This process's settings; a field left None is read from the environment when it is needed."""
    return _settings


_listeners: list[Callable[[Settings, Settings, bool], None]] = []
"""Called with (old, new, restart) before the settings change (the spool flushes to the old
store); `restart`: start afresh whatever changed (`reset`: the environment may have, too)."""


def on_change(listener: Callable[[Settings, Settings, bool], None]) -> None:
    """Call `listener(old, new, restart)` before every change of the settings (`configure`,
    `reset`). The modules that act on settings register here, so this module imports none."""
    _listeners.append(listener)


def _change(new: Settings, *, restart: bool = False) -> None:
    global _settings
    for listener in _listeners:
        listener(_settings, new, restart)
    _settings = new


def reset() -> None:
    """Back to the defaults (for tests); pending runs are written to the old store first, and
    the next run reads the environment afresh."""
    _change(Settings(), restart=True)


def configure(
    *,
    uri: str | None = UNSET,
    capture: CaptureMode | None = UNSET,
    retention: timedelta | str | None = UNSET,
    embedder: Embedder | None = UNSET,
    otlp: bool | None = UNSET,
    tracer_provider: Any = UNSET,
    flush_interval: float = UNSET,
    compact_every: int = UNSET,
    keep_versions: timedelta = UNSET,
    vector_index_rows: int = UNSET,
    scalar_index_rows: int = UNSET,
) -> Settings:
    """Change telemetry settings for this process; returns the new settings.

    >>> from agentnb import telemetry
    >>> telemetry.configure(capture="redacted").capture
    'redacted'
    >>> _ = telemetry.configure(capture=None)

    Pending runs are flushed to the old location before `uri` (or the embedder) changes.
    """
    given = {k: v for k, v in locals().items() if v is not UNSET}
    if "capture" in given and given["capture"] is not None:
        given["capture"] = _check_capture(given["capture"], "capture")
    if isinstance(given.get("retention"), str):
        given["retention"] = parse_duration(given["retention"], "retention")
    new = replace(_settings, **given)
    _change(new)
    return new


def _check_capture(value: str, source: str) -> CaptureMode:
    modes = get_args(CaptureMode)
    lowered = value.strip().lower()
    if lowered not in modes:
        raise UserError(
            f"{source}={value!r} is not a content-capture mode: use one of {', '.join(modes)}"
        )
    return lowered  # type: ignore[return-value]  # checked against the Literal's values


def resolve_capture(settings: Settings | None = None) -> CaptureMode:
    """The content-capture mode in effect: `settings` (default: the current ones), else
    `AGENTNB_CAPTURE_CONTENT`, else `"full"`.

    Raises:
        UserError: `AGENTNB_CAPTURE_CONTENT` is not `full`, `redacted` or `off`.
    """
    s = settings or _settings
    if s.capture is not None:
        return s.capture
    env = os.environ.get("AGENTNB_CAPTURE_CONTENT")
    return _check_capture(env, "AGENTNB_CAPTURE_CONTENT") if env else "full"


def resolve_uri(uri: str | None = None, settings: Settings | None = None) -> str:
    """The LanceDB URI of the store: explicit, configured, environment, or `./.agentnb`."""
    s = settings or _settings
    chosen = uri or s.uri or os.environ.get("AGENTNB_TELEMETRY_URI")
    if not chosen:
        home = os.environ.get("AGENTNB_HOME") or os.path.join(os.getcwd(), ".agentnb")
        chosen = os.path.join(home, "telemetry")
    if "://" in chosen:
        return chosen
    return os.path.abspath(os.path.expanduser(chosen))


def resolve_retention(settings: Settings | None = None) -> timedelta | None:
    s = settings or _settings
    if s.retention is not None:
        return s.retention
    env = os.environ.get("AGENTNB_TELEMETRY_RETENTION")
    return parse_duration(env, "AGENTNB_TELEMETRY_RETENTION") if env else None


def parse_duration(text: str, source: str = "duration") -> timedelta:
    """`"90s"`, `"15m"`, `"1h"`, `"7d"`, `"2w"` → timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise UserError(f"{source}={text!r} is not a duration: write e.g. '30m', '1h', '7d', '2w'")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2).lower()])


def parse_since(value: str | float | datetime | timedelta, source: str = "since") -> datetime:
    """A point in time from `"1h"` (ago), a timedelta (ago), a datetime or unix seconds (UTC)."""
    now = datetime.now(timezone.utc)
    if isinstance(value, timedelta):
        return now - value
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    if _DURATION.match(value):
        return now - parse_duration(value, source)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(
            f"{source}={value!r} is neither a duration ('1h', '7d') nor an ISO date "
            "('2026-11-25T10:00')"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def global_provider_set() -> bool:
    """True when the application set up a global OpenTelemetry TracerProvider (then SDKs such as
    anthropic trace themselves, and their spans are nested under agentnb's chat spans)."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return False
    provider = trace.get_tracer_provider()
    return not isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


def otel_wanted(settings: Settings | None = None) -> bool:
    """Whether spans also go to OpenTelemetry: OTLP configured or a tracer provider given/set."""
    s = settings or _settings
    if s.otlp is not None or s.tracer_provider is not None:
        return bool(s.otlp or s.tracer_provider is not None)
    env = os.environ
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return env.get("OTEL_SDK_DISABLED", "").lower() != "true"
    return global_provider_set()
