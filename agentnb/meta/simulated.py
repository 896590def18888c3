"""A simulated support model that acts on what the tool descriptions it is shown *say*.

Notebook 04 and the tests run a support agent without a key or a network; this function stands
in for the language model. It is not one: it is a small program with stated rates. What makes it
fit for judging the meta layer is that it reads the tool descriptions in the request for their
meaning, not for a keyword, so a new description helps exactly when it tells the model something:

- **Order ids.** Customers write an order number as they like (`48213`, `#48213`); the tool
  wants `ORD-` and six digits. The model copies the customer's form with probability
  `Behaviour.wrong_id` (35%) unless the lookup tool's description shows the format (then
  `wrong_id_told`, 3%) and, after a validation error, repeats the mistake with `wrong_after_error`
  (30%). A description shows the format when it holds a pattern the real ids match and the
  customer's forms do not (`^ORD-\\d{6}$`, `ORD-[0-9]{6}`), an example id (`"ORD-004211"`), or the
  words (`ORD- followed by six digits`), in whatever sentence.
- **Refund limits.** Asked for a refund, the model calls the refund tool unless the tool's
  description states an upper limit below the amount, in any phrasing (`at most 100`, `up to
  $100`, `no more than 100 USD`, `≤ 100`, `100 or less`, `a maximum of 100`, `amounts above 100
  are refused`); then it answers that a colleague has to approve the refund.

```python
from agentnb import FunctionModel
from agentnb.meta.simulated import SupportModel, customer_message, stated_limit

model = FunctionModel(SupportModel(seed=1), name="support-llm")
stated_limit("Refund an order (no more than 100 USD).")     # 100.0
```

`expected(...)` gives the rates these rules imply for the notebook's customers, to set beside
what `meta.compare` measures.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentnb.models.function import tool_call
from agentnb.models.messages import AssistantMessage, ToolResultMessage, UserMessage

if TYPE_CHECKING:
    from agentnb.models.base import ModelRequest

__all__ = [
    "AMOUNTS",
    "REFUND_SHARE",
    "Behaviour",
    "Expected",
    "SupportModel",
    "customer_message",
    "expected",
    "shows_id_format",
    "stated_limit",
]

ID_PREFIX = "ORD-"
ID_DIGITS = 6
REFUND_SHARE = 0.3
"""Share of customers asking for a refund (the others ask where their order is)."""
AMOUNTS = (20, 180)
"""Refund amounts are whole dollars in [20, 180)."""

_VALID = re.compile(rf"{re.escape(ID_PREFIX)}\d{{{ID_DIGITS}}}")
_SAMPLES_OK = ("ORD-000000", "ORD-048213", "ORD-999999")
_SAMPLES_BAD = ("48213", "#48213", "ord-48213", "048213", "ORD-48213", "ORD-0482130")
_COUNTS = {"six": 6, "6": 6}
_WORDS = re.compile(
    rf"{re.escape(ID_PREFIX)}\W*(?:prefix\W*)?(?:\w+\W+){{0,3}}?(?P<n>\w+)[\s-]+digits?\b", re.I
)

_NUM = r"(?P<n>\d+(?:[.,]\d+)?)"
_NOT_MONEY = re.compile(
    r"\s*(?:(?:ms|s|sec|seconds?|minutes?|hours?|days?|weeks?|percent)\b|%)", re.I
)
"""A number followed by a unit of time or a percentage is not an amount ("up to 5 days")."""
_CUR = r"(?:\$|usd|us\$|eur|€|dollars?)?"
_UPPER = (
    # "at most 100", "up to $100", "no more than 100 USD", "≤ 100", "a maximum of 100", "max 100",
    # "limit: 100", "may not exceed 100", "less than or equal to 100"
    re.compile(
        r"(?:at most|up to|no more than|not more than|(?:must|may|can|do|does|should)(?: not|n't)"
        r" exceed|cannot exceed|not exceeding|maximum(?: of| is|:)?|max\.?(?: of|:)?|limit(?:ed)?"
        r"(?: of| to| is|:)?|less than or equal to|≤|<=|=<)\s*" + _CUR + r"\s*" + _NUM,
        re.I,
    ),
    # "100 or less", "100 USD at most", "$100 maximum", "100 max"
    re.compile(
        _CUR + r"\s*" + _NUM + r"\s*" + _CUR + r"\s*(?:or (?:less|lower|below|under)|at most"
        r"|maximum|max\b)",
        re.I,
    ),
    # "amounts above 100 are refused", "more than $100 is not allowed"
    re.compile(
        r"(?:above|over|more than|greater than|exceeding|beyond|>)\s*" + _CUR + r"\s*" + _NUM
        + r"[^.;\n]*?\b(?:refused|rejected|blocked|declined|denied|not allowed|not permitted"
        r"|needs?|requires?|fails?)",
        re.I,
    ),
)  # fmt: skip


def _candidates(text: str) -> list[str]:
    """Whitespace-separated tokens, each also without the quotes and punctuation around it."""
    out = []
    for token in text.split():
        out.append(token)
        out.append(token.strip("\"'`“”‘’,;:.!?()[]"))
        out.append(token.strip("\"'`“”‘’,;:!?"))
    return [t for t in dict.fromkeys(out) if t]


def _is_id_pattern(token: str) -> bool:
    if not any(c in token for c in "\\[{^$"):
        return False
    try:
        pattern = re.compile(token)
    except (re.error, RecursionError):
        return False
    return all(pattern.fullmatch(s) for s in _SAMPLES_OK) and not any(
        pattern.fullmatch(s) for s in _SAMPLES_BAD
    )


def shows_id_format(description: str) -> bool:
    """Whether `description` tells what an order id looks like: a pattern the real ids match and
    the customers' forms do not, an example id, or the prefix and the number of digits in words."""
    for token in _candidates(description):
        if _VALID.fullmatch(token) or _is_id_pattern(token):
            return True
    return any(_COUNTS.get(m["n"].lower()) == ID_DIGITS for m in _WORDS.finditer(description))


