"""The Python side of the magics: agents and guards from cell text, versions, exported files.

Each magic is a thin call into this module (or into `agentnb` itself), so a notebook can do the
same without magics:

- `%%agent support --model offline` + YAML:
  `support = define_agent(yaml, name="support", model="offline", namespace=globals())`
- `%%guard small --point tool_call` + a body: `@guard("tool_call") def small(call, ctx): ...`
  (or `define_guard(body, name="small", points=["tool_call"], namespace=globals())`)
- `%agentnb export support --bump patch`:
  `support = with_version(support, version=bump_version(support.version, part="patch"))`, then
  `export_config(support)`
- `%agentnb agents`: `agents_in(globals())`

Names in the YAML are looked up in `namespace` first (a `Tool`, `Guard` or `Monitor` object, or
the output type), then in the registries (`@tool`, `@guard`, built-ins).
"""

from __future__ import annotations

import ast
import copy
import keyword
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agentnb.agents.agent import Agent
from agentnb.agents.validation import output_reference
from agentnb.config import AgentConfig, load_config_yaml
from agentnb.errors import ConfigError, UserError
from agentnb.guards.guard import BUILTIN_GUARDS, Guard, guard
from agentnb.guards.monitoring.monitor import Monitor
from agentnb.guards.verdict import GUARD_POINTS, GuardPoint, OnFail
from agentnb.tools.tool import REGISTRY, Tool

if TYPE_CHECKING:
    from agentnb.config import ComponentRef

__all__ = [
    "SUBJECT_NAMES",
    "agents_in",
    "bump_version",
    "define_agent",
    "define_guard",
    "export_config",
    "with_version",
]

Part = Literal["major", "minor", "patch"]
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:[-+].*)?$")
_BUILTIN_TYPES = {"str", "int", "float", "bool", "dict", "list"}

SUBJECT_NAMES: dict[GuardPoint, str] = {
    "input": "prompt",
    "model_output": "message",
    "tool_call": "call",
    "tool_result": "result",
    "final_output": "output",
}
"""What a `%%guard` body calls the value it checks at each point (it is also `subject`)."""


# --- agents -------------------------------------------------------------------------------------


def _namespace_tools(namespace: Mapping[str, Any], config: AgentConfig) -> list[Tool[..., Any]]:
    """Every tool the config may name: the registry, overridden by tools in the namespace."""
    available: dict[str, Tool[..., Any]] = dict(REGISTRY)
    available.update({t.name: t for t in namespace.values() if isinstance(t, Tool)})
    for ref in config.tools:  # a variable named like the tool wins over another of that name
        named = namespace.get(ref.name)
        if isinstance(named, Tool) and named.name == ref.name:
            available[ref.name] = named
    return list(available.values())


def _namespace_components(
    refs: Sequence[ComponentRef], namespace: Mapping[str, Any], kind: type[Guard] | type[Monitor]
) -> tuple[list[ComponentRef], list[Any]]:
    """Refs naming an object of `kind` in the namespace become that object's own ref."""
    new_refs: list[ComponentRef] = []
    given: list[Any] = []
    for ref in refs:
        found = namespace.get(ref.name) if not ref.params else None
        if isinstance(found, kind):
            new_refs.append(found.ref)
            given.append(found)
        else:
            new_refs.append(ref)
            given.append(None)
    return new_refs, given


