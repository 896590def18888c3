"""OpenAI Chat Completions as a `Model`: OpenAI itself and every compatible server (Ollama, vLLM…).

    >>> model = OpenAIModel("gpt-4.1-mini")
    >>> model.id
    'openai:gpt-4.1-mini'
    >>> local = OpenAIModel("llama3.2", base_url="http://localhost:11434/v1", api_key="ollama")

`base_url=None` leaves the choice to the SDK, which reads `OPENAI_BASE_URL`. The SDK's own
retries are off: agentnb's retry layer is the one place requests are retried.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from agentnb.models._clients import SdkModel
from agentnb.models._provider_errors import (
    missing_credentials,
    provider_errors,
)
from agentnb.models.base import ModelRequest, ModelResponse, StreamItem, TextDelta
from agentnb.models.messages import AssistantMessage, ToolCall, Usage, UserMessage

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types import CompletionUsage
    from openai.types.chat import ChatCompletion, ChatCompletionMessageToolCallUnion

__all__ = ["OpenAIModel"]


class OpenAIModel(SdkModel["AsyncOpenAI"]):
    """A model served over the OpenAI Chat Completions API."""

    provider = "openai"
    api = "OpenAI Chat Completions"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """One Chat Completions call; the whole answer as a `ModelResponse`.

        Raises a `ModelError` (auth, rate limit, timeout, connection, malformed answer)
        that names the endpoint.
        """
        import openai

        client = await self._clients.get()
        endpoint = self._endpoint(client.base_url, request)
        with provider_errors(openai, endpoint):
            completion = await client.chat.completions.create(**self._params(client, request))
        with provider_errors(openai, endpoint, answering=True):
            return _response(completion)

    async def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        """One streamed Chat Completions call: `TextDelta`s, then the full `ModelResponse`.

        Raises a `ModelError` (auth, rate limit, timeout, connection, malformed answer)
        that names the endpoint.
        """
        import openai

        client = await self._clients.get()
        endpoint = self._endpoint(client.base_url, request)
        params = self._params(client, request)
        with provider_errors(openai, endpoint):
            stream = await client.chat.completions.create(
                **params, stream=True, stream_options={"include_usage": True}
            )
        text: list[str] = []
        calls: dict[int, ToolCall] = {}  # arrive in pieces, keyed by their index
        usage = Usage(requests=1)
        model = ""
        response_id: str | None = None
        finish: str | None = None
        async with stream:
            with provider_errors(openai, endpoint, answering=True):
                async for chunk in stream:
                    model, response_id = chunk.model, chunk.id
                    if chunk.usage is not None:
                        usage = _usage(chunk.usage)
                    for choice in chunk.choices:
                        piece_of_text = choice.delta.content or choice.delta.refusal
                        if piece_of_text:
                            text.append(piece_of_text)
                            yield TextDelta(piece_of_text)
                        for piece in choice.delta.tool_calls or ():
                            call = calls.setdefault(piece.index, ToolCall("", "", ""))
                            call.id = piece.id or call.id
                            if piece.function is not None:
                                call.name += piece.function.name or ""
                                call.arguments += piece.function.arguments or ""
                        finish = choice.finish_reason or finish
        if finish is None:
            raise endpoint.malformed("the stream ended before the response finished")
        message = AssistantMessage("".join(text), [calls[i] for i in sorted(calls)])
        yield ModelResponse(message, usage, model, finish, response_id)

    def _new_client(self) -> AsyncOpenAI:
        import openai

        if not (self._api_key or os.environ.get("OPENAI_API_KEY")):
            raise missing_credentials("openai", self._model_name)
        return openai.AsyncOpenAI(
            api_key=self._api_key,
            base_url=self._base_url,
            max_retries=0,
            timeout=self._timeout,
        )

    def _params(self, client: AsyncOpenAI, request: ModelRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self._model_name, "messages": _messages(request)}
        if request.tools:
            params["tools"] = [tool.openai_schema() for tool in request.tools]
        settings = request.settings
        if settings.temperature is not None:
            params["temperature"] = settings.temperature
        if settings.max_tokens is not None:
            params[_max_tokens_field(client.base_url.host)] = settings.max_tokens
        if settings.timeout is not None:
            params["timeout"] = settings.timeout
        if request.output is not None:
            schema: dict[str, Any] = {"name": request.output.name, "schema": request.output.schema}
            if request.output.description:
                schema["description"] = request.output.description
            # Not strict: strict mode rejects ordinary JSON Schemas (optional fields, defaults);
            # agentnb validates the final output itself.
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {**schema, "strict": False},
            }
        return params


def _max_tokens_field(host: str) -> str:
    """The name of the output-token limit for a server.

    Compatible servers (Ollama, llama.cpp, older vLLM) know only `max_tokens`, which is why it is
    the default; OpenAI itself deprecated it and rejects it for its reasoning models (o-series,
    gpt-5), which need `max_completion_tokens`.

    >>> _max_tokens_field("api.openai.com"), _max_tokens_field("localhost")
    ('max_completion_tokens', 'max_tokens')
    """
    return "max_completion_tokens" if host == "api.openai.com" else "max_tokens"


def _messages(request: ModelRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    for message in request.messages:
        if isinstance(message, UserMessage):
            messages.append({"role": "user", "content": message.content})
        elif isinstance(message, AssistantMessage):
            wire: dict[str, Any] = {"role": "assistant"}
            if message.text or not message.tool_calls:
                wire["content"] = message.text
            if message.tool_calls:
                wire["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                    for call in message.tool_calls
                ]
            messages.append(wire)
        else:
            # Chat Completions has no error flag on tool results: the content has to say it.
            messages.append(
                {"role": "tool", "tool_call_id": message.call_id, "content": message.content}
            )
    return messages


def _response(completion: ChatCompletion) -> ModelResponse:
    choice = completion.choices[0]
    message = choice.message
    calls = [_tool_call(call) for call in message.tool_calls or ()]
    usage = _usage(completion.usage) if completion.usage is not None else Usage(requests=1)
    # A refusal (to give a structured output) is the only explanation the model gives.
    text = message.content or message.refusal or ""
    return ModelResponse(
        AssistantMessage(text, calls), usage, completion.model, choice.finish_reason, completion.id
    )


def _tool_call(call: ChatCompletionMessageToolCallUnion) -> ToolCall:
    if call.type != "function":
        raise TypeError(f"a {call.type!r} tool call, though only function tools were offered")
    return ToolCall(call.id, call.function.name, call.function.arguments)


def _usage(usage: CompletionUsage) -> Usage:
    return Usage(usage.prompt_tokens, usage.completion_tokens, requests=1)
