"""Shared plumbing of built-in guards: registration by kind and params that round-trip."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from agentnb.guards.guard import BUILTIN_GUARDS, Guard
from agentnb.guards.verdict import GuardPoint, OnFail

__all__ = ["BuiltinGuard"]


class BuiltinGuard(Guard):
    """A configurable guard whose params serialise into `AgentConfig.guards`."""

    kind: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        BUILTIN_GUARDS[cls.kind] = cls

    def __init__(
        self,
        params: dict[str, Any],
        *,
        name: str | None = None,
        points: Sequence[GuardPoint] | None = None,
        on_fail: OnFail | None = None,
    ) -> None:
        # Only what differs from the defaults is written to the config file.
        written = {k: v for k, v in params.items() if v is not None}
        if name is not None:
            written["name"] = name
        if points is not None:
            written["points"] = list(points)
        if on_fail is not None:
            written["on_fail"] = on_fail
        super().__init__(name=name, points=points, on_fail=on_fail, params=written)
