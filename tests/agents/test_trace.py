"""The trace payload: versioned, complete, JSON all the way, spans parented as documented."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from agentnb import Agent, FunctionModel, Verdict, guard, tool, tool_call
from agentnb import semconv as A
from agentnb.agents import RunResult, StepRecord, ToolCallRecord
from agentnb.display.trace import TRACE_MIME, stopped
from agentnb.events import GuardVerdict, MonitorFinding
from agentnb.guards import ToolCallView
from agentnb.models import Usage
from agentnb.notebook import execute
from agentnb.runs.trace import trace_payload

Script = Callable[..., FunctionModel]
RUN = "ab" * 16
T0 = 1000.0  # perf_counter() at the start of the hand-made run


def verdict(step: int, guard: str, point: Any, outcome: Any, at: float, **kw: Any) -> GuardVerdict:
    """A verdict that finished `at` seconds into the run and took 1 ms."""
    return GuardVerdict(
        RUN,
        step,
        guard,
        point,
        outcome,
        kw.get("reason", ""),
        kw.get("action", "continue"),
        0.001,
        kw.get("target"),
        t=T0 + at,
    )


def shop_run(**changes: Any) -> RunResult:
    """Two turns: a lookup and a blocked refund, then a curt answer a guard warns about."""
    lookup = ToolCallRecord(1, "c1", "lookup", '{"order": "A-1"}', '{"paid": 30}', None, 0.1, 0.6)
    refund = ToolCallRecord(
        1,
        "c2",
        "refund",
        '{"order": "A-1"}',
        "blocked by guard limit: over 20",
        "blocked",
        0.01,
        0.72,
    )
    fields: dict[str, Any] = {
        "run_id": RUN,
        "agent": "shop",
        "version": "1.2.0",
        "model": "openai:gpt-4.1",
        "prompt": "Refund A-1",
        "output": "Refund refused.",
        "status": "ok",
        "messages": [],
        "steps": [
            StepRecord(
                1,
                "gpt-4.1-2025",
                "Let me check.",
                Usage(100, 20, 1),
                0.5,
                0.0012,
                "tool_calls",
                [lookup, refund],
                start=0.05,
            ),
            StepRecord(
                2,
                "gpt-4.1-2025",
                "Refund refused.",
                Usage(150, 5, 1),
                0.25,
                None,
                "stop",
                start=0.8,
            ),
        ],
        "usage": Usage(250, 25, 2),
        "cost": None,
        "duration": 1.25,
        "started_at": 1_700_000_000.0,
        "perf_start": T0,
        "verdicts": [
            verdict(0, "no_pii", "input", "pass", 0.002),
            verdict(1, "limit", "tool_call", "pass", 0.602, target="lookup"),
            verdict(
                1,
                "limit",
                "tool_call",
                "block",
                0.725,
                target="refund",
                reason="over 20",
                action="skip",
            ),
            verdict(2, "tone", "final_output", "warn", 1.06, reason="curt"),
        ],
        "findings": [
            MonitorFinding(
                RUN,
                "shop",
                "slow_tools",
                "warning",
                "lookup took 0.1 s",
                {"seconds": 0.1},
                t=T0 + 1.5,
            ),
        ],
    }
    fields.update(changes)
    return RunResult(**fields)


def rounded(value: Any) -> Any:
    """`value` with every float rounded to the microsecond (times are computed differences)."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def test_the_payload_of_a_run_whole() -> None:
    payload = trace_payload(shop_run())

    def guard_attrs(
        name: str, point: str, outcome: str, action: str, reason: str, target: str | None, step: int
    ) -> dict[str, Any]:
        return {
            "gen_ai.operation.name": "guard",
            "agentnb.guard.name": name,
            "agentnb.guard.point": point,
            "agentnb.guard.outcome": outcome,
            "agentnb.guard.action": action,
            "agentnb.guard.reason": reason,
            "agentnb.guard.target": target,
            "agentnb.step": step,
        }

    assert rounded(payload) == {
        "version": 1,
        "run_id": RUN,
        "agent": "shop",
        "agent_version": "1.2.0",
        "model": "openai:gpt-4.1",
        "status": "ok",
        "error": None,
        "error_type": None,
        "prompt": "Refund A-1",
        "output": "Refund refused.",
        "started_at": 1_700_000_000.0,
        "duration": 1.25,
        "totals": {
            "steps": 2,
            "tool_calls": 2,
            "tool_errors": 0,
            "input_tokens": 250,
            "output_tokens": 25,
            "total_tokens": 275,
            "cost": None,
            "duration": 1.25,
            "verdicts": {"pass": 2, "warn": 1, "block": 1, "rewrite": 0, "error": 0},
            "blocked": 1,
            "findings": 1,
        },
        "spans": [
            {
                "id": "run",
                "parent_id": None,
                "kind": "invoke_agent",
                "name": "invoke_agent shop",
                "step": None,
                "start": 0.0,
                "duration": 1.25,
                "status": "ok",
                "attributes": {
                    "gen_ai.operation.name": "invoke_agent",
                    "gen_ai.agent.name": "shop",
                    "gen_ai.agent.version": "1.2.0",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4.1",
                    "gen_ai.usage.input_tokens": 250,
                    "gen_ai.usage.output_tokens": 25,
                    "agentnb.run.id": RUN,
                    "agentnb.run.status": "ok",
                    "agentnb.run.steps": 2,
                    "agentnb.run.tool_calls": 2,
                },
            },
            {
                "id": "guard-1",
                "parent_id": "run",
                "kind": "guard",
                "name": "guard no_pii",
                "step": 0,
                "start": 0.001,
                "duration": 0.001,
                "status": "ok",
                "attributes": guard_attrs("no_pii", "input", "pass", "continue", "", None, 0),
            },
            {
                "id": "chat-1",
                "parent_id": "run",
                "kind": "chat",
                "name": "chat gpt-4.1",
                "step": 1,
                "start": 0.05,
                "duration": 0.5,
                "status": "ok",
                "attributes": {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4.1",
                    "gen_ai.response.model": "gpt-4.1-2025",
                    "gen_ai.response.finish_reasons": ["tool_calls"],
                    "gen_ai.usage.input_tokens": 100,
                    "gen_ai.usage.output_tokens": 20,
                    "agentnb.usage.cost_usd": 0.0012,
                    "agentnb.step": 1,
                    "gen_ai.output.messages": [
                        {
                            "role": "assistant",
                            "parts": [
                                {"type": "text", "content": "Let me check."},
                                {
                                    "type": "tool_call",
                                    "id": "c1",
                                    "name": "lookup",
                                    "arguments": '{"order": "A-1"}',
                                },
                                {
                                    "type": "tool_call",
                                    "id": "c2",
                                    "name": "refund",
                                    "arguments": '{"order": "A-1"}',
                                },
                            ],
                            "finish_reason": "tool_calls",
                        }
                    ],
                },
            },
            {
                "id": "tool-1.1",
                "parent_id": "run",
                "kind": "execute_tool",
                "name": "execute_tool lookup",
                "step": 1,
                "start": 0.6,
                "duration": 0.1,
                "status": "ok",
                "attributes": {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "lookup",
                    "gen_ai.tool.type": "function",
                    "gen_ai.tool.call.id": "c1",
                    "gen_ai.tool.call.arguments": '{"order": "A-1"}',
                    "agentnb.step": 1,
                    "gen_ai.tool.call.result": '{"paid": 30}',
                },
            },
            {
                "id": "guard-2",
                "parent_id": "tool-1.1",
                "kind": "guard",
                "name": "guard limit",
                "step": 1,
                "start": 0.601,
                "duration": 0.001,
                "status": "ok",
                "attributes": guard_attrs(
                    "limit", "tool_call", "pass", "continue", "", "lookup", 1
                ),
            },
            {
                "id": "tool-1.2",
                "parent_id": "run",
                "kind": "execute_tool",
                "name": "execute_tool refund",
                "step": 1,
                "start": 0.72,
                "duration": 0.01,
                "status": "blocked",
                "attributes": {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "refund",
                    "gen_ai.tool.type": "function",
                    "gen_ai.tool.call.id": "c2",
                    "gen_ai.tool.call.arguments": '{"order": "A-1"}',
                    "agentnb.step": 1,
                    "error.type": "blocked",
                    "agentnb.error.message": "blocked by guard limit: over 20",
                },
            },
            {
                "id": "guard-3",
                "parent_id": "tool-1.2",
                "kind": "guard",
                "name": "guard limit",
                "step": 1,
                "start": 0.724,
                "duration": 0.001,
                "status": "blocked",
                "attributes": guard_attrs(
                    "limit", "tool_call", "block", "skip", "over 20", "refund", 1
                ),
            },
            {
                "id": "chat-2",
                "parent_id": "run",
                "kind": "chat",
                "name": "chat gpt-4.1",
                "step": 2,
                "start": 0.8,
                "duration": 0.25,
                "status": "ok",
                "attributes": {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4.1",
                    "gen_ai.response.model": "gpt-4.1-2025",
                    "gen_ai.response.finish_reasons": ["stop"],
                    "gen_ai.usage.input_tokens": 150,
                    "gen_ai.usage.output_tokens": 5,
                    "agentnb.step": 2,
                    "gen_ai.output.messages": [
                        {
                            "role": "assistant",
                            "parts": [{"type": "text", "content": "Refund refused."}],
                            "finish_reason": "stop",
                        }
                    ],
                },
            },
            {
                "id": "guard-4",
                "parent_id": "chat-2",
                "kind": "guard",
                "name": "guard tone",
                "step": 2,
                "start": 1.059,
                "duration": 0.001,
                "status": "warn",
                "attributes": guard_attrs(
                    "tone", "final_output", "warn", "continue", "curt", None, 2
                ),
            },
            {
                "id": "monitor-1",
                "parent_id": "run",
                "kind": "monitor",
                "name": "monitor slow_tools",
                "step": None,
                "start": 1.5,
                "duration": 0.0,
                "status": "warn",
                "attributes": {
                    "gen_ai.operation.name": "monitor",
                    "agentnb.monitor.name": "slow_tools",
                    "agentnb.monitor.severity": "warning",
                    "agentnb.monitor.message": "lookup took 0.1 s",
                    "agentnb.monitor.evidence": {"seconds": 0.1},
                },
            },
        ],
    }


