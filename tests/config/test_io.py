"""Config files: lossless YAML/JSON round trips and errors that point at the line."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from agentnb import AgentConfig, ConfigError
from agentnb.agents import ComponentRef, Settings, ToolRef
from agentnb.config import load_config_yaml
from agentnb.errors import ConfigProblem


def _full_config() -> AgentConfig:
    return AgentConfig(
        name="support",
        version="1.2.0",
        model="openai:gpt-4.1-mini",
        instructions="You answer questions about orders.\n\nBe brief: one paragraph.\n",
        tools=[
            ToolRef(name="lookup_order"),
            ToolRef(name="refund", description="Refund an order; needs approval."),
        ],
        guards=[
            ComponentRef(name="pii"),
            ComponentRef(
                name="allow_tools", params={"tools": ["lookup_order"], "on_fail": "raise"}
            ),
        ],
        monitors=[ComponentRef(name="latency", params={"threshold": 2.5})],
        settings=Settings(temperature=0.2, max_tokens=512, max_steps=4, tool_retries=1, timeout=30),
        output_type={
            "type": "object",
            "properties": {"answer": {"type": "string"}, "order_id": {"type": "string"}},
            "required": ["answer"],
        },
    )


def test_yaml_round_trip_is_lossless() -> None:
    config = _full_config()
    text = config.to_yaml()
    back = AgentConfig.from_yaml(text)
    assert back == config
    assert back.to_yaml() == text
    assert back.hash == config.hash


def test_yaml_is_short_and_readable() -> None:
    data = yaml.safe_load(_full_config().to_yaml())
    assert {k: v for k, v in data.items() if k != "settings"} == {
        "schema_version": 1,
        "name": "support",
        "version": "1.2.0",
        "model": "openai:gpt-4.1-mini",
        "instructions": "You answer questions about orders.\n\nBe brief: one paragraph.\n",
        "tools": [
            "lookup_order",  # a bare name when nothing else is set
            {"name": "refund", "description": "Refund an order; needs approval."},
        ],
        "guards": [
            "pii",
            {"name": "allow_tools", "params": {"tools": ["lookup_order"], "on_fail": "raise"}},
        ],
        "monitors": [{"name": "latency", "params": {"threshold": 2.5}}],
        "output_type": {
            "type": "object",
            "properties": {"answer": {"type": "string"}, "order_id": {"type": "string"}},
            "required": ["answer"],
        },
    }
    assert {k: data["settings"][k] for k in Settings.model_fields if k != "resilience"} == {
        "temperature": 0.2,
        "max_tokens": 512,
        "max_steps": 4,
        "tool_retries": 1,
        "output_retries": 2,
        "timeout": 30.0,
    }
    assert "instructions: |\n  You answer questions about orders.\n\n  Be brief" in (
        _full_config().to_yaml()
    )


def test_json_round_trip_is_lossless() -> None:
    config = _full_config()
    text = config.to_json()
    assert AgentConfig.from_json(text) == config
    assert json.loads(text) == config.to_dict()
    assert AgentConfig.from_json(text).hash == config.hash


@pytest.mark.parametrize("output_type", ["int", "agentnb.config:Settings", None])
def test_output_type_references_round_trip(output_type: str | None) -> None:
    config = AgentConfig(name="a", output_type=output_type)
    assert AgentConfig.from_yaml(config.to_yaml()).output_type == output_type
    assert AgentConfig.from_json(config.to_json()).output_type == output_type


def test_hand_written_yaml_with_shorthand() -> None:
    text = """\
name: fx
model: offline
instructions: You convert money.
tools: [convert]
guards:
  - pii
settings:
  max_steps: 3
"""
    assert load_config_yaml(text) == AgentConfig(
        name="fx",
        model="offline",
        instructions="You convert money.",
        tools=[ToolRef(name="convert")],
        guards=[ComponentRef(name="pii")],
        settings=Settings(max_steps=3),
    )


def test_overrides_win_over_the_file() -> None:
    config = load_config_yaml("name: fx\nmodel: offline\n", overrides={"model": "replay:x.jsonl"})
    assert config.model == "replay:x.jsonl"


def _problems(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        load_config_yaml(text, source="fx.yaml")
    return info.value.problems


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "name: fx\ninstructions: hi\n  tools: [a]\n",
            ConfigProblem(
                "line 3, column 8",
                "invalid YAML: mapping values are not allowed here",
                "fix the YAML syntax there",
            ),
        ),
        (
            "name: fx\ntools: [convert\nmodel: offline\n",
            ConfigProblem(
                "line 3, column 6",
                "invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence "
                "started at line 2, column 8)",
                "fix the YAML syntax there",
            ),
        ),
        (
            'name: "fx\n',
            ConfigProblem(
                "line 2, column 1",
                "invalid YAML: found unexpected end of stream (while scanning a quoted scalar "
                "started at line 1, column 7)",
                "fix the YAML syntax there",
            ),
        ),
    ],
)
def test_yaml_syntax_errors_name_the_line(text: str, problem: ConfigProblem) -> None:
    assert _problems(text) == [problem]


def test_type_errors_name_the_line_and_field() -> None:
    text = """\
