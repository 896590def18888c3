"""The model-backed planner, through a replay cassette; its output is validated before use.

The cassette was recorded with a `FunctionModel` playing the model (no network, no key):

    .venv/bin/python -m tests.meta.test_llm_planner    # rewrites cassettes/planner.jsonl

Re-record it when the planner's prompt changes (a replayed request that is not in the cassette
fails with `CassetteMiss`, naming the request).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentnb import FunctionModel, Tool
from agentnb.meta import Finding, Measure, ModelPlanner, Report, propose
from agentnb.meta.proposals import SetInstructions, SetToolDescription
from agentnb.meta.revision import check
from agentnb.models import ModelRequest, record
from tests.meta.conftest import support_config, support_tools

CASSETTE = Path(__file__).parent / "cassettes" / "planner.jsonl"
REWRITTEN = (
    "Look up an order by its id. The id is 'ORD-' followed by exactly six digits, e.g. "
    "ORD-123456. Customers often write only the number ('48213') or '#48213': pad the number "
    "to six digits and add the prefix before calling."
)


def findings() -> Report:
    """A hand-made report (not the analyzer's): the cassette must not change with its wording."""
    invalid = Finding(
        kind="invalid_arguments",
        subject="lookup_order",
        severity="critical",
        title="34% of lookup_order calls are rejected by argument validation",
        measure=Measure(
            name="rejected calls",
            value=0.343,
            unit="share",
            n=4041,
            of="calls",
            low=0.329,
            high=0.358,
        ),
        details={
            "messages": [("order_id: String should match pattern '^ORD-\\d{6}$'", 1387)],
            "fields": {
                "order_id": {
                    "pattern": "^ORD-\\d{6}$",
                    "rejected": ["62320", "#23059", "ord-30216"],
                    "examples": ["ORD-304605", "ORD-566556"],
                    "problems": [("String should match pattern '^ORD-\\d{6}$'", 1387)],
                }
            },
        },
        runs=["8eebf04975d6" + "0" * 20],
        run_count=1041,
    )
    loops = Finding(
        kind="loops",
        subject="search_faq",
        severity="warning",
        title="2.1% of runs call search_faq repeatedly with the same arguments",
        measure=Measure(name="looping runs", value=0.021, unit="share", n=3000),
        details={"examples": [{"arguments": {"query": "return policy"}, "runs": 12}]},
        runs=["1318c8da28f3" + "0" * 20],
        run_count=63,
    )
    return Report(
        agent="support",
        versions=["1.2.0"],
        runs=3000,
        findings=[invalid, loops],
        config=support_config(),
    )


def play(request: ModelRequest) -> str:
    """The model: reads the digest it was given and rewrites (one rewrite is out of bounds)."""
    prompt = request.messages[-1].content  # type: ignore[union-attr]
    assert "lookup_order" in prompt
    assert "rejected" in prompt
    assert request.output is not None
    return json.dumps(
        {
            "descriptions": [
                {
                    "tool": "lookup_order",
                    "description": REWRITTEN,
                    "rationale": "34% of calls sent the id as the customer wrote it",
                },
                {"tool": "cancel_order", "description": "Cancel an order.", "rationale": "why not"},
            ],
            "instructions": {
                "text": "You help customers of an online shop with their orders. If a search did "
                "not answer the question, do not repeat it: say what you know.",
                "rationale": "2.1% of runs repeat the same search_faq call",
            },
        }
    )


def test_the_planner_replays_and_validates_the_model_s_rewrites(
    tools: list[Tool[..., Any]],
) -> None:
    planner = ModelPlanner(f"replay:{CASSETTE}")
    proposals = planner.plan(findings())

    assert [(p.kind, p.planner) for p in proposals] == [
        ("tool_description", "model"),
        ("instructions", "model"),
    ]
    description, instructions = proposals
    assert description.changes == [SetToolDescription(tool="lookup_order", description=REWRITTEN)]
    assert description.evidence_count == 1041
    assert description.finding == "invalid_arguments:lookup_order"
    assert isinstance(instructions.changes[0], SetInstructions)
    assert planner.rejected == [
        (
            "description of cancel_order",
            "'cancel_order' is not one of the tools in question (['lookup_order', 'search_faq'])",
        ),
    ]
    for proposal in proposals:
        check(proposal.apply(support_config()))


def test_model_rewrites_take_the_place_of_the_rule_based_ones(tools: list[Tool[..., Any]]) -> None:
    proposals = propose(findings(), model=f"replay:{CASSETTE}")

    described = [p for p in proposals if p.kind == "tool_description"]
    assert [(p.planner, p.changes[0].model_dump()["tool"]) for p in described] == [
        ("model", "lookup_order"),
    ]
    # The rule-based loop instruction is replaced by the model's rewrite of the instructions.
    assert [p.planner for p in proposals if p.kind == "instructions"] == ["model"]


def test_the_prompt_is_what_the_cassette_was_recorded_with(tools: list[Tool[..., Any]]) -> None:
    prompt = ModelPlanner("offline").prompt(findings(), support_config())
    assert prompt is not None
    assert prompt.splitlines()[:4] == [
        "Agent: support 1.2.0 (3,000 runs)",
        "",
        "Instructions:",
        "You help customers of an online shop with their orders.",
    ]
    assert '- lookup_order: "Look up an order by its id."' in prompt
    assert (
        '  order_id: rejected "62320", "#23059", "ord-30216"; accepted e.g. "ORD-304605"' in prompt
    )
    assert ModelPlanner("offline").prompt(Report(agent="x", versions=[], runs=0), None) is None


def test_an_answer_that_is_not_the_shape_asked_for_fails_the_run() -> None:
    from agentnb import RunError

    planner = ModelPlanner(FunctionModel(lambda _: "I would rewrite the description."))
    with pytest.raises(RunError):
        planner.plan(findings())


def rerecord() -> None:
    """Record the cassette again (run this module as a script)."""
    from agentnb.tools import REGISTRY

    CASSETTE.unlink(missing_ok=True)
    saved = dict(REGISTRY)
    try:
        support_tools()
        planner = ModelPlanner(record(FunctionModel(play, name="planner-llm"), CASSETTE))
        proposals = planner.plan(findings())
    finally:
        REGISTRY.clear()
        REGISTRY.update(saved)
    print(f"recorded {CASSETTE}: {len(proposals)} proposals, rejected {planner.rejected}")


if __name__ == "__main__":
    rerecord()
