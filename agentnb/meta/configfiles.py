"""`export`: a config version as `configs/<name>/<version>.yaml`, its CHANGELOG entry, a commit.

```python
meta.export(new_cfg, "configs/")                 # configs/support/1.3.0.yaml + CHANGELOG.md
meta.export(new_cfg, "configs/", commit=True)    # … and a git commit of those two files
meta.load("configs/", "support", "1.2.0")        # an exported version back (migrated if old)
```

Versions are immutable: exporting a version whose file exists with other content is refused
(bump the version instead), exporting the same content again changes nothing, so a notebook
cell can be re-run. CHANGELOG.md holds one entry per version, newest first. The commit holds only
the exported files (whatever else is staged stays staged) and its message is the changelog entry.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from agentnb.config import AgentConfig
from agentnb.errors import UserError
from agentnb.meta.revision import Revision, semver_key

__all__ = ["Exported", "export", "load", "versions"]

_HEADER = "# {name}: changelog\n\nEvery version of agent `{name}`, newest first.\n"


@dataclass(frozen=True)
class Exported:
    """Where `export` wrote, and the commit it made (if asked)."""

    config: Path
    changelog: Path
    commit: str | None = None
    written: bool = True
    """False when the file already held exactly this version (nothing was written)."""

    def __repr__(self) -> str:
        commit = f", commit={self.commit[:10]!r}" if self.commit else ""
        return f"Exported({str(self.config)!r}{commit})"


def _yaml(config: AgentConfig) -> str:
    previous = (
        config.changelog.previous if isinstance(config, Revision) and config.changelog else None
    )
    origin = f" (from {previous}, see CHANGELOG.md)" if previous else ""
    return f"# {config.name} {config.version}{origin}\n{config.to_yaml()}"


def _entry(config: AgentConfig) -> str:
    if isinstance(config, Revision) and config.changelog is not None:
        return config.changelog.markdown()
    return f"## {config.version} — {dt.date.today().isoformat()}\n\nExported as is.\n"


def _add_entry(path: Path, name: str, version: str, entry: str) -> bool:
    """Insert `entry` after the header, unless this version has one already."""
    text = path.read_text(encoding="utf-8") if path.exists() else _HEADER.format(name=name)
    if any(line.startswith(f"## {version} ") for line in text.splitlines()):
        return False
    head, sep, rest = text.partition("\n## ")
    body = f"{head.rstrip()}\n\n{entry.rstrip()}\n"
    if sep:
        body += f"\n## {rest}"
    path.write_text(body, encoding="utf-8")
    return True


def export(
    config: AgentConfig,
    directory: str | os.PathLike[str] = "configs",
    *,
    commit: bool = False,
    message: str | None = None,
) -> Exported:
    """Write `config` to `<directory>/<name>/<version>.yaml` and its CHANGELOG.md entry.

    With `commit=True`, commit those two files in the git repository holding `directory`, with
    the changelog entry (or `message`) as the commit message.
    """
    folder = Path(directory) / config.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{config.version}.yaml"
    changelog = folder / "CHANGELOG.md"
    text = _yaml(config)
    written = True
    if path.exists():
        if path.read_text(encoding="utf-8") != text:
            raise UserError(
                f"{path} already holds another {config.name} {config.version}: versions are "
                "immutable, bump the version (meta.apply does) or delete the file"
            )
        written = False
    else:
        path.write_text(text, encoding="utf-8")
    entry = _entry(config)
    added = _add_entry(changelog, config.name, config.version, entry)
    sha = None
    if commit and (written or added):
        sha = _commit([path, changelog], message or _message(config, entry))
    return Exported(path, changelog, sha, written)


def _message(config: AgentConfig, entry: str) -> str:
    body = entry.split("\n", 1)[1].strip() if "\n" in entry else ""
    return f"{config.name} {config.version}\n\n{body}\n"


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
        )
    except FileNotFoundError:
        raise UserError("export(commit=True) needs git on the PATH") from None
    except subprocess.CalledProcessError as exc:
        raise UserError(f"git {' '.join(args[:2])} failed in {cwd}: {exc.stderr.strip()}") from None
    return done.stdout.strip()


def _commit(paths: list[Path], message: str) -> str:
    cwd = paths[0].parent.resolve()
    root = Path(_git(cwd, "rev-parse", "--show-toplevel"))
    files = [str(p.resolve().relative_to(root)) for p in paths]
    _git(root, "add", "--", *files)
    # Paths after `--` with --only: exactly these files, whatever else is staged.
    _git(root, "commit", "--quiet", "--only", "-m", message, "--", *files)
    return _git(root, "rev-parse", "HEAD")


def versions(directory: str | os.PathLike[str], name: str) -> list[str]:
    """The exported versions of agent `name`, oldest first."""
    folder = Path(directory) / name
    found = [p.stem for p in folder.glob("*.yaml")] if folder.is_dir() else []
    return sorted(found, key=semver_key)


def load(directory: str | os.PathLike[str], name: str, version: str) -> AgentConfig:
    """An exported version, read back (files of older schema versions are migrated)."""
    path = Path(directory) / name / f"{version}.yaml"
    if not path.exists():
        have = ", ".join(versions(directory, name)) or "none"
        raise UserError(f"no {path}: export {name} {version} first (exported versions: {have})")
    return AgentConfig.from_yaml(path.read_text(encoding="utf-8"), source=str(path))
