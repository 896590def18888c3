"""ipywidgets views: a run in progress, and a tool call waiting for a person's approval.

Both are compositions of built-in widgets, so they need no front-end code of their own: the
state lives in kernel-side traitlets (not synced; the children carry what the front end shows)
and observers redraw the children. They work without any front end, which is how tests drive
them:

>>> view = ProgressView(agent="support 0.1.0")
>>> view.step, view.tool = 2, "lookup_order"
>>> "step 2" in view.status_line.value and "lookup_order" in view.status_line.value
True

Importing this module imports ipywidgets; `agentnb.notebook.progress` and `.approval` import it
only when a widget is about to be shown.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
from traitlets import Enum, Float, Int, List, TraitError, Unicode, observe, validate

__all__ = ["ApprovalView", "ProgressView"]

_STATUS_COLOURS = {
    "waiting": "#6b7280",
    "running": "#2563eb",
    "ok": "#15803d",
    "error": "#b91c1c",
    "cancelled": "#6b7280",
    "blocked": "#b45309",
}
_TEXT_LIMIT = 4000
"""Characters of streamed text kept on screen (the tail); the result shows the whole answer."""


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ProgressView(widgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """A run as it happens: agent, status, step, current tool, elapsed time, streamed text."""

    agent = Unicode("", help="The agent's name and version, shown in the header.")
    model = Unicode("", help="The model answering, shown in the header.")
    status = Enum(
        tuple(_STATUS_COLOURS),
        default_value="waiting",
        help="waiting, running, or how the run ended (a RunResult status).",
    )
    step = Int(0, help="The model turn in progress, from 1 (0 before the first).")
    tool = Unicode(None, allow_none=True, help="The tool running now, if any.")
    tool_calls = Int(0, help="Tool calls so far in this run.")
    elapsed = Float(0.0, help="Seconds since the run started.")
    text = Unicode("", help="What the model has written in the current step (streamed).")
    notes = List(Unicode(), help="Guard verdicts, retries and findings worth a look, in order.")

    def __init__(self, **kwargs: Any) -> None:
        self.header = widgets.HTML()
        self.status_line = widgets.HTML()
        self.text_box = widgets.HTML()
        self.notes_box = widgets.HTML()
        super().__init__(
            children=[self.header, self.status_line, self.text_box, self.notes_box],
            layout=widgets.Layout(border="1px solid #d1d5db", padding="2px 8px"),
            **kwargs,
        )
        self._draw_header()
        self._draw_status()
        self._draw_text()
        self._draw_notes()

    @validate("step", "tool_calls")
    def _not_negative(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value < 0:
            raise TraitError(f"{proposal['trait'].name} cannot be negative (got {value})")
        return value

    @observe("agent", "model")
    def _draw_header(self, change: dict[str, Any] | None = None) -> None:
        model = f" · {html.escape(self.model)}" if self.model else ""
        self.header.value = f"<b>{html.escape(self.agent or 'agent')}</b>{model}"

    @observe("status", "step", "tool", "tool_calls", "elapsed")
    def _draw_status(self, change: dict[str, Any] | None = None) -> None:
        colour = _STATUS_COLOURS[self.status]
        parts = [f'<span style="color:{colour}">●</span> {self.status}']
        if self.step:
            parts.append(f"step {self.step}")
        if self.tool:
            parts.append(f"tool: <code>{html.escape(self.tool)}</code>")
        if self.tool_calls:
            parts.append(f"{self.tool_calls} tool call{'s' * (self.tool_calls != 1)}")
        parts.append(f"{self.elapsed:.1f} s")
        self.status_line.value = " · ".join(parts)

    @observe("text")
    def _draw_text(self, change: dict[str, Any] | None = None) -> None:
        shown = self.text[-_TEXT_LIMIT:]
        self.text_box.value = (
            f'<pre style="white-space:pre-wrap;margin:2px 0">{html.escape(shown)}</pre>'
            if shown
            else ""
        )

    @observe("notes")
    def _draw_notes(self, change: dict[str, Any] | None = None) -> None:
        items = "".join(f"<li>{html.escape(_clip(note))}</li>" for note in self.notes[-8:])
        self.notes_box.value = f'<ul style="margin:2px 0">{items}</ul>' if items else ""

    def __repr__(self) -> str:
        # What a front end that cannot render widgets shows instead (the view is empty then).
        return "agentnb live progress (a widget: this front end does not show widgets)"


class ApprovalView(widgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """A tool call waiting for a person: Approve / Reject; the first answer stands.

    `on_decision(callback)` calls `callback(approved)` once, from the thread that handled the
    click. `expire(reason)` ends the wait without an answer (timeout, cancelled run).
    """

    agent = Unicode("", help="The agent asking.")
    tool = Unicode("", help="The tool the agent wants to call.")
    arguments = Unicode("", help="The call's arguments, as JSON.")
    decision = Enum(
        ("pending", "approved", "rejected", "expired"),
        default_value="pending",
        help="pending until a button is clicked or the wait expires; then final.",
    )
    reason = Unicode("", help="Why the wait expired (empty when a person answered).")

    def __init__(self, **kwargs: Any) -> None:
        self._callbacks: list[Callable[[bool], None]] = []
        self.question = widgets.HTML()
        self.approve_button = widgets.Button(description="Approve", button_style="success")
        self.reject_button = widgets.Button(description="Reject", button_style="danger")
        self.answer = widgets.HTML()
        self.approve_button.on_click(lambda _: self.decide(True))
        self.reject_button.on_click(lambda _: self.decide(False))
        super().__init__(
            children=[
                self.question,
                widgets.HBox([self.approve_button, self.reject_button, self.answer]),
            ],
            layout=widgets.Layout(border="1px solid #f59e0b", padding="2px 8px"),
            **kwargs,
        )
        self._draw()

    @property
    def buttons(self) -> tuple[widgets.Button, widgets.Button]:
        """The Approve and Reject buttons, in that order."""
        return self.approve_button, self.reject_button

    def on_decision(self, callback: Callable[[bool], None]) -> None:
        """Call `callback(approved)` when a person answers (not when the wait expires)."""
        self._callbacks.append(callback)

    def decide(self, approved: bool) -> None:
        """What a click does; later answers are ignored."""
        if self.decision == "pending":
            self.decision = "approved" if approved else "rejected"

    def expire(self, reason: str) -> None:
        """Stop waiting: the buttons are disabled and `reason` is shown."""
        if self.decision == "pending":
            self.reason = reason
            self.decision = "expired"

    @validate("decision")
    def _final(self, proposal: dict[str, Any]) -> str:
        value = str(proposal["value"])
        if self.decision != "pending" and value != self.decision:
            raise TraitError(f"the call was already {self.decision}; it cannot become {value}")
        return value

    @observe("agent", "tool", "arguments", "decision", "reason")
    def _draw(self, change: dict[str, Any] | None = None) -> None:
        who = f"<b>{html.escape(self.agent)}</b> wants" if self.agent else "An agent wants"
        self.question.value = (
            f"{who} to call <code>{html.escape(self.tool)}</code>"
            f'<pre style="margin:2px 0">{html.escape(_clip(self.arguments, 2000))}</pre>'
        )
        done = self.decision != "pending"
        for button in self.buttons:
            button.disabled = done
        self.answer.value = {
            "pending": "",
            "approved": "✔ approved",
            "rejected": "✘ rejected",
            "expired": f"no answer: {html.escape(self.reason)}",
        }[self.decision]

    @observe("decision")
    def _tell(self, change: dict[str, Any]) -> None:
        if change["new"] in ("approved", "rejected"):
            for callback in list(self._callbacks):
                callback(change["new"] == "approved")

    def __repr__(self) -> str:
        return f"agentnb approval: {self.tool} ({self.decision})"
