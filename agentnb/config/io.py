"""Config files: YAML/JSON in and out, with errors that point at the line and field."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from agentnb.agents.config import AgentConfig
from agentnb.errors import ConfigError, ConfigProblem

__all__ = ["config_from_data", "dump_yaml", "load_config_yaml"]


class _BlockDumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line instructions read best as literal blocks (and survive a round trip exactly).
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
    try:
        return AgentConfig.model_validate(merged)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(
                p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function"))
            )
            path = ".".join(str(p) for p in loc) or "<root>"
            line = _line_of(root, loc) if root is not None else None
            where = f"{path} (line {line})" if line else path
            fix = _fix_for(err)
            problems.append(ConfigProblem(where, err["msg"], fix))
        raise ConfigError(str(merged.get("name") or source), problems) from None


def _fix_for(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        fields = ", ".join(sorted(AgentConfig.model_fields))
        return f"remove it; AgentConfig fields are: {fields}"
    if err["type"] == "missing":
        return "add this field"
    return f"got {err.get('input')!r}"


def load_config_yaml(
    text: str, *, source: str = "<yaml>", overrides: dict[str, Any] | None = None
) -> AgentConfig:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<yaml>"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            source, [ConfigProblem(where, f"invalid YAML: {problem}", "fix the YAML syntax there")]
        ) from None
    return config_from_data(
        data if data is not None else {}, source=source, root=root, overrides=overrides
    )
