"""Every check an `AgentConfig` must pass before it runs, all reported at once."""

from __future__ import annotations

import builtins
import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, TypeAdapter

from agentnb.config import CURRENT_SCHEMA_VERSION, AgentConfig
from agentnb.errors import ConfigError, ConfigProblem, UserError
from agentnb.guards.guard import Guard
from agentnb.guards.monitoring.monitor import Monitor
from agentnb.guards.monitoring.resolve import resolve_monitors
from agentnb.guards.resolve import resolve_guards
from agentnb.layers.checks import check_resilience
from agentnb.models.base import Model, OutputSchema
from agentnb.models.registry import credentials_problem, default_model_id, resolve_model
from agentnb.tools.schema import clean_schema
from agentnb.tools.tool import REGISTRY, Tool

__all__ = ["OutputSpec", "Resolved", "resolve"]

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_BUILTIN_OUTPUTS = {"str", "int", "float", "bool", "dict", "list"}


@dataclass(slots=True)
class OutputSpec:
    """A structured output: the schema the model is given and how its answer is validated."""

    schema: OutputSchema
    adapter: TypeAdapter[Any] | None
    """Validates and converts the answer (a JSON Schema output: validates it with jsonschema)."""
    json_schema: dict[str, Any]
    wrapped: bool = False
    """True when a non-object type is asked for as `{"result": ...}` (providers want objects)."""


@dataclass(slots=True)
class Resolved:
    """An `AgentConfig` with every reference bound: tools, model, output, guards, monitors."""

    config: AgentConfig
    tools: dict[str, Tool[..., Any]]
    model: Model
    output: OutputSpec | None
    guards: list[Guard]
    monitors: list[Monitor]


def output_reference(output_type: Any) -> str | dict[str, Any] | None:
    """How a Python output type is written in a config file (None: no output type)."""
    if output_type is None:
        return None
    if (
        isinstance(output_type, type)
        and output_type.__name__ in _BUILTIN_OUTPUTS
        and output_type.__module__ == "builtins"
    ):
        return output_type.__name__
    if isinstance(output_type, dict):
        return output_type
    module = getattr(output_type, "__module__", "?")
    return f"{module}:{getattr(output_type, '__qualname__', output_type)}"


def _json_schema_adapter(schema: dict[str, Any]) -> TypeAdapter[Any]:
    """Validates an answer against a JSON Schema output, so a wrong one is fed back too."""
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"the output JSON Schema is invalid: {exc.message}") from None
    validator = jsonschema.Draft202012Validator(schema)

    def check(value: Any) -> Any:
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            raise ValueError(
                "; ".join(f"{'/'.join(map(str, e.path)) or 'output'}: {e.message}" for e in errors)
            )
        return value

    return TypeAdapter(Annotated[Any, AfterValidator(check)])


def _resolve_output(spec: str | dict[str, Any], python_type: Any) -> OutputSpec:
    """Raises ValueError with the user-facing reason."""
    if isinstance(spec, dict):
        if not spec.get("type") and "properties" not in spec and "$ref" not in spec:
            raise ValueError("a JSON Schema output needs a 'type' (e.g. {'type': 'object', ...})")
        return OutputSpec(OutputSchema("final_result", spec), _json_schema_adapter(spec), spec)
    target = python_type
    if target is None:
        if spec in _BUILTIN_OUTPUTS:
            target = getattr(builtins, spec)
        else:
            module_name, sep, qualname = spec.partition(":")
            if not sep:
                raise ValueError(f"{spec!r} is neither a builtin type nor 'module:Name'")
            try:
                target = importlib.import_module(module_name)
                for part in qualname.split("."):
                    target = getattr(target, part)
            except (ImportError, AttributeError) as exc:
                raise ValueError(f"cannot import {spec!r}: {exc}") from None
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(target)
        schema = clean_schema(adapter.json_schema())
    except Exception as exc:  # pydantic raises several kinds for unsupported types
        raise ValueError(f"{spec!r} cannot be described as JSON Schema: {exc}") from None
    wrapped = schema.get("type") != "object"
    if wrapped:
        # Providers want an object at the top of a structured output: wrap scalars and lists.
        schema = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
    name = getattr(target, "__name__", "final_result")
    return OutputSpec(OutputSchema(name, schema), adapter, schema, wrapped)


