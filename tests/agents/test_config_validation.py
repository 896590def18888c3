"""`AgentConfig` validation into an `Agent`: every problem at once, with path and fix."""

from __future__ import annotations

import re
from typing import Literal

import pytest
from pydantic import BaseModel

from agentnb import Agent, AgentConfig, ConfigError, FunctionModel, Settings, tool
from agentnb.agents import ToolRef
from agentnb.errors import ConfigProblem


@tool
def lookup_order(order_id: str) -> dict[str, str]:
    """Look up an order by its id."""
    return {"id": order_id, "status": "shipped"}


@tool
def convert(amount: float, currency: Literal["EUR", "USD", "GBP"] = "EUR") -> float:
    """Convert money."""
    return amount


class Answer(BaseModel):
    text: str


def _problems(config: AgentConfig, **kw: object) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        config.validate(**kw)  # type: ignore[arg-type]
    return info.value.problems


def test_every_problem_is_reported_at_once() -> None:
    config = AgentConfig(
        name="support",
        version="1.0",
        model="openai:gpt-4.1-mini",
        tools=["lookup_order", "refund", "lookup_order"],  # type: ignore[list-item]
        guards=[{"name": "allow_tools", "params": {"tools": ["lookup_order", "cancel"]}}],  # type: ignore[list-item]
        settings=Settings(max_steps=0, tool_retries=-1, temperature=3),
        output_type="no_such_type",
    )
    with pytest.raises(ConfigError) as info:
        config.validate(tools=[lookup_order, convert])

    assert info.value.problems == [
        ConfigProblem(
            "version", "'1.0' is not a semantic version", "write MAJOR.MINOR.PATCH, e.g. '1.0.0'"
        ),
        ConfigProblem(
            "settings.max_steps", "must be at least 1 (got 0)", "set settings.max_steps to e.g. 10"
        ),
        ConfigProblem(
            "settings.tool_retries",
            "cannot be negative (got -1)",
            "use 0 to fail on the first error",
        ),
        ConfigProblem(
            "settings.temperature",
            "must be between 0 and 2 (got 3.0)",
            "e.g. 0.2, or remove it for the provider default",
        ),
        ConfigProblem(
            "model",
            "provider 'openai' needs an API key: set OPENAI_API_KEY, or use model='offline' "
            "(or 'replay:<cassette>') to run without one",
            "",
        ),
        ConfigProblem(
            "tools[1]",
            "unknown tool 'refund'",
            "define it with @tool first, or pass it in tools=[...] (known: convert, lookup_order)",
        ),
        ConfigProblem("tools[2]", "duplicate tool 'lookup_order'", "list each tool once"),
        ConfigProblem(
            "guards[0].params.tools",
            "guard 'allow_tools' references tool 'cancel', which the agent does not have",
            "add 'cancel' to tools, or remove it from the guard",
        ),
        ConfigProblem(
            "output_type",
            "'no_such_type' is neither a builtin type nor 'module:Name'",
            "use a pydantic model, a dataclass, a builtin type or a JSON Schema dict",
        ),
    ]
    assert str(info.value).splitlines()[0] == "Agent config 'support' has 9 problems:"
    assert str(info.value).splitlines()[1:3] == [
        "  - version: '1.0' is not a semantic version -> write MAJOR.MINOR.PATCH, e.g. '1.0.0'",
        "  - settings.max_steps: must be at least 1 (got 0) -> set settings.max_steps to e.g. 10",
    ]
    assert info.value.name == "support"


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "opnai:gpt-4o",
            "Unknown model provider 'opnai' in model 'opnai:gpt-4o'. Did you mean 'openai'? "
            "Known providers: 'openai:…', 'anthropic:…', 'offline', 'replay:…', 'function:…'.",
        ),
        (
            "gpt-4o",
            "Unknown model provider 'gpt-4o' in model 'gpt-4o'. "
            "Known providers: 'openai:…', 'anthropic:…', 'offline', 'replay:…', 'function:…'.",
        ),
        (
            "anthropic",
            "Model 'anthropic' names no model: write 'anthropic:<model name>', e.g. "
            "'openai:gpt-4.1-mini' or 'anthropic:claude-sonnet-4-5'.",
        ),
        (
            "anthropic:claude-sonnet-4-5",
            "provider 'anthropic' needs an API key: set ANTHROPIC_API_KEY, or use "
            "model='offline' (or 'replay:<cassette>') to run without one",
        ),
        (
            "replay:missing.jsonl",
            "cassette 'missing.jsonl' does not exist: record it first with "
            "agentnb.models.record(...)",
        ),
    ],
)
def test_model_problems(model: str, message: str) -> None:
    assert _problems(AgentConfig(name="a", model=model)) == [ConfigProblem("model", message, "")]


