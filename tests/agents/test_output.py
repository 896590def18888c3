"""Structured output via `output_type`: schemas, validation, correction, giving up."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import BaseModel

from agentnb import Agent, FunctionModel
from agentnb.errors import OutputInvalid
from agentnb.models import AssistantMessage, OutputSchema, UserMessage

Script = Callable[..., FunctionModel]


class Rate(BaseModel):
    currency: str
    rate: float


async def test_pydantic_output_invalid_then_corrected(script: Script) -> None:
    model = script("the rate is 0.79", '{"currency": "GBP"}', '{"currency": "GBP", "rate": 0.79}')
    agent = Agent("fx", model=model, output_type=Rate)
    result = await agent.run("GBP rate?")

    assert result.output == Rate(currency="GBP", rate=0.79)
    assert model.function.requests[0].output == OutputSchema(  # type: ignore[attr-defined]
        "Rate",
        {
            "properties": {"currency": {"type": "string"}, "rate": {"type": "number"}},
            "required": ["currency", "rate"],
            "type": "object",
        },
    )
    assert result.messages == [
        UserMessage("GBP rate?"),
        AssistantMessage("the rate is 0.79"),
        UserMessage(
            "Your answer is not valid JSON (Expecting value: line 1 column 1 (char 0)). "
            "Answer with JSON only."
        ),
        AssistantMessage('{"currency": "GBP"}'),
        UserMessage(
            "Your answer does not match the required output schema: rate: Field required. "
            "Answer again with valid JSON."
        ),
        AssistantMessage('{"currency": "GBP", "rate": 0.79}'),
    ]
    assert len(result.steps) == 3


async def test_output_retries_then_output_invalid(script: Script) -> None:
    agent = Agent(
        "fx", model=script("nope", "still nope"), output_type=Rate, settings={"output_retries": 1}
    )
    with pytest.raises(OutputInvalid) as info:
        await agent.run("GBP rate?")
    assert str(info.value) == (
        "agent 'fx': Your answer is not valid JSON (Expecting value: line 1 column 1 (char 0)). "
        "Answer with JSON only. (gave up after 1 corrections, settings.output_retries)"
    )
    partial = info.value.result
    assert partial is not None
    assert (partial.status, partial.error_type, len(partial.steps)) == (
        "error",
        "OutputInvalid",
        2,
    )


async def test_int_output_is_wrapped_for_the_model(script: Script) -> None:
    model = script('{"result": 42}', "```json\n7\n```")
    agent = Agent("count", model=model, output_type=int)
    assert agent.config.output_type == "int"
    assert agent.output_schema == OutputSchema(
        "int",
        {"type": "object", "properties": {"result": {"type": "integer"}}, "required": ["result"]},
    )
    assert (await agent.run("how many?")).output == 42
    assert (await agent.run("how many?")).output == 7  # bare value in a code fence also accepted


async def test_wrong_scalar_is_fed_back(script: Script) -> None:
    model = script('{"result": "many"}', '{"result": 3}')
    result = await Agent("count", model=model, output_type=int).run("how many?")
    assert result.output == 3
    assert [m.role for m in result.messages] == ["user", "assistant", "user", "assistant"]


async def test_json_schema_dict_output(script: Script) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
    }
    model = script("Paris for 3 days", '{"city": "Paris", "days": 3}')
    agent = Agent("trip", model=model, output_type=schema)
    assert agent.config.output_type == schema
    result = await agent.run("plan")
    assert result.output == {"city": "Paris", "days": 3}
    assert model.function.requests[0].output == OutputSchema("final_result", schema)  # type: ignore[attr-defined]
    assert result.messages[2] == UserMessage(
        "Your answer is not valid JSON (Expecting value: line 1 column 1 (char 0)). "
        "Answer with JSON only."
    )


async def test_plain_text_output_without_output_type(script: Script) -> None:
    result = await Agent("t", model=script('{"not": "parsed"}')).run("hi")
    assert result.output == '{"not": "parsed"}'


async def test_json_schema_dict_output_is_validated_and_corrected(script: Script) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
        "required": ["city", "days"],
    }
    model = script('{"town": "Paris", "days": 0}', '{"city": "Paris", "days": 2}')
    result = await Agent("trip", model=model, output_type=schema).run("plan")
    assert result.output == {"city": "Paris", "days": 2}
    assert result.messages[2] == UserMessage(
        "Your answer does not match the required output schema: output: 'city' is a required "
        "property; days: 0 is less than the minimum of 1. Answer again with valid JSON."
    )
