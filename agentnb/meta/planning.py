"""`propose`: Plan of the MAPE-K loop: findings → typed proposals, each with rationale and evidence.

```python
proposals = meta.propose(report)                     # rule-based: offline, deterministic
proposals = meta.propose(report, model="openai:gpt-4.1-mini")   # + a model rewrites texts
proposals[0]                                         # the diff, why, and the runs behind it
```

The rule-based planner (`RulePlanner`) answers findings with changes whose effect can be argued
from the figures alone:

- `invalid_arguments` → describe the tool anew with the valid format of each rejected argument:
  the pattern from the validation error, examples drawn from successful calls (digits disguised);
- `guard_blocks` of a `tool_args` guard → tell the model its limits in the tool's description;
  of a `budget` guard → raise the limit that blocks;
- `tool_errors` with a bound → a `tool_args` guard refusing values beyond all that ever succeeded;
- `max_steps` → raise `max_steps` when successful runs come close to it, else lower it;
- `loops` → an instruction not to repeat a call that did not help;
- `model_latency` → a request timeout from the observed latency;
- `run_errors` from providers → a circuit breaker threshold, a fallback (from `fallback_models`);
- `run_errors` `OutputInvalid` → a lower temperature.

Changes to one tool's description are merged into one proposal. The model-backed planner
(`agentnb.meta.llm_planner.ModelPlanner`) rewrites descriptions and instructions from the failing
traces; its proposals replace the rule-based ones for the same target.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from agentnb.config import AgentConfig, ComponentRef, Settings
from agentnb.meta import _display as D
from agentnb.meta.proposals import (
    AddGuard,
    Change,
    Proposal,
    ProposalKind,
    SetGuardParams,
    SetInstructions,
    SetSetting,
    SetToolDescription,
    guard_name,
)
from agentnb.meta.report import Finding, Report

if TYPE_CHECKING:
    from agentnb.agents.agent import Agent
    from agentnb.models.base import Model

__all__ = ["FORMATS_HEADING", "Proposals", "RulePlanner", "current_description", "merge", "propose"]

FORMATS_HEADING = "Argument formats:"
LIMITS_HEADING = "Limits:"
_SECTIONS = re.compile(rf"\n*(?:{FORMATS_HEADING}|{LIMITS_HEADING})\n.*\Z", re.S)
LOOP_RULE = (
    "Never call a tool again with the same arguments: if its result did not help, answer with "
    "what you know or ask the user."
)
_MODEL_ERRORS = {
    "ModelError",
    "ProviderServerError",
    "RateLimited",
    "ModelTimeout",
    "ModelConnectionError",
    "CircuitOpen",
    "MalformedResponse",
}
_RANK = {"critical": 0, "warning": 1, "info": 2}
_LOCAL = ("offline", "function", "replay")


class Proposals(list[Proposal]):
    """The planner's proposals, most important first; displays as a list in a notebook."""

    def summary(self) -> str:
        if not self:
            return "no proposals"
        return "\n".join(f"[{i}] {p.title} ({p.kind})" for i, p in enumerate(self))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's plain-text formatter knows lists and would print the list's repr instead.
        printer.text(self.summary())

    def _repr_html_(self) -> str:
        rows = [
            (
                str(i),
                D.badge(p.kind, "info"),
                f'<b>{D.esc(p.title)}</b><br><span class="muted">{D.esc(p.rationale)}</span>',
                f"{p.evidence_count:,}",
            )
            for i, p in enumerate(self)
        ]
        if not rows:
            return D.wrap("<p>No proposals: no finding calls for a change.</p>")
        return D.wrap(D.table(["#", "kind", "proposal", "runs"], rows, numeric={3}))

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, Any]:
        return D.bundle(
            {"text/plain": self.summary, "text/html": self._repr_html_}, include, exclude
        )


def _nice(value: float) -> float:
    """`value` rounded up to 1, 2 or 5 times a power of ten (timeouts people can read)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def current_description(tool: str, config: AgentConfig | None) -> str:
    """What the model is told about `tool` now: the config's override, else the tool's own."""
    if config is not None:
        for ref in config.tools:
            if ref.name == tool and ref.description is not None:
                return ref.description
    from agentnb.tools.tool import REGISTRY

    found = REGISTRY.get(tool)
    return found.description if found is not None else ""


def _quoted(values: Sequence[Any]) -> str:
    return " or ".join(json.dumps(v, ensure_ascii=False) for v in values)


def _listed(values: Sequence[Any]) -> str:
    shown = [json.dumps(v, ensure_ascii=False) for v in values]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


class _ToolText:
    """The sections a tool's new description gets, gathered from several findings."""

    def __init__(self) -> None:
        self.formats: list[str] = []
        self.limits: list[str] = []
        self.why: list[str] = []
        self.expected: list[str] = []
        self.findings: list[Finding] = []


