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

from typing import Any

from agentnb.models._argparams import STOP, Param, aliases, concept, params_of
from agentnb.models._argtokens import Candidate, Reading, Token, read, stem

__all__ = ["fill_arguments", "supplied"]

_SWITCH = frozenset({stem(w) for w in ("enabled", "enable", "active", "on", "activated")})
_BOOL_GENERIC = frozenset({"only", "is", "has", "use", "allow", "should", "flag", "in", "with"})
_NEGATIVE = frozenset(
    """no not don't don’t dont never without disable disabled deactivate off stop false none
    doesn't won't""".split()
)
_POSITIVE = frozenset("enable enabled activate yes true start".split())
_PHRASE_END = STOP | frozenset(
    "under below over above less more cheaper costing priced only max min that which with".split()
)
_ARTICLES = frozenset({"a", "an", "the", "some", "any"})
_BREAKS = frozenset({"and", "but", "then", "or"})
_BEFORE = (1.0, 0.7, 0.5)
_AFTER = (1.0, 0.6)


def _context(tokens: list[Token], cand: Candidate) -> list[tuple[str, float]]:
    """The concepts beside a value, with their closeness.

    Before it: up to three words, skipping little words ("amount of 12.50"), stopping at
    punctuation, "and", or the unit of an earlier value ("250 dollars on order 1042"). After it:
    the words right behind it, its unit ("5 years", "1200 pixels wide").
    """
    out = [(concept(h), 1.0) for h in cand.hints]
    taken = 0
    for i in range(cand.start - 1, max(cand.start - 7, -1), -1):
        token = tokens[i]
        lowered = token.text.lower()
        if token.kind != "word" or lowered in _BREAKS or taken == len(_BEFORE):
            break
        if i > 0 and tokens[i - 1].kind == "value":
            break
        if lowered not in STOP:
            out.append((concept(token.stem), _BEFORE[taken]))
            taken += 1
    for i in range(cand.end + 1, min(cand.end + 1 + len(_AFTER), len(tokens))):
        token = tokens[i]
        if token.kind != "word" or token.text.lower() in STOP or token.text.lower() in _BREAKS:
            break
        out.append((concept(token.stem), _AFTER[i - cand.end - 1]))
    return out


def _preposition(tokens: list[Token], start: int) -> str | None:
    """ "from"/"to" when one of the three words before a value (in its clause) says so."""
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


def _mentions(param: Param, reading: Reading) -> list[Candidate]:
    """Where each of the enum's values is named, by its spelling or a unit/currency word."""
    found: list[Candidate] = []
    tokens = reading.tokens
    lowered = [t.text.lower() for t in tokens]
    for value in param.enum:
        spelled = str(value).lower().split() or [""]
        size = len(spelled)
        names = aliases(value)
        for i, token in enumerate(tokens):
            if lowered[i] == spelled[0] and lowered[i : i + size] == spelled:
                found.append(Candidate("enum", value, i, i + size - 1, ("exact",)))
            elif token.kind == "word" and token.stem in names:
                found.append(Candidate("enum", value, i, i))
        for cand in reading.candidates:  # "$40", "€40": the sign names the currency
            if cand.kind == "number" and cand.hints and stem(cand.hints[0]) in names:
                found.append(Candidate("enum", value, cand.start, cand.start, ("sign",)))
    return found


def _word_lists(param: Param, reading: Reading, other_keys: set[str]) -> list[Candidate]:
    """ "tags urgent, billing and follow-up": the words after one of the parameter's own words."""
    tokens = reading.tokens
    found = []
    for i, token in enumerate(tokens):
        if token.kind != "word" or param.keys.get(concept(token.stem), 0) < 1:
            continue
        j = i + 1
        while j < len(tokens) and (tokens[j].text in (":",) or tokens[j].text.lower() in _ARTICLES):
            j += 1
        items: list[str] = []
        start = j
        while j < len(tokens) and tokens[j].kind == "word":
            word = tokens[j]
            if word.text.lower() in STOP or word.stem in other_keys or word.stem in param.keys:
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
    """ "search for wireless headphones under $100" → "wireless headphones"."""
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
                and tokens[j].text.lower() not in _PHRASE_END
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
    "free": {"quoted": 2},
    "search": {"quoted": 2, "phrase": 1},
    "string": {"quoted": 1, "name": 0.5, "email": 0, "path": 0},
    "list": {"list": 0},
    "enum": {"enum": 1},
}
_STRINGS = frozenset({"string", "free", "search", "id", "email", "path", "date"})
_LIST_BASE = {"after_key": 3.0, "quoted": 1.5, "names": 1.0, "numbers": 1.0}
_LIST_OF_ONE = {
    "after_key": 3.0,
    "quoted": 0.5,
    "names": 1.0,
    "numbers": 0.0,
}  # one quoted string: a title?


def _score(param: Param, cand: Candidate, tokens: list[Token]) -> float | None:
    base = _BASE.get(param.kind, {}).get(cand.kind)
    if base is None:
        return None
    if param.kind == "integer" and not float(cand.value).is_integer():
        return None
    if param.kind == "list":
        numeric = param.items in ("integer", "number")
        if numeric != (cand.hints[0] == "numbers"):
            return None
        if param.items == "integer" and not all(float(v).is_integer() for v in cand.value):
            return None
        table = _LIST_BASE if len(cand.value) > 1 else _LIST_OF_ONE
        base = table.get(cand.hints[0], 0.0)
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


def _convert(param: Param, cand: Candidate) -> Any:
    if param.kind == "integer":
        return int(cand.value)
    if param.kind == "number":
        return float(cand.value)
    if param.kind == "date":
        return cand.value.isoformat()
    if param.items == "integer":
        return [int(v) for v in cand.value]
    if cand.kind == "number":
        return cand.text
    return cand.value


def _boolean(param: Param, tokens: list[Token]) -> bool | None:
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


def _assign(params: list[Param], reading: Reading) -> dict[str, Any]:
    """The values the request itself gives: best-scoring pairs first, each value used once."""
    all_keys = {k for p in params for k in p.name_keys}
    pairs: list[tuple[float, int, int, Candidate]] = []
    for index, param in enumerate(params):
        pool = list(reading.candidates)
        if param.kind == "enum":
            pool = _mentions(param, reading)
        elif param.kind == "list":
            pool += _word_lists(param, reading, all_keys - param.name_keys)
        elif param.kind == "search":
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
        if param.kind == "boolean" and param.name not in chosen:
            value = _boolean(param, reading.tokens)
            if value is not None:
                chosen[param.name] = value
    return chosen


def fill_arguments(schema: dict[str, Any], text: str) -> dict[str, Any]:
    """Arguments for a JSON Schema `object` from a request's text, in the schema's order.

    A required enum the request does not name gets its first value, a required string the
    whole request; anything else it does not give is left out (the tool's default applies).
    """
    params = params_of(schema)
    chosen = _assign(params, read(text))
    for param in params:
        if param.name in chosen or not param.required:
            continue
        if param.kind == "enum":
            chosen[param.name] = param.enum[0]
        elif param.kind in _STRINGS:
            chosen[param.name] = text
    return {p.name: chosen[p.name] for p in params if p.name in chosen}


def supplied(schema: dict[str, Any], text: str) -> int:
    """How many of the schema's required parameters the request gives a value for."""
    params = params_of(schema)
    chosen = _assign(params, read(text))
    return sum(p.required and p.name in chosen for p in params)