name: fx
version: 1.0.0
tools:
  - convert
  - name: refund
    descripton: typo
settings:
  max_steps: lots
  max_step: 3
colour: red
output_type: 5
"""
    assert _problems(text) == [
        ConfigProblem(
            "tools[1].descripton (line 6)",
            "Extra inputs are not permitted",
            "did you mean 'description'? remove it; ToolRef fields are: description, name",
        ),
        ConfigProblem(
            "settings.max_steps (line 8)",
            "Input should be a valid integer, unable to parse string as an integer",
            "got 'lots'",
        ),
        ConfigProblem(
            "settings.max_step (line 9)",
            "Extra inputs are not permitted",
            "did you mean 'max_steps'? remove it; Settings fields are: max_steps, max_tokens, "
            "output_retries, resilience, temperature, timeout, tool_retries",
        ),
        ConfigProblem(
            "output_type (line 11)",
            "Input should be a valid string; Input should be a valid dictionary",
            "got 5",
        ),
        ConfigProblem(
            "colour (line 10)",
            "Extra inputs are not permitted",
            "remove it; AgentConfig fields are: guards, instructions, model, monitors, name, "
            "output_type, schema_version, settings, tools, version",
        ),
    ]


def test_duplicate_keys_are_problems_not_silent_overrides() -> None:
    text = "name: fx\nsettings:\n  max_steps: 3\n  max_steps: 30\nname: fx2\n"
    assert _problems(text) == [
        ConfigProblem(
            "settings.max_steps (line 4)",
            "duplicate key 'max_steps', first set on line 3",
            "keep one of them",
        ),
        ConfigProblem(
            "name (line 5)", "duplicate key 'name', first set on line 1", "keep one of them"
        ),
    ]


def test_missing_name_and_wrong_root() -> None:
    assert _problems("model: offline\n") == [
        ConfigProblem("name (line 1)", "Field required", "add this field")
    ]
    assert _problems("") == [ConfigProblem("name", "Field required", "add this field")]
    assert _problems("- name: fx\n") == [
        ConfigProblem(
            "<root>",
            "expected a mapping of fields, got list",
            "write `name: ...`, `instructions: ...`, one field per line",
        )
    ]


def test_error_message_names_the_config() -> None:
    with pytest.raises(ConfigError) as info:
        load_config_yaml("name: fx\nsettings: {max_steps: x}\n", source="fx.yaml")
    assert str(info.value) == (
        "Agent config 'fx' has 1 problem:\n"
        "  - settings.max_steps (line 2): Input should be a valid integer, unable to parse string "
        "as an integer -> got 'x'"
    )
    with pytest.raises(ConfigError) as info:
        load_config_yaml("name: [\n", source="fx.yaml")
    assert info.value.name == "fx.yaml"


_json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)


@settings(max_examples=60, deadline=None)
@given(
    instructions=st.text(),
    description=st.text(),
    params=st.dictionaries(st.text(min_size=1), _json_values, max_size=3),
)
def test_any_text_round_trips(
    instructions: str, description: str, params: dict[str, object]
) -> None:
    config = AgentConfig(
        name="a",
        instructions=instructions,
        tools=[ToolRef(name="t", description=description)],
        guards=[ComponentRef(name="g", params=params)],
    )
    assert AgentConfig.from_yaml(config.to_yaml()) == config
    assert AgentConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize("text", ["\x85", "line\x85break", "a\u2028b", "x\ny\u2029", "tab\tand \n"])
def test_unusual_line_breaks_round_trip(text: str) -> None:
    config = AgentConfig(name="a", instructions=text)
    assert AgentConfig.from_yaml(config.to_yaml()).instructions == text
