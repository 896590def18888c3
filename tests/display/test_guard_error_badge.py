"""A guard that raises is never silent in a display: a red header badge names it, the verdict
table shows its error, and the dashboard draws a guard-error rate when the store counts them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import pytest
from IPython.core.formatters import DisplayFormatter

from agentnb import Agent, FunctionModel, Verdict, guard, tool, tool_call
from agentnb.agents import RunResult
from agentnb.display.dashboard import DashboardData, figures, static_html
from agentnb.display.trace_html import guard_errors, render_trace
from agentnb.guards import GuardErrorWarning, ToolCallView
from agentnb.runs.trace import trace_payload

Script = Callable[..., FunctionModel]


@tool
def refund(order: str) -> str:
    """Refund an order."""
    return f"refunded {order}"


@guard("tool_call")
def buggy_limit(call: ToolCallView) -> Verdict:
    raise KeyError("amount")  # the guard's bug: refund has no `amount`


@guard("final_output", on_fail="warn")
def polite(text: str) -> Verdict:
    return Verdict.allow()


def failing_run(script: Script) -> RunResult:
    model = script(tool_call("refund", order="A-1"), tool_call("refund", order="A-2"), "Done.")
    agent = Agent(
        "shop", model=model, tools=[refund], guards=[buggy_limit, polite], telemetry=False
    )
    with pytest.warns(GuardErrorWarning, match="guard 'buggy_limit' raised KeyError"):
        return agent.run_sync("refund A-1 and A-2")


def test_the_trace_html_has_a_red_badge_per_failing_guard(script: Script) -> None:
    result = failing_run(script)
    assert [v.outcome for v in result.verdicts if v.guard == "buggy_limit"] == ["error", "error"]
    payload = trace_payload(result)
    page = render_trace(payload)

    assert guard_errors(payload) == ["buggy_limit"]  # named once, however often it failed
    (head,) = re.findall(r'<div class="anb-head">(.*?)</div>', page, re.S)
    badges = re.findall(r'<span class="anb-badge (anb-b-[\w-]+)" style="background:(#\w+)', head)
    assert badges == [("anb-b-status-ok", "#1a7f37"), ("anb-b-guard-error", "#cf222e")]
    assert "✕ guard error: buggy_limit</span>" in head


def test_no_badge_without_a_guard_error(script: Script) -> None:
    model = script("Done.")
    agent = Agent("shop", model=model, guards=[polite], telemetry=False)
    page = render_trace(trace_payload(agent.run_sync("hi")))
    assert "guard error" not in page
    assert "anb-b-guard-error" not in page


def test_the_verdict_table_shows_the_error(script: Script) -> None:
    result = failing_run(script)
    data, _ = DisplayFormatter().format(result.verdicts)
    errors = [line for line in data["text/plain"].splitlines() if "buggy_limit" in line]
    assert len(errors) == 2
    assert all(" error " in line for line in errors)
    assert data["text/html"].count("anb-b-error") == 2


def frames(guard_errors: list[int] | None) -> DashboardData:
    """Two versions of one agent, four runs each, as the data module would read them."""
    now = datetime(2026, 12, 3, 10, tzinfo=timezone.utc)
    versions: dict[str, Any] = {
        "agent": ["shop", "shop"],
        "version": ["1.0.0", "1.1.0"],
        "label": ["1.0.0", "1.1.0"],
        "count": [4, 4],
        "p50_ms": [10.0, 12.0],
        "p95_ms": [20.0, 25.0],
        "error_rate": [0.25, 0.0],
        "guard_block_rate": [0.0, 0.25],
        "cost": [None, None],
        "cost_per_run": [None, None],
    }
    if guard_errors is not None:
        versions["guard_errors"] = guard_errors
        versions["guard_error_rate"] = [n / 4 for n in guard_errors]
    timeline = pd.DataFrame(
        {"time": [pd.Timestamp(now)], "ok": [6], "error": [1], "blocked": [1], "cancelled": [0]}
    ).assign(runs=8)
    tools = pd.DataFrame(
        {
            "tool": ["refund"],
            "count": [8],
            "errors": [1],
            "guard_blocks": [1],
            "failures": [2],
            "failure_rate": [0.25],
        }
    )
    totals = {
        "runs": 8,
        "errors": 1,
        "error_rate": 0.125,
        "blocked": 1,
        "block_rate": 0.125,
        "p50_ms": 11.0,
        "p95_ms": 24.0,
        "cost": None,
        "cost_per_run": None,
        "unpriced": 8,
    }
    return DashboardData(
        agent="shop",
        version=None,
        since=None,
        window="all time",
        bucket="1h",
        timeline=timeline,
        versions=pd.DataFrame(versions),
        tools=tools,
        totals=totals,
    )


def rates(data: DashboardData) -> tuple[str, dict[str, list[float]]]:
    fig = figures(data)["rates"]
    return fig.layout.title.text, {t.name: list(t.y) for t in fig.data}


def test_the_dashboard_draws_guard_error_rates_when_the_store_counts_them() -> None:
    title, series = rates(frames([1, 0]))
    assert title == "Error, guard-block and guard-error rates per version"
    assert series == {
        "error rate": [0.25, 0.0],
        "guard-block rate": [0.0, 0.25],
        "guard-error rate": [0.25, 0.0],
    }
    data = frames([1, 0])
    assert data.guard_errors == 1
    assert "· 1 guard error" in data.summary()
    assert "<title>1.0.0 · guard-error rate: 25%</title>" in static_html(data, figures(data))


def test_the_dashboard_degrades_without_guard_errors() -> None:
    for data in (frames(None), frames([0, 0])):  # not counted by the store / none happened
        title, series = rates(data)
        assert title == "Error and guard-block rates per version"
        assert list(series) == ["error rate", "guard-block rate"]
        assert "guard error" not in data.summary()
    assert frames(None).guard_errors is None
