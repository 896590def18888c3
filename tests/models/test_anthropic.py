"""`AnthropicModel` through the real `anthropic` SDK, over HTTP, against the local wire server."""

from __future__ import annotations

import asyncio
import gc
import json
import warnings
from typing import TYPE_CHECKING, Any

import pytest

from agentnb.errors import (
    MalformedResponse,
    ModelAuthError,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
    ModelTimeout,
    ProviderServerError,
    RateLimited,
)
from agentnb.models.anthropic import AnthropicModel
from agentnb.models.base import (
    ModelRequest,
    ModelResponse,
    ModelSettings,
    OutputSchema,
    TextDelta,
    ToolDefinition,
)
from agentnb.models.messages import (
    AssistantMessage,
    Message,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from tests.wire_server import Call, Reply, WireServer

if TYPE_CHECKING:
    from tests.models.conftest import Ask

WEATHER = ToolDefinition(
    "get_weather",
    "The weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
FORECAST = OutputSchema(
    "forecast", {"type": "object", "properties": {"celsius": {"type": "number"}}}, "In Celsius."
)
HI = ModelRequest("", [UserMessage("hi")])
SSE = {"Content-Type": "text/event-stream"}


async def test_text_reply(anthropic_model: AnthropicModel, wire: WireServer, ask: Ask) -> None:
    wire.script(Reply(text="Hello there, friend", usage=(12, 3)))

    response = await ask(anthropic_model, ModelRequest("Be brief.", [UserMessage("hi")]))

    assert response == ModelResponse(
        AssistantMessage("Hello there, friend"),
        Usage(12, 3, 1),
        "claude-test",
        "end_turn",
        "msg_wire_1",
    )
    [sent] = wire.requests
    assert sent.path == "/v1/messages"
    assert sent.headers["authorization"] == "Bearer test-key"
    assert "anthropic-version" in sent.headers
    assert {k: v for k, v in sent.body.items() if k != "stream"} == {
        "model": "claude-test",
        "max_tokens": 4096,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "hi"}],
    }


async def test_request_translation(anthropic_model: AnthropicModel, wire: WireServer) -> None:
    request = ModelRequest(
        "You report the weather.",
        [
            UserMessage("Weather in Paris and Rome?"),
            AssistantMessage(
                "Checking both.",
                [
                    ToolCall("toolu_1", "get_weather", '{"city": "Paris"}'),
                    ToolCall("toolu_2", "get_weather", '{"city": "Rome"}'),
                ],
            ),
            ToolResultMessage("toolu_1", "get_weather", "18C, sunny"),
            ToolResultMessage("toolu_2", "get_weather", "no station", is_error=True),
            AssistantMessage("", [ToolCall("toolu_3", "get_weather", '{"city": "Roma"}')]),
            ToolResultMessage("toolu_3", "get_weather", "21C"),
        ],
        tools=[WEATHER],
        settings=ModelSettings(temperature=0.2, max_tokens=100),
    )

    await anthropic_model.request(request)

    assert wire.requests[0].body == {
        "model": "claude-test",
        "max_tokens": 100,
        "system": "You report the weather.",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking both."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                    {
                        "type": "tool_use",
                        "id": "toolu_2",
                        "name": "get_weather",
                        "input": {"city": "Rome"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": "18C, sunny",
                        "is_error": False,
                    },
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "content": "no station",
                        "is_error": True,
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_3",
                        "name": "get_weather",
                        "input": {"city": "Roma"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_3",
                        "content": "21C",
                        "is_error": False,
                    }
                ],
            },
        ],
        "tools": [
            {
                "name": "get_weather",
                "description": "The weather in a city.",
                "input_schema": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            }
        ],
        "temperature": 0.2,
    }


async def test_malformed_call_arguments_are_sent_as_an_empty_object(
    anthropic_model: AnthropicModel, wire: WireServer
) -> None:
    history: list[Message] = [
        UserMessage("Weather?"),
        AssistantMessage("", [ToolCall("call_1", "get_weather", '{"city": ')]),
        ToolResultMessage("call_1", "get_weather", "invalid arguments", is_error=True),
    ]

    await anthropic_model.request(ModelRequest("", history))

    assert wire.requests[0].body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}}
    ]


