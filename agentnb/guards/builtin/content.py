"""Guards on text: PII detection and redaction, prompt-injection heuristics, blocklists."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal

from agentnb.guards.builtin._base import BuiltinGuard
from agentnb.guards.guard import GuardContext, ToolCallView, ToolResultView
from agentnb.guards.verdict import GuardPoint, OnFail, Verdict
from agentnb.models.messages import AssistantMessage
from agentnb.secrets import SECRET_PATTERN

__all__ = ["blocklist", "find_pii", "injection", "pii"]


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_ok(candidate: str) -> bool:
    iban = candidate.replace(" ", "").upper()
    if not 15 <= len(iban) <= 34:
        return False
    moved = iban[4:] + iban[:4]
    try:
        return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1
    except ValueError:
        return False


def _phone_ok(candidate: str) -> bool:
    """7–15 digits written the way phone numbers are (grouped), not a bare count or a year."""
    digits = re.sub(r"\D", "", candidate)
    return 7 <= len(digits) <= 15


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){1,4}(?!\w)")

PiiKind = Literal["email", "phone", "card", "iban", "secret"]
_DETECTORS: dict[str, tuple[re.Pattern[str], Callable[[str], bool]]] = {
    "secret": (SECRET_PATTERN, lambda m: True),
    "email": (_EMAIL, lambda m: True),
    "iban": (_IBAN, _iban_ok),
    "card": (_CARD, lambda m: _luhn(re.sub(r"\D", "", m))),
    "phone": (_PHONE, lambda m: _phone_ok(m)),
}


def find_pii(text: str, kinds: Sequence[str] = tuple(_DETECTORS)) -> list[tuple[str, str]]:
    """Every (kind, matched text) found, detectors in order: secrets, emails, IBANs, cards, phones.

    Text matched by an earlier detector is not matched again (a card number is not a phone).
    """
    found: list[tuple[str, str]] = []
    remaining = text
    for kind in _DETECTORS:
        if kind not in kinds:
            continue
        pattern, accept = _DETECTORS[kind]
        for match in pattern.finditer(remaining):
            if accept(match.group()):
                found.append((kind, match.group()))
        remaining = pattern.sub(lambda m: " " * len(m.group()) if accept(m.group()) else m.group(),
                                remaining)
    return found


def _redact(text: str, kinds: Sequence[str]) -> str:
    for kind in _DETECTORS:
        if kind in kinds:
            pattern, accept = _DETECTORS[kind]
            label = f"[{kind.upper()}]"

            def replace(m: re.Match[str], label: str = label, accept: Any = accept) -> str:
                return label if accept(m.group()) else m.group()

            text = pattern.sub(replace, text)
    return text


def _text_of(subject: Any) -> str:
    if isinstance(subject, str):
        return subject
    if isinstance(subject, AssistantMessage):
        return subject.text + " ".join(c.arguments for c in subject.tool_calls)
    if isinstance(subject, ToolResultView):
        return subject.content
    if isinstance(subject, ToolCallView):
        return " ".join(str(v) for v in subject.args.values())
    return str(subject)


def _with_text(subject: Any, text: str) -> Any:
    """`subject` with its text replaced (for rewrite verdicts)."""
    if isinstance(subject, AssistantMessage):
        return AssistantMessage(text, subject.tool_calls)
    if isinstance(subject, ToolResultView):
        return ToolResultView(subject.name, subject.args, text, subject.value)
    return text


class _Pii(BuiltinGuard):
    kind = "pii"
    default_points: ClassVar[tuple[GuardPoint, ...]] = ("input", "tool_result", "final_output")

    def __init__(self, action: Literal["redact", "block", "warn"] = "redact",
                 kinds: Sequence[str] | None = None, **common: Any) -> None:
        unknown = set(kinds or ()) - set(_DETECTORS)
        if unknown:
            raise ValueError(f"unknown PII kinds {sorted(unknown)}; use {sorted(_DETECTORS)}")
        super().__init__({"action": action if action != "redact" else None,
                          "kinds": list(kinds) if kinds else None}, **common)
        self.action = action
        self.kinds = tuple(kinds or _DETECTORS)

    def check(self, subject: Any, ctx: GuardContext) -> Verdict | None:
        found = find_pii(_text_of(subject), self.kinds)
        if not found:
            return None
        kinds = sorted({k for k, _ in found})
        reason = f"found {len(found)} PII item(s): {', '.join(kinds)}"
        if self.action == "block":
            return Verdict.block(reason)
        if self.action == "warn":
            return Verdict.warn(reason)
        if isinstance(subject, ToolCallView):
            args = {k: _redact(v, self.kinds) if isinstance(v, str) else v
                    for k, v in subject.args.items()}
            return Verdict.rewrite(args, f"redacted {', '.join(kinds)}")
        if not isinstance(subject, (str, AssistantMessage, ToolResultView)):
            return Verdict.block(reason)  # a typed output cannot be redacted as text
        return Verdict.rewrite(_with_text(subject, _redact(_text_of(subject), self.kinds)),
                               f"redacted {', '.join(kinds)}")


_INJECTION = re.compile(
    r"ignore (?:all |any )?(?:the )?(?:previous|prior|above|earlier) (?:instructions|prompts?|messages)"
    r"|disregard (?:all |any )?(?:the )?(?:previous|prior|above|system) (?:instructions|prompt)"
    r"|forget (?:everything|all) (?:you were told|above|before)"
    r"|you are now (?:a|an|in) "
    r"|new instructions?:"
    r"|system prompt"
    r"|(?:^|\n)\s*(?:system|assistant)\s*:"
    r"|<\s*/?\s*(?:system|instructions?)\s*>"
    r"|do not (?:tell|inform) the user"
    r"|(?:send|forward|email|exfiltrate) .{0,40}(?:password|api key|secret|credentials)",
    re.IGNORECASE,
)


class _Injection(BuiltinGuard):
    kind = "injection"
    default_points: ClassVar[tuple[GuardPoint, ...]] = ("tool_result",)

    def __init__(self, **common: Any) -> None:
        super().__init__({}, **common)

    def check(self, subject: Any, ctx: GuardContext) -> Verdict | None:
        match = _INJECTION.search(_text_of(subject))
        if match is None:
            return None
        return Verdict.block(f"possible prompt injection: {match.group().strip()!r}")


class _Blocklist(BuiltinGuard):
    kind = "blocklist"
    default_points: ClassVar[tuple[GuardPoint, ...]] = ("input", "final_output")

    def __init__(self, words: Sequence[str] = (), patterns: Sequence[str] = (), **common: Any) -> None:
        if not words and not patterns:
            raise ValueError("blocklist needs words=[...] or patterns=[...]")
        super().__init__({"words": list(words) or None, "patterns": list(patterns) or None}, **common)
        alternatives = [rf"\b{re.escape(w)}\b" for w in words] + list(patterns)
        self.regex = re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)

    def check(self, subject: Any, ctx: GuardContext) -> Verdict | None:
        match = self.regex.search(_text_of(subject))
        return Verdict.block(f"contains blocked term {match.group()!r}") if match else None


def pii(
    action: Literal["redact", "block", "warn"] = "redact",
    *,
    kinds: Sequence[PiiKind] | None = None,
    points: Sequence[GuardPoint] | None = None,
    name: str | None = None,
    on_fail: OnFail | None = None,
) -> BuiltinGuard:
    """Find emails, phone numbers, card numbers (Luhn-checked), IBANs (mod-97-checked) and
    API keys/bearer tokens; redact them (default), block, or warn."""
    return _Pii(action, kinds, points=points, name=name, on_fail=on_fail)


def injection(
    *, points: Sequence[GuardPoint] | None = None, name: str | None = None,
    on_fail: OnFail | None = None,
) -> BuiltinGuard:
    """Block tool results that carry instructions aimed at the model (heuristics)."""
    return _Injection(points=points, name=name, on_fail=on_fail)


def blocklist(
    words: Sequence[str] = (),
    *,
    patterns: Sequence[str] = (),
    points: Sequence[GuardPoint] | None = None,
    name: str | None = None,
    on_fail: OnFail | None = None,
) -> BuiltinGuard:
    """Block text containing any of `words` (whole words, any case) or regex `patterns`."""
    return _Blocklist(words, patterns, points=points, name=name, on_fail=on_fail)
