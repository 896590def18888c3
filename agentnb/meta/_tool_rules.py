"""The rule-based planner's rules about tools: their descriptions, guards and errors.

`ToolRules` is the part of `RulePlanner` (`agentnb.meta.planning`) that answers findings about
tools; the helpers here build a proposal from a finding (`answer`) and state a guard's rule in
words (`rule_text`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

from agentnb.config import AgentConfig, ComponentRef, Settings
from agentnb.meta._advice import tools_failing_runs
from agentnb.meta.proposals import (
    AddGuard,
    Change,
    Proposal,
    ProposalKind,
    SetGuardParams,
    SetSetting,
    SetToolDescription,
    current_description,
    guard_name,
)
from agentnb.meta.report import Finding, Report

__all__ = [
    "FAILURES_HEADING",
    "FORMATS_HEADING",
    "LIMITS_HEADING",
    "MAX_TOOL_RETRIES",
    "RANK",
    "ToolRules",
    "ToolText",
    "answer",
    "guarded_tools",
]

RANK = {"critical": 0, "warning": 1, "info": 2}
FORMATS_HEADING = "Argument formats:"
LIMITS_HEADING = "Limits:"
FAILURES_HEADING = "Known failures:"
_SECTIONS = re.compile(rf"\n*(?:{FORMATS_HEADING}|{LIMITS_HEADING}|{FAILURES_HEADING})\n.*\Z", re.S)
MAX_TOOL_RETRIES = 5
"""The planner raises `tool_retries` up to this; beyond, retrying hides a broken tool."""


def _quoted(values: Sequence[Any]) -> str:
    return " or ".join(json.dumps(v, ensure_ascii=False) for v in values)


def _listed(values: Sequence[Any]) -> str:
    shown = [json.dumps(v, ensure_ascii=False) for v in values]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


class ToolText:
    """The sections a tool's new description gets, gathered from several findings."""

    def __init__(self) -> None:
        self.formats: list[str] = []
        self.limits: list[str] = []
        self.failures: list[str] = []
        self.why: list[str] = []
        self.expected: list[str] = []
        self.findings: list[Finding] = []


