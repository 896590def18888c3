"""The meta layer: telemetry → findings → proposals → new config versions → rollout → comparison.

The MAPE-K loop over an agent's own telemetry, each step a plain function with a rich display:

```python
from agentnb import meta, telemetry

report = meta.analyze(telemetry.open(), agent="support")        # Monitor + Analyze: findings
proposals = meta.propose(report)                                 # Plan: typed, evidenced patches
proposals.unanswered                                             # findings no change answers: why
new_cfg = meta.apply(support.config, proposals[:2])              # Execute: semver bump, changelog
meta.export(new_cfg, "configs/")                                 # configs/support/1.2.1.yaml
rollout = meta.rollout("support", {"1.2.0": 0.9, "1.2.1": 0.1}, agents=[support, new_agent])
rollout.run_sync("Where is my order?", key=user_id)              # sticky per key
meta.compare(telemetry.open(), "support", "1.2.0", "1.2.1")      # with 95% intervals
```

Importing `agentnb.meta` is cheap: numpy, pandas, pyarrow and LanceDB load when a function runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentnb.meta._data import Thresholds
    from agentnb.meta.analysis import analyze
    from agentnb.meta.comparison import Comparison, compare
    from agentnb.meta.configfiles import Exported, export, load, versions
    from agentnb.meta.llm_planner import ModelPlanner
    from agentnb.meta.planning import RulePlanner, propose
    from agentnb.meta.proposals import (
        AddGuard,
        PatchError,
        Proposal,
        Proposals,
        RemoveTool,
        SetGuardParams,
        SetInstructions,
        SetSetting,
        SetToolDescription,
        Unanswered,
    )
    from agentnb.meta.report import Finding, Measure, Report
    from agentnb.meta.revision import ChangelogEntry, Revision, apply, bump_level, bump_version
    from agentnb.meta.rollouts import Rollout, rollout

__all__ = [
    "AddGuard",
    "ChangelogEntry",
    "Comparison",
    "Exported",
    "Finding",
    "Measure",
    "ModelPlanner",
    "PatchError",
    "Proposal",
    "Proposals",
    "RemoveTool",
    "Report",
    "Revision",
    "Rollout",
    "RulePlanner",
    "SetGuardParams",
    "SetInstructions",
    "SetSetting",
    "SetToolDescription",
    "Thresholds",
    "Unanswered",
    "analyze",
    "apply",
    "bump_level",
    "bump_version",
    "compare",
    "export",
    "load",
    "propose",
    "rollout",
    "versions",
]

_WHERE = {
    "Thresholds": "agentnb.meta._data",
    "analyze": "agentnb.meta.analysis",
    "ChangelogEntry": "agentnb.meta.revision",
    "Revision": "agentnb.meta.revision",
    "apply": "agentnb.meta.revision",
    "bump_level": "agentnb.meta.revision",
    "bump_version": "agentnb.meta.revision",
    "Comparison": "agentnb.meta.comparison",
    "compare": "agentnb.meta.comparison",
    "Exported": "agentnb.meta.configfiles",
    "export": "agentnb.meta.configfiles",
    "load": "agentnb.meta.configfiles",
    "versions": "agentnb.meta.configfiles",
    "ModelPlanner": "agentnb.meta.llm_planner",
    "AddGuard": "agentnb.meta.proposals",
    "PatchError": "agentnb.meta.proposals",
    "Proposal": "agentnb.meta.proposals",
    "RemoveTool": "agentnb.meta.proposals",
    "SetGuardParams": "agentnb.meta.proposals",
    "SetInstructions": "agentnb.meta.proposals",
    "SetSetting": "agentnb.meta.proposals",
    "SetToolDescription": "agentnb.meta.proposals",
    "Unanswered": "agentnb.meta.proposals",
    "Proposals": "agentnb.meta.proposals",
    "RulePlanner": "agentnb.meta.planning",
    "propose": "agentnb.meta.planning",
    "Finding": "agentnb.meta.report",
    "Measure": "agentnb.meta.report",
    "Report": "agentnb.meta.report",
    "Rollout": "agentnb.meta.rollouts",
    "rollout": "agentnb.meta.rollouts",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'agentnb.meta' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
