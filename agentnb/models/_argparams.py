"""What the offline model knows about a tool parameter, from its JSON Schema alone.

Each parameter gets a kind (integer, number, boolean, date, email, id, path, free text, string,
list, enum), the words that speak for it (its name, weight 3; its description, weight 1.5; both
through a small synonym table) and a role ("from"/"to") read off its name or the preposition its
description ends with. A string whose description only lists values ("EUR, GBP or JPY.") is
read as an enum of them. Fixed tables and rules: no model, no learning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from agentnb.models._argtokens import stem

__all__ = [
    "STOP",
    "Param",
    "aliases",
    "by_identity",
    "concept",
    "enum_of",
    "enum_words",
    "params_of",
]

STOP = frozenset(
    """a an the of to in on for from by with and or is are be was it this that what how much many
    me my i you your we our please can could would do does get give tell show at as into its their
    them they which who e g eg new value number""".split()
)
_GROUPS = {
    "money": "$ dollar usd euro eur € pound gbp £ yen jpy ¥ buck cash money price cost amount",
    "percent": "% percent pct",
    "width": "width wide",
    "height": "height high tall",
    "people": "people person passenger adult traveller traveler guest",
    "minute": "minute min mins",
    "max": "max maximum under below most less cheaper within",
    "why": "why because reason since",
    "number": "number no num #",
}
CONCEPT = {stem(w): group for group, words in _GROUPS.items() for w in words.split()}
_ALIAS_GROUPS = tuple(
    group.split()
    for group in (
        "km kms kilometer kilometre",
        "mi mile",
        "m meter metre",
        "ft feet foot",
        "cm centimeter centimetre",
        "kg kilo kilogram",
        "lb lbs pound",
        "g gram",
        "celsius centigrade",
        "fahrenheit",
        "usd dollar $ buck",
        "eur euro €",
        "gbp pound sterling £",
        "jpy yen ¥",
    )
)
_ALIAS_STEMS = [{stem(w) for w in group} for group in _ALIAS_GROUPS]
_FROM_NAMES = frozenset({"from", "source", "origin", "sender", "src"})
_TO_NAMES = frozenset({"to", "target", "destination", "dest", "into", "recipient"})
_ID_WORDS = frozenset(
    "id ids number code ref sku account acct key order invoice ticket identifier".split()
)
# Free text: a quoted string, else the whole request. A search's words can be picked out of it.
_FREE_TEXT = frozenset({"text", "question", "prompt", "message", "content", "input"})
_SEARCH = frozenset({"query", "q", "search", "keywords", "terms", "topic"})
_PATH_WORDS = frozenset({"path", "file", "filename", "image", "photo", "document"})
_SOFT_ENUM = re.compile(r"^(?:one of\s+)?([\w-]+(?:,\s*[\w-]+)*,?\s+or\s+[\w-]+)\.?$")
_SPLIT = re.compile(r",\s*|\s+or\s+")
_CAMEL = re.compile(r"([a-z])([A-Z])")
_WORD = re.compile(r"[A-Za-z']+|[$€£¥%#]")


def concept(word_stem: str) -> str:
    """The synonym group a stemmed word belongs to ("dollar" → money), else the word itself."""
    return CONCEPT.get(word_stem, word_stem)


@dataclass(slots=True)
class Param:
    """One tool parameter as the filler sees it."""

    name: str
    kind: str  # integer number boolean date email id path free search string list enum object
    required: bool
    keys: dict[str, float]  # concept → weight
    name_keys: frozenset[str]
    role: str | None  # "from", "to" or None
    enum: tuple[Any, ...] = ()
    items: str = ""  # the JSON type of a list's items


def _concepts(text: str) -> list[str]:
    spaced = _CAMEL.sub(r"\1 \2", text).replace("_", " ")
    found = []
    for word in _WORD.findall(spaced):
        lowered = word.lower()
        if lowered not in STOP:
            key = stem(lowered)
            found.append(concept(key))
    return found


def enum_of(prop: dict[str, Any], root: dict[str, Any]) -> list[Any]:
    """The allowed values of a schema property: inline, in `anyOf`, or behind a `$defs` ref."""
    if "enum" in prop:
        return list(prop["enum"])
    ref = prop.get("$ref") or next(
        (a.get("$ref") for a in prop.get("anyOf", []) if "$ref" in a), None
    )
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return list(root.get("$defs", {}).get(ref.split("/")[-1], {}).get("enum", []))
    return list(next((a["enum"] for a in prop.get("anyOf", []) if "enum" in a), []))


def _plain(prop: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an `Optional[...]` (`anyOf: [X, {type: null}]`)."""
    branches = [a for a in prop.get("anyOf", []) if a.get("type") != "null"]
    return branches[0] if len(branches) == 1 else prop


