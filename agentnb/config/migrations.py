"""Config file migrations: numbered, append-only upgrades of `schema_version`, and deprecations.

A config file says which format it is written in (`schema_version`); `load_config_yaml` passes its
data through `migrate` before validation, so a file of any older version loads into the newest
`AgentConfig`. Two kinds of entries, both append-only (never edit or remove one that shipped):

- `Migration(to=n, ...)` upgrades the data of a version n-1 file to version n. Bumping
  `CURRENT_SCHEMA_VERSION` (below) to n comes with exactly one such entry.
- `Deprecation(path, ...)` marks a field that still loads, with a `ConfigDeprecationWarning`
  naming its replacement, and moves its value there. A later migration removes it for good.

```python
MIGRATIONS.append(Migration(
    to=2,
    summary="settings.timeout is now settings.run_timeout",
    upgrade=lambda data: move(data, "settings.timeout", "settings.run_timeout"),
))
```

Schema 1 is the first version of the format, so there is no migration yet.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "DEPRECATIONS",
    "MIGRATIONS",
    "ConfigDeprecationWarning",
    "Deprecation",
    "Migration",
    "migrate",
    "move",
]

Data = dict[str, Any]

CURRENT_SCHEMA_VERSION = 1
"""The config file format this agentnb writes and reads (older files are migrated up)."""


class ConfigDeprecationWarning(FutureWarning):
    """A config file uses a deprecated field (FutureWarning: shown to users by default)."""


@dataclass(frozen=True)
class Migration:
    """Upgrades config data from schema version `to - 1` to `to`."""

    to: int
    summary: str
    upgrade: Callable[[Data], Data]
    """Gets a deep copy of the data; returns the upgraded data (`schema_version` is set after)."""


@dataclass(frozen=True)
class Deprecation:
    """A field that still loads, with a warning, and moves to `replacement` (None: dropped)."""

    path: str
    """Dotted path of the field: `settings.timeout`."""
    since: int
    """The schema version that deprecated it."""
    replacement: str | None = None
    note: str = ""


MIGRATIONS: list[Migration] = []
"""Every migration ever shipped, in order of `to` (append-only)."""

DEPRECATIONS: list[Deprecation] = []
"""Fields that still load with a warning (append-only)."""


def _parent(data: Data, path: str, *, create: bool) -> tuple[Data | None, str]:
    *parents, leaf = path.split(".")
    node: Any = data
    for part in parents:
        if not isinstance(node, dict):
            return None, leaf
        if part not in node and create:
            node[part] = {}
        node = node.get(part)
    return (node if isinstance(node, dict) else None), leaf


def move(data: Data, old: str, new: str | None) -> Data:
    """Move the value at dotted path `old` to `new` (drop it when `new` is None).

    A value already at `new` wins: the file set both, and the new field is the one it meant.
    """
    parent, leaf = _parent(data, old, create=False)
    if parent is None or leaf not in parent:
        return data
    value = parent.pop(leaf)
    if new is not None:
        target, key = _parent(data, new, create=True)
        if target is not None:
            target.setdefault(key, value)
    return data


def _chain(version: int) -> list[Migration] | None:
    """The migrations from `version` to the current one, or None if one is missing."""
    by_target = {m.to: m for m in MIGRATIONS}
    steps = []
    # Stops at the first gap: a file claiming `schema_version: -10**12` must not build a
    # trillion-step list before being told that no migration reaches it.
    for n in range(version + 1, CURRENT_SCHEMA_VERSION + 1):
        step = by_target.get(n)
        if step is None:
            return None
        steps.append(step)
    return steps


def migrate(data: Data, *, source: str = "<config>") -> Data:
    """`data` (a parsed config file) upgraded to `CURRENT_SCHEMA_VERSION`, deprecations applied.

    Data the migrations cannot reach the current version from (a newer file, a version no
    migration covers, a `schema_version` that is not a number) is returned as it is:
    `AgentConfig.validate()` then reports its `schema_version` with the fix.
    """
    version = data.get("schema_version", CURRENT_SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int):
        return data
    if version < CURRENT_SCHEMA_VERSION:
        chain = _chain(version)
        if chain is None:
            return data
        for step in chain:
            data = step.upgrade(copy.deepcopy(data))
            data["schema_version"] = step.to
    for d in DEPRECATIONS:
        parent, leaf = _parent(data, d.path, create=False)
        if parent is None or leaf not in parent:
            continue
        instead = f"write {d.replacement} instead" if d.replacement else "remove it"
        note = f" ({d.note})" if d.note else ""
        warnings.warn(
            f"{source}: {d.path} is deprecated since schema_version {d.since}{note}; {instead}",
            ConfigDeprecationWarning,
            stacklevel=3,
        )
        data = move(copy.deepcopy(data), d.path, d.replacement)
    return data