async def test_parallel_tool_calls(
    anthropic_model: AnthropicModel, wire: WireServer, ask: Ask
) -> None:
    calls = [Call("get_weather", {"city": "Paris"}), Call("get_weather", {"city": "Rome"})]
    wire.script(Reply(text="Checking.", calls=calls, usage=(20, 9)))

    response = await ask(
        anthropic_model, ModelRequest("", [UserMessage("Paris, Rome?")], [WEATHER])
    )

    assert response == ModelResponse(
        AssistantMessage(
            "Checking.",
            [
                ToolCall("toolu_1_0", "get_weather", '{"city": "Paris"}'),
                ToolCall("toolu_1_1", "get_weather", '{"city": "Rome"}'),
            ],
        ),
        Usage(20, 9, 1),
        "claude-test",
        "tool_use",
        "msg_wire_1",
    )


async def test_structured_output_is_offered_as_a_tool(
    anthropic_model: AnthropicModel, wire: WireServer
) -> None:
    await anthropic_model.request(
        ModelRequest("", [UserMessage("Paris?")], [WEATHER], output=FORECAST)
    )

    assert wire.requests[0].body["tools"] == [
        WEATHER.anthropic_schema(),
        {
            "name": "forecast",
            "description": "Give your final answer by calling this tool: its input is the answer. "
            "In Celsius.",
            "input_schema": {"type": "object", "properties": {"celsius": {"type": "number"}}},
        },
    ]


@pytest.mark.parametrize(
    "calls",
    [
        [Call("forecast", {"celsius": 18})],
        [Call("get_weather", {"city": "Paris"}), Call("forecast", {"celsius": 18})],
    ],
)
async def test_calling_the_output_tool_is_the_final_answer(
    anthropic_model: AnthropicModel, wire: WireServer, ask: Ask, calls: list[Call]
) -> None:
    wire.script(Reply(text="Here it is.", calls=calls, usage=(30, 8)))

    response = await ask(
        anthropic_model, ModelRequest("", [UserMessage("Paris?")], output=FORECAST)
    )

    assert response == ModelResponse(
        AssistantMessage('{"celsius": 18}'),
        Usage(30, 8, 1),
        "claude-test",
        "tool_use",
        "msg_wire_1",
    )


async def test_cached_prompt_tokens_count_as_input(
    anthropic_model: AnthropicModel, wire: WireServer
) -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 5,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 1000,
            "output_tokens": 2,
        },
    }
    wire.script(Reply(body=message))

    response = await anthropic_model.request(HI)

    assert response.usage == Usage(1105, 2, 1)


async def test_stream_text(anthropic_model: AnthropicModel, wire: WireServer) -> None:
    wire.script(Reply(text="Hello there, friend", usage=(9, 4)))

    items = [item async for item in anthropic_model.request_stream(HI)]

    assert items == [
        TextDelta("Hello "),
        TextDelta("there, "),
        TextDelta("friend"),
        ModelResponse(
            AssistantMessage("Hello there, friend"),
            Usage(9, 4, 1),
            "claude-test",
            "end_turn",
            "msg_wire_1",
        ),
    ]
    assert wire.requests[0].body == {
        "model": "claude-test",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    }


async def test_streamed_arguments_match_the_unstreamed_ones(
    anthropic_model: AnthropicModel, wire: WireServer
) -> None:
    args = {"city": "Paris", "days": [1, 2]}
    wire.script(Reply(calls=[Call("get_weather", args)]), Reply(calls=[Call("get_weather", args)]))
    request = ModelRequest("", [UserMessage("Paris?")], [WEATHER])

    whole = await anthropic_model.request(request)
    *_, streamed = [item async for item in anthropic_model.request_stream(request)]

    assert isinstance(streamed, ModelResponse)
    assert streamed.message.tool_calls[0].arguments == whole.message.tool_calls[0].arguments
    assert json.loads(whole.message.tool_calls[0].arguments) == args


def test_a_loop_shutting_down_closes_its_client(wire: WireServer) -> None:
    model = AnthropicModel("claude-test", base_url=wire.url, api_key="test-key")
    asyncio.run(model.request(HI))  # no aclose(): the loop's shutdown closes the connection

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del model
        gc.collect()

    assert [str(warning.message) for warning in caught] == []


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (
            Reply(status=401),
            ModelAuthError,
            "anthropic:claude-test (HTTP 401): the API key was rejected. Set ANTHROPIC_API_KEY "
            "(or pass `api_key=`) to a valid key with access to model 'claude-test'. The provider "
            "said: scripted error 401",
        ),
        (
            Reply(status=404),
            ModelNotFoundError,
            "anthropic:claude-test (HTTP 404): {url} does not know model 'claude-test'. Check the "
            "model name (and the base URL, if you set one). The provider said: scripted error 404",
        ),
        (
            Reply(status=529),
            ProviderServerError,
            "anthropic:claude-test (HTTP 529): the provider failed on its side. Retry later. "
            "The provider said: scripted error 529",
        ),
    ],
)
async def test_http_errors(
    anthropic_model: AnthropicModel,
    wire: WireServer,
    ask: Ask,
    reply: Reply,
    error: type[ModelError],
    message: str,
) -> None:
    wire.script(reply)

    with pytest.raises(error) as raised:
        await ask(anthropic_model, HI)

    assert str(raised.value) == message.format(url=wire.url)
    assert raised.value.status == reply.status
    assert len(wire.requests) == 1  # the SDK's own retries are off


