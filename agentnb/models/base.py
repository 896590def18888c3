"""The one contract every model provider implements.

A provider turns a `ModelRequest` (instructions, provider-neutral messages, tool definitions,
settings, optional output schema) into a `ModelResponse`, either in one call (`request`) or as a
stream of `TextDelta`s ending in the full response (`request_stream`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Union, runtime_checkable

from agentnb.models.messages import AssistantMessage, Message, Usage

__all__ = [
    "Model",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "OutputSchema",
    "StreamItem",
    "TextDelta",
    "ToolDefinition",
]


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """What a model is told about a tool: its name, description and JSON Schema of arguments."""

    name: str
    description: str
    parameters: dict[str, Any]

    def openai_schema(self) -> dict[str, Any]:
        """The OpenAI Chat Completions `tools[]` entry."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def anthropic_schema(self) -> dict[str, Any]:
        """The Anthropic Messages `tools[]` entry."""
        return {"name": self.name, "description": self.description, "input_schema": self.parameters}


@dataclass(frozen=True, slots=True)
class OutputSchema:
    """A structured final output the model must produce, as JSON matching `schema`."""

    name: str
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """Per-request settings; None leaves each to the model's own default.

    `timeout` is in seconds and overrides the timeout the model was built with.
    """

    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None


@dataclass(slots=True)
class ModelRequest:
    """Everything a provider is asked: instructions, messages, tools, settings, output schema."""

    instructions: str
    messages: Sequence[Message]
    tools: Sequence[ToolDefinition] = ()
    settings: ModelSettings = field(default_factory=ModelSettings)
    output: OutputSchema | None = None


@dataclass(slots=True)
class ModelResponse:
    """A provider's answer: the assistant message, token usage and why it stopped.

    `finish_reason` is the provider's own word (`"stop"`, `"tool_calls"`…); `provider_id` is
    the provider's id for the response, when it gives one.
    """

    message: AssistantMessage
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    """The model name the provider says answered (may differ from the requested one)."""
    finish_reason: str | None = None
    provider_id: str | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of streamed text."""

    text: str


StreamItem = Union[TextDelta, ModelResponse]


@runtime_checkable
class Model(Protocol):
    """A model provider bound to one model.

    `id` is the string a config stores (`"openai:gpt-4.1-mini"`, `"offline"`); `provider` and
    `model_name` are its two halves. `request_stream` yields `TextDelta`s and ends with exactly one
    `ModelResponse`.
    """

    @property
    def id(self) -> str:
        """The string a config stores: `"openai:gpt-4.1-mini"`, `"offline"`."""
        ...

    @property
    def provider(self) -> str:
        """The provider half of `id` (`"openai"`, `"anthropic"`, `"offline"`…)."""
        ...

    @property
    def model_name(self) -> str:
        """The model half of `id`, as the provider names it."""
        ...

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Send `request` and return the whole answer; raises `ModelError` if the provider fails."""
        ...

    def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        """Send `request` and yield `TextDelta`s, then exactly one `ModelResponse`."""
        ...
