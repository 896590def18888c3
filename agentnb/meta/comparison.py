"""`compare`: versions of an agent side by side, each figure with a 95% interval.

```python
cmp = meta.compare(telemetry.open(), "support", "1.2.0", "1.3.0")
cmp                       # table: success, block rate, tool errors, latency p50/p95, tokens, cost
cmp.verdicts              # one sentence per metric: better, worse, or not yet significant
cmp.figure()              # plotly: each metric per version with its interval
```

Rates (success, blocks, runs with a tool error) get Wilson intervals and the difference to the
baseline (the first version) Newcombe's interval; when that interval contains 0 the difference is
"not yet significant", and the runs per version needed to tell it (80% power) are estimated.
Quantiles get distribution-free order-statistic intervals, means and their differences a
percentile bootstrap (a normal approximation beyond `BOOTSTRAP_MAX` runs, where it is as good).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agentnb.display import html as D
from agentnb.display.bundle import select
from agentnb.display.figures import figure_bundle, static_fallback_class
from agentnb.meta import _stats
from agentnb.meta.revision import semver_key

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd
    import plotly.graph_objects as go

    from agentnb.telemetry.store import Store

__all__ = ["BOOTSTRAP_MAX", "Cell", "Comparison", "Metric", "compare"]

BOOTSTRAP_MAX = 20_000
Kind = Literal["rate", "quantile", "mean"]
_PALETTE = ("#6e7781", "#0969da", "#8250df", "#1a7f37", "#9a6700")


@dataclass(frozen=True)
class Cell:
    """One metric of one version: value, 95% interval, runs."""

    value: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Delta:
    """A version against the baseline: the difference, its 95% interval, the verdict."""

    diff: float
    low: float
    high: float
    significant: bool
    better: bool | None
    """True when the difference goes the good way (None: not significant)."""
    needed: int | None = None
    """Runs per version to tell a difference this size (rates that are not yet significant)."""


@dataclass(frozen=True)
class Metric:
    """One metric across versions: each version's `Cell` and, past the baseline, its `Delta`.

    `unit` is `share` (rates, 0..1), `ms`, `tokens`, `usd` or `steps`; `deltas` has no entry for
    the baseline.
    """

    name: str
    kind: Kind
    unit: str
    higher_is_better: bool
    cells: dict[str, Cell]
    deltas: dict[str, Delta]


# (name, kind, unit, higher is better, how to read it from the run columns)
_SPECS: tuple[tuple[str, Kind, str, bool, str], ...] = (
    ("success rate", "rate", "share", True, "ok"),
    ("block rate", "rate", "share", False, "blocked"),
    ("runs with a tool error", "rate", "share", False, "tool_error"),
    ("latency p50", "quantile", "ms", False, "duration_ms@0.5"),
    ("latency p95", "quantile", "ms", False, "duration_ms@0.95"),
    ("tokens per run", "mean", "tokens", False, "tokens"),
    ("cost per run", "mean", "usd", False, "cost"),
    ("steps per run", "mean", "steps", False, "steps"),
)


class Comparison:
    """Metrics of several versions with intervals; displays as a table."""

    def __init__(self, agent: str, versions: list[str], metrics: list[Metric]) -> None:
        self.agent = agent
        self.versions = versions
        self.baseline = versions[0] if versions else ""
        self.metrics = metrics

    def __getitem__(self, name: str) -> Metric:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(f"no metric {name!r}; metrics: {', '.join(m.name for m in self.metrics)}")

    @property
    def runs(self) -> dict[str, int]:
        """Runs counted per version (empty when there are no metrics)."""
        first = self.metrics[0] if self.metrics else None
        return {v: first.cells[v].n for v in self.versions} if first else {}

    @property
    def verdicts(self) -> list[str]:
        """One sentence per metric and version against the baseline."""
        out = []
        for m in self.metrics:
            base = m.cells.get(self.baseline)
            for version, delta in m.deltas.items():
                cell = m.cells[version]
                head = (
                    f"{m.name}: {version} {D.fmt(cell.value, m.unit)} vs {self.baseline} "
                    f"{D.fmt(base.value if base else math.nan, m.unit)}"
                )
                unit = "pp" if m.unit == "share" else m.unit
                span = (
                    f"{_signed(delta.diff, unit)} [{_signed(delta.low, unit)}, "
                    f"{_signed(delta.high, unit)}]"
                )
                if delta.significant:
                    word = "better" if delta.better else "worse"
                    out.append(f"{head}: {word}, {span}")
                else:
                    need = (
                        f"; about {delta.needed:,} runs per version would tell"
                        if delta.needed
                        else ""
                    )
                    out.append(f"{head}: not yet significant, {span}{need}")
        return out

    def to_pandas(self) -> pd.DataFrame:
        """One row per metric and version: value, interval, n, and the difference to baseline."""
        import pandas as pd

        rows = []
        for m in self.metrics:
            for version, cell in m.cells.items():
                delta = m.deltas.get(version)
                rows.append(
                    {
                        "metric": m.name,
                        "version": version,
                        "value": cell.value,
                        "low": cell.low,
                        "high": cell.high,
                        "n": cell.n,
                        "diff": delta.diff if delta else None,
                        "diff_low": delta.low if delta else None,
                        "diff_high": delta.high if delta else None,
                        "significant": delta.significant if delta else None,
                    }
                )
        return pd.DataFrame(rows)

    def figure(self) -> go.Figure:
        """Each metric per version with its 95% interval (plotly)."""
        try:
            import plotly.graph_objects as go
            from plotly.subplots import make_subplots
        except ImportError:
            from agentnb.errors import MissingDependency

            raise MissingDependency("plotly", "notebook", "Comparison.figure()") from None
        shown = [m for m in self.metrics if any(math.isfinite(c.value) for c in m.cells.values())]
        cols = min(4, len(shown)) or 1
        rows = math.ceil(len(shown) / cols) or 1
        fig = _figure_type()(
            make_subplots(rows=rows, cols=cols, subplot_titles=[m.name for m in shown])
        )
        fig._agentnb_html = self._repr_html_()
        palette = _PALETTE
        for i, m in enumerate(shown):
            scale = 100.0 if m.unit == "share" else 1.0
            for j, version in enumerate(self.versions):
                c = m.cells[version]
                fig.add_trace(
                    go.Scatter(
                        x=[version],
                        y=[c.value * scale],
                        mode="markers",
                        marker={"size": 10, "color": palette[j % len(palette)]},
                        error_y={
                            "type": "data",
                            "symmetric": False,
                            "array": [(c.high - c.value) * scale],
                            "arrayminus": [(c.value - c.low) * scale],
                        },
                        name=version,
                        legendgroup=version,
                        showlegend=i == 0,
                        hovertemplate=f"{version}: %{{y:.3g}} (n={c.n:,})<extra></extra>",
                    ),
                    row=i // cols + 1,
                    col=i % cols + 1,
                )
        fig.update_layout(
            height=280 * rows,
            title=f"{self.agent}: versions compared (95% intervals)",
            margin={"t": 70, "l": 40, "r": 20, "b": 30},
        )
        return fig

    # --- display -----------------------------------------------------------------------------
    def summary(self) -> str:
        """Plain text: the runs per version, then `verdicts`, one per line."""
        runs = ", ".join(f"{v}: {n:,} runs" for v, n in self.runs.items())
        return "\n".join([f"{self.agent}: {runs}", *(f"  {v}" for v in self.verdicts)])

    def __repr__(self) -> str:
        return f"Comparison({self.agent!r}, {self.versions})"

    def _repr_html_(self) -> str:
        head = ["metric", *(f"{v} (n={self.runs.get(v, 0):,})" for v in self.versions)]
        head += [f"vs {self.baseline}" for _ in self.versions[1:]]
        rows = []
        for m in self.metrics:
            cells = [
                f'{D.fmt(c.value, m.unit)}<br><span class="muted">{D.fmt(c.low, m.unit)} – '
                f"{D.fmt(c.high, m.unit)}</span>"
                for c in (m.cells[v] for v in self.versions)
            ]
            for version in self.versions[1:]:
                d = m.deltas[version]
                unit = "pp" if m.unit == "share" else m.unit
                label = ("better" if d.better else "worse") if d.significant else "same"
                word = label if d.significant else "not yet significant"
                cells.append(
                    f'{D.badge(label, word)} {_signed(d.diff, unit)}<br><span class="muted">'
                    f"[{_signed(d.low, unit)}, {_signed(d.high, unit)}]</span>"
                )
            rows.append((D.esc(m.name), *cells, _forest(m, self.versions)))
        head.append("95% intervals")
        numeric = set(range(1, len(head) - 1))
        return D.wrap(
            f"<h4>{D.esc(self.agent)}: {len(self.versions)} versions, 95% intervals</h4>"
            + D.table(head, rows, numeric=numeric)
        )

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, Any]:
        return select({"text/plain": self.summary, "text/html": self._repr_html_}, include, exclude)


def _forest(m: Metric, versions: list[str]) -> str:
    """A small inline SVG: each version's value as a dot on its 95% interval, on one scale."""
    cells = [(v, m.cells[v]) for v in versions if math.isfinite(m.cells[v].value)]
    bounds = [x for _, c in cells for x in (c.low, c.high, c.value) if math.isfinite(x)]
    if not bounds:
        return ""
    lo, hi = min(bounds), max(bounds)
    span = (hi - lo) or abs(hi) or 1.0
    width, row = 180, 12

    def x(value: float) -> float:
        return 6 + (value - lo) / span * (width - 12)

    marks = []
    for i, (version, c) in enumerate(cells):
        y = 7 + i * row
        colour = _PALETTE[versions.index(version) % len(_PALETTE)]
        marks.append(
            f'<line x1="{x(c.low):.1f}" x2="{x(c.high):.1f}" y1="{y}" y2="{y}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<circle cx="{x(c.value):.1f}" cy="{y}" r="3.5" fill="{colour}">'
            f"<title>{D.esc(version)}: {D.esc(D.fmt(c.value, m.unit))}</title></circle>"
        )
    height = 4 + row * len(cells)
    return (
        f'<svg width="{width}" height="{height}" role="img" '
        f'aria-label="{D.esc(m.name)} per version with 95% intervals">{"".join(marks)}</svg>'
    )


