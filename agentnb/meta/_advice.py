"""What to tell the user about a finding no automatic change answers.

The rule-based planner answers what a config change can help with. Some findings call for a
person: a few slow runs to read, a drift in the provider's latency, failures whose texts read
alike but point at no tool or setting. `explain` says, per kind of finding, why no change to the
config applies and what the user could do; a rule that looked at a finding and declined passes its
own, more precise reason instead.
"""

from __future__ import annotations

import re
from collections import Counter

from agentnb.meta.proposals import Unanswered
from agentnb.meta.report import Finding, Report

__all__ = ["covered", "explain", "tools_failing_runs"]

_TOOL = re.compile(r"tool '(?P<tool>[^']+)'", re.I)
"""How run errors and failure texts name a tool (`ToolFailed`: "tool 'lookup_order': failed …")."""

_BY_KIND: dict[str, tuple[str, str]] = {
    "tool_errors": (
        "the failures have no pattern a config change can act on",
        "read the commonest errors in report[{id!r}].details['messages'] and fix the tool",
    ),
    "run_errors": (
        "runs fail with {subject}, which no setting of the config addresses",
        "read the messages in report[{id!r}].details['messages'] and the runs behind them",
    ),
    "outliers": (
        "a few runs far from the rest are runs to read, not a change to make",
        "open them with telemetry.open().trace(run_id) for the runs in report[{id!r}].runs; if "
        "they share a cause (one tool, one kind of prompt), that is the change to make",
    ),
    "drift": (
        "the figure changed over time while the config did not: the traffic, the data or the "
        "provider changed",
        "compare the two periods (meta.analyze(..., since=..., until=...)) and check the "
        "provider's status; if the new level is here to stay, adjust limits to it",
    ),
    "failure_cluster": (
        "these failures read alike but name no tool, guard or setting to change",
        "read a few of the runs in report[{id!r}].runs; the common cause is what to fix",
    ),
    "monitor": (
        "a monitor's alert is a symptom: the findings that measure its cause get the proposals",
        "look at the runs the monitor flagged (report[{id!r}].runs) and the other findings",
    ),
    "model_latency": (
        "the model's latency is the provider's, and the timeout already fits it",
        "compare another model or provider for latency over a rollout (meta.compare)",
    ),
}
_DEFAULT = (
    "no rule of the planner applies to this kind of finding",
    "read the runs in report[{id!r}].runs and change the config by hand with meta.apply",
)


def explain(f: Finding, declined: tuple[str, str] | None = None) -> Unanswered:
    """`f` as an unanswered finding: `declined` (why, todo) from the rule that looked at it, else
    what is known to hold for its kind."""
    why, todo = declined or _BY_KIND.get(f.kind, _DEFAULT)
    return Unanswered(
        finding=f.id,
        severity=f.severity,
        title=f.title,
        why=why.format(id=f.id, subject=f.subject),
        todo=todo.format(id=f.id, subject=f.subject),
        runs=f.runs[:5],
    )


def named_tools(f: Finding) -> set[str]:
    """The tools a run error's messages name (`ToolFailed`: "tool 'lookup_order': failed …")."""
    return {m["tool"] for text, _ in f.details.get("messages", []) for m in _TOOL.finditer(text)}


def covered(f: Finding, tools: set[str], messages: set[str]) -> bool:
    """Whether a proposal that changes `tools` and answers findings with these `messages` answers
    `f` too: runs that failed because one of the tools kept failing (`ToolFailed`), or a cluster
    of failures whose texts are those messages."""
    if f.kind == "run_errors" and f.subject == "ToolFailed":
        return bool(named_tools(f) & tools)
    if f.kind == "failure_cluster":
        texts = [str(text) for text, _ in f.details.get("members", [])]
        return any(m in text for m in messages if m for text in texts)
    return False


def tools_failing_runs(report: Report) -> Counter[str]:
    """Per tool, how many runs ended because it failed more than `settings.tool_retries` times."""
    counts: Counter[str] = Counter()
    for f in report.findings:
        if f.kind != "run_errors" or f.subject != "ToolFailed":
            continue
        for text, count in f.details.get("messages", []):
            match = _TOOL.match(str(text))
            if match is not None:
                counts[match["tool"]] += int(count)
    return counts
