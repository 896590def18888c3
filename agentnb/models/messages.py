"""Provider-neutral messages: what the run loop keeps and every provider translates.

Plain slotted dataclasses rather than pydantic models: they are built several times per step on
the run's hot path. `to_dict`/`message_from_dict` give the JSON form (cassettes, telemetry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Union

__all__ = [
    "AssistantMessage",
    "Message",
    "ToolCall",
    "ToolResultMessage",
    "Usage",
    "UserMessage",
    "message_from_dict",
    "message_to_dict",
]


@dataclass(slots=True)
class ToolCall:
    """A tool call the model asked for; `arguments` is the raw JSON text the model produced."""

    id: str
    name: str
    arguments: str


@dataclass(slots=True)
class UserMessage:
    """A prompt from the user."""

    content: str
    role: Literal["user"] = "user"


@dataclass(slots=True)
class AssistantMessage:
    """A model turn: answer text, tool calls, or both."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    role: Literal["assistant"] = "assistant"


@dataclass(slots=True)
class ToolResultMessage:
    """A tool's result sent back to the model, answering the call `call_id`.

    `content` is the result as text (JSON for structured results); `is_error` marks a failed call
    whose `content` is the error message.
    """

    call_id: str
    name: str
    content: str
    is_error: bool = False
    role: Literal["tool"] = "tool"


Message = Union[UserMessage, AssistantMessage, ToolResultMessage]


@dataclass(slots=True)
class Usage:
    """Token counts; adding two gives the total."""

    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.requests + other.requests,
        )

    def to_dict(self) -> dict[str, int]:
        """The counts as a JSON-ready dict, `total_tokens` included."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "requests": self.requests,
        }


def message_to_dict(message: Message) -> dict[str, Any]:
    """The JSON form of `message` (cassettes, telemetry); `message_from_dict` reads it back."""
    if isinstance(message, UserMessage):
        return {"role": "user", "content": message.content}
    if isinstance(message, AssistantMessage):
        return {
            "role": "assistant",
            "text": message.text,
            "tool_calls": [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls
            ],
        }
    return {
        "role": "tool",
        "call_id": message.call_id,
        "name": message.name,
        "content": message.content,
        "is_error": message.is_error,
    }


def message_from_dict(data: dict[str, Any]) -> Message:
    """Inverse of `message_to_dict`; raises `ValueError` naming the bad role."""
    role = data.get("role")
    if role == "user":
        return UserMessage(str(data["content"]))
    if role == "assistant":
        calls = [ToolCall(c["id"], c["name"], c["arguments"]) for c in data.get("tool_calls", [])]
        return AssistantMessage(str(data.get("text", "")), calls)
    if role == "tool":
        return ToolResultMessage(
            data["call_id"], data["name"], str(data["content"]), bool(data.get("is_error", False))
        )
    raise ValueError(f"unknown message role {role!r}: expected 'user', 'assistant' or 'tool'")
