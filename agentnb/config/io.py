"""Config text in and out: bounded YAML/JSON parsing, YAML dumping, and validation of parsed data
into a config model with errors that point at the line and field.

Parsing refuses, with a `ConfigError` and before any work proportional to them, the documents
that would otherwise cost minutes or crash: YAML aliases that expand to a huge document (a
"billion laughs"), aliases that contain themselves, and nesting deeper than `MAX_DEPTH`. Every
other failure (bad syntax, a number too long to read) is a `ConfigError` naming line and column.

>>> data, _ = parse_yaml("name: fx\\nsettings: {max_steps: 3}\\n")
>>> data
{'name': 'fx', 'settings': {'max_steps': 3}}
>>> parse_json('{"name": "fx",}')
Traceback (most recent call last):
...
agentnb.errors.ConfigError: Agent config '<json>' has 1 problem:
  - line 1, column 15: invalid JSON: Expecting property name enclosed in double quotes -> fix the JSON syntax there
"""  # noqa: E501

from __future__ import annotations

import difflib
import json
import typing
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from agentnb.config.yamlpos import Loc, duplicate_keys, line_of, path_of, syntax_problem
from agentnb.errors import ConfigError, ConfigProblem

__all__ = [
    "MAX_ALIAS_EXPANSION",
    "MAX_DEPTH",
    "dump_yaml",
    "parse_json",
    "parse_yaml",
    "validate_data",
    "with_lines",
]

M = TypeVar("M", bound=BaseModel)

MAX_DEPTH = 100
"""Deepest nesting of mappings and lists a config may have (a JSON Schema output needs ~20)."""

MAX_ALIAS_EXPANSION = 10_000
"""Values that YAML aliases may add to a document when expanded (a config rarely reuses 100)."""


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
    """`data` as block-style YAML in the given key order; multi-line strings as `|` blocks."""
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)


_TOO_DEEP_FIX = "flatten it: a config needs a few levels (a JSON Schema output maybe 20)"


def _too_deep(source: str, fmt: str, where: str = "<root>") -> ConfigError:
    message = f"the {fmt} nests mappings and lists more than {MAX_DEPTH} levels deep"
    return ConfigError(source, [ConfigProblem(where, message, _TOO_DEEP_FIX)])


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        self.mark = mark


class _Unreadable(Exception):
    def __init__(self, mark: yaml.Mark, reason: Exception) -> None:
        self.mark = mark
        self.reason = reason


class _BoundedLoader(yaml.SafeLoader):
    """`SafeLoader` that stops at `MAX_DEPTH` levels of nesting while scanning and composing.

    PyYAML's scanner takes time quadratic in the nesting of `[`/`{` (5,000 levels: 6 s) and its
    composer recurses once per level: both stop at the bound, with the line and column.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0

    def fetch_flow_collection_start(self, TokenClass: type[yaml.Token]) -> None:
        if self.flow_level >= MAX_DEPTH:  # a `[` or `{` one level too deep
            raise _TooDeep(self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # `2024-13-45` read as a date, `!!int 0xZZ`
            raise _Unreadable(node.start_mark, exc) from None

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise _TooDeep(event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _line_holding(parent: yaml.Node, child: yaml.Node) -> int:
    """The line where `parent` refers to `child`: its key in a mapping, else the list's start."""
    if isinstance(parent, yaml.MappingNode):
        for key, value in parent.value:
            if value is child or key is child:
                return int(key.start_mark.line) + 1
    return int(parent.start_mark.line) + 1


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Refuse aliases that expand the document beyond `MAX_ALIAS_EXPANSION` values, aliases that
    contain their own anchor, and nesting deeper than `MAX_DEPTH`.

    One pass over the composed nodes, each visited once (aliases share nodes), computing the
    expanded size and depth of every node from those of its children: linear in the text.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    unique = 0
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        if children_done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if depth[key] > MAX_DEPTH:  # aliases nest the nodes they point at
                raise _TooDeep(node.start_mark)
            continue
        if key in size:
            continue
        unique += 1
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                line = _line_holding(node, child)
                raise ConfigError(
                    source,
                    [
                        ConfigProblem(
                            f"line {line}",
                            "a YAML alias refers to the mapping or list that contains it "
                            "(a document that never ends)",
                            "write the value out instead of the alias",
                        )
                    ],
                )
            if id(child) not in size:
                stack.append((child, False))
    added = size[id(root)] - unique
    if added > MAX_ALIAS_EXPANSION:
        raise ConfigError(
            source,
            [
                ConfigProblem(
                    "<root>",
                    f"YAML aliases expand this document by {added:,} values (more than "
                    f"{MAX_ALIAS_EXPANSION:,}: a 'billion laughs' document)",
                    "write the repeated parts out, or reuse fewer of them through aliases",
                )
            ],
        )