def test_it_round_trips_through_json_and_is_complete() -> None:
    huge = "x" * 1_000_000 + "<script>alert(1)</script>"
    call = ToolCallRecord(1, "c1", "dump", "{}", huge, None, 0.1, 0.6)
    step = StepRecord(1, "m", "", Usage(1, 1, 1), 0.5, None, "tool_calls", [call], start=0.05)
    payload = trace_payload(shop_run(steps=[step], output={"when": object()}))

    assert json.loads(json.dumps(payload)) == payload
    (tool_span,) = [s for s in payload["spans"] if s["kind"] == "execute_tool"]
    assert tool_span["attributes"][A.GEN_AI_TOOL_CALL_RESULT] == huge  # never truncated
    assert payload["output"]["when"].startswith("<object object at ")  # str() of the unknown


def test_a_typed_output_is_its_json_dump() -> None:
    class Refund(BaseModel):
        order: str
        amount: float

    payload = trace_payload(shop_run(output=Refund(order="A-1", amount=30)))
    assert payload["output"] == {"order": "A-1", "amount": 30.0}


def test_tool_verdicts_attach_to_the_concurrent_call_they_checked() -> None:
    calls = [
        ToolCallRecord(1, "a", "lookup", '{"order": "A"}', "1", None, 0.05, 0.60),
        ToolCallRecord(1, "b", "lookup", '{"order": "B"}', "2", None, 0.05, 0.62),
    ]
    step = StepRecord(1, "m", "", Usage(), 0.5, None, None, calls, start=0.05)
    verdicts = [  # recorded in completion order: B's check finished first
        verdict(1, "limit", "tool_result", "pass", 0.665, target="lookup"),
        verdict(1, "limit", "tool_result", "pass", 0.645, target="lookup"),
        verdict(1, "tone", "model_output", "pass", 0.56),
    ]
    payload = trace_payload(shop_run(steps=[step], verdicts=verdicts, findings=[]))
    assert [(s["id"], s["parent_id"]) for s in payload["spans"]] == [
        ("run", None),
        ("chat-1", "run"),
        ("guard-3", "chat-1"),
        ("tool-1.1", "run"),
        ("guard-2", "tool-1.1"),
        ("tool-1.2", "run"),
        ("guard-1", "tool-1.2"),
    ]


