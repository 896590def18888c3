"""`offline`: a deterministic stand-in for a language model. No network, no weights, no keys.

It is NOT a language model: it reads words by fixed rules. From the last user message it

1. picks the tool whose name, description, parameters and enum values (with their unit and
   currency words: "miles" for `mi`, "yen" for `JPY`) share the most words with the message; a
   tie goes to the tool whose required arguments the message supplies more of, then to the
   first declared;
2. fills the arguments (`_argfill`): it splits the message into candidate values (numbers with
   their `$`/`%`/unit, quoted strings, ids like `ORD-1042` or `#1042`, dates like `2026-03-14`
   or `5 May 2026`, emails, file names, capitalised names, lists like "Ann, Bob and Carla") and
   gives each parameter the value whose neighbouring words match its name and docstring
   description, whose preposition matches its role ("from London" → `origin`, "to mi" →
   `to_unit`), and whose type fits; booleans from "without …", "turn off", "enable";
3. calls it, and answers from the tool results with a fixed template.

With no matching tool it says it cannot help. The same request always gives the same response,
which makes notebooks that use it reproducible in CI; on a table of 63 requests a teacher might
type to 12 tools (`tests/models/offline_cases.py`) it fills all arguments right in 63, and in 29
of 30 requests written later. Point `AGENTNB_MODEL` at a real model to run notebooks for real.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

from agentnb.models._argfill import fill_arguments, supplied
from agentnb.models._argparams import by_identity, enum_of, enum_words
from agentnb.models._argtokens import stem
from agentnb.models.base import ModelRequest, ModelResponse, StreamItem, TextDelta, ToolDefinition
from agentnb.models.messages import AssistantMessage, ToolCall, ToolResultMessage, UserMessage
from agentnb.models.usage import estimate_usage

__all__ = ["OfflineModel"]

_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"([a-z])([A-Z])")
# Verbs a request uses for what tool names call otherwise ("find books" → search_products).
_SAME = {"find": "search", "seek": "search", "browse": "search"}
_STOP = frozenset(
    """a an the of to in on for from by with and or is are be was it this that what how much many
    me my i you your we our please can could would do does get give tell show""".split()
)


def _words(text: str) -> set[str]:
    spaced = _CAMEL.sub(r"\1 \2", text).replace("_", " ").lower()
    return {_SAME.get(w, stem(w)) for w in _WORD.findall(spaced) if w not in _STOP}


def _tool_words(tool: ToolDefinition) -> tuple[set[str], set[str], set[str]]:
    """Words of the name; of the description and parameters; of enum values and their units."""

    def make() -> tuple[set[str], set[str], set[str]]:
        other = _words(tool.description)
        named: set[str] = set()
        for name, prop in tool.parameters.get("properties", {}).items():
            other |= _words(name) | _words(str(prop.get("description", "")))
            for value in enum_of(prop, tool.parameters):
                other |= _words(str(value))
                named |= _words(" ".join(enum_words(value)))
        return _words(tool.name), other, named

    return by_identity(tool, "tool words", make)


def _describe(content: str) -> str:
    try:
        data = json.loads(content)
    except ValueError:
        return content
    if isinstance(data, dict):
        return ", ".join(f"{k} = {v}" for k, v in data.items())
    if isinstance(data, list):
        return "; ".join(str(item) for item in data)
    return str(data)


class OfflineModel:
    """Deterministic stand-in for a model; see the module docstring for exactly what it does."""

    provider = "offline"
    model_name = "offline"
    id = "offline"

    def __repr__(self) -> str:
        return "OfflineModel()"

    def choose_tool(self, text: str, tools: list[ToolDefinition]) -> ToolDefinition | None:
        """The tool sharing the most words with `text`, None when none shares any.

        A tie goes to the tool whose required arguments the request supplies more of, then to
        the first declared: deterministic.
        """
        asked = _words(text)
        scored = []
        for tool in tools:
            name_words, other, named = _tool_words(tool)
            # A value of the tool's own enum ("yen", "miles", "books") says as much as its name.
            score = 2 * len(asked & name_words) + len(asked & other) + 2 * len(asked & named)
            if score > 0:
                scored.append((score, tool))
        top = [tool for score, tool in scored if score == max(s for s, _ in scored)]
        if len(top) > 1:
            return max(top, key=lambda tool: supplied(tool.parameters, text))  # max keeps the first
        return top[0] if top else None

    def reply(self, request: ModelRequest) -> AssistantMessage:
        """The next turn: a call to the best-matching tool, or an answer built from tool results.

        With no matching tool it fills the output schema from the prompt, or says it cannot help.
        """
        results: list[ToolResultMessage] = []
        for message in reversed(request.messages):
            if not isinstance(message, ToolResultMessage):
                break
            results.insert(0, message)
        prompt = next(
            (m.content for m in reversed(request.messages) if isinstance(m, UserMessage)), ""
        )
        if results:
            return AssistantMessage(self.answer(request, prompt, results))
        tool = self.choose_tool(
            prompt, [t for t in request.tools if t.name != getattr(request.output, "name", None)]
        )
        if tool is None:
            if request.output is not None:
                return AssistantMessage(json.dumps(fill_arguments(request.output.schema, prompt)))
            names = ", ".join(t.name for t in request.tools)
            having = f"none of my tools ({names}) matches" if names else "I have no tools for"
            return AssistantMessage(
                f"Sorry, I can't help with that: {having} this request. "
                "(offline model: a deterministic stand-in, not a language model)"
            )
        args = fill_arguments(tool.parameters, prompt)
        step = sum(isinstance(m, AssistantMessage) for m in request.messages) + 1
        return AssistantMessage(
            "", [ToolCall(f"call_{step}_{tool.name}", tool.name, json.dumps(args))]
        )

    def answer(self, request: ModelRequest, prompt: str, results: list[ToolResultMessage]) -> str:
        """The final answer text from the tool results that end `request.messages`.

        With an output schema it is that schema's JSON, filled from the prompt and the results;
        otherwise one sentence per result, failures included.
        """
        if request.output is not None:
            merged = f"{prompt} " + " ".join(r.content for r in results if not r.is_error)
            filled = fill_arguments(request.output.schema, merged)
            for r in results:
                try:
                    data = json.loads(r.content)
                except ValueError:
                    continue
                if isinstance(data, dict):
                    props = request.output.schema.get("properties", {})
                    filled.update({k: v for k, v in data.items() if k in props})
            return json.dumps(filled)
        parts = []
        for r in results:
            if r.is_error:
                parts.append(f"I called {r.name} but it failed: {r.content}")
            else:
                parts.append(f"{r.name} returned {_describe(r.content)}.")
        return " ".join(parts)

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The deterministic reply to `request` with an estimated token usage."""
        message = self.reply(request)
        finish = "tool_calls" if message.tool_calls else "stop"
        return ModelResponse(message, estimate_usage(request, message), "offline", finish)

    async def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        """`request` streamed word by word, then the full `ModelResponse`."""
        response = await self.request(request)
        for piece in re.findall(r"\S+\s*", response.message.text):
            yield TextDelta(piece)
        yield response
