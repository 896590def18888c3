"""`apply`: Execute of the MAPE-K loop: proposals → a new config version, its changelog and diff.

```python
new = meta.apply(support.config, proposals[:2])   # 1.2.0 → 1.2.1: descriptions are a patch
new.changelog                                     # what changed, why, and the runs behind it
print(new.diff())                                 # the YAML diff against 1.2.0
```

The version bump follows from the diff of the whole config, like an API's (`bump_level`):

- **major**: a tool removed, or the output type changed (callers and their parsers break);
- **minor**: a tool, guard or monitor added or removed, a fallback model added, the model changed
  (new behaviour a caller could notice, nothing they rely on removed);
- **patch**: everything else: descriptions, instructions, guard params, thresholds and limits.

The new config is checked like `AgentConfig.validate()` would (settings ranges, guard params,
guards naming the agent's tools, the output type), with stand-ins for the tools and the model
so that no tool needs to be importable and no API key set. A failing patch raises `ConfigError`.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Collection, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from agentnb.config import AgentConfig
from agentnb.display import html as D
from agentnb.display.bundle import select
from agentnb.errors import UserError
from agentnb.meta.proposals import Change, Proposal, Proposals, config_diff, guard_name

__all__ = [
    "Bump",
    "ChangelogEntry",
    "Revision",
    "apply",
    "bump_level",
    "bump_version",
    "check",
    "semver_key",
]

Bump = Literal["major", "minor", "patch"]
_ORDER: dict[Bump, int] = {"patch": 0, "minor": 1, "major": 2}


def semver_key(version: str) -> tuple[int, int, int, int, str]:
    """Sort key of a semantic version: 1.10.0 after 1.9.0, a pre-release before its release."""
    core, _, pre = version.split("+")[0].partition("-")
    try:
        major, minor, patch = (int(p) for p in core.split("."))
    except ValueError:
        return (-1, 0, 0, 0, version)
    return (major, minor, patch, 0 if pre else 1, pre)


def bump_level(old: AgentConfig, new: AgentConfig) -> tuple[Bump | None, list[tuple[Bump, str]]]:
    """The semver bump `new` needs over `old` and every reason for it (None: no change)."""
    reasons: list[tuple[Bump, str]] = []
    old_tools = {t.name: t for t in old.tools}
    new_tools = {t.name: t for t in new.tools}
    reasons += [("major", f"tool {n} removed") for n in old_tools if n not in new_tools]
    reasons += [("minor", f"tool {n} added") for n in new_tools if n not in old_tools]
    reasons += [
        ("patch", f"tool {n} described anew")
        for n in new_tools
        if n in old_tools and new_tools[n].description != old_tools[n].description
    ]
    if old.output_type != new.output_type:
        reasons.append(("major", "output type changed"))
    for kind in ("guards", "monitors"):
        before = {guard_name(r): r for r in getattr(old, kind)}
        after = {guard_name(r): r for r in getattr(new, kind)}
        one = kind[:-1]
        reasons += [("minor", f"{one} {n} removed") for n in before if n not in after]
        reasons += [("minor", f"{one} {n} added") for n in after if n not in before]
        reasons += [
            ("patch", f"{one} {n} tuned")
            for n in after
            if n in before and after[n].model_dump() != before[n].model_dump()
        ]
    if old.model != new.model:
        reasons.append(("minor", f"model {old.model} → {new.model}"))
    if old.instructions != new.instructions:
        reasons.append(("patch", "instructions rewritten"))
    reasons += _settings_reasons(old.settings.model_dump(), new.settings.model_dump(), "")
    if not reasons:
        return None, []
    level = max((r[0] for r in reasons), key=_ORDER.__getitem__)
    return level, reasons


def _settings_reasons(
    old: dict[str, Any], new: dict[str, Any], prefix: str
) -> list[tuple[Bump, str]]:
    out: list[tuple[Bump, str]] = []
    for key in new:
        a, b = old.get(key), new[key]
        path = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += _settings_reasons(a, b, f"{path}.")
        elif a != b:
            # A new fallback model is new behaviour (answers from another model); numbers are
            # thresholds.
            added = path == "resilience.fallback" and len(b or []) > len(a or [])
            level: Bump = "minor" if added else "patch"
            out.append((level, f"settings.{path}: {a!r} → {b!r}"))
    return out


def bump_version(version: str, level: Bump) -> str:
    """`1.2.3` bumped by `level` (a pre-release or build suffix is dropped)."""
    core = version.split("+")[0].split("-")[0]
    try:
        major, minor, patch = (int(p) for p in core.split("."))
    except ValueError:
        raise UserError(
            f"version {version!r} is not MAJOR.MINOR.PATCH: set a semantic version first"
        ) from None
    if level == "major":
        return f"{major + 1}.0.0"
    if level == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


class ChangelogItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str
    rationale: str
    changes: list[str]
    evidence: list[str] = Field(default_factory=list)
    evidence_count: int = 0
    finding: str | None = None
    expected: str = ""


class ChangelogEntry(BaseModel):
    """One version's entry: what changed, why, and the runs behind it."""

    model_config = ConfigDict(frozen=True)

    agent: str
    version: str
    previous: str
    date: dt.date
    bump: Bump
    reasons: list[str]
    items: list[ChangelogItem]

    def markdown(self) -> str:
        """The entry as Markdown, for CHANGELOG.md and commit messages."""
        lines = [f"## {self.version} — {self.date.isoformat()}", ""]
        lines.append(
            f"{self.bump.capitalize()} release after {self.previous}: {'; '.join(self.reasons)}."
        )
        lines.append("")
        for item in self.items:
            lines.append(f"- **{item.title}**")
            lines.append(f"  - why: {item.rationale}")
            lines += [f"  - change: {c}" for c in item.changes]
            if item.expected:
                lines.append(f"  - expect: {item.expected}")
            if item.evidence:
                shown = ", ".join(f"`{r}`" for r in item.evidence[:5])
                more = item.evidence_count - min(len(item.evidence), 5)
                tail = f" and {more:,} more" if more > 0 else ""
                lines.append(f"  - evidence: runs {shown}{tail}")
        return "\n".join(lines) + "\n"


