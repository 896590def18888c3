"""Fallback chain: to a second provider over HTTP, on an open breaker, streams, exhaustion."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from agentnb.config import ResilienceSettings
from agentnb.errors import MalformedResponse, ModelAuthError, ProviderServerError
from agentnb.layers import FallbackLayer, ManualClock, wrap
from agentnb.models import FunctionModel
from agentnb.models.anthropic import AnthropicModel
from agentnb.models.base import ModelResponse, StreamItem, TextDelta
from agentnb.models.openai import OpenAIModel
from tests.layers.conftest import HI, collect_events, drain, summary
from tests.wire_server import Reply, WireServer

if TYPE_CHECKING:
    from tests.models.conftest import Ask

Flaky = Callable[..., FunctionModel]


def server_error(model: str = "flaky") -> ProviderServerError:
    return ProviderServerError("down", provider="function", model=model, status=503)


async def test_falls_back_to_the_second_provider_over_http(
    openai_model: OpenAIModel,
    wire: WireServer,
    backup_model: AnthropicModel,
    second_wire: WireServer,
    ask: Ask,
) -> None:
    wire.script(*[Reply(status=503)] * 3)
    second_wire.script(Reply(text="the backup answers"))
    layered = wrap(openai_model, ResilienceSettings(), fallback=[backup_model], clock=ManualClock())

    with collect_events() as events:
        response = await ask(layered, HI)

    assert response.message.text == "the backup answers"
    assert response.model == "claude-backup"
    assert (len(wire.requests), len(second_wire.requests)) == (3, 1)
    assert summary(events) == [
        ("retry", "openai:gpt-test", None, 1),
        ("retry", "openai:gpt-test", None, 2),
        ("fallback", "anthropic:claude-backup", None, 1),
    ]
    assert events[-1].message.startswith("openai:gpt-test failed (ProviderServerError: ")
    assert events[-1].message.endswith("; falling back to anthropic:claude-backup")
    # Pricing and telemetry still see the agent's own model.
    assert (layered.id, layered.provider, layered.model_name) == (
        "openai:gpt-test",
        "openai",
        "gpt-test",
    )


async def test_fallback_models_resolve_from_the_settings(
    openai_model: OpenAIModel,
    wire: WireServer,
    second_wire: WireServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", second_wire.url)
    wire.script(Reply(status=500))
    second_wire.script(Reply(text="from settings"))
    settings = ResilienceSettings(retries=0, fallback=["anthropic:claude-backup"])
    layered = wrap(openai_model, settings)
    assert isinstance(layered, FallbackLayer)

    try:
        response = await layered.request(HI)
    finally:
        await layered.aclose()

    assert (response.message.text, response.model) == ("from settings", "claude-backup")


async def test_an_open_breaker_falls_back_without_calling_the_primary(flaky: Flaky) -> None:
    clock = ManualClock()
    primary = flaky(server_error(), server_error())
    backup = flaky(name="backup")
    settings = ResilienceSettings(retries=0, breaker_threshold=2)
    layered = wrap(primary, settings, fallback=[backup], clock=clock)
    for _ in range(2):
        await layered.request(HI)  # the primary fails, the backup answers
    calls = primary.function.calls  # type: ignore[attr-defined]

    with collect_events() as events:
        response = await layered.request(HI)

    assert response.model == "backup"
    assert primary.function.calls == calls == 2  # type: ignore[attr-defined]
    assert events[0].message.startswith("function:flaky failed (CircuitOpen: ")


async def test_the_last_error_is_raised_with_the_earlier_ones_noted(flaky: Flaky) -> None:
    rejected = ModelAuthError("bad key", provider="function", model="second", status=401)
    layered = FallbackLayer(
        flaky(server_error()),
        fallbacks=[flaky(rejected, name="second"), flaky(server_error("third"), name="third")],
    )

    with pytest.raises(ProviderServerError) as raised:
        await layered.request(HI)

    assert raised.value.model == "third"
    assert raised.value.__notes__ == [
        "fell back from function:flaky: function:flaky (HTTP 503): down",
        "fell back from function:second: function:second (HTTP 401): bad key",
    ]


async def test_a_stream_falls_back_only_before_its_first_piece(
    openai_model: OpenAIModel,
    wire: WireServer,
    backup_model: AnthropicModel,
    second_wire: WireServer,
) -> None:
    wire.script(Reply(text="one two three four five six", truncate=True))
    layered = FallbackLayer(openai_model, fallbacks=[backup_model])
    seen: list[StreamItem] = []

    with pytest.raises(MalformedResponse):
        await drain(layered.request_stream(HI), seen)

    assert seen
    assert all(isinstance(item, TextDelta) for item in seen)
    assert second_wire.requests == []


async def test_a_stream_falls_back_before_its_first_piece(
    openai_model: OpenAIModel,
    wire: WireServer,
    backup_model: AnthropicModel,
    second_wire: WireServer,
) -> None:
    wire.script(Reply(status=500))
    second_wire.script(Reply(text="backup stream"))
    layered = FallbackLayer(openai_model, fallbacks=[backup_model])

    items = [item async for item in layered.request_stream(HI)]

    assert [i.text for i in items if isinstance(i, TextDelta)] == ["backup ", "stream"]
    assert isinstance(items[-1], ModelResponse)
    assert items[-1].model == "claude-backup"