def define_agent(
    text: str,
    *,
    name: str,
    model: str | None = None,
    version: str | None = None,
    namespace: Mapping[str, Any] | None = None,
    source: str | None = None,
) -> Agent:
    """A validated `Agent` from a YAML config, as `%%agent NAME` makes it.

    `name`, `model` and `version` override the YAML. Problems raise one `ConfigError` naming the
    YAML line and field of each.

    >>> support = define_agent("instructions: Be brief.", name="support", model="offline")
    >>> support.config == Agent("support", model="offline", instructions="Be brief.").config
    True
    """
    from agentnb.config.io import with_lines  # loads yaml: not at import time

    ns: Mapping[str, Any] = namespace if namespace is not None else {}
    overrides: dict[str, Any] = {"name": name}
    if model is not None:
        overrides["model"] = model
    if version is not None:
        overrides["version"] = version
    try:
        config = load_config_yaml(text, source=source or name, overrides=overrides)
        guard_refs, guards = _namespace_components(config.guards, ns, Guard)
        monitor_refs, monitors = _namespace_components(config.monitors, ns, Monitor)
        output_type = None
        spec = config.output_type
        if isinstance(spec, str) and spec not in _BUILTIN_TYPES and ":" not in spec:
            output_type = ns.get(spec)
        config = config.model_copy(
            update={
                "guards": guard_refs,
                "monitors": monitor_refs,
                "output_type": output_reference(output_type) if output_type else spec,
            }
        )
        agent = Agent.from_config(
            config,
            tools=_namespace_tools(ns, config),
            output_type=output_type,
            guards=guards,
            monitors=monitors,
        )
    except ConfigError as error:
        raise with_lines(error, text) from None
    return agent


# --- guards -------------------------------------------------------------------------------------


def _builtin_config(body: str) -> dict[str, Any] | None:
    """The body as a built-in guard config (a mapping with `kind:`), else None."""
    import yaml

    try:
        data = yaml.safe_load(body)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) and "kind" in data else None


def define_guard(
    body: str,
    *,
    name: str,
    points: Sequence[GuardPoint] = (),
    on_fail: OnFail | None = None,
    namespace: dict[str, Any] | None = None,
    first_line: int = 1,
) -> Guard:
    """A guard from cell text, as `%%guard NAME --point P` makes it.

    The body is either a built-in guard's config (YAML with `kind:` and its parameters) or the
    body of a function `NAME(subject, ctx)` whose last expression (or `return`) is the verdict;
    at each point the subject also has a plain name (`call` at `tool_call`, see
    `SUBJECT_NAMES`). A function guard is registered like `@guard`; its globals are `namespace`.
    `first_line` is the line number of the body's first line (for errors and tracebacks).

    >>> small = define_guard("call.args.get('amount', 0) <= 100", name="small",
    ...                      points=["tool_call"])
    >>> small.points, small.ref.name
    (('tool_call',), 'small')
    """
    if not name.isidentifier() or keyword.iskeyword(name):
        raise UserError(f"guard name {name!r} must be a Python identifier, e.g. small_refunds")
    config = _builtin_config(body)
    if config is not None:
        return _builtin_guard(config, name=name, points=points, on_fail=on_fail)
    if not points:
        raise UserError(
            f"guard {name!r}: say where it checks, e.g. --point tool_call "
            f"(points: {', '.join(GUARD_POINTS)}); or write a built-in's config with `kind:`"
        )
    bad = [p for p in points if p not in GUARD_POINTS]
    if bad:
        raise UserError(
            f"guard {name!r}: unknown point {bad[0]!r}; use one of {', '.join(GUARD_POINTS)}"
        )
    function = _compile_guard(body, name, points, namespace, first_line)
    return guard(*points, name=name, on_fail=on_fail)(function)


def _builtin_guard(
    config: dict[str, Any],
    *,
    name: str,
    points: Sequence[GuardPoint],
    on_fail: OnFail | None,
) -> Guard:
    import agentnb.guards.builtin  # noqa: F401  (registers the built-in kinds)

    params = dict(config)
    kind = params.pop("kind")
    cls = BUILTIN_GUARDS.get(str(kind))
    if cls is None:
        raise UserError(
            f"guard {name!r}: unknown built-in kind {kind!r}; "
            f"use one of {', '.join(sorted(BUILTIN_GUARDS))}"
        )
    params["name"] = name
    if points:
        params["points"] = list(points)
    if on_fail is not None:
        params["on_fail"] = on_fail
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise UserError(f"guard {name!r} ({kind}): {exc}") from None


