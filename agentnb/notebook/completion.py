"""Tab completion for the magics: agent names, tool and guard names in `%%agent` cells.

Completes, where the cursor is:

- `%ask <TAB>`, `%%ask <TAB>`, `%agentnb config|export <TAB>`: agents in the namespace;
- `%agentnb <TAB>`: the subcommands; `%%guard NAME --point <TAB>`: the guard points;
- inside a `%%agent` cell, after `tools:` / `guards:` (flow `[a, b]` or block `- a` lists):
  tool names (namespace tools and every `@tool`) and guard names (namespace guards, `@guard`s,
  built-in kinds);
- inside a `%%guard` cell, after `kind:`: the built-in guard kinds.

It is one IPython matcher (API v2) added to `shell.Completer.custom_matchers` by
`%load_ext agentnb`; elsewhere it returns nothing and the usual completions apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from IPython.core.completer import (
    CompletionContext,
    SimpleCompletion,
    SimpleMatcherResult,
    context_matcher,
)

from agentnb.guards.verdict import GUARD_POINTS
from agentnb.notebook import define

__all__ = ["SUBCOMMANDS", "complete", "install", "uninstall"]

SUBCOMMANDS = ("agents", "config", "dashboard", "export", "help", "model", "runs", "stats", "trace")
_WORD = r"[\w.:-]*"
_ASK = re.compile(rf"^\s*%%?ask\s+({_WORD})$")
_SUBCOMMAND = re.compile(rf"^\s*%agentnb\s+({_WORD})$")
_NEEDS_AGENT = re.compile(rf"^\s*%agentnb\s+(?:config|export)\s+({_WORD})$")
_POINT = re.compile(rf"^\s*%%guard\s+.*--point[ =](?:{_WORD},)*({_WORD})$")
_FLOW_ITEM = re.compile(rf"^\s*(tools|guards):\s*\[?(?:\s*{_WORD}\s*,)*\s*({_WORD})$")
_BLOCK_ITEM = re.compile(rf"^(\s*)-\s*({_WORD})$")
_KEY = re.compile(r"^(\s*)(-\s*)?(\w+):")
_KIND = re.compile(rf"^\s*kind:\s*({_WORD})$")


def _block_key(lines: list[str], item_indent: int) -> str | None:
    """The key a block-list item belongs to: the nearest line above it that opens a key."""
    for line in reversed(lines):
        match = _KEY.match(line)
        if match and len(match.group(1)) <= item_indent and not match.group(2):
            return match.group(3)
        if line.strip() and not line.lstrip().startswith("-") and match is None:
            return None
    return None


def complete(
    full_text: str, line: int, column: int, namespace: Mapping[str, Any]
) -> tuple[str, list[tuple[str, str]]]:
    """The fragment before the cursor and the `(completion, type)` pairs for it, if any."""
    lines = full_text.split("\n")
    before = lines[line][:column] if line < len(lines) else ""
    first = lines[0].lstrip()
    agents: Callable[[], list[str]] = lambda: sorted(define.agents_in(namespace))  # noqa: E731

    candidates: list[tuple[str, str]] = []
    fragment = ""
    if line == 0 or not first.startswith("%%"):
        for pattern, names, kind in (
            (_ASK, agents, "agent"),
            (_NEEDS_AGENT, agents, "agent"),
            (_SUBCOMMAND, lambda: list(SUBCOMMANDS), "subcommand"),
            (_POINT, lambda: list(GUARD_POINTS), "guard point"),
        ):
            match = pattern.match(before)
            if match:
                fragment = match.group(1)
                candidates = [(n, kind) for n in names()]
                break
    elif first.startswith("%%agent"):
        flow = _FLOW_ITEM.match(before)
        block = _BLOCK_ITEM.match(before)
        key = None
        if flow:
            key, fragment = flow.group(1), flow.group(2)
        elif block:
            key, fragment = _block_key(lines[1:line], len(block.group(1))), block.group(2)
        if key == "tools":
            candidates = [(n, "tool") for n in define.tool_names(namespace)]
        elif key == "guards":
            candidates = [(n, "guard") for n in define.guard_names(namespace)]
    elif first.startswith("%%guard"):
        kind_match = _KIND.match(before)
        if kind_match:
            from agentnb.guards.guard import BUILTIN_GUARDS

            fragment = kind_match.group(1)
            candidates = [(n, "guard kind") for n in sorted(BUILTIN_GUARDS)]
    return fragment, [(n, kind) for n, kind in candidates if n.startswith(fragment)]


def _matcher(shell: Any) -> Callable[[CompletionContext], SimpleMatcherResult]:
    @context_matcher(identifier="agentnb")  # type: ignore[untyped-decorator]
    def agentnb_matcher(context: CompletionContext) -> SimpleMatcherResult:
        fragment, found = complete(
            context.full_text, context.cursor_line, context.cursor_position, shell.user_ns
        )
        return {
            "completions": [SimpleCompletion(text, type=kind) for text, kind in found],
            "matched_fragment": fragment,
            "suppress": bool(found),
        }

    return agentnb_matcher  # type: ignore[no-any-return]


def install(shell: Any) -> None:
    """Add agentnb's matcher to the shell's completer (once)."""
    matchers: list[Any] = shell.Completer.custom_matchers
    if not any(getattr(m, "matcher_identifier", None) == "agentnb" for m in matchers):
        matchers.append(_matcher(shell))


def uninstall(shell: Any) -> None:
    """Remove agentnb's matcher from the shell's completer (nothing if it is not there)."""
    matchers: list[Any] = shell.Completer.custom_matchers
    matchers[:] = [m for m in matchers if getattr(m, "matcher_identifier", None) != "agentnb"]
