"""Typed proposals: each a patch to an `AgentConfig` with its rationale and the runs behind it.

A `Proposal` holds one or more `changes`, each a small typed operation that applies to any config
that has its target (a tool, a guard, a setting) and fails with a `PatchError` naming what is
missing otherwise:

- `SetToolDescription`: present a tool to the model with another description;
- `SetInstructions`: replace the instructions;
- `SetSetting`: set `settings.<path>` (max_steps, temperature, timeouts, breaker, fallback, …);
- `SetGuardParams`: change a guard's params;
- `AddGuard`: add a guard;
- `RemoveTool`: take a tool away.

`meta.apply` decides the semver bump from the diff of the whole config, not from these.

```python
p = proposals[0]
p                      # the diff against the config the planner saw, the rationale, the runs
p.apply(config)        # a patched copy (version unchanged: meta.apply bumps and logs)
p.model_dump_json()    # proposals are plain data
```
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from agentnb.config import AgentConfig, ComponentRef, Settings
from agentnb.display import html as D
from agentnb.display.bundle import select
from agentnb.errors import UserError
from agentnb.meta.report import Severity

__all__ = [
    "AddGuard",
    "Change",
    "PatchError",
    "Proposal",
    "ProposalKind",
    "Proposals",
    "RemoveTool",
    "SetGuardParams",
    "SetInstructions",
    "SetSetting",
    "SetToolDescription",
    "Unanswered",
    "config_diff",
    "current_description",
    "guard_name",
]

ProposalKind = Literal[
    "tool_description",
    "argument_schema",
    "guard",
    "max_steps",
    "retries",
    "timeout",
    "breaker",
    "fallback",
    "temperature",
    "instructions",
    "tools",
]


class PatchError(UserError):
    """A change cannot apply to this config (its tool, guard or setting is not there)."""


def guard_name(ref: ComponentRef) -> str:
    """The name a guard reports in verdicts: its `name` param, else its kind."""
    return str(ref.params.get("name") or ref.name)


def current_description(
    tool: str, config: AgentConfig | None, known: Mapping[str, str] | None = None
) -> str:
    """What the model is told about `tool` now: the config's override, else the tool's own
    (from `known`, the analysed agent's tools, else the tool registered under that name)."""
    if config is not None:
        for ref in config.tools:
            if ref.name == tool and ref.description is not None:
                return ref.description
    if known and tool in known:
        return known[tool]
    from agentnb.tools.tool import REGISTRY

    found = REGISTRY.get(tool)
    return found.description if found is not None else ""


class _Op(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def apply(self, config: AgentConfig) -> AgentConfig:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def preview(self) -> str:
        """The change on its own, for when there is no config to diff against."""
        return f"  {self.describe()}"


class SetToolDescription(_Op):
    """Present a tool to the model with another description (the tool's code is unchanged)."""

    op: Literal["set_tool_description"] = "set_tool_description"
    tool: str
    description: str

    def apply(self, config: AgentConfig) -> AgentConfig:
        """A copy of `config` with the tool's description overridden; `PatchError` if no tool."""
        _tool_index(config, self.tool)
        tools = [
            ref.model_copy(update={"description": self.description})
            if ref.name == self.tool
            else ref
            for ref in config.tools
        ]
        return config.model_copy(update={"tools": tools})

    def describe(self) -> str:
        """One line naming the change: `describe tool NAME anew`."""
        return f"describe tool {self.tool} anew"

    def preview(self) -> str:
        """The new description as added lines under `tools[NAME].description:`."""
        lines = self.description.splitlines() or [""]
        return "\n".join([f"tools[{self.tool}].description:", *(f"+ {line}" for line in lines)])


class SetInstructions(_Op):
    """Replace the agent's instructions (the system prompt) as a whole."""

    op: Literal["set_instructions"] = "set_instructions"
    instructions: str

    def apply(self, config: AgentConfig) -> AgentConfig:
        """A copy of `config` with these instructions (applies to any config)."""
        return config.model_copy(update={"instructions": self.instructions})

    def describe(self) -> str:
        """One line naming the change: `rewrite the instructions`."""
        return "rewrite the instructions"

    def preview(self) -> str:
        """The new instructions as added lines under `instructions:`."""
        lines = self.instructions.splitlines() or [""]
        return "\n".join(["instructions:", *(f"+ {line}" for line in lines)])


class SetSetting(_Op):
    """Set one value under `settings` (max_steps, temperature, timeouts, breaker, fallback, …)."""

    op: Literal["set_setting"] = "set_setting"
    path: str
    """Dotted path under `settings`: `max_steps`, `temperature`, `resilience.request_timeout`."""
    value: Any

    def apply(self, config: AgentConfig) -> AgentConfig:
        """A copy of `config` with the setting changed and the settings validated again.

        Raises:
            PatchError: `path` names a section or setting that does not exist (with the
                closest setting name when there is one).
        """
        data = config.settings.model_dump()
        node = data
        *parents, leaf = self.path.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise PatchError(f"settings.{self.path}: settings has no section {part!r}")
            node = node[part]
        if leaf not in node:
            close = difflib.get_close_matches(leaf, list(node), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PatchError(f"settings.{self.path}: there is no such setting{hint}")
        node[leaf] = self.value
        return config.model_copy(update={"settings": Settings.model_validate(data)})

    def describe(self) -> str:
        """One line naming the change: `set settings.PATH = VALUE`."""
        return f"set settings.{self.path} = {self.value!r}"


class AddGuard(_Op):
    """Add a guard after the config's guards."""

    op: Literal["add_guard"] = "add_guard"
    guard: ComponentRef

    def apply(self, config: AgentConfig) -> AgentConfig:
        """A copy of `config` with the guard added; `PatchError` if one has its name already."""
        name = guard_name(self.guard)
        if any(guard_name(g) == name for g in config.guards):
            raise PatchError(
                f"{config.name} {config.version} already has a guard named {name!r}: "
                "tune it with SetGuardParams, or give the new one another name"
            )
        return config.model_copy(update={"guards": [*config.guards, self.guard]})

    def describe(self) -> str:
        """One line naming the change: `add guard NAME (KIND)`."""
        return f"add guard {guard_name(self.guard)} ({self.guard.name})"


class SetGuardParams(_Op):
    """Change some params of a guard the config has; the others stay as they are."""

    op: Literal["set_guard_params"] = "set_guard_params"
    guard: str
    """The guard's name as verdicts report it (see `guard_name`)."""
    params: dict[str, Any]
    """Merged into the guard's params; a None value removes that param."""

    def apply(self, config: AgentConfig) -> AgentConfig:
        """A copy of `config` with the params merged; `PatchError` if it has no such guard."""
        found = [i for i, g in enumerate(config.guards) if guard_name(g) == self.guard]
        if not found:
            names = ", ".join(guard_name(g) for g in config.guards) or "none"
            raise PatchError(
                f"{config.name} {config.version} has no guard {self.guard!r} (guards: {names})"
            )
        guards = list(config.guards)
        old = guards[found[0]]
        params = {**old.params, **self.params}
        params = {k: v for k, v in params.items() if v is not None}
        guards[found[0]] = old.model_copy(update={"params": params})
        return config.model_copy(update={"guards": guards})

    def describe(self) -> str:
        """One line naming the change: `set guard NAME params KEY=VALUE, …`."""
        changed = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"set guard {self.guard} params {changed}"


class RemoveTool(_Op):
    """Take a tool away from the agent (the tool itself stays defined)."""

    op: Literal["remove_tool"] = "remove_tool"
    tool: str

    def apply(self, config: AgentConfig) -> AgentConfig:
        """A copy of `config` without the tool; `PatchError` if it has no such tool."""
        _tool_index(config, self.tool)
        return config.model_copy(
            update={"tools": [ref for ref in config.tools if ref.name != self.tool]}
        )

    def describe(self) -> str:
        """One line naming the change: `remove tool NAME`."""
        return f"remove tool {self.tool}"


Change = Annotated[
    Union[SetToolDescription, SetInstructions, SetSetting, AddGuard, SetGuardParams, RemoveTool],
    Field(discriminator="op"),
]


def _tool_index(config: AgentConfig, tool: str) -> int:
    for i, ref in enumerate(config.tools):
        if ref.name == tool:
            return i
    names = ", ".join(ref.name for ref in config.tools) or "none"
    raise PatchError(f"{config.name} {config.version} has no tool {tool!r} (tools: {names})")


def config_diff(
    old: AgentConfig, new: AgentConfig, *, context: int = 2, label: str | None = None
) -> str:
    """A unified diff of the two configs' YAML (what a reviewer reads)."""
    before = old.to_yaml().splitlines(keepends=True)
    after = new.to_yaml().splitlines(keepends=True)
    name = f"{old.name}.yaml"
    to = f"{name} ({label or new.version})"
    return "".join(difflib.unified_diff(before, after, f"{name} ({old.version})", to, n=context))


class Proposal(BaseModel):
    """A change to an agent's config, why, and the runs that show why."""

    model_config = ConfigDict(frozen=True)

    kind: ProposalKind
    title: str
    rationale: str
    changes: list[Change]
    evidence: list[str] = Field(default_factory=list)
    """Ids of runs behind the proposal (a sample; `evidence_count` counts them all)."""
    evidence_count: int = 0
    finding: str | None = None
    """The id of the finding it answers (`invalid_arguments:lookup_order`)."""
    answers: list[str] = Field(default_factory=list)
    """The ids of every finding it answers (`finding` is the main one): a new description
    answers its tool's rejected calls, guard blocks and the runs that failed because of them."""
    planner: Literal["rules", "model"] = "rules"
    expected: str = ""
    """The effect to look for once it is rolled out (what `meta.compare` should show)."""
    base: AgentConfig | None = Field(default=None, exclude=True, repr=False)
    """The config the planner saw (the diff is shown against it)."""

    def apply(self, config: AgentConfig) -> AgentConfig:
        """`config` with these changes (same version: `meta.apply` bumps it and logs why)."""
        for change in self.changes:
            config = change.apply(config)
        return config

    def diff(self, config: AgentConfig | None = None) -> str:
        """The diff this proposal makes to `config` (default: the config the planner saw)."""
        base = config or self.base
        if base is None:  # no config to diff against: the new values themselves
            return "\n".join(c.preview() for c in self.changes)
        return config_diff(base, self.apply(base), label="proposed")

    # --- display -----------------------------------------------------------------------------
    def summary(self) -> str:
        """Plain text: title, why, the expected effect, the diff and a few evidence run ids."""
        lines = [f"{self.title}  [{self.kind}, {self.planner}]", f"  why: {self.rationale}"]
        if self.expected:
            lines.append(f"  expect: {self.expected}")
        lines.append(self.diff())
        if self.evidence:
            more = self.evidence_count - len(self.evidence)
            tail = f" (+{more} more)" if more > 0 else ""
            lines.append(f"  evidence: {', '.join(r[:12] for r in self.evidence[:5])}{tail}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        evidence = ", ".join(f"<code>{D.esc(r[:12])}</code>" for r in self.evidence[:8])
        more = self.evidence_count - min(len(self.evidence), 8)
        tail = f" … and {more:,} more runs" if more > 0 else ""
        expected = f"<p><b>Expect:</b> {D.esc(self.expected)}</p>" if self.expected else ""
        answers = self.answers or ([self.finding] if self.finding else [])
        shown = ", ".join(f"<code>{D.esc(a)}</code>" for a in answers)
        finding = f" · answers {shown}" if shown else ""
        return D.wrap(
            f"<h4>{D.badge('info', self.kind)} {D.esc(self.title)}</h4>"
            f'<p class="muted">planner: {self.planner}{finding}</p>'
            f"<p><b>Why:</b> {D.esc(self.rationale)}</p>{expected}"
            f"{D.diff_html(self.diff())}"
            f"<p><b>Evidence:</b> {evidence or '–'}{tail}</p>"
        )

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, Any]:
        """The plain-text summary and the HTML view, as Jupyter asks for them."""
        return select({"text/plain": self.summary, "text/html": self._repr_html_}, include, exclude)


class Unanswered(BaseModel):
    """A finding no automatic change answers: why not, and what the user could do instead."""

    model_config = ConfigDict(frozen=True)

    finding: str
    """The finding's id (`tool_errors:convert_units`)."""
    severity: Severity
    title: str
    why: str
    """Why no change to the config applies."""
    todo: str
    """What the user could do."""
    runs: list[str] = Field(default_factory=list)
    """A few runs that show it."""

    def summary(self) -> str:
        """Plain text: the finding, why no proposal, what you could do, a few run ids."""
        lines = [f"[{self.severity}] {self.title}", f"  no proposal: {self.why}"]
        lines.append(f"  you could: {self.todo}")
        if self.runs:
            lines.append(f"  runs: {', '.join(r[:12] for r in self.runs[:3])}")
        return "\n".join(lines)


class Proposals(list[Proposal]):
    """The planner's proposals, most important first, and the findings of warning or critical
    severity no proposal answers (`unanswered`, each with why and what to do); displays as a list
    in a notebook."""

    def __init__(
        self, proposals: Iterable[Proposal] = (), unanswered: Iterable[Unanswered] = ()
    ) -> None:
        super().__init__(proposals)
        self.unanswered: list[Unanswered] = list(unanswered)

    def summary(self) -> str:
        """Plain text: one numbered line per proposal, then the unanswered findings."""
        lines = [f"[{i}] {p.title} ({p.kind})" for i, p in enumerate(self)]
        if not self:
            lines.append(
                "no proposals" + (": no finding calls for a change" if not self.unanswered else "")
            )
        if self.unanswered:
            lines.append(f"{len(self.unanswered)} finding(s) no automatic change answers:")
            lines += [u.summary() for u in self.unanswered]
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's plain-text formatter knows lists and would print the list's repr instead.
        printer.text(self.summary())

    def _repr_html_(self) -> str:
        rows = [
            (
                str(i),
                D.badge("info", p.kind),
                f'<b>{D.esc(p.title)}</b><br><span class="muted">{D.esc(p.rationale)}</span>',
                f"{p.evidence_count:,}",
            )
            for i, p in enumerate(self)
        ]
        parts = [D.table(["#", "kind", "proposal", "runs"], rows, numeric={3})] if rows else []
        if not rows and not self.unanswered:
            parts.append("<p>No proposals: no finding calls for a change.</p>")
        if self.unanswered:
            open_rows = [
                (
                    D.badge(u.severity, u.severity),
                    f"<b>{D.esc(u.title)}</b>",
                    D.esc(u.why),
                    D.esc(u.todo),
                )
                for u in self.unanswered
            ]
            head = "No proposals. " if not rows else ""
            parts.append(
                f"<p>{head}Findings no automatic change answers, and what you could do:</p>"
                + D.table(["severity", "finding", "why no proposal", "you could"], open_rows)
            )
        return D.wrap("".join(parts))

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, Any]:
        return select({"text/plain": self.summary, "text/html": self._repr_html_}, include, exclude)
