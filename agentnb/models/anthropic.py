"""Anthropic Messages as a `Model`.

    >>> model = AnthropicModel("claude-sonnet-4-5")
    >>> model.id
    'anthropic:claude-sonnet-4-5'

`base_url=None` leaves the choice to the SDK, which reads `ANTHROPIC_BASE_URL`. The SDK's own
retries are off: agentnb's retry layer is the one place requests are retried.

A structured output is asked for as one more tool, named after the output schema: when the model
calls it, the response's text is that call's input as JSON (text written beside the call is
streamed, but not kept).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from agentnb.models._clients import SdkModel
from agentnb.models._provider_errors import (
    missing_credentials,
    provider_errors,
)
from agentnb.models.base import ModelRequest, ModelResponse, OutputSchema, StreamItem, TextDelta
from agentnb.models.messages import AssistantMessage, Message, ToolCall, Usage, UserMessage

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.types import Message as AnthropicMessage
    from anthropic.types import Usage as AnthropicUsage

__all__ = ["AnthropicModel"]

DEFAULT_MAX_TOKENS = 4096
"""Sent when `settings.max_tokens` is None: the Messages API requires a limit."""


class AnthropicModel(SdkModel["AsyncAnthropic"]):
    """A model served over the Anthropic Messages API."""

    provider = "anthropic"
    api = "Anthropic Messages"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """One Messages call; the whole answer as a `ModelResponse`.

        Raises a `ModelError` (auth, rate limit, timeout, connection, malformed answer)
        that names the endpoint.
        """
        import anthropic

        client = await self._clients.get()
        endpoint = self._endpoint(client.base_url, request)
        with provider_errors(anthropic, endpoint):
            message = await client.messages.create(**self._params(request))
        with provider_errors(anthropic, endpoint, answering=True):
            return _response(message, request.output)

    async def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        """One streamed Messages call: `TextDelta`s, then the full `ModelResponse`.

        Raises a `ModelError` (auth, rate limit, timeout, connection, malformed answer)
        that names the endpoint.
        """
        import anthropic

        client = await self._clients.get()
        endpoint = self._endpoint(client.base_url, request)
        params = self._params(request)
        with provider_errors(anthropic, endpoint):
            stream = await client.messages.create(**params, stream=True)
        text: list[str] = []
        calls: dict[int, ToolCall] = {}  # by content block index; arguments arrive in pieces
        usage = Usage(requests=1)
        model = ""
        message_id: str | None = None
        stop_reason: str | None = None
        finished = False
        async with stream:
            with provider_errors(anthropic, endpoint, answering=True):
                async for event in stream:
                    if event.type == "message_start":
                        model, message_id = event.message.model, event.message.id
                        usage = _usage(event.message.usage)
                    elif event.type == "content_block_start":
                        block = event.content_block
                        if block.type == "tool_use":
                            calls[event.index] = ToolCall(block.id, block.name, "")
                    elif event.type == "content_block_delta":
                        if event.delta.type == "text_delta":
                            text.append(event.delta.text)
                            yield TextDelta(event.delta.text)
                        elif event.delta.type == "input_json_delta":
                            calls[event.index].arguments += event.delta.partial_json
                    elif event.type == "message_delta":
                        stop_reason = event.delta.stop_reason
                        usage = Usage(usage.input_tokens, event.usage.output_tokens, requests=1)
                    elif event.type == "message_stop":
                        finished = True
                if not finished:
                    raise endpoint.malformed("the stream ended before the response finished")
                for call in calls.values():
                    # Same text as a non-streamed answer gives, so cassettes do not depend on it.
                    call.arguments = json.dumps(json.loads(call.arguments or "{}"))
        message = _message("".join(text), [calls[i] for i in sorted(calls)], request.output)
        yield ModelResponse(message, usage, model, stop_reason, message_id)

    def _new_client(self) -> AsyncAnthropic:
        import anthropic

        client = anthropic.AsyncAnthropic(
            api_key=self._api_key,
            base_url=self._base_url,
            max_retries=0,
            timeout=self._timeout,
        )
        # The SDK's own check, made before a request rather than as a TypeError during one.
        auth = {"authorization", "x-api-key"} & {h.lower() for h in client.default_headers}
        if client.credentials is None and not auth:
            raise missing_credentials("anthropic", self._model_name)
        return client

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        settings = request.settings
        max_tokens = settings.max_tokens if settings.max_tokens is not None else DEFAULT_MAX_TOKENS
        params: dict[str, Any] = {
            "model": self._model_name,
            "max_tokens": max_tokens,
            "messages": _messages(request.messages),
        }
        if request.instructions:
            params["system"] = request.instructions
        tools = [tool.anthropic_schema() for tool in request.tools]
        if request.output is not None:
            tools.append(_output_tool(request.output))
        if tools:
            params["tools"] = tools
        if settings.temperature is not None:
            # anthropic 1.0 dropped the argument (newer Claude models reject it with a 400 that
            # names it); older models still honour it, so it goes in the body as asked.
            params["extra_body"] = {"temperature": settings.temperature}
        if settings.timeout is not None:
            params["timeout"] = settings.timeout
        return params


def _output_tool(output: OutputSchema) -> dict[str, Any]:
    description = (
        "Give your final answer by calling this tool: its input is the answer. "
        f"{output.description}"
    )
    return {"name": output.name, "description": description.strip(), "input_schema": output.schema}


def _messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, UserMessage):
            wire.append({"role": "user", "content": message.content})
        elif isinstance(message, AssistantMessage):
            content: list[dict[str, Any]] = []
            if message.text:
                content.append({"type": "text", "text": message.text})
            content += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": _arguments(c.arguments)}
                for c in message.tool_calls
            ]
            wire.append({"role": "assistant", "content": content})
        else:
            result = {
                "type": "tool_result",
                "tool_use_id": message.call_id,
                "content": message.content,
                "is_error": message.is_error,
            }
            # The results of one turn's calls go back together, as one user message; only such
            # messages have a list as content here.
            if wire and wire[-1]["role"] == "user" and isinstance(wire[-1]["content"], list):
                wire[-1]["content"].append(result)
            else:
                wire.append({"role": "user", "content": [result]})
    return wire


def _arguments(text: str) -> dict[str, Any]:
    """A tool call's JSON text as the object `tool_use.input` must be.

    Text that is not a JSON object came from a malformed call (from another provider, say) that
    was already answered with an error result: `{}` keeps the conversation valid.
    """
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _response(message: AnthropicMessage, output: OutputSchema | None) -> ModelResponse:
    text = "".join(block.text for block in message.content if block.type == "text")
    calls = [
        ToolCall(block.id, block.name, json.dumps(block.input))
        for block in message.content
        if block.type == "tool_use"
    ]
    return ModelResponse(
        _message(text, calls, output),
        _usage(message.usage),
        message.model,
        message.stop_reason,
        message.id,
    )


def _message(text: str, calls: list[ToolCall], output: OutputSchema | None) -> AssistantMessage:
    if output is not None:
        for call in calls:
            if call.name == output.name:
                # The final answer, so nothing left to run: other calls made beside it are dropped.
                return AssistantMessage(call.arguments)
    return AssistantMessage(text, calls)


def _usage(usage: AnthropicUsage) -> Usage:
    # `input_tokens` leaves out cached prompt tokens; OpenAI's `prompt_tokens` counts them, and
    # agentnb's input tokens mean the whole prompt.
    cached = (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
    return Usage(usage.input_tokens + cached, usage.output_tokens, requests=1)