class ToolRules:
    """Rules for findings about tools; `RulePlanner` runs them (see `agentnb.meta.planning`)."""

    def __init__(self) -> None:
        self._declined: dict[str, tuple[str, str]] = {}
        self._descriptions: dict[str, str] = {}

    def _decline(self, f: Finding, why: str, todo: str) -> list[tuple[Finding, Proposal]]:
        """No proposal for `f`: keep why and what the user could do (see `unanswered`)."""
        self._declined[f.id] = (why, todo)
        return []

    def describe_tools(
        self, texts: dict[str, ToolText], config: AgentConfig | None
    ) -> list[tuple[Finding, Proposal]]:
        """One proposal per tool whose description gathered sections."""
        return [self._describe(tool, text, config) for tool, text in texts.items()]

    # --- tool descriptions -------------------------------------------------------------------
    def _formats(self, f: Finding, text: ToolText) -> None:
        share = f.measure.value
        for field, info in f.details.get("fields", {}).items():
            said = []
            if info.get("pattern"):
                said.append(f"must match {info['pattern']}")
            elif info.get("problems"):
                said.append(str(info["problems"][0][0]).lower())
            if info.get("examples"):
                said.append(f"e.g. {_quoted(info['examples'][:2])}")
            rejected = info.get("rejected") or []
            tail = f" (not {_listed(rejected[:3])})" if rejected else ""
            text.formats.append(f"- {field}: {', '.join(said) or 'see the schema'}{tail}.")
        text.why.append(
            f"{share:.1%} of {f.subject} calls ({f.details.get('failed', 0):,} of "
            f"{f.measure.n:,}) were rejected by argument validation; the description does not "
            "say which format is expected, the error and the accepted calls do"
        )
        text.expected.append(f"a lower share of {f.subject} calls rejected (now {share:.1%})")
        text.findings.append(f)

    def _describe(
        self, tool: str, text: ToolText, config: AgentConfig | None
    ) -> tuple[Finding, Proposal]:
        base = _SECTIONS.sub("", current_description(tool, config, self._descriptions)).rstrip()
        sections = []
        if text.formats:
            sections.append("\n".join([FORMATS_HEADING, *text.formats]))
        if text.limits:
            sections.append("\n".join([LIMITS_HEADING, *text.limits]))
        if text.failures:
            sections.append("\n".join([FAILURES_HEADING, *text.failures]))
        description = "\n\n".join([base, *sections] if base else sections)
        main = min(text.findings, key=lambda f: (RANK[f.severity], -f.run_count))
        runs = list(dict.fromkeys(r for f in text.findings for r in f.runs))
        proposal = Proposal(
            kind="tool_description",
            title=_title(tool, text),
            rationale="; ".join(text.why) + ".",
            changes=[SetToolDescription(tool=tool, description=description)],
            evidence=runs[:50],
            evidence_count=sum(f.run_count for f in text.findings),
            finding=main.id,
            expected="; ".join(text.expected),
            base=config,
        )
        return main, proposal

    # --- guards ------------------------------------------------------------------------------
    def _guard(
        self, f: Finding, config: AgentConfig | None, texts: dict[str, ToolText]
    ) -> list[tuple[Finding, Proposal]]:
        ref = _guard_ref(config, f.subject)
        if ref is not None and ref.name == "tool_args":
            rules, targets = ref.params.get("rules") or {}, ref.params.get("tools") or []
        else:  # the reasons of a tool_args guard state its rules (see _tools._rules)
            rules = f.details.get("rules") or {}
            targets = [t for t, _ in f.details.get("targets", [])]
        if rules:
            for tool in targets:
                text = texts.setdefault(tool, ToolText())
                for field, rule in rules.items():
                    text.limits.append(f"- {field}: {_rule_text(rule)} (refused otherwise).")
                text.why.append(
                    f"guard {f.subject} blocks {f.measure.value:.1%} of runs "
                    f"({f.details.get('blocks', 0):,} calls of {tool}); the model is not told "
                    "the limits it enforces"
                )
                text.expected.append(f"fewer runs blocked by {f.subject}")
                text.findings.append(f)
            return []
        if ref is not None and ref.name == "budget" and f.severity != "info":
            raised = {
                k: (math.ceil(v * 1.5) if isinstance(v, int) else round(v * 1.5, 4))
                for k, v in ref.params.items()
                if k.startswith("max_") and isinstance(v, (int, float))
            }
            if not raised:
                return self._decline(
                    f, f"budget guard {f.subject} has no numeric max_* limit to raise",
                    f"look at its block reasons ({_reasons(f)}) and set its limits by hand "
                    f"with SetGuardParams(guard={f.subject!r}, params={{...}})",
                )  # fmt: skip
            reasons = ", ".join(f"{r} x{c}" for r, c in f.details.get("reasons", [])[:2])
            return answer(
                f, config, "guard", f"Raise the limits of budget guard {f.subject} by half",
                f"it blocks {f.measure.value:.1%} of runs ({reasons})",
                SetGuardParams(guard=f.subject, params=raised),
                f"fewer runs blocked by {f.subject}",
            )  # fmt: skip
        return self._decline(
            f, f"guard {f.subject} blocks on what it reads ({_reasons(f)}), not on a limit the "
            "model could be told or a setting could move",
            "read the blocked runs: if the blocks are right, say in the instructions what the "
            "guard refuses; if they are false alarms, tune the guard's params with "
            f"SetGuardParams(guard={f.subject!r}, params={{...}})",
        )  # fmt: skip

    # --- tool errors -------------------------------------------------------------------------
    def _tool_errors(
        self,
        f: Finding,
        report: Report,
        settings: Settings,
        config: AgentConfig | None,
        texts: dict[str, ToolText],
    ) -> list[tuple[Finding, Proposal]]:
        """Failing calls of a tool: a guard for bounds beyond every success, a note in the
        description for values that always fail, more retries for transient errors."""
        d = f.details
        out = self._bounds(f, config) if d.get("bounds") else []
        values = d.get("failing_values") or {}
        if values:
            text = texts.setdefault(f.subject, ToolText())
            for field, items in values.items():
                text.failures += [
                    f"- {field}={json.dumps(i['value'], ensure_ascii=False)} fails every time "
                    f"({i['calls']:,} calls): {_error_text(i['error'])}."
                    for i in items
                ]
            text.why.append(
                f"{f.measure.value:.1%} of {f.subject} calls fail, and some argument values "
                "never succeed; the description does not warn about them"
            )
            text.expected.append(f"fewer failed {f.subject} calls")
            text.findings.append(f)
        out += self._retries(f, report, settings, config)
        if out or values:
            return out
        transient = d.get("transient", 0.0)
        if transient < 0.5:
            tail = "the errors do not look transient (a retry would fail again)"
        elif tools_failing_runs(report).get(f.subject, 0):
            tail = (
                f"{transient:.0%} of the errors look transient, but settings.tool_retries is "
                f"already {settings.tool_retries} (more would hide a broken tool)"
            )
        else:
            tail = (
                f"although {transient:.0%} of the errors look transient, no run failed because "
                "of them (more retries would change nothing)"
            )
        why = f"no argument value or bound separates failing calls from successful ones, and {tail}"
        messages = "; ".join(m for m, _ in d.get("messages", [])[:2])
        todo = (
            f"fix {f.subject} or what it calls, starting from its commonest errors ({messages}) "
            f"and the runs in report[{f.id!r}].runs; if the model should not use it, remove it "
            f"with meta.apply(config, [RemoveTool(tool={f.subject!r})])"
        )
        return self._decline(f, why, todo)

    def _retries(
        self, f: Finding, report: Report, settings: Settings, config: AgentConfig | None
    ) -> list[tuple[Finding, Proposal]]:
        """More `tool_retries` when most errors are transient and runs fail because of them."""
        failed_runs = tools_failing_runs(report).get(f.subject, 0)
        transient = f.details.get("transient", 0.0)
        current = settings.tool_retries
        if transient < 0.5 or not failed_runs or current >= MAX_TOOL_RETRIES:
            return []
        new = min(MAX_TOOL_RETRIES, current + 2)
        timeouts = dict(f.details.get("error_types", [])).get("timeout", 0)
        code = (
            "; the tool's own timeout is set in code (@tool(timeout=...)) if it is too short"
            if timeouts
            else ""
        )
        return answer(
            f, config, "retries", f"Allow {new} failed calls per tool and run (now {current})",
            f"{transient:.0%} of the failed {f.subject} calls are transient (timeouts, dropped "
            f"connections, overloaded services) and {failed_runs:,} runs ended because "
            f"{f.subject} failed more than settings.tool_retries={current} times; a later call "
            f"often succeeds{code}",
            SetSetting(path="tool_retries", value=new), "fewer runs failing with ToolFailed",
        )  # fmt: skip

    def _bounds(self, f: Finding, config: AgentConfig | None) -> list[tuple[Finding, Proposal]]:
        rules = {
            field: {k: v for k, v in bound.items() if k in ("min", "max")}
            for field, bound in f.details["bounds"].items()
        }
        name = f"{f.subject}_args"
        existing = _guard_ref(config, name)
        change: AddGuard | SetGuardParams
        if existing is not None:
            merged = {**(existing.params.get("rules") or {}), **rules}
            change = SetGuardParams(guard=name, params={"rules": merged})
        else:
            params = {"tools": [f.subject], "rules": rules, "name": name}
            change = AddGuard(guard=ComponentRef(name="tool_args", params=params))
        said = "; ".join(f"{k} {_rule_text(r)}" for k, r in rules.items())
        return answer(
            f, config, "argument_schema",
            f"Refuse {f.subject} calls outside what ever succeeded ({said})",
            f"{f.measure.value:.1%} of {f.subject} calls fail, and every failing value lies "
            f"beyond every successful one ({said}); a guard refuses them before the tool runs "
            "and tells the model why",
            change, f"fewer failed {f.subject} calls",
        )  # fmt: skip


