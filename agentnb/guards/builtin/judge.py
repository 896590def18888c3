"""LLM-as-judge guard: a configured model decides whether text meets written criteria."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from agentnb.guards.builtin._base import BuiltinGuard
from agentnb.guards.builtin.content import _text_of
from agentnb.guards.guard import GuardContext
from agentnb.guards.verdict import GuardPoint, OnFail, Verdict
from agentnb.models.base import Model, ModelRequest, ModelSettings, OutputSchema
from agentnb.models.messages import UserMessage

__all__ = ["judge"]

_INSTRUCTIONS = (
    "You are a strict reviewer. Decide whether the text meets these criteria:\n{criteria}\n"
    'Answer with JSON only: {{"verdict": "pass" or "block", "reason": "<one sentence>"}}.'
)
_SCHEMA = OutputSchema(
    "judgement",
    {
        "type": "object",
        "properties": {
            "verdict": {"type": "string", "enum": ["pass", "block"]},
            "reason": {"type": "string"},
        },
        "required": ["verdict", "reason"],
    },
)


def _parse(text: str) -> Verdict:
    try:
        data = json.loads(text.strip().strip("`").removeprefix("json"))
    except ValueError:
        head = text.strip().lower()
        if head.startswith(("pass", "yes")):
            return Verdict.allow(text.strip())
        return Verdict.block(f"judge answered without a verdict: {text.strip()[:200]!r}")
    if not isinstance(data, dict) or data.get("verdict") not in ("pass", "block"):
        return Verdict.block(f"judge answered without a verdict: {text.strip()[:200]!r}")
    reason = str(data.get("reason", ""))
    return Verdict.allow(reason) if data["verdict"] == "pass" else Verdict.block(reason)


class _Judge(BuiltinGuard):
    kind = "judge"
    default_points: ClassVar[tuple[GuardPoint, ...]] = ("final_output",)

    # No default model: the offline stand-in cannot judge text, it would pass everything.
    def __init__(self, criteria: str, model: str | Model, **common: Any) -> None:
        model_id = model if isinstance(model, str) else model.id
        super().__init__({"criteria": criteria, "model": model_id}, **common)
        self.criteria = criteria
        self._model: Model | None = None if isinstance(model, str) else model
        self._model_id = model_id

    @property
    def model(self) -> Model:
        if self._model is None:
            from agentnb.models.registry import resolve_model

            self._model = resolve_model(self._model_id)
        return self._model

    async def check(self, subject: Any, ctx: GuardContext) -> Verdict:
        request = ModelRequest(
            _INSTRUCTIONS.format(criteria=self.criteria),
            [UserMessage(_text_of(subject))],
            (),
            ModelSettings(temperature=0.0),
            _SCHEMA,
        )
        response = await self.model.request(request)
        return _parse(response.message.text)


def judge(
    criteria: str,
    *,
    model: str | Model,
    points: tuple[GuardPoint, ...] | None = None,
    name: str | None = None,
    on_fail: OnFail | None = None,
) -> BuiltinGuard:
    """Ask `model` whether the text meets `criteria`; its verdict and reason become the guard's."""
    return _Judge(criteria, model, points=points, name=name, on_fail=on_fail)
