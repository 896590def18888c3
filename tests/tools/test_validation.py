"""Arguments are validated before the call; failures read as feedback a model can act on."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel

from agentnb import tool
from agentnb.tools import ToolArgumentsInvalid


class Address(BaseModel):
    street: str
    city: str = "Paris"


@tool
def ship(to: Address, quantity: int = 1, speed: Literal["slow", "fast"] = "slow") -> str:
    """Ship a parcel."""
    return f"{quantity} to {to.street}, {to.city} ({speed})"


def test_valid_arguments_from_json_text_or_mapping() -> None:
    args = ship.validate_args('{"to": {"street": "1 Rue"}, "quantity": "3"}')
    assert args.model_dump() == {
        "to": {"street": "1 Rue", "city": "Paris"},
        "quantity": 3,
        "speed": "slow",
    }
    assert ship.validate_args({"to": {"street": "1 Rue"}}) == ship.validate_args(
        '{"to": {"street": "1 Rue"}}'
    )


def test_empty_arguments_mean_no_arguments() -> None:
    @tool
    def ping() -> str:
        return "pong"

    assert ping.validate_args("").model_dump() == {}


@pytest.mark.parametrize(
    ("arguments", "problems"),
    [
        ("{}", "to: Field required"),
        (
            '{"to": {"street": "x"}, "quantity": "many", "speed": "warp"}',
            "quantity: Input should be a valid integer, unable to parse string as an integer "
            "(got 'many'); speed: Input should be 'slow' or 'fast' (got 'warp')",
        ),
        (
            '{"to": {"city": "Rome"}, "colour": "red"}',
            "to.street: Field required; colour: Extra inputs are not permitted (got 'red')",
        ),
        (
            '{"to": ',
            "arguments: Invalid JSON: EOF while parsing a value at line 1 column 7 "
            "(got '{\"to\": ')",
        ),
        ("[1, 2]", "arguments: Input should be an object (got [1, 2])"),
    ],
)
def test_invalid_arguments_feedback(arguments: str, problems: str) -> None:
    with pytest.raises(ToolArgumentsInvalid) as info:
        ship.validate_args(arguments)
    assert str(info.value) == (
        f"Invalid arguments for tool 'ship': {problems}. Fix the arguments and call the tool again."
    )
    assert (info.value.tool, info.value.arguments) == ("ship", arguments)
