"""Fixtures every test gets: a private AGENTNB_HOME, no credentials, no real network.

Process-wide state a test may change (the `@tool` registry, the session default model, the price
table, extra secret names) is restored after each test, so tests can run in any order.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import agentnb.models.registry as model_registry
import agentnb.secrets as secrets
from agentnb.guards.guard import GUARD_REGISTRY
from agentnb.guards.monitoring.monitor import REGISTRY as MONITOR_REGISTRY
from agentnb.models import FunctionModel, ModelRequest
from agentnb.models.function import Reply
from agentnb.models.messages import Message
from agentnb.models.pricing import PRICES
from agentnb.telemetry import lance
from agentnb.telemetry import settings as telemetry_settings
from agentnb.tools import REGISTRY

# Where a stray request to a real provider would go: a closed port on loopback (the discard port),
# so a test that forgot to opt in fails fast with a connection error instead of reaching the net.
BLACKHOLE_URL = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "agentnb-home"
    monkeypatch.setenv("AGENTNB_HOME", str(home))
    for name in ("AGENTNB_MODEL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", BLACKHOLE_URL)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", BLACKHOLE_URL)
    # Recording is opt-in in tests (telemetry tests delete this): runs stay in memory, and no
    # background writes race with tests that time things.
    monkeypatch.setenv("AGENTNB_TELEMETRY", "off")
    telemetry_settings.reset()
    lance.forget_connections()

    tools = dict(REGISTRY)
    guard_functions = dict(GUARD_REGISTRY)
    monitor_functions = dict(MONITOR_REGISTRY)
    prices = dict(PRICES)
    secret_names = set(secrets._extra_names)
    default_model = model_registry._session_default
    try:
        yield home
    finally:
        REGISTRY.clear()
        REGISTRY.update(tools)
        GUARD_REGISTRY.clear()
        GUARD_REGISTRY.update(guard_functions)
        MONITOR_REGISTRY.clear()
        MONITOR_REGISTRY.update(monitor_functions)
        PRICES.clear()
        PRICES.update(prices)
        secrets._extra_names.clear()
        secrets._extra_names.update(secret_names)
        model_registry._session_default = default_model
        telemetry_settings.reset()
        lance.forget_connections()


def _is_local(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths, socketpair internals
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not _is_local(address):
        raise ConnectionRefusedError(
            f"tests may not reach the network (tried {address!r}); use the local wire server"
        )
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if not _is_local(address):
        raise ConnectionRefusedError(
            f"tests may not reach the network (tried {address!r}); use the local wire server"
        )
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    """Refuse every socket connection that does not stay on this machine."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        socket.socket.connect = _real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


class Script:
    """Plays the model from a list of replies, one per turn; keeps what each turn was shown.

    `requests[i]` is a snapshot of turn i's messages (the run loop keeps appending to its list).
    """

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = list(replies)
        self.seen: list[list[Message]] = []
        self.requests: list[ModelRequest] = []

    def __call__(self, request: ModelRequest) -> Reply:
        self.requests.append(request)
        self.seen.append(list(request.messages))
        if not self.replies:
            raise AssertionError(f"the script ran out of replies at turn {len(self.seen)}")
        return self.replies.pop(0)


@pytest.fixture
def script() -> Callable[..., FunctionModel]:
    """`script(reply, reply, ...)`: a `FunctionModel` answering with these replies in turn.

    The model's `.function` is the `Script` (its `.seen` holds what each turn was shown).
    """

    def make(*replies: Reply) -> FunctionModel:
        return FunctionModel(Script(list(replies)), name="scripted")

    return make
