"""Guards on text: PII detection and redaction, prompt-injection heuristics, blocklists."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal

from agentnb.guards.builtin._base import BuiltinGuard
from agentnb.guards.guard import GuardContext, ToolCallView, ToolResultView
from agentnb.guards.verdict import GuardPoint, OnFail, Verdict
from agentnb.models.messages import AssistantMessage, ToolCall
from agentnb.secrets import secret_spans

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
    iban = candidate.replace(" ", "")
    if not 15 <= len(iban) <= 34:
        return False
    moved = iban[4:] + iban[:4]
    try:
        return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1
    except ValueError:
        return False


_Span = tuple[int, int]

# An email is found from its "@": the local part (RFC 5322 atext, so `o'brien@…` or `a+b@…` is
# caught whole) ends there and the domain starts there; top-level domains include the punycode
# ones (`xn--p1ai`). Anchoring on "@" is several times faster than scanning for local parts.
_LOCAL_PART = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}\Z")
_DOMAIN = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:[Xx][Nn]--[A-Za-z0-9-]+|[A-Za-z]{2,})")
# Stretches of digits and separators (7+ characters): cards and phone numbers are looked for
# only inside them, so most of a text is scanned once, by this one fast pattern.
_NUMERIC = re.compile(r"[\d+(][\d\s().-]{5,}\d")
# 13 or more digits with single spaces or dashes between them: a card, or a card and neighbours.
_DIGITS = re.compile(r"\d(?:[ -]?\d){12,}")
_DIGIT_RUN = re.compile(r"\d+")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){1,4}(?!\w)"
)
_DATE = re.compile(r"\d{4}([-./])\d{1,2}\1\d{1,2}|\d{1,2}([-./])\d{1,2}\2(?:\d{4}|\d{2})")
# Starts with a character class, not \b: the regex engine then skips ahead to candidates fast,
# and the word boundary before a candidate is checked by hand.
_IBAN = re.compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_NO_DIGITS = str.maketrans("", "", "0123456789")


def _digits(text: str) -> int:
    return len(text) - len(text.translate(_NO_DIGITS))


_Stretch = tuple[int, int, int]
"""(start, end, how many digits) of a `_NUMERIC` stretch."""


def _secrets(text: str, numbers: list[_Stretch]) -> list[_Span]:
    return secret_spans(text)


def _emails(text: str, numbers: list[_Stretch]) -> list[_Span]:
    spans: list[_Span] = []
    at = text.find("@")
    while at != -1:
        domain = _DOMAIN.match(text, at + 1)
        floor = spans[-1][1] if spans else 0
        local = _LOCAL_PART.search(text, max(floor, at - 64), at) if domain else None
        if domain and local:
            spans.append((local.start(), domain.end()))
            at = text.find("@", domain.end())
        else:
            at = text.find("@", at + 1)
    return spans


def _ibans(text: str, numbers: list[_Stretch]) -> list[_Span]:
    spans = []
    pos = 0
    while m := _IBAN.search(text, pos):
        start, end = m.span()
        pos = start + 1
        if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            continue  # inside a word
        pos = end
        if _iban_ok(m.group()):
            spans.append((start, end))
            continue
        # The pattern also swallows a short uppercase word or number printed after the IBAN
        # ("… 7034 EUR"): try the candidate without its trailing space-separated groups.
        cut = m.group().rfind(" ")
        while cut > 0:
            if _iban_ok(text[start : start + cut]):
                spans.append((start, start + cut))
                break
            cut = text.rfind(" ", start, start + cut) - start
    return spans


def _cards(text: str, numbers: list[_Stretch]) -> list[_Span]:
    spans: list[_Span] = []
    for stretch_start, stretch_end, digits in numbers:
        if digits < 13:
            continue
        for m in _DIGITS.finditer(text, stretch_start, stretch_end):
            start, end = m.span()
            if (start and text[start - 1] in "0123456789-") or text[end : end + 1] == "-":
                continue  # part of a longer dashed identifier
            spans += _cards_in(m)
    return spans


def _cards_in(m: re.Match[str]) -> list[_Span]:
    run = m.group()
    digits = run.replace(" ", "").replace("-", "")
    if len(digits) <= 19 and _luhn(digits):
        return [m.span()]
    # Other numbers printed next to a card ("$12.50 4111 1111 1111 1111") join its run, and which
    # groups are the card is ambiguous: take every card-shaped Luhn-valid stretch of whole
    # groups, merged, so the card is always covered (a neighbour may be too).
    groups = [(g.start(), g.end(), g.group()) for g in _DIGIT_RUN.finditer(run)]
    found: list[_Span] = []
    for i, (start, _, first) in enumerate(groups):
        joined = ""
        for j in range(i, len(groups)):
            joined += groups[j][2]
            if len(joined) > 19 or (j > i and (len(first) != 4 or len(groups[j][2]) > 6)):
                break
            if len(joined) >= 13 and _luhn(joined):
                a, b = m.start() + start, m.start() + groups[j][1]
                if found and a <= found[-1][1]:
                    found[-1] = (found[-1][0], max(b, found[-1][1]))
                else:
                    found.append((a, b))
    return found


def _phone_ok(candidate: str) -> bool:
    """7-15 digits grouped the way phone numbers are; not a date, not a list of prices."""
    if not 7 <= _digits(candidate) <= 15 or _DATE.fullmatch(candidate):
        return False
    # "12.50 13.75": decimals side by side; phone numbers use one kind of separator.
    return not ("." in candidate and any(c.isspace() for c in candidate))


def _phones(text: str, numbers: list[_Stretch]) -> list[_Span]:
    spans = []
    for start, end, digits in numbers:
        if digits >= 7:
            # One character past the stretch, so the pattern's `(?!\w)` sees what follows.
            spans += [m.span() for m in _PHONE.finditer(text, start, end + 1) if _phone_ok(m[0])]
    return spans


PiiKind = Literal["email", "phone", "card", "iban", "secret"]
_DETECTORS: dict[str, Callable[[str, list[_Stretch]], list[_Span]]] = {
    "secret": _secrets,
    "email": _emails,
    "iban": _ibans,
    "card": _cards,
    "phone": _phones,
}


def _scan(text: str, kinds: Sequence[str]) -> list[tuple[str, int, int]]:
    """(kind, start, end) of every PII item, detectors in order; later detectors do not see
    text an earlier one matched (a card number is not also a phone number)."""
    found: list[tuple[str, int, int]] = []
    has_digits = any(d in text for d in "0123456789")
    numbers = (
        [(m.start(), m.end(), _digits(m[0])) for m in _NUMERIC.finditer(text)] if has_digits else []
    )
    remaining = text
    for kind, detect in _DETECTORS.items():
        if kind not in kinds:
            continue
        if (kind == "iban" and not has_digits) or (kind in ("card", "phone") and not numbers):
            continue
        spans = detect(remaining, numbers)
        if spans:
            found.extend((kind, a, b) for a, b in spans)
            parts, last = [], 0
            for a, b in spans:
                parts += [remaining[last:a], " " * (b - a)]
                last = b
            remaining = "".join(parts) + remaining[last:]
    return found


def find_pii(text: str, kinds: Sequence[str] = tuple(_DETECTORS)) -> list[tuple[str, str]]:
    """Every (kind, matched text) found, detectors in order: secrets, emails, IBANs, cards, phones.

    Text matched by an earlier detector is not matched again (a card number is not a phone).

    >>> find_pii("Mail ana@example.com or call +44 20 7946 0958; order 1042 was $12.50.")
    [('email', 'ana@example.com'), ('phone', '+44 20 7946 0958')]
    """
    return [(kind, text[a:b]) for kind, a, b in _scan(text, kinds)]


def _replace(text: str, found: list[tuple[str, int, int]]) -> str:
    """`text` with each found item replaced by its label (`[EMAIL]`)."""
    parts, last = [], 0
    for kind, a, b in sorted(found, key=lambda item: item[1]):
        parts += [text[last:a], f"[{kind.upper()}]"]
        last = b
    return "".join(parts) + text[last:]


def _redact(text: str, kinds: Sequence[str]) -> str:
    found = _scan(text, kinds)
    return _replace(text, found) if found else text


def _text_of(subject: Any) -> str:
    if isinstance(subject, str):
        return subject
    if isinstance(subject, AssistantMessage):
        return " ".join([subject.text, *(c.arguments for c in subject.tool_calls)])
    if isinstance(subject, ToolResultView):
        return subject.content
    if isinstance(subject, ToolCallView):
        return " ".join(str(v) for v in subject.args.values())
    return str(subject)


class _Pii(BuiltinGuard):
    kind = "pii"
    default_points: ClassVar[tuple[GuardPoint, ...]] = ("input", "tool_result", "final_output")

    def __init__(
        self,
        action: Literal["redact", "block", "warn"] = "redact",
        kinds: Sequence[str] | None = None,
        **common: Any,
    ) -> None:
        if action not in ("redact", "block", "warn"):
            raise ValueError(f"pii action must be 'redact', 'block' or 'warn', got {action!r}")
        unknown = set(kinds or ()) - set(_DETECTORS)
        if unknown:
            raise ValueError(f"unknown PII kinds {sorted(unknown)}; use {sorted(_DETECTORS)}")
        super().__init__(
            {
                "action": action if action != "redact" else None,
                "kinds": list(kinds) if kinds else None,
            },
            **common,
        )
        self.action = action
        self.kinds = tuple(kinds or _DETECTORS)

    def check(self, subject: Any, ctx: GuardContext) -> Verdict | None:
        text = _text_of(subject)
        found = _scan(text, self.kinds)
        if not found:
            return None
        kinds = sorted({k for k, _, _ in found})
        reason = f"found {len(found)} PII item(s): {', '.join(kinds)}"
        if self.action == "block":
            return Verdict.block(reason)
        if self.action == "warn":
            return Verdict.warn(reason)
        redacted = f"redacted {', '.join(kinds)}"
        if isinstance(subject, ToolCallView):
            args = {
                k: _redact(v, self.kinds) if isinstance(v, str) else v
                for k, v in subject.args.items()
            }
            if _scan(_text_of(ToolCallView(subject.name, args, subject.id)), self.kinds):
                # In a number or a nested value: no text to put a label in, so the call stops.
                return Verdict.block(f"{reason} that cannot be redacted")
            return Verdict.rewrite(args, redacted)
        if isinstance(subject, str):
            return Verdict.rewrite(_replace(text, found), redacted)
        if isinstance(subject, ToolResultView):
            clean = _replace(text, found)
            return Verdict.rewrite(
                ToolResultView(subject.name, subject.args, clean, subject.value), redacted
            )
        if isinstance(subject, AssistantMessage):
            # The text and each call's JSON arguments separately: the labels keep JSON valid.
            calls = [
                ToolCall(c.id, c.name, _redact(c.arguments, self.kinds)) for c in subject.tool_calls
            ]
            return Verdict.rewrite(
                AssistantMessage(_redact(subject.text, self.kinds), calls), redacted
            )
        return Verdict.block(reason)  # a typed output cannot be redacted as text


_INJECTION = re.compile(
    r"ignore (?:all |any )?(?:the )?(?:previous|prior|above|earlier) "
    r"(?:instructions|prompts?|messages)"
    r"|disregard (?:all |any )?(?:the )?(?:previous|prior|above|system) (?:instructions|prompt)"
    r"|forget (?:everything|all) (?:you were told|above|before)"
    # Role changes and prompt leaks, not ordinary prose ("you are now a premium member",
    # "how to write a system prompt").
    r"|you are now (?:an? |in )(?:\w+ ){0,2}(?:ai|assistant|model|chatbot|bot|mode|persona)\b"
    r"|new instructions?:"
    r"|(?:reveal|print|show|repeat|output|leak|override|ignore|disregard) (?:\w+ ){0,2}"
    r"system prompt"
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

    def __init__(
        self, words: Sequence[str] = (), patterns: Sequence[str] = (), **common: Any
    ) -> None:
        if not words and not patterns:
            raise ValueError("blocklist needs words=[...] or patterns=[...]")
        super().__init__(
            {"words": list(words) or None, "patterns": list(patterns) or None}, **common
        )
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:  # not a ValueError: config validation would not catch it
                raise ValueError(
                    f"blocklist pattern {pattern!r} is not a valid regex: {exc}"
                ) from None
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
    *,
    points: Sequence[GuardPoint] | None = None,
    name: str | None = None,
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
