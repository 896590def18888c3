"""The offline model's argument filler: which value in a request goes to which tool parameter.

Not a language model: a fixed scoring rule. Every candidate value of the request (see
`_argtokens`) is scored against every parameter it could fill:

- type first: a date fills a date, an id an id-like string, a whole number an integer;
- then the words beside the value (three before, two after, in the same clause) against the
  parameter's name (weight 3) and the words of its docstring description (weight 1.5), after a
  small table of synonyms ("$", "dollars", "euros" → money; "%", "percent"; "wide" → width);
- prepositions: a parameter named `from_*`/`origin` (or whose description ends in "from") takes
  the value after "from", a `to_*`/`destination` one the value after "to"/"into"/"in";
  a unit written after a number ("42 km") is the unit it comes *from*, "how many miles" the
  unit it goes *to*;
- enum values are found by their own spelling or a unit/currency word ("kilometres" → `km`,
  "pounds" → `lb` or `GBP`, whichever the enum has).

The best-scoring pairs are taken first, each value used once. Optional parameters are set only
when some word speaks for them; required ones take what is left, in order. Booleans read their
own name ("without keeping the aspect") or on/off words ("turn off", "disable", "don't").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agentnb.models._argtokens import Candidate, Reading, Token, read, stem

__all__ = ["enum_of", "enum_words", "fill_arguments"]

_STOP = frozenset(
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
_CONCEPT = {stem(w): concept for concept, words in _GROUPS.items() for w in words.split()}
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
_ALIASES = [{stem(w) for w in group} for group in _ALIAS_GROUPS]
_FROM_NAMES = frozenset({"from", "source", "origin", "sender", "src"})
_TO_NAMES = frozenset({"to", "target", "destination", "dest", "into", "recipient"})
_ID_WORDS = frozenset(
    "id ids number code ref sku account acct key order invoice ticket identifier".split()
)
_FREE_TEXT = frozenset({"query", "q", "text", "question", "prompt", "message", "content", "input"})
_PATH_WORDS = frozenset({"path", "file", "filename", "image", "photo", "document"})
_SWITCH = frozenset({stem(w) for w in ("enabled", "enable", "active", "on", "activated")})
_BOOL_GENERIC = frozenset({"only", "is", "has", "use", "allow", "should", "flag", "in", "with"})
_NEGATIVE = frozenset(
    "no not don't dont never without disable disabled deactivate off stop false none".split()
)
_POSITIVE = frozenset("enable enabled activate yes true start".split())
_PHRASE_STOP = _STOP | frozenset(
    "under below over above less more cheaper costing priced only max min that which with".split()
)
_ARTICLES = frozenset({"a", "an", "the", "some", "any"})
_BREAKS = frozenset({"and", "but", "then", "or"})
_BEFORE = (1.0, 0.7, 0.5)
_AFTER = (1.0, 0.6)
_SOFT_ENUM = re.compile(r"^(?:one of\s+)?([\w-]+(?:,\s*[\w-]+)*,?\s+or\s+[\w-]+)\.?$")
_SPLIT = re.compile(r",\s*|\s+or\s+")
_CAMEL = re.compile(r"([a-z])([A-Z])")
_CONCEPT_WORD = re.compile(r"[A-Za-z']+|[$€£¥%#]")


@dataclass(slots=True)
class _Param:
    name: str
    kind: str  # integer number boolean date email id path free string list enum object
    required: bool
    keys: dict[str, float]  # concept → weight
    name_keys: frozenset[str]
    role: str | None  # "from", "to" or None
    enum: tuple[Any, ...] = ()


def _concepts(text: str) -> list[str]:
    spaced = _CAMEL.sub(r"\1 \2", text).replace("_", " ")
    found = []
    for word in _CONCEPT_WORD.findall(spaced):
        lowered = word.lower()
        if lowered not in _STOP:
            key = stem(lowered)
            found.append(_CONCEPT.get(key, key))
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


def _param(name: str, prop: dict[str, Any], root: dict[str, Any], required: bool) -> _Param:
    description = str(prop.get("description", ""))
    plain = _plain(prop)
    enum = enum_of(prop, root)
    name_words = [w.lower() for w in _CAMEL.sub(r"\1 \2", name).replace("_", " ").split()]
    soft = _SOFT_ENUM.match(description.strip())
    if not enum and soft and plain.get("type") == "string":
        enum = [v for v in _SPLIT.split(soft.group(1)) if v]
    kind = str(plain.get("type", "string"))
    words = set(name_words) | {w.lower() for w in description.split()}
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
        elif _ID_WORDS & set(name_words) or {"id", "identifier"} & words:
            kind = "id"
        elif _PATH_WORDS & set(name_words):
            kind = "path"
    keys: dict[str, float] = {}
    for concept in _concepts(description):
        keys[concept] = 1.5
    name_keys = frozenset(_concepts(name))
    for concept in name_keys:
        keys[concept] = 3.0
    return _Param(name, kind, required, keys, name_keys, _role(name_words, description), tuple(enum))


def _context(tokens: list[Token], cand: Candidate) -> list[tuple[str, float]]:
    """The concepts beside a value, with their closeness.

    Before it: up to three words, skipping little words ("amount of 12.50"), stopping at
    punctuation, "and", or the unit of an earlier value ("250 dollars on order 1042"). After it:
    the words right behind it, its unit ("5 years", "1200 pixels wide").
    """
    out = [(_CONCEPT.get(h, h), 1.0) for h in cand.hints]
    taken = 0
    for i in range(cand.start - 1, max(cand.start - 7, -1), -1):
        token = tokens[i]
        lowered = token.text.lower()
        if token.kind != "word" or lowered in _BREAKS or taken == len(_BEFORE):
            break
        if i > 0 and tokens[i - 1].kind == "value":
            break
        if lowered not in _STOP:
            out.append((_CONCEPT.get(token.stem, token.stem), _BEFORE[taken]))
            taken += 1
    for i in range(cand.end + 1, min(cand.end + 1 + len(_AFTER), len(tokens))):
        token = tokens[i]
        if token.kind != "word" or token.text.lower() in _STOP or token.text.lower() in _BREAKS:
            break
        out.append((_CONCEPT.get(token.stem, token.stem), _AFTER[i - cand.end - 1]))
    return out


def _preposition(tokens: list[Token], start: int) -> str | None:
    """"from"/"to" when one of the three words before a value (in its clause) says so."""
    for i in range(start - 1, max(start - 4, -1), -1):
        token = tokens[i]
        if token.kind != "word":
            return None
        word = token.text.lower()
        if word == "from":
            return "from"
        if word in ("to", "into", "in", "as"):
            return "to" if word != "in" else "in"
    return None


def _enum_role(tokens: list[Token], start: int) -> str | None:
    """A unit after a number is the one converted from; "how many miles" is the one wanted."""
    before = tokens[start - 1] if start > 0 else None
    if before is not None and before.kind == "value":
        return "from"
    if (
        before is not None
        and before.stem == "degree"
        and start > 1
        and tokens[start - 2].kind == "value"
    ):
        return "from"
    if start > 1 and tokens[start - 1].text.lower() == "many" and tokens[start - 2].stem == "how":
        return "to"
    prep = _preposition(tokens, start)
    return "to" if prep == "in" else prep


def _aliases(value: Any) -> set[str]:
    own = stem(str(value))
    return next((group for group in _ALIASES if own in group), {own})


def enum_words(value: Any) -> list[str]:
    """An enum value and the unit or currency words that name it: `"km"` → km, kilometre, …"""
    own = stem(str(value))
    group = next((g for g, stems in zip(_ALIAS_GROUPS, _ALIASES) if own in stems), ())
    return [str(value), *group]


def _mentions(param: _Param, reading: Reading) -> list[Candidate]:
    """Where each of the enum's values is named, by its spelling or a unit/currency word."""
    found: list[Candidate] = []
    tokens = reading.tokens
    for value in param.enum:
        spelled = str(value).lower().split()
        aliases = _aliases(value)
        for i, token in enumerate(tokens):
            exact = [t.text.lower() for t in tokens[i : i + len(spelled)]] == spelled
            if exact or (token.kind == "word" and token.stem in aliases):
                end = i + max(len(spelled), 1) - 1 if exact else i
                found.append(Candidate("enum", value, i, end, ("exact",) if exact else ()))
        for cand in reading.candidates:  # "$40", "€40": the sign names the currency
            if cand.kind == "number" and cand.hints and stem(cand.hints[0]) in aliases:
                found.append(Candidate("enum", value, cand.start, cand.start, ("sign",)))
    return found


