"""Analyzers of whole runs: failures by kind, max_steps, outliers, drift, monitors, latency."""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any

from agentnb.meta import _stats
from agentnb.meta._data import Data, Thresholds, shape
from agentnb.meta.report import EVIDENCE_LIMIT, Finding, Measure, Unit

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "drift_findings",
    "max_steps_findings",
    "model_findings",
    "monitor_findings",
    "outlier_findings",
    "run_error_findings",
]

MAX_STEPS = "MaxStepsExceeded"
_SHOWN = 5
# (metric, column(s), unit, floor multiple): per-run figures checked for outliers and drift.
_METRICS: tuple[tuple[str, tuple[str, ...], Unit], ...] = (
    ("latency", ("duration_ms",), "ms"),
    ("tokens", ("input_tokens", "output_tokens"), "tokens"),
    ("cost", ("cost",), "usd"),
    ("steps", ("steps",), "steps"),
)


def _ids(data: Data, mask: npt.NDArray[np.bool_]) -> list[str]:
    import numpy as np

    ids: list[str] = data.run_ids.take(np.flatnonzero(mask)).to_pylist()
    return ids


def _metric(data: Data, columns: tuple[str, ...]) -> npt.NDArray[np.float64]:
    values = data.column(columns[0])
    for other in columns[1:]:
        values = values + data.column(other)
    return values


def run_error_findings(data: Data, t: Thresholds) -> list[Finding]:
    """Failed runs by error type (max_steps apart: it has its own analyzer)."""
    runs = data.runs
    n = runs.num_rows
    if n == 0:
        return []
    rows = [
        r
        for r in runs.select(["trace_id", "status", "error_type", "error"]).to_pylist()
        if r["status"] == "error" and r["error_type"] != MAX_STEPS
    ]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_type.setdefault(row["error_type"] or "error", []).append(row)
    findings = []
    for error_type, failed in sorted(by_type.items()):
        share = len(failed) / n
        if not t.reported(len(failed), share):
            continue
        low, high = _stats.wilson(len(failed), n)
        messages = Counter(shape(r["error"] or error_type) for r in failed)
        findings.append(
            Finding(
                kind="run_errors",
                subject=error_type,
                severity=t.severity(share),
                title=f"{share:.1%} of runs fail with {error_type}",
                measure=Measure(
                    name="failed runs", value=share, unit="share", n=n, low=low, high=high
                ),
                details={"messages": messages.most_common(_SHOWN)},
                runs=[r["trace_id"] for r in failed[:EVIDENCE_LIMIT]],
                run_count=len(failed),
            )
        )
    return findings


