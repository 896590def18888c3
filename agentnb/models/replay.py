"""Record real model calls to a cassette and replay them offline with identical results.

A cassette is JSONL: one line per request, keyed by a hash of the normalised, provider-neutral
request (instructions, messages, tools, settings, output schema). Secrets are redacted before a
line is written. Replaying a request that is not in the cassette raises `CassetteMiss`, which
names the request so it can be recorded.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

from agentnb.errors import CassetteMiss
from agentnb.models.base import Model, ModelRequest, ModelResponse, StreamItem, TextDelta
from agentnb.models.messages import AssistantMessage, Usage, message_from_dict, message_to_dict
from agentnb.secrets import redact_data

__all__ = ["RecordingModel", "ReplayModel", "record", "request_key"]


def _normalise(request: ModelRequest) -> dict[str, Any]:
    return {
        "instructions": request.instructions,
        "messages": [message_to_dict(m) for m in request.messages],
        "tools": [dataclasses.asdict(t) for t in request.tools],
        "settings": {
            "temperature": request.settings.temperature,
            "max_tokens": request.settings.max_tokens,
        },
        "output": dataclasses.asdict(request.output) if request.output else None,
    }


def request_key(request: ModelRequest) -> str:
    """The cassette key of `request`: a 24-hex-digit hash of its redacted, normalised form."""
    # Redact before hashing: the recorded line is redacted, and the replayed request must match it.
    normalised = redact_data(_normalise(request))
    canonical = json.dumps(normalised, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def _response_to_dict(response: ModelResponse) -> dict[str, Any]:
    return {
        "message": message_to_dict(response.message),
        "usage": {
            "input_tokens": response.usage.input_tokens,
            "output_tokens": response.usage.output_tokens,
            "requests": response.usage.requests,
        },
        "model": response.model,
        "finish_reason": response.finish_reason,
        "provider_id": response.provider_id,
    }


def _response_from_dict(data: dict[str, Any]) -> ModelResponse:
    message = message_from_dict(data["message"])
    assert isinstance(message, AssistantMessage)
    return ModelResponse(
        message,
        Usage(**data["usage"]),
        data.get("model", ""),
        data.get("finish_reason"),
        data.get("provider_id"),
    )


def _load(path: Path) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    if path.exists():
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    entry = json.loads(line)
                    entries[entry["key"]] = entry  # a re-recorded request: the newest wins
    return entries


_DIFF_LINES = 40
_DIFF_WIDTH = 240


def _closest_diff(request: ModelRequest, entries: dict[str, dict[str, Any]]) -> str:
    """What differs between `request` and the most similar recorded one, as a unified diff
    (the recorded side is redacted, so this side is too: a secret is not a difference)."""
    if not entries:
        return ""
    this = _lines(redact_data(_normalise(request)))
    best: list[str] = []
    best_ratio = -1.0
    for entry in entries.values():
        recorded = _lines(entry.get("request", {}))
        ratio = difflib.SequenceMatcher(None, recorded, this, autojunk=False).ratio()
        if ratio > best_ratio:
            best, best_ratio = recorded, ratio
    diff = list(
        difflib.unified_diff(
            best, this, "closest recorded request", "this request", n=1, lineterm=""
        )
    )
    cut = [line[:_DIFF_WIDTH] for line in diff[:_DIFF_LINES]]
    if len(diff) > _DIFF_LINES:
        cut.append(f"... ({len(diff) - _DIFF_LINES} more lines)")
    return "It differs from the closest recorded request:\n" + "\n".join(cut) + "\n"


def _lines(normalised: Any) -> list[str]:
    return json.dumps(normalised, indent=1, sort_keys=True, ensure_ascii=False).splitlines()


async def _as_stream(response: ModelResponse) -> AsyncIterator[StreamItem]:
    for piece in re.findall(r"\S+\s*", response.message.text):
        yield TextDelta(piece)
    yield response


class ReplayModel:
    """Answers from a cassette only; never touches the network."""

    provider = "replay"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.model_name = str(path)
        self._entries: dict[str, dict[str, Any]] | None = None

    @property
    def id(self) -> str:
        """`"replay:<cassette path>"`."""
        return f"replay:{self.path}"

    def __repr__(self) -> str:
        return f"ReplayModel({str(self.path)!r})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The recorded response to `request`.

        Raises `CassetteMiss` when the cassette has no such request, with a diff against the closest
        recorded one.
        """
        if self._entries is None:
            self._entries = _load(self.path)
        key = request_key(request)
        entry = self._entries.get(key)
        if entry is None:
            raise CassetteMiss(
                f"request {key} is not in cassette {str(self.path)!r} "
                f"({len(self._entries)} recorded). {_closest_diff(request, self._entries)}"
                "Record it: run once with model=record('<provider:model>', "
                f"{str(self.path)!r}) and an API key",
                provider=self.provider,
                model=self.model_name,
            )
        return _response_from_dict(entry["response"])

    async def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        """The recorded response streamed word by word, then the full `ModelResponse`.

        Raises `CassetteMiss` as `request` does.
        """
        async for item in _as_stream(await self.request(request)):
            yield item


