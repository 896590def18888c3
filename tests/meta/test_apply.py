"""`meta.apply`: semver bump rules from the diff, the changelog entry, the checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from agentnb import AgentConfig, ConfigError
from agentnb.config import ComponentRef
from agentnb.errors import UserError
from agentnb.meta import (
    AddGuard,
    PatchError,
    Proposal,
    RemoveTool,
    Revision,
    SetGuardParams,
    SetInstructions,
    SetSetting,
    SetToolDescription,
    apply,
    bump_level,
    bump_version,
)
from tests.meta.conftest import support_config


def edit(**changes: Any) -> tuple[AgentConfig, AgentConfig]:
    old = support_config()
    return old, AgentConfig.model_validate({**old.to_dict(), **changes})


@pytest.mark.parametrize(
    ("changes", "level", "reason"),
    [
        ({"tools": ["lookup_order", "refund"]}, "major", "tool search_faq removed"),
        ({"output_type": "str"}, "major", "output type changed"),
        (
            {"tools": ["lookup_order", "refund", "search_faq", "cancel"]},
            "minor",
            "tool cancel added",
        ),
        ({"guards": [{"name": "pii"}]}, "minor", "guard budget removed"),
        ({"monitors": [{"name": "tool_errors"}]}, "minor", "monitor tool_errors added"),
        ({"model": "openai:gpt-4.1"}, "minor", "model openai:gpt-4.1-mini → openai:gpt-4.1"),
        (
            {"settings": {"max_steps": 8, "resilience": {"fallback": ["offline"]}}},
            "minor",
            "settings.resilience.fallback: [] → ['offline']",
        ),
        (
            {"tools": ["lookup_order", {"name": "refund", "description": "Refund."}, "search_faq"]},
            "patch",
            "tool refund described anew",
        ),
        ({"instructions": "Be brief."}, "patch", "instructions rewritten"),
        ({"settings": {"max_steps": 12}}, "patch", "settings.max_steps: 8 → 12"),
        (
            {"settings": {"max_steps": 8, "resilience": {"request_timeout": 10}}},
            "patch",
            "settings.resilience.request_timeout: 120.0 → 10.0",
        ),
    ],
)
def test_bump_level_follows_the_kind_of_change(
    changes: dict[str, Any], level: str, reason: str
) -> None:
    old, new = edit(**changes)
    found, reasons = bump_level(old, new)
    assert found == level
    assert (level, reason) in reasons


def test_tuning_a_guard_is_a_patch_and_the_biggest_change_wins() -> None:
    old = support_config()
    tuned = SetGuardParams(guard="refund_limit", params={"rules": {"amount": {"max": 150}}})
    assert bump_level(old, tuned.apply(old)) == ("patch", [("patch", "guard refund_limit tuned")])
    both = RemoveTool(tool="search_faq").apply(tuned.apply(old))
    assert bump_level(old, both)[0] == "major"
    assert bump_level(old, old) == (None, [])


@pytest.mark.parametrize(
    ("version", "level", "bumped"),
    [
        ("1.2.0", "patch", "1.2.1"),
        ("1.2.9", "minor", "1.3.0"),
        ("1.2.3", "major", "2.0.0"),
        ("0.1.0", "major", "1.0.0"),
        ("1.3.0-rc.1+build.5", "patch", "1.3.1"),
    ],
)
def test_bump_version(version: str, level: Any, bumped: str) -> None:
    assert bump_version(version, level) == bumped


def test_bump_version_needs_a_semantic_version() -> None:
    with pytest.raises(UserError, match=r"'v2' is not MAJOR\.MINOR\.PATCH"):
        bump_version("v2", "patch")


def proposal(*changes: Any, title: str = "Say the format") -> Proposal:
    return Proposal(
        kind="tool_description",
        title=title,
        rationale="30% of calls were rejected",
        changes=list(changes),
        evidence=["a" * 32, "b" * 32],
        evidence_count=120,
        finding="invalid_arguments:lookup_order",
        expected="fewer rejected calls",
    )


def test_apply_makes_a_new_version_with_its_changelog_and_diff() -> None:
    old = support_config()
    describe = SetToolDescription(tool="lookup_order", description="Look up an order by its id.")
    new = apply(old, [proposal(describe)], date=dt.date(2025, 3, 10))

    assert isinstance(new, Revision)
    assert new.version == "1.2.1"
    assert new.tools[0].description == "Look up an order by its id."
    assert new.to_yaml() == new.plain().to_yaml()
    assert new.hash == new.plain().hash != old.hash
    assert AgentConfig.from_yaml(new.to_yaml()) == new.plain()
    assert new.base == old
    assert new.diff().splitlines()[:2] == ["--- support.yaml (1.2.0)", "+++ support.yaml (1.2.1)"]
    assert new.changelog is not None
    assert new.changelog.markdown() == (
        "## 1.2.1 — 2025-03-10\n\n"
        "Patch release after 1.2.0: tool lookup_order described anew.\n\n"
        "- **Say the format**\n"
        "  - why: 30% of calls were rejected\n"
        "  - change: describe tool lookup_order anew\n"
        "  - expect: fewer rejected calls\n"
        f"  - evidence: runs `{'a' * 32}`, `{'b' * 32}` and 118 more\n"
    )
    assert "1.2.0 → 1.2.1" in new._repr_mimebundle_()["text/html"]


def test_apply_takes_raw_changes_and_an_explicit_version() -> None:
    guard = ComponentRef(name="budget", params={"max_tokens": 20000, "name": "tokens"})
    new = apply(support_config(), [AddGuard(guard=guard)], version="1.5.0")
    assert new.version == "1.5.0"
    assert new.changelog is not None
    assert new.changelog.bump == "minor"


def test_apply_refuses_changes_that_do_not_fit() -> None:
    config = support_config()
    with pytest.raises(PatchError, match=r"has no tool 'cancel' \(tools: lookup_order, refund"):
        apply(config, [RemoveTool(tool="cancel")])
    with pytest.raises(PatchError, match="did you mean 'max_steps'"):
        apply(config, [SetSetting(path="max_step", value=3)])
    with pytest.raises(PatchError, match="already has a guard named 'refund_limit'"):
        apply(config, [AddGuard(guard=ComponentRef(name="pii", params={"name": "refund_limit"}))])
    with pytest.raises(UserError, match=r"change nothing in support 1\.2\.0"):
        apply(config, [SetInstructions(instructions=config.instructions)])


def test_apply_checks_the_result_like_validate() -> None:
    with pytest.raises(ConfigError) as caught:
        apply(
            support_config(),
            [
                SetSetting(path="max_steps", value=0),
                SetSetting(path="resilience.retries", value=-1),
            ],
        )
    assert [p.path for p in caught.value.problems] == [
        "settings.max_steps",
        "settings.resilience.retries",
    ]
    bad_guard = AddGuard(guard=ComponentRef(name="budget", params={"name": "b2"}))
    with pytest.raises(ConfigError, match="budget needs at least one of"):
        apply(support_config(), [bad_guard])
