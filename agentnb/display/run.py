"""Rich display of a run: the MIME bundle behind `RunResult._repr_mimebundle_`.

One payload, many front ends: `text/plain` is the run's `summary()`, `text/html` a static rendering
(`agentnb.notebook.html`) for nbconvert, VS Code, GitHub and JupyterLab without the extension, and
`TRACE_MIME` the trace payload itself (`agentnb.notebook.trace`) for the JupyterLab renderer.

```python
from agentnb.notebook.display import mimebundle

bundle = mimebundle(result)                    # what IPython stores for `result` in a cell
sorted(bundle)                                 # ['application/vnd.agentnb.trace+json',
                                               #  'text/html', 'text/plain']
```

Only what the front end asks for is built (`include`/`exclude`, as IPython passes them). No
IPython import: display works the same through IPython's formatter and without it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from agentnb.notebook.html import render_trace
from agentnb.notebook.trace import TRACE_MIME, trace_payload

if TYPE_CHECKING:
    from agentnb.agents.result import RunResult

__all__ = ["TRACE_MIME", "mimebundle", "select"]


def mimebundle(
    result: RunResult,
    include: Collection[str] | None = None,
    exclude: Collection[str] | None = None,
) -> dict[str, Any]:
    """`{mime type: data}` for `result`: text, HTML and the trace payload (JSON data)."""
    payload: dict[str, Any] | None = None

    def trace() -> dict[str, Any]:
        nonlocal payload
        if payload is None:
            payload = trace_payload(result)
        return payload

    return select(
        {
            "text/plain": result.summary,
            "text/html": lambda: render_trace(trace()),
            TRACE_MIME: trace,
        },
        include,
        exclude,
    )


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
