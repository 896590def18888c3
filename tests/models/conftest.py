"""Provider models wired to the local wire server: the real SDKs, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from agentnb.models.anthropic import AnthropicModel
from agentnb.models.base import Model, ModelRequest, ModelResponse, TextDelta
from agentnb.models.openai import OpenAIModel
from tests.wire_server import WireServer


@pytest.fixture
def wire() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server


@pytest.fixture
async def openai_model(wire: WireServer) -> AsyncIterator[OpenAIModel]:
    model = OpenAIModel("gpt-test", base_url=f"{wire.url}/v1", api_key="test-key")
    yield model
    await model.aclose()


@pytest.fixture
async def anthropic_model(wire: WireServer) -> AsyncIterator[AnthropicModel]:
    model = AnthropicModel("claude-test", base_url=wire.url, api_key="test-key")
    yield model
    await model.aclose()


Ask = Callable[[Model, ModelRequest], Awaitable[ModelResponse]]


@pytest.fixture(params=["request", "request_stream"])
def ask(request: pytest.FixtureRequest) -> Ask:
    """`model.request(...)`, or the response `model.request_stream(...)` ends with: a test taking
    this fixture runs once with each."""
    if request.param == "request":
        return lambda model, model_request: model.request(model_request)

    async def stream(model: Model, model_request: ModelRequest) -> ModelResponse:
        *deltas, response = [item async for item in model.request_stream(model_request)]
        assert all(isinstance(delta, TextDelta) for delta in deltas)
        assert isinstance(response, ModelResponse)
        return response

    return stream
