"""Redaction of API keys, tokens, passwords and configured secret values before anything is written.

`SECRET_KINDS` lists every kind that is redacted, each with a planted example: tests of a sink
(telemetry tables, OTLP, cassettes, exported configs, notebook outputs) plant all of them.

>>> redact("postgres://app:Tr0ub4dor-3@db.internal/orders")
'postgres://app:[REDACTED]@db.internal/orders'
>>> redact("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzPLANTED12")
'aws_secret_access_key = [REDACTED]'
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "REDACTED",
    "SECRET_KINDS",
    "SECRET_PATTERN",
    "SecretKind",
    "add_secret_names",
    "redact",
    "redact_data",
    "secret_spans",
]

REDACTED = "[REDACTED]"

_EARER_TOKEN = r"(?i:earer)\s+[A-Za-z0-9._~+/=-]{12,}"
_AWS_SECRET = r"[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"
"""An AWS secret access key: 40 base64 characters (alone it looks like any hash: see below)."""

SECRET_PATTERN = re.compile(
    # Every alternative starts with a plain character (`bearer` in any case is `b` or `B`, then
    # `(?i:earer)`): `re` then skips ahead to the next of those first characters instead of
    # trying each alternative at every position, ~3x faster on long text.
    "|".join(
        [
            r"sk-ant-[A-Za-z0-9_-]{10,}",  # Anthropic
            r"sk-(?:proj-)?[A-Za-z0-9_-]{16,}",  # OpenAI
            "b" + _EARER_TOKEN,  # an Authorization header's token
            "B" + _EARER_TOKEN,
            r"gh[pousr]_[A-Za-z0-9]{20,}",  # GitHub
            r"xox[abpr]-[A-Za-z0-9-]{10,}",  # Slack
            # An AWS access key id (long-term AKIA, temporary ASIA), and the secret access key
            # written after it (a CSV line, "id ... secret ..."): 40 characters within 80 of it.
            rf"A(?:KIA|SIA)[0-9A-Z]{{16}}(?:(?P<aws_gap>(?s:.{{1,80}}?))(?<![A-Za-z0-9/+=])"
            rf"{_AWS_SECRET})?",
        ]
    )
)
"""Secrets recognisable by their shape alone (plus the AWS key that follows an AWS key id)."""

_AWS_NAMED = re.compile(
    # `aws_secret_access_key=…`, `AWS_SECRET_ACCESS_KEY: …`, `"SecretAccessKey": "…"`,
    # `secret_access_key = '…'`, also inside JSON that is itself a string (`\"`).
    r"(?P<keep>(?i:(?:aws[_-]?)?secret[_-]?(?:access[_-]?)?key)\\?[\"']?\s*[:=]\s*\\?[\"']?)"
    + _AWS_SECRET
)
"""An AWS secret access key after its name: only the value is replaced."""

_URL_PASSWORD = re.compile(
    # scheme://user:password@host — the password runs to the last `@` before the path, so a
    # password holding an `@` is redacted whole. The user name stays (it helps debugging).
    r"(?P<keep>://[^\s:/?#@\[\]]*:)[^\s/?#]+(?=@)"
)
"""The password of a URL's user info: only the password is replaced."""


@dataclass(frozen=True, slots=True)
class SecretKind:
    """One kind of secret that is redacted, with a planted example for tests."""

    name: str
    text: str
    """How it is typically written (what a test plants)."""
    secret: str
    """The part of `text` that must never reach a sink."""
    env: str | None = None
    """Redacted only while this environment variable holds `secret` (configured secrets)."""


SECRET_KINDS: tuple[SecretKind, ...] = (
    SecretKind(
        "anthropic_api_key",
        "sk-ant-api03-PLANTEDq8ZtV3xW9yK2mN7pL4rT6uB1cD5eF0gH",
        "sk-ant-api03-PLANTEDq8ZtV3xW9yK2mN7pL4rT6uB1cD5eF0gH",
    ),
    SecretKind(
        "openai_api_key",
        "sk-proj-PLANTEDa1B2c3D4e5F6g7H8i9J0kLmN",
        "sk-proj-PLANTEDa1B2c3D4e5F6g7H8i9J0kLmN",
    ),
    SecretKind(
        "bearer_token",
        "Authorization: Bearer eyPLANTED.tokenQ9w8E7r6T5y4",
        "eyPLANTED.tokenQ9w8E7r6T5y4",
    ),
    SecretKind(
        "github_token",
        "ghp_PLANTEDz9Y8x7W6v5U4t3S2r1Q0pOnMlKjI",
        "ghp_PLANTEDz9Y8x7W6v5U4t3S2r1Q0pOnMlKjI",
    ),
    SecretKind(
        "slack_token",
        "xoxb-PLANTED-1234567890-abcdefghij",
        "xoxb-PLANTED-1234567890-abcdefghij",
    ),
    SecretKind("aws_access_key_id", "AKIAPLANTED7EXAMPLE1", "AKIAPLANTED7EXAMPLE1"),
    SecretKind(
        "aws_secret_access_key",
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzPLANTED12",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzPLANTED12",
    ),
    SecretKind(
        "aws_key_pair",
        "key id AKIAPLANTED7EXAMPLE2, secret Zq3+PLANTEDsecretKEYnext2theID/012345678",
        "Zq3+PLANTEDsecretKEYnext2theID/012345678",
    ),
    SecretKind(
        "url_password",
        "postgres://app:Tr0ub4dor-PLANTED-3@db.internal:5432/orders",
        "Tr0ub4dor-PLANTED-3",
    ),
    SecretKind(
        "environment_value",
        "the vault says hunter2-PLANTED-correct-horse",
        "hunter2-PLANTED-correct-horse",
        env="AGENTNB_PLANTED_PASSWORD",
    ),
)
"""Every kind of secret agentnb redacts, each with an example (names follow `SecretKind.name`)."""

