"""`OpenAIModel` through the real `openai` SDK, over HTTP, against the local wire server."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import AsyncGenerator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import TYPE_CHECKING

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
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from agentnb.models.openai import OpenAIModel, _max_tokens_field
from tests.wire_server import Call, Reply, WireServer

if TYPE_CHECKING:
    from tests.models.conftest import Ask

WEATHER = ToolDefinition(
    "get_weather",
    "The weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
HI = ModelRequest("", [UserMessage("hi")])
SSE = {"Content-Type": "text/event-stream"}


async def test_text_reply(openai_model: OpenAIModel, wire: WireServer, ask: Ask) -> None:
    wire.script(Reply(text="Hello there, friend", usage=(12, 3)))

    response = await ask(openai_model, ModelRequest("Be brief.", [UserMessage("hi")]))

    assert response == ModelResponse(
        AssistantMessage("Hello there, friend"),
        Usage(12, 3, 1),
        "gpt-test",
        "stop",
        "chatcmpl-wire-1",
    )
    [sent] = wire.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer test-key"
    assert sent.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]


async def test_request_translation(openai_model: OpenAIModel, wire: WireServer) -> None:
    request = ModelRequest(
        "You report the weather.",
        [
            UserMessage("Weather in Paris and Rome?"),
            AssistantMessage(
                "Checking both.",
                [
                    ToolCall("call_1", "get_weather", '{"city": "Paris"}'),
                    ToolCall("call_2", "get_weather", '{"city": "Rome"}'),
                ],
            ),
            ToolResultMessage("call_1", "get_weather", "18C, sunny"),
            ToolResultMessage("call_2", "get_weather", "error: no station", is_error=True),
            AssistantMessage("", [ToolCall("call_3", "get_weather", '{"city": "Roma"}')]),
            ToolResultMessage("call_3", "get_weather", "21C"),
        ],
        tools=[WEATHER],
        settings=ModelSettings(temperature=0.2, max_tokens=100),
    )

    await openai_model.request(request)

    assert wire.requests[0].body == {
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "You report the weather."},
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": "Checking both.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C, sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": "error: no station"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_3",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Roma"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_3", "content": "21C"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "The weather in a city.",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                },
            }
        ],
        "temperature": 0.2,
        "max_tokens": 100,
    }


def test_max_tokens_field_follows_the_server() -> None:
    assert _max_tokens_field("api.openai.com") == "max_completion_tokens"
    assert _max_tokens_field("localhost") == "max_tokens"


async def test_parallel_tool_calls(openai_model: OpenAIModel, wire: WireServer, ask: Ask) -> None:
    calls = [Call("get_weather", {"city": "Paris"}), Call("get_weather", {"city": "Rome"})]
    wire.script(Reply(text="Checking.", calls=calls, usage=(20, 9)))

    response = await ask(openai_model, ModelRequest("", [UserMessage("Paris, Rome?")], [WEATHER]))

    assert response == ModelResponse(
        AssistantMessage(
            "Checking.",
            [
                ToolCall("call_1_0", "get_weather", '{"city": "Paris"}'),
                ToolCall("call_1_1", "get_weather", '{"city": "Rome"}'),
            ],
        ),
        Usage(20, 9, 1),
        "gpt-test",
        "tool_calls",
        "chatcmpl-wire-1",
    )


async def test_structured_output(openai_model: OpenAIModel, wire: WireServer, ask: Ask) -> None:
    schema = {"type": "object", "properties": {"celsius": {"type": "number"}}}
    output = OutputSchema("forecast", schema, "Tomorrow's temperature.")
    wire.script(Reply(text='{"celsius": 18}'))

    response = await ask(openai_model, ModelRequest("", [UserMessage("Paris?")], output=output))

    assert response.message == AssistantMessage('{"celsius": 18}')
    assert wire.requests[0].body["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "forecast",
            "schema": schema,
            "description": "Tomorrow's temperature.",
            "strict": False,
        },
    }


async def test_refusal_is_kept_as_the_text(openai_model: OpenAIModel, wire: WireServer) -> None:
    message = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    completion = {"id": "c1", "object": "chat.completion", "model": "gpt-test", "choices": [choice]}
    wire.script(Reply(body=completion))  # and no usage, as some compatible servers answer

    response = await openai_model.request(HI)

    assert response == ModelResponse(
        AssistantMessage("I can't help with that."), Usage(0, 0, 1), "gpt-test", "stop", "c1"
    )


async def test_stream_text(openai_model: OpenAIModel, wire: WireServer) -> None:
    wire.script(Reply(text="Hello there, friend", usage=(9, 4)))

    items = [item async for item in openai_model.request_stream(HI)]

    assert items == [
        TextDelta("Hello "),
        TextDelta("there, "),
        TextDelta("friend"),
        ModelResponse(
            AssistantMessage("Hello there, friend"),
            Usage(9, 4, 1),
            "gpt-test",
            "stop",
            "chatcmpl-wire-1",
        ),
    ]
    assert wire.requests[0].body == {
        "model": "gpt-test",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def test_stream_left_early_releases_the_connection(
    openai_model: OpenAIModel, wire: WireServer
) -> None:
    wire.script(Reply(text="one two three"), Reply(text="again"))
    stream = openai_model.request_stream(HI)
    assert isinstance(stream, AsyncGenerator)
    assert await anext(stream) == TextDelta("one ")
    await stream.aclose()

    assert (await openai_model.request(HI)).message == AssistantMessage("again")


async def test_default_replies_call_the_first_tool_then_echo(
    openai_model: OpenAIModel, wire: WireServer
) -> None:
    wire.default_tool_args = {"city": "Paris"}
    question = UserMessage("Weather in Paris?")

    first = await openai_model.request(ModelRequest("", [question], [WEATHER]))
    [call] = first.message.tool_calls
    result = ToolResultMessage(call.id, call.name, "18C")
    second = await openai_model.request(
        ModelRequest("", [question, first.message, result], [WEATHER])
    )

    assert call == ToolCall("call_1_0", "get_weather", '{"city": "Paris"}')
    assert second.message == AssistantMessage("echo: Weather in Paris?")


async def test_base_url_from_environment(wire: WireServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", f"{wire.url}/v1")
    model = OpenAIModel("gpt-test", api_key="test-key")
    try:
        assert (await model.request(HI)).message == AssistantMessage("echo: hi")
    finally:
        await model.aclose()


async def test_one_model_serves_several_event_loops(openai_model: OpenAIModel) -> None:
    """A kernel's loop and agentnb's background loop share models; each needs its own client."""
    here = ModelRequest("", [UserMessage("from the test's loop")])
    await openai_model.request(here)

    there = await asyncio.to_thread(
        asyncio.run, openai_model.request(ModelRequest("", [UserMessage("from a thread")]))
    )

    assert there.message == AssistantMessage("echo: from a thread")
    assert (await openai_model.request(here)).message == AssistantMessage(
        "echo: from the test's loop"
    )


def test_a_loop_shutting_down_closes_its_client(wire: WireServer) -> None:
    model = OpenAIModel("gpt-test", base_url=f"{wire.url}/v1", api_key="test-key")
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
            "openai:gpt-test (HTTP 401): the API key was rejected. Set OPENAI_API_KEY (or pass "
            "`api_key=`) to a valid key with access to model 'gpt-test'. The provider said: "
            "scripted error 401",
        ),
        (
            Reply(status=403),
            ModelAuthError,
            "openai:gpt-test (HTTP 403): the API key may not do this. Set OPENAI_API_KEY (or pass "
            "`api_key=`) to a valid key with access to model 'gpt-test'. The provider said: "
            "scripted error 403",
        ),
        (
            Reply(status=404),
            ModelNotFoundError,
            "openai:gpt-test (HTTP 404): {url}/v1/ does not know model 'gpt-test'. Check the model "
            "name (and the base URL, if you set one). The provider said: scripted error 404",
        ),
        (
            Reply(status=500),
            ProviderServerError,
            "openai:gpt-test (HTTP 500): the provider failed on its side. Retry later. "
            "The provider said: scripted error 500",
        ),
        (
            Reply(status=400),
            ModelError,
            "openai:gpt-test (HTTP 400): the request was refused. Check the settings sent (model, "
            "max_tokens, tools, output schema) against what the OpenAI Chat Completions API "
            "accepts. The provider said: scripted error 400",
        ),
    ],
)
async def test_http_errors(
    openai_model: OpenAIModel,
    wire: WireServer,
    ask: Ask,
    reply: Reply,
    error: type[ModelError],
    message: str,
) -> None:
    wire.script(reply)

    with pytest.raises(error) as raised:
        await ask(openai_model, HI)

    assert type(raised.value) is error
    assert str(raised.value) == message.format(url=wire.url)
    assert raised.value.status == reply.status
    assert len(wire.requests) == 1  # the SDK's own retries are off


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "7", "retry-after-ms": "1500"}, 1.5),
        ({}, None),
    ],
)
async def test_rate_limited(
    openai_model: OpenAIModel,
    wire: WireServer,
    ask: Ask,
    headers: dict[str, str],
    retry_after: float | None,
) -> None:
    wire.script(Reply(status=429, headers=headers))

    with pytest.raises(RateLimited) as raised:
        await ask(openai_model, HI)

    assert raised.value.retry_after == retry_after
    assert raised.value.status == 429
    assert len(wire.requests) == 1


async def test_retry_after_as_http_date(openai_model: OpenAIModel, wire: WireServer) -> None:
    in_30s = datetime.now(timezone.utc) + timedelta(seconds=30)
    wire.script(Reply(status=429, headers={"Retry-After": format_datetime(in_30s, usegmt=True)}))

    with pytest.raises(RateLimited) as raised:
        await openai_model.request(HI)

    assert raised.value.retry_after == pytest.approx(29.5, abs=1)  # HTTP dates drop the fraction


async def test_missing_api_key_fails_before_any_request(wire: WireServer) -> None:
    model = OpenAIModel("gpt-test", base_url=f"{wire.url}/v1")

    with pytest.raises(ModelAuthError) as raised:
        await model.request(HI)

    assert str(raised.value) == (
        "openai:gpt-test: no API key. Set OPENAI_API_KEY or pass `api_key=` to the model (any "
        "non-empty string for a local server that ignores keys)."
    )
    assert wire.requests == []


async def test_truncated_stream(openai_model: OpenAIModel, wire: WireServer) -> None:
    wire.script(Reply(text="an answer cut in the middle", truncate=True))
    stream = openai_model.request_stream(HI)

    assert [await anext(stream) for _ in range(4)] == [
        TextDelta("an "),
        TextDelta("answer "),
        TextDelta("cut "),
        TextDelta("in "),
    ]
    with pytest.raises(MalformedResponse, match="stream ended before the response finished"):
        await anext(stream)
    assert len(wire.requests) == 1


async def test_stream_ending_without_finish_reason(
    openai_model: OpenAIModel, wire: WireServer
) -> None:
    chunk = '{"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "gpt-test", '
    chunk += '"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": null}]}'
    wire.script(Reply(body=f"data: {chunk}\n\ndata: [DONE]\n\n", headers=SSE))

    with pytest.raises(MalformedResponse) as raised:
        [item async for item in openai_model.request_stream(HI)]

    assert str(raised.value) == (
        "openai:gpt-test: the stream ended before the response finished. Check that "
        f"{wire.url}/v1/ serves the OpenAI Chat Completions API; if it does, retry (a proxy may "
        "have cut the answer)."
    )


async def test_error_in_the_middle_of_a_stream(openai_model: OpenAIModel, wire: WireServer) -> None:
    error = '{"error": {"message": "The server had an error", "type": "server_error"}}'
    wire.script(Reply(body=f"data: {error}\n\n", headers=SSE))

    with pytest.raises(ProviderServerError) as raised:
        [item async for item in openai_model.request_stream(HI)]

    assert str(raised.value) == (
        "openai:gpt-test: the provider reported an error in the middle of its answer "
        "(The server had an error). Retry the request."
    )


@pytest.mark.parametrize("body", ["<html>Bad gateway</html>", {"unexpected": "shape"}])
async def test_malformed_json(
    openai_model: OpenAIModel, wire: WireServer, body: str | dict[str, str]
) -> None:
    wire.script(Reply(body=body))

    with pytest.raises(MalformedResponse, match="serves the OpenAI Chat Completions API"):
        await openai_model.request(HI)


async def test_slow_answer_times_out(openai_model: OpenAIModel, wire: WireServer, ask: Ask) -> None:
    wire.script(Reply(text="too late", delay=10))

    with pytest.raises(ModelTimeout) as raised:
        await ask(
            openai_model, ModelRequest("", [UserMessage("hi")], settings=ModelSettings(timeout=0.2))
        )

    assert str(raised.value) == (
        f"openai:gpt-test: no answer from {wire.url}/v1/ within 0.2s. Raise the model's "
        "`timeout=` (or `settings.timeout`), or check whether the server is overloaded."
    )
    assert len(wire.requests) == 1


async def test_model_timeout_applies_without_settings(wire: WireServer) -> None:
    wire.script(Reply(text="too late", delay=10))
    model = OpenAIModel("gpt-test", base_url=f"{wire.url}/v1", api_key="test-key", timeout=0.2)
    try:
        with pytest.raises(ModelTimeout):
            await model.request(HI)
    finally:
        await model.aclose()


async def test_connection_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    model = OpenAIModel("gpt-test", api_key="test-key")
    try:
        with pytest.raises(ModelConnectionError) as raised:
            await model.request(HI)
    finally:
        await model.aclose()

    assert str(raised.value).startswith(
        "openai:gpt-test: the connection to http://127.0.0.1:9/v1/ failed ("
    )
    assert str(raised.value).endswith(
        "). Check that the server is running and the URL is right (`base_url=` on the model, "
        "or OPENAI_BASE_URL)."
    )