def test_more_setting_and_header_problems() -> None:
    config = AgentConfig(
        name="9 lives",
        schema_version=7,
        settings=Settings(output_retries=-2, max_tokens=0, timeout=0, temperature=-0.1),
    )
    assert _problems(config) == [
        ConfigProblem(
            "name",
            "'9 lives' is not a valid agent name",
            "use letters, digits, '_', '-' or '.', starting with a letter",
        ),
        ConfigProblem(
            "schema_version",
            "7 is not supported",
            "this agentnb reads schema_version 1; upgrade agentnb or the file",
        ),
        ConfigProblem(
            "settings.output_retries", "cannot be negative (got -2)", "use 0 for no correction"
        ),
        ConfigProblem(
            "settings.temperature",
            "must be between 0 and 2 (got -0.1)",
            "e.g. 0.2, or remove it for the provider default",
        ),
        ConfigProblem(
            "settings.max_tokens", "must be at least 1 (got 0)", "e.g. 1024, or remove it"
        ),
        ConfigProblem(
            "settings.timeout",
            "must be > 0 seconds (got 0.0)",
            "e.g. 60, or remove it for no limit",
        ),
    ]


@pytest.mark.parametrize(
    ("output_type", "message"),
    [
        (
            {"description": "no type"},
            "a JSON Schema output needs a 'type' (e.g. {'type': 'object', ...})",
        ),
        (
            "agentnb:NoSuchThing",
            "cannot import 'agentnb:NoSuchThing': module 'agentnb' has no attribute 'NoSuchThing'",
        ),
        (
            {"type": "objekt"},
            "the output JSON Schema is invalid: 'objekt' is not valid under any of the given "
            "schemas",
        ),
        (
            "no_such_module_xyz:Thing",
            "cannot import 'no_such_module_xyz:Thing': No module named 'no_such_module_xyz'",
        ),
    ],
)
def test_bad_output_types(output_type: object, message: str) -> None:
    config = AgentConfig(name="a", output_type=output_type)  # type: ignore[arg-type]
    assert _problems(config) == [
        ConfigProblem(
            "output_type",
            message,
            "use a pydantic model, a dataclass, a builtin type or a JSON Schema dict",
        )
    ]


def test_unknown_tool_lists_the_registry_when_no_tools_are_given() -> None:
    [problem] = _problems(AgentConfig(name="a", tools=["nope"]))  # type: ignore[list-item]
    known = problem.fix.partition("(known: ")[2].rstrip(")").split(", ")
    assert {"lookup_order", "convert"} <= set(known)
    assert known == sorted(known)


def test_type_errors_from_the_agent_shorthand() -> None:
    with pytest.raises(ConfigError) as info:
        Agent("a", settings={"max_steps": "lots", "colour": "red"}, version=3)  # type: ignore[arg-type]
    assert info.value.problems == [
        ConfigProblem("version", "Input should be a valid string", "got 3"),
        ConfigProblem(
            "settings.max_steps",
            "Input should be a valid integer, unable to parse string as an integer",
            "got 'lots'",
        ),
        ConfigProblem(
            "settings.colour",
            "Extra inputs are not permitted",
            "remove it; Settings fields are: max_steps, max_tokens, output_retries, "
            "resilience, temperature, timeout, tool_retries",
        ),
    ]


