"""Where things are in a YAML text: the line of a field, syntax errors, duplicate keys.

Every config error that comes from YAML names a line; this module is the one place that turns a
field path (`tools[1].name`) or a parser mark into one.

>>> import yaml
>>> root = yaml.compose("name: fx\\ntools:\\n  - convert\\n  - refund\\n", Loader=yaml.SafeLoader)
>>> line_of(root, "tools[1]"), line_of(root, ("tools", 0)), line_of(root, "model")
(4, 3, 1)
>>> line_of(root, "model", from_root=False) is None
True
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from agentnb.errors import ConfigProblem

__all__ = ["Loc", "duplicate_keys", "line_of", "path_of", "syntax_problem"]

Loc = tuple[int | str, ...]
"""A place in parsed data: keys and list indices, as pydantic reports error locations."""

_PATH_PART = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")


def _parts(path: str) -> Loc:
    return tuple(int(index) if index else key for key, index in _PATH_PART.findall(path))


def path_of(loc: Loc) -> str:
    """`tools[1].name`: the notation every config problem uses (`<root>` for the top)."""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    return text or "<root>"


def line_of(root: yaml.Node | None, where: Loc | str, *, from_root: bool = True) -> int | None:
    """1-based line of the deepest node of `where` (a `Loc` or a path like `guards[0].params`).

    A field that is not in the YAML (a missing one) gets the line of its closest parent, the
    document itself included unless `from_root` is False (then: None when even the first part is
    absent, e.g. a field that came from an override, not from the text).
    """
    loc = _parts(where) if isinstance(where, str) else where
    node = root
    line = root.start_mark.line + 1 if root is not None and from_root else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if 0 <= part < len(node.value) else None
        else:
            break
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def syntax_problem(exc: yaml.YAMLError) -> ConfigProblem:
    """A parser error as a problem at `line L, column C`, with where the broken part started."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<yaml>"
    problem = getattr(exc, "problem", None) or str(exc)
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and context_mark.line != getattr(mark, "line", None):
        start = f"line {context_mark.line + 1}, column {context_mark.column + 1}"
        problem = f"{problem} ({context} started at {start})"
    return ConfigProblem(where, f"invalid YAML: {problem}", "fix the YAML syntax there")


def duplicate_keys(root: yaml.Node | None) -> list[ConfigProblem]:
    """Keys set twice in one mapping: YAML lets the second silently replace the first.

    Each node is visited once, however many aliases point at it (so the walk is linear in the
    text, not in the expanded document), and without recursion (so nesting depth is no limit).
    Problems come in document order.
    """
    problems: list[tuple[int, ConfigProblem]] = []
    seen_nodes: set[int] = set()
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if node is None or id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        children: list[tuple[Any, str]] = []
        if isinstance(node, yaml.MappingNode):
            first_line: dict[Any, int] = {}
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else None
                where = f"{path}.{name}" if path else str(name)
                if name is not None and name in first_line:
                    problems.append(
                        (
                            key.start_mark.index,
                            ConfigProblem(
                                f"{where} (line {key.start_mark.line + 1})",
                                f"duplicate key {name!r}, first set on line {first_line[name]}",
                                "keep one of them",
                            ),
                        )
                    )
                elif name is not None:
                    first_line[name] = key.start_mark.line + 1
                children.append((value, where))
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        stack.extend(children)
    return [problem for _, problem in sorted(problems, key=lambda found: found[0])]
