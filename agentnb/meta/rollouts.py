"""`Rollout`: several versions of one agent, each serving a share of traffic, routed by key.

```python
rollout = meta.rollout("support", {"1.2.0": 0.9, "1.3.0": 0.1}, agents=[v120, v130])
rollout.choose("user-42")                         # the same key always gets the same version
result = rollout.run_sync("Where is my order?", key="user-42")
rollout.ramp("1.3.0", 0.5)                        # then 50%: users on 1.3.0 stay on it
```

A key (a user or session id) is hashed with SHA-256, together with the agent's name as salt, to
a point in [0, 1): stable across processes and machines, and independent between agents. The
interval is cut into one segment per version, oldest version first, so the newest version owns the
top of it: when shares move towards newer versions, a key only ever moves to a newer version,
never back. Any number of versions can share traffic at once ("rainbow" deployments).

Versions missing from `agents` are loaded from `configs/<name>/<version>.yaml` (as `meta.export`
writes them), validated with `tools` and `model`, and recorded to telemetry (unless
`AGENTNB_TELEMETRY=off`). Every run records its agent's version, which is what `meta.compare`
reads; agents passed in `agents` record as they were built to.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec

from agentnb.config import AgentConfig
from agentnb.display import html as D
from agentnb.display.bundle import select
from agentnb.errors import UserError
from agentnb.meta.configfiles import load
from agentnb.meta.revision import semver_key

if TYPE_CHECKING:
    from agentnb.agents.agent import Agent
    from agentnb.models.base import Model
    from agentnb.runs.result import RunResult
    from agentnb.tools.tool import Tool

__all__ = ["Rollout", "bucket", "rollout"]

_SCALE = float(2**64)
P = ParamSpec("P")


def bucket(key: str | int, salt: str) -> float:
    """The key's stable point in [0, 1)."""
    digest = hashlib.sha256(f"{salt}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


class Rollout:
    """Traffic shares of an agent's versions; see the module doc."""

    def __init__(
        self,
        agent: str,
        shares: Mapping[str, float],
        *,
        agents: Sequence[Agent] | Mapping[str, Agent | AgentConfig] = (),
        configs: str | os.PathLike[str] = "configs",
        tools: Sequence[Tool[..., Any]] | None = None,
        model: Model | None = None,
        salt: str | None = None,
    ) -> None:
        self.agent = agent
        self.salt = salt if salt is not None else agent
        self.configs = configs
        self._tools = tools
        self._model = model
        self._given: dict[str, Agent | AgentConfig] = (
            dict(agents) if isinstance(agents, Mapping) else {a.version: a for a in agents}
        )
        self._agents: dict[str, Agent] = {}
        self.counts: Counter[str] = Counter()
        """Runs routed to each version through this rollout."""
        self.shares: dict[str, float] = {}
        self._bounds: list[tuple[float, str]] = []
        self.set_shares(shares)

    # --- shares ------------------------------------------------------------------------------
    def set_shares(self, shares: Mapping[str, float]) -> None:
        """Replace the shares (they must be ≥ 0 and add up to 1; a version may get 0)."""
        if not shares:
            raise UserError(f"rollout of {self.agent!r} needs at least one version and its share")
        bad = {v: s for v, s in shares.items() if not (s >= 0 and math.isfinite(s))}
        if bad:
            raise UserError(f"rollout shares must be numbers ≥ 0, got {bad}")
        total = sum(shares.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise UserError(
                f"rollout shares of {self.agent!r} add up to {total:g}, not 1: {dict(shares)}"
            )
        for version, agent in self._given.items():
            name = agent.name if isinstance(agent, AgentConfig) else agent.config.name
            if name != self.agent:
                raise UserError(f"the agent for version {version} is {name!r}, not {self.agent!r}")
        self.shares = {v: float(shares[v]) for v in sorted(shares, key=semver_key)}
        # Oldest version first: the newest owns the top of [0, 1) (see the module doc).
        bounds, edge = [], 0.0
        for version, share in self.shares.items():
            edge += share
            bounds.append((edge, version))
        self._bounds = bounds

    def ramp(self, version: str, share: float) -> None:
        """Give `version` this share; the others keep their proportions of the rest."""
        if not 0 <= share <= 1:
            raise UserError(f"a share is between 0 and 1, got {share}")
        others = {v: s for v, s in self.shares.items() if v != version}
        rest = sum(others.values())
        if rest == 0 and share < 1:
            raise UserError(f"no other version to give {1 - share:.0%} of the traffic to")
        new = {v: (s / rest) * (1 - share) for v, s in others.items()} if rest else {}
        new[version] = share
        self.set_shares(new)

    def choose(self, key: str | int) -> str:
        """The version serving `key`."""
        point = bucket(key, self.salt)
        for edge, version in self._bounds:
            if point < edge:
                return version
        return next(v for v in reversed(self.shares) if self.shares[v] > 0)

    # --- running -----------------------------------------------------------------------------
    def agent_for(self, version: str) -> Agent:
        """The runnable agent of `version` (validated on first use)."""
        found = self._agents.get(version)
        if found is not None:
            return found
        from agentnb.agents.agent import Agent

        given = self._given.get(version)
        if isinstance(given, Agent):
            agent = given
        else:
            if given is None:
                given = load(self.configs, self.agent, version)
            agent = given.validate(tools=self._tools, model=self._model)
        if agent.version != version:
            raise UserError(
                f"rollout of {self.agent!r}: the agent given for {version} is version "
                f"{agent.version}"
            )
        self._agents[version] = agent
        return agent

    async def run(self, prompt: str, *, key: str | int, **kwargs: Any) -> RunResult:
        """Run the version chosen for `key` (keyword arguments go to `Agent.run`)."""
        version = self.choose(key)
        self.counts[version] += 1
        return await self.agent_for(version).run(prompt, **kwargs)

    def run_sync(self, prompt: str, *, key: str | int, **kwargs: Any) -> RunResult:
        """`run` from sync code (scripts and notebooks)."""
        version = self.choose(key)
        self.counts[version] += 1
        return self.agent_for(version).run_sync(prompt, **kwargs)

    # --- display -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The split as JSON-ready data: agent, salt and shares (not the run counts)."""
        return {"agent": self.agent, "salt": self.salt, "shares": dict(self.shares)}

    def __repr__(self) -> str:
        shares = ", ".join(f"{v}: {s:.0%}" for v, s in self.shares.items())
        return f"Rollout({self.agent!r}, {{{shares}}})"

    def summary(self) -> str:
        """Plain text: the shares, then the runs each version got so far with their share."""
        lines = [repr(self)]
        if self.counts:
            total = sum(self.counts.values())
            lines += [
                f"  {v}: {self.counts[v]:,} runs ({self.counts[v] / total:.1%})"
                for v in self.shares
            ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colours = ("#6e7781", "#0969da", "#8250df", "#1a7f37", "#9a6700")
        bars = "".join(
            f'<div title="{D.esc(v)}" style="width:{s * 100:.3f}%;background:'
            f"{colours[i % len(colours)]};color:#fff;overflow:hidden;white-space:nowrap;"
            f'padding:2px 4px;box-sizing:border-box">{D.esc(v)} {s:.0%}</div>'
            for i, (v, s) in enumerate(self.shares.items())
            if s > 0
        )
        total = sum(self.counts.values())
        rows = [
            (
                D.esc(v),
                D.fmt(s, "share"),
                D.fmt(self.counts[v]),
                D.fmt(self.counts[v] / total, "share") if total else "–",
            )
            for v, s in self.shares.items()
        ]
        return D.wrap(
            f"<h4>rollout of {D.esc(self.agent)}</h4>"
            f'<div style="display:flex;width:100%;max-width:600px;font-size:11px">{bars}</div>'
            + D.table(["version", "share", "runs routed", "observed"], rows, numeric={1, 2, 3})
        )

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, Any]:
        return select({"text/plain": self.summary, "text/html": self._repr_html_}, include, exclude)


def _factory(cls: Callable[P, Rollout]) -> Callable[P, Rollout]:
    """A function making `cls`: `meta.rollout(...)` reads like the other loop steps, with the
    class's signature (one signature, not two kept in step)."""

    def rollout(*args: P.args, **kwargs: P.kwargs) -> Rollout:
        return cls(*args, **kwargs)

    rollout.__doc__ = "A `Rollout` of `agent`'s versions with these traffic `shares` (see it)."
    rollout.__wrapped__ = cls  # type: ignore[attr-defined]  # inspect.signature shows cls's
    return rollout


rollout = _factory(Rollout)
