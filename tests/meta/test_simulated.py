"""The simulated support model of notebook 04 acts on what a description says, in any words.

The notebook's improvement must not be scripted by a keyword: the model reads an id format or a
refund limit in any phrasing, ignores descriptions that state neither, and the planner's proposals
keep working when their wording changes.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from pydantic import Field

from agentnb import AgentConfig, FunctionModel, RunError, Tool, tool
from agentnb.guards import tool_args
from agentnb.meta import Report, analyze, propose
from agentnb.meta.proposals import SetToolDescription
from agentnb.meta.simulated import (
    Behaviour,
    SupportModel,
    customer_message,
    expected,
    shows_id_format,
    stated_limit,
)
from tests.meta.conftest import support_config

PLAIN_LOOKUP = "Look up an order by its id."
PLAIN_REFUND = "Refund an order."

ID_FORMATS = [
    "Look up an order by its id.\n\nArgument formats:\n- order_id: must match ^ORD-\\d{6}$.",
    'Look up an order. Order ids look like "ORD-004211".',
    "Look up an order; pass the id as ORD- followed by six digits.",
    "Look up an order. The id has the form ORD-[0-9]{6} (upper case).",
    "Look up an order by id (ORD- prefix and 6 digits, e.g. ORD-120034).",
    "order_id: `^ORD-\\d{6}$`",
]
NO_ID_FORMAT = [
    PLAIN_LOOKUP,
    "Look up an order by its id. Ids are case sensitive.",
    "Look up an ORD order by its number.",
    "Look up an order; order numbers have 6 digits.",  # the prefix is missing
    "Look up an order by id (not 48213 or #48213).",  # what is wrong is not what is right
    "Look up an order, e.g. ORD-4821.",  # an example of the wrong shape
]
LIMITS = [
    "Refund an order.\n\nLimits:\n- amount: at most 100 (refused otherwise).",
    "Refund an order, up to $100.",
    "Refund an order: no more than 100 USD.",
    "Refund an order (amount ≤ 100).",
    "Refund an order. Amounts of 100 or less only.",
    "Refund an order, to a maximum of 100 dollars.",
    "Refund an order. Refunds above 100 USD are refused.",
    "Refund an order; the amount must not exceed 100.",
    "amount: max 100",
]
NO_LIMIT = [
    PLAIN_REFUND,
    "Refund an order. Refunds take up to 5 days.",
    "Refund an order of at least 100 USD.",
    "Refund an order; 100 customers a day use it.",
    "Refund an order (at most 100% of its price).",
]


@pytest.mark.parametrize("description", ID_FORMATS)
def test_an_id_format_is_read_in_any_phrasing(description: str) -> None:
    assert shows_id_format(description)


@pytest.mark.parametrize("description", NO_ID_FORMAT)
def test_a_description_without_the_id_format_tells_nothing(description: str) -> None:
    assert not shows_id_format(description)


@pytest.mark.parametrize("description", LIMITS)
def test_a_limit_is_read_in_any_phrasing(description: str) -> None:
    assert stated_limit(description) == 100


@pytest.mark.parametrize("description", NO_LIMIT)
def test_a_description_without_an_upper_limit_states_none(description: str) -> None:
    assert stated_limit(description) is None


def test_the_lowest_stated_limit_counts() -> None:
    assert stated_limit("Up to 250 USD; refunds above 80 need approval.") == 80


# --- the model in an agent ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_telemetry(_fresh_telemetry: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """These runs are counted from their results; recording them would only slow the tests."""
    monkeypatch.setenv("AGENTNB_TELEMETRY", "off")


def _tools() -> list[Tool[..., Any]]:
    @tool
    def lookup_order(order_id: Annotated[str, Field(pattern=r"^ORD-\d{6}$")]) -> dict[str, str]:
        """Look up an order by its id."""
        return {"order_id": order_id, "status": "shipped"}

    @tool
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        return f"refunded {amount:.2f} USD on {order_id}"

    return [lookup_order, refund]


@dataclass
class Measured:
    tool_error_runs: float
    success: float
    blocked_runs: float


def serve(lookup: str, refund: str, runs: int = 400, seed: int = 3) -> Measured:
    """`runs` customers served by the simulated model behind these descriptions."""
    config = AgentConfig.model_validate(
        {
            "name": "support",
            "version": "1.0.0",
            "tools": [
                {"name": "lookup_order", "description": lookup},
                {"name": "refund", "description": refund},
            ],
            "guards": [tool_args("refund", amount={"max": 100}, name="refund_limit").ref],
            "settings": {"tool_retries": 1},
        }
    )
    agent = config.validate(
        tools=_tools(), model=FunctionModel(SupportModel(seed=seed), name="support-llm")
    )
    rng = random.Random(seed)
    errors = ok = blocked = 0
    for _ in range(runs):
        try:
            result = agent.run_sync(customer_message(rng))
        except RunError as exc:
            result = exc.result
        calls = result.tool_calls
        errors += any(c.error == "invalid_arguments" for c in calls)
        blocked += any(c.error == "blocked" for c in calls)
        ok += result.status == "ok"
    return Measured(errors / runs, ok / runs, blocked / runs)


def close(measured: Measured, lookup: str, refund: str) -> None:
    """The measured rates are the ones the model's stated rules imply (within sampling error)."""
    want = expected(lookup, refund, guard_limit=100, tool_retries=1)
    assert measured.tool_error_runs == pytest.approx(want.tool_error_runs, abs=0.07)
    assert measured.success == pytest.approx(want.success, abs=0.05)
    assert measured.blocked_runs == pytest.approx(want.blocked_runs, abs=0.05)


