"""`meta.export`: one YAML file per version, a CHANGELOG entry, an optional git commit."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from agentnb import AgentConfig
from agentnb.errors import UserError
from agentnb.meta import Proposal, SetToolDescription, apply, export, load, versions
from tests.meta.conftest import support_config


def release() -> AgentConfig:
    change = SetToolDescription(tool="lookup_order", description="Ids look like ORD-123456.")
    proposal = Proposal(
        kind="tool_description",
        title="Say the id format",
        rationale="34% of calls rejected",
        changes=[change],
        evidence=["c" * 32],
        evidence_count=1,
    )
    return apply(support_config(), [proposal], date=dt.date(2025, 3, 10))


def test_export_writes_the_version_file_and_the_changelog(tmp_path: Path) -> None:
    base, new = support_config(), release()
    first = export(base, tmp_path / "configs")
    second = export(new, tmp_path / "configs")

    assert first.config == tmp_path / "configs" / "support" / "1.2.0.yaml"
    assert second.config.read_text().startswith(
        "# support 1.2.1 (from 1.2.0, see CHANGELOG.md)\nschema_version: 1\n"
    )
    assert load(tmp_path / "configs", "support", "1.2.1") == AgentConfig.from_yaml(new.to_yaml())
    assert versions(tmp_path / "configs", "support") == ["1.2.0", "1.2.1"]
    changelog = second.changelog.read_text()
    assert changelog.startswith("# support: changelog\n\nEvery version of agent `support`")
    # Newest first, one entry per version.
    assert changelog.index("## 1.2.1 — 2025-03-10") < changelog.index("## 1.2.0 — ")
    assert "- **Say the id format**\n  - why: 34% of calls rejected\n" in changelog


def test_versions_are_immutable_and_export_is_idempotent(tmp_path: Path) -> None:
    new = release()
    export(new, tmp_path)
    again = export(new, tmp_path)
    assert not again.written
    assert again.changelog.read_text().count("## 1.2.1 ") == 1
    other = AgentConfig.model_validate({**new.to_dict(), "instructions": "Something else."})
    with pytest.raises(
        UserError, match=r"already holds another support 1\.2\.1: versions are immutable"
    ):
        export(other, tmp_path)


def test_load_names_the_versions_there_are(tmp_path: Path) -> None:
    export(support_config(), tmp_path)
    with pytest.raises(UserError, match=r"export support 2.0.0 first \(exported versions: 1.2.0\)"):
        load(tmp_path, "support", "2.0.0")


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_export_commits_the_files_with_the_changelog_as_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "GIT_AUTHOR_NAME": "meta",
        "GIT_AUTHOR_EMAIL": "meta@example.com",
        "GIT_COMMITTER_NAME": "meta",
        "GIT_COMMITTER_EMAIL": "meta@example.com",
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
    }.items():
        monkeypatch.setenv(key, value)
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "unrelated.txt").write_text("staged, not ours\n")
    subprocess.run(["git", "-C", str(repo), "add", "unrelated.txt"], check=True)

    done = export(release(), repo / "configs", commit=True)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
        ).stdout

    assert done.commit == git("rev-parse", "HEAD").strip()
    assert git("show", "--name-only", "--format=%s", "HEAD").split() == [
        "support",
        "1.2.1",
        "configs/support/1.2.1.yaml",
        "configs/support/CHANGELOG.md",
    ]
    body = git("log", "-1", "--format=%b")
    assert body.startswith("Patch release after 1.2.0: tool lookup_order described anew.")
    assert git("diff", "--cached", "--name-only").split() == ["unrelated.txt"]  # still staged
    assert export(release(), repo / "configs", commit=True).commit is None  # nothing new


def test_export_outside_a_repository_says_so(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("needs git")
    with pytest.raises(UserError, match="git rev-parse --show-toplevel failed"):
        export(release(), tmp_path / "configs", commit=True)