def max_steps_findings(data: Data, t: Thresholds) -> list[Finding]:
    """Runs stopped by `settings.max_steps`, with the steps successful runs needed."""
    import numpy as np
    import pyarrow.compute as pc

    runs = data.runs
    n = runs.num_rows
    if n == 0:
        return []
    hit = np.asarray(
        pc.fill_null(pc.equal(runs["error_type"], MAX_STEPS), False).to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    count = int(hit.sum())
    share = count / n
    if not t.reported(count, share):
        return []
    steps = data.column("steps")
    ok = np.asarray(pc.equal(runs["status"], "ok").to_numpy(zero_copy_only=False), dtype=bool)
    ok_steps = steps[ok]
    limit = int(np.max(steps[hit]))
    low, high = _stats.wilson(count, n)
    details: dict[str, Any] = {"limit": limit}
    if len(ok_steps):
        p50, p95, p99 = np.quantile(ok_steps, [0.5, 0.95, 0.99])
        details.update(
            ok_steps_p50=float(p50),
            ok_steps_p95=float(p95),
            ok_steps_p99=float(p99),
            ok_steps_max=int(ok_steps.max()),
            ok_near_limit=float(np.mean(ok_steps >= limit - 1)),
        )
    ids = _ids(data, hit)
    return [
        Finding(
            kind="max_steps",
            subject="max_steps",
            severity=t.severity(share),
            title=f"{share:.1%} of runs stop at max_steps={limit} without an answer",
            measure=Measure(
                name="runs at max_steps", value=share, unit="share", n=n, low=low, high=high
            ),
            details=details,
            runs=ids[:EVIDENCE_LIMIT],
            run_count=count,
        )
    ]


def outlier_findings(data: Data, t: Thresholds) -> list[Finding]:
    """Runs far above the usual latency, tokens, cost or steps (robust, on a log scale)."""
    import numpy as np

    n = data.runs.num_rows
    if n < max(t.min_count, 20):
        return []
    findings = []
    for name, columns, unit in _METRICS:
        values = _metric(data, columns)
        finite = np.isfinite(values) & (values > 0)
        if finite.sum() < 20:
            continue
        logs = np.log(values[finite])
        centre = float(np.median(logs))
        mad = float(np.median(np.abs(logs - centre))) * 1.4826
        median = math.exp(centre)
        threshold = max(math.exp(centre + t.outlier_mads * mad), t.outlier_floor * median)
        above = finite & (values > threshold)
        count = int(above.sum())
        share = count / n
        if not t.reported(count, share):
            continue
        order = np.argsort(-np.where(above, values, -np.inf))[:count]
        worst = data.run_ids.take(order[:EVIDENCE_LIMIT]).to_pylist()
        low, high = _stats.wilson(count, n)
        p95, p99 = np.quantile(values[finite], [0.95, 0.99])
        findings.append(
            Finding(
                kind="outliers",
                subject=name,
                severity="warning" if share >= t.warning else "info",
                title=f"{count:,} runs ({share:.1%}) have a {name} above {_fmt(threshold, unit)}"
                f" ({threshold / median:.0f}x the median)",
                measure=Measure(
                    name=f"runs with outlying {name}",
                    value=share,
                    unit="share",
                    n=n,
                    low=low,
                    high=high,
                ),
                details={
                    "unit": unit,
                    "threshold": threshold,
                    "median": median,
                    "p95": float(p95),
                    "p99": float(p99),
                    "max": float(values[finite].max()),
                    "worst": [float(v) for v in values[order[:_SHOWN]]],
                },
                runs=worst,
                run_count=count,
            )
        )
    return findings


def _fmt(value: float, unit: Unit) -> str:
    from agentnb.display.html import fmt

    return fmt(value, unit)


def drift_findings(data: Data, t: Thresholds) -> list[Finding]:
    """Per version: did the error rate or a per-run median change between the first and the
    second half of its runs (in time)?"""
    import numpy as np

    runs = data.runs
    if runs.num_rows < 2 * t.drift_min_runs:
        return []
    versions = np.asarray(runs["version"].to_numpy(zero_copy_only=False))
    failed = np.asarray(runs["status"].to_numpy(zero_copy_only=False)) == "error"
    started = data.started
    metrics = {name: (_metric(data, cols), unit) for name, cols, unit in _METRICS}
    findings = []
    for version in sorted(set(versions.tolist())):
        mine = versions == version
        times = started[mine]
        if mine.sum() < 2 * t.drift_min_runs:
            continue
        middle = times.min() + (times.max() - times.min()) // 2
        late = mine & (started >= middle)
        early = mine & (started < middle)
        if min(early.sum(), late.sum()) < t.drift_min_runs:
            continue
        findings += _rate_drift(data, t, version, failed, early, late)
        for name, (values, unit) in metrics.items():
            found = _median_drift(data, t, version, name, unit, values, early, late)
            if found is not None:
                findings.append(found)
    return findings


def _rate_drift(
    data: Data,
    t: Thresholds,
    version: str,
    failed: npt.NDArray[np.bool_],
    early: npt.NDArray[np.bool_],
    late: npt.NDArray[np.bool_],
) -> list[Finding]:
    x1, n1 = int((failed & early).sum()), int(early.sum())
    x2, n2 = int((failed & late).sum()), int(late.sum())
    p1, p2 = x1 / n1, x2 / n2
    p = _stats.two_proportion_p(x1, n1, x2, n2)
    # Small rates: a change must be significant and at least a doubling (or halving).
    bigger, smaller = max(p1, p2), min(p1, p2)
    if p >= t.drift_p or bigger < (1 + t.drift_change) * smaller or bigger - smaller < 0.005:
        return []
    low, high = _stats.wilson(x2, n2)
    direction = "rose" if p2 > p1 else "fell"
    ids = _ids(data, failed & late)
    return [
        Finding(
            kind="drift",
            subject=f"error_rate@{version}",
            severity="warning" if p2 > p1 else "info",
            title=f"{version}: the error rate {direction} from {p1:.1%} to {p2:.1%}",
            measure=Measure(
                name="error rate, later half", value=p2, unit="share", n=n2, low=low, high=high
            ),
            details={
                "version": version,
                "metric": "error_rate",
                "before": p1,
                "after": p2,
                "runs_before": n1,
                "runs_after": n2,
                "p_value": p,
            },
            runs=ids[:EVIDENCE_LIMIT],
            run_count=len(ids),
        )
    ]


def _median_drift(
    data: Data,
    t: Thresholds,
    version: str,
    name: str,
    unit: Unit,
    values: npt.NDArray[np.float64],
    early: npt.NDArray[np.bool_],
    late: npt.NDArray[np.bool_],
) -> Finding | None:
    import numpy as np

    a = values[early & np.isfinite(values)]
    b = values[late & np.isfinite(values)]
    if min(len(a), len(b)) < t.drift_min_runs:
        return None
    before, after = float(np.median(a)), float(np.median(b))
    if before <= 0 or abs(after / before - 1) < t.drift_change:
        return None
    p = _stats.mann_whitney_p(a, b)
    if p >= t.drift_p:
        return None
    low, high = _stats.quantile_ci(np.sort(b), 0.5)
    direction = "rose" if after > before else "fell"
    return Finding(
        kind="drift",
        subject=f"{name}@{version}",
        severity="warning" if after > before else "info",
        title=f"{version}: the median {name} {direction} from {_fmt(before, unit)} to "
        f"{_fmt(after, unit)}",
        measure=Measure(
            name=f"median {name}, later half", value=after, unit=unit, n=len(b), low=low, high=high
        ),
        details={
            "version": version,
            "metric": name,
            "before": before,
            "after": after,
            "runs_before": len(a),
            "runs_after": len(b),
            "p_value": p,
        },
        runs=_ids(data, late)[:EVIDENCE_LIMIT],
        run_count=len(b),
    )


def monitor_findings(data: Data, t: Thresholds) -> list[Finding]:
    """What the agent's monitors reported, by monitor and severity."""
    table = data.monitor_findings
    n = data.runs.num_rows
    if table.num_rows == 0 or n == 0:
        return []
    rows = table.select(["trace_id", "monitor", "severity", "message"]).to_pylist()
    rows.reverse()  # newest first
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["monitor"], row["severity"]), []).append(row)
    findings = []
    for (monitor, severity), found in sorted(groups.items()):
        runs = list(dict.fromkeys(r["trace_id"] for r in found))
        share = len(runs) / n
        if len(found) < t.min_count:
            continue
        low, high = _stats.wilson(len(runs), n)
        messages = Counter(shape(r["message"] or "") for r in found)
        findings.append(
            Finding(
                kind="monitor",
                subject=f"{monitor}/{severity}",
                severity="warning" if severity in ("warning", "error", "critical") else "info",
                title=f"monitor {monitor} reported {len(found):,} {severity} findings "
                f"({share:.1%} of runs)",
                measure=Measure(
                    name="runs with a finding", value=share, unit="share", n=n, low=low, high=high
                ),
                details={"messages": messages.most_common(_SHOWN), "findings": len(found)},
                runs=runs[:EVIDENCE_LIMIT],
                run_count=len(runs),
            )
        )
    return findings


