"""Config files: YAML/JSON in and out, with errors that point at the line and field."""

from __future__ import annotations

import difflib
import typing
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from agentnb.agents.config import AgentConfig
from agentnb.errors import ConfigError, ConfigProblem

__all__ = ["config_from_data", "dump_yaml", "load_config_yaml"]


class _BlockDumper(yaml.SafeDumper):
    pass


_OTHER_BREAKS = ("\x85", "\u2028", "\u2029")


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line instructions read best as literal blocks (and survive a round trip exactly).
    # YAML reads NEL and the Unicode line/paragraph separators as line breaks, and with
    # allow_unicode PyYAML writes them raw outside double quotes: only escaping keeps them.
    if any(brk in value for brk in _OTHER_BREAKS):
        style: str | None = '"'
    else:
        style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_presenter)


def dump_yaml(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the YAML node at pydantic error location `loc` (deepest node found)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            break
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _data_loc(data: Any, loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """`loc` without the parts that are not places in `data`.

    pydantic puts validator names and union members (`function-after[...]`, `str`,
    `dict[str,any]`) into error locations; a user looks for keys and list indices.
    """
    kept: list[int | str] = []
    node = data
    for i, part in enumerate(loc):
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
        elif not (isinstance(node, dict) and i == len(loc) - 1):
            continue  # a union member or validator; a missing or extra key is kept below
        kept.append(part)
    return tuple(kept)


def _path(loc: tuple[int | str, ...]) -> str:
    """`tools[1].name`: the same notation `AgentConfig.validate()` uses."""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    return text or "<root>"


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The config model that holds the field at `loc` (AgentConfig, Settings, ToolRef, …)."""
    model: type[BaseModel] = AgentConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            break
        inner = field.annotation
        if typing.get_origin(inner) is list:
            inner = typing.get_args(inner)[0]
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            break
        model = inner
    return model


def _fix_for(err: Any, loc: tuple[int | str, ...]) -> str:
    if err["type"] == "extra_forbidden":
        model = _model_at(loc)
        fields = sorted(model.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), fields, n=1) if loc else []
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"{hint}remove it; {model.__name__} fields are: {', '.join(fields)}"
    if err["type"] == "missing":
        return "add this field"
    return f"got {err.get('input')!r}"


def _duplicate_keys(node: yaml.Node | None, path: str = "") -> list[ConfigProblem]:
    """YAML lets a repeated key silently replace the first one; in a config that hides edits."""
    problems: list[ConfigProblem] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            where = f"{path}.{name}" if path else str(name)
            if name is not None and name in seen:
                problems.append(
                    ConfigProblem(
                        f"{where} (line {key.start_mark.line + 1})",
                        f"duplicate key {name!r}, first set on line {seen[name]}",
                        "keep one of them",
                    )
                )
            elif name is not None:
                seen[name] = key.start_mark.line + 1
            problems += _duplicate_keys(value, where)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _duplicate_keys(item, f"{path}[{i}]")
    return problems


def config_from_data(
    data: Any,
    *,
    source: str,
    root: yaml.Node | None = None,
    overrides: dict[str, Any] | None = None,
) -> AgentConfig:
    """An `AgentConfig` from parsed data; type errors become one `ConfigError`."""
    if not isinstance(data, dict):
        raise ConfigError(
            source,
            [
                ConfigProblem(
                    "<root>",
                    f"expected a mapping of fields, got {type(data).__name__}",
                    "write `name: ...`, `instructions: ...`, one field per line",
                )
            ],
        )
    merged = {**data, **(overrides or {})}
    problems = _duplicate_keys(root)
    try:
        config = AgentConfig.model_validate(merged)
    except ValidationError as exc:
        by_place: dict[str, ConfigProblem] = {}
        for err in exc.errors(include_url=False):
            loc = _data_loc(merged, tuple(err["loc"]))
            path = _path(loc)
            line = _line_of(root, loc) if root is not None else None
            where = f"{path} (line {line})" if line else path
            fix = _fix_for(err, loc)
            if where in by_place:  # one value failing every member of a union: one problem
                first = by_place[where]
                by_place[where] = ConfigProblem(where, f"{first.message}; {err['msg']}", first.fix)
            else:
                by_place[where] = ConfigProblem(where, err["msg"], fix)
        problems += by_place.values()
    else:
        if not problems:
            return config
    raise ConfigError(str(merged.get("name") or source), problems) from None


def load_config_yaml(
    text: str, *, source: str = "<yaml>", overrides: dict[str, Any] | None = None
) -> AgentConfig:
    """Parse an agent config from YAML; every problem names its line (`ConfigError`)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [_syntax_problem(exc)]) from None
    if isinstance(data, dict):  # files of older schema versions load into the newest
        from agentnb.config.migrations import migrate

        data = migrate(data, source=source)
    return config_from_data(
        data if data is not None else {}, source=source, root=root, overrides=overrides
    )


def _syntax_problem(exc: yaml.YAMLError) -> ConfigProblem:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<yaml>"
    problem = getattr(exc, "problem", None) or str(exc)
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and context_mark.line != getattr(mark, "line", None):
        start = f"line {context_mark.line + 1}, column {context_mark.column + 1}"
        problem = f"{problem} ({context} started at {start})"
    return ConfigProblem(where, f"invalid YAML: {problem}", "fix the YAML syntax there")
