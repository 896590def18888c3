"""`meta.compare` and its intervals: known values, coverage, and verdicts on planted differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agentnb import telemetry
from agentnb.errors import UserError
from agentnb.meta import _stats, compare
from agentnb.meta.synthetic import Planted, generate


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [  # Wilson intervals (Newcombe 1998, table I; Agresti & Coull 1998)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (20, 20, 0.8389, 1.0),
    ],
)
def test_wilson_matches_published_values(x: int, n: int, low: float, high: float) -> None:
    assert _stats.wilson(x, n) == pytest.approx((low, high), abs=1e-4)


def test_newcombe_difference_matches_the_published_example() -> None:
    # Newcombe (1998), "Interval estimation for the difference between independent
    # proportions", example (e): 56/70 vs 48/80, difference 0.2000 [0.0524, 0.3339].
    diff, low, high = _stats.newcombe_diff(48, 80, 56, 70)
    assert (diff, low, high) == pytest.approx((0.2, 0.0524, 0.3339), abs=1e-4)


def test_intervals_cover_the_truth_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(1)
    p, n, trials = 0.08, 300, 2000
    hits = rng.binomial(n, p, size=trials)
    covered = sum(lo <= p <= hi for lo, hi in (_stats.wilson(int(h), n) for h in hits))
    assert 0.93 < covered / trials < 0.97
    # The median's order-statistic interval, on skewed data (lognormal, median 1).
    inside = 0
    for _ in range(400):
        low, high = _stats.quantile_ci(np.sort(rng.lognormal(0, 1, 200)), 0.5)
        inside += low <= 1.0 <= high
    assert inside / 400 > 0.93


def test_bootstrap_agrees_with_the_normal_interval_of_a_mean() -> None:
    values = np.random.default_rng(2).normal(10, 2, 2000)
    low, high = _stats.bootstrap_ci(values, lambda r: r.mean(axis=1), resamples=2000)
    half = 1.96 * 2 / math.sqrt(2000)
    assert (low, high) == pytest.approx((values.mean() - half, values.mean() + half), abs=0.015)


def test_tests_for_drift() -> None:
    rng = np.random.default_rng(3)
    same = _stats.mann_whitney_p(rng.normal(0, 1, 500), rng.normal(0, 1, 500))
    shifted = _stats.mann_whitney_p(rng.normal(0, 1, 500), rng.normal(0.5, 1, 500))
    assert same > 0.01
    assert shifted < 1e-6
    assert _stats.mann_whitney_p(np.ones(50), np.ones(50)) == 1.0  # all tied
    assert _stats.two_proportion_p(10, 1000, 80, 1000) < 1e-9
    assert _stats.two_proportion_p(10, 1000, 12, 1000) > 0.5
    assert _stats.runs_needed(0.10, 0.05) == 432  # 95% confidence, 80% power


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> telemetry.Store:
    store = telemetry.open(str(tmp_path_factory.mktemp("compare") / "telemetry"))
    generate(store, Planted(runs=3000, version="1.2.0", invalid_rate=0.3, seed=11))
    generate(store, Planted(runs=400, version="1.3.0", invalid_rate=0.03, seed=12))
    return store


def test_compare_shows_the_planted_improvement(two_versions: telemetry.Store) -> None:
    cmp = compare(two_versions, "support", "1.2.0", "1.3.0")

    assert cmp.runs == {"1.2.0": 3000, "1.3.0": 400}
    errors = cmp["runs with a tool error"]
    old, new = errors.cells["1.2.0"], errors.cells["1.3.0"]
    assert old.low < old.value < old.high
    assert new.low < new.value < new.high
    delta = errors.deltas["1.3.0"]
    assert delta.significant
    assert delta.better
    assert delta.high < -0.2
    success = cmp["success rate"].deltas["1.3.0"]
    assert success.low > 0  # fewer runs fail with ToolFailed (three rejections in a row)
    # Fewer rejected calls also mean fewer model turns, so runs are faster; blocks were not
    # planted to differ and do not (yet) differ.
    assert cmp["latency p50"].deltas["1.3.0"].better
    assert not cmp["block rate"].deltas["1.3.0"].significant
    verdicts = "\n".join(cmp.verdicts)
    assert "runs with a tool error: 1.3.0 " in verdicts
    assert ": better, " in verdicts
    assert "block rate: 1.3.0 " in verdicts
    assert "not yet significant" in verdicts
    assert "runs per version would tell" in verdicts


def test_compare_on_few_runs_is_not_yet_significant(two_versions: telemetry.Store) -> None:
    store = telemetry.open(two_versions.uri)
    generate(
        store,
        Planted(runs=25, version="1.4.0", invalid_rate=0.2, seed=13, model_error_rate=(0.0, 0.0)),
    )
    cmp = compare(store, "support", "1.2.0", "1.4.0")
    delta = cmp["runs with a tool error"].deltas["1.4.0"]
    assert not delta.significant
    assert delta.better is None
    assert delta.needed is not None
    assert delta.needed > 25


def test_compare_displays_and_plots(two_versions: telemetry.Store) -> None:
    cmp = compare(two_versions, "support", "1.2.0", "1.3.0")
    bundle = cmp._repr_mimebundle_()
    assert bundle["text/plain"].startswith("support: 1.2.0: 3,000 runs, 1.3.0: 400 runs")
    assert "not yet significant" in bundle["text/html"]
    frame = cmp.to_pandas()
    assert set(frame["metric"]) == {m.name for m in cmp.metrics}
    fig = cmp.figure()
    assert len(fig.data) == 2 * len(cmp.metrics)


def test_compare_names_missing_versions(two_versions: telemetry.Store) -> None:
    with pytest.raises(UserError, match=r"no runs of support 9.9.9 in the store \(versions: "):
        compare(two_versions, "support", "1.2.0", "9.9.9")