def test_status_of_spans() -> None:
    failing = ToolCallRecord(
        1, "c1", "lookup", "{}", "Tool 'lookup' raised KeyError", "exception", 0.01, 0.6
    )
    step = StepRecord(1, "m", "", Usage(), 0.5, None, None, [failing], start=0.05)
    verdicts = [
        verdict(1, "strict", "model_output", "block", 0.56, reason="rude", action="reask"),
        verdict(1, "soft", "model_output", "block", 0.57, reason="long", action="warn"),
        verdict(
            1, "broken", "model_output", "error", 0.58, reason="guard error: boom", action="warn"
        ),
        verdict(1, "fixer", "model_output", "rewrite", 0.59, action="rewrite"),
    ]
    payload = trace_payload(
        shop_run(
            steps=[step],
            verdicts=verdicts,
            findings=[],
            status="error",
            error="boom",
            error_type="ToolFailed",
            output=None,
        )
    )
    assert [(s["id"], s["status"]) for s in payload["spans"]] == [
        ("run", "error"),
        ("chat-1", "blocked"),  # `strict` stopped the turn (and the model was asked again)
        ("guard-1", "blocked"),
        ("guard-2", "warn"),  # a block configured to only warn
        ("guard-3", "error"),  # the guard failed, and was set to only warn
        ("guard-4", "ok"),
        ("tool-1.1", "error"),
    ]
    root = payload["spans"][0]["attributes"]
    assert (root[A.ERROR_TYPE], root[A.AGENTNB_ERROR_MESSAGE]) == ("ToolFailed", "boom")
    assert (payload["totals"]["tool_errors"], payload["totals"]["blocked"]) == (1, 1)
    assert (payload["error"], payload["error_type"], payload["output"]) == (
        "boom",
        "ToolFailed",
        None,
    )
    assert [
        stopped(o, a) for o, a in [("block", "raise"), ("error", "skip"), ("rewrite", "rewrite")]
    ] == [
        True,
        True,
        False,
    ]