def _check_settings(config: AgentConfig, problems: list[ConfigProblem]) -> None:
    s = config.settings
    checks = [
        ("max_steps", s.max_steps < 1, "must be at least 1", "set settings.max_steps to e.g. 10"),
        (
            "tool_retries",
            s.tool_retries < 0,
            "cannot be negative",
            "use 0 to fail on the first error",
        ),
        ("output_retries", s.output_retries < 0, "cannot be negative", "use 0 for no correction"),
        (
            "temperature",
            s.temperature is not None and not 0 <= s.temperature <= 2,
            "must be between 0 and 2",
            "e.g. 0.2, or remove it for the provider default",
        ),
        (
            "max_tokens",
            s.max_tokens is not None and s.max_tokens < 1,
            "must be at least 1",
            "e.g. 1024, or remove it",
        ),
        (
            "timeout",
            s.timeout is not None and s.timeout <= 0,
            "must be > 0 seconds",
            "e.g. 60, or remove it for no limit",
        ),
    ]
    for field, bad, message, fix in checks:
        if bad:
            value = getattr(s, field)
            problems.append(ConfigProblem(f"settings.{field}", f"{message} (got {value!r})", fix))


def resolve(
    config: AgentConfig,
    *,
    tools: Sequence[Tool[..., Any]] | None,
    output_type: Any,
    model: Model | None,
    guards: Sequence[Guard | None] = (),
    monitors: Sequence[Monitor | None] = (),
) -> Resolved:
    """Check `config` and bind what it names, reporting every problem at once.

    Args:
        config: The agent's config.
        tools: The tools the agent may use; None means every `@tool` of this process.
        output_type: The Python type behind `config.output_type`, if the caller has it
            (None: import it from the `module:Name` reference).
        model: A model to use instead of resolving `config.model`.
        guards: Guard objects the config's guards may refer to.
        monitors: Monitor objects the config's monitors may refer to.

    Raises:
        ConfigError: Listing each problem (bad name or version, unknown tool or model,
            missing credentials, bad settings or output type) with its field and fix.
    """
    problems: list[ConfigProblem] = []
    if not _NAME.match(config.name):
        problems.append(
            ConfigProblem(
                "name",
                f"{config.name!r} is not a valid agent name",
                "use letters, digits, '_', '-' or '.', starting with a letter",
            )
        )
    if not _SEMVER.match(config.version):
        problems.append(
            ConfigProblem(
                "version",
                f"{config.version!r} is not a semantic version",
                "write MAJOR.MINOR.PATCH, e.g. '1.0.0'",
            )
        )
    if config.schema_version != CURRENT_SCHEMA_VERSION:
        problems.append(
            ConfigProblem(
                "schema_version",
                f"{config.schema_version} is not supported",
                f"this agentnb reads schema_version {CURRENT_SCHEMA_VERSION}; "
                "upgrade agentnb or the file",
            )
        )
    _check_settings(config, problems)
    problems += check_resilience(config.settings.resilience)

    resolved_model: Model | None = model
    if model is None:
        spec = config.model or default_model_id()
        try:
            problem = credentials_problem(spec)
            if problem:
                problems.append(ConfigProblem("model", problem, ""))
            else:
                resolved_model = resolve_model(spec)
        except UserError as exc:  # unknown provider, missing SDK, a string for a function
            problems.append(ConfigProblem("model", str(exc), ""))

    # Tools passed explicitly are the whole set; otherwise every @tool of this process.
    available = REGISTRY if tools is None else {t.name: t for t in tools}
    bound: dict[str, Tool[..., Any]] = {}
    for i, ref in enumerate(config.tools):
        found = available.get(ref.name)
        if found is None:
            known = ", ".join(sorted(available)) or "none defined yet"
            problems.append(
                ConfigProblem(
                    f"tools[{i}]",
                    f"unknown tool {ref.name!r}",
                    f"define it with @tool first, or pass it in tools=[...] (known: {known})",
                )
            )
            continue
        if ref.name in bound:
            problems.append(
                ConfigProblem(f"tools[{i}]", f"duplicate tool {ref.name!r}", "list each tool once")
            )
            continue
        bound[ref.name] = (
            found if ref.description is None else found.with_overrides(description=ref.description)
        )

    bound_guards = resolve_guards(config.guards, guards, problems)
    bound_monitors = resolve_monitors(config.monitors, monitors, problems=problems)
    for kind, components in (("guards", config.guards), ("monitors", config.monitors)):
        for i, component in enumerate(components):
            named = component.params.get("tools") or []
            for name in named if isinstance(named, list) else [named]:
                if name not in bound:
                    problems.append(
                        ConfigProblem(
                            f"{kind}[{i}].params.tools",
                            f"{kind[:-1]} {component.name!r} references tool "
                            f"{name!r}, which the agent does not have",
                            f"add {name!r} to tools, or remove it from the {kind[:-1]}",
                        )
                    )

    output: OutputSpec | None = None
    if config.output_type is not None:
        try:
            output = _resolve_output(config.output_type, output_type)
        except ValueError as exc:
            problems.append(
                ConfigProblem(
                    "output_type",
                    str(exc),
                    "use a pydantic model, a dataclass, a builtin type or a JSON Schema dict",
                )
            )
    if problems:
        raise ConfigError(config.name, problems)
    assert resolved_model is not None
    return Resolved(config, bound, resolved_model, output, bound_guards, bound_monitors)
