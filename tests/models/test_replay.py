"""Record a run to a JSONL cassette, replay it offline with identical results."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agentnb import Agent, FunctionModel, record, tool, tool_call
from agentnb.agents import RunResult
from agentnb.errors import CassetteMiss
from agentnb.models import ModelRequest, RecordingModel, ReplayModel, ToolResultMessage
from agentnb.models.replay import request_key


@tool
def lookup_order(order_id: str) -> dict[str, str]:
    """Look up an order by its id."""
    return {"order_id": order_id, "status": "shipped"}


def _clerk(request: ModelRequest) -> Any:
    last = request.messages[-1]
    if isinstance(last, ToolResultMessage):
        return f"Order status: {json.loads(last.content)['status']}."
    return tool_call("lookup_order", order_id="1042")


def _agent(model: Any) -> Agent:
    return Agent("clerk", model=model, instructions="Answer about orders.", tools=[lookup_order])


def _comparable(result: RunResult) -> dict[str, Any]:
    """Everything a replay must reproduce: the run minus ids, timings and the model's name."""
    data = result.to_dict()
    for key in ("run_id", "duration", "started_at", "model"):
        data.pop(key)
    for step in data["steps"]:
        step.pop("duration")
        step.pop("start")
        for call in step["tool_calls"]:
            call.pop("duration")
            call.pop("start")
    return data


def test_replay_reproduces_a_recorded_run(tmp_path: Path) -> None:
    cassette = tmp_path / "cassettes" / "clerk.jsonl"
    calls: list[ModelRequest] = []

    def clerk(request: ModelRequest) -> Any:
        calls.append(request)
        return _clerk(request)

    recorder = record(FunctionModel(clerk, name="clerk"), cassette)
    assert isinstance(recorder, RecordingModel)
    assert recorder.id == "function:clerk"  # recording is transparent
    recorded = _agent(recorder).run_sync("Where is order 1042?")
    assert len(calls) == 2

    lines = cassette.read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first == {
        "key": first["key"],
        "model": "function:clerk",
        "request": {
            "instructions": "Answer about orders.",
            "messages": [{"role": "user", "content": "Where is order 1042?"}],
            "tools": [
                {
                    "name": "lookup_order",
                    "description": "Look up an order by its id.",
                    "parameters": lookup_order.definition.parameters,
                }
            ],
            "settings": {"temperature": None, "max_tokens": None},
            "output": None,
        },
        "response": {
            "message": {
                "role": "assistant",
                "text": "",
                "tool_calls": [
                    {
                        "id": "call_lookup_order",
                        "name": "lookup_order",
                        "arguments": '{"order_id": "1042"}',
                    }
                ],
            },
            "usage": {"input_tokens": 26, "output_tokens": 8, "requests": 1},
            "model": "clerk",
            "finish_reason": "stop",
            "provider_id": None,
        },
    }
    assert re.fullmatch(r"[0-9a-f]{24}", first["key"])

    replayed = _agent(f"replay:{cassette}").run_sync("Where is order 1042?")
    assert len(calls) == 2  # nothing reached the function
    assert replayed.model == f"replay:{cassette}"
    assert replayed.output == recorded.output == "Order status: shipped."
    assert replayed.usage == recorded.usage
    assert replayed.messages == recorded.messages
    assert _comparable(replayed) == _comparable(recorded)


def test_a_request_missing_from_the_cassette_is_named(tmp_path: Path) -> None:
    cassette = tmp_path / "clerk.jsonl"
    _agent(record(FunctionModel(_clerk), cassette)).run_sync("Where is order 1042?")

    agent = _agent(ReplayModel(cassette))
    with pytest.raises(CassetteMiss) as info:
        agent.run_sync("Where is order 7?")
    key = request_key(
        ModelRequest(
            "Answer about orders.",
            agent.last_result.messages[:1] if agent.last_result else [],
            [lookup_order.definition],
        )
    )
    assert str(info.value) == (
        f"replay:{cassette}: request {key} is not in cassette {str(cassette)!r} (2 recorded). "
        "It differs from the closest recorded request:\n"
        "--- closest recorded request\n"
        "+++ this request\n"
        "@@ -4,3 +4,3 @@\n"
        "   {\n"
        '-   "content": "Where is order 1042?",\n'
        '+   "content": "Where is order 7?",\n'
        '    "role": "user"\n'
        f"Record it: run once with model=record('<provider:model>', {str(cassette)!r}) and an "
        "API key"
    )
    assert (info.value.provider, info.value.model) == ("replay", str(cassette))
    assert agent.last_result is not None
    assert agent.last_result.status == "error"


