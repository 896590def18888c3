"""A function's signature and docstring → a pydantic arguments model and its JSON Schema."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model
from pydantic.fields import FieldInfo

from agentnb.errors import ToolDefinitionError
from agentnb.tools.context import RunContext

__all__ = ["build_args_model", "clean_schema", "takes_context"]


def takes_context(function: Callable[..., Any], hints: dict[str, Any]) -> bool:
    """True when the first parameter is annotated `RunContext` (it receives the run's context)."""
    params = list(inspect.signature(function).parameters.values())
    if not params:
        return False
    annotation = hints.get(params[0].name)
    origin = typing.get_origin(annotation) or annotation
    return origin is RunContext


def _has_description(annotation: Any) -> bool:
    if typing.get_origin(annotation) is not typing.Annotated:
        return False
    return any(isinstance(m, FieldInfo) and m.description for m in annotation.__metadata__)


def build_args_model(
    function: Callable[..., Any],
    tool_name: str,
    param_docs: dict[str, str],
) -> tuple[type[BaseModel], bool]:
    """The arguments model of `function` and whether it takes a `RunContext` first."""
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except NameError as exc:
        raise ToolDefinitionError(
            f"tool {tool_name!r}: cannot resolve a type annotation ({exc}); "
            "define or import the type before the @tool function"
        ) from exc
    ctx = takes_context(function, hints)
    fields: dict[str, Any] = {}
    params = list(inspect.signature(function).parameters.values())
    for param in params[1:] if ctx else params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolDefinitionError(
                f"tool {tool_name!r}: *{param.name} / **{param.name} cannot be described to a "
                "model; list the arguments explicitly"
            )
        if param.name not in hints:
            raise ToolDefinitionError(
                f"tool {tool_name!r}: parameter {param.name!r} has no type annotation; add one "
                f"(e.g. `{param.name}: str`) so the model knows what to send"
            )
        annotation = hints[param.name]
        default = ... if param.default is param.empty else param.default
        doc = param_docs.get(param.name)
        if doc and not _has_description(annotation):
            fields[param.name] = (annotation, Field(default, description=doc))
        else:
            fields[param.name] = (annotation, default)
    # No NaN or infinity unless a parameter allows it (`Field(allow_inf_nan=True)`): NaN passes
    # every comparison as false, so `amount <= 100` checks would let it through.
    config = ConfigDict(extra="forbid", arbitrary_types_allowed=False, allow_inf_nan=False)
    try:
        model = create_model(f"{tool_name}_args", __config__=config, **fields)
    except Exception as exc:  # pydantic's errors for unsupported types are of several kinds
        raise ToolDefinitionError(_unsupported(tool_name, fields, exc)) from exc
    return model, ctx


def _unsupported(tool_name: str, fields: dict[str, Any], exc: Exception) -> str:
    """Name the parameter a model cannot send and what to take instead; pydantic's own advice
    (`arbitrary_types_allowed`) would make a schema no model can fill."""
    for name, (annotation, _) in fields.items():
        try:
            TypeAdapter(annotation)
        except Exception:
            kind = getattr(annotation, "__name__", None) or repr(annotation)
            return (
                f"tool {tool_name!r}: parameter {name!r} has type {kind}, which a model cannot "
                "send: it sends JSON (strings, numbers, booleans, lists, objects). Take what it "
                "can send and build the value inside the function: a name or id to look the "
                f"object up (e.g. `{name}: str`), or for a table its rows as records "
                f"(`{name}: list[dict[str, Any]]`, then `pd.DataFrame({name})`)."
            )
    return f"tool {tool_name!r}: unsupported argument type: {exc}"


_VALUES = frozenset({"default", "enum", "const", "examples"})


def clean_schema(schema: Any) -> Any:
    """Drop the `title`s pydantic adds: noise in a prompt, and some providers reject them."""
    if isinstance(schema, dict):
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "title" and isinstance(value, str):
                continue
            if key in _VALUES:
                out[key] = value  # data, not schema: a default may have a "title" key
            elif key in ("properties", "$defs"):
                out[key] = {name: clean_schema(sub) for name, sub in value.items()}
            else:
                out[key] = clean_schema(value)
        return out
    if isinstance(schema, list):
        return [clean_schema(item) for item in schema]
    return schema
