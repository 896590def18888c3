"""`Finding` and `Report`: what `meta.analyze` measured, each figure with the runs behind it.

A finding is data: a kind, a severity, the thing it is about (a tool, a guard, a metric), one
measured figure with its denominator (and a Wilson interval when it is a share), details an
analyzer chose to keep (the most common error messages, offending arguments, thresholds), and the
ids of the runs that evidence it. Planners read findings; people read the report's display.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentnb.config import AgentConfig
from agentnb.display import html as D
from agentnb.display.bundle import select

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EVIDENCE_LIMIT", "Finding", "FindingKind", "Measure", "Report", "Severity"]

Severity = Literal["info", "warning", "critical"]
FindingKind = Literal[
    "invalid_arguments",
    "tool_errors",
    "guard_blocks",
    "max_steps",
    "loops",
    "outliers",
    "drift",
    "failure_cluster",
    "monitor",
    "run_errors",
    "model_latency",
]
Unit = Literal["share", "ms", "tokens", "usd", "steps", "count"]

EVIDENCE_LIMIT = 50
"""Run ids kept per finding (newest first); `run_count` has them all."""

_RANK = {"critical": 0, "warning": 1, "info": 2}


class Measure(BaseModel):
    """One measured figure: `value` over `n` (runs, calls or checks: see `of`)."""

    model_config = ConfigDict(frozen=True)

    name: str
    value: float
    unit: Unit
    n: int
    of: str = "runs"
    """What `n` counts: `runs`, `calls`, `checks`, `model calls`."""
    low: float | None = None
    high: float | None = None
    """95% interval of `value` (Wilson for shares) when there is one."""

    def text(self) -> str:
        """The figure in words: `name value [low–high] of n runs` (no interval when unknown)."""
        figure = D.fmt(self.value, self.unit)
        interval = (
            f" [{D.fmt(self.low, self.unit)}–{D.fmt(self.high, self.unit)}]"
            if self.low is not None and self.high is not None
            else ""
        )
        return f"{self.name} {figure}{interval} of {self.n:,} {self.of}"


class Finding(BaseModel):
    """Something the telemetry shows, with the figure that shows it and the runs behind it."""

    model_config = ConfigDict(frozen=True)

    kind: FindingKind
    subject: str
    """The tool, guard, metric or cluster the finding is about."""
    severity: Severity
    title: str
    measure: Measure
    details: dict[str, Any] = Field(default_factory=dict)
    runs: list[str] = Field(default_factory=list)
    """Evidence: ids of runs showing it (at most `EVIDENCE_LIMIT`, newest first)."""
    run_count: int = 0
    """How many runs show it in all."""

    @property
    def id(self) -> str:
        """`kind:subject`, e.g. `invalid_arguments:lookup_order` (what `report[...]` takes)."""
        return f"{self.kind}:{self.subject}"

    def __str__(self) -> str:
        return f"[{self.severity}] {self.title} ({self.measure.text()})"


class Report(BaseModel):
    """The findings of one agent's telemetry, most severe first.

    `report["invalid_arguments:lookup_order"]` finds a finding by id, `report[0]` by position;
    `report.of_kind("loops")` filters. Displays as a table in a notebook.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    agent: str
    versions: list[str]
    runs: int
    spans: int = 0
    first: datetime | None = None
    last: datetime | None = None
    findings: list[Finding] = Field(default_factory=list)
    config: AgentConfig | None = Field(default=None, exclude=True, repr=False)
    """The agent's config when `analyze` was given it; planners patch it."""
    tool_descriptions: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)
    """What the agent's own tools tell the model, when `analyze` was given the `Agent` (a name
    in the process-wide tool registry may belong to another tool of the same name)."""
    seconds: float = 0.0
    """How long the analysis took."""

    def __iter__(self) -> Iterator[Finding]:  # type: ignore[override]  # findings, not fields
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __getitem__(self, key: int | str) -> Finding:
        if isinstance(key, int):
            return self.findings[key]
        for finding in self.findings:
            if finding.id == key:
                return finding
        ids = ", ".join(f.id for f in self.findings) or "none"
        raise KeyError(f"no finding {key!r} in this report (findings: {ids})")

    def of_kind(self, *kinds: FindingKind) -> list[Finding]:
        """The findings of any of `kinds`, in report order."""
        return [f for f in self.findings if f.kind in kinds]

    def sort(self) -> Report:
        """Sort the findings in place (most severe first, then kind, most runs); returns self."""
        self.findings.sort(key=lambda f: (_RANK[f.severity], f.kind, -f.run_count, f.subject))
        return self

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (without `config`)."""
        return self.model_dump(mode="json")

    def to_pandas(self) -> pd.DataFrame:
        """One row per finding: kind, subject, severity, figure, n, runs."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "id": f.id,
                    "severity": f.severity,
                    "title": f.title,
                    "measure": f.measure.name,
                    "value": f.measure.value,
                    "unit": f.measure.unit,
                    "n": f.measure.n,
                    "runs": f.run_count,
                }
                for f in self.findings
            ]
        )

    # --- display -----------------------------------------------------------------------------
    def summary(self) -> str:
        """Plain text: agent, versions and runs, then one line per finding."""
        versions = ", ".join(self.versions) or "no versions"
        head = (
            f"{self.agent} ({versions}): {self.runs:,} runs, {len(self.findings)} finding"
            f"{'s' * (len(self.findings) != 1)}"
        )
        lines = [head]
        lines += [f"  {f}" for f in self.findings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Report({self.agent!r}, runs={self.runs}, findings={len(self.findings)})"

    def _repr_html_(self) -> str:
        return _report_html(self)

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, Any]:
        return select({"text/plain": self.summary, "text/html": self._repr_html_}, include, exclude)


