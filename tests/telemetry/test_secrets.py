"""A planted key reaches no table, no file of the store and no OTLP payload."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentnb import Agent, FunctionModel, guard, monitor, telemetry, tool, tool_call
from agentnb.models import ModelRequest
from agentnb.secrets import add_secret_names, redact
from agentnb.telemetry.lance import DATA_TABLES
from tests.telemetry.otlp_receiver import OtlpReceiver

Recording = Callable[..., Agent]

API_KEY = "sk-ant-api03-PLANTEDq8ZtV3xW9yK2mN7pL4rT6uB1cD5eF0gH"
SERVICE_SECRET = "hunter2-correct-horse-battery"
MARKER = "visible-marker-7f3a"
"""Written in the same places as the secrets: proves the scans can see what they look for."""


@tool
def lookup(query: str) -> str:
    """Look up an account."""
    return f"account found for {query}; key on file: {API_KEY}; vault: {SERVICE_SECRET}"


def leaky(request: ModelRequest) -> Any:
    if not any(m.role == "tool" for m in request.messages):
        return tool_call("lookup", query=f"{MARKER} {API_KEY}")
    return f"Done {MARKER}. Your key is {API_KEY} and the vault says {SERVICE_SECRET}."


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def test_a_planted_key_appears_in_no_table_file_or_otlp_payload(
    recording: Recording, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VAULT_PASSPHRASE_VALUE", SERVICE_SECRET)
    add_secret_names(["VAULT_PASSPHRASE_VALUE"])

    @guard("tool_result", on_fail="warn")
    def flag_keys(result: Any) -> Any:
        return False  # blocks with the default reason, which quotes nothing

    @monitor(kinds=["run_finished"])
    def echo(event: Any) -> str:
        return f"saw output {event.result.output}"

    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        agent = recording(
            "leaky",
            model=FunctionModel(leaky),
            tools=[lookup],
            guards=[flag_keys],
            monitors=[echo],
            instructions=f"You look up accounts ({MARKER}) with the service key {API_KEY}.",
        )
        result = agent.run_sync(f"Find my account, {MARKER}, my key is {API_KEY}")
        assert API_KEY in str(result.output)  # the run itself is untouched
        assert agent.drain_monitors()
        assert telemetry.flush()
        payloads = b"".join(receiver.bodies)

    store = telemetry.open()
    cells: list[str] = []
    for name in DATA_TABLES:
        for row in store.table(name).search().limit(None).to_arrow().to_pylist():
            row.pop("vector", None)
            cells.extend(_strings(row))
    text = "\n".join(cells)
    assert len(store.findings(result.trace_id)) == 1
    assert len(store.verdicts(result.trace_id)) == 1
    assert text.count(MARKER) >= 6  # prompt, args, result, output, messages, finding
    assert MARKER.encode() in payloads
    for secret in (API_KEY, SERVICE_SECRET):
        assert secret not in text
        assert secret.encode() not in payloads
        for path in Path(store.uri).rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
    assert "[REDACTED]" in text
    spans = {s["name"]: s for s in receiver.spans()}
    assert "[REDACTED]" in spans["execute_tool lookup"]["attributes"]["gen_ai.tool.call.result"]
    assert json.loads(spans["chat leaky"]["attributes"]["gen_ai.system_instructions"]) == [
        {
            "type": "text",
            "content": f"You look up accounts ({MARKER}) with the service key [REDACTED].",
        }
    ]
    assert json.loads(spans["invoke_agent leaky"]["attributes"]["gen_ai.output.messages"])


@pytest.mark.parametrize(
    "token",
    [
        "Bearer abcdefghijklmnop",
        "bearer abc.def~ghi+jk/l=",
        "BEARER\tabcdefghijklm",
        "bEaReR  0123456789ab",
    ],
)
def test_bearer_tokens_are_redacted_whatever_their_case(token: str) -> None:
    assert redact(f"auth: {token} end") == "auth: [REDACTED] end"
    assert redact(f"auth: {token[:6]} short end") == f"auth: {token[:6]} short end"