def _word_lists(param: _Param, reading: Reading, other_keys: set[str]) -> list[Candidate]:
    """"tags urgent, billing and follow-up": the words after one of the parameter's own words."""
    tokens = reading.tokens
    found = []
    for i, token in enumerate(tokens):
        if token.kind != "word" or param.keys.get(_CONCEPT.get(token.stem, token.stem), 0) < 1:
            continue
        j = i + 1
        while j < len(tokens) and (tokens[j].text in (":",) or tokens[j].text.lower() in _ARTICLES):
            j += 1
        items: list[str] = []
        start = j
        while j < len(tokens) and tokens[j].kind == "word":
            word = tokens[j]
            if word.text.lower() in _STOP or word.stem in other_keys or word.stem in param.keys:
                break
            items.append(word.text)
            j += 1
            if j < len(tokens) and tokens[j].text.lower() in (",", "and", "&"):
                j += 1
                if j < len(tokens) and tokens[j].text.lower() == "and":
                    j += 1
            else:
                break
        if items:
            found.append(Candidate("list", items, start, j - 1, ("after_key",)))
    return found


def _phrase(reading: Reading) -> list[Candidate]:
    """"search for wireless headphones under $100" → "wireless headphones"."""
    tokens = reading.tokens
    for i, token in enumerate(tokens):
        if token.kind == "word" and token.text.lower() in ("for", "about"):
            j = i + 1
            while j < len(tokens) and tokens[j].text.lower() in _ARTICLES:
                j += 1
            start = j
            while (
                j < len(tokens)
                and tokens[j].kind == "word"
                and tokens[j].text.lower() not in _PHRASE_STOP
            ):
                j += 1
            if j > start:
                text = " ".join(t.text for t in tokens[start:j])
                return [Candidate("phrase", text, start, j - 1)]
    return []


