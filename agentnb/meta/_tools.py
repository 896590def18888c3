"""Analyzers of actions: tool failures (argument validation apart), guard blocks, tool loops."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentnb import semconv as A
from agentnb.meta import _stats
from agentnb.meta._data import (
    SPAN_FIELDS,
    Data,
    Thresholds,
    arguments,
    attributes,
    disguise,
    rows,
    shape,
)
from agentnb.meta.report import EVIDENCE_LIMIT, Finding, Measure

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["guard_findings", "loop_findings", "tool_findings"]

# The feedback `Tool.validate_args` gives the model (agentnb/tools/tool.py).
_INVALID = re.compile(
    r"^Invalid arguments for tool '.*?': (?P<problems>.*)\. "
    r"Fix the arguments and call the tool again\.$",
    re.S,
)
_PROBLEM = re.compile(r"^(?P<field>[^:]+): (?P<message>.*?)(?: \(got (?P<got>.*)\))?$", re.S)
_PATTERN = re.compile(r"should match pattern '(?P<pattern>.*)'$")
_SHOWN = 5


def _validation_problems(message: str) -> list[tuple[str, str]]:
    """(field, problem) pairs of one argument-validation message; the offending value apart."""
    match = _INVALID.match(message)
    if match is None:
        return [("arguments", shape(message))]
    out = []
    for part in match["problems"].split("; "):
        problem = _PROBLEM.match(part)
        if problem is None:
            out.append(("arguments", part))
        else:
            out.append((problem["field"], problem["message"]))
    return out


def _top(counter: Counter[str], n: int = _SHOWN) -> list[tuple[str, int]]:
    return counter.most_common(n)


def _evidence(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))[:EVIDENCE_LIMIT]


def tool_findings(data: Data, t: Thresholds) -> list[Finding]:
    """Per tool: the share of calls rejected by argument validation, and of calls that failed
    otherwise (raised, timed out, unknown tool), with messages and offending arguments."""
    stats = data.tool_stats
    calls = dict(zip(stats["tool"].to_pylist(), stats["count"].to_pylist(), strict=True))
    errors = data.tool_errors
    if errors.num_rows == 0:
        return []
    by_tool: dict[tuple[str, bool], list[dict[str, Any]]] = defaultdict(list)
    for row in rows(errors, SPAN_FIELDS):
        by_tool[(row["tool"], row["error_type"] == "invalid_arguments")].append(row)
    findings = []
    for (tool, invalid), failed in sorted(by_tool.items()):
        n = int(calls.get(tool) or len(failed))
        share = len(failed) / n
        if not t.reported(len(failed), share):
            continue
        low, high = _stats.wilson(len(failed), n)
        messages = [str(attributes(r).get(A.AGENTNB_ERROR_MESSAGE, "")) for r in failed]
        runs = [r["trace_id"] for r in failed]
        evidence_runs = len(set(runs))
        if invalid:
            details = _invalid_details(data, t, tool, failed, messages)
            title = f"{share:.0%} of {tool} calls are rejected by argument validation"
            name = "rejected calls"
        else:
            details = _error_details(data, t, tool, failed, messages)
            title = f"{share:.0%} of {tool} calls fail"
            name = "failed calls"
        findings.append(
            Finding(
                kind="invalid_arguments" if invalid else "tool_errors",
                subject=tool,
                severity=t.severity(share),
                title=title,
                measure=Measure(
                    name=name, value=share, unit="share", n=n, of="calls", low=low, high=high
                ),
                details={"calls": n, "failed": len(failed), **details},
                runs=_evidence(runs),
                run_count=evidence_runs,
            )
        )
    return findings


def _invalid_details(
    data: Data, t: Thresholds, tool: str, failed: list[dict[str, Any]], messages: list[str]
) -> dict[str, Any]:
    problems: Counter[str] = Counter()
    fields: dict[str, dict[str, Any]] = {}
    rejected: dict[str, list[Any]] = defaultdict(list)
    for row, message in zip(failed, messages, strict=True):
        args = arguments(row) or {}
        for field, problem in _validation_problems(message):
            problems[f"{field}: {problem}"] += 1
            info = fields.setdefault(field, {"count": 0, "problems": Counter()})
            info["count"] += 1
            info["problems"][problem] += 1
            value = args.get(field.split(".")[0])
            if value is not None and len(rejected[field]) < 50:
                rejected[field].append(value)
    successes = data.tool_successes(tool, t.examples)
    ok_args = [arguments(r) or {} for r in rows(successes, SPAN_FIELDS)]
    out: dict[str, dict[str, Any]] = {}
    for field, info in fields.items():
        top_problem = info["problems"].most_common(1)[0][0]
        found = _PATTERN.search(top_problem)
        pattern = found["pattern"] if found else None
        if pattern is not None:
            pattern = pattern.replace("\\\\", "\\")  # the message shows the pattern's repr
        key = field.split(".")[0]
        valid = [a[key] for a in ok_args if key in a]
        out[field] = {
            "count": info["count"],
            "problems": _top(info["problems"]),
            "pattern": pattern,
            "rejected": _distinct_shapes(rejected[field]),
            "examples": list(dict.fromkeys(disguise(v, pattern) for v in valid))[:3],
            "accepted": len(valid),
        }
    return {"messages": _top(problems), "fields": out}


def _distinct_shapes(values: list[Any]) -> list[Any]:
    """Disguised values, one per shape ("48213" and "51002" show the same mistake)."""
    seen: dict[str, Any] = {}
    for value in values:
        shown = disguise(value)
        seen.setdefault(re.sub(r"\d", "0", json.dumps(shown)), shown)
    return list(seen.values())[:_SHOWN]


def _error_details(
    data: Data, t: Thresholds, tool: str, failed: list[dict[str, Any]], messages: list[str]
) -> dict[str, Any]:
    shaped = Counter(shape(m) for m in messages)
    kinds = Counter(str(r["error_type"]) for r in failed)
    bad_args = [arguments(r) or {} for r in failed]
    details: dict[str, Any] = {
        "messages": _top(shaped),
        "error_types": _top(kinds),
        "arguments": [{k: disguise(v) for k, v in a.items()} for a in bad_args[:_SHOWN]],
    }
    # A numeric argument whose failing values all lie beyond every successful one suggests a
    # bound the tool enforces without saying so: a schema (or guard) can say it up front.
    successes = data.tool_successes(tool, t.examples)
    ok_args = [arguments(r) or {} for r in rows(successes, SPAN_FIELDS)]
    bounds: dict[str, dict[str, float]] = {}
    for field in {k for a in bad_args for k in a}:
        bad = [a[field] for a in bad_args if _is_number(a.get(field))]
        good = [a[field] for a in ok_args if _is_number(a.get(field))]
        if len(bad) < t.min_count or len(good) < t.min_count:
            continue
        if min(bad) > max(good):
            bounds[field] = {"max": max(good), "failing_min": min(bad)}
        elif max(bad) < min(good):
            bounds[field] = {"min": min(good), "failing_max": max(bad)}
    if bounds:
        details["bounds"] = bounds
    values = _failing_values(bad_args, ok_args, messages, t.min_count)
    if values:
        details["failing_values"] = values
    transient = sum(
        1 for r, m in zip(failed, messages, strict=True) if _is_transient(r["error_type"], m)
    )
    details["transient"] = transient / len(failed)
    return details


# Errors a second attempt may not meet: timeouts, dropped connections, overloaded services.
_TRANSIENT = re.compile(
    r"TimeoutError|timed out|did not answer|ConnectionError|Connection(?:Reset|Refused)|"
    r"temporar|unavailable|try again|overloaded|\b(?:429|502|503|504)\b",
    re.I,
)


def _is_transient(error_type: str | None, message: str) -> bool:
    return error_type == "timeout" or _TRANSIENT.search(message) is not None


def _failing_values(
    bad_args: list[dict[str, Any]],
    ok_args: list[dict[str, Any]],
    messages: list[str],
    min_count: int,
) -> dict[str, list[dict[str, Any]]]:
    """Per argument, the values that failed at least `min_count` times and never succeeded, with
    the commonest error. Only words and flags: a value with digits may be a customer's number,
    and numbers are what `bounds` describes."""
    succeeded = {(k, json.dumps(v)) for a in ok_args for k, v in a.items()}
    failing: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for args, message in zip(bad_args, messages, strict=True):
        for field, value in args.items():
            if isinstance(value, bool) or (
                isinstance(value, str) and value and not any(c.isdigit() for c in value)
            ):
                failing[(field, json.dumps(value))][shape(message)] += 1
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (field, raw), errors in sorted(failing.items(), key=lambda kv: -kv[1].total()):
        if errors.total() >= min_count and (field, raw) not in succeeded:
            value = json.loads(raw)
            top = _top(errors, 1)[0][0]
            out[field].append({"value": disguise(value), "calls": errors.total(), "error": top})
    return {k: v[:_SHOWN] for k, v in out.items()}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def guard_findings(data: Data, t: Thresholds) -> list[Finding]:
    """Per guard: the share of runs it blocked, what it blocked and why."""
    import pyarrow.compute as pc

    verdicts = data.verdicts
    total_runs = data.runs.num_rows
    if verdicts.num_rows == 0 or total_runs == 0:
        return []
    checks = Counter(verdicts["guard"].to_pylist())
    blocked = verdicts.filter(pc.equal(verdicts["outcome"], "block"))
    rows = blocked.select(["trace_id", "guard", "point", "target", "reason", "time"]).to_pylist()
    rows.sort(key=lambda r: r["time"], reverse=True)
    by_guard: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_guard[row["guard"]].append(row)
    findings = []
    for guard, blocks in sorted(by_guard.items()):
        runs = _evidence([r["trace_id"] for r in blocks])
        run_count = len({r["trace_id"] for r in blocks})
        share = run_count / total_runs
        if not t.reported(run_count, share):
            continue
        low, high = _stats.wilson(run_count, total_runs)
        reasons = Counter(shape(r["reason"] or "(no reason)") for r in blocks)
        findings.append(
            Finding(
                kind="guard_blocks",
                subject=guard,
                severity=t.severity(share),
                title=f"guard {guard} blocks {share:.1%} of runs",
                measure=Measure(
                    name="runs blocked", value=share, unit="share", n=total_runs, low=low, high=high
                ),
                details={
                    "checks": checks[guard],
                    "blocks": len(blocks),
                    "check_share": len(blocks) / checks[guard],
                    "reasons": _top(reasons),
                    "targets": _top(Counter(str(r["target"]) for r in blocks if r["target"])),
                    "points": _top(Counter(r["point"] for r in blocks)),
                    "rules": _rules([r["reason"] or "" for r in blocks]),
                },
                runs=runs,
                run_count=run_count,
            )
        )
    return findings


# The reasons the built-in `tool_args` guard gives (agentnb/guards/builtin/tools.py): they carry
# the rule, so its limits can be told to the model even when the config is not at hand.
_RULE_REASONS = (
    ("max", re.compile(r"^(?P<field>\w+)=.* is above the maximum (?P<bound>.+)$")),
    ("min", re.compile(r"^(?P<field>\w+)=.* is below the minimum (?P<bound>.+)$")),
    ("one_of", re.compile(r"^(?P<field>\w+)=.* is not one of (?P<bound>\[.*\])$")),
    ("pattern", re.compile(r"^(?P<field>\w+)=.* does not match (?P<bound>'.*')$")),
)


def _rules(reasons: list[str]) -> dict[str, dict[str, Any]]:
    """The `tool_args` rules these block reasons state (most reasons must state one)."""
    import ast

    rules: dict[str, dict[str, Any]] = {}
    stated = 0
    for reason in reasons:
        for key, pattern in _RULE_REASONS:
            match = pattern.match(reason)
            if match is None:
                continue
            try:
                bound = ast.literal_eval(match["bound"])
            except (ValueError, SyntaxError):
                continue
            rules.setdefault(match["field"], {})[key] = bound
            stated += 1
            break
    return rules if reasons and stated >= len(reasons) / 2 else {}


def loop_findings(data: Data, t: Thresholds) -> list[Finding]:
    """Runs calling one tool with the same arguments `loop_repeats` times or more."""
    import pyarrow.compute as pc

    runs = data.runs
    if runs.num_rows == 0:
        return []
    # Only runs with enough tool calls can loop: read the tool calls of those alone.
    candidates = runs.filter(pc.greater_equal(runs["tool_calls"], t.loop_repeats))
    ids = candidates["trace_id"].to_pylist()
    looping: dict[str, _Loops] = defaultdict(_Loops)
    for chunk in data.tool_calls_of(ids):
        _find_loops(chunk, t.loop_repeats, looping)
    findings = []
    order = {r: i for i, r in enumerate(ids)}  # newest first, as the runs table is
    for tool, found in sorted(looping.items()):
        run_ids = sorted(set(found.runs), key=order.__getitem__)
        share = len(run_ids) / runs.num_rows
        if not t.reported(len(run_ids), share):
            continue
        low, high = _stats.wilson(len(run_ids), runs.num_rows)
        repeated = [(json.loads(args), count) for args, count in found.repeats.most_common(3)]
        findings.append(
            Finding(
                kind="loops",
                subject=tool,
                severity=t.severity(share),
                title=f"{share:.1%} of runs call {tool} repeatedly with the same arguments",
                measure=Measure(
                    name="looping runs",
                    value=share,
                    unit="share",
                    n=runs.num_rows,
                    low=low,
                    high=high,
                ),
                details={
                    "repeats": t.loop_repeats,
                    "examples": [{"arguments": _disguised(a), "runs": c} for a, c in repeated],
                    "most_calls": found.most,
                },
                runs=run_ids[:EVIDENCE_LIMIT],
                run_count=len(run_ids),
            )
        )
    return findings


@dataclass
class _Loops:
    """The looping runs of one tool."""

    runs: list[str] = dataclasses.field(default_factory=list)
    repeats: Counter[str] = dataclasses.field(default_factory=Counter)
    """Canonical arguments → runs repeating them."""
    most: int = 0
    """The most identical calls in one run."""


def _disguised(args: Any) -> Any:
    return {k: disguise(v) for k, v in args.items()} if isinstance(args, dict) else args


def _find_loops(spans: pa.Table, repeats: int, looping: dict[str, _Loops]) -> None:
    counts: Counter[tuple[str, str, str]] = Counter()
    for row in rows(spans, SPAN_FIELDS):
        raw = attributes(row).get(A.GEN_AI_TOOL_CALL_ARGUMENTS)
        if not isinstance(raw, str):
            continue  # content capture off: identical calls cannot be told apart
        counts[(row["trace_id"], row["tool"], _canonical(raw))] += 1
    for (run, tool, args), count in counts.items():
        if count >= repeats:
            found = looping[tool]
            found.runs.append(run)
            found.repeats[args] += 1
            found.most = max(found.most, count)


def _canonical(raw: str) -> str:
    try:
        return json.dumps(json.loads(raw), sort_keys=True)
    except json.JSONDecodeError:
        return json.dumps({"<unparsed>": raw})
