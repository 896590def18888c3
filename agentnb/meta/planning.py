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
  with argument values that never succeed → a note on them in the tool's description; mostly
  transient, with runs ending because of them → more `tool_retries`;
- `max_steps` → raise `max_steps` when successful runs come close to it, else lower it;
- `loops` → an instruction not to repeat a call that did not help;
- `model_latency` → a request timeout from the observed latency;
- `run_errors` from providers → a circuit breaker threshold, a fallback (from `fallback_models`);
- `run_errors` `OutputInvalid` → a lower temperature.

Changes to one tool's description are merged into one proposal. A finding of warning or critical
severity that no rule answers is listed in `Proposals.unanswered`, with why no change applies and
what the user could do. The rules about tools live in `agentnb.meta._tool_rules`. The
model-backed planner (`agentnb.meta.llm_planner.ModelPlanner`) rewrites descriptions and
instructions from the failing traces; its proposals replace the rule-based ones for the same
target.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentnb.config import AgentConfig, Settings
from agentnb.meta._advice import covered, explain
from agentnb.meta._tool_rules import (
    FAILURES_HEADING,
    FORMATS_HEADING,
    LIMITS_HEADING,
    RANK,
    ToolRules,
    ToolText,
    answer,
    guarded_tools,
)
from agentnb.meta.llm_planner import ModelPlanner
from agentnb.meta.proposals import (
    Proposal,
    Proposals,
    SetInstructions,
    SetSetting,
    SetToolDescription,
    Unanswered,
)
from agentnb.meta.report import Finding, Report

if TYPE_CHECKING:
    from agentnb.agents.agent import Agent
    from agentnb.models.base import Model

__all__ = [
    "FAILURES_HEADING",
    "FORMATS_HEADING",
    "LIMITS_HEADING",
    "Proposals",
    "RulePlanner",
    "merge",
    "propose",
]

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
_LOCAL = ("offline", "function", "replay")


