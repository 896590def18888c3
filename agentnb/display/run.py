"""The display of one agent run: `RunView`, what `RunResult._repr_mimebundle_` and `show()` give.

One payload, many front ends: `text/plain` is the run's summary, `text/html` a static rendering
(`agentnb.display.trace_html`) for nbconvert, VS Code, GitHub and JupyterLab without the
extension, and `TRACE_MIME` the trace payload itself (`agentnb.display.trace`) for the JupyterLab
renderer. Secrets are redacted from all three (`agentnb.display.bundle.redacted`) unless the view
was made with `redact=False`.

```python
view = RunView(result.summary, lambda: trace_payload(result))
sorted(view._repr_mimebundle_())       # ['application/vnd.agentnb.trace+json',
                                       #  'text/html', 'text/plain']
```

The view takes its pieces as functions so that only what the front end asks for is built
(`include`/`exclude`, as IPython passes them). No IPython import: display works the same through
IPython's formatter and without it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from agentnb.display.bundle import redacted, select
from agentnb.display.trace import TRACE_MIME
from agentnb.display.trace_html import render_trace
from agentnb.secrets import redact as redact_text

__all__ = ["RunView"]


class RunView:
    """A run as a notebook shows it: summary text, static HTML and the trace payload.

    Args:
        summary: Makes the run's summary text.
        payload: Makes the run's trace payload (schema: `agentnb.display.trace`).
        redact: Replace secrets by `[REDACTED]` in everything shown (the default); False shows
            the raw texts (`result.show(redact=False)`), for the rare case they are needed.
    """

    def __init__(
        self,
        summary: Callable[[], str],
        payload: Callable[[], dict[str, Any]],
        *,
        redact: bool = True,
    ) -> None:
        self._summary = summary
        self._make_payload = payload
        self._payload: dict[str, Any] | None = None
        self.redact = redact

    def text(self) -> str:
        """The summary text shown as `text/plain`."""
        text = self._summary()
        return redact_text(text) if self.redact else text

    def payload(self) -> dict[str, Any]:
        """The trace payload shown as `TRACE_MIME` (built once)."""
        if self._payload is None:
            payload = self._make_payload()
            self._payload = redacted(payload) if self.redact else payload
        return self._payload

    def html(self) -> str:
        """The static HTML of the trace."""
        return render_trace(self.payload())

    def _repr_mimebundle_(
        self,
        include: Collection[str] | None = None,
        exclude: Collection[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        return select(
            {"text/plain": self.text, "text/html": self.html, TRACE_MIME: self.payload},
            include,
            exclude,
        )

    def __repr__(self) -> str:
        return self.text()
