"""`check_resilience`: every problem of `settings.resilience`, in `AgentConfig.validate()` style."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentnb.errors import AgentnbError, ConfigProblem
from agentnb.models.registry import credentials_problem, resolve_model

if TYPE_CHECKING:
    from agentnb.config import ResilienceSettings

__all__ = ["check_resilience"]


def check_resilience(
    settings: ResilienceSettings, *, path: str = "settings.resilience"
) -> list[ConfigProblem]:
    """Ranges, and that each fallback model resolves and has its credentials.

    >>> from agentnb.config import ResilienceSettings
    >>> for problem in check_resilience(ResilienceSettings(retries=-1, breaker_reset=0)):
    ...     print(problem)
    settings.resilience.retries: cannot be negative (got -1) -> use 0 to turn retries off
    settings.resilience.breaker_reset: must be > 0 seconds (got 0.0) -> e.g. 30
    """
    s = settings
    checks = [
        (
            "request_timeout",
            s.request_timeout is not None and s.request_timeout <= 0,
            "must be > 0 seconds",
            "e.g. 120, or null for no limit",
        ),
        ("retries", s.retries < 0, "cannot be negative", "use 0 to turn retries off"),
        ("backoff", s.backoff < 0, "cannot be negative", "e.g. 0.5 (seconds)"),
        (
            "max_backoff",
            s.max_backoff < s.backoff,
            f"must be at least backoff ({s.backoff:g})",
            "e.g. 30 (seconds)",
        ),
        (
            "breaker_threshold",
            s.breaker_threshold is not None and s.breaker_threshold < 1,
            "must be at least 1",
            "e.g. 5, or null to turn the circuit breaker off",
        ),
        ("breaker_reset", s.breaker_reset <= 0, "must be > 0 seconds", "e.g. 30"),
        (
            "requests_per_minute",
            s.requests_per_minute is not None and s.requests_per_minute < 1,
            "must be at least 1",
            "e.g. 60, or null for no limit",
        ),
        (
            "tokens_per_minute",
            s.tokens_per_minute is not None and s.tokens_per_minute < 1,
            "must be at least 1",
            "e.g. 100000, or null for no limit",
        ),
    ]
    problems = [
        ConfigProblem(f"{path}.{field}", f"{message} (got {getattr(s, field)!r})", fix)
        for field, bad, message, fix in checks
        if bad
    ]
    seen: set[str] = set()
    for i, spec in enumerate(s.fallback):
        where = f"{path}.fallback[{i}]"
        if spec in seen:
            problems.append(ConfigProblem(where, f"duplicate model {spec!r}", "list each once"))
            continue
        seen.add(spec)
        try:
            missing = credentials_problem(spec)
            if missing is None:
                resolve_model(spec)
        except AgentnbError as exc:  # an unknown provider, or one that needs an object
            problems.append(ConfigProblem(where, str(exc)))
        else:
            if missing is not None:
                problems.append(ConfigProblem(where, missing))
    return problems
