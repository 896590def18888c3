"""MIME bundles: build only the entries a front end asks for, and redact what they show.

Every display of the kit returns `select({mime: maker}, include, exclude)`: IPython passes the
MIME types it wants, and only those makers run. What a notebook shows is saved with it (and
notebooks are committed to git with their outputs), so displays show their payload through
`redacted`: the same redaction (`agentnb.secrets.redact`) that telemetry applies before anything
is written.

```python
select({"text/plain": lambda: "hi", "text/html": lambda: "<b>hi</b>"}, exclude={"text/html"})
# {'text/plain': 'hi'}
redacted({"prompt": "my key is sk-proj-0123456789abcdefXYZ"})
# {'prompt': 'my key is [REDACTED]'}
```
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

from agentnb.secrets import redact

__all__ = ["redacted", "select"]

T = TypeVar("T")


def select(
    makers: dict[str, Callable[[], Any]],
    include: Collection[str] | None = None,
    exclude: Collection[str] | None = None,
) -> dict[str, Any]:
    """Build the entries of `makers` the front end wants: those in `include` (all when None)
    and not in `exclude`.

    >>> makers = {"text/plain": lambda: "hi", "text/html": lambda: "<b>hi</b>"}
    >>> select(makers, exclude={"text/html"})
    {'text/plain': 'hi'}
    """
    return {
        mime: make()
        for mime, make in makers.items()
        if (include is None or mime in include) and (exclude is None or mime not in exclude)
    }


def redacted(value: T) -> T:
    """`value` (JSON data: dicts, lists, strings, numbers) with every secret in every string,
    keys included, replaced by `[REDACTED]`; a new object, `value` is not changed.

    >>> redacted(["Bearer abcdefghijklmnop", 3])
    ['[REDACTED]', 3]
    """
    return _walk(value)  # type: ignore[no-any-return]


def _walk(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_walk(k): _walk(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(v) for v in value]
    return value
