"""Config entries (`ComponentRef`) → guard objects, with problems instead of exceptions."""

from __future__ import annotations

import re
from collections.abc import Sequence

from agentnb.config import ComponentRef
from agentnb.errors import ConfigProblem, ToolDefinitionError
from agentnb.guards.guard import BUILTIN_GUARDS, GUARD_REGISTRY, Guard

__all__ = ["resolve_guards"]


def resolve_guards(
    refs: Sequence[ComponentRef], given: Sequence[Guard | None], problems: list[ConfigProblem]
) -> list[Guard]:
    """The guards of `refs`; `given[i]`, when not None, is the object `refs[i]` was made from."""
    import agentnb.guards.builtin  # noqa: F401  (registers the built-in kinds)

    resolved: list[Guard] = []
    names: set[str] = set()
    for i, ref in enumerate(refs):
        obj = given[i] if i < len(given) else None
        path = f"guards[{i}]"
        if obj is None:
            try:
                obj = _from_ref(ref)
            except (TypeError, ValueError, ToolDefinitionError) as exc:
                problems.append(
                    ConfigProblem(
                        path,
                        _explain(ref.name, exc),
                        "check its params against the guard's docs",
                    )
                )
                continue
            if obj is None:
                known = sorted({*BUILTIN_GUARDS, *GUARD_REGISTRY})
                problems.append(
                    ConfigProblem(
                        path,
                        f"unknown guard {ref.name!r}",
                        f"define it with @guard(...) first, or use a built-in: {', '.join(known)}",
                    )
                )
                continue
        if obj.name in names:
            problems.append(
                ConfigProblem(
                    path, f"duplicate guard name {obj.name!r}", "give one of them another name=..."
                )
            )
            continue
        names.add(obj.name)
        resolved.append(obj)
    return resolved


def _explain(name: str, exc: Exception) -> str:
    # "_Budget.__init__() got an unexpected keyword argument 'x'" → "unexpected ... 'x'"
    message = re.sub(r"^[\w.]*__init__\(\) (got an )?", "", str(exc))
    return message if message.startswith(f"guard {name!r}") else f"guard {name!r}: {message}"


def _from_ref(ref: ComponentRef) -> Guard | None:
    if ref.name in GUARD_REGISTRY:
        return GUARD_REGISTRY[ref.name].configured(ref.params)
    cls = BUILTIN_GUARDS.get(ref.name)
    return None if cls is None else cls(**ref.params)