def stated_limit(description: str) -> float | None:
    """The lowest upper limit `description` states for an amount, in any phrasing; None when it
    states none (a lower bound such as "at least 100" is no upper limit)."""
    found = [
        float(m["n"].replace(",", ""))
        for pattern in _UPPER
        for m in pattern.finditer(description)
        if not _NOT_MONEY.match(description, m.end("n"))
    ]
    return min(found) if found else None


@dataclass(frozen=True)
class Behaviour:
    """The simulated model's rates (probabilities per model call)."""

    wrong_id: float = 0.35
    """The first lookup copies the customer's form of the id when the description shows none."""
    wrong_id_told: float = 0.03
    """… when the description shows the format."""
    wrong_after_error: float = 0.30
    """A lookup after a validation error repeats the mistake."""


def _description(request: ModelRequest, name: str) -> str:
    return next((t.description for t in request.tools if t.name == name), "")


class SupportModel:
    """The model function (for `FunctionModel`): see the module doc for what it does."""

    def __init__(self, seed: int = 0, behaviour: Behaviour | None = None) -> None:
        self.rng = random.Random(seed)
        self.behaviour = behaviour or Behaviour()

    def __call__(self, request: ModelRequest) -> AssistantMessage | str:
        """The next turn for `request`: a tool call, or the final answer as text.

        Drawn from `behaviour`'s rates with this model's seeded random generator, so a seed
        gives the same conversation for the same requests.
        """
        b = self.behaviour
        prompt = next((m.content for m in request.messages if isinstance(m, UserMessage)), "")
        found = re.search(r"(\d{4,6})", prompt)
        number = int(found[1]) if found else 0
        amount = re.search(r"\$(\d+)", prompt)
        results = [m for m in request.messages if isinstance(m, ToolResultMessage)]
        lookups = [m for m in results if m.name == "lookup_order"]
        if not lookups or lookups[-1].is_error:
            told = shows_id_format(_description(request, "lookup_order"))
            wrong = b.wrong_after_error if lookups else b.wrong_id_told if told else b.wrong_id
            if self.rng.random() < wrong:
                as_written = self.rng.choice([str(number), f"#{number}", f"ord-{number}"])
                return tool_call("lookup_order", order_id=as_written)
            return tool_call("lookup_order", order_id=f"ORD-{number:06d}")
        if amount and not any(m.name == "refund" for m in results):
            value = int(amount[1])
            limit = stated_limit(_description(request, "refund"))
            if limit is not None and value > limit:
                return f"A refund of ${value} needs a colleague's approval: I have passed it on."
            return tool_call("refund", order_id=f"ORD-{number:06d}", amount=value)
        if amount:
            return "I could not refund that, sorry." if results[-1].is_error else "Refund done."
        return f"Your order ORD-{number:06d}: {lookups[-1].content}"


def customer_message(rng: random.Random) -> str:
    """What a customer writes: a refund request (`REFUND_SHARE`) or a question about an order."""
    number = rng.randrange(1000, 99999)
    if rng.random() < REFUND_SHARE:
        amount = rng.randrange(*AMOUNTS)
        return f"Please refund order {number}, it arrived broken. It was ${amount}."
    return rng.choice(
        [
            f"Where is my order #{number}?",
            f"Order {number} hasn't arrived yet.",
            f"What's the status of my order {number}?",
        ]
    )


@dataclass(frozen=True)
class Expected:
    """The rates the rules imply for `customer_message`'s customers (see `expected`)."""

    tool_error_runs: float
    """Runs with at least one rejected lookup."""
    success: float
    """Runs that end with an answer (the others fail after `tool_retries` + 1 rejections)."""
    blocked_runs: float
    """Runs where the refund guard blocks a refund."""

    def rows(self) -> dict[str, float]:
        """The figures by the names `meta.compare` gives them."""
        return {
            "success rate": self.success,
            "block rate": self.blocked_runs,
            "runs with a tool error": self.tool_error_runs,
        }


def expected(
    lookup_description: str,
    refund_description: str,
    *,
    guard_limit: float = 100,
    tool_retries: int = 1,
    behaviour: Behaviour | None = None,
) -> Expected:
    """The rates `SupportModel` should show behind these descriptions, with a guard blocking
    refunds above `guard_limit` and runs failing after `tool_retries` + 1 rejected lookups."""
    b = behaviour or Behaviour()
    first = b.wrong_id_told if shows_id_format(lookup_description) else b.wrong_id
    failed = first * b.wrong_after_error**tool_retries
    stated = stated_limit(refund_description)
    ceiling = stated if stated is not None else float("inf")
    amounts = range(*AMOUNTS)
    blocked = sum(1 for a in amounts if guard_limit < a <= ceiling) / len(amounts)
    return Expected(
        tool_error_runs=first,
        success=1 - failed,
        blocked_runs=REFUND_SHARE * (1 - failed) * blocked,
    )
