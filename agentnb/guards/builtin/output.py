"""Output-schema guard: the final answer must match a JSON Schema or a pydantic model."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from agentnb._json import parse_json_answer
from agentnb.guards.builtin._base import BuiltinGuard
from agentnb.guards.guard import GuardContext
from agentnb.guards.verdict import GuardPoint, OnFail, Verdict

__all__ = ["output_schema"]


class _OutputSchema(BuiltinGuard):
    kind = "output_schema"
    default_points: ClassVar[tuple[GuardPoint, ...]] = ("final_output",)
    default_on_fail: ClassVar[OnFail | None] = "reask"

    def __init__(
        self, schema: dict[str, Any], model: type[BaseModel] | None = None, **common: Any
    ) -> None:
        # A pydantic model is written to the config as its JSON Schema and reloads as one.
        super().__init__({"schema": schema}, **common)
        self.schema = schema
        self.adapter: TypeAdapter[Any] | None = TypeAdapter(model) if model else None

    def check(self, subject: Any, ctx: GuardContext) -> Verdict | None:
        if self.adapter is not None:
            return self._check_model(subject, self.adapter)
        import jsonschema  # loaded only when a JSON Schema guard runs

        data = subject
        if isinstance(subject, str):
            try:
                data = parse_json_answer(subject)
            except ValueError as exc:
                return Verdict.block(f"output is not JSON: {exc}")
        elif isinstance(subject, BaseModel):
            data = subject.model_dump(mode="json")
        validator = jsonschema.Draft202012Validator(self.schema)
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].path) or "output"
            return Verdict.block(f"{where}: {errors[0].message}")
        return None

    @staticmethod
    def _check_model(subject: Any, adapter: TypeAdapter[Any]) -> Verdict | None:
        try:
            if isinstance(subject, str):
                adapter.validate_python(parse_json_answer(subject))
            elif not isinstance(subject, BaseModel):
                adapter.validate_python(subject)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "output"
            return Verdict.block(f"{where}: {first['msg']}")
        except ValueError as exc:  # not JSON at all
            return Verdict.block(f"output is not JSON: {exc}")
        return None


def output_schema(
    schema: dict[str, Any] | type[BaseModel],
    *,
    name: str | None = None,
    on_fail: OnFail | None = None,
) -> BuiltinGuard:
    """Block (and by default re-ask) a final output that does not match `schema`."""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return _OutputSchema(schema.model_json_schema(), schema, name=name, on_fail=on_fail)
    return _OutputSchema(schema, name=name, on_fail=on_fail)