def test_function_model_string_is_a_config_problem_too() -> None:
    with pytest.raises(ConfigError) as info:
        Agent("a", model="function:play", settings={"max_steps": 0})
    assert info.value.problems == [
        ConfigProblem(
            "settings.max_steps", "must be at least 1 (got 0)", "set settings.max_steps to e.g. 10"
        ),
        ConfigProblem(
            "model",
            "model 'function:play' needs the Python function itself: pass "
            "model=FunctionModel(your_function) instead of a string",
            "",
        ),
    ]


def test_agent_shorthand_equals_validated_config() -> None:
    shorthand = Agent(
        "fx",
        model="offline",
        instructions="You convert money.",
        tools=[convert, lookup_order],
        settings={"max_steps": 4, "temperature": 0.2},
        output_type=Answer,
        version="1.2.0",
    )
    validated = AgentConfig(
        name="fx",
        version="1.2.0",
        model="offline",
        instructions="You convert money.",
        tools=[ToolRef(name="convert"), ToolRef(name="lookup_order")],
        settings=Settings(max_steps=4, temperature=0.2),
        output_type=f"{__name__}:Answer",
    ).validate(tools=[convert, lookup_order], output_type=Answer)

    assert shorthand.config == validated.config
    assert shorthand.config.to_dict() == validated.config.to_dict()
    assert shorthand.config_hash == validated.config_hash == validated.config.hash
    assert shorthand.tools == validated.tools
    assert shorthand.tool_definitions == validated.tool_definitions
    assert shorthand.output_schema == validated.output_schema
    assert repr(shorthand) == "Agent('fx' 1.2.0, model='offline', tools=[convert, lookup_order])"


def test_validate_binds_tools_with_description_overrides() -> None:
    @tool
    def fx_rate(currency: str) -> float:
        """Today's rate."""
        return 1.0

    config = AgentConfig(
        name="fx",
        model="offline",
        tools=[ToolRef(name="fx_rate", description="Rate of EUR, USD or GBP.")],
    )
    agent = config.validate()  # found among the @tool functions of this process
    assert [d.description for d in agent.tool_definitions] == ["Rate of EUR, USD or GBP."]
    assert agent.tools["fx_rate"].function is fx_rate.function
    assert fx_rate.description == "Today's rate."  # the registered tool is unchanged


def test_validated_agent_copies_the_config() -> None:
    config = AgentConfig(name="a", model="offline")
    agent = config.validate()
    config.instructions = "changed later"
    assert agent.config.instructions == ""


def test_model_object_is_used_as_given() -> None:
    model = FunctionModel(lambda request: "hi", name="mine")
    agent = AgentConfig(name="a", model="openai:gpt-4.1-mini").validate(model=model)
    assert agent.model is model  # no API key needed: the model is given


def test_default_model_is_offline_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Agent("a").model.id == "offline"
    monkeypatch.setenv("AGENTNB_MODEL", "anthropic:claude-sonnet-4-5")
    with pytest.raises(ConfigError) as info:
        Agent("a")
    assert [p.path for p in info.value.problems] == ["model"]


def test_hash_is_stable_and_follows_content() -> None:
    config = AgentConfig(name="fx", model="offline", tools=["convert"])  # type: ignore[list-item]
    same = AgentConfig.model_validate(config.to_dict())
    assert config.hash == same.hash
    assert re.fullmatch(r"[0-9a-f]{16}", config.hash)
    changed = [
        config.model_copy(update={"instructions": "Be brief."}),
        config.model_copy(update={"version": "0.1.1"}),
        config.model_copy(update={"settings": Settings(max_steps=3)}),
        config.model_copy(update={"tools": [ToolRef(name="convert", description="x")]}),
    ]
    assert len({config.hash, *(c.hash for c in changed)}) == 5