class RulePlanner:
    """Proposals from findings by fixed rules: offline, deterministic, always available."""

    name = "rules"

    def __init__(self, *, fallback_models: Sequence[str] = ()) -> None:
        self.fallback_models = list(fallback_models)

    def plan(self, report: Report, config: AgentConfig | None = None) -> list[Proposal]:
        config = config or report.config
        settings = config.settings if config is not None else Settings()
        texts: dict[str, _ToolText] = {}
        out: list[tuple[Finding, Proposal]] = []
        for f in report.findings:
            if f.kind == "invalid_arguments":
                self._formats(f, texts.setdefault(f.subject, _ToolText()))
            elif f.kind == "guard_blocks":
                out += self._guard(f, config, texts)
            elif f.kind == "tool_errors" and f.details.get("bounds"):
                out += self._bounds(f, config)
            elif f.kind == "max_steps":
                out += self._max_steps(f, settings, config)
            elif f.kind == "loops":
                out += self._loops(f, config)
            elif f.kind == "model_latency":
                out += self._timeout(f, settings, config)
            elif f.kind == "run_errors":
                out += self._run_errors(f, settings, config)
        out += [self._describe(tool, text, config) for tool, text in texts.items()]
        out.sort(key=lambda fp: (_RANK[fp[0].severity], -fp[0].run_count, fp[1].kind))
        return _dedupe([p for _, p in out])

    # --- tool descriptions -------------------------------------------------------------------
    def _formats(self, f: Finding, text: _ToolText) -> None:
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
        self, tool: str, text: _ToolText, config: AgentConfig | None
    ) -> tuple[Finding, Proposal]:
        base = _SECTIONS.sub("", current_description(tool, config)).rstrip()
        sections = []
        if text.formats:
            sections.append("\n".join([FORMATS_HEADING, *text.formats]))
        if text.limits:
            sections.append("\n".join([LIMITS_HEADING, *text.limits]))
        description = "\n\n".join([base, *sections] if base else sections)
        main = min(text.findings, key=lambda f: (_RANK[f.severity], -f.run_count))
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
        self, f: Finding, config: AgentConfig | None, texts: dict[str, _ToolText]
    ) -> list[tuple[Finding, Proposal]]:
        ref = _guard_ref(config, f.subject)
        if ref is not None and ref.name == "tool_args":
            rules, targets = ref.params.get("rules") or {}, ref.params.get("tools") or []
        else:  # the reasons of a tool_args guard state its rules (see _tools._rules)
            rules = f.details.get("rules") or {}
            targets = [t for t, _ in f.details.get("targets", [])]
        if rules:
            for tool in targets:
                text = texts.setdefault(tool, _ToolText())
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
                return []
            reasons = ", ".join(f"{r} x{c}" for r, c in f.details.get("reasons", [])[:2])
            return _answer(
                f, config, "guard", f"Raise the limits of budget guard {f.subject} by half",
                f"it blocks {f.measure.value:.1%} of runs ({reasons})",
                SetGuardParams(guard=f.subject, params=raised),
                f"fewer runs blocked by {f.subject}",
            )  # fmt: skip
        return []

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
        return _answer(
            f, config, "argument_schema",
            f"Refuse {f.subject} calls outside what ever succeeded ({said})",
            f"{f.measure.value:.1%} of {f.subject} calls fail, and every failing value lies "
            f"beyond every successful one ({said}); a guard refuses them before the tool runs "
            "and tells the model why",
            change, f"fewer failed {f.subject} calls",
        )  # fmt: skip

    # --- settings ----------------------------------------------------------------------------
    def _max_steps(
        self, f: Finding, settings: Settings, config: AgentConfig | None
    ) -> list[tuple[Finding, Proposal]]:
        d = f.details
        limit = int(d.get("limit") or settings.max_steps)
        p99 = d.get("ok_steps_p99")
        if p99 is None:
            return []
        if d.get("ok_near_limit", 0) >= 0.02 or p99 >= limit - 1:
            new = limit + max(2, math.ceil(limit * 0.5))
            why = (
                f"{f.measure.value:.1%} of runs stop at max_steps={limit} and successful runs "
                f"come close to it (p99 {p99:.0f} steps): some runs need more"
            )
            expect = "fewer runs stopped at max_steps"
        else:
            new = max(3, math.ceil(p99) + 2)
            if new >= limit:
                return []
            why = (
                f"{f.measure.value:.1%} of runs use all {limit} steps and never answer, while "
                f"successful runs need at most {p99:.0f} steps (p99): stop the hopeless ones "
                "sooner, and cheaper"
            )
            expect = "the same success rate, fewer steps and tokens in failing runs"
        verb = "Raise" if new > limit else "Lower"
        return _answer(
            f, config, "max_steps", f"{verb} max_steps from {limit} to {new}", why,
            SetSetting(path="max_steps", value=new), expect,
        )  # fmt: skip

    def _loops(self, f: Finding, config: AgentConfig | None) -> list[tuple[Finding, Proposal]]:
        instructions = config.instructions if config is not None else ""
        if LOOP_RULE in instructions:
            return []
        new = f"{instructions.rstrip()}\n\n{LOOP_RULE}" if instructions.strip() else LOOP_RULE
        return _answer(
            f, config, "instructions", f"Tell the model not to repeat identical {f.subject} calls",
            f"{f.measure.value:.1%} of runs call {f.subject} {f.details.get('repeats', 3)}+ "
            "times with the same arguments",
            SetInstructions(instructions=new),
            f"fewer runs repeating {f.subject} calls; fewer steps per run",
        )  # fmt: skip

    def _timeout(
        self, f: Finding, settings: Settings, config: AgentConfig | None
    ) -> list[tuple[Finding, Proposal]]:
        p95_s = f.details.get("p95_ms", 0.0) / 1000
        if p95_s <= 0 or f.details.get("provider") in _LOCAL:
            return []  # local models run without the timeout layer (see ResilienceSettings)
        proposed = max(10.0, _nice(4 * p95_s))
        current = settings.resilience.request_timeout
        if current is not None and current <= 2 * proposed:
            return []
        now = f"{'now' if config is not None else 'default'} {current} s"
        return _answer(
            f, config, "timeout", f"Time out model requests after {proposed:g} s ({now})",
            f"{f.subject} answers within {p95_s:.1f} s in 95% of {f.measure.n:,} calls; a "
            f"request still silent at {proposed:g} s is better retried or handed to a fallback "
            "than waited for",
            SetSetting(path="resilience.request_timeout", value=proposed),
            "lower worst-case latency; the same success rate",
        )  # fmt: skip

    def _run_errors(
        self, f: Finding, settings: Settings, config: AgentConfig | None
    ) -> list[tuple[Finding, Proposal]]:
        share = f.measure.value
        if f.subject == "OutputInvalid":
            current = settings.temperature
            if current is not None and current <= 0.3:
                return []
            return _answer(
                f, config, "temperature", f"Lower the temperature to 0.2 (now {current})",
                f"{share:.1%} of runs fail because the final answer kept missing the output "
                "schema; a lower temperature steadies the format",
                SetSetting(path="temperature", value=0.2), "fewer runs failing with OutputInvalid",
            )  # fmt: skip
        if f.subject not in _MODEL_ERRORS:
            return []
        out: list[tuple[Finding, Proposal]] = []
        r = settings.resilience
        if r.breaker_threshold is None:
            out += _answer(
                f, config, "breaker", "Open a circuit breaker after 5 consecutive failures",
                f"{share:.1%} of runs fail with {f.subject}; without a breaker every run waits "
                "for its retries against a failing provider",
                SetSetting(path="resilience.breaker_threshold", value=5),
                "faster failures (or fallbacks) while the provider is down",
            )  # fmt: skip
        candidates = [m for m in self.fallback_models if m not in r.fallback]
        if candidates and not r.fallback:
            out += _answer(
                f, config, "fallback", f"Fall back to {candidates[0]} when the model fails",
                f"{share:.1%} of runs fail with {f.subject} after retries",
                SetSetting(path="resilience.fallback", value=[candidates[0]]),
                f"fewer runs failing with {f.subject}",
            )  # fmt: skip
        return out


