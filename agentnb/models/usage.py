"""Token estimates for models that do not count tokens themselves (offline, function)."""

from __future__ import annotations

from agentnb.models.base import ModelRequest
from agentnb.models.messages import AssistantMessage, ToolResultMessage, Usage, UserMessage

__all__ = ["estimate_usage"]


def _chars(message: object) -> int:
    if isinstance(message, (UserMessage, ToolResultMessage)):
        return len(message.content)
    if isinstance(message, AssistantMessage):
        return len(message.text) + sum(len(c.arguments) + len(c.name) for c in message.tool_calls)
    return 0


def estimate_usage(request: ModelRequest, reply: AssistantMessage) -> Usage:
    """About four characters per token, the usual rule of thumb for English text."""
    prompt = len(request.instructions) + sum(_chars(m) for m in request.messages)
    prompt += sum(len(t.description) + 40 for t in request.tools)
    return Usage(max(1, prompt // 4), max(1, _chars(reply) // 4), 1)
