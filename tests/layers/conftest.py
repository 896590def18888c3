"""Layer tests: fresh breakers per test, flaky in-process models, a second wire server, events.

The provider fixtures (`wire`, `openai_model`, `anthropic_model`, `ask`) are the ones the model
tests use: the real SDKs over HTTP against the local wire server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from agentnb import events as ev
from agentnb.layers import reset_breakers
from agentnb.models import FunctionModel
from agentnb.models.anthropic import AnthropicModel
from agentnb.models.base import ModelRequest, StreamItem
from agentnb.models.messages import UserMessage
from tests.models.conftest import anthropic_model, ask, openai_model, wire
from tests.wire_server import WireServer

__all__ = [
    "HI",
    "anthropic_model",
    "ask",
    "collect_events",
    "drain",
    "openai_model",
    "summary",
    "wire",
]

HI = ModelRequest("", [UserMessage("hi")])


@pytest.fixture(autouse=True)
def _fresh_breakers() -> Iterator[None]:
    """Breakers are process-wide: a test must not inherit another's open circuit."""
    reset_breakers()
    yield
    reset_breakers()


@pytest.fixture
def second_wire() -> Iterator[WireServer]:
    """Another provider's server, so a fallback is seen leaving the first one."""
    with WireServer() as server:
        yield server


@pytest.fixture
async def backup_model(second_wire: WireServer) -> AsyncIterator[AnthropicModel]:
    model = AnthropicModel("claude-backup", base_url=second_wire.url, api_key="test-key")
    yield model
    await model.aclose()


@contextmanager
def collect_events() -> Iterator[list[ev.LayerEvent]]:
    """The layer events emitted inside the block, as if a run were in progress."""
    events: list[ev.LayerEvent] = []

    def keep(event: ev.Event) -> None:
        assert isinstance(event, ev.LayerEvent)
        events.append(event)

    token = ev.current_scope.set(ev.RunScope("run-1", "agent", 1, keep))
    try:
        yield events
    finally:
        ev.current_scope.reset(token)


async def drain(stream: AsyncIterator[StreamItem], into: list[StreamItem]) -> None:
    """Read `stream` to its end (or its error), keeping what arrived before."""
    async for item in stream:
        into.append(item)


def summary(events: list[ev.LayerEvent]) -> list[tuple[str, str, str | None, int]]:
    """(layer, model, state, attempt) of each event: the part that does not depend on timing."""
    return [(e.layer, e.model, e.state, e.attempt) for e in events]


Outcome = Any  # a reply text, or an exception to raise


class Flaky:
    """Plays a remote model: each request takes the next outcome (raise it, or answer it)."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        self.outcomes = outcomes
        self.calls = 0

    def __call__(self, request: ModelRequest) -> str:
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if isinstance(outcome, BaseException):
            raise outcome
        return str(outcome)


@pytest.fixture
def flaky() -> Callable[..., FunctionModel]:
    """`flaky(error, "answer", ...)`: a `FunctionModel` that counts as remote (gets every layer).

    Its `.function` is the `Flaky` (`.calls` counts requests); after the outcomes it answers "ok".
    """

    def make(*outcomes: Outcome, name: str = "flaky") -> FunctionModel:
        model = FunctionModel(Flaky(list(outcomes)), name=name)
        model.remote = True  # type: ignore[attr-defined]
        return model

    return make