def _read(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_expansion(root, source)
        return loader.construct_document(root), root
    finally:
        loader.dispose()


def parse_yaml(text: str, *, source: str = "<yaml>") -> tuple[Any, yaml.Node | None]:
    """The data of a YAML document and its node tree (for line numbers); `ConfigError` if it
    cannot be read or exceeds the bounds above."""
    try:
        return _read(text, source)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [syntax_problem(exc)]) from None
    except _TooDeep as exc:
        where = f"line {exc.mark.line + 1}, column {exc.mark.column + 1}"
        raise _too_deep(source, "YAML", where) from None
    except RecursionError:  # only when called with little stack left
        raise _too_deep(source, "YAML") from None
    except _Unreadable as exc:
        where = f"line {exc.mark.line + 1}, column {exc.mark.column + 1}"
        message = f"a value cannot be read: {exc.reason}"
        raise ConfigError(source, [ConfigProblem(where, message, "quote it as a string")]) from None


def _depth_exceeds(data: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in children)
    return False


def parse_json(text: str | bytes, *, source: str = "<json>") -> Any:
    """The data of a JSON text; `ConfigError` naming line and column if it cannot be read."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        problem = ConfigProblem(where, f"invalid JSON: {exc.msg}", "fix the JSON syntax there")
        raise ConfigError(source, [problem]) from None
    except RecursionError:
        raise _too_deep(source, "JSON") from None
    except (ValueError, TypeError) as exc:  # a 5,000-digit number, bytes that are not UTF-8
        problem = ConfigProblem("<json>", f"the JSON cannot be read: {exc}", "fix the value")
        raise ConfigError(source, [problem]) from None
    if _depth_exceeds(data, MAX_DEPTH):
        raise _too_deep(source, "JSON")
    return data


def _data_loc(data: Any, loc: Loc) -> Loc:
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


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel]:
    """The config model that holds the field at `loc` (AgentConfig, Settings, ToolRef, …)."""
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


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _fix_for(model: type[BaseModel], err: Any, loc: Loc) -> str:
    if err["type"] == "extra_forbidden":
        holder = _model_at(model, loc)
        fields = sorted(holder.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), fields, n=1) if loc else []
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"{hint}remove it; {holder.__name__} fields are: {', '.join(fields)}"
    if err["type"] == "missing":
        return "add this field"
    if err["type"] == "finite_number":
        return f"got {_shown(err.get('input'))}: write a finite number"
    return f"got {_shown(err.get('input'))}"


def validate_data(
    model: type[M],
    data: Any,
    *,
    source: str,
    root: yaml.Node | None = None,
    overrides: dict[str, Any] | None = None,
) -> M:
    """`model` from parsed `data`: type errors and duplicate YAML keys become one `ConfigError`
    naming each field (and its line, given the YAML node tree `root`)."""
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
    problems = duplicate_keys(root)
    try:
        config = model.model_validate(merged)
    except ValidationError as exc:
        by_place: dict[str, ConfigProblem] = {}
        for err in exc.errors(include_url=False):
            loc = _data_loc(merged, tuple(err["loc"]))
            line = line_of(root, loc) if root is not None else None
            where = f"{path_of(loc)} (line {line})" if line else path_of(loc)
            fix = _fix_for(model, err, loc)
            if where in by_place:  # one value failing every member of a union: one problem
                first = by_place[where]
                by_place[where] = ConfigProblem(where, f"{first.message}; {err['msg']}", first.fix)
            else:
                by_place[where] = ConfigProblem(where, err["msg"], fix)
        problems += by_place.values()
    else:
        if not problems:
            return config
    name = merged.get("name")
    raise ConfigError(name if isinstance(name, str) and name else source, problems) from None


def with_lines(error: ConfigError, text: str) -> ConfigError:
    """`error` with the YAML line of every problem in `text` that does not name one yet.

    For problems found after parsing (`AgentConfig.validate()`: an unknown tool, a bad range).
    """
    try:
        _, root = parse_yaml(text)
    except ConfigError:
        return error
    problems = []
    for problem in error.problems:
        line = None if "line " in problem.path else line_of(root, problem.path, from_root=False)
        path = f"{problem.path} (line {line})" if line else problem.path
        problems.append(ConfigProblem(path, problem.message, problem.fix))
    return ConfigError(error.name, problems)
