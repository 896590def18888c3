"""The guards in tests/conftest.py: a private AGENTNB_HOME, no credentials, no real network."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from agentnb.errors import ModelConnectionError
from agentnb.models import ModelRequest, UserMessage


def test_environment_is_private_and_has_no_credentials(tmp_path: Path) -> None:
    assert Path(os.environ["AGENTNB_HOME"]).parent == tmp_path
    for name in ("AGENTNB_MODEL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        assert name not in os.environ
    assert os.environ["OPENAI_BASE_URL"] == os.environ["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9"


def test_connections_leaving_the_machine_are_refused() -> None:
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError) as info:
        sock.connect(("203.0.113.7", 443))  # TEST-NET-3: would never answer anyway
    assert str(info.value) == (
        "tests may not reach the network (tried ('203.0.113.7', 443)); use the local wire server"
    )
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect_ex(("203.0.113.7", 443))


def test_loopback_connections_work() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=1):
            pass


async def test_a_provider_sdk_without_opt_in_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentnb.models.openai import OpenAIModel

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-000000")
    model = OpenAIModel("gpt-4.1-mini", timeout=5)
    try:
        with pytest.raises(ModelConnectionError):
            await model.request(ModelRequest("", [UserMessage("hi")]))
    finally:
        await model.aclose()
