"""The offline model's reading of a request: tokens, and the values a tool argument could take.

One compiled pattern splits the text into tokens (quoted strings, emails, dates, `800x600`, ids,
numbers with their currency sign or percent, file names, words, punctuation); `read` turns them
into `Candidate`s, each remembering where it stands so the filler can look at the words beside it.
Everything here is fixed tables and string rules: no model, no learning.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = ["Candidate", "Reading", "Token", "read", "stem"]

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_WEEKDAYS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday today tomorrow".split()
)
_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_NUM = r"-?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?)"
_TOKEN_PATTERN = (
    r"""
    "(?P<q1>[^"]+)" | (?<!\w)'(?P<q2>[^']+)'(?!\w) | “(?P<q3>[^”]+)”
  | (?P<email>[\w.+-]+@[\w-]+\.[\w.-]+|\[EMAIL\])
  | (?P<iso>\d{4}-\d{2}-\d{2})\b
  | (?P<dmy>(?P<d1>\d{1,2})(?:st|nd|rd|th)?\s+(?P<m1>"""
    + _MONTH
    + r""")(?:,?\s+(?P<y1>\d{4}))?)\b
  | (?P<mdy>(?P<m2>"""
    + _MONTH
    + r""")\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<y2>\d{4}))?)\b
  | (?P<dims>(?P<w>\d+)\s?[x×]\s?(?P<h>\d+))\b
  | (?P<id>\#?[A-Za-z]{1,6}[-_]\d[\w-]*|(?-i:[A-Z]{1,6})\d[\w-]*|\d+(?:-\d+)+|\#\d+)\b
  | (?:(?P<sign>[$€£¥])\s?)?(?P<number>"""
    + _NUM
    + r""")(?![\w])(?P<pct>%)?
  | (?P<path>[\w-]+(?:/[\w.-]+)*\.[A-Za-z][A-Za-z0-9]{1,4}|[\w.-]+(?:/[\w.-]+)+)\b
  | (?P<word>[A-Za-z][A-Za-z'’-]*)
  | (?P<punct>[,;:.!?()])
    """
)


@functools.cache
def _tokens() -> re.Pattern[str]:
    """The token pattern, compiled on first use: `import agentnb` does not pay for it."""
    return re.compile(_TOKEN_PATTERN, re.VERBOSE | re.IGNORECASE)


_THOUSANDS = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SIGN_WORDS = {"$": "dollar", "€": "euro", "£": "pound", "¥": "yen"}
_SUFFIXES = ("ing", "ies", "es", "ed", "s")
_LIST_JOINERS = frozenset({",", "and", "&"})


@functools.lru_cache(maxsize=4096)  # the same few hundred words, request after request
def stem(word: str) -> str:
    """A crude stem, the same for "miles"/"mile" and "enabled"/"enable" (never shown to anyone)."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


@dataclass(slots=True)
class Token:
    """One token: its kind (`word`, `punct`, or a value kind), raw text and lowercased stem."""

    kind: str
    text: str
    stem: str = ""
    capital: bool = False  # a capitalised word that is not the first of a sentence


@dataclass(slots=True)
class Candidate:
    """A value the request offers, over tokens `start`..`end` (inclusive)."""

    kind: str  # number | id | quoted | email | date | path | name | list | phrase | enum
    value: Any
    start: int
    end: int
    hints: tuple[str, ...] = ()  # words the value carries itself: "$" → dollar, "%" → percent
    text: str = ""  # a number as written ("1042" of "#1042"), for an id given as a number


@dataclass(slots=True)
class Reading:
    """The tokens of a request and the candidates found in them."""

    tokens: list[Token]
    candidates: list[Candidate] = field(default_factory=list)


def _date(year: str | None, month: int, day: str) -> date | None:
    if year is None:
        return None  # "on March 3" names no year; guessing this year would not be reproducible
    try:
        return date(int(year), month, int(day))
    except ValueError:
        return None


def _number(raw: str) -> float:
    return float(raw.replace(",", "") if _THOUSANDS.fullmatch(raw) else raw.replace(",", "."))


def _value_of(match: re.Match[str], index: int) -> Candidate | list[Candidate] | None:
    groups = match.groupdict()
    quoted = groups["q1"] or groups["q2"] or groups["q3"]
    if quoted:
        return Candidate("quoted", quoted, index, index)
    if groups["email"]:
        return Candidate("email", groups["email"], index, index)
    if groups["iso"]:
        y, m, d = groups["iso"].split("-")
        value = _date(y, int(m), d)
        return Candidate("date", value, index, index) if value else None
    if groups["dmy"] or groups["mdy"]:
        month = _MONTHS[(groups["m1"] or groups["m2"]).lower().rstrip(".")]
        value = _date(groups["y1"] or groups["y2"], month, groups["d1"] or groups["d2"])
        return Candidate("date", value, index, index) if value else None
    if groups["dims"]:
        return [
            Candidate("number", float(groups["w"]), index, index, ("width",), groups["w"]),
            Candidate("number", float(groups["h"]), index + 1, index + 1, ("height",), groups["h"]),
        ]
    if groups["id"]:
        text = groups["id"]
        if text.startswith("#"):
            return Candidate("number", float(text[1:]), index, index, ("number",), text[1:])
        return Candidate("id", text, index, index)
    if groups["number"]:
        hints = tuple(
            h
            for h in (_SIGN_WORDS.get(groups["sign"] or ""), "percent" if groups["pct"] else None)
            if h
        )
        raw = groups["number"]
        written = raw.replace(",", "") if _THOUSANDS.fullmatch(raw) else raw
        return Candidate("number", _number(raw), index, index, hints, written)
    if groups["path"]:
        return Candidate("path", groups["path"], index, index)
    return None


def _names(tokens: list[Token]) -> list[Candidate]:
    """Runs of capitalised words: "New York", "Ann"."""
    runs: list[Candidate] = []
    i = 0
    while i < len(tokens):
        if tokens[i].capital:
            j = i
            while j + 1 < len(tokens) and tokens[j + 1].capital:
                j += 1
            text = " ".join(t.text for t in tokens[i : j + 1])
            runs.append(Candidate("name", text, i, j))
            i = j + 1
        else:
            i += 1
    return runs


def _lists(tokens: list[Token], items: list[Candidate], hint: str) -> list[Candidate]:
    """Items joined by commas or "and" ("Ann, Bob and Carla", "'ideas' and 'draft'") as `list`s.

    A lone item is a list of one: "invite Sam".
    """
    found: list[Candidate] = []
    group: list[Candidate] = []
    for item in [*items, None]:
        if item is not None and group:
            between = tokens[group[-1].end + 1 : item.start]
            if between and all(t.text.lower() in _LIST_JOINERS for t in between):
                group.append(item)
                continue
        if group:
            values = [c.value for c in group]
            found.append(Candidate("list", values, group[0].start, group[-1].end, (hint,)))
        group = [item] if item is not None else []
    return found


def read(text: str) -> Reading:
    """Tokenise `text` and collect its candidate values, in order of appearance."""
    tokens: list[Token] = []
    candidates: list[Candidate] = []
    sentence_start = True
    for match in _tokens().finditer(text):
        index = len(tokens)
        word, punct = match.group("word"), match.group("punct")
        if word is not None:
            lowered = word.lower()
            capital = (
                word[0].isupper()
                and word[1:2].islower()
                and not sentence_start
                and lowered not in _MONTHS
                and lowered not in _WEEKDAYS
            )
            tokens.append(Token("word", word, stem(lowered), capital))
            sentence_start = False
        elif punct is not None:
            tokens.append(Token("punct", punct))
            sentence_start = punct in ".!?:"
        else:
            found = _value_of(match, index)
            sentence_start = False
            if isinstance(found, list):  # "800x600": one token per number, width then height
                tokens.extend(Token("value", c.text) for c in found)
                candidates.extend(found)
                continue
            tokens.append(Token("value", match.group(0)))
            if found is not None:
                candidates.append(found)
    names = _names(tokens)
    candidates.extend(names)
    candidates.extend(_lists(tokens, names, "names"))
    candidates.extend(_lists(tokens, [c for c in candidates if c.kind == "quoted"], "quoted"))
    candidates.extend(_lists(tokens, [c for c in candidates if c.kind == "number"], "numbers"))
    return Reading(tokens, candidates)
