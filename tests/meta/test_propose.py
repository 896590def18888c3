"""The rule-based planner: every proposal is a valid patch, each rule answers its finding."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from agentnb import AgentConfig, FunctionModel, Tool, telemetry
from agentnb.meta import Finding, Measure, Proposal, Report, analyze, apply, propose
from agentnb.meta.planning import FORMATS_HEADING, LOOP_RULE, RulePlanner, merge
from agentnb.meta.proposals import SetSetting, SetToolDescription
from agentnb.meta.revision import check
from agentnb.meta.synthetic import Truth
from tests.meta.conftest import support_config

Planted_ = tuple[telemetry.Store, Truth]


@pytest.fixture(scope="module")
def report(planted: Planted_) -> Report:
    return analyze(planted[0], agent=support_config())


def test_every_proposal_is_a_patch_that_validates(
    report: Report, tools: list[Tool[..., Any]]
) -> None:
    proposals = propose(report)
    config = support_config()

    assert [p.kind for p in proposals[:2]] == ["tool_description", "tool_description"]
    assert {p.kind for p in proposals[2:]} == {"instructions", "max_steps", "timeout"}
    for proposal in proposals:
        patched = proposal.apply(config)
        check(patched)
        patched.validate(tools=tools, model=FunctionModel(lambda _: "ok"))
        assert proposal.evidence
        assert proposal.evidence_count >= len(proposal.evidence)
        assert proposal.finding in {f.id for f in report}
        assert proposal.diff().startswith("--- support.yaml (1.2.0)")
    new = apply(config, proposals)
    new.validate(tools=tools, model=FunctionModel(lambda _: "ok"))


def test_a_rejected_format_is_described_from_the_error_and_the_accepted_calls(
    report: Report, tools: list[Tool[..., Any]]
) -> None:
    first = propose(report)[0]

    (change,) = first.changes
    assert isinstance(change, SetToolDescription)
    assert change.tool == "lookup_order"
    base, _, section = change.description.partition(f"\n\n{FORMATS_HEADING}\n")
    assert base == "Look up an order by its id."
    assert section.startswith(r"- order_id: must match ^ORD-\d{6}$, e.g. " + '"ORD-')
    assert "(not " in section
    assert (
        first.title
        == "Tell the model the format its arguments must have in lookup_order's description"
    )
    assert "of lookup_order calls" in first.rationale
    assert "rejected" in first.expected
    # Planning again from the patched config replaces the section instead of adding another.
    again = RulePlanner().plan(report, first.apply(support_config()))[0]
    (twice,) = again.changes
    assert isinstance(twice, SetToolDescription)
    assert twice.description.count(FORMATS_HEADING) == 1


def test_guard_limits_go_into_the_tool_description(
    report: Report, tools: list[Tool[..., Any]]
) -> None:
    refund = next(p for p in propose(report) if p.changes[0].model_dump().get("tool") == "refund")
    (change,) = refund.changes
    assert isinstance(change, SetToolDescription)
    assert (
        change.description
        == "Refund an order.\n\nLimits:\n- amount: at most 100 (refused otherwise)."
    )
    # Without the config, the guard's block reasons state the same rule.
    blind = Report.model_validate({**report.model_dump(), "config": None})
    same = next(p for p in propose(blind) if p.changes[0].model_dump().get("tool") == "refund")
    assert same.changes == refund.changes
    assert same.diff().startswith("tools[refund].description:\n+ Refund an order.")


def test_max_steps_loops_and_timeouts(report: Report) -> None:
    by_kind = {p.kind: p for p in propose(report)}
    assert by_kind["max_steps"].changes == [SetSetting(path="max_steps", value=7)]
    assert by_kind["max_steps"].title == "Lower max_steps from 8 to 7"
    (instructions,) = by_kind["instructions"].changes
    assert instructions.model_dump()["instructions"].endswith(LOOP_RULE)
    assert by_kind["timeout"].changes == [SetSetting(path="resilience.request_timeout", value=10.0)]


def _finding(kind: Any, subject: str, share: float, **details: Any) -> Finding:
    return Finding(
        kind=kind,
        subject=subject,
        severity="critical",
        title=f"{kind} {subject}",
        measure=Measure(name="x", value=share, unit="share", n=1000),
        details=details,
        runs=["a" * 32],
        run_count=int(share * 1000),
    )


def _report(*findings: Finding, config: AgentConfig | None = None) -> Report:
    return Report(
        agent="support", versions=["1.2.0"], runs=1000, findings=list(findings), config=config
    )


def test_provider_failures_get_a_breaker_and_a_fallback() -> None:
    config = support_config(settings={"resilience": {"breaker_threshold": None}})
    found = _report(_finding("run_errors", "ProviderServerError", 0.08), config=config)

    proposals = RulePlanner(fallback_models=["anthropic:claude-haiku-4-5"]).plan(found)
    assert [(p.kind, p.changes) for p in proposals] == [
        ("breaker", [SetSetting(path="resilience.breaker_threshold", value=5)]),
        (
            "fallback",
            [SetSetting(path="resilience.fallback", value=["anthropic:claude-haiku-4-5"])],
        ),
    ]
    new = apply(config, proposals)
    assert new.changelog is not None
    assert new.changelog.bump == "minor"


def test_invalid_outputs_lower_the_temperature() -> None:
    config = support_config(settings={"temperature": 0.9})
    (proposal,) = RulePlanner().plan(
        _report(_finding("run_errors", "OutputInvalid", 0.05), config=config)
    )
    assert proposal.kind == "temperature"
    assert proposal.changes == [SetSetting(path="temperature", value=0.2)]
    assert (
        RulePlanner().plan(
            _report(
                _finding("run_errors", "OutputInvalid", 0.05),
                config=support_config(settings={"temperature": 0.1}),
            )
        )
        == []
    )


def test_a_bound_beyond_every_success_becomes_a_guard() -> None:
    bounds = {"amount": {"max": 180.0, "failing_min": 250.0}}
    (proposal,) = RulePlanner().plan(
        _report(_finding("tool_errors", "refund", 0.1, bounds=bounds), config=support_config())
    )
    assert proposal.kind == "argument_schema"
    new = apply(support_config(), [proposal])
    assert new.guards[-1].model_dump() == {
        "name": "tool_args",
        "params": {"tools": ["refund"], "rules": {"amount": {"max": 180.0}}, "name": "refund_args"},
    }
    assert new.version == "1.3.0"  # a new guard: minor


def test_a_local_model_gets_no_request_timeout() -> None:
    local = _finding("model_latency", "support-llm", 0.0, p95_ms=0.2, provider="function")
    assert RulePlanner().plan(_report(local)) == []


def test_model_rewrites_replace_rule_proposals_for_the_same_target() -> None:
    def proposal(tool: str, planner: Any) -> Proposal:
        return Proposal(
            kind="tool_description",
            title=f"{tool} by {planner}",
            rationale="",
            changes=[SetToolDescription(tool=tool, description=planner)],
            planner=planner,
        )

    rules = [proposal("lookup_order", "rules"), proposal("refund", "rules")]
    merged = merge(rules, [proposal("refund", "model"), proposal("search_faq", "model")])
    assert [p.title for p in merged] == [
        "lookup_order by rules",
        "refund by model",
        "search_faq by model",
    ]


def test_proposals_display(report: Report) -> None:
    proposals = propose(report)
    assert proposals.summary().splitlines()[0].startswith("[0] Tell the model the format")
    bundle = proposals[0]._repr_mimebundle_()
    assert "+    Argument formats:" in bundle["text/plain"]
    assert "evidence" in bundle["text/html"].lower()
    assert "<pre>" in bundle["text/html"]
    assert (
        Proposal.model_validate_json(proposals[0].model_dump_json()).changes == proposals[0].changes
    )


def test_no_proposal_quotes_an_order_number_from_the_telemetry(
    report: Report, planted: Planted_
) -> None:
    """`disguise` keeps customers' order numbers out of configs: every example and rejected value a
    proposal quotes has its digits replaced, so none is an order number that was in the runs."""
    store, _ = planted
    prompts = store.runs(agent="support", last=None)["prompt"]
    in_telemetry = {int(n) for text in prompts for n in re.findall(r"\d+", str(text))}
    quoted = [
        value
        for p in propose(report)
        for change in p.changes
        for value in re.findall(r'"([^"]*\d[^"]*)"', json.dumps(change.model_dump()))
    ]
    numbers = [int(n) for value in quoted for n in re.findall(r"\d+", value)]
    assert len(numbers) >= 5  # examples and rejected ids are quoted ...
    assert [n for n in numbers if n in in_telemetry] == []  # ... none of them a customer's


def test_every_warning_or_critical_finding_is_answered(report: Report) -> None:
    proposals = propose(report)
    answered = {a for p in proposals for a in p.answers}
    listed = {u.finding for u in proposals.unanswered}
    serious = {f.id for f in report if f.severity != "info"}
    assert serious <= answered | listed
    assert not answered & listed
    # The runs that failed because lookup_order was rejected are answered by its description.
    assert "run_errors:ToolFailed" in proposals[0].answers
    for item in proposals.unanswered:
        assert item.why
        assert item.todo
        assert item.title in proposals.summary()
    assert "no automatic change answers" in proposals._repr_mimebundle_()["text/html"]
