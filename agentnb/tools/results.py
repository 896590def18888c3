"""Tool return values → the text a model reads."""

from __future__ import annotations

from typing import Any

import pydantic_core
from pydantic import BaseModel

__all__ = ["serialize_result"]


def serialize_result(value: Any) -> str:
    """Text as is; pydantic models, dataclasses, dicts, lists and scalars as JSON; else `str()`."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    try:
        return pydantic_core.to_json(value).decode()
    except pydantic_core.PydanticSerializationError:
        return str(value)
