"""Each analyzer on synthetic telemetry with known answers, and on telemetry real runs recorded.

The planted store (conftest) holds 10,000 runs whose rates are set in `PLANTED`; `Truth` counts
what was actually written. Each analyzer must report exactly what was written, and that is within
sampling error of what was planted (tolerances are about 4 standard errors).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest

from agentnb import Agent, FunctionModel, RunError, telemetry, tool_call
from agentnb.meta import Thresholds, analyze
from agentnb.meta.report import Report
from agentnb.meta.synthetic import ORDER_ID_PATTERN, Planted, Truth, generate
from agentnb.models import ModelRequest
from tests.meta.conftest import PLANTED, support_tools

Planted_ = tuple[telemetry.Store, Truth]


def tolerance(p: float, n: int) -> float:
    """About four standard errors of a share p measured over n."""
    return 4 * math.sqrt(p * (1 - p) / n) + 1e-9


@pytest.fixture(scope="module")
def report(planted: Planted_) -> Report:
    store, _ = planted
    return analyze(store, agent="support")


def test_argument_validation_failures_are_recovered(report: Report, planted: Planted_) -> None:
    _, truth = planted
    lookups = truth.tools["lookup_order"]
    finding = report["invalid_arguments:lookup_order"]

    assert finding.measure.value == lookups.invalid / lookups.calls
    assert finding.measure.n == lookups.calls
    assert abs(finding.measure.value - PLANTED.invalid_rate) < tolerance(0.2, lookups.calls)
    low, high = finding.measure.low, finding.measure.high
    assert low is not None
    assert high is not None
    assert low < finding.measure.value < high
    assert finding.severity == "critical"
    field = finding.details["fields"]["order_id"]
    assert field["pattern"] == ORDER_ID_PATTERN
    assert field["count"] == lookups.invalid
    assert field["problems"] == [
        (f"String should match pattern '{ORDER_ID_PATTERN}'", lookups.invalid)
    ]
    # One rejected value per kind of mistake, digits disguised; accepted examples fit the pattern.
    assert 3 <= len(field["rejected"]) <= 5
    assert all(ex.startswith("ORD-") and len(ex) == 10 for ex in field["examples"])
    assert set(finding.runs) <= set(truth.run_ids)
    assert len(finding.runs) == 50


def test_tool_failures_are_recovered_with_their_messages(report: Report, planted: Planted_) -> None:
    _, truth = planted
    refunds = truth.tools["refund"]
    finding = report["tool_errors:refund"]

    assert finding.measure.value == refunds.errors / refunds.calls
    expected = PLANTED.refund_error_rate * (1 - PLANTED.block_rate)  # blocked calls do not fail
    assert abs(finding.measure.value - expected) < tolerance(expected, refunds.calls)
    messages = dict(finding.details["messages"])
    assert set(messages) == {
        "Tool 'refund' raised PermissionError: refund of # for ORD-# refused by the bank",
        "Tool 'refund' raised TimeoutError: payment gateway did not answer for ORD-#",
    }
    assert sum(messages.values()) == refunds.errors
    assert finding.details["error_types"] == [("exception", refunds.errors)]
    assert "tool_errors:search_faq" not in {f.id for f in report}


def test_guard_blocks_are_recovered_with_the_rule_they_enforce(
    report: Report, planted: Planted_
) -> None:
    _, truth = planted
    finding = report["guard_blocks:refund_limit"]

    blocks = truth.guard_blocks["refund_limit"]
    assert finding.details["blocks"] == blocks
    assert finding.details["checks"] == truth.guard_checks["refund_limit"]
    share = finding.details["check_share"]
    assert abs(share - PLANTED.block_rate) < tolerance(
        PLANTED.block_rate, finding.details["checks"]
    )
    assert finding.measure.value == blocks / truth.runs  # one refund per run at most
    assert finding.details["targets"] == [("refund", blocks)]
    assert finding.details["rules"] == {"amount": {"max": 100}}
    assert finding.details["reasons"][0][0] == "amount=# is above the maximum #"
    assert {f.subject for f in report.of_kind("guard_blocks")} == {"refund_limit"}  # pii passes


def test_runs_stopped_by_max_steps(report: Report, planted: Planted_) -> None:
    _, truth = planted
    finding = report["max_steps:max_steps"]

    assert finding.run_count == len(truth.max_steps_runs)
    assert set(finding.runs) <= set(truth.max_steps_runs)
    rate = PLANTED.max_steps_rate
    assert abs(finding.measure.value - rate) < tolerance(rate, truth.runs)
    assert finding.details["limit"] == PLANTED.max_steps
    assert finding.details["ok_steps_max"] <= 5  # normal runs: 3 lookups, a refund, an answer


def test_loops_are_the_runs_repeating_a_call(report: Report, planted: Planted_) -> None:
    _, truth = planted
    finding = report["loops:search_faq"]

    assert finding.run_count == len(truth.loop_runs)
    assert set(finding.runs) <= set(truth.loop_runs)
    assert abs(finding.measure.value - PLANTED.loop_rate) < tolerance(PLANTED.loop_rate, truth.runs)
    example = finding.details["examples"][0]
    assert set(example["arguments"]) == {"query"}
    assert [f.subject for f in report.of_kind("loops")] == ["search_faq"]


@pytest.mark.parametrize(
    ("metric", "planted_runs"), [("latency", "slow_runs"), ("tokens", "token_runs")]
)
def test_outliers_are_the_planted_runs(
    report: Report, planted: Planted_, metric: str, planted_runs: str
) -> None:
    _, truth = planted
    finding = report[f"outliers:{metric}"]
    expected = set(getattr(truth, planted_runs))

    # As many flagged as planted (a planted run that failed at its first step may stay below
    # the threshold), and the worst ones, shown as evidence, are planted ones.
    assert 0.95 * len(expected) <= finding.run_count <= 1.05 * len(expected)
    assert set(finding.runs) <= expected
    assert finding.details["threshold"] >= 3 * finding.details["median"]


def test_failed_runs_by_error_type(report: Report, planted: Planted_) -> None:
    _, truth = planted
    provider = report["run_errors:ProviderServerError"]
    assert provider.run_count == sum(truth.model_errors)
    tool_failed = report["run_errors:ToolFailed"]
    assert tool_failed.run_count == len(truth.tool_failed_runs)
    normal = 1 - 0.01 - PLANTED.max_steps_rate - PLANTED.loop_rate
    expected = normal * PLANTED.invalid_rate**3  # three rejected ids in a row end the run
    assert abs(tool_failed.measure.value - expected) < tolerance(expected, truth.runs)
    assert "run_errors:MaxStepsExceeded" not in {f.id for f in report}  # its own analyzer


def test_failure_clusters_separate_unlike_failures(report: Report, planted: Planted_) -> None:
    _, truth = planted
    clusters = report.of_kind("failure_cluster")
    labels = [c.subject for c in clusters]
    invalid = next(c for c in clusters if c.subject.startswith("Invalid arguments"))
    assert invalid.details["failures"] >= truth.tools["lookup_order"].invalid
    refusals = [c for c in clusters if "refund" in c.subject]
    assert len(refusals) == 2, labels  # refused by the bank vs gateway timeouts
    overloaded = next(c for c in clusters if "overloaded" in c.subject)
    assert overloaded.run_count == sum(truth.model_errors)


def test_monitor_findings_and_model_latency(report: Report, planted: Planted_) -> None:
    _, truth = planted
    monitor = report["monitor:tool_errors/warning"]
    assert monitor.details["findings"] == truth.findings
    assert abs(monitor.measure.value - PLANTED.finding_rate) < tolerance(0.03, truth.runs)
    model = report["model_latency:gpt-4.1-mini"]
    # Model calls take N(900 ms, 250 ms); 1% of runs are 30x slower.
    assert 1250 < model.details["p95_ms"] < 1700
    assert model.details["provider"] == "openai"


def test_no_drift_is_reported_where_none_was_planted(report: Report) -> None:
    assert report.of_kind("drift") == []


def test_drift_of_the_error_rate_between_halves(fresh_store: telemetry.Store) -> None:
    generate(fresh_store, Planted(runs=4000, model_error_rate=(0.01, 0.08), seed=3))
    found = analyze(fresh_store, agent="support", only=["drift"])

    (drift,) = found.findings
    assert drift.subject == "error_rate@1.2.0"
    assert abs(drift.details["before"] - 0.01 - 0.02 - 0.2**3 * 0.95) < 0.02
    assert drift.details["after"] - drift.details["before"] == pytest.approx(0.07, abs=0.025)
    assert drift.details["p_value"] < 1e-6
    assert drift.severity == "warning"


def test_version_and_time_filters(fresh_store: telemetry.Store) -> None:
    generate(fresh_store, Planted(runs=300, version="1.2.0", seed=1))
    generate(fresh_store, Planted(runs=200, version="1.3.0", invalid_rate=0.0, seed=2))

    both = analyze(fresh_store, agent="support", only=["tools"])
    newer = analyze(fresh_store, agent="support", version="1.3.0", only=["tools"])
    assert both.versions == ["1.2.0", "1.3.0"]
    assert (both.runs, newer.runs) == (500, 200)
    assert "invalid_arguments:lookup_order" in {f.id for f in both}
    assert "invalid_arguments:lookup_order" not in {f.id for f in newer}
    none = analyze(fresh_store, agent="support", since=timedelta(hours=1))  # runs are from 2025
    assert (none.runs, none.findings) == (0, [])
    assert analyze(fresh_store, agent="nobody").runs == 0


def test_thresholds_decide_what_is_reported(planted: Planted_) -> None:
    store, _ = planted
    strict = analyze(store, agent="support", thresholds=Thresholds(report=0.05), only=["guards"])
    assert strict.findings == []  # refund_limit blocks 3% of runs


def test_report_displays_and_serialises(report: Report) -> None:
    bundle = report._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/plain"].startswith("support (1.2.0): 10,000 runs, ")
    assert "lookup_order" in bundle["text/html"]
    assert report.to_dict()["findings"][0]["kind"] == report[0].kind
    frame = report.to_pandas()
    assert list(frame.columns) == [
        "id",
        "severity",
        "title",
        "measure",
        "value",
        "unit",
        "n",
        "runs",
    ]
    with pytest.raises(KeyError, match="no finding 'loops:nothing'"):
        report["loops:nothing"]
    assert report.seconds > 0  # how long analyze took is measured (bench/meta.py times it)


def _play(request: ModelRequest) -> Any:
    """A model that sends the order id as the customer wrote it, then as the tool wants it."""
    tries = [m for m in request.messages if m.role == "tool"]
    if not tries:
        return tool_call("lookup_order", order_id="#48213")
    if tries[-1].is_error:
        return tool_call("lookup_order", order_id="ORD-048213")
    return "It has shipped."


def test_telemetry_of_real_runs(tmp_path: Any) -> None:
    """The analyzers read what the recorder writes (not only what the generator writes)."""
    tools = support_tools()
    agent = Agent("support", model=FunctionModel(_play), tools=tools, telemetry=False)
    agent.on_event(telemetry.event_handler())
    for _ in range(12):
        try:
            agent.run_sync("Where is order #48213?")
        except RunError:  # pragma: no cover - the model recovers
            raise
    found = analyze(telemetry.open(), agent=agent)

    invalid = found["invalid_arguments:lookup_order"]
    assert (invalid.measure.value, invalid.measure.n) == (0.5, 24)
    field = invalid.details["fields"]["order_id"]
    assert field["pattern"] == ORDER_ID_PATTERN
    assert len(field["rejected"]) == 1
    assert field["rejected"][0].startswith("#")
    assert field["examples"][0].startswith("ORD-")
    assert found.config == agent.config
