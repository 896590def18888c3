"""Every error agentnb raises, rooted at `AgentnbError`.

```
AgentnbError
├── UserError                 what the user wrote is wrong (fix the cell, the config, the signature)
│   ├── ConfigError           every problem of an AgentConfig at once, with field path and fix
│   ├── ToolDefinitionError   a function that cannot become a tool
│   ├── UnknownModelError     a model string no provider understands
│   └── MissingDependency     an optional extra is not installed
└── RunError                  something failed while an agent ran
    ├── ModelError            a provider call failed (provider, model, status)
    │   ├── ModelAuthError, ModelNotFoundError, RateLimited, ProviderServerError,
    │   ├── ModelTimeout, ModelConnectionError, MalformedResponse
    │   ├── CassetteMiss      a replayed request is not in the cassette
    │   └── CircuitOpen       a circuit breaker refused the call: the provider+model kept failing
    ├── ToolFailed            a tool raised, timed out, or kept receiving invalid arguments
    ├── OutputInvalid         the final output kept failing validation against `output_type`
    ├── GuardBlocked          a guard with on_fail="raise" blocked an action
    └── MaxStepsExceeded      the run hit `settings.max_steps`
```
Run errors carry the partial `RunResult` as `.result` once the run loop has recorded it.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AgentnbError",
    "CassetteMiss",
    "CircuitOpen",
    "ConfigError",
    "ConfigProblem",
    "GuardBlocked",
    "MalformedResponse",
    "MaxStepsExceeded",
    "MissingDependency",
    "ModelAuthError",
    "ModelConnectionError",
    "ModelError",
    "ModelNotFoundError",
    "ModelTimeout",
    "OutputInvalid",
    "ProviderServerError",
    "RateLimited",
    "RunError",
    "ToolDefinitionError",
    "ToolFailed",
    "UnknownModelError",
    "UserError",
]


class AgentnbError(Exception):
    """Root of every error agentnb raises."""


class UserError(AgentnbError):
    """Something the user wrote (a config, a tool signature, a cell) needs fixing."""


class ConfigProblem:
    """One problem found while validating a config: where, what, and how to fix it."""

    __slots__ = ("fix", "message", "path")

    def __init__(self, path: str, message: str, fix: str = "") -> None:
        self.path = path
        self.message = message
        self.fix = fix

    def __repr__(self) -> str:
        return f"ConfigProblem({self.path!r}, {self.message!r}, {self.fix!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConfigProblem) and (self.path, self.message, self.fix) == (
            other.path,
            other.message,
            other.fix,
        )

    def __hash__(self) -> int:
        return hash((self.path, self.message, self.fix))

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}"
        return f"{text} -> {self.fix}" if self.fix else text


class ConfigError(UserError):
    """An `AgentConfig` failed validation; `.problems` lists every problem found."""

    def __init__(self, name: str, problems: list[ConfigProblem]) -> None:
        self.name = name
        self.problems = problems
        count = len(problems)
        lines = [f"Agent config {name!r} has {count} problem{'s' if count != 1 else ''}:"]
        lines += [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))


class ToolDefinitionError(UserError):
    """A function cannot be turned into a tool (unsupported signature, bad override)."""


class UnknownModelError(UserError):
    """A model string names no known provider."""


class MissingDependency(UserError):
    """An optional dependency is needed for this feature."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(f"{feature} needs {package}: pip install 'agentnb[{extra}]'")


class RunError(AgentnbError):
    """A failure while an agent was running."""

    result: Any = None
    """The partial `agentnb.agents.RunResult`, once the run loop has recorded it (typed `Any`:
    errors sit at the bottom of the stack and name no type of the layers above)."""


class ModelError(RunError):
    """A model provider call failed."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str,
        status: int | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.status = status
        where = f"{provider}:{model}" + (f" (HTTP {status})" if status is not None else "")
        super().__init__(f"{where}: {message}")


class ModelAuthError(ModelError):
    """The provider rejected the credentials (401/403)."""


class ModelNotFoundError(ModelError):
    """The provider does not know the model (404)."""


class RateLimited(ModelError):
    """The provider asked us to slow down (429); `retry_after` is in seconds when it said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class ProviderServerError(ModelError):
    """The provider failed on its side (5xx)."""


class ModelTimeout(ModelError):
    """The provider did not answer in time."""


class ModelConnectionError(ModelError):
    """The provider could not be reached."""


class MalformedResponse(ModelError):
    """The provider answered with something that is not a valid response (or a cut stream)."""


class CassetteMiss(ModelError):
    """A replayed request has no recorded response in the cassette."""


class ToolFailed(RunError):
    """A tool raised, timed out, or its arguments kept failing validation."""

    def __init__(self, tool: str, message: str) -> None:
        self.tool = tool
        super().__init__(f"tool {tool!r}: {message}")


class OutputInvalid(RunError):
    """The model's final output kept failing validation against the agent's `output_type`."""


class GuardBlocked(RunError):
    """A guard with `on_fail="raise"` blocked an action."""

    def __init__(self, guard: str, point: str, reason: str) -> None:
        self.guard = guard
        self.point = point
        self.reason = reason
        super().__init__(f"guard {guard!r} blocked the {point.replace('_', ' ')}: {reason}")


class MaxStepsExceeded(RunError):
    """The run used `settings.max_steps` model turns without producing a final output."""


class CircuitOpen(ModelError):
    """A circuit breaker refused the call because its provider+model kept failing.

    `retry_after` is the number of seconds until the breaker lets a probe request through.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)
