"""Record a run through the real `openai` SDK (against the local wire server), replay it offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentnb import Agent, record, tool
from agentnb.agents import RunResult
from agentnb.events import RunFinished
from agentnb.models.openai import OpenAIModel
from tests.wire_server import Call, Reply, WireServer

PLANTED_KEY = "sk-test-planted-secret-1234567890"


@tool
def lookup_order(order_id: str) -> dict[str, str]:
    """Look up an order by its id."""
    return {"order_id": order_id, "status": "shipped"}


def _agent(model: Any) -> Agent:
    return Agent(
        "clerk",
        model=model,
        instructions="Answer questions about orders.",
        tools=[lookup_order],
        settings={"temperature": 0.0, "max_tokens": 200},
    )


def _steps(result: RunResult) -> list[dict[str, Any]]:
    steps = [step.to_dict() for step in result.steps]
    for step in steps:
        step.pop("duration")
        step.pop("start")
        for call in step["tool_calls"]:
            call.pop("duration")
            call.pop("start")
    return steps


async def _run(agent: Agent, prompt: str, stream: bool) -> RunResult:
    if not stream:
        return await agent.run(prompt)
    events = [event async for event in agent.stream(prompt)]
    assert isinstance(events[-1], RunFinished)
    return events[-1].result


@pytest.mark.parametrize("stream", [False, True], ids=["request", "stream"])
async def test_record_through_the_openai_sdk_then_replay_offline(
    tmp_path: Path, stream: bool
) -> None:
    cassette = tmp_path / "clerk.jsonl"
    prompt = "Where is order 1042?"
    with WireServer() as server:
        server.script(
            Reply(calls=[Call("lookup_order", {"order_id": "1042"})], usage=(120, 12)),
            Reply(text="Order 1042 has shipped.", usage=(160, 7)),
        )
        model = OpenAIModel("gpt-4.1-mini", base_url=server.url + "/v1", api_key=PLANTED_KEY)
        try:
            recorded = await _run(_agent(record(model, cassette)), prompt, stream)
        finally:
            await model.aclose()
        sent = list(server.requests)
    # the server is gone: whatever runs now cannot reach a model

    assert [r.path for r in sent] == ["/v1/chat/completions"] * 2
    assert sent[0].headers["authorization"] == f"Bearer {PLANTED_KEY}"
    assert recorded.status == "ok"
    assert recorded.output == "Order 1042 has shipped."
    assert recorded.model == "openai:gpt-4.1-mini"
    assert [(c.name, c.arguments, c.result) for c in recorded.tool_calls] == [
        ("lookup_order", '{"order_id": "1042"}', '{"order_id":"1042","status":"shipped"}')
    ]

    replayed = await _run(_agent(f"replay:{cassette}"), prompt, stream)
    assert replayed.status == "ok"
    assert replayed.output == recorded.output
    assert replayed.usage == recorded.usage
    assert (replayed.usage.input_tokens, replayed.usage.output_tokens) == (280, 19)
    assert replayed.messages == recorded.messages
    assert _steps(replayed) == _steps(recorded)
    assert replayed.cost == recorded.cost
    assert recorded.cost == pytest.approx((280 * 0.40 + 19 * 1.60) / 1_000_000)

    text = cassette.read_text(encoding="utf-8")
    assert PLANTED_KEY not in text
    assert "planted-secret" not in text
    entries = [json.loads(line) for line in text.splitlines()]
    assert [e["model"] for e in entries] == ["openai:gpt-4.1-mini"] * 2
    assert [e["response"]["model"] for e in entries] == ["gpt-4.1-mini"] * 2
