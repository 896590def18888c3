"""`Monitor`: watches a run's events in the background and reports `Finding`s; `@monitor`.

A monitor never touches the run: the hub (`hub.py`) hands it events on a background thread,
after the fact. Everything it returns becomes a `MonitorFinding` on the run's result and in
telemetry. A monitor sees the events of one agent only, from one thread, so its rolling state
needs no locks.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union, overload

from agentnb.config import ComponentRef
from agentnb.errors import ConfigProblem, UserError
from agentnb.events import Event

__all__ = [
    "REGISTRY",
    "Finding",
    "FindingsLike",
    "FunctionMonitor",
    "Monitor",
    "MonitorDefinitionError",
    "MonitorFactory",
    "Severity",
    "as_findings",
    "monitor",
    "register",
]

Severity = Literal["info", "warning", "error"]
_SEVERITIES = ("info", "warning", "error")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


class MonitorDefinitionError(UserError, ValueError):
    """A monitor cannot be made as written: a bad name, severity, parameter or config entry.

    Also a `ValueError`. From `resolve_monitors`, `.problems` lists each bad config entry as a
    `ConfigProblem` (path, message, fix), ready to join a `ConfigError`.
    """

    problems: list[ConfigProblem]

    def __init__(self, message: str, problems: list[ConfigProblem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    @classmethod
    def from_problems(cls, problems: list[ConfigProblem]) -> MonitorDefinitionError:
        """One error listing every problem, one per line, keeping them in `.problems`."""
        lines = [f"{len(problems)} monitor problem{'s' * (len(problems) != 1)}:"]
        return cls("\n".join([*lines, *(f"  - {p}" for p in problems)]), problems)


@dataclass(frozen=True, slots=True)
class Finding:
    """What a monitor noticed about the run whose event it was looking at."""

    message: str
    severity: Severity = "warning"
    evidence: Mapping[str, Any] = field(default_factory=dict)
    """Numbers behind the message (thresholds, observed values, window sizes), JSON-friendly."""

    def __post_init__(self) -> None:
        if self.severity not in _SEVERITIES:
            raise ValueError(
                f"Finding severity must be one of {', '.join(_SEVERITIES)}; got {self.severity!r}"
            )


FindingsLike = Union[None, str, Finding, Iterable[Union[str, Finding]]]
"""What `observe` may return: nothing, a message, a `Finding`, or several of them."""


def as_findings(value: FindingsLike, severity: Severity) -> list[Finding]:
    """Normalise an `observe` return value; bare strings get `severity`.

    >>> as_findings(["slow", Finding("broken", "error")], "warning")[0].severity
    'warning'
    """
    if value is None:
        return []
    if isinstance(value, (str, Finding)):
        value = (value,)
    elif not isinstance(value, Iterable):
        value = (value,)  # reported below, by the same message as a wrong item
    found: list[Finding] = []
    for item in value:
        if isinstance(item, str):
            found.append(Finding(item, severity))
        elif isinstance(item, Finding):
            found.append(item)
        else:
            raise TypeError(
                f"a monitor returned {type(item).__name__}; return None, a str, a Finding "
                "or a list of them"
            )
    return found


class Monitor:
    """Base of every monitor: a name, the parameters it was made with, and `observe`.

    Subclass it for monitors with state (see `builtin.py`); use `@monitor` for a function.
    `ref` is how the monitor is written in an `AgentConfig` (`{name: latency, params: {...}}`),
    so a config made from live monitors round-trips through YAML.
    """

    name: str = "monitor"
    severity: Severity = "warning"
    """Severity of findings returned as bare strings."""
    kinds: frozenset[str] | None = None
    """Event kinds this monitor wants (None: all); the hub skips the rest without a call."""

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = params
        """The parameters as given (defaults left out, so configs stay short)."""

    @property
    def ref(self) -> ComponentRef:
        """How this monitor is written in an `AgentConfig`: its name and the params given."""
        return ComponentRef(name=self.name, params=dict(self.params))

    def observe(self, event: Event) -> FindingsLike:
        """Look at one event of a run; return what is worth reporting about that run."""
        return None

    def reset(self) -> None:
        """Forget rolling statistics (call after `hub.drain()`, not while events flow)."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({params})" if params else f"{type(self).__name__}()"


