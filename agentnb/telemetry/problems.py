"""What goes wrong when reading a telemetry store, said so that a user can act on it.

- `check_choice`: a filter that takes one of a few values (`status=`, `operation=`) refuses any
  other with the valid values and the closest one (`status="failed"` → "did you mean 'error'?"),
  instead of quietly matching nothing;
- `opening` / `reading`: LanceDB's own errors about a damaged or missing file (a truncated data
  fragment gives `lance error: … failed to fill whole buffer`, naming neither table nor file)
  become a `StoreUnreadable` naming the store, the table, its folder and what to do.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from agentnb.errors import AgentnbError, UserError

__all__ = ["StoreUnreadable", "check_choice", "opening", "reading"]

RUN_STATUSES = ("ok", "error", "cancelled", "blocked")
SPAN_STATUSES = ("ok", "error")
OPERATIONS = ("invoke_agent", "chat", "execute_tool", "guard", "monitor")

_SYNONYMS = {
    "failed": "error", "failure": "error", "fail": "error", "errored": "error", "err": "error",
    "exception": "error", "success": "ok", "succeeded": "ok", "successful": "ok", "passed": "ok",
    "done": "ok", "canceled": "cancelled", "cancel": "cancelled", "interrupted": "cancelled",
    "aborted": "cancelled", "stopped": "cancelled", "refused": "blocked", "denied": "blocked",
    "block": "blocked", "guarded": "blocked", "tool": "execute_tool", "tool_call": "execute_tool",
    "model": "chat", "llm": "chat", "agent": "invoke_agent", "run": "invoke_agent",
}  # fmt: skip
"""Words people use for a status or operation, and the stored value they mean."""


class StoreUnreadable(UserError):
    """A telemetry store, or one of its tables, cannot be read: the message names the store,
    the table, the folder and what to do."""

    def __init__(self, message: str, *, uri: str, table: str | None = None) -> None:
        super().__init__(message)
        self.uri = uri
        self.table = table


def check_choice(name: str, value: str | Sequence[str] | None, allowed: Sequence[str]) -> None:
    """Raise `UserError` if `value` (one value or several) holds anything outside `allowed`."""
    if value is None:
        return
    for v in [value] if isinstance(value, str) else value:
        if v in allowed:
            continue
        key = str(v).strip().lower()
        close = _SYNONYMS.get(key) if _SYNONYMS.get(key) in allowed else None
        if close is None and key in allowed:
            close = key
        close = close or next(iter(difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)), None)
        hint = f" Did you mean {close!r}?" if close else ""
        raise UserError(
            f"{name}={v!r} matches no stored value: use one of {', '.join(allowed)}.{hint}"
        )


_RUST_NOISE = re.compile(
    r"(lance error: )?LanceError\(\w+\): |(Generic \w+ error: )|, /\S+\.rs:\d+:\d+"
)
_LANCE_MAGIC = b"LANC"
"""The last bytes of every complete Lance data file."""


def _first_line(exc: BaseException) -> str:
    """LanceDB's message without its Rust source location and error-kind prefixes."""
    text = str(exc).strip().splitlines()
    return _RUST_NOISE.sub("", text[0])[:300] if text else type(exc).__name__


def _cut_short(folder: Path) -> list[Path]:
    """The data files under a table folder that do not end like a complete Lance file."""
    cut = []
    for file in sorted((folder / "data").glob("*.lance")):
        try:
            with file.open("rb") as f:
                f.seek(max(0, file.stat().st_size - len(_LANCE_MAGIC)))
                if f.read() != _LANCE_MAGIC:
                    cut.append(file)
        except OSError:
            cut.append(file)
    return cut


def _local(uri: str) -> Path | None:
    return None if "://" in uri else Path(uri)


@contextmanager
def opening(uri: str) -> Iterator[None]:
    """Around connecting to the store at `uri`: a path that is a file, or a store whose files
    cannot be read, raise `StoreUnreadable` saying so."""
    path = _local(uri)
    if path is not None and path.exists() and not path.is_dir():
        raise StoreUnreadable(
            f"the telemetry store path {uri} is a file, not a folder: point the store at a "
            "folder (--store DIR, AGENTNB_TELEMETRY_URI or telemetry.configure(uri=...)), or "
            "move the file away",
            uri=uri,
        )
    try:
        yield
    except AgentnbError:
        raise
    except (OSError, RuntimeError, ValueError) as exc:
        raise StoreUnreadable(
            f"cannot open the telemetry store at {uri}: {_first_line(exc)}. If its files were "
            f"damaged, restore the folder from a backup, or move it aside (the next run starts "
            "a new store there)",
            uri=uri,
        ) from exc


@contextmanager
def reading(uri: str, table: str) -> Iterator[None]:
    """Around a query of `table`: LanceDB's I/O errors (a truncated or missing data file)
    raise `StoreUnreadable` naming the table, its folder and what to do."""
    try:
        yield
    except AgentnbError:
        raise
    except (OSError, RuntimeError) as exc:
        raise damaged(uri, table, exc) from exc


def damaged(uri: str, table: str, exc: BaseException) -> StoreUnreadable:
    """The error for a table whose files cannot be read."""
    path = _local(uri)
    folder = path / f"{table}.lance" if path is not None else None
    cut = _cut_short(folder) if folder is not None and folder.is_dir() else []
    if cut:
        what = f"data file {', '.join(map(str, cut[:3]))} is cut short"
    else:
        what = f"a file under {folder or f'{uri}/{table}.lance'} is damaged or missing"
    return StoreUnreadable(
        f"the {table!r} table of the telemetry store at {uri} cannot be read: {what} "
        f"(LanceDB: {_first_line(exc)}). Restore {uri} from a backup, or move it aside to "
        "start a new store (its runs stay in the moved folder)",
        uri=uri,
        table=table,
    )
