"""Telemetry fixtures: a fresh spool and settings per test, agents that record, the store.

The suite-wide `_isolated_environment` fixture already points `AGENTNB_HOME` at a temp dir, so
every test writes a real LanceDB store on disk of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agentnb import Agent, telemetry
from agentnb.telemetry import lance, settings

TELEMETRY_ENV = (
    "AGENTNB_TELEMETRY",
    "AGENTNB_TELEMETRY_URI",
    "AGENTNB_CAPTURE_CONTENT",
    "AGENTNB_TELEMETRY_RETENTION",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SERVICE_NAME",
)


@pytest.fixture(autouse=True)
def _fresh_telemetry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in TELEMETRY_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTNB_INGEST_IDLE", "3")  # ingest workers a test started exit soon
    settings.reset()
    lance.forget_connections()
    try:
        yield
    finally:
        settings.reset()
        lance.forget_connections()


@pytest.fixture
def recording() -> Callable[..., Agent]:
    """`recording(name, **agent_kwargs)`: an `Agent` whose runs are recorded.

    Built with `telemetry=False` and subscribed by hand, so it records exactly once whether or
    not `Agent` wires the recorder itself.
    """

    def make(name: str, /, **kwargs: Any) -> Agent:
        agent = Agent(name, telemetry=False, **kwargs)
        agent.on_event(telemetry.event_handler())
        return agent

    return make


@pytest.fixture
def store() -> telemetry.Store:
    return telemetry.open()
