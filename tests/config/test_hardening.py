"""Hostile config text: only `ConfigError`s come out, each naming the problem, and none hangs."""

from __future__ import annotations

import json
import math
import threading
import typing
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from agentnb import Agent, AgentConfig, ConfigError
from agentnb.config import ResilienceSettings, Settings, load_config_yaml
from agentnb.config.io import MAX_ALIAS_EXPANSION, MAX_DEPTH
from agentnb.errors import ConfigProblem

HANG_GUARD = 60.0
"""Seconds after which a parse counts as hung (it takes milliseconds; this is no time limit)."""


def _raises_config_error(parse: Callable[[], object]) -> ConfigError:
    """The `ConfigError` that `parse` raises, on a thread: a hang fails instead of blocking."""
    outcome: list[BaseException | object] = []
    worker = threading.Thread(target=lambda: outcome.append(_outcome(parse)), daemon=True)
    worker.start()
    worker.join(HANG_GUARD)
    assert outcome, f"still parsing after {HANG_GUARD:.0f} s"
    error = outcome[0]
    assert isinstance(error, ConfigError), f"expected a ConfigError, got {error!r}"
    return error


def _outcome(parse: Callable[[], object]) -> BaseException | object:
    try:
        return parse()
    except BaseException as exc:  # handed to the test thread, which asserts on its type
        return exc


def _laughs(levels: int) -> str:
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "name: fx\noutput_type:\n" + "".join(f"  {line}\n" for line in lines)


@pytest.mark.parametrize("levels", [8, 12])
def test_a_billion_laughs_config_is_refused(levels: int) -> None:
    error = _raises_config_error(lambda: load_config_yaml(_laughs(levels), source="laughs.yaml"))
    assert error.name == "laughs.yaml"
    [problem] = error.problems
    assert problem.path == "<root>"
    assert problem.message.startswith("YAML aliases expand this document by ")
    assert problem.message.endswith(
        f"values (more than {MAX_ALIAS_EXPANSION:,}: a 'billion laughs' document)"
    )
    assert problem.fix == "write the repeated parts out, or reuse fewer of them through aliases"


def test_a_few_aliases_still_load() -> None:
    text = "name: fx\nguards:\n  - {name: a, params: &p {tools: [x], limit: 3}}\n"
    text += "  - {name: b, params: *p}\n"
    config = AgentConfig.from_yaml(text)
    assert config.guards[0].params == config.guards[1].params == {"tools": ["x"], "limit": 3}


def test_merge_keys_that_double_each_level_are_refused() -> None:
    lines = ["m0: &m0 {k0: 1}"]
    for i in range(1, 30):
        lines.append(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: 1}}")
    text = "name: fx\noutput_type:\n" + "".join(f"  {line}\n" for line in lines)
    error = _raises_config_error(lambda: AgentConfig.from_yaml(text))
    assert error.problems[0].message.startswith("YAML aliases expand this document by ")


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    error = _raises_config_error(
        lambda: AgentConfig.from_yaml("name: fx\noutput_type: &loop\n  again: *loop\n")
    )
    assert error.problems == [
        ConfigProblem(
            "line 3",
            "a YAML alias refers to the mapping or list that contains it "
            "(a document that never ends)",
            "write the value out instead of the alias",
        )
    ]


_TOO_DEEP_FIX = "flatten it: a config needs a few levels (a JSON Schema output maybe 20)"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 100_000])
def test_deep_nesting_is_a_config_error(depth: int) -> None:
    yaml_text = "name: fx\noutput_type: " + "[" * depth + "]" * depth + "\n"
    json_text = '{"name": "fx", "output_type": ' + "[" * depth + "]" * depth + "}"
    error = _raises_config_error(lambda: AgentConfig.from_yaml(yaml_text))
    assert error.problems == [
        ConfigProblem(
            f"line 2, column {len('output_type: ') + MAX_DEPTH + 1}",  # the first `[` too many
            f"the YAML nests mappings and lists more than {MAX_DEPTH} levels deep",
            _TOO_DEEP_FIX,
        )
    ]
    error = _raises_config_error(lambda: AgentConfig.from_json(json_text))
    assert error.problems == [
        ConfigProblem(
            "<root>",
            f"the JSON nests mappings and lists more than {MAX_DEPTH} levels deep",
            _TOO_DEEP_FIX,
        )
    ]


