"""`FunctionModel`: a Python function plays the model (for tests, teaching and benchmarks)."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Union

from agentnb.errors import MalformedResponse, UserError
from agentnb.models.base import ModelRequest, ModelResponse, StreamItem, TextDelta
from agentnb.models.messages import AssistantMessage, ToolCall
from agentnb.models.usage import estimate_usage

__all__ = ["FunctionModel", "from_spec", "tool_call"]

Reply = Union[ModelResponse, AssistantMessage, str]
PlayFunction = Callable[[ModelRequest], Union[Reply, Awaitable[Reply]]]


def tool_call(name: str, /, *, call_id: str | None = None, **arguments: Any) -> AssistantMessage:
    """A model turn that calls one tool: `return tool_call("convert", amount=12.5)`."""
    return AssistantMessage("", [ToolCall(call_id or f"call_{name}", name, json.dumps(arguments))])


class FunctionModel:
    """The model's replies come from `function(request)`.

    The function receives the `ModelRequest` (instructions, messages, tools) and returns the
    answer text, an `AssistantMessage` (e.g. `tool_call(...)`), or a full `ModelResponse`;
    it may be async. Usage is estimated from text length unless a `ModelResponse` says otherwise.
    """

    provider = "function"

    def __init__(self, function: PlayFunction, *, name: str | None = None) -> None:
        self.function = function
        self.model_name: str = name or getattr(function, "__name__", None) or "function"

    @property
    def id(self) -> str:
        """`"function:<name>"`, the name being the function's unless `name=` was given."""
        return f"function:{self.model_name}"

    def __repr__(self) -> str:
        return f"FunctionModel({self.model_name!r})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Call the function with `request` and wrap its reply in a `ModelResponse`.

        Raises `MalformedResponse` when the function returns something other than text, an
        `AssistantMessage` or a `ModelResponse`.
        """
        reply = self.function(request)
        if inspect.isawaitable(reply):
            reply = await reply
        if isinstance(reply, ModelResponse):
            return reply
        if isinstance(reply, str):
            reply = AssistantMessage(reply)
        if not isinstance(reply, AssistantMessage):
            raise MalformedResponse(
                f"the function returned {type(reply).__name__}; return a str, an "
                "AssistantMessage (e.g. tool_call(...)) or a ModelResponse",
                provider=self.provider,
                model=self.model_name,
            )
        return ModelResponse(reply, estimate_usage(request, reply), self.model_name, "stop")

    async def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        """The function's reply streamed: its text as one `TextDelta`, then the `ModelResponse`."""
        response = await self.request(request)
        if response.message.text:
            yield TextDelta(response.message.text)
        yield response


def from_spec(name: str) -> FunctionModel:
    """A `function:<name>` string cannot be resolved: there is no function to call."""
    raise UserError(
        f"model 'function:{name}' needs the Python function itself: pass "
        "model=FunctionModel(your_function) instead of a string"
    )