async def test_rate_limited(anthropic_model: AnthropicModel, wire: WireServer, ask: Ask) -> None:
    wire.script(Reply(status=429, headers={"Retry-After": "12"}))

    with pytest.raises(RateLimited) as raised:
        await ask(anthropic_model, HI)

    assert raised.value.retry_after == 12.0
    assert str(raised.value) == (
        "anthropic:claude-test (HTTP 429): rate limited. Retry after 12s, or lower the request "
        "rate. The provider said: scripted error 429"
    )
    assert len(wire.requests) == 1


async def test_missing_api_key_fails_before_any_request(wire: WireServer) -> None:
    model = AnthropicModel("claude-test", base_url=wire.url)

    with pytest.raises(ModelAuthError) as raised:
        await model.request(HI)

    assert str(raised.value) == (
        "anthropic:claude-test: no API key. Set ANTHROPIC_API_KEY or pass `api_key=` to the model "
        "(any non-empty string for a local server that ignores keys)."
    )
    assert wire.requests == []


async def test_truncated_stream(anthropic_model: AnthropicModel, wire: WireServer) -> None:
    wire.script(Reply(text="an answer cut in the middle", truncate=True))
    stream = anthropic_model.request_stream(HI)

    assert [await anext(stream) for _ in range(3)] == [
        TextDelta("an "),
        TextDelta("answer "),
        TextDelta("cut "),
    ]
    with pytest.raises(MalformedResponse, match="stream ended before the response finished"):
        await anext(stream)
    assert len(wire.requests) == 1


async def test_stream_ending_without_message_stop(
    anthropic_model: AnthropicModel, wire: WireServer
) -> None:
    message: dict[str, Any] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
    ]
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    wire.script(Reply(body=body, headers=SSE))

    with pytest.raises(MalformedResponse) as raised:
        [item async for item in anthropic_model.request_stream(HI)]

    assert str(raised.value) == (
        "anthropic:claude-test: the stream ended before the response finished. Check that "
        f"{wire.url} serves the Anthropic Messages API; if it does, retry (a proxy may have cut "
        "the answer)."
    )


async def test_error_in_the_middle_of_a_stream(
    anthropic_model: AnthropicModel, wire: WireServer
) -> None:
    error = '{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}'
    wire.script(Reply(body=f"event: error\ndata: {error}\n\n", headers=SSE))

    with pytest.raises(ProviderServerError) as raised:
        [item async for item in anthropic_model.request_stream(HI)]

    assert str(raised.value) == (
        "anthropic:claude-test: the provider reported an error in the middle of its answer "
        "(Overloaded). Retry the request."
    )


@pytest.mark.parametrize("body", ["<html>Bad gateway</html>", {"unexpected": "shape"}])
async def test_malformed_json(
    anthropic_model: AnthropicModel, wire: WireServer, body: str | dict[str, str]
) -> None:
    wire.script(Reply(body=body))

    with pytest.raises(MalformedResponse, match="serves the Anthropic Messages API"):
        await anthropic_model.request(HI)


async def test_slow_answer_times_out(
    anthropic_model: AnthropicModel, wire: WireServer, ask: Ask
) -> None:
    wire.script(Reply(text="too late", delay=10))

    with pytest.raises(ModelTimeout) as raised:
        await ask(
            anthropic_model,
            ModelRequest("", [UserMessage("hi")], settings=ModelSettings(timeout=0.2)),
        )

    assert str(raised.value) == (
        f"anthropic:claude-test: no answer from {wire.url} within 0.2s. Raise the model's "
        "`timeout=` (or `settings.timeout`), or check whether the server is overloaded."
    )
    assert len(wire.requests) == 1


async def test_connection_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    model = AnthropicModel("claude-test", api_key="test-key")
    try:
        with pytest.raises(ModelConnectionError) as raised:
            await model.request(HI)
    finally:
        await model.aclose()

    assert str(raised.value).startswith(
        "anthropic:claude-test: the connection to http://127.0.0.1:9 failed ("
    )
    assert str(raised.value).endswith(
        "). Check that the server is running and the URL is right (`base_url=` on the model, "
        "or ANTHROPIC_BASE_URL)."
    )