def answer(
    f: Finding,
    config: AgentConfig | None,
    kind: ProposalKind,
    title: str,
    rationale: str,
    change: Change,
    expected: str,
) -> list[tuple[Finding, Proposal]]:
    """One proposal answering `f`, with its runs as evidence."""
    proposal = Proposal(
        kind=kind, title=title, rationale=rationale, changes=[change], evidence=f.runs,
        evidence_count=f.run_count, finding=f.id, expected=expected, base=config,
    )  # fmt: skip
    return [(f, proposal)]


def _title(tool: str, text: ToolText) -> str:
    said = []
    if text.formats:
        said.append("the format its arguments must have")
    if text.limits:
        said.append("the limits a guard enforces")
    if text.failures:
        said.append("the argument values that always fail")
    return f"Tell the model {' and '.join(said)} in {tool}'s description"


def _reasons(f: Finding) -> str:
    return ", ".join(f"{r} x{c}" for r, c in f.details.get("reasons", [])[:2]) or "no reasons"


def _error_text(error: str) -> str:
    """An error message as a note in a description: without the tool's name, short."""
    text = re.sub(r"^Tool '[^']*' raised ", "", error).rstrip(".")
    return text if len(text) <= 120 else text[:119] + "…"


def guarded_tools(change: Change) -> list[str]:
    """The tools a new guard of `change` checks (they are answered by it)."""
    if isinstance(change, AddGuard):
        return [str(t) for t in change.guard.params.get("tools") or []]
    return []


def _rule_text(rule: dict[str, Any]) -> str:
    parts = []
    if "min" in rule:
        parts.append(f"at least {rule['min']}")
    if "max" in rule:
        parts.append(f"at most {rule['max']}")
    if "one_of" in rule:
        parts.append(f"one of {rule['one_of']}")
    if "pattern" in rule:
        parts.append(f"matching {rule['pattern']}")
    return " and ".join(parts) or "as configured"


def _guard_ref(config: AgentConfig | None, name: str) -> ComponentRef | None:
    if config is None:
        return None
    return next((g for g in config.guards if guard_name(g) == name), None)
