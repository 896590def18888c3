"""`analyze`: Monitor + Analyze of the MAPE-K loop: an agent's telemetry → a `Report` of findings.

```python
from agentnb import meta, telemetry

report = meta.analyze(telemetry.open(), agent="support")        # every version, all time
report = meta.analyze(telemetry.open(), agent="support", version="1.2.0", since="7d")
report["invalid_arguments:lookup_order"].details["fields"]      # what was rejected, and why
```

Each analyzer reads the shared `Data` (one read of each table) and returns findings; a finding
carries a severity, one measured figure and the ids of the runs behind it:

- `invalid_arguments`: share of a tool's calls rejected by argument validation; the problems per
  field, rejected values, accepted examples;
- `tool_errors`: share of a tool's calls that raised, timed out or named no tool; messages, args;
- `guard_blocks`: share of runs a guard blocked; its reasons and targets;
- `max_steps`: share of runs stopped by `settings.max_steps`; the steps successful runs needed;
- `loops`: share of runs repeating one tool call with identical arguments;
- `outliers`: runs far above the usual latency, tokens, cost or steps;
- `drift`: the error rate or a per-run median changed between the halves of a version's runs;
- `failure_cluster`: failures whose texts read alike (embedding similarity);
- `monitor`: findings of the agent's monitors;
- `run_errors`: share of runs failing, by error type;
- `model_latency`: p50/p95 latency and failures of model calls, per model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agentnb.config import AgentConfig
from agentnb.meta._clusters import cluster_findings
from agentnb.meta._data import Data, Scope, Thresholds
from agentnb.meta._runs import (
    drift_findings,
    max_steps_findings,
    model_findings,
    monitor_findings,
    outlier_findings,
    run_error_findings,
)
from agentnb.meta._tools import guard_findings, loop_findings, tool_findings
from agentnb.meta.report import Finding, Report
from agentnb.meta.revision import semver_key

if TYPE_CHECKING:
    from agentnb.agents.agent import Agent
    from agentnb.telemetry.store import Store

__all__ = ["ANALYZERS", "Thresholds", "analyze"]

Analyzer = Callable[[Data, Thresholds], list[Finding]]

ANALYZERS: dict[str, Analyzer] = {
    "tools": tool_findings,
    "guards": guard_findings,
    "loops": loop_findings,
    "max_steps": max_steps_findings,
    "run_errors": run_error_findings,
    "outliers": outlier_findings,
    "drift": drift_findings,
    "clusters": cluster_findings,
    "monitors": monitor_findings,
    "models": model_findings,
}
"""Every analyzer by name, in the order they run; `analyze(only=[...])` picks some."""


def analyze(
    store: Store | None = None,
    agent: str | Agent | AgentConfig | None = None,
    *,
    version: str | Sequence[str] | None = None,
    since: Any = None,
    until: Any = None,
    config: Agent | AgentConfig | None = None,
    thresholds: Thresholds | None = None,
    only: Sequence[str] | None = None,
) -> Report:
    """Read `agent`'s telemetry and report what stands out, most severe first.

    `store` defaults to `telemetry.open()`. `agent` is a name, or the `Agent`/`AgentConfig`
    itself (then its config is kept in the report for planners to patch). `version`, `since`
    and `until` narrow the runs (`since="7d"`, a datetime, …). `thresholds` tunes when a figure
    becomes a finding; `only` runs some analyzers (names of `ANALYZERS`).
    """
    started = time.perf_counter()
    if store is None:
        from agentnb import telemetry

        store = telemetry.open()
    name, known = _agent_and_config(agent, config)
    chosen = list(ANALYZERS) if only is None else list(only)
    unknown = [a for a in chosen if a not in ANALYZERS]
    if unknown:
        from agentnb.errors import UserError

        raise UserError(
            f"unknown analyzer(s) {', '.join(map(repr, unknown))}; "
            f"use any of {', '.join(ANALYZERS)}"
        )
    versions = [version] if isinstance(version, str) else list(version) if version else None
    data = Data(store, Scope(name, versions, since, until))
    t = thresholds or Thresholds()
    findings: list[Finding] = []
    if data.runs.num_rows:
        for analyzer in chosen:
            findings += ANALYZERS[analyzer](data, t)
    first, last = data.first_last
    seen = sorted(set(data.runs["version"].to_pylist()), key=semver_key)
    report = Report(
        agent=name,
        versions=seen,
        runs=data.runs.num_rows,
        spans=_span_count(data),
        first=first,
        last=last,
        findings=findings,
        config=known,
        tool_descriptions=_tool_descriptions(agent, config),
    ).sort()
    report.seconds = time.perf_counter() - started
    return report


def _span_count(data: Data) -> int:
    """Spans of the runs in scope: each run's root, model calls, tool calls and guard checks."""
    import pyarrow.compute as pc

    runs = data.runs
    if runs.num_rows == 0:
        return 0
    counted = ("model_calls", "tool_calls", "guard_verdicts")
    total: int = runs.num_rows + sum(int(pc.sum(runs[c]).as_py() or 0) for c in counted)
    return total


def _agent_and_config(
    agent: str | Agent | AgentConfig | None, config: Agent | AgentConfig | None
) -> tuple[str, AgentConfig | None]:
    from agentnb.errors import UserError

    known = _config_of(config) if config is not None else None
    if isinstance(agent, str):
        return agent, known
    if agent is not None:
        own = _config_of(agent)
        return own.name, known or own
    if known is not None:
        return known.name, known
    raise UserError("analyze() needs the agent: analyze(store, agent='support')")


def _tool_descriptions(*given: object) -> dict[str, str]:
    for obj in given:
        tools = getattr(obj, "tools", None)
        if isinstance(tools, dict):  # an Agent's bound tools, by name
            return {name: tool.description for name, tool in tools.items()}
    return {}


def _config_of(obj: Agent | AgentConfig) -> AgentConfig:
    return obj if isinstance(obj, AgentConfig) else obj.config
