"""Guards: checks that run synchronously with the run, before an action takes effect."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agentnb.config import ComponentRef
from agentnb.errors import ToolDefinitionError
from agentnb.guards.verdict import GUARD_POINTS, GuardPoint, OnFail, Verdict
from agentnb.models.messages import Message, Usage
from agentnb.runs.guard_errors import error_reason

__all__ = [
    "BUILTIN_GUARDS",
    "GUARD_REGISTRY",
    "FunctionGuard",
    "Guard",
    "GuardContext",
    "ToolCallView",
    "ToolResultView",
    "guard",
    "is_error",
    "run_check",
]

_ON_FAIL: frozenset[str] = frozenset(
    ("raise", "refuse", "reask", "skip", "redact", "rewrite", "warn")
)


@dataclass(slots=True)
class GuardContext:
    """What a guard may read about the run it is checking (guards taking two arguments get it)."""

    run_id: str
    agent: str
    prompt: str
    messages: list[Message]
    started: float
    step: int = 0
    usage: Usage = field(default_factory=Usage)
    cost: float | None = 0.0
    tool_calls: int = 0

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.perf_counter() - self.started


@dataclass(slots=True)
class ToolCallView:
    """A tool call about to run: `args` are the validated arguments as a dict."""

    name: str
    args: dict[str, Any]
    id: str


@dataclass(slots=True)
class ToolResultView:
    """A tool's result before the model sees it: `content` is the text the model would read."""

    name: str
    args: dict[str, Any]
    content: str
    value: Any


class Guard:
    """Base of every guard: a name, the points it checks, what to do when it blocks.

    Subclasses implement `check(subject, ctx)` (sync or async) returning a `Verdict`, a bool,
    None (pass) or a replacement value (rewrite).
    """

    kind: ClassVar[str] = "guard"
    """The name built-in guards are registered under (what a config file writes)."""
    default_points: ClassVar[tuple[GuardPoint, ...]] = ()
    default_on_fail: ClassVar[OnFail | None] = None

    def __init__(
        self,
        *,
        name: str | None = None,
        points: Sequence[GuardPoint] | None = None,
        on_fail: OnFail | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.name = name or self.kind
        self.points: tuple[GuardPoint, ...] = tuple(points or self.default_points)
        bad = [p for p in self.points if p not in GUARD_POINTS]
        if bad or not self.points:
            raise ToolDefinitionError(
                f"guard {self.name!r}: unknown guard point(s) {bad or self.points}; "
                f"use one of {', '.join(GUARD_POINTS)}"
            )
        if on_fail is not None and on_fail not in _ON_FAIL:
            raise ToolDefinitionError(
                f"guard {self.name!r}: on_fail={on_fail!r} is not one of "
                f"{', '.join(sorted(_ON_FAIL))}"
            )
        self.on_fail: OnFail | None = on_fail or self.default_on_fail
        self.params = dict(params or {})
        self._takes_ctx = True

    @property
    def ref(self) -> ComponentRef:
        """How this guard is written in an `AgentConfig`."""
        return ComponentRef(name=self.kind, params=self.params)

    def check(self, subject: Any, ctx: GuardContext) -> Any:
        """Decide about `subject` (the input, call, result or output at this point).

        Returns a `Verdict`, a bool, None (pass) or a replacement value (rewrite); may be async.
        An exception blocks, reported with outcome `error`.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, points={list(self.points)})"


class FunctionGuard(Guard):
    """A plain function as a guard (made by `@guard`)."""

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        points: Sequence[GuardPoint],
        name: str | None = None,
        on_fail: OnFail | None = None,
    ) -> None:
        self.kind = name or function.__name__  # type: ignore[misc]  # registered under its own name
        params: dict[str, Any] = {}
        if on_fail is not None:
            params["on_fail"] = on_fail
        super().__init__(name=self.kind, points=points, on_fail=on_fail, params=params)
        self.function = function
        positional = [
            p
            for p in inspect.signature(function).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        self._takes_ctx = len(positional) >= 2

    def check(self, subject: Any, ctx: GuardContext) -> Any:
        """Call the function with `subject`, and with `ctx` when it takes a second argument."""
        return self.function(subject, ctx) if self._takes_ctx else self.function(subject)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function unchanged, so a guard stays usable as the plain function it was."""
        return self.function(*args, **kwargs)

    def configured(self, params: dict[str, Any]) -> FunctionGuard:
        """This guard with config overrides (`on_fail`, `points`) from a config file."""
        unknown = set(params) - {"on_fail", "points"}
        if unknown:
            raise ValueError(f"function guards take only on_fail and points, not {sorted(unknown)}")
        if not params:
            return self
        return FunctionGuard(
            self.function,
            points=params.get("points", self.points),
            name=self.name,
            on_fail=params.get("on_fail", self.on_fail),
        )


GUARD_REGISTRY: dict[str, FunctionGuard] = {}
"""Every `@guard` function defined in this process, by name (re-running a cell replaces it)."""

BUILTIN_GUARDS: dict[str, type[Guard]] = {}
"""Built-in guard classes by `kind`; filled as `agentnb.guards.builtin` modules load."""


def guard(
    point: GuardPoint, /, *more: GuardPoint, name: str | None = None, on_fail: OnFail | None = None
) -> Callable[[Callable[..., Any]], FunctionGuard]:
    """Make a function a guard at one or more points.

    >>> @guard("tool_call")
    ... def small_refunds(call):
    ...     return call.name != "refund" or call.args["amount"] <= 100
    """

    def wrap(function: Callable[..., Any]) -> FunctionGuard:
        made = FunctionGuard(function, points=(point, *more), name=name, on_fail=on_fail)
        GUARD_REGISTRY[made.name] = made
        return made

    return wrap


async def run_check(g: Guard, subject: Any, ctx: GuardContext) -> Verdict:
    """The guard's verdict; a guard that raises blocks (it never passes silently)."""
    try:
        answer = g.check(subject, ctx)
        if inspect.isawaitable(answer):
            answer = await answer
    except Exception as exc:
        return Verdict("block", error_reason(exc), _ERROR)
    return normalise(answer, g.name)


_ERROR = object()
"""Marks a verdict that came from a guard raising, so it is reported with outcome `error`."""


def normalise(answer: Any, name: str) -> Verdict:
    if answer is None or answer is True:
        return _PASS
    if answer is False:
        return Verdict("block", f"{name} returned False")
    if isinstance(answer, Verdict):
        return answer
    return Verdict("rewrite", f"{name} rewrote the value", answer)


_PASS = Verdict("pass")


def is_error(verdict: Verdict) -> bool:
    """True when `verdict` is the block of a guard that raised, not one it decided."""
    return verdict.value is _ERROR