class Revision(AgentConfig):
    """An `AgentConfig` made by `meta.apply`: the same data, plus where it came from.

    It serialises, hashes and validates exactly like the plain config (`to_yaml()` is the
    same); `changelog`, `base` and `diff()` tell how it differs from its base version.
    """

    _changelog: ChangelogEntry | None = PrivateAttr(default=None)
    _base: AgentConfig | None = PrivateAttr(default=None)
    _note: str | None = PrivateAttr(default=None)

    @property
    def note(self) -> str | None:
        """Why `meta.apply` left the config unchanged, and what to do instead (else None)."""
        return self._note

    @property
    def changelog(self) -> ChangelogEntry | None:
        """What changed from the base version and why (None when nothing changed: see `note`)."""
        return self._changelog

    @property
    def base(self) -> AgentConfig | None:
        """The config the changes were applied to (None when nothing changed)."""
        return self._base

    def plain(self) -> AgentConfig:
        """The same config as a plain `AgentConfig`."""
        return AgentConfig.model_validate(self.to_dict())

    def diff(self) -> str:
        """A unified diff of the base config's YAML against this one ("" without a base)."""
        return "" if self._base is None else config_diff(self._base, self)

    def summary(self) -> str:
        """Plain text: `name old → new (bump): reasons` and the diff, or the note if unchanged."""
        entry = self._changelog
        if entry is None:
            return self._note or f"{self.name} {self.version}"
        return (
            f"{self.name} {entry.previous} → {self.version} ({entry.bump}): "
            f"{'; '.join(entry.reasons)}\n{self.diff()}"
        )

    def _repr_html_(self) -> str:
        entry = self._changelog
        if entry is None:
            note = f"<p>{D.esc(self._note)}</p>" if self._note else ""
            return D.wrap(f"{note}<pre>{D.esc(self.to_yaml())}</pre>")
        items = "".join(
            f"<li><b>{D.esc(i.title)}</b> — {D.esc(i.rationale)}"
            f'<br><span class="muted">{i.evidence_count:,} runs of evidence</span></li>'
            for i in entry.items
        )
        return D.wrap(
            f"<h4>{D.esc(self.name)} {D.esc(entry.previous)} → {D.esc(self.version)} "
            f"{D.badge(entry.bump)}</h4><p>{D.esc('; '.join(entry.reasons))}</p>"
            f"<ul>{items}</ul>{D.diff_html(self.diff())}"
        )

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, Any]:
        return select({"text/plain": self.summary, "text/html": self._repr_html_}, include, exclude)