def _details_html(finding: Finding) -> str:
    d = finding.details
    parts: list[str] = []
    for key in ("messages", "reasons"):
        if d.get(key):
            rows = [(D.esc(text), D.fmt(count)) for text, count in d[key][:5]]
            parts.append(D.table([key, "count"], rows, numeric={1}))
    for field, info in (d.get("fields") or {}).items():
        rejected = ", ".join(D.esc(json.dumps(v)) for v in info.get("rejected", [])[:4])
        valid = ", ".join(D.esc(json.dumps(v)) for v in info.get("examples", [])[:3])
        parts.append(
            f"<div><code>{D.esc(field)}</code>: rejected {rejected or '–'}; "
            f"accepted e.g. {valid or '–'}</div>"
        )
    if d.get("members"):
        rows = [(D.esc(text), D.fmt(count)) for text, count in d["members"][:5]]
        parts.append(D.table(["failure texts", "count"], rows, numeric={1}))
    return "".join(parts)


def _report_html(report: Report) -> str:
    span = ""
    if report.first and report.last:
        span = f" · {report.first:%Y-%m-%d %H:%M} → {report.last:%Y-%m-%d %H:%M} UTC"
    head = (
        f"<h4>{D.esc(report.agent)} · {D.esc(', '.join(report.versions) or '–')} · "
        f"{report.runs:,} runs{span}</h4>"
    )
    if not report.findings:
        return D.wrap(head + "<p>No findings: nothing in these runs crossed a threshold.</p>")
    rows = []
    for f in report.findings:
        evidence = ", ".join(D.esc(r[:8]) for r in f.runs[:3])
        more = f" … ({f.run_count:,} runs)" if f.run_count > 3 else ""
        rows.append(
            (
                D.badge(f.severity),
                f"<b>{D.esc(f.title)}</b>{_details_html(f)}",
                D.esc(f.measure.text()),
                f'<span class="muted"><code>{evidence}</code>{more}</span>',
            )
        )
    return D.wrap(head + D.table(["", "finding", "measured", "evidence (run ids)"], rows))