def test_block_nesting_and_aliases_count_too() -> None:
    block = "name: fx\noutput_type:\n" + "".join(
        f"{'  ' * (i + 1)}k{i}:\n" for i in range(MAX_DEPTH + 5)
    )
    error = _raises_config_error(lambda: AgentConfig.from_yaml(block))
    assert error.problems[0].path == f"line {MAX_DEPTH + 1}, column {2 * MAX_DEPTH - 1}"
    half = "[" * 60 + "]" * 60
    aliased = f"name: fx\nmodel: &deep {half}\noutput_type: {'[' * 50}*deep{']' * 50}\n"
    error = _raises_config_error(lambda: AgentConfig.from_yaml(aliased))
    assert error.problems[0].message.startswith("the YAML nests mappings and lists more than")


def test_nesting_up_to_the_bound_loads() -> None:
    depth = MAX_DEPTH - 2  # the document and output_type's mapping are two levels
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth - 1):
        schema = {"type": "array", "items": schema}
    config = AgentConfig(name="fx", output_type=schema)
    assert AgentConfig.from_json(config.to_json()) == config
    assert AgentConfig.from_yaml(config.to_yaml()) == config


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '{"name": "fx",}',
            ConfigProblem(
                "line 1, column 15",
                "invalid JSON: Expecting property name enclosed in double quotes",
                "fix the JSON syntax there",
            ),
        ),
        (
            '{\n  "name": "fx"\n  "model": "offline"\n}',
            ConfigProblem(
                "line 3, column 3",
                "invalid JSON: Expecting ',' delimiter",
                "fix the JSON syntax there",
            ),
        ),
        (
            "",
            ConfigProblem(
                "line 1, column 1", "invalid JSON: Expecting value", "fix the JSON syntax there"
            ),
        ),
    ],
)
def test_bad_json_names_line_and_column(text: str, problem: ConfigProblem) -> None:
    with pytest.raises(ConfigError) as info:
        AgentConfig.from_json(text)
    assert info.value.problems == [problem]
    assert str(info.value) == f"Agent config '<json>' has 1 problem:\n  - {problem}"


def test_json_errors_name_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        AgentConfig.from_json('{"name": "fx", "settings": {"max_steps": "lots"}}')
    assert info.value.problems == [
        ConfigProblem(
            "settings.max_steps",
            "Input should be a valid integer, unable to parse string as an integer",
            "got 'lots'",
        )
    ]


def test_values_yaml_cannot_read_are_config_errors() -> None:
    with pytest.raises(ConfigError) as info:
        AgentConfig.from_yaml("name: fx\nversion: 2024-13-45\n")
    assert info.value.problems == [
        ConfigProblem(
            "line 2, column 10",
            "a value cannot be read: month must be in 1..12",
            "quote it as a string",
        )
    ]
    with pytest.raises(ConfigError) as info:
        AgentConfig.from_yaml("name: fx\nsettings:\n  max_steps: " + "9" * 5000 + "\n")
    [problem] = info.value.problems
    assert problem.path == "line 3, column 14"
    assert problem.message.startswith("a value cannot be read: Exceeds the limit (4300 digits)")


def test_a_far_away_schema_version_is_reported_not_walked() -> None:
    config = _raises_nothing(
        lambda: AgentConfig.from_yaml("name: fx\nschema_version: -1000000000000\n")
    )
    assert isinstance(config, AgentConfig)
    with pytest.raises(ConfigError) as info:
        config.validate()
    assert info.value.problems == [
        ConfigProblem(
            "schema_version",
            "-1000000000000 is not supported",
            "this agentnb reads schema_version 1; upgrade agentnb or the file",
        )
    ]


def _raises_nothing(parse: Callable[[], object]) -> object:
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(_outcome(parse)), daemon=True)
    worker.start()
    worker.join(HANG_GUARD)
    assert outcome, f"still parsing after {HANG_GUARD:.0f} s"
    assert not isinstance(outcome[0], BaseException), outcome[0]
    return outcome[0]


