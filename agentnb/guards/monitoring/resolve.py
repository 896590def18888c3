"""`resolve_monitors`: the `monitors` entries of a config → live `Monitor` objects."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Sequence
from typing import Any

from agentnb.config import ComponentRef
from agentnb.errors import ConfigProblem
from agentnb.guards.monitoring import builtin as _builtin  # noqa: F401  (registers built-ins)
from agentnb.guards.monitoring.monitor import REGISTRY, Monitor, MonitorDefinitionError

__all__ = ["resolve_monitors"]


def resolve_monitors(
    refs: Sequence[ComponentRef],
    given: Sequence[Monitor | None] = (),
    *,
    problems: list[ConfigProblem] | None = None,
) -> list[Monitor]:
    """One monitor per config entry: the `given` object it was made from, else a new one from
    the registry (built-ins and every `@monitor` of this process).

    `given[i]` (None for "none") is used for `refs[i]` when the names agree, as `Agent(...)`
    passes them; otherwise any given monitor with the entry's name and params is used.

    Raises `MonitorDefinitionError` (a `ValueError`) naming every bad entry; its `.problems`
    are `ConfigProblem`s with paths like `monitors[1].params`. Pass `problems` to collect them
    there instead and get the monitors that did resolve.

    >>> from agentnb.config import ComponentRef
    >>> [m.name for m in resolve_monitors([ComponentRef(name="latency")])]
    ['latency']
    """
    made: list[Monitor] = []
    found: list[ConfigProblem] = []
    seen: set[str] = set()
    for index, ref in enumerate(refs):
        path = f"monitors[{index}]"
        if ref.name in seen:
            # Findings carry the monitor's name, so two of one name could not be told apart.
            found.append(
                ConfigProblem(
                    path,
                    f"duplicate monitor {ref.name!r}",
                    "list each monitor once (one entry can hold several thresholds)",
                )
            )
            continue
        seen.add(ref.name)
        match = _given_for(ref, index, given)
        if match is None:
            match = _make(ref, path, found)
        if match is not None:
            made.append(match)
    if problems is not None:
        problems.extend(found)
    elif found:
        raise MonitorDefinitionError.from_problems(found)
    return made


def _given_for(ref: ComponentRef, index: int, given: Sequence[Monitor | None]) -> Monitor | None:
    aligned = given[index] if index < len(given) else None
    if aligned is not None and aligned.name == ref.name:
        return aligned
    return next(
        (m for m in given if m is not None and m.name == ref.name and m.params == ref.params),
        None,
    )


def _make(ref: ComponentRef, path: str, problems: list[ConfigProblem]) -> Monitor | None:
    factory = REGISTRY.get(ref.name)
    if factory is None:
        close = difflib.get_close_matches(ref.name, REGISTRY, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        problems.append(
            ConfigProblem(
                path,
                f"unknown monitor {ref.name!r}",
                f"{hint}define it with @monitor first, or pass it in monitors=[...] "
                f"(known: {', '.join(sorted(REGISTRY))})",
            )
        )
        return None
    accepted = _params_of(factory)
    unknown = [name for name in ref.params if accepted is not None and name not in accepted]
    for name in unknown:
        close = difflib.get_close_matches(name, accepted or (), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        problems.append(
            ConfigProblem(
                f"{path}.params.{name}",
                f"monitor {ref.name!r} has no param {name!r}",
                f"{hint}its params are {', '.join(accepted or ()) or 'none'}",
            )
        )
    if unknown:
        return None
    try:
        return factory(**ref.params)
    except (MonitorDefinitionError, TypeError) as exc:
        problems.append(
            ConfigProblem(
                f"{path}.params",
                str(exc),
                f"fix the params of monitor {ref.name!r} (got {ref.params!r})",
            )
        )
        return None


def _params_of(factory: Any) -> list[str] | None:
    """Keyword params a factory takes; None when it takes any (`**params`)."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return [p.name for p in parameters if p.kind is not inspect.Parameter.VAR_POSITIONAL]
