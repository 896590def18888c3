"""The few statistics the meta layer needs, in numpy (no scipy).

Intervals are 95% unless `z` says otherwise. Wilson for one proportion, Newcombe's hybrid score
interval for a difference of two, distribution-free order-statistic intervals for quantiles, the
percentile bootstrap for anything else, and two tests for drift: the two-proportion z test and the
Mann–Whitney U test (normal approximation with tie correction).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]

__all__ = [
    "Z95",
    "bootstrap_ci",
    "bootstrap_diff_ci",
    "mann_whitney_p",
    "newcombe_diff",
    "normal_sf",
    "quantile_ci",
    "runs_needed",
    "two_proportion_p",
    "wilson",
]

Z95 = 1.959963984540054
_BOOT_CHUNK = 64
"""Bootstrap resamples drawn at once: bounds memory to 64 × n values."""


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion: stays inside [0, 1] and behaves at 0 and n."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_diff(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """p2 − p1 and its interval (Newcombe 1998, method 10: from the two Wilson intervals)."""
    p1, p2 = x1 / max(n1, 1), x2 / max(n2, 1)
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p2 - p1
    low = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return d, low, high


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value that two proportions are equal (pooled z test)."""
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = abs(x2 / n2 - x1 / n1) / se
    return 2 * normal_sf(z)


def runs_needed(p1: float, p2: float, z_alpha: float = Z95, z_beta: float = 0.8416) -> int | None:
    """Runs per version to detect p1 vs p2 at 95% confidence with 80% power (None: no gap)."""
    gap = abs(p2 - p1)
    if gap == 0:
        return None
    variance = p1 * (1 - p1) + p2 * (1 - p2)
    return math.ceil((z_alpha + z_beta) ** 2 * variance / gap**2)


def quantile_ci(sorted_values: Floats, q: float, z: float = Z95) -> tuple[float, float]:
    """Distribution-free interval for the q-quantile from order statistics of sorted data.

    The number of values below the true quantile is Binomial(n, q): its normal bounds pick the
    ranks of the interval ends. Works for any n ≥ 1 (it widens to the extremes for tiny n).
    """
    n = len(sorted_values)
    if n == 0:
        return (math.nan, math.nan)
    half = z * math.sqrt(n * q * (1 - q))
    lo = max(0, math.floor(n * q - half) - 1)
    hi = min(n - 1, math.ceil(n * q + half))
    return (float(sorted_values[lo]), float(sorted_values[hi]))


def bootstrap_ci(
    values: Floats,
    stat: Callable[[Floats], Floats],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval; `stat` maps a (k, n) array of resamples to k values."""
    import numpy as np

    if len(values) == 0:
        return (math.nan, math.nan)
    stats = _resampled(values, stat, resamples, np.random.default_rng(seed))
    low, high = np.quantile(stats, [0.025, 0.975])
    return (float(low), float(high))


def bootstrap_diff_ci(
    a: Floats,
    b: Floats,
    stat: Callable[[Floats], Floats],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of stat(b) − stat(a), resampling each sample on its own."""
    import numpy as np

    if len(a) == 0 or len(b) == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    diff = _resampled(b, stat, resamples, rng) - _resampled(a, stat, resamples, rng)
    low, high = np.quantile(diff, [0.025, 0.975])
    return (float(low), float(high))


def _resampled(
    values: Floats, stat: Callable[[Floats], Floats], resamples: int, rng: np.random.Generator
) -> Floats:
    import numpy as np

    n = len(values)
    out = np.empty(resamples)
    for start in range(0, resamples, _BOOT_CHUNK):
        k = min(_BOOT_CHUNK, resamples - start)
        out[start : start + k] = stat(values[rng.integers(0, n, size=(k, n))])
    return out


def mann_whitney_p(a: Floats, b: Floats) -> float:
    """Two-sided p-value that `a` and `b` come from the same distribution (U test, ties handled)."""
    import numpy as np

    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return 1.0
    values = np.concatenate([a, b])
    order = np.argsort(values, kind="mergesort")
    ranked = values[order]
    # Average ranks of tied runs: each value's rank is the mean of its run's first and last rank.
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ends = np.r_[starts[1:], len(ranked)]
    average = (starts + ends + 1) / 2.0
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(average, ends - starts)
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    ties = ends - starts
    n = n1 + n2
    tie_term = float(((ties**3) - ties).sum()) / (n * (n - 1))
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term))
    if sigma == 0:
        return 1.0
    z = (u - n1 * n2 / 2) / sigma
    return 2 * normal_sf(abs(z))
