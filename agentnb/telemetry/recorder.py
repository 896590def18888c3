"""The event handler: turns a run's events into span drafts on the run's own thread.

This is the only telemetry code on a run's hot path, so it does as little as possible: it keeps
references to the events (no JSON, no redaction, no copies) and the `perf_counter` times, and hands
the finished run to the spool (`spool.submit`), which writes it to local disk for the ingest
worker to turn into rows. Importing it loads only the standard library.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentnb import semconv as A
from agentnb.telemetry.records import (
    FindingRecord,
    RunDraft,
    RunRecord,
    SpanDraft,
    new_span_id,
    root_span_id,
)
from agentnb.telemetry.settings import CaptureMode, global_provider_set, resolve_capture

if TYPE_CHECKING:
    from agentnb import events as ev

__all__ = [
    "FindingRecord",
    "Recorder",
    "RunDraft",
    "RunRecord",
    "SpanDraft",
    "global_provider_set",
    "new_span_id",
    "root_span_id",
]

log = logging.getLogger("agentnb.telemetry")
_MAX_OPEN_RUNS = 10_000


class Recorder:
    """Callable event handler: `agent.on_event(Recorder(sink))`.

    `sink` receives a `RunRecord` when a run finishes and a `FindingRecord` per monitor finding;
    by default it is the process's spool (`spool.submit`). `capture` fixes the content-capture mode
    (None: the configured one, read when each run starts).
    """

    def __init__(
        self,
        sink: Callable[[RunRecord | FindingRecord], None] | None = None,
        *,
        capture: CaptureMode | None = None,
    ) -> None:
        if sink is None:
            from agentnb.telemetry.spool import install_sigterm_handler, submit

            install_sigterm_handler()
            sink = submit
        self.sink = sink
        self.capture = capture
        self._runs: dict[str, RunDraft] = {}
        self._failed = False
        self._dispatch: dict[str, Callable[[Any], None]] = {
            "run_started": self._run_started,
            "model_request": self._model_request,
            "text_delta": self._text_delta,
            "model_response": self._model_response,
            "tool_call_started": self._tool_started,
            "tool_call_finished": self._tool_finished,
            "verdict": self._verdict,
            "layer": self._layer,
            "finding": self._finding,
            "run_finished": self._run_finished,
        }

    def __call__(self, event: ev.Event) -> None:
        """Take one run-loop event (an agent's event handler); never raises into the run."""
        handler = self._dispatch.get(event.kind)
        if handler is None:
            return
        try:
            handler(event)
        except Exception:  # telemetry must never break a run
            if not self._failed:
                self._failed = True
                log.exception("agentnb telemetry: recording an event failed; continuing without")

    # --- runs --------------------------------------------------------------------------------
    def _run_started(self, e: ev.RunStarted) -> None:
        if not e.wall_time:
            e.wall_time = time.time() - (time.perf_counter() - e.t)
        if len(self._runs) >= _MAX_OPEN_RUNS:  # runs that never finished (their loop died)
            self._runs.pop(next(iter(self._runs)))
        capture = self.capture or resolve_capture()
        self._runs[e.run_id] = RunDraft(e, capture, global_provider_set())

    def _run_finished(self, e: ev.RunFinished) -> None:
        draft = self._runs.pop(e.run_id, None)
        if draft is None:
            draft = self._draft_from_result(e)
        for span in draft.open_chats:
            if span.token is not None:
                _exit_nesting(span)
        self.sink(RunRecord(draft, e.result, e.t))

    def _draft_from_result(self, e: ev.RunFinished) -> RunDraft:
        """The handler was attached mid-run: a root span from the result alone."""
        from agentnb import events as ev

        r = e.result
        start = ev.RunStarted(
            r.run_id,
            r.agent,
            r.version,
            r.model,
            r.prompt,
            "",
            t=e.t - r.duration,
            wall_time=r.started_at,
        )
        return RunDraft(start, self.capture or resolve_capture(), False)

    # --- model calls -------------------------------------------------------------------------
    def _model_request(self, e: ev.ModelRequestStarted) -> None:
        run = self._runs.get(e.run_id)
        if run is None:
            return
        span = SpanDraft(new_span_id(), run.root_id, A.OP_CHAT, e.step, e.t, e)
        run.spans.append(span)
        run.open_chats.append(span)
        if run.nesting:
            _enter_nesting(e.run_id, span)

    def _text_delta(self, e: ev.TextDelta) -> None:
        run = self._runs.get(e.run_id)
        if run is not None and run.open_chats:
            span = run.open_chats[-1]
            if span.first_chunk is None:
                span.first_chunk = e.t

    def _model_response(self, e: ev.ModelResponded) -> None:
        run = self._runs.get(e.run_id)
        if run is None:
            return
        chats = run.open_chats
        for i in range(len(chats) - 1, -1, -1):
            span = chats[i]
            if span.step == e.step:
                del chats[i]
                span.end = e.t
                span.finished = e
                if span.token is not None:
                    _exit_nesting(span)
                return

    # --- tools -------------------------------------------------------------------------------
    def _tool_started(self, e: ev.ToolCallStarted) -> None:
        run = self._runs.get(e.run_id)
        if run is None:
            return
        span = SpanDraft(new_span_id(), run.root_id, A.OP_EXECUTE_TOOL, e.step, e.t, e)
        run.spans.append(span)
        run.open_tools[id(e.call)] = span

    def _tool_finished(self, e: ev.ToolCallFinished) -> None:
        run = self._runs.get(e.run_id)
        if run is None:
            return
        span = run.open_tools.pop(id(e.call), None)
        if span is not None:
            span.end = e.t
            span.finished = e

    # --- guards, layers, monitors ------------------------------------------------------------
    def _verdict(self, e: ev.GuardVerdict) -> None:
        run = self._runs.get(e.run_id)
        if run is None:
            return
        parent = run.root_id
        want = A.OP_EXECUTE_TOOL if e.point in ("tool_call", "tool_result") else A.OP_CHAT
        if e.point != "input" and e.point != "final_output":
            for span in reversed(run.spans):
                if (
                    span.step == e.step
                    and span.op == want
                    and (
                        want == A.OP_CHAT or e.target is None or span.started.call.name == e.target
                    )
                ):
                    parent = span.span_id
                    break
        span = SpanDraft(new_span_id(), parent, A.OP_GUARD, e.step, e.t - e.duration, e)
        span.end = e.t
        run.spans.append(span)

    def _layer(self, e: ev.LayerEvent) -> None:
        run = self._runs.get(e.run_id)
        if run is None:
            return
        for span in reversed(run.spans):
            if span.op == A.OP_CHAT and span.step == e.step:
                if span.events is None:
                    span.events = []
                span.events.append(e)
                return
        run.root_events.append(e)

    def _finding(self, e: ev.MonitorFinding) -> None:
        wall = time.time() - (time.perf_counter() - e.t)
        run = self._runs.get(e.run_id)
        capture = run.capture if run is not None else self.capture or resolve_capture()
        self.sink(FindingRecord(e, wall, capture))


def _enter_nesting(run_id: str, span: SpanDraft) -> None:
    from agentnb.telemetry.otel import enter_span

    span.token = enter_span(run_id, span.span_id)


def _exit_nesting(span: SpanDraft) -> None:
    from agentnb.telemetry.otel import exit_span

    exit_span(span.token, span.span_id)
    span.token = None