@functools.cache
def _figure_type() -> type[go.Figure]:
    """A plotly `Figure` that also displays as static HTML (the comparison's table) where
    plotly.js cannot run (nbconvert HTML, GitHub); created on first use."""
    return static_fallback_class(
        "ComparisonFigure", __name__, "Comparison.figure()", _comparison_bundle
    )


def _comparison_bundle(
    fig: go.Figure,
    include: Collection[str] | None = None,
    exclude: Collection[str] | None = None,
) -> dict[str, Any]:
    html = str(getattr(fig, "_agentnb_html", ""))
    return figure_bundle(fig, include, exclude, fallback=lambda spec: html)


def _signed(value: float, unit: str) -> str:
    if value != value:
        return "–"
    if unit == "pp":
        return f"{value * 100:+.1f} pp"
    text = D.fmt(abs(value), unit)
    return f"{'+' if value >= 0 else '−'}{text}"


def compare(
    store: Store | None,
    agent: str,
    *versions: str,
    since: Any = None,
    until: Any = None,
    resamples: int = 1000,
    seed: int = 0,
) -> Comparison:
    """Compare `versions` of `agent` (default: every version seen), the first as baseline."""
    import numpy as np
    import pyarrow.compute as pc

    if store is None:
        from agentnb import telemetry

        store = telemetry.open()
    runs = store.runs(
        agent, version=list(versions) or None, since=since, until=until, last=None, as_arrow=True
    )
    seen = sorted(set(runs["version"].to_pylist()), key=semver_key)
    chosen = list(versions) or seen
    missing = [v for v in chosen if v not in seen]
    if missing:
        from agentnb.errors import UserError

        have = ", ".join(seen) or "none"
        raise UserError(f"no runs of {agent} {', '.join(missing)} in the store (versions: {have})")

    def col(name: str) -> npt.NDArray[np.float64]:
        return np.asarray(pc.cast(runs[name], "float64").fill_null(np.nan).to_numpy(), float)

    version_of = np.asarray(runs["version"].to_numpy(zero_copy_only=False))
    status = np.asarray(runs["status"].to_numpy(zero_copy_only=False))
    columns: dict[str, npt.NDArray[np.float64]] = {
        "ok": (status == "ok").astype(float),
        "blocked": ((status == "blocked") | (col("guard_blocks") > 0)).astype(float),
        "tool_error": (col("tool_errors") > 0).astype(float),
        "duration_ms": col("duration_ms"),
        "tokens": col("input_tokens") + col("output_tokens"),
        "cost": col("cost"),
        "steps": col("steps"),
    }
    metrics = []
    for name, kind, unit, higher, source in _SPECS:
        column, _, q = source.partition("@")
        per = {v: _finite(columns[column][version_of == v]) for v in chosen}
        if all(len(x) == 0 for x in per.values()):
            continue  # e.g. no costs known
        cells = {v: _cell(kind, x, float(q or 0), resamples, seed) for v, x in per.items()}
        deltas = {
            v: _delta(kind, per[chosen[0]], per[v], float(q or 0), higher, resamples, seed)
            for v in chosen[1:]
        }
        metrics.append(Metric(name, kind, unit, higher, cells, deltas))
    return Comparison(agent, chosen, metrics)