def test_a_miss_after_the_instructions_changed_shows_what_differs(tmp_path: Path) -> None:
    cassette = tmp_path / "clerk.jsonl"
    _agent(record(FunctionModel(_clerk), cassette)).run_sync("Where is order 1042?")
    _agent(record(FunctionModel(_clerk), cassette)).run_sync("Where is order 7?")

    polite = Agent(
        "clerk",
        model=ReplayModel(cassette),
        instructions="Answer about orders, politely.",
        tools=[lookup_order],
    )
    with pytest.raises(CassetteMiss) as info:
        polite.run_sync("Where is order 7?")

    # Of the four recorded requests, the first turn about order 7 is the closest: only the
    # instructions differ, and the diff says so.
    assert str(info.value).split("recorded). ")[1].split("Record it")[0] == (
        "It differs from the closest recorded request:\n"
        "--- closest recorded request\n"
        "+++ this request\n"
        "@@ -1,3 +1,3 @@\n"
        " {\n"
        '- "instructions": "Answer about orders.",\n'
        '+ "instructions": "Answer about orders, politely.",\n'
        '  "messages": [\n'
    )


def test_secrets_are_redacted_and_replay_still_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_key = "sk-test-abcdefghijklmnop1234"
    password = 'pa"ss\\wörd-1234'  # JSON escapes it: redacting the JSON text would miss it
    monkeypatch.setenv("MY_API_KEY", api_key)
    monkeypatch.setenv("SHOP_PASSWORD", password)
    prompt = f"Log in with {password} and key {api_key}, then say hi"
    cassette = tmp_path / "secret.jsonl"

    def echo(request: ModelRequest) -> str:
        return f"Logged in as {password}."

    recorded = Agent("s", model=record(FunctionModel(echo), cassette)).run_sync(prompt)
    assert recorded.output == f"Logged in as {password}."

    text = cassette.read_text(encoding="utf-8")
    entry = json.loads(text)
    assert entry["request"]["messages"] == [
        {"role": "user", "content": "Log in with [REDACTED] and key [REDACTED], then say hi"}
    ]
    assert entry["response"]["message"]["text"] == "Logged in as [REDACTED]."
    for secret in (api_key, password, json.dumps(password)[1:-1], "abcdefghijklmnop"):
        assert secret not in text

    replayed = Agent("s", model=f"replay:{cassette}").run_sync(prompt)
    assert replayed.output == "Logged in as [REDACTED]."


async def test_auto_mode_replays_known_requests_and_records_new_ones(tmp_path: Path) -> None:
    cassette = tmp_path / "auto.jsonl"
    calls: list[str] = []

    def clerk(request: ModelRequest) -> Any:
        calls.append(request.messages[-1].role)
        return _clerk(request)

    agent = _agent(record(FunctionModel(clerk), cassette, mode="auto"))
    first = await agent.run("Where is order 1042?")
    second = await agent.run("Where is order 1042?")
    assert calls == ["user", "tool"]  # the second run came from the cassette
    assert second.messages == first.messages
    assert len(cassette.read_text().splitlines()) == 2

    await agent.run("Order 1042, please")
    assert calls == ["user", "tool", "user", "tool"]
    assert len(cassette.read_text().splitlines()) == 4


async def test_streaming_record_and_replay(tmp_path: Path) -> None:
    cassette = tmp_path / "stream.jsonl"
    recorder = _agent(record(FunctionModel(_clerk), cassette))
    recorded = [e async for e in recorder.stream("Where is order 1042?")]
    replayer = _agent(f"replay:{cassette}")
    replayed = [e async for e in replayer.stream("Where is order 1042?")]

    def kinds(events: list[Any]) -> list[str]:  # a run of text deltas counts once
        out = [e.kind for e in events]
        return [k for i, k in enumerate(out) if not (k == "text_delta" == out[i - 1])]

    assert kinds(replayed) == kinds(recorded)
    deltas = [e.text for e in replayed if e.kind == "text_delta"]
    assert deltas == ["Order ", "status: ", "shipped."]  # the cassette keeps text, not chunks
    assert replayer.last_result is not None
    assert recorder.last_result is not None
    assert replayer.last_result.output == recorder.last_result.output


def test_record_a_model_string(tmp_path: Path) -> None:
    cassette = tmp_path / "offline.jsonl"
    recorded = _agent(record("offline", cassette)).run_sync("Where is order 1042?")
    replayed = _agent(f"replay:{cassette}").run_sync("Where is order 1042?")
    assert (
        replayed.output
        == recorded.output
        == ("lookup_order returned order_id = 1042, status = shipped.")
    )
    assert repr(ReplayModel(cassette)) == f"ReplayModel({str(cassette)!r})"
