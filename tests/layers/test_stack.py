"""`wrap`: which layers, in which order, for which models; identity; validation; overhead."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agentnb.config import ResilienceSettings
from agentnb.errors import ConfigProblem
from agentnb.layers import (
    ORDER,
    FallbackLayer,
    Layer,
    RateLimitLayer,
    TimeoutLayer,
    check_resilience,
    is_remote,
    wrap,
)
from agentnb.models import FunctionModel
from agentnb.models.anthropic import AnthropicModel
from agentnb.models.base import Model
from agentnb.models.offline import OfflineModel
from agentnb.models.openai import OpenAIModel

Flaky = Callable[..., FunctionModel]


def layers(model: Model) -> list[str]:
    names = []
    while isinstance(model, Layer):
        names.append(type(model).__name__)
        model = model.models[0] if isinstance(model, FallbackLayer) else model.inner
    return names


def test_local_models_stay_bare_by_default() -> None:
    function = FunctionModel(lambda request: "hi")
    offline = OfflineModel()

    assert wrap(function, ResilienceSettings()) is function
    assert wrap(offline, ResilienceSettings()) is offline


def test_remote_models_get_timeout_retry_and_breaker_by_default() -> None:
    model = OpenAIModel("gpt-4.1-mini")

    layered = wrap(model, ResilienceSettings())

    assert layers(layered) == ["RetryLayer", "BreakerLayer", "TimeoutLayer"]
    assert (layered.id, layered.provider, layered.model_name) == (
        "openai:gpt-4.1-mini",
        "openai",
        "gpt-4.1-mini",
    )
    assert isinstance(layered, Model)


def test_every_layer_in_the_declared_order() -> None:
    settings = ResilienceSettings(requests_per_minute=60, fallback=["offline"])

    layered = wrap(AnthropicModel("claude-x"), settings)

    names = ["FallbackLayer", "RetryLayer", "BreakerLayer", "RateLimitLayer", "TimeoutLayer"]
    assert layers(layered) == names
    assert ORDER == ("fallback", "retry", "breaker", "rate_limit", "timeout")
    assert isinstance(layered, FallbackLayer)
    assert isinstance(layered.models[1], RateLimitLayer)  # the offline fallback: its limit only


def test_settings_turn_layers_off() -> None:
    settings = ResilienceSettings(
        request_timeout=None, stream_timeout=None, retries=0, breaker_threshold=None
    )
    model = OpenAIModel("gpt-4.1-mini")

    assert wrap(model, settings) is model


def test_a_model_says_whether_it_is_remote(flaky: Flaky) -> None:
    local_server = OpenAIModel("llama3.2", base_url="http://localhost:11434/v1")
    local_server.remote = False  # type: ignore[attr-defined]

    assert is_remote(flaky())
    assert not is_remote(local_server)
    assert wrap(local_server, ResilienceSettings()) is local_server
    assert layers(wrap(flaky(), ResilienceSettings())) == [
        "RetryLayer",
        "BreakerLayer",
        "TimeoutLayer",
    ]


def test_a_layered_model_is_not_wrapped_again() -> None:
    by_hand = TimeoutLayer(OpenAIModel("gpt-4.1-mini"), seconds=5)

    assert wrap(by_hand, ResilienceSettings()) is by_hand


def test_other_attributes_come_from_the_inner_model() -> None:
    model = OpenAIModel("gpt-4.1-mini")
    layered = wrap(model, ResilienceSettings())

    assert layered.aclose == model.aclose  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        _ = layered.no_such_thing  # type: ignore[attr-defined]
    assert repr(layered).startswith("RetryLayer(BreakerLayer(TimeoutLayer(OpenAIModel(")


def test_default_settings_have_no_problems() -> None:
    assert check_resilience(ResilienceSettings()) == []


def test_every_range_problem_at_once() -> None:
    settings = ResilienceSettings(
        request_timeout=0,
        retries=-1,
        backoff=-0.5,
        max_backoff=-1,
        breaker_threshold=0,
        breaker_reset=-3,
        requests_per_minute=0,
        tokens_per_minute=-5,
    )

    assert check_resilience(settings) == [
        ConfigProblem(
            "settings.resilience.request_timeout",
            "must be > 0 seconds (got 0.0)",
            "e.g. 120, or null for no limit",
        ),
        ConfigProblem(
            "settings.resilience.retries",
            "cannot be negative (got -1)",
            "use 0 to turn retries off",
        ),
        ConfigProblem(
            "settings.resilience.backoff", "cannot be negative (got -0.5)", "e.g. 0.5 (seconds)"
        ),
        ConfigProblem(
            "settings.resilience.max_backoff",
            "must be at least backoff (-0.5) (got -1.0)",
            "e.g. 30 (seconds)",
        ),
        ConfigProblem(
            "settings.resilience.breaker_threshold",
            "must be at least 1 (got 0)",
            "e.g. 5, or null to turn the circuit breaker off",
        ),
        ConfigProblem(
            "settings.resilience.breaker_reset", "must be > 0 seconds (got -3.0)", "e.g. 30"
        ),
        ConfigProblem(
            "settings.resilience.requests_per_minute",
            "must be at least 1 (got 0)",
            "e.g. 60, or null for no limit",
        ),
        ConfigProblem(
            "settings.resilience.tokens_per_minute",
            "must be at least 1 (got -5)",
            "e.g. 100000, or null for no limit",
        ),
    ]


def test_fallback_models_must_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    settings = ResilienceSettings(
        fallback=[
            "openai:gpt-4o",
            "antropic:claude",
            "anthropic:claude-x",
            "function:f",
            "offline",
            "openai:gpt-4o",
        ]
    )

    problems = check_resilience(settings)

    assert [str(p) for p in problems] == [
        "settings.resilience.fallback[1]: Unknown model provider 'antropic' in model "
        "'antropic:claude'. Did you mean 'anthropic'? Known providers: 'openai:…', "
        "'anthropic:…', 'offline', 'replay:…', 'function:…'.",
        "settings.resilience.fallback[2]: provider 'anthropic' needs an API key: set "
        "ANTHROPIC_API_KEY, or use model='offline' (or 'replay:<cassette>') to run without one",
        "settings.resilience.fallback[3]: model 'function:f' needs the Python function itself: "
        "pass model=FunctionModel(your_function) instead of a string",
        "settings.resilience.fallback[5]: duplicate model 'openai:gpt-4o' -> list each once",
    ]