def _finite(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    import numpy as np

    return x[np.isfinite(x)]


def _cell(kind: Kind, x: npt.NDArray[np.float64], q: float, resamples: int, seed: int) -> Cell:
    import numpy as np

    n = len(x)
    if n == 0:
        return Cell(math.nan, math.nan, math.nan, 0)
    if kind == "rate":
        hits = int(x.sum())
        low, high = _stats.wilson(hits, n)
        return Cell(hits / n, low, high, n)
    if kind == "quantile":
        s = np.sort(x)
        low, high = _stats.quantile_ci(s, q)
        return Cell(float(np.quantile(s, q)), low, high, n)
    mean = float(x.mean())
    if n <= BOOTSTRAP_MAX:
        low, high = _stats.bootstrap_ci(x, lambda r: r.mean(axis=1), resamples=resamples, seed=seed)
    else:
        half = _stats.Z95 * float(x.std(ddof=1)) / math.sqrt(n)
        low, high = mean - half, mean + half
    return Cell(mean, low, high, n)


def _delta(
    kind: Kind,
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
    q: float,
    higher: bool,
    resamples: int,
    seed: int,
) -> Delta:
    import numpy as np

    if len(a) == 0 or len(b) == 0:
        return Delta(math.nan, math.nan, math.nan, False, None)
    needed = None
    if kind == "rate":
        x1, x2 = int(a.sum()), int(b.sum())
        diff, low, high = _stats.newcombe_diff(x1, len(a), x2, len(b))
        needed = _stats.runs_needed(x1 / len(a), x2 / len(b))
    elif max(len(a), len(b)) <= BOOTSTRAP_MAX:
        if kind == "quantile":

            def stat(r: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
                return np.asarray(np.quantile(r, q, axis=1), dtype=np.float64)

            diff = float(np.quantile(b, q) - np.quantile(a, q))
        else:

            def stat(r: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
                return np.asarray(r.mean(axis=1), dtype=np.float64)

            diff = float(b.mean() - a.mean())
        low, high = _stats.bootstrap_diff_ci(a, b, stat, resamples=resamples, seed=seed)
    else:  # large samples: normal approximation from each side's interval
        ca, cb = _cell(kind, a, q, resamples, seed), _cell(kind, b, q, resamples, seed)
        diff = cb.value - ca.value
        se = math.hypot(
            (ca.high - ca.low) / (2 * _stats.Z95), (cb.high - cb.low) / (2 * _stats.Z95)
        )
        low, high = diff - _stats.Z95 * se, diff + _stats.Z95 * se
    significant = bool(low > 0 or high < 0)
    better = ((diff > 0) == higher) if significant else None
    return Delta(diff, low, high, significant, better, None if significant else needed)