def _role(name_words: list[str], description: str) -> str | None:
    if _FROM_NAMES & set(name_words):
        return "from"
    if _TO_NAMES & set(name_words):
        return "to"
    # Only a closing preposition: "the city to fly from"; not the "to" of "dollars to refund".
    words = description.lower().rstrip(" .").split()
    last = words[-1] if words else ""
    return "from" if last == "from" else ("to" if last in ("to", "into") else None)


def _param(name: str, prop: dict[str, Any], root: dict[str, Any], required: bool) -> Param:
    description = str(prop.get("description", ""))
    plain = _plain(prop)
    enum = enum_of(prop, root)
    name_words = [w.lower() for w in _CAMEL.sub(r"\1 \2", name).replace("_", " ").split()]
    soft = _SOFT_ENUM.match(description.strip())
    if not enum and soft and plain.get("type") == "string":
        enum = [v for v in _SPLIT.split(soft.group(1)) if v]
    kind = str(plain.get("type", "string"))
    words = set(name_words) | set(_WORD.findall(description.lower()))
    if enum:
        kind = "enum"
    elif kind == "array":
        kind = "list"
    elif kind == "string":
        if plain.get("format") == "date" or {"date", "day"} & set(name_words):
            kind = "date"
        elif "email" in name.lower():
            kind = "email"
        elif name.lower() in _FREE_TEXT:
            kind = "free"
        elif name.lower() in _SEARCH:
            kind = "search"
        elif _ID_WORDS & set(name_words) or {"id", "identifier"} & words:
            kind = "id"
        elif _PATH_WORDS & set(name_words):
            kind = "path"
    keys: dict[str, float] = {}
    for word in _concepts(description):
        keys[word] = 1.5
    name_keys = frozenset(_concepts(name))
    for word in name_keys:
        keys[word] = 3.0
    role = _role(name_words, description)
    items = str(plain.get("items", {}).get("type", "string")) if kind == "list" else ""
    return Param(name, kind, required, keys, name_keys, role, tuple(enum), items)


def aliases(value: Any) -> set[str]:
    own = stem(str(value))
    return next((group for group in _ALIAS_STEMS if own in group), {own})


def enum_words(value: Any) -> list[str]:
    """An enum value and the unit or currency words that name it: `"km"` → km, kilometre, …"""
    own = stem(str(value))
    group = next(
        (g for g, stems in zip(_ALIAS_GROUPS, _ALIAS_STEMS, strict=True) if own in stems), ()
    )
    return [str(value), *group]


_T = TypeVar("_T")
_MADE: dict[tuple[int, str], tuple[object, Any]] = {}


def by_identity(source: object, purpose: str, make: Callable[[], _T]) -> _T:
    """`make()`, computed once per live `source` object (a tool's schema is built once and reused).

    The cache keeps `source` alive, so its id cannot be reused by another object while cached.
    """
    key = (id(source), purpose)
    hit = _MADE.get(key)
    if hit is not None and hit[0] is source:
        return cast(_T, hit[1])
    if len(_MADE) > 512:
        _MADE.clear()
    value = make()
    _MADE[key] = (source, value)
    return value


def params_of(schema: dict[str, Any]) -> list[Param]:
    """The parameters of a JSON Schema `object`, in its order."""

    def make() -> list[Param]:
        required = set(schema.get("required", []))
        return [
            _param(name, prop, schema, name in required)
            for name, prop in schema.get("properties", {}).items()
        ]

    return by_identity(schema, "params", make)
