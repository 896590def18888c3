"""Guards on tool calls: allow/deny lists and argument rules."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

from agentnb.guards.builtin._base import BuiltinGuard
from agentnb.guards.guard import GuardContext, ToolCallView
from agentnb.guards.verdict import GuardPoint, OnFail, Verdict

__all__ = ["allow_tools", "deny_tools", "tool_args"]


class _AllowTools(BuiltinGuard):
    kind = "allow_tools"
    default_points: ClassVar[tuple[GuardPoint, ...]] = ("tool_call",)

    def __init__(self, tools: Sequence[str], **common: Any) -> None:
        super().__init__({"tools": list(tools)}, **common)
        self.allowed = frozenset(tools)

    def check(self, subject: ToolCallView, ctx: GuardContext) -> Verdict | None:
        if subject.name in self.allowed:
            return None
        return Verdict.block(f"tool {subject.name!r} is not in the allow list")


class _DenyTools(BuiltinGuard):
    kind = "deny_tools"
    default_points: ClassVar[tuple[GuardPoint, ...]] = ("tool_call",)

    # `denied`, not `tools`: a shared deny list may name tools this agent does not have.
    def __init__(self, denied: Sequence[str], **common: Any) -> None:
        super().__init__({"denied": list(denied)}, **common)
        self.denied = frozenset(denied)

    def check(self, subject: ToolCallView, ctx: GuardContext) -> Verdict | None:
        if subject.name in self.denied:
            return Verdict.block(f"tool {subject.name!r} is denied")
        return None


def _as_number(value: Any) -> float | int | Decimal | None:
    """`value` as a number a limit can compare, or None: a number-like string counts (a tool
    may take `amount: str`), a bool does not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _rule_problem(field: str, value: Any, rule: dict[str, Any]) -> str | None:
    if "min" in rule or "max" in rule:
        number = _as_number(value)
        if number is None:
            return f"{field}={value!r} is not a number, so its limits cannot hold"
        # NaN compares false with everything, so `nan > max` would let it through.
        if not math.isfinite(number):
            return f"{field}={value!r} is not a finite number, so its limits cannot hold"
        if "min" in rule and number < rule["min"]:
            return f"{field}={value!r} is below the minimum {rule['min']}"
        if "max" in rule and number > rule["max"]:
            return f"{field}={value!r} is above the maximum {rule['max']}"
    if "one_of" in rule and value not in rule["one_of"]:
        return f"{field}={value!r} is not one of {rule['one_of']}"
    if "pattern" in rule and not re.fullmatch(rule["pattern"], str(value)):
        return f"{field}={value!r} does not match {rule['pattern']!r}"
    return None


_RULE_KEYS = frozenset(("min", "max", "one_of", "pattern"))


def _check_rule(field: str, rule: Any) -> None:
    """Fail at config time: a broken rule would make the guard block every call."""
    if not isinstance(rule, dict):
        raise ValueError(f"tool_args rule for {field!r} must be a mapping, got {rule!r}")
    unknown = set(rule) - _RULE_KEYS
    if unknown:
        raise ValueError(
            f"tool_args rule for {field!r} has unknown keys {sorted(unknown)}; "
            f"use {sorted(_RULE_KEYS)}"
        )
    for bound in ("min", "max"):
        value = rule.get(bound)
        if bound in rule and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"tool_args {field}.{bound} must be a number, got {value!r}")
    if "one_of" in rule and not isinstance(rule["one_of"], list):
        raise ValueError(f"tool_args {field}.one_of must be a list, got {rule['one_of']!r}")
    if "pattern" in rule:
        try:
            re.compile(rule["pattern"])
        except (re.error, TypeError) as exc:
            raise ValueError(f"tool_args {field}.pattern is not a regex: {exc}") from None


class _ToolArgs(BuiltinGuard):
    kind = "tool_args"
    default_points: ClassVar[tuple[GuardPoint, ...]] = ("tool_call",)

    def __init__(
        self, tools: Sequence[str], rules: dict[str, dict[str, Any]], **common: Any
    ) -> None:
        for field, rule in rules.items():
            _check_rule(field, rule)
        super().__init__({"tools": list(tools), "rules": rules}, **common)
        self.tools = frozenset(tools)
        self.rules = rules

    def check(self, subject: ToolCallView, ctx: GuardContext) -> Verdict | None:
        if subject.name not in self.tools:
            return None
        for field, rule in self.rules.items():
            if field in subject.args:
                problem = _rule_problem(field, subject.args[field], rule)
                if problem:
                    return Verdict.block(problem)
        return None


def allow_tools(
    tools: Sequence[str], *, name: str | None = None, on_fail: OnFail | None = None
) -> BuiltinGuard:
    """Block calls of any tool not listed."""
    return _AllowTools(tools, name=name, on_fail=on_fail)


def deny_tools(
    tools: Sequence[str], *, name: str | None = None, on_fail: OnFail | None = None
) -> BuiltinGuard:
    """Block calls of the listed tools."""
    return _DenyTools(tools, name=name, on_fail=on_fail)


def tool_args(
    tool: str,
    rules: dict[str, dict[str, Any]] | None = None,
    *,
    name: str | None = None,
    on_fail: OnFail | None = None,
    **field_rules: dict[str, Any],
) -> BuiltinGuard:
    """Block calls of `tool` whose arguments break a rule (`min`, `max`, `one_of`, `pattern`).

    >>> g = tool_args("refund", amount={"max": 100})
    """
    return _ToolArgs([tool], {**(rules or {}), **field_rules}, name=name, on_fail=on_fail)