def test_a_result_without_a_clock_places_its_events_at_the_end() -> None:
    payload = trace_payload(shop_run(perf_start=0.0))
    guards = [s for s in payload["spans"] if s["kind"] in ("guard", "monitor")]
    assert {s["start"] for s in guards} == {1.25}


def test_attribute_names_are_the_telemetry_ones() -> None:
    known = {v for k, v in vars(A).items() if k.isupper() and isinstance(v, str)}
    used = {name for span in trace_payload(shop_run())["spans"] for name in span["attributes"]}
    assert used <= known, used - known


def test_a_real_run_with_a_blocked_tool(script: Script) -> None:
    @tool
    def delete(user: str) -> str:
        """Delete a user."""
        return "deleted"

    @guard("tool_call")
    def no_deletes(call: ToolCallView) -> Verdict:
        return Verdict.block("needs a human") if call.name == "delete" else Verdict.allow()

    model = script(tool_call("delete", user="bob"), "I could not delete bob.")
    agent = Agent("admin", model=model, tools=[delete], guards=[no_deletes], telemetry=False)
    result = agent.run_sync("delete bob")

    payload = trace_payload(result)
    assert [(s["id"], s["parent_id"], s["status"]) for s in payload["spans"]] == [
        ("run", None, "ok"),
        ("chat-1", "run", "ok"),
        ("tool-1.1", "run", "blocked"),
        ("guard-1", "tool-1.1", "blocked"),
        ("chat-2", "run", "ok"),
    ]
    spans = payload["spans"]
    assert all(0 <= s["start"] <= result.duration for s in spans)
    assert spans[3]["start"] >= spans[2]["start"]  # the check ran inside the call's span
    assert payload["run_id"] == result.run_id


def test_the_mime_type_is_the_one_counted_by_agentnb_run() -> None:
    assert TRACE_MIME == execute.TRACE_MIME == "application/vnd.agentnb.trace+json"


def test_importing_the_renderers_loads_neither_ipython_nor_plotly() -> None:
    probe = (
        "import sys, json\n"
        "import agentnb.runs.trace, agentnb.display.trace_html, agentnb.display.run\n"
        "import agentnb.display.timeline, agentnb.display.charts, agentnb.display.verdicts\n"
        "heavy = ('IPython', 'plotly', 'nbformat')\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
    # and `agents/` does not import `notebook/` at all until a result is displayed
    probe = (
        "import sys, agentnb; print([m for m in sys.modules if m.startswith('agentnb.notebook.')])"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