def _answer(
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


def _title(tool: str, text: _ToolText) -> str:
    said = []
    if text.formats:
        said.append("the format its arguments must have")
    if text.limits:
        said.append("the limits a guard enforces")
    return f"Tell the model {' and '.join(said)} in {tool}'s description"


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


def _keys(p: Proposal) -> set[str]:
    """What each change of `p` targets (a tool, a setting, a guard), without the new value."""
    values = {"description", "instructions", "value", "params"}
    return {json.dumps(c.model_dump(exclude=values), sort_keys=True) for c in p.changes}


def _dedupe(proposals: list[Proposal]) -> list[Proposal]:
    """One proposal per target: the first (most important) wins."""
    seen: set[str] = set()
    out = []
    for p in proposals:
        keys = _keys(p)
        if keys & seen:
            continue
        seen |= keys
        out.append(p)
    return out


def propose(
    report: Report,
    *,
    config: Agent | AgentConfig | None = None,
    model: str | Model | None = None,
    fallback_models: Sequence[str] = (),
) -> Proposals:
    """Proposals for `report`'s findings, most important first.

    `config` (default: the one the report was analysed with) is what they patch. With `model`
    (any agentnb model string or `Model`), a `ModelPlanner` rewrites tool descriptions and
    instructions from the failing traces; its validated proposals replace the rule-based ones
    for the same tool (or the instructions). `fallback_models` are candidates for a fallback.
    """
    from agentnb.agents.agent import Agent

    known = config.config if isinstance(config, Agent) else config
    known = known or report.config
    planned = RulePlanner(fallback_models=fallback_models).plan(report, known)
    if model is not None:
        from agentnb.meta.llm_planner import ModelPlanner

        planned = merge(planned, ModelPlanner(model).plan(report, known))
    return Proposals(planned)


def merge(rules: list[Proposal], rewrites: list[Proposal]) -> list[Proposal]:
    """`rules` with each proposal a rewrite also targets replaced in place by the rewrite;
    rewrites of other targets follow."""
    by_target = {_target(p): p for p in rewrites}
    out = [by_target.pop(_target(p), p) for p in rules]
    return out + [p for p in rewrites if _target(p) in by_target]


def _target(p: Proposal) -> str:
    return "|".join(sorted(_keys(p)))