MonitorFactory = Callable[..., Monitor]
"""Makes a monitor from a config entry's params: `factory(**ref.params)`."""

REGISTRY: dict[str, MonitorFactory] = {}
"""Every monitor name a config may use: the built-ins and each `@monitor` in this process.

Re-running a cell that redefines a monitor replaces its entry (as with `@tool`).
"""


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise MonitorDefinitionError(
            f"monitor name {name!r} is not allowed: start with a letter or '_', then letters, "
            "digits, '_', '.' or '-' (at most 64), e.g. @monitor(name='slow_tools')"
        )


def register(name: str, factory: MonitorFactory) -> None:
    """Make `name` usable in configs (`monitors: [{name: ..., params: {...}}]`)."""
    _check_name(name)
    REGISTRY[name] = factory


class FunctionMonitor(Monitor):
    """A plain function as a monitor; calling the object calls the function unchanged."""

    def __init__(
        self,
        function: Callable[[Event], FindingsLike],
        *,
        name: str,
        severity: Severity = "warning",
        kinds: Iterable[str] | None = None,
    ) -> None:
        super().__init__()
        _check_name(name)
        if inspect.iscoroutinefunction(function):
            raise MonitorDefinitionError(
                f"monitor {name!r} is async; monitors run on a background thread without an "
                "event loop, so write it as a plain `def`"
            )
        if severity not in _SEVERITIES:
            raise MonitorDefinitionError(
                f"monitor {name!r}: severity must be one of {', '.join(_SEVERITIES)}; "
                f"got {severity!r}"
            )
        self.function = function
        self.name = name
        self.severity = severity
        self.kinds = None if kinds is None else frozenset(kinds)
        functools.update_wrapper(self, function)  # keeps the docstring for help() in notebooks

    def __call__(self, event: Event) -> FindingsLike:
        """Call the function unchanged, so a monitor stays usable as the plain function it was."""
        return self.function(event)

    def observe(self, event: Event) -> FindingsLike:
        """The function's findings for `event`."""
        return self.function(event)

    def __repr__(self) -> str:
        return f"FunctionMonitor({self.name!r}, severity={self.severity!r})"


def _fixed(made: FunctionMonitor) -> MonitorFactory:
    """A registry entry for a function monitor: it has no params, so it is its own instance."""

    def factory(**params: Any) -> Monitor:
        if params:
            raise MonitorDefinitionError(
                f"it is the function {made.function.__qualname__} and takes no params"
            )
        return made

    return factory


@overload
def monitor(function: Callable[[Event], FindingsLike], /) -> FunctionMonitor: ...


@overload
def monitor(
    *,
    name: str | None = None,
    severity: Severity = "warning",
    kinds: Iterable[str] | None = None,
) -> Callable[[Callable[[Event], FindingsLike]], FunctionMonitor]: ...


def monitor(
    function: Callable[[Event], FindingsLike] | None = None,
    /,
    *,
    name: str | None = None,
    severity: Severity = "warning",
    kinds: Iterable[str] | None = None,
) -> FunctionMonitor | Callable[[Callable[[Event], FindingsLike]], FunctionMonitor]:
    """Turn `function(event)` into a monitor; bare (`@monitor`) or with options.

    The function runs on a background thread for every event of every run of the agents it
    is given to (only events whose `kind` is in `kinds`, when given). Return None (nothing to
    say), a message (a finding of `severity`), a `Finding`, or a list of them.

    >>> @monitor
    ... def slow_tools(event):
    ...     if event.kind == "tool_call_finished" and event.duration > 1.0:
    ...         return f"{event.call.name} took {event.duration:.1f} s"
    >>> slow_tools.ref.name
    'slow_tools'
    """

    def wrap(fn: Callable[[Event], FindingsLike]) -> FunctionMonitor:
        made = FunctionMonitor(fn, name=name or fn.__name__, severity=severity, kinds=kinds)
        register(made.name, _fixed(made))
        return made

    return wrap(function) if function is not None else wrap
