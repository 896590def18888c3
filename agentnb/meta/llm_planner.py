"""`ModelPlanner`: a model rewrites tool descriptions and instructions from the failing traces.

```python
from agentnb.meta.llm_planner import ModelPlanner

planner = ModelPlanner("openai:gpt-4.1-mini")          # any agentnb model, or "replay:<cassette>"
proposals = planner.plan(report, support.config)
planner.rejected                                        # what it proposed that did not validate
```

The model sees the agent's instructions and tools (description and argument schema) and a digest
of the findings about them (problems, rejected and accepted arguments, failure texts, optionally a
few traces from the store), and answers with JSON of a fixed shape. Its answer runs through an
agentnb `Agent` with that shape as `output_type`, so malformed JSON is sent back for correction;
then every rewrite is validated as a proposal before use: the tool must exist, the text must be new,
non-empty, not too long and free of secrets, and the patched config must pass `meta.apply.check`.
What fails is kept in `rejected` with the reason, never applied.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agentnb.config import AgentConfig
from agentnb.errors import ConfigError, UserError
from agentnb.meta.proposals import (
    Proposal,
    SetInstructions,
    SetToolDescription,
    current_description,
)
from agentnb.meta.report import Finding, Report
from agentnb.secrets import redact

if TYPE_CHECKING:
    from agentnb.models.base import Model
    from agentnb.telemetry.store import Store

__all__ = ["INSTRUCTIONS", "ModelPlanner", "Rewrite"]

MAX_DESCRIPTION = 1024
MAX_INSTRUCTIONS = 8000
_TOOL_KINDS = ("invalid_arguments", "tool_errors", "guard_blocks", "loops")
_RUN_KINDS = ("loops", "max_steps", "failure_cluster", "run_errors")

INSTRUCTIONS = """\
You improve the configuration of an AI agent from its telemetry.
You are shown the agent's instructions, its tools (description and JSON Schema of the arguments)
and what went wrong in its recent runs, with figures, rejected and accepted arguments.
Rewrite only what the evidence shows is unclear:
- a tool description, so the model calling it sends valid arguments the first time (say the
  expected format, with an example shaped like the accepted ones; never copy a customer's data);
- the instructions, when runs loop, stall or fail in ways the instructions can prevent.
Keep what is still right, be concise, and invent no limits or facts the evidence does not show.
Answer with JSON only: {"descriptions": [{"tool", "description", "rationale"}],
"instructions": {"text", "rationale"} or null}."""


class DescriptionRewrite(BaseModel):
    tool: str
    description: str
    rationale: str = ""


class InstructionsRewrite(BaseModel):
    text: str
    rationale: str = ""


class Rewrite(BaseModel):
    """The shape of the model's answer."""

    descriptions: list[DescriptionRewrite] = Field(default_factory=list)
    instructions: InstructionsRewrite | None = None


class ModelPlanner:
    """Proposals written by a model, validated before use (see the module doc)."""

    name = "model"

    def __init__(
        self,
        model: str | Model,
        *,
        store: Store | None = None,
        traces: int = 3,
        temperature: float | None = 0.2,
    ) -> None:
        self.model = model
        self.store = store
        self.traces = traces
        self.temperature = temperature
        self.rejected: list[tuple[str, str]] = []
        """(what, why) for every rewrite that failed validation in the last `plan`."""

    # --- the prompt --------------------------------------------------------------------------
    def prompt(self, report: Report, config: AgentConfig | None) -> str | None:
        """The request text (None when no finding concerns descriptions or instructions)."""
        tools = _tools_in_question(report, config)
        runs = [f for f in report.findings if f.kind in _RUN_KINDS]
        if not tools and not runs:
            return None
        lines = [f"Agent: {report.agent} {', '.join(report.versions)} ({report.runs:,} runs)"]
        instructions = config.instructions if config is not None else ""
        lines += ["", "Instructions:", instructions or "(none)", "", "Tools:"]
        for tool in sorted(tools):
            text = current_description(tool, config, report.tool_descriptions)
            lines.append(f"- {tool}: {json.dumps(text)}")
            schema = _schema(tool)
            if schema is not None:
                lines.append(f"  arguments schema: {json.dumps(schema, sort_keys=True)}")
        lines += ["", "Findings:"]
        for f in [f for f in report.findings if f.subject in tools or f.kind in _RUN_KINDS]:
            lines += _digest(f)
        traces = self._traces(report, tools)
        if traces:
            lines += ["", "Traces of failing runs:", *traces]
        return redact("\n".join(lines))

    def _traces(self, report: Report, tools: set[str]) -> list[str]:
        if self.store is None or self.traces <= 0:
            return []
        ids: list[str] = []
        for f in report.findings:
            if f.subject in tools:
                ids += [r for r in f.runs[: self.traces] if r not in ids]
        out = []
        for run_id in ids[: self.traces]:
            trace = self.store.trace(run_id)
            out.append(f"run {run_id[:12]}:")
            for span in trace.find("execute_tool"):
                a = span.attributes
                args = a.get("gen_ai.tool.call.arguments", "")
                result = a.get("agentnb.error.message") or a.get("gen_ai.tool.call.result", "")
                out.append(f"  {a.get('gen_ai.tool.name')}({args}) -> {str(result)[:300]}")
        return out

    # --- planning ----------------------------------------------------------------------------
    def plan(self, report: Report, config: AgentConfig | None = None) -> list[Proposal]:
        """Ask the model; return its rewrites that validate as proposals."""
        config = config or report.config
        self.rejected = []
        prompt = self.prompt(report, config)
        if prompt is None:
            return []
        answer = self._ask(prompt)
        tools = _tools_in_question(report, config)
        out: list[Proposal] = []
        for rewrite in answer.descriptions:
            proposal = self._description(rewrite, report, config, tools)
            if proposal is not None:
                out.append(proposal)
        if answer.instructions is not None:
            proposal = self._instructions(answer.instructions, report, config)
            if proposal is not None:
                out.append(proposal)
        return out

    def _ask(self, prompt: str) -> Rewrite:
        from agentnb.agents.agent import Agent

        agent = Agent(
            "agentnb-meta-planner",
            model=self.model,
            instructions=INSTRUCTIONS,
            output_type=Rewrite,
            settings={"temperature": self.temperature, "output_retries": 1},
            telemetry=False,
        )
        answer = agent.run_sync(prompt).output
        assert isinstance(answer, Rewrite)
        return answer

    def _reject(self, what: str, why: str) -> None:
        self.rejected.append((what, why))

    def _checked(self, proposal: Proposal, config: AgentConfig | None, what: str) -> bool:
        if config is None:
            return True
        from agentnb.meta.revision import check

        try:
            check(proposal.apply(config))
        except (ConfigError, UserError) as exc:
            self._reject(what, f"the patched config does not validate: {exc}")
            return False
        return True

    def _description(
        self,
        rewrite: DescriptionRewrite,
        report: Report,
        config: AgentConfig | None,
        tools: set[str],
    ) -> Proposal | None:
        what = f"description of {rewrite.tool}"
        text = rewrite.description.strip()
        problem = _text_problem(text, current_description(rewrite.tool, config), MAX_DESCRIPTION)
        if rewrite.tool not in tools:
            problem = f"{rewrite.tool!r} is not one of the tools in question ({sorted(tools)})"
        if problem:
            self._reject(what, problem)
            return None
        findings = [f for f in report.findings if f.subject == rewrite.tool]
        proposal = Proposal(
            kind="tool_description",
            title=f"Describe {rewrite.tool} anew (written by {_model_id(self.model)})",
            rationale=rewrite.rationale.strip() or _why(findings),
            changes=[SetToolDescription(tool=rewrite.tool, description=text)],
            evidence=_runs(findings),
            evidence_count=sum(f.run_count for f in findings),
            finding=findings[0].id if findings else None,
            answers=[f.id for f in findings],
            planner="model",
            expected=f"fewer failed or rejected {rewrite.tool} calls",
            base=config,
        )
        return proposal if self._checked(proposal, config, what) else None

    def _instructions(
        self, rewrite: InstructionsRewrite, report: Report, config: AgentConfig | None
    ) -> Proposal | None:
        text = rewrite.text.strip()
        current = config.instructions if config is not None else ""
        problem = _text_problem(text, current, MAX_INSTRUCTIONS)
        if problem:
            self._reject("instructions", problem)
            return None
        findings = [f for f in report.findings if f.kind in _RUN_KINDS]
        proposal = Proposal(
            kind="instructions",
            title=f"Rewrite the instructions (written by {_model_id(self.model)})",
            rationale=rewrite.rationale.strip() or _why(findings),
            changes=[SetInstructions(instructions=text)],
            evidence=_runs(findings),
            evidence_count=sum(f.run_count for f in findings),
            finding=findings[0].id if findings else None,
            answers=[f.id for f in findings],
            planner="model",
            expected="fewer looping, stalled or failed runs",
            base=config,
        )
        return proposal if self._checked(proposal, config, "instructions") else None


def _tools_in_question(report: Report, config: AgentConfig | None) -> set[str]:
    names = {f.subject for f in report.findings if f.kind in ("invalid_arguments", "tool_errors")}
    for f in report.findings:
        if f.kind == "guard_blocks":
            names.update(t for t, _ in f.details.get("targets", []))
        elif f.kind == "loops":
            names.add(f.subject)
    if config is not None:
        names &= {t.name for t in config.tools}
    return names


def _schema(tool: str) -> dict[str, Any] | None:
    from agentnb.tools.tool import REGISTRY

    found = REGISTRY.get(tool)
    return found.definition.parameters if found is not None else None


def _digest(f: Finding) -> list[str]:
    """A finding in a few lines of plain text for the model."""
    lines = [f"- [{f.severity}] {f.title} ({f.measure.text()})"]
    d = f.details
    for text, count in (d.get("messages") or d.get("reasons") or d.get("members") or [])[:3]:
        lines.append(f"  {count:,}x {text}")
    for field, info in (d.get("fields") or {}).items():
        rejected = ", ".join(json.dumps(v) for v in info.get("rejected", [])[:4])
        accepted = ", ".join(json.dumps(v) for v in info.get("examples", [])[:3])
        lines.append(f"  {field}: rejected {rejected or '-'}; accepted e.g. {accepted or '-'}")
    for example in d.get("examples", [])[:2] if f.kind == "loops" else []:
        lines.append(f"  repeated call: {json.dumps(example.get('arguments'))}")
    return lines


def _text_problem(text: str, current: str, limit: int) -> str | None:
    if not text:
        return "it is empty"
    if len(text) > limit:
        return f"it has {len(text)} characters, more than {limit}"
    if text == current.strip():
        return "it is the current text"
    if redact(text) != text:
        return "it contains what looks like a secret"
    return None


def _why(findings: list[Finding]) -> str:
    return "; ".join(f.title for f in findings[:3]) or "the model's rewrite"


def _runs(findings: list[Finding]) -> list[str]:
    return list(dict.fromkeys(r for f in findings for r in f.runs))[:50]


def _model_id(model: str | Model) -> str:
    return model if isinstance(model, str) else model.id