# --- random text: a ConfigError or a config, never anything else ------------------------------

_STRUCTURE = st.text(alphabet="{}[]:,\"'&*!<>-|?#%@`\\ \n\tnamefx0123456789.eE+", max_size=80)


def _parses_or_config_error(parse: Callable[[str], AgentConfig], text: str) -> None:
    outcome = _outcome(lambda: parse(text))
    if isinstance(outcome, ConfigError):
        assert outcome.problems, "a ConfigError lists its problems"
        assert all(p.path and p.message for p in outcome.problems)
    else:
        assert isinstance(outcome, AgentConfig), f"raised {outcome!r}"


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=200), _STRUCTURE))
def test_random_text_from_json_raises_only_config_errors(text: str) -> None:
    _parses_or_config_error(AgentConfig.from_json, text)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=200), _STRUCTURE))
def test_random_text_from_yaml_raises_only_config_errors(text: str) -> None:
    _parses_or_config_error(AgentConfig.from_yaml, text)


@settings(max_examples=150, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=12,
    ),
    field=st.sampled_from(["name", "settings", "tools", "guards", "output_type", "schema_version"]),
)
def test_random_json_documents_raise_only_config_errors(value: object, field: str) -> None:
    text = json.dumps({"name": "fx", field: value})  # NaN and Infinity included
    _parses_or_config_error(AgentConfig.from_json, text)
    _parses_or_config_error(AgentConfig.from_yaml, text)  # JSON is YAML too


# --- settings: finite numbers only -------------------------------------------------------------


def _float_fields(model: type[BaseModel]) -> list[str]:
    return [
        name
        for name, field in model.model_fields.items()
        if field.annotation is float or float in typing.get_args(field.annotation)
    ]


FLOAT_SETTINGS = [f"settings.{name}" for name in _float_fields(Settings)] + [
    f"settings.resilience.{name}" for name in _float_fields(ResilienceSettings)
]


def test_every_float_setting_is_checked() -> None:
    assert set(FLOAT_SETTINGS) >= {
        "settings.timeout",
        "settings.temperature",
        "settings.resilience.request_timeout",
        "settings.resilience.backoff",
        "settings.resilience.max_backoff",
        "settings.resilience.breaker_reset",
    }


def _nested(path: str, value: object) -> dict[str, Any]:
    data: Any = value
    for part in reversed(path.split(".")):
        data = {part: data}
    return typing.cast(dict[str, Any], data)


@pytest.mark.parametrize("path", FLOAT_SETTINGS)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_settings_are_config_errors_naming_the_field(path: str, value: float) -> None:
    text = json.dumps({"name": "fx", **_nested(path, value)})
    with pytest.raises(ConfigError) as info:
        AgentConfig.from_json(text)
    assert info.value.problems == [
        ConfigProblem(
            path, "Input should be a finite number", f"got {value!r}: write a finite number"
        )
    ]
    yaml_value = {"nan": ".nan", "inf": ".inf", "-inf": "-.inf"}[repr(value)]
    *parents, leaf = path.split(".")
    yaml_text = (
        "name: fx\n"
        + "".join(f"{'  ' * i}{part}:\n" for i, part in enumerate(parents))
        + f"{'  ' * len(parents)}{leaf}: {yaml_value}\n"
    )
    with pytest.raises(ConfigError) as info:
        AgentConfig.from_yaml(yaml_text)
    assert info.value.problems == [
        ConfigProblem(
            f"{path} (line {len(parents) + 2})",
            "Input should be a finite number",
            f"got {value!r}: write a finite number",
        )
    ]


def test_a_nan_timeout_given_to_agent_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        Agent("fx", model="offline", settings={"timeout": math.nan})
    assert str(info.value) == (
        "Agent config 'fx' has 1 problem:\n"
        "  - settings.timeout: Input should be a finite number -> got nan: write a finite number"
    )


def test_a_negative_timeout_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        AgentConfig.from_yaml("name: fx\nmodel: offline\nsettings: {timeout: -5}\n").validate()
    assert info.value.problems == [
        ConfigProblem(
            "settings.timeout",
            "must be > 0 seconds (got -5.0)",
            "e.g. 60, or remove it for no limit",
        )
    ]
