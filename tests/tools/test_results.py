"""Tool return values → the text the model reads."""

from __future__ import annotations

import dataclasses
import datetime
import enum

import pytest
from pydantic import BaseModel

from agentnb.tools import serialize_result


class Rate(BaseModel):
    currency: str
    rate: float


@dataclasses.dataclass
class Order:
    id: int
    items: list[str]


class Status(enum.Enum):
    OPEN = "open"


class Opaque:
    def __str__(self) -> str:
        return "<opaque thing>"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain text, not JSON", "plain text, not JSON"),
        (Rate(currency="GBP", rate=0.79), '{"currency":"GBP","rate":0.79}'),
        (Order(1042, ["book", "pen"]), '{"id":1042,"items":["book","pen"]}'),
        ({"amount": 9.9, "ok": True, "none": None}, '{"amount":9.9,"ok":true,"none":null}'),
        ([1, "a", 2.5], '[1,"a",2.5]'),
        ((1, 2), "[1,2]"),
        (42, "42"),
        (None, "null"),
        (Status.OPEN, '"open"'),
        (datetime.date(2024, 1, 2), '"2024-01-02"'),
        ([Rate(currency="EUR", rate=1.0)], '[{"currency":"EUR","rate":1.0}]'),
        (Opaque(), "<opaque thing>"),
        ({"thing": Opaque(), "n": 1}, '{"thing":"<opaque thing>","n":1}'),
    ],
    ids=lambda v: type(v).__name__,
)
def test_serialize_result(value: object, text: str) -> None:
    assert serialize_result(value) == text