def check(config: AgentConfig) -> None:
    """Validate `config` as `AgentConfig.validate()` would, with stand-in tools and model.

    Raises `ConfigError` listing every problem. The tools and model are stand-ins so that a
    config can be checked where its tools are not importable and no API key is set.
    """
    from agentnb.agents.validation import resolve
    from agentnb.errors import ConfigError
    from agentnb.models.function import FunctionModel
    from agentnb.models.registry import credentials_problem
    from agentnb.tools.tool import Tool

    def stand_in() -> None:
        """A stand-in tool."""

    tools = [Tool(stand_in, name=ref.name) for ref in config.tools]
    try:
        resolve(config, tools=tools, output_type=None, model=FunctionModel(lambda _: ""))
    except ConfigError as exc:
        # Missing API keys are the machine's business, not the config's.
        keys = {credentials_problem(m) for m in config.settings.resilience.fallback} - {None}
        problems = [p for p in exc.problems if p.message not in keys]
        if problems:
            raise ConfigError(config.name, problems) from None


def apply(
    config: AgentConfig,
    proposals: Sequence[Proposal | Change] | Proposal,
    *,
    version: str | None = None,
    date: dt.date | None = None,
) -> Revision:
    """A new version of `config` with `proposals` applied, its changelog entry and diff.

    The version is bumped by the kind of change (`bump_level`) unless `version` is given;
    `date` (default: today) dates the changelog entry. Raises `PatchError` when a change does
    not fit the config and `ConfigError` when the result would not validate. With no proposals
    it returns `config` unchanged (same version) and warns: its `note` says what to do instead
    (for `meta.propose`'s result, what the findings it could not answer call for).
    """
    from agentnb.agents.agent import Agent

    if isinstance(config, Agent):
        config = config.config
    items = [proposals] if isinstance(proposals, Proposal) else list(proposals)
    if not items:
        return _unchanged(config, proposals)
    new = config
    logged: list[ChangelogItem] = []
    for item in items:
        proposal = item if isinstance(item, Proposal) else _as_proposal(item)
        new = proposal.apply(new)
        logged.append(
            ChangelogItem(
                title=proposal.title,
                rationale=proposal.rationale,
                changes=[c.describe() for c in proposal.changes],
                evidence=proposal.evidence[:20],
                evidence_count=proposal.evidence_count or len(proposal.evidence),
                finding=proposal.finding,
                expected=proposal.expected,
            )
        )
    level, reasons = bump_level(config, new)
    if level is None:
        raise UserError(
            f"these proposals change nothing in {config.name} {config.version} (already applied?)"
        )
    new_version = version or bump_version(config.version, level)
    revision = Revision.model_validate({**new.to_dict(), "version": new_version})
    check(revision)
    revision._changelog = ChangelogEntry(
        agent=config.name,
        version=new_version,
        previous=config.version,
        date=date or dt.date.today(),
        bump=level,
        reasons=[text for _, text in reasons],
        items=logged,
    )
    revision._base = AgentConfig.model_validate(config.to_dict())
    return revision


def _unchanged(config: AgentConfig, given: object) -> Revision:
    """`config` as it is, with a note saying why nothing changed and what to do instead."""
    unanswered = given.unanswered if isinstance(given, Proposals) else []
    lines = [f"{config.name} {config.version} unchanged: no proposals to apply."]
    if unanswered:
        lines.append(
            f"The planner could not answer {len(unanswered)} finding(s) with a config change; "
            "what you could do instead:"
        )
        lines += [f"- {u.title}: {u.todo}" for u in unanswered]
    else:
        lines.append(
            "Nothing to change, or pass your own changes: meta.apply(config, "
            "[SetSetting(path='tool_retries', value=3)]) (see agentnb.meta.proposals)."
        )
    note = "\n".join(lines)
    warnings.warn(note, UserWarning, stacklevel=3)
    revision = Revision.model_validate(config.to_dict())
    revision._note = note
    return revision


def _as_proposal(change: Change) -> Proposal:
    return Proposal(
        kind="tools", title=change.describe(), rationale="applied by hand", changes=[change]
    )