_SECRET_ENV = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)
_extra_names: set[str] = set()


def add_secret_names(names: Iterable[str]) -> None:
    """Also redact the values of these environment variables wherever they appear.

    Variables whose name ends in KEY, TOKEN, SECRET or PASSWORD are redacted without this.
    """
    _extra_names.update(names)


def _secret_values() -> list[str]:
    values = [
        value
        for name, value in os.environ.items()
        if (_SECRET_ENV.search(name) or name in _extra_names) and len(value) >= 8
    ]
    return sorted(values, key=len, reverse=True)


def _may_hold_token(text: str) -> bool:
    # Every `SECRET_PATTERN` match holds one of these; `in` checks are far cheaper than the regex.
    return (
        "sk-" in text
        or "_" in text
        or "xox" in text
        or "AKIA" in text
        or "ASIA" in text
        or "bearer" in text.lower()
    )


def _replace(match: re.Match[str]) -> str:
    gap = match.group("aws_gap")
    if gap is None:
        return REDACTED
    # An AWS key id, some text, the secret key: the text in between stays (redacted itself).
    return REDACTED + SECRET_PATTERN.sub(_replace, gap) + REDACTED


def redact(text: str) -> str:
    """`text` with every known secret value and key-shaped token replaced by `[REDACTED]`.

    Names before a secret (`aws_secret_access_key=`) and the rest of a URL around its password
    stay, so the text still says what was there.
    """
    for value in _secret_values():
        if value in text:
            text = text.replace(value, REDACTED)
    if _may_hold_token(text):
        text = SECRET_PATTERN.sub(_replace, text)
    # Plain substring checks cost far less than a regex scan: most text has neither marker.
    if "://" in text:
        text = _URL_PASSWORD.sub(r"\g<keep>" + REDACTED, text)
    if "ecret" in text or "ECRET" in text:
        text = _AWS_NAMED.sub(r"\g<keep>" + REDACTED, text)
    return text


def redact_data(data: Any) -> Any:
    """`data` (JSON-like: dicts, lists, strings) with every string, keys included, redacted.

    Redacting the JSON text instead would miss secrets that JSON escapes (a quote, a backslash,
    any non-ASCII character): the escaped form no longer contains the value.
    """
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {redact(k) if isinstance(k, str) else k: redact_data(v) for k, v in data.items()}
    if isinstance(data, list):
        return [redact_data(item) for item in data]
    return data


def secret_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every secret in `text` that has a recognisable shape: sorted, disjoint.

    Only the secret itself: not the name before it, not the rest of its URL. Configured
    environment values are not included (`redact` replaces those).

    >>> text = "db: https://admin:hunter22@db.local, key sk-ant-api03-abcdefghijkl"
    >>> [text[a:b] for a, b in secret_spans(text)]
    ['hunter22', 'sk-ant-api03-abcdefghijkl']
    """
    spans: list[tuple[int, int]] = []
    for m in SECRET_PATTERN.finditer(text) if _may_hold_token(text) else ():
        if m.group("aws_gap") is None:
            spans.append(m.span())
        else:
            gap_start, gap_end = m.span("aws_gap")
            spans.append((m.start(), gap_start))
            spans += [(gap_start + a, gap_start + b) for a, b in secret_spans(m.group("aws_gap"))]
            spans.append((gap_end, m.end()))
    if "://" in text:
        spans += [(m.end("keep"), m.end()) for m in _URL_PASSWORD.finditer(text)]
    if "ecret" in text or "ECRET" in text:
        spans += [(m.end("keep"), m.end()) for m in _AWS_NAMED.finditer(text)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):  # a URL's password can itself be an API key
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