def _compile_guard(
    body: str,
    name: str,
    points: Sequence[GuardPoint],
    namespace: dict[str, Any] | None,
    first_line: int,
) -> Any:
    filename = f"<guard {name}>"
    try:
        tree = ast.parse(body, filename=filename)
    except SyntaxError as exc:
        line = (exc.lineno or 1) + first_line - 1
        raise UserError(f"guard {name!r}, line {line}: {exc.msg}") from None
    statements: list[ast.stmt] = list(tree.body) or [ast.Pass()]
    last = statements[-1]
    if isinstance(last, ast.Expr):  # the last expression is the verdict
        statements[-1] = ast.copy_location(ast.Return(value=last.value), last)
    aliases = "".join(f"    {SUBJECT_NAMES[p]} = subject\n" for p in dict.fromkeys(points))
    module = ast.parse(f"def {name}(subject, ctx):\n{aliases}    pass\n", filename=filename)
    function = module.body[0]
    assert isinstance(function, ast.FunctionDef)
    function.body = [*function.body[:-1], *statements]  # the aliases, then the cell's body
    ast.increment_lineno(module, first_line - 1)
    ast.fix_missing_locations(module)
    scope: dict[str, Any] = namespace if namespace is not None else {}
    local: dict[str, Any] = {}
    exec(compile(module, filename, "exec"), scope, local)  # the user's own cell
    return local[name]


# --- versions and files -------------------------------------------------------------------------


def bump_version(version: str, *, part: Part) -> str:
    """The next semantic version (pre-release and build suffixes are dropped).

    >>> bump_version("1.4.2", part="minor")
    '1.5.0'
    """
    match = _SEMVER.match(version)
    if match is None:
        raise UserError(f"{version!r} is not a semantic version (MAJOR.MINOR.PATCH)")
    major, minor, patch = (int(g) for g in match.groups())
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    if part == "patch":
        return f"{major}.{minor}.{patch + 1}"
    raise UserError(f"cannot bump {part!r}: use major, minor or patch")


def with_version(agent: Agent, *, version: str) -> Agent:
    """The same agent (tools, guards, model) under another version; `agent` is unchanged."""
    if _SEMVER.match(version) is None:
        raise UserError(f"{version!r} is not a semantic version (MAJOR.MINOR.PATCH)")
    renewed = copy.copy(agent)
    renewed.config = agent.config.model_copy(update={"version": version}, deep=True)
    renewed.config_hash = renewed.config.hash
    renewed.last_result = None
    renewed._handlers = list(agent._handlers)  # subscribing to one must not subscribe the other
    return renewed


def export_config(agent: Agent | AgentConfig, *, directory: str | Path = "configs") -> Path:
    """Write `directory/<name>/<version>.yaml`; the path written (or already holding it).

    A file of that version with other content is never overwritten: bump the version first.
    """
    config = agent.config if isinstance(agent, Agent) else agent
    path = Path(directory) / config.name / f"{config.version}.yaml"
    text = config.to_yaml()
    if path.exists():
        if path.read_text(encoding="utf-8") == text:
            return path
        raise UserError(
            f"{path} already holds a different {config.name} {config.version}: versions are "
            "immutable once written; bump it first (%agentnb export NAME --bump patch, or "
            "with_version(agent, version=bump_version(agent.version, part='patch')))"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def agents_in(namespace: Mapping[str, Any]) -> dict[str, Agent]:
    """The agents bound to public names in `namespace`, by variable name."""
    return {
        key: value
        for key, value in namespace.items()
        if isinstance(value, Agent) and not key.startswith("_")
    }


def guard_names(namespace: Mapping[str, Any]) -> list[str]:
    """Names a config may use for guards here: namespace guards, `@guard`s, built-in kinds."""
    import agentnb.guards.builtin  # noqa: F401  (registers the built-in kinds)
    from agentnb.guards.guard import GUARD_REGISTRY

    local = [k for k, v in namespace.items() if isinstance(v, Guard) and not k.startswith("_")]
    return sorted({*local, *GUARD_REGISTRY, *BUILTIN_GUARDS})


def tool_names(namespace: Mapping[str, Any]) -> list[str]:
    """Tool names a config may use here: tools in the namespace and every `@tool`."""
    return sorted({*REGISTRY, *(v.name for v in namespace.values() if isinstance(v, Tool))})
