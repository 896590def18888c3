"""Parameter descriptions from Google-style (`Args:`) and NumPy-style (`Parameters`) docstrings."""

from __future__ import annotations

import inspect
import re

__all__ = ["parse_docstring"]

_GOOGLE_SECTION = re.compile(r"^(Args|Arguments|Parameters|Params)\s*:\s*$")
_GOOGLE_OTHER = re.compile(
    r"^(Returns?|Yields?|Raises?|Examples?|Notes?|Attributes|See Also|Warnings?)\s*:\s*$"
)
_GOOGLE_ITEM = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_SECTION = re.compile(r"^(Parameters|Other Parameters)\s*$")
_NUMPY_ITEM = re.compile(r"^(\*{0,2}\w+)\s*(?::.*)?$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a docstring into the description (text before any section) and parameter texts.

    >>> parse_docstring('''Add.

    ...     Args:
    ...         a: first.
    ...     ''')
    ('Add.', {'a': 'first.'})
    """
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    params: dict[str, str] = {}
    description: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        numpy_rule = i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}
        if _GOOGLE_SECTION.match(line):
            i = _read_google(lines, i + 1, params)
        elif numpy_rule and _NUMPY_SECTION.match(line):
            i = _read_numpy(lines, i + 2, params)
        elif _GOOGLE_OTHER.match(line) or numpy_rule:
            break  # everything after the first other section is not description
        else:
            description.append(lines[i])
            i += 1
    return "\n".join(description).strip(), params


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _read_google(lines: list[str], i: int, params: dict[str, str]) -> int:
    base: int | None = None
    current: str | None = None
    while i < len(lines):
        raw = lines[i]
        if not raw.strip():
            i += 1
            continue
        if base is None:
            base = _indent(raw)
        if _indent(raw) < base:
            break
        item = _GOOGLE_ITEM.match(raw.strip()) if _indent(raw) == base else None
        if item:
            current = item.group(1).lstrip("*")
            params[current] = item.group(2).strip()
        elif current is not None:
            params[current] = f"{params[current]} {raw.strip()}".strip()
        i += 1
    return i


def _read_numpy(lines: list[str], i: int, params: dict[str, str]) -> int:
    current: str | None = None
    while i < len(lines):
        raw = lines[i]
        next_is_rule = i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}
        if next_is_rule and raw.strip():
            break  # the next section starts
        if raw.strip() and _indent(raw) == 0:
            item = _NUMPY_ITEM.match(raw.strip())
            current = item.group(1).lstrip("*") if item else None
            if current is not None:
                params[current] = ""
        elif raw.strip() and current is not None:
            params[current] = f"{params[current]} {raw.strip()}".strip()
        i += 1
    return i
