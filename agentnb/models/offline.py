"""`offline`: a deterministic stand-in for a language model. No network, no weights, no keys.

It is NOT a language model. It reads the last user message, picks the tool whose name,
description and parameters share the most words with it, fills the arguments from the message
following the tool's JSON Schema (numbers, enum values, quoted strings, ids, emails, names),
calls it, and answers from the tool results with a fixed template. With no matching tool it says
it cannot help. The same request always gives the same response, which makes notebooks that use
it reproducible in CI; point `AGENTNB_MODEL` at a real model to run them for real.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

from agentnb.models.base import ModelRequest, ModelResponse, StreamItem, TextDelta, ToolDefinition
from agentnb.models.messages import AssistantMessage, ToolCall, ToolResultMessage, UserMessage
from agentnb.models.usage import estimate_usage

__all__ = ["OfflineModel"]

_WORD = re.compile(r"[a-z0-9]+")
# "1,000,000.5" (thousands), "12.5", and a decimal comma ("12,5") in that order of preference.
_NUMBER = re.compile(r"(?<![\w.-])-?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?)(?![\w])")
# Single quotes only around words: the apostrophes of "What's" and "It's" are not quotes.
_QUOTED = re.compile(r"\"([^\"]+)\"|(?<!\w)'([^']+)'(?!\w)|“([^”]+)”")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_IDENT = re.compile(r"\b[A-Za-z]*(?:[-_][A-Za-z]+)*[-_]?\d[\w-]*\b")  # 1042, A-17, ORD-1042
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+(?:\s[A-Z][a-z]+)*)")
_STOP = frozenset(
    """a an the of to in on for from by with and or is are be was it this that what how much many
    me my i you your we our please can could would do does get give tell show""".split()
)
_FREE_TEXT = {"query", "q", "text", "question", "prompt", "message", "content", "input", "topic"}
_ID_HINTS = ("id", "number", "code", "ref", "sku")


def _stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _words(text: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).replace("_", " ").lower()
    return {_stem(w) for w in _WORD.findall(spaced) if w not in _STOP}


def _tool_words(tool: ToolDefinition) -> tuple[set[str], set[str]]:
    """(words of the name, words of description, parameter names/descriptions and enum values)."""
    other = _words(tool.description)
    for name, prop in tool.parameters.get("properties", {}).items():
        other |= _words(name) | _words(str(prop.get("description", "")))
        other |= _words(" ".join(str(v) for v in _enum_of(prop, tool.parameters)))
    return _words(tool.name), other


def _enum_of(prop: dict[str, Any], root: dict[str, Any]) -> list[Any]:
    if "enum" in prop:
        return list(prop["enum"])
    ref = prop.get("$ref") or next(
        (a.get("$ref") for a in prop.get("anyOf", []) if "$ref" in a), None
    )
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return list(root.get("$defs", {}).get(ref.split("/")[-1], {}).get("enum", []))
    return list(next((a["enum"] for a in prop.get("anyOf", []) if "enum" in a), []))


def _type_of(prop: dict[str, Any]) -> str:
    if "type" in prop:
        return str(prop["type"])
    types = [a.get("type") for a in prop.get("anyOf", []) if a.get("type") not in (None, "null")]
    return str(types[0]) if types else "string"


def _number_text(raw: str) -> str:
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):
        return raw.replace(",", "")
    return raw.replace(",", ".")


class _Extractor:
    """Takes values out of the request text, each at most once, in order of appearance."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)]
        # A guard may have redacted the address already: "[EMAIL]" still fills an email field.
        self.emails = _EMAIL.findall(text) + re.findall(r"\[EMAIL\]", text)
        bare = _EMAIL.sub(" ", text)
        self.numbers = [_number_text(n) for n in _NUMBER.findall(bare)]
        self.idents = [t for t in _IDENT.findall(bare) if not _NUMBER.fullmatch(t)]
        self.names = _CAPITALISED.findall(_QUOTED.sub(" ", bare))

    def take(self, pool: list[str]) -> str | None:
        return pool.pop(0) if pool else None

    def value(self, name: str, prop: dict[str, Any], root: dict[str, Any]) -> Any:
        enum = _enum_of(prop, root)
        if enum:
            lowered = self.text.lower()
            return next(
                (v for v in enum if re.search(rf"\b{re.escape(str(v).lower())}\b", lowered)), None
            )
        kind = _type_of(prop)
        key = name.lower()
        if kind in ("number", "integer"):
            raw = self.take(self.numbers)
            if raw is None:
                return None
            number = float(raw)
            return int(number) if kind == "integer" and number.is_integer() else number
        if kind == "boolean":
            words = _words(self.text)
            return (
                False
                if {"no", "not", "without", "false"} & words
                else (True if _words(name) & words else None)
            )
        if kind != "string":
            return None
        if "email" in key:
            return self.take(self.emails)
        if any(key == h or key.endswith("_" + h) or key.endswith(h) for h in _ID_HINTS):
            return self.take(self.idents) or self.take(self.numbers) or self.take(self.quoted)
        if key in _FREE_TEXT:
            return self.take(self.quoted) or self.text
        return self.take(self.quoted) or self.take(self.names) or self.take(self.emails)


def _fill(schema: dict[str, Any], text: str) -> dict[str, Any]:
    extractor = _Extractor(text)
    args: dict[str, Any] = {}
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        value = extractor.value(name, prop, schema)
        if value is None and name in required:
            enum = _enum_of(prop, schema)
            value = enum[0] if enum else (text if _type_of(prop) == "string" else None)
        if value is not None:
            args[name] = value
    return args


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
        asked = _words(text)
        best, best_score = None, 0
        for tool in tools:
            name_words, other = _tool_words(tool)
            score = 2 * len(asked & name_words) + len(asked & other)
            if score > best_score:  # ties keep the first declared tool: deterministic
                best, best_score = tool, score
        return best

    def reply(self, request: ModelRequest) -> AssistantMessage:
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
                return AssistantMessage(json.dumps(_fill(request.output.schema, prompt)))
            names = ", ".join(t.name for t in request.tools)
            having = f"none of my tools ({names}) matches" if names else "I have no tools for"
            return AssistantMessage(
                f"Sorry, I can't help with that: {having} this request. "
                "(offline model: a deterministic stand-in, not a language model)"
            )
        args = _fill(tool.parameters, prompt)
        step = sum(isinstance(m, AssistantMessage) for m in request.messages) + 1
        return AssistantMessage(
            "", [ToolCall(f"call_{step}_{tool.name}", tool.name, json.dumps(args))]
        )

    def answer(self, request: ModelRequest, prompt: str, results: list[ToolResultMessage]) -> str:
        if request.output is not None:
            merged = f"{prompt} " + " ".join(r.content for r in results if not r.is_error)
            filled = _fill(request.output.schema, merged)
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
        message = self.reply(request)
        finish = "tool_calls" if message.tool_calls else "stop"
        return ModelResponse(message, estimate_usage(request, message), "offline", finish)

    async def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        response = await self.request(request)
        for piece in re.findall(r"\S+\s*", response.message.text):
            yield TextDelta(piece)
        yield response
