"""Tools that raise: the planner proposes what a config can do, and says why when it cannot."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from agentnb import Agent, FunctionModel, RunError, telemetry, tool, tool_call
from agentnb.meta import Finding, Measure, Report, analyze, apply, propose
from agentnb.meta.planning import FAILURES_HEADING, RulePlanner
from agentnb.meta.proposals import SetSetting, SetToolDescription
from agentnb.models import ModelRequest
from tests.meta.conftest import support_config

UNITS = {"km": 1000.0, "m": 1.0, "mi": 1609.344}


@tool
def convert_units(value: float, from_unit: str, to_unit: str) -> float:
    """Convert a length from one unit to another."""
    if from_unit not in UNITS or to_unit not in UNITS:
        raise ValueError(f"unknown unit {from_unit if from_unit not in UNITS else to_unit!r}")
    return value * UNITS[from_unit] / UNITS[to_unit]


def _teacher(request: ModelRequest) -> Any:
    """Asks in "leagues" three times in four (a unit the tool does not know), else in km."""
    results = [m for m in request.messages if m.role == "tool"]
    if results:
        return "Done." if not results[-1].is_error else "I cannot convert that unit."
    asked = str(request.messages[0].content)
    unit = "leagues" if "league" in asked else "km"
    return tool_call("convert_units", value=42.0, from_unit=unit, to_unit="mi")


def test_a_value_that_always_raises_is_noted_in_the_description() -> None:
    agent = Agent("teacher", model=FunctionModel(_teacher), tools=[convert_units], telemetry=False)
    agent.on_event(telemetry.event_handler())
    for i in range(16):
        try:
            agent.run_sync("Convert 42 leagues to mi" if i % 4 else "Convert 42 km to mi")
        except RunError:  # pragma: no cover - the model answers after one error
            raise
    report = analyze(telemetry.open(), agent=agent)
    finding = report["tool_errors:convert_units"]
    assert finding.severity == "critical"  # 75% of convert_units calls fail

    proposals = propose(report)
    (proposal,) = proposals
    (change,) = proposal.changes
    assert isinstance(change, SetToolDescription)
    assert change.description == (
        "Convert a length from one unit to another.\n\n"
        f"{FAILURES_HEADING}\n"
        "- from_unit=\"leagues\" fails every time (12 calls): ValueError: unknown unit 'leagues'."
    )
    assert proposal.answers[0] == "tool_errors:convert_units"
    # The failures read alike and name the tool: the same proposal answers them.
    assert {f.id for f in report if f.severity != "info"} <= set(proposal.answers)
    assert proposals.unanswered == []
    new = apply(agent.config, proposals)
    assert new.version == "0.1.1"


def _tool_finding(share: float, **details: Any) -> Finding:
    return Finding(
        kind="tool_errors",
        subject="lookup_order",
        severity="critical",
        title=f"{share:.0%} of lookup_order calls fail",
        measure=Measure(name="failed calls", value=share, unit="share", n=200, of="calls"),
        details={"calls": 200, "failed": int(share * 200), **details},
        runs=["b" * 32],
        run_count=int(share * 200),
    )


def _tool_failed(runs: int) -> Finding:
    message = "tool 'lookup_order': failed # times in this run (settings.tool_retries=#)"
    return Finding(
        kind="run_errors",
        subject="ToolFailed",
        severity="warning",
        title="runs fail with ToolFailed",
        measure=Measure(name="failed runs", value=runs / 1000, unit="share", n=1000),
        details={"messages": [(message, runs)]},
        runs=["c" * 32],
        run_count=runs,
    )


def _report(*findings: Finding) -> Report:
    return Report(
        agent="support",
        versions=["1.2.0"],
        runs=1000,
        findings=list(findings),
        config=support_config(),
    )


TIMEOUTS = [("Tool 'lookup_order' timed out after 5.0 s.", 30)]


def test_transient_errors_that_end_runs_get_more_retries() -> None:
    errors = _tool_finding(0.15, messages=TIMEOUTS, error_types=[("timeout", 30)], transient=1.0)
    planner = RulePlanner()
    (proposal,) = planner.plan(_report(errors, _tool_failed(25)))
    assert proposal.kind == "retries"
    assert proposal.changes == [SetSetting(path="tool_retries", value=4)]
    assert "@tool(timeout=...)" in proposal.rationale
    assert set(proposal.answers) == {"tool_errors:lookup_order", "run_errors:ToolFailed"}
    assert planner.unanswered == []


def test_transient_errors_that_end_no_run_are_explained() -> None:
    errors = _tool_finding(0.15, messages=TIMEOUTS, error_types=[("timeout", 30)], transient=1.0)
    planner = RulePlanner()
    assert planner.plan(_report(errors)) == []
    (item,) = planner.unanswered
    assert item.finding == "tool_errors:lookup_order"
    assert "no run failed because of them" in item.why
    # Runs did fail, but retries are at the planner's ceiling already: said so.
    config = support_config(settings={"tool_retries": 5})
    report = Report.model_validate(
        {**_report(errors, _tool_failed(25)).model_dump(), "config": config}
    )
    assert planner.plan(report) == []
    assert "already 5" in planner.unanswered[0].why


def test_errors_no_config_can_fix_are_listed_with_what_to_do() -> None:
    messages = [("Tool 'lookup_order' raised KeyError: 'eta'", 30)]
    errors = _tool_finding(0.15, messages=messages, error_types=[("exception", 30)], transient=0)
    proposals = propose(_report(errors))

    assert list(proposals) == []
    (item,) = proposals.unanswered
    assert item.severity == "critical"
    assert "do not look transient" in item.why
    assert "KeyError" in item.todo
    assert "RemoveTool(tool='lookup_order')" in item.todo
    assert "no automatic change answers" in proposals.summary()
    assert "you could:" in proposals.summary()


def test_apply_without_proposals_returns_the_config_and_says_what_to_do() -> None:
    messages = [("Tool 'lookup_order' raised KeyError: 'eta'", 30)]
    errors = _tool_finding(0.15, messages=messages, error_types=[("exception", 30)], transient=0)
    config = support_config()
    proposals = propose(_report(errors))

    with pytest.warns(UserWarning, match="unchanged: no proposals to apply"):
        same = apply(config, proposals)
    assert same.to_yaml() == config.to_yaml()
    assert same.version == config.version
    assert same.note is not None
    assert "RemoveTool(tool='lookup_order')" in same.note
    assert same.summary() == same.note

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bare = apply(config, [])
    assert "pass your own changes" in str(caught[0].message)
    assert bare.version == config.version
