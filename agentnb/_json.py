"""JSON answers from models, which often wrap them in a Markdown code fence."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["parse_json_answer"]


def parse_json_answer(text: str) -> Any:
    """The JSON in `text`, tolerating a ```json fence around it; `ValueError` when there is none."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`")
        stripped = stripped[4:] if stripped.startswith("json") else stripped
    return json.loads(stripped)