_BASE: dict[str, dict[str, float]] = {
    "integer": {"number": 0},
    "number": {"number": 0},
    "date": {"date": 2},
    "email": {"email": 2, "quoted": 0},
    "id": {"id": 1, "number": 0, "quoted": 0},
    "path": {"path": 2, "quoted": 1},
    "free": {"quoted": 2, "phrase": 1, "name": 0},
    "string": {"quoted": 1, "name": 0.5, "email": 0, "path": 0},
    "list": {"list": 0},
    "enum": {"enum": 1},
}
_LIST_BASE = {"after_key": 3.0, "quoted": 1.5, "names": 1.0}
_LIST_OF_ONE = {"after_key": 3.0, "quoted": 0.5, "names": 1.0}  # one quoted string: a title?


def _score(param: _Param, cand: Candidate, tokens: list[Token]) -> float | None:
    base = _BASE.get(param.kind, {}).get(cand.kind)
    if base is None:
        return None
    if param.kind == "integer" and not float(cand.value).is_integer():
        return None
    if param.kind == "list":
        table = _LIST_BASE if len(cand.value) > 1 else _LIST_OF_ONE
        base = table.get(cand.hints[0] if cand.hints else "", 0.0)
    score = base + sum(param.keys.get(w, 0) * near for w, near in _context(tokens, cand))
    if param.kind == "enum":
        role = _enum_role(tokens, cand.start)
        score += 0.5 if "exact" in cand.hints else 0
        if param.role is None:
            score += 0.5 if role == "to" else 0
        elif role is not None:
            score += 3 if role == param.role else -3
    elif param.role is not None:
        role = _preposition(tokens, cand.start)
        if role in ("from", "to"):
            score += 3 if role == param.role else -3
    return score


def _convert(param: _Param, cand: Candidate) -> Any:
    if param.kind == "integer":
        return int(cand.value)
    if param.kind == "number":
        return float(cand.value)
    if param.kind == "date":
        return cand.value.isoformat()
    if cand.kind == "number":
        return cand.text
    return cand.value


def _boolean(param: _Param, tokens: list[Token]) -> bool | None:
    words = [t for t in tokens if t.kind == "word"]
    if param.name_keys & _SWITCH:
        for i, token in enumerate(words):
            lowered = token.text.lower()
            if lowered in _NEGATIVE:
                return False
            turned = i > 0 and words[i - 1].stem in ("turn", "switch")
            if lowered in _POSITIVE or (lowered == "on" and turned):
                return True
        return None
    own = param.name_keys - _BOOL_GENERIC
    for i, token in enumerate(words):
        if token.stem in own:
            return not any(w.text.lower() in _NEGATIVE for w in words[max(i - 3, 0) : i])
    return None


def fill_arguments(schema: dict[str, Any], text: str) -> dict[str, Any]:
    """Arguments for a JSON Schema `object` from a request's text, in the schema's order."""
    reading = read(text)
    required = set(schema.get("required", []))
    params = [
        _param(name, prop, schema, name in required)
        for name, prop in schema.get("properties", {}).items()
    ]
    all_keys = {k for p in params for k in p.name_keys}
    pairs: list[tuple[float, int, int, Candidate]] = []
    for index, param in enumerate(params):
        pool = list(reading.candidates)
        if param.kind == "enum":
            pool = _mentions(param, reading)
        elif param.kind == "list":
            pool += _word_lists(param, reading, all_keys - param.name_keys)
        elif param.kind == "free":
            pool += _phrase(reading)
        for cand in pool:
            score = _score(param, cand, reading.tokens)
            if score is not None:
                pairs.append((-score, index, cand.start, cand))
    pairs.sort(key=lambda p: p[:3])
    chosen: dict[str, Any] = {}
    used: dict[bool, set[int]] = {True: set(), False: set()}  # enum mentions apart from values
    for negative, index, _, cand in pairs:
        param = params[index]
        span = set(range(cand.start, cand.end + 1))
        taken = used[cand.kind == "enum"]
        if param.name in chosen or span & taken or (not param.required and -negative < 1):
            continue
        chosen[param.name] = _convert(param, cand)
        taken |= span
    for param in params:
        if param.name in chosen:
            continue
        if param.kind == "boolean":
            value = _boolean(param, reading.tokens)
            if value is not None:
                chosen[param.name] = value
        elif param.required and param.kind == "enum":
            chosen[param.name] = param.enum[0]
        elif param.required and param.kind in ("string", "free"):
            chosen[param.name] = text
    return {p.name: chosen[p.name] for p in params if p.name in chosen}