def model_findings(data: Data, t: Thresholds) -> list[Finding]:
    """Latency and failures of model calls, per model: what timeouts and breakers act on."""
    import numpy as np

    stats = data.model_stats
    runs = data.runs.select(["model", "provider"]).to_pylist()
    # Model-call spans name the model without its provider; runs name both.
    names = np.asarray([r["model"].partition(":")[2] or r["model"] for r in runs], dtype=object)
    providers = {name: r["provider"] for name, r in zip(names, runs, strict=True)}
    duration = data.column("duration_ms")
    findings = []
    for row in stats.to_pylist():
        calls = int(row["count"])
        if calls < 20:
            continue
        errors = int(row["errors"] or 0)
        p95 = float(row["p95_ms"] or 0.0)
        low, high = _stats.wilson(errors, calls)
        share = errors / calls
        # Evidence: the slowest runs of the agent's primary model (fallbacks have no runs).
        mine = names == row["model"]
        slowest = np.argsort(-np.where(mine, duration, -np.inf))[: min(EVIDENCE_LIMIT, mine.sum())]
        findings.append(
            Finding(
                kind="model_latency",
                subject=str(row["model"]),
                severity=t.severity(share) if errors >= t.min_count else "info",
                title=f"model {row['model']}: p95 latency {_fmt(p95, 'ms')}, "
                f"{share:.1%} of calls fail",
                measure=Measure(
                    name="p95 latency", value=p95, unit="ms", n=calls, of="model calls"
                ),
                details={
                    "p50_ms": float(row["p50_ms"] or 0.0),
                    "p95_ms": p95,
                    "errors": errors,
                    "error_share": share,
                    "provider": providers.get(str(row["model"])),
                    "error_low": low,
                    "error_high": high,
                },
                runs=data.run_ids.take(slowest).to_pylist(),
                run_count=int(mine.sum()),
            )
        )
    return findings