def _nice(value: float) -> float:
    """`value` rounded up to 1, 2 or 5 times a power of ten (timeouts people can read)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


class RulePlanner(ToolRules):
    """Proposals from findings by fixed rules: offline, deterministic, always available."""

    name = "rules"

    def __init__(self, *, fallback_models: Sequence[str] = ()) -> None:
        super().__init__()
        self.fallback_models = list(fallback_models)
        self.unanswered: list[Unanswered] = []
        """The findings of warning or critical severity the last `plan` made no proposal for,
        each with why and what the user could do."""

    def plan(self, report: Report, config: AgentConfig | None = None) -> list[Proposal]:
        """Proposals for `report`'s findings, most severe first; sets `unanswered`.

        `config` defaults to the one in the report; without either, the rules work from the
        default `Settings`.
        """
        config = config or report.config
        settings = config.settings if config is not None else Settings()
        self._declined = {}
        self._descriptions = report.tool_descriptions
        texts: dict[str, ToolText] = {}
        out: list[tuple[Finding, Proposal]] = []
        for f in report.findings:
            if f.kind == "invalid_arguments":
                self._formats(f, texts.setdefault(f.subject, ToolText()))
            elif f.kind == "guard_blocks":
                out += self._guard(f, config, texts)
            elif f.kind == "tool_errors":
                out += self._tool_errors(f, report, settings, config, texts)
            elif f.kind == "max_steps":
                out += self._max_steps(f, settings, config)
            elif f.kind == "loops":
                out += self._loops(f, config)
            elif f.kind == "model_latency":
                out += self._timeout(f, settings, config)
            elif f.kind == "run_errors":
                out += self._run_errors(f, settings, config)
        out += self.describe_tools(texts, config)
        out.sort(key=lambda fp: (RANK[fp[0].severity], -fp[0].run_count, fp[1].kind))
        out = [(f, _with_answers(p, f, texts, report)) for f, p in out]
        planned = _dedupe([p for _, p in out])
        answered = {a for p in planned for a in p.answers}
        self.unanswered = [
            explain(f, self._declined.get(f.id))
            for f in report.findings
            if f.severity != "info" and f.id not in answered
        ]
        return planned

    # --- settings ----------------------------------------------------------------------------
    def _max_steps(
        self, f: Finding, settings: Settings, config: AgentConfig | None
    ) -> list[tuple[Finding, Proposal]]:
        d = f.details
        limit = int(d.get("limit") or settings.max_steps)
        p99 = d.get("ok_steps_p99")
        if p99 is None:
            return self._decline(
                f, "no run succeeded, so there is no step count to aim for",
                "make some runs succeed first (see the other findings), then analyze again",
            )  # fmt: skip
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
                return self._decline(
                    f, f"successful runs need almost all {limit} steps (p99 {p99:.0f}): a "
                    "lower limit would stop good runs, a higher one would not save the others",
                    "read the runs that hit the limit (what do they do with their steps?) and "
                    "fix that in the instructions or the tools",
                )  # fmt: skip
            why = (
                f"{f.measure.value:.1%} of runs use all {limit} steps and never answer, while "
                f"successful runs need at most {p99:.0f} steps (p99): stop the hopeless ones "
                "sooner, and cheaper"
            )
            expect = "the same success rate, fewer steps and tokens in failing runs"
        verb = "Raise" if new > limit else "Lower"
        return answer(
            f, config, "max_steps", f"{verb} max_steps from {limit} to {new}", why,
            SetSetting(path="max_steps", value=new), expect,
        )  # fmt: skip

    def _loops(self, f: Finding, config: AgentConfig | None) -> list[tuple[Finding, Proposal]]:
        instructions = config.instructions if config is not None else ""
        if LOOP_RULE in instructions:
            return self._decline(
                f, "the instructions already tell the model not to repeat a call",
                f"make {f.subject}'s result say plainly when it found nothing, so the model has a "
                "reason to stop, or cap the run with a budget guard (max_tool_calls)",
            )  # fmt: skip
        new = f"{instructions.rstrip()}\n\n{LOOP_RULE}" if instructions.strip() else LOOP_RULE
        return answer(
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
            # local models run without the timeout layer (see ResilienceSettings)
            return self._decline(
                f, f"{f.subject} runs in this process: request timeouts do not apply to it",
                "profile the model function itself",
            )  # fmt: skip
        proposed = max(10.0, _nice(4 * p95_s))
        current = settings.resilience.request_timeout
        if current is not None and current <= 2 * proposed:
            return self._decline(
                f, f"the request timeout ({current} s) is already close to what the latency "
                "calls for",
                "compare models or providers for latency (meta.compare over a rollout), or "
                "stream the answers so users see progress",
            )  # fmt: skip
        now = f"{'now' if config is not None else 'default'} {current} s"
        return answer(
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
                return self._decline(
                    f, f"the temperature is already low ({current})",
                    "simplify the output type, describe its fields, or raise "
                    "settings.output_retries",
                )  # fmt: skip
            return answer(
                f, config, "temperature", f"Lower the temperature to 0.2 (now {current})",
                f"{share:.1%} of runs fail because the final answer kept missing the output "
                "schema; a lower temperature steadies the format",
                SetSetting(path="temperature", value=0.2), "fewer runs failing with OutputInvalid",
            )  # fmt: skip
        if f.subject not in _MODEL_ERRORS:
            return []  # explained by kind (see _advice), or answered through its tool
        out: list[tuple[Finding, Proposal]] = []
        r = settings.resilience
        if r.breaker_threshold is None:
            out += answer(
                f, config, "breaker", "Open a circuit breaker after 5 consecutive failures",
                f"{share:.1%} of runs fail with {f.subject}; without a breaker every run waits "
                "for its retries against a failing provider",
                SetSetting(path="resilience.breaker_threshold", value=5),
                "faster failures (or fallbacks) while the provider is down",
            )  # fmt: skip
        candidates = [m for m in self.fallback_models if m not in r.fallback]
        if candidates and not r.fallback:
            out += answer(
                f, config, "fallback", f"Fall back to {candidates[0]} when the model fails",
                f"{share:.1%} of runs fail with {f.subject} after retries",
                SetSetting(path="resilience.fallback", value=[candidates[0]]),
                f"fewer runs failing with {f.subject}",
            )  # fmt: skip
        if not out:
            return self._decline(
                f, "a circuit breaker is set and there is no fallback model to propose",
                "pass candidates: meta.propose(report, fallback_models=[...]), or check the "
                "provider's status and your rate limits",
            )  # fmt: skip
        return out


def _with_answers(
    p: Proposal, main: Finding, texts: dict[str, ToolText], report: Report
) -> Proposal:
    """`p` with every finding it answers: its own, those merged into the same description, the
    runs that failed because a tool it changes kept failing, and the failure clusters whose texts
    are the errors it addresses."""
    tools = {c.tool for c in p.changes if isinstance(c, SetToolDescription)}
    tools |= {t for c in p.changes for t in guarded_tools(c)}
    if main.kind in ("tool_errors", "invalid_arguments"):  # e.g. more retries for this tool
        tools.add(main.subject)
    merged = [f for t in tools if t in texts for f in texts[t].findings]
    messages = {str(m) for f in [main, *merged] for m, _ in f.details.get("messages", [])}
    ids = [main.id, *(f.id for f in merged)]
    ids += [f.id for f in report.findings if covered(f, tools, messages)]
    return p.model_copy(update={"answers": list(dict.fromkeys(ids))})


def _keys(p: Proposal) -> set[str]:
    """What each change of `p` targets (a tool, a setting, a guard), without the new value."""
    values = {"description", "instructions", "value", "params"}
    return {json.dumps(c.model_dump(exclude=values), sort_keys=True) for c in p.changes}


def _dedupe(proposals: list[Proposal]) -> list[Proposal]:
    """One proposal per target: the first (most important) wins and answers the findings of
    those it replaces too."""
    seen: dict[str, int] = {}
    out: list[Proposal] = []
    for p in proposals:
        keys = _keys(p)
        kept = next((seen[k] for k in keys if k in seen), None)
        if kept is not None:
            answers = list(dict.fromkeys([*out[kept].answers, *p.answers]))
            out[kept] = out[kept].model_copy(update={"answers": answers})
            continue
        seen.update(dict.fromkeys(keys, len(out)))
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

    Every finding of warning or critical severity is answered: by a proposal, or in the result's
    `unanswered` list, with why no change to the config applies and what the user could do.
    """
    from agentnb.agents.agent import Agent

    known = config.config if isinstance(config, Agent) else config
    known = known or report.config
    rules = RulePlanner(fallback_models=fallback_models)
    planned = rules.plan(report, known)
    unanswered = rules.unanswered
    if model is not None:
        rewrites = ModelPlanner(model).plan(report, known)
        planned = merge(planned, rewrites)
        answered = {a for p in rewrites for a in p.answers}
        unanswered = [u for u in unanswered if u.finding not in answered]
    return Proposals(planned, unanswered)


def merge(rules: list[Proposal], rewrites: list[Proposal]) -> list[Proposal]:
    """`rules` with each proposal a rewrite also targets replaced in place by the rewrite;
    rewrites of other targets follow."""
    by_target = {_target(p): p for p in rewrites}
    out = []
    for p in rules:
        rewrite = by_target.pop(_target(p), None)
        if rewrite is None:
            out.append(p)
        else:  # the rewrite answers what the rule's proposal did
            answers = list(dict.fromkeys([*rewrite.answers, *p.answers]))
            out.append(rewrite.model_copy(update={"answers": answers}))
    return out + [p for p in rewrites if _target(p) in by_target]


def _target(p: Proposal) -> str:
    return "|".join(sorted(_keys(p)))
