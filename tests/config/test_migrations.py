"""Config migrations: an older file loads into the newest schema; deprecated fields warn.

Schema 1 is the first shipped format, so the older version here is hypothetical: a schema 0 that
kept `max_steps` and `temperature` at the top level. The test registers the migration a real
schema bump would ship (append-only, numbered) and loads the fixture file written in that format.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agentnb import AgentConfig, ConfigError
from agentnb.config import CURRENT_SCHEMA_VERSION, load_config_yaml
from agentnb.config import migrations as M
from agentnb.meta.revision import check

OLD_FILE = Path(__file__).parent / "fixtures" / "support-schema0.yaml"

SETTINGS_MOVED = M.Migration(
    to=1,
    summary="max_steps and temperature moved under settings",
    upgrade=lambda data: M.move(
        M.move(data, "max_steps", "settings.max_steps"), "temperature", "settings.temperature"
    ),
)


def test_an_old_file_does_not_load_without_its_migration() -> None:
    with pytest.raises(ConfigError, match=r"max_steps .*Extra inputs are not permitted"):
        load_config_yaml(OLD_FILE.read_text(), source=str(OLD_FILE))


def test_an_old_file_loads_into_the_newest_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(M, "MIGRATIONS", [SETTINGS_MOVED])

    config = AgentConfig.from_yaml(OLD_FILE.read_text(), source=str(OLD_FILE))

    assert config.schema_version == CURRENT_SCHEMA_VERSION
    assert (config.settings.max_steps, config.settings.temperature) == (6, 0.3)
    assert config.tools[1].description == "Refund an order (at most 100 USD)."
    assert "max_steps" not in config.to_dict()  # written back in the newest format
    assert config.to_dict()["settings"]["max_steps"] == 6
    check(config)  # validates as the newest schema


def test_migrations_leave_what_they_cannot_upgrade_to_validation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(M, "MIGRATIONS", [SETTINGS_MOVED])
    newer = {"schema_version": CURRENT_SCHEMA_VERSION + 1, "name": "support"}
    assert M.migrate(dict(newer)) == newer  # validate() says: upgrade agentnb
    ancient = {"schema_version": -1, "name": "support"}
    assert M.migrate(dict(ancient)) == ancient  # no migration from -1: validate() says so
    assert M.migrate({"name": "support"}) == {"name": "support"}  # no version: the current one


def test_move_keeps_a_value_already_at_the_new_place() -> None:
    data = {"max_steps": 6, "settings": {"max_steps": 9}}
    assert M.move(data, "max_steps", "settings.max_steps") == {"settings": {"max_steps": 9}}
    assert M.move({"a": {"b": 1}}, "a.b", None) == {"a": {}}
    assert M.move({"a": 1}, "x.y", "z") == {"a": 1}


def test_a_deprecated_field_loads_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        M,
        "DEPRECATIONS",
        [
            M.Deprecation(
                "settings.steps", since=1, replacement="settings.max_steps", note="renamed"
            )
        ],
    )
    text = "name: support\nsettings:\n  steps: 4\n"
    with pytest.warns(
        M.ConfigDeprecationWarning,
        match=r"support.yaml: settings.steps is deprecated since schema_version 1 \(renamed\); "
        r"write settings.max_steps instead",
    ):
        config = load_config_yaml(text, source="support.yaml")
    assert config.settings.max_steps == 4
