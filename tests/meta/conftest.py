"""Meta-layer fixtures: a store of synthetic telemetry with planted rates, written once per session,
and the support agent's tools and config the notebook uses.

Synthetic rows go straight into a LanceDB store in a temp dir (`meta.synthetic.generate`), so an
analyzer's answer can be checked against what was planted. Tests that run real agents record into
the per-test `AGENTNB_HOME` store instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import Field

from agentnb import AgentConfig, Tool, telemetry, tool
from agentnb.guards import budget, pii, tool_args
from agentnb.meta.synthetic import ORDER_ID_PATTERN, Planted, Truth, generate
from agentnb.telemetry import lance, settings

PLANTED = Planted(runs=10_000, seed=7)


@pytest.fixture(autouse=True)
def _fresh_telemetry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AGENTNB_TELEMETRY", "AGENTNB_TELEMETRY_URI", "AGENTNB_CAPTURE_CONTENT"):
        monkeypatch.delenv(name, raising=False)
    settings.reset()
    try:
        yield
    finally:
        settings.reset()


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[telemetry.Store, Truth]:
    """10,000 synthetic runs of `support` 1.2.0 (about 93,000 spans) and what they contain."""
    store = telemetry.open(str(tmp_path_factory.mktemp("planted") / "telemetry"))
    return store, generate(store, PLANTED)


@pytest.fixture
def fresh_store(tmp_path: Path) -> Iterator[telemetry.Store]:
    """An empty store of its own (no cached connection shared with other tests)."""
    lance.forget_connections()
    yield telemetry.open(str(tmp_path / "telemetry"))
    lance.forget_connections()


def support_tools() -> list[Tool[..., Any]]:
    """The support agent's tools (the notebook's, with the synthetic telemetry's names)."""

    @tool
    def lookup_order(order_id: Annotated[str, Field(pattern=ORDER_ID_PATTERN)]) -> dict[str, str]:
        """Look up an order by its id."""
        return {"order_id": order_id, "status": "shipped"}

    @tool
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        return f"refunded {amount} on {order_id}"

    @tool
    def search_faq(query: str) -> str:
        """Search the help center."""
        return f"Our FAQ about {query}: ..."

    return [lookup_order, refund, search_faq]


@pytest.fixture
def tools() -> list[Tool[..., Any]]:
    return support_tools()


def support_config(**changes: Any) -> AgentConfig:
    data: dict[str, Any] = {
        "name": "support",
        "version": "1.2.0",
        "model": "openai:gpt-4.1-mini",
        "instructions": "You help customers of an online shop with their orders.",
        "tools": ["lookup_order", "refund", "search_faq"],
        "guards": [
            pii().ref,
            budget(max_steps=12).ref,
            tool_args("refund", amount={"max": 100}, name="refund_limit").ref,
        ],
        "settings": {"max_steps": 8},
    }
    data.update(changes)
    return AgentConfig.model_validate(data)


@pytest.fixture
def config() -> AgentConfig:
    return support_config()


Factory = Callable[..., AgentConfig]