class RecordingModel:
    """Passes requests to `inner` and appends each request/response pair to the cassette.

    With `mode="auto"` requests already in the cassette are replayed instead of sent.
    """

    def __init__(
        self, inner: Model, path: str | os.PathLike[str], mode: Literal["record", "auto"] = "record"
    ) -> None:
        self.inner = inner
        self.path = Path(path)
        self.mode = mode
        self._entries: dict[str, dict[str, Any]] | None = None

    @property
    def id(self) -> str:
        """The inner model's id."""
        return self.inner.id  # recording is transparent: configs name the real model

    @property
    def provider(self) -> str:
        """The inner model's provider."""
        return self.inner.provider

    @property
    def model_name(self) -> str:
        """The inner model's name."""
        return self.inner.model_name

    def __repr__(self) -> str:
        return f"RecordingModel({self.inner!r}, {str(self.path)!r}, mode={self.mode!r})"

    def _known(self, key: str) -> ModelResponse | None:
        if self.mode != "auto":
            return None
        if self._entries is None:
            self._entries = _load(self.path)
        entry = self._entries.get(key)
        return _response_from_dict(entry["response"]) if entry else None

    def _write(self, key: str, request: ModelRequest, response: ModelResponse) -> None:
        entry = {
            "key": key,
            "model": self.inner.id,
            "request": _normalise(request),
            "response": _response_to_dict(response),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(redact_data(entry), sort_keys=True) + "\n")
        if self._entries is not None:
            self._entries[key] = entry

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The inner model's response, appended (redacted) to the cassette.

        In `"auto"` mode a request already in the cassette is answered from it and not sent.
        """
        key = request_key(request)
        known = self._known(key)
        if known is not None:
            return known
        response = await self.inner.request(request)
        self._write(key, request, response)
        return response

    async def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        """The inner model's stream, passed through; the final response is appended to the cassette.

        In `"auto"` mode a request already in the cassette is replayed from it and not sent.
        """
        key = request_key(request)
        known = self._known(key)
        if known is not None:
            async for item in _as_stream(known):
                yield item
            return
        async for item in self.inner.request_stream(request):
            if isinstance(item, ModelResponse):
                self._write(key, request, item)
            yield item


def record(
    model: str | Model, path: str | os.PathLike[str], *, mode: Literal["record", "auto"] = "record"
) -> RecordingModel:
    """Record every request `model` answers into the cassette at `path`.

    `Agent(..., model=record("openai:gpt-4.1-mini", "cassettes/fx.jsonl"))` once with a key,
    then `model="replay:cassettes/fx.jsonl"` anywhere, offline.
    """
    from agentnb.models.registry import resolve_model

    return RecordingModel(resolve_model(model), path, mode)
