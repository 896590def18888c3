"""Tool return values → the text a model reads."""

from __future__ import annotations

from typing import Any

import pydantic_core
from pydantic import BaseModel

__all__ = ["serialize_result"]

_CONTAINERS = (dict, list, tuple, set, frozenset)


def serialize_result(value: Any) -> str:
    """Text as is; pydantic models, dataclasses, dicts, lists and scalars as JSON; else `str()`.

    Inside a container, a value JSON cannot hold becomes its `str()`, so the model still gets
    JSON rather than a Python repr.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    try:
        return pydantic_core.to_json(value).decode()
    except pydantic_core.PydanticSerializationError:
        if isinstance(value, _CONTAINERS):
            return pydantic_core.to_json(value, fallback=str).decode()
        return str(value)
