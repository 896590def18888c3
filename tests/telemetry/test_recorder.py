"""The event handler on the run's hot path: span drafts from events, never breaking a run."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

import pytest

from agentnb import Agent, FunctionModel, tool, tool_call
from agentnb import events as ev
from agentnb.models import ModelRequest
from agentnb.telemetry import Recorder
from agentnb.telemetry.recorder import FindingRecord, RunRecord, root_span_id

HEAVY = ("lancedb", "pyarrow", "pandas", "opentelemetry.sdk.trace", "numpy")


@tool
def convert(amount: float, currency: str = "EUR") -> dict[str, Any]:
    """Convert US dollars to another currency."""
    return {"amount": round(amount * 0.8, 2), "currency": currency}


def fx_model(request: ModelRequest) -> Any:
    if not any(m.role == "tool" for m in request.messages):
        return tool_call("convert", amount=12.5, currency="GBP")
    return "12.5 USD is 10.0 GBP."


def recorded(agent: Agent) -> list[RunRecord | FindingRecord]:
    sink: list[RunRecord | FindingRecord] = []
    agent.on_event(Recorder(sink.append, capture="full"))
    return sink


def test_a_one_tool_run_gives_one_record_with_chat_tool_chat_spans() -> None:
    agent = Agent("fx", model=FunctionModel(fx_model), tools=[convert], telemetry=False)
    sink = recorded(agent)
    result = agent.run_sync("How much is 12.5 dollars in GBP?")

    assert len(sink) == 1
    record = sink[0]
    assert isinstance(record, RunRecord)
    assert record.result is result
    draft = record.draft
    assert draft.root_id == result.trace_id[:16]
    assert [(s.op, s.step, s.parent_id) for s in draft.spans] == [
        ("chat", 1, draft.root_id),
        ("execute_tool", 1, draft.root_id),
        ("chat", 2, draft.root_id),
    ]
    starts = [s.start for s in draft.spans]
    assert starts == sorted(starts)
    assert all(s.end is not None and s.end >= s.start for s in draft.spans)
    assert len({s.span_id for s in draft.spans}) == 3
    assert all(len(s.span_id) == 16 and int(s.span_id, 16) for s in draft.spans)
    assert draft.open_chats == []
    assert draft.open_tools == {}


def test_the_root_span_id_comes_from_the_run_id() -> None:
    assert root_span_id("0123456789abcdef" * 2) == "0123456789abcdef"
    assert root_span_id("0" * 16 + "ab" * 8) == "0" * 15 + "1"  # never the invalid all-zero id


def test_a_failing_sink_does_not_break_the_run(caplog: pytest.LogCaptureFixture) -> None:
    def broken(record: object) -> None:
        raise RuntimeError("disk on fire")

    agent = Agent("fx", model=FunctionModel(fx_model), tools=[convert], telemetry=False)
    agent.on_event(Recorder(broken))
    with caplog.at_level(logging.ERROR, logger="agentnb.telemetry"):
        assert agent.run_sync("12.5 dollars in GBP?").status == "ok"
        assert agent.run_sync("12.5 dollars in GBP?").status == "ok"
    failures = [r for r in caplog.records if "recording an event failed" in r.message]
    assert len(failures) == 1  # logged once, not once per event


def test_verdicts_nest_under_their_tool_span_and_layer_events_under_their_chat() -> None:
    sink: list[RunRecord | FindingRecord] = []
    rec = Recorder(sink.append, capture="full")
    run_id = "ab" * 16
    start = ev.RunStarted(run_id, "fx", "1.0.0", "openai:gpt-4.1", "hi", "cafe", wall_time=1e9)
    rec(start)
    rec(ev.ModelRequestStarted(run_id, 1, "openai:gpt-4.1", False))
    rec(ev.LayerEvent(run_id, 1, "retry", "openai:gpt-4.1", "429, retrying", attempt=1))
    call = tool_call("refund", amount=500).tool_calls[0]
    rec(ev.ToolCallStarted(run_id, 1, call))
    rec(
        ev.GuardVerdict(
            run_id,
            1,
            "small_refunds",
            "tool_call",
            "block",
            "too big",
            "skip_tool",
            0.001,
            target="refund",
        )
    )
    rec(ev.GuardVerdict(run_id, 0, "no_pii", "input", "pass", "", "continue", 0.001))
    rec(ev.LayerEvent(run_id, 9, "breaker", "openai:gpt-4.1", "opened", state="open"))
    from agentnb.models import Usage
    from agentnb.runs.result import RunResult

    result = RunResult(
        run_id,
        "fx",
        "1.0.0",
        "openai:gpt-4.1",
        "hi",
        None,
        "error",
        [],
        [],
        Usage(),
        None,
        0.1,
        1e9,
    )
    rec(ev.RunFinished(run_id, result))

    record = sink[0]
    assert isinstance(record, RunRecord)
    spans = record.draft.spans
    chat, tool_span, blocked, passed = spans
    assert (chat.op, tool_span.op, blocked.op, passed.op) == (
        "chat",
        "execute_tool",
        "guard",
        "guard",
    )
    assert blocked.parent_id == tool_span.span_id
    assert passed.parent_id == record.draft.root_id
    assert chat.end is None
    assert tool_span.end is None
    assert [e.layer for e in chat.events or []] == ["retry"]
    assert [e.layer for e in record.draft.root_events] == ["breaker"]


def test_a_finding_after_the_run_is_passed_on_with_its_wall_time() -> None:
    sink: list[RunRecord | FindingRecord] = []
    rec = Recorder(sink.append, capture="redacted")
    rec(ev.MonitorFinding("cd" * 16, "fx", "latency", "warning", "slow", {"p95": 3.2}))
    (finding,) = sink
    assert isinstance(finding, FindingRecord)
    assert finding.capture == "redacted"
    assert finding.wall > 1.7e9


def test_importing_telemetry_loads_nothing_heavy() -> None:
    probe = (
        "import sys, json, agentnb, agentnb.telemetry\n"
        "from agentnb.telemetry import Recorder, configure, event_handler\n"
        "event_handler()\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []
