"""The error hierarchy: user mistakes and run failures under one root, with helpful messages."""

from __future__ import annotations

import agentnb.errors as errors
from agentnb.errors import (
    AgentnbError,
    ConfigError,
    ConfigProblem,
    GuardBlocked,
    MissingDependency,
    ModelError,
    RateLimited,
    RunError,
    ToolFailed,
    UserError,
)

EXPECTED_PARENTS = {
    "AgentnbError": "Exception",
    "UserError": "AgentnbError",
    "ConfigError": "UserError",
    "ToolDefinitionError": "UserError",
    "UnknownModelError": "UserError",
    "MissingDependency": "UserError",
    "RunError": "AgentnbError",
    "ModelError": "RunError",
    "ModelAuthError": "ModelError",
    "ModelNotFoundError": "ModelError",
    "RateLimited": "ModelError",
    "ProviderServerError": "ModelError",
    "ModelTimeout": "ModelError",
    "ModelConnectionError": "ModelError",
    "MalformedResponse": "ModelError",
    "CassetteMiss": "ModelError",
    "CircuitOpen": "ModelError",
    "ToolFailed": "RunError",
    "OutputInvalid": "RunError",
    "GuardBlocked": "RunError",
    "MaxStepsExceeded": "RunError",
}


def _exported_errors() -> dict[str, type[BaseException]]:
    return {
        name: getattr(errors, name)
        for name in errors.__all__
        if isinstance(getattr(errors, name), type)
        and issubclass(getattr(errors, name), BaseException)
    }


def test_hierarchy() -> None:
    exported = _exported_errors()
    assert {name: cls.__bases__[0].__name__ for name, cls in exported.items()} == EXPECTED_PARENTS
    assert all(len(cls.__bases__) == 1 for cls in exported.values())
    for name, cls in exported.items():
        assert issubclass(cls, AgentnbError), name
        if name not in ("AgentnbError", "UserError", "RunError"):
            # every error is exactly one of: a mistake to fix, or a failure during a run
            assert issubclass(cls, UserError) != issubclass(cls, RunError), name


def test_the_module_docstring_draws_every_error() -> None:
    tree = errors.__doc__ or ""
    assert [name for name in _exported_errors() if name not in tree] == []


def test_run_errors_carry_the_partial_result() -> None:
    assert RunError("x").result is None
    assert ToolFailed("t", "boom").result is None


def test_messages() -> None:
    assert str(ModelError("model not found", provider="openai", model="gpt-5x", status=404)) == (
        "openai:gpt-5x (HTTP 404): model not found"
    )
    assert str(ModelError("connection refused", provider="anthropic", model="c")) == (
        "anthropic:c: connection refused"
    )
    limited = RateLimited("slow down", retry_after=2.5, provider="openai", model="m", status=429)
    assert (str(limited), limited.retry_after, limited.status) == (
        "openai:m (HTTP 429): slow down",
        2.5,
        429,
    )
    assert str(MissingDependency("anthropic", "anthropic", "model 'anthropic:claude'")) == (
        "model 'anthropic:claude' needs anthropic: pip install 'agentnb[anthropic]'"
    )
    failed = ToolFailed("lookup", "timed out")
    assert (str(failed), failed.tool) == ("tool 'lookup': timed out", "lookup")
    blocked = GuardBlocked("pii", "tool_call", "an email address")
    assert str(blocked) == "guard 'pii' blocked the tool call: an email address"


def test_config_error_lists_every_problem() -> None:
    problems = [
        ConfigProblem("version", "'1.0' is not a semantic version", "write MAJOR.MINOR.PATCH"),
        ConfigProblem("model", "unknown provider"),
    ]
    error = ConfigError("fx", problems)
    assert str(error) == (
        "Agent config 'fx' has 2 problems:\n"
        "  - version: '1.0' is not a semantic version -> write MAJOR.MINOR.PATCH\n"
        "  - model: unknown provider"
    )
    assert (error.name, error.problems) == ("fx", problems)
    assert str(ConfigError("fx", problems[1:])).startswith("Agent config 'fx' has 1 problem:\n")


def test_config_problem_is_a_value() -> None:
    problem = ConfigProblem("tools[0]", "unknown tool 'x'", "define it")
    assert problem == ConfigProblem("tools[0]", "unknown tool 'x'", "define it")
    assert problem != ConfigProblem("tools[1]", "unknown tool 'x'", "define it")
    assert len({problem, ConfigProblem("tools[0]", "unknown tool 'x'", "define it")}) == 1
    assert repr(problem) == "ConfigProblem('tools[0]', \"unknown tool 'x'\", 'define it')"
