"""OpenTelemetry consumers: the OTLP exporter, a user's TracerProvider, and nesting of SDK spans.

agentnb builds its spans as plain records (the SDK costs 34–57 µs per span, a dict 2.5 µs) and
only turns them into SDK spans when something consumes OpenTelemetry:

- `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (or
  `configure(otlp=True)`): agentnb exports over OTLP/HTTP protobuf with the standard
  `OTEL_EXPORTER_OTLP_*` settings, through its *own* processor, never the global provider, so
  other libraries' spans (e.g. `anthropic`'s self-tracing) do not mix into its traces.
- otherwise, when the application set up a global SDK `TracerProvider` (or passed one to
  `configure(tracer_provider=...)`), agentnb's spans are handed to that provider's processors.

The spans are replayed after the run with their recorded ids and start/end times: the trace id is
the run id, and the root span id is derived from it.

**No double counting.** With a global TracerProvider, `anthropic` emits its own
`anthropic.messages.create` span per request. While a model call is in flight, agentnb makes its
`chat` span the current OpenTelemetry context, so such spans nest under agentnb's `chat` span in
the same trace instead of floating in separate traces. agentnb's store and `stats()` count model
calls only from agentnb's own records (never from spans other libraries emit), so a call is
counted once no matter who else traces it.

This module imports the OpenTelemetry SDK; it is loaded by the spool when spans are exported, and
by the recorder only when the OpenTelemetry API is already imported.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace as trace_api
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from agentnb.telemetry.records import OtelSpan
from agentnb.telemetry.settings import Settings

__all__ = ["Consumers", "enter_span", "exit_span", "otlp_configured"]

log = logging.getLogger("agentnb.telemetry")
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_KINDS = {"client": SpanKind.CLIENT, "internal": SpanKind.INTERNAL}


def otlp_configured() -> bool:
    """Whether the environment asks for OTLP export: `OTEL_EXPORTER_OTLP_ENDPOINT` or
    `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set and `OTEL_SDK_DISABLED` is not `true`.
    """
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return bool(
        env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def enter_span(run_id: str, span_id: str) -> object:
    """Make (run_id, span_id) the current OpenTelemetry span; returns the token for `exit_span`."""
    ctx = SpanContext(int(run_id, 16), int(span_id, 16), is_remote=False, trace_flags=_SAMPLED)
    return otel_context.attach(trace_api.set_span_in_context(trace_api.NonRecordingSpan(ctx)))


def exit_span(token: object, span_id: str) -> None:
    """Undo `enter_span`, unless this is another context (the call failed on another task)."""
    if trace_api.get_current_span().get_span_context().span_id == int(span_id, 16):
        otel_context.detach(token)  # type: ignore[arg-type]  # the token attach() returned


def _resource() -> Resource:
    try:
        resource = Resource.create({})  # OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, SDK info
    except RuntimeError:  # at interpreter exit its detector thread pool refuses work
        resource = Resource({"service.name": os.environ.get("OTEL_SERVICE_NAME", "agentnb")})
    if resource.attributes.get("service.name", "unknown_service") == "unknown_service":
        resource = resource.merge(Resource({"service.name": "agentnb"}))
    return resource


def _scope() -> InstrumentationScope:
    from agentnb._version import __version__

    return InstrumentationScope("agentnb", __version__)


class Consumers:
    """Where spans go besides LanceDB: zero or more SDK span processors."""

    def __init__(self, processors: Sequence[Any], *, own: Sequence[Any] = ()) -> None:
        self.processors = list(processors)
        self._own = list(own)  # processors agentnb created, and so shuts down
        self._resource = _resource()
        self._scope = _scope()

    @classmethod
    def from_settings(cls, settings: Settings) -> Consumers:
        """The consumers `settings` call for.

        agentnb's own OTLP exporter when `settings.otlp` is on (if None: when `otlp_configured()`),
        plus the span processors of `settings.tracer_provider`, or, without OTLP, of the global SDK
        provider (the API's no-op provider adds none). A missing OTLP exporter package is logged as
        an error, not raised: spans still go to LanceDB.
        """
        processors: list[Any] = []
        own: list[Any] = []
        otlp = settings.otlp if settings.otlp is not None else otlp_configured()
        if otlp:
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )
            except ImportError:
                log.error(
                    "agentnb telemetry: OTEL_EXPORTER_OTLP_ENDPOINT is set but the OTLP exporter "
                    "is not installed: pip install 'agentnb[telemetry]' (spans still go to "
                    "LanceDB)"
                )
            else:
                from opentelemetry.sdk.trace.export import BatchSpanProcessor

                processor = BatchSpanProcessor(OTLPSpanExporter())
                processors.append(processor)
                own.append(processor)
        provider = settings.tracer_provider
        if provider is None and not otlp:
            provider = trace_api.get_tracer_provider()
        active = getattr(provider, "_active_span_processor", None)
        if isinstance(active, SpanProcessor):
            processors.append(active)
        return cls(processors, own=own)

    def __bool__(self) -> bool:
        return bool(self.processors)

    def export(self, spans: Sequence[OtelSpan]) -> None:
        """Hand finished spans to every processor (`on_end`), with their recorded ids and times.

        agentnb's OTLP exporter only queues them; a user's processor may export right away.
        """
        readable = [self._readable(s) for s in spans]
        for processor in self.processors:
            for span in readable:
                processor.on_end(span)

    def _readable(self, s: OtelSpan) -> ReadableSpan:
        trace_id = int(s.trace_id, 16)
        parent = (
            SpanContext(trace_id, int(s.parent_id, 16), is_remote=False, trace_flags=_SAMPLED)
            if s.parent_id
            else None
        )
        status = (
            Status(StatusCode.ERROR, s.status_message or None)
            if s.status == "error"
            else Status(StatusCode.UNSET)
        )
        return ReadableSpan(
            name=s.name,
            context=SpanContext(
                trace_id, int(s.span_id, 16), is_remote=False, trace_flags=_SAMPLED
            ),
            parent=parent,
            resource=self._resource,
            attributes={k: _otel_value(v) for k, v in s.attributes.items()},
            events=[
                Event(name, {k: _otel_value(v) for k, v in a.items()}, t) for name, t, a in s.events
            ],
            kind=_KINDS[s.kind],
            status=status,
            start_time=s.start_ns,
            end_time=s.end_ns,
            instrumentation_scope=self._scope,
        )

    def flush(self, timeout: float = 10.0) -> None:
        """Wait up to `timeout` seconds for agentnb's own processors to send what they queued."""
        for processor in self._own:
            processor.force_flush(int(timeout * 1000))

    def shutdown(self) -> None:
        """Shut down the processors agentnb created (sending what they queued); a user's
        TracerProvider is left running.
        """
        for processor in self._own:
            processor.shutdown()


def _otel_value(value: Any) -> Any:
    """OpenTelemetry attribute values are str, bool, int, float or homogeneous lists of them."""
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    import json

    return json.dumps(value, default=str)