def test_the_model_behaves_as_its_rates_say() -> None:
    plain = serve(PLAIN_LOOKUP, PLAIN_REFUND)
    close(plain, PLAIN_LOOKUP, PLAIN_REFUND)
    assert plain.tool_error_runs > 0.25
    assert plain.blocked_runs > 0.08


@pytest.mark.parametrize(
    ("lookup", "refund"),
    [
        (ID_FORMATS[1], LIMITS[2]),  # an example id; "no more than"
        (ID_FORMATS[2], LIMITS[3]),  # words; "≤"
        (ID_FORMATS[3], LIMITS[6]),  # a character class; "above … are refused"
    ],
)
def test_paraphrased_descriptions_improve_the_agent(lookup: str, refund: str) -> None:
    told = serve(lookup, refund)
    close(told, lookup, refund)
    assert told.tool_error_runs < 0.10
    assert told.blocked_runs == 0


@pytest.mark.parametrize(
    ("lookup", "refund"), [(NO_ID_FORMAT[1], NO_LIMIT[1]), (NO_ID_FORMAT[3], NO_LIMIT[2])]
)
def test_descriptions_that_state_nothing_improve_nothing(lookup: str, refund: str) -> None:
    plain = serve(lookup, refund)
    close(plain, lookup, refund)
    assert plain.tool_error_runs > 0.25
    assert plain.blocked_runs > 0.08


# --- the planner's words are not the simulator's keys -------------------------------------------

# Rewordings of what the rule-based planner writes, meaning the same.
REWORDINGS: list[list[tuple[str, str]]] = [
    [],
    [("at most", "no more than"), ("must match", "should look like")],
    [(r"at most (\d+) \(refused otherwise\)", r"up to \1 USD"), ("must match", "has the form")],
    [(r"at most (\d+)", r"\1 or less"), (r"must match \S+, ", "")],  # examples alone
    [(r"at most (\d+)", r"≤ \1"), (r", e\.g\. [^(]*", " ")],  # the pattern alone
]


@pytest.fixture(scope="module")
def planned(planted: tuple[Any, Any]) -> dict[str, str]:
    """The descriptions the rule-based planner writes for lookup_order and refund."""
    report: Report = analyze(planted[0], agent=support_config())
    out = {}
    for proposal in propose(report):
        for change in proposal.changes:
            if isinstance(change, SetToolDescription):
                out[change.tool] = change.description
    assert set(out) >= {"lookup_order", "refund"}
    return out


@pytest.mark.parametrize("rewording", REWORDINGS)
def test_the_outcome_holds_whatever_words_the_planner_uses(
    planned: dict[str, str], rewording: list[tuple[str, str]]
) -> None:
    lookup, refund = planned["lookup_order"], planned["refund"]
    for old, new in rewording:
        lookup, refund = re.sub(old, new, lookup), re.sub(old, new, refund)
    assert (lookup, refund) != (planned["lookup_order"], planned["refund"]) or not rewording
    told = serve(lookup, refund, runs=300)
    plain = serve(PLAIN_LOOKUP, PLAIN_REFUND, runs=300)
    assert told.tool_error_runs < plain.tool_error_runs - 0.15, lookup
    assert told.blocked_runs == 0 < plain.blocked_runs, refund
    assert told.success > plain.success


def test_other_rates_change_the_expectation_not_the_reading() -> None:
    slow = Behaviour(wrong_id=0.5, wrong_id_told=0.1, wrong_after_error=0.5)
    want = expected(ID_FORMATS[0], LIMITS[0], behaviour=slow, tool_retries=1)
    assert want.tool_error_runs == pytest.approx(0.1)
    assert want.success == pytest.approx(0.95)
    assert want.blocked_runs == 0
