"""`meta.rollout`: sticky routing by key, shares that hold (chi-square), gradual ramps."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agentnb import FunctionModel, Tool, telemetry, tool_call
from agentnb.errors import UserError
from agentnb.meta import compare, export, rollout
from agentnb.models import ModelRequest
from tests.meta.conftest import support_config

KEYS = [f"user-{i}" for i in range(10_000)]


def chi_square_p(observed: list[int], shares: list[float]) -> float:
    """p-value of Pearson's chi-square test of `observed` counts against `shares` (df 1 or 2:
    the closed forms of the chi-square survival function, so no scipy)."""
    total = sum(observed)
    expected = np.array(shares) * total
    statistic = float((((np.array(observed) - expected) ** 2) / expected).sum())
    df = len(observed) - 1
    if df == 1:
        return math.erfc(math.sqrt(statistic / 2))
    assert df == 2
    return math.exp(-statistic / 2)


def test_shares_hold_over_10000_keys() -> None:
    r = rollout("support", {"1.2.0": 0.9, "1.3.0": 0.1})
    counts = [sum(r.choose(k) == v for k in KEYS) for v in ("1.2.0", "1.3.0")]
    assert chi_square_p(counts, [0.9, 0.1]) > 0.001
    assert abs(counts[1] - 1000) < 4 * math.sqrt(10_000 * 0.09)


def test_several_versions_at_once() -> None:
    shares = {"1.2.0": 0.5, "1.3.0": 0.3, "2.0.0": 0.2}
    r = rollout("support", shares)
    counts = [sum(r.choose(k) == v for k in KEYS) for v in shares]
    assert chi_square_p(counts, list(shares.values())) > 0.001


def test_the_same_key_always_gets_the_same_version() -> None:
    first = rollout("support", {"1.2.0": 0.9, "1.3.0": 0.1})
    again = rollout("support", {"1.3.0": 0.1, "1.2.0": 0.9})  # order of the mapping is irrelevant
    chosen = [first.choose(k) for k in KEYS[:2000]]
    assert chosen == [first.choose(k) for k in KEYS[:2000]]
    assert chosen == [again.choose(k) for k in KEYS[:2000]]
    # Another agent's rollout is independent: the users in its 10% are other users.
    other = rollout("billing", {"1.2.0": 0.9, "1.3.0": 0.1})
    ours = {k for k in KEYS if first.choose(k) == "1.3.0"}
    theirs = {k for k in KEYS if other.choose(k) == "1.3.0"}
    assert len(ours & theirs) < 0.2 * len(ours)


def test_ramping_up_never_moves_a_key_back_to_an_older_version() -> None:
    r = rollout("support", {"1.2.0": 0.9, "1.3.0": 0.1})
    before = {k: r.choose(k) for k in KEYS}
    r.ramp("1.3.0", 0.5)
    after = {k: r.choose(k) for k in KEYS}
    assert r.shares == pytest.approx({"1.2.0": 0.5, "1.3.0": 0.5})
    assert all(after[k] == "1.3.0" for k in KEYS if before[k] == "1.3.0")
    moved = sum(before[k] != after[k] for k in KEYS)
    assert abs(moved - 4000) < 4 * math.sqrt(10_000 * 0.4 * 0.6)
    # A third version takes its share from the top: 1.2.0's users stay where they were.
    r.set_shares({"1.2.0": 0.5, "1.3.0": 0.3, "1.4.0": 0.2})
    assert all(r.choose(k) == "1.2.0" for k in KEYS if after[k] == "1.2.0")
    r.ramp("1.4.0", 1.0)
    assert {r.choose(k) for k in KEYS[:500]} == {"1.4.0"}


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ({"1.2.0": 0.9, "1.3.0": 0.2}, "add up to 1.1, not 1"),
        ({"1.2.0": 1.2, "1.3.0": -0.2}, "must be numbers ≥ 0"),
        ({}, "needs at least one version"),
    ],
)
def test_bad_shares_are_refused(shares: dict[str, float], message: str) -> None:
    with pytest.raises(UserError, match=message):
        rollout("support", shares)


def _model(request: ModelRequest) -> Any:
    if not any(m.role == "tool" for m in request.messages):
        return tool_call("lookup_order", order_id="ORD-000042")
    return "Shipped."


def test_runs_through_a_rollout_are_routed_and_record_their_version(
    tmp_path: Path, tools: list[Tool[..., Any]]
) -> None:
    model = FunctionModel(_model, name="support-llm")
    base = support_config(model=None)
    newer = support_config(model=None, version="1.3.0", instructions="Be brief.")
    export(base, tmp_path)
    export(newer, tmp_path)
    r = rollout("support", {"1.2.0": 0.7, "1.3.0": 0.3}, configs=tmp_path, tools=tools, model=model)

    results = {k: r.run_sync("Where is ORD-000042?", key=k) for k in KEYS[:300]}

    assert all(res.version == r.choose(k) for k, res in results.items())
    assert sum(r.counts.values()) == 300
    assert set(r.counts) == {"1.2.0", "1.3.0"}
    runs = telemetry.open().runs("support", last=None)
    assert runs["version"].value_counts().to_dict() == dict(r.counts)
    assert compare(telemetry.open(), "support").runs == dict(sorted(r.counts.items()))
    assert "1.3.0" in r._repr_mimebundle_()["text/html"]


def test_agents_given_must_be_the_versions_they_stand_for(tools: list[Tool[..., Any]]) -> None:
    agent = support_config(model=None).validate(tools=tools, model=FunctionModel(_model))
    r = rollout("support", {"1.3.0": 1.0}, agents={"1.3.0": agent})
    with pytest.raises(UserError, match=r"the agent given for 1\.3\.0 is version 1\.2\.0"):
        r.run_sync("hi", key="u1")
    with pytest.raises(UserError, match="is 'support', not 'billing'"):
        rollout("billing", {"1.2.0": 1.0}, agents=[agent])
