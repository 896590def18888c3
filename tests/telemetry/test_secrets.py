"""A planted secret of any kind reaches no sink: table files, OTLP, cassettes, exported configs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentnb import (
    Agent,
    AgentConfig,
    FunctionModel,
    guard,
    monitor,
    record,
    telemetry,
    tool,
    tool_call,
)
from agentnb.config import ComponentRef, ToolRef
from agentnb.models import ModelRequest
from agentnb.secrets import (
    REDACTED,
    SECRET_KINDS,
    SecretKind,
    add_secret_names,
    redact,
    secret_spans,
)
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


# --- every kind of secret, every sink -----------------------------------------------------------

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzPLANTED12"


def _plant_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for kind in SECRET_KINDS:
        if kind.env:
            monkeypatch.setenv(kind.env, kind.secret)


def _everything() -> str:
    """Every kind of secret, as it is usually written, in one text."""
    return " | ".join(kind.text for kind in SECRET_KINDS)


def _leaks(blob: bytes | str) -> list[str]:
    data = blob.encode() if isinstance(blob, str) else blob
    return [kind.name for kind in SECRET_KINDS if kind.secret.encode() in data]


def test_the_kinds_are_named_once_with_examples() -> None:
    names = [kind.name for kind in SECRET_KINDS]
    assert len(set(names)) == len(names)
    assert {"aws_secret_access_key", "aws_key_pair", "url_password"} <= set(names)
    assert all(kind.secret in kind.text for kind in SECRET_KINDS)


@pytest.mark.parametrize("kind", SECRET_KINDS, ids=lambda kind: kind.name)
def test_every_kind_is_redacted(kind: SecretKind, monkeypatch: pytest.MonkeyPatch) -> None:
    _plant_env(monkeypatch)
    text = f"before {kind.text} after"
    redacted = redact(text)
    assert kind.secret not in redacted
    assert redacted.startswith("before ")
    assert redacted.endswith(" after")
    assert REDACTED in redacted
    assert redact(redacted) == redacted
    if not kind.env:  # a guard finds the secret by its shape, where it is
        start = text.index(kind.secret)
        end = start + len(kind.secret)
        assert any(a <= start and end <= b for a, b in secret_spans(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"aws_secret_access_key={AWS_SECRET}", "aws_secret_access_key=[REDACTED]"),
        (f"aws_secret_access_key = {AWS_SECRET}\n", "aws_secret_access_key = [REDACTED]\n"),
        (
            f'export AWS_SECRET_ACCESS_KEY="{AWS_SECRET}"',
            'export AWS_SECRET_ACCESS_KEY="[REDACTED]"',
        ),
        (f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}", "AWS_SECRET_ACCESS_KEY=[REDACTED]"),
        (f'{{"aws_secret_access_key": "{AWS_SECRET}"}}', '{"aws_secret_access_key": "[REDACTED]"}'),
        (f'{{"SecretAccessKey": "{AWS_SECRET}"}}', '{"SecretAccessKey": "[REDACTED]"}'),
        (f"aws_secret_access_key: '{AWS_SECRET}'", "aws_secret_access_key: '[REDACTED]'"),
        (
            f'{{\\"aws_secret_access_key\\": \\"{AWS_SECRET}\\"}}',  # JSON inside a JSON string
            '{\\"aws_secret_access_key\\": \\"[REDACTED]\\"}',
        ),
        (
            f"[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
            f"aws_secret_access_key = {AWS_SECRET}\n",
            "[default]\naws_access_key_id = [REDACTED]\naws_secret_access_key = [REDACTED]\n",
        ),
        (f"AKIAIOSFODNN7EXAMPLE,{AWS_SECRET}", "[REDACTED],[REDACTED]"),
        (f"id AKIAIOSFODNN7EXAMPLE secret {AWS_SECRET}.", "id [REDACTED] secret [REDACTED]."),
    ],
)
def test_aws_secret_access_keys_in_every_form(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://admin:PASS@host", "https://admin:[REDACTED]@host"),
        ("postgres://u:p@h/db", "postgres://u:[REDACTED]@h/db"),
        ("redis://:s3cr3t@cache:6379/0", "redis://:[REDACTED]@cache:6379/0"),
        ("see https://a:p@ss@h.example/x", "see https://a:[REDACTED]@h.example/x"),
        (
            '"dsn": "mysql://app:Tr0ub4dor@db:3306/shop"',
            '"dsn": "mysql://app:[REDACTED]@db:3306/shop"',
        ),
    ],
)
def test_passwords_in_urls_are_redacted_and_the_rest_kept(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com:8443/path?q=1",
        "http://[::1]:8080/health",
        "mail ana@example.com about https://example.com/a",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b",  # 40 hex characters, no key id near
        "the secret_key field is documented at https://docs.example.com/keys",
    ],
)
def test_look_alikes_are_left_alone(text: str) -> None:
    assert redact(text) == text
    assert secret_spans(text) == []


def test_secret_spans_cover_only_the_secrets() -> None:
    text = f"db https://admin:{'sk-ant-api03-abcdefghijkl'}@db.local, aws_secret_key={AWS_SECRET}"
    assert [text[a:b] for a, b in secret_spans(text)] == ["sk-ant-api03-abcdefghijkl", AWS_SECRET]


@tool
def vault(query: str) -> str:
    """Read the vault."""
    return f"vault for {query}: {_everything()}"


def _plants_everywhere(request: ModelRequest) -> Any:
    if not any(m.role == "tool" for m in request.messages):
        return tool_call("vault", query=f"{MARKER} {_everything()}")
    return f"Done {MARKER}. {_everything()}"


def test_every_kind_reaches_no_table_file_and_no_otlp_payload(
    recording: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    _plant_env(monkeypatch)
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        agent = recording(
            "planted",
            model=FunctionModel(_plants_everywhere),
            tools=[vault],
            instructions=f"You read the vault ({MARKER}). {_everything()}",
        )
        result = agent.run_sync(f"Open the vault {MARKER}: {_everything()}")
        assert _leaks(str(result.output)) == [k.name for k in SECRET_KINDS]  # the run: untouched
        assert telemetry.flush()
        payloads = b"".join(receiver.bodies)

    store = telemetry.open()
    files = [path for path in Path(store.uri).rglob("*") if path.is_file()]
    raw = b"".join(path.read_bytes() for path in files)
    assert MARKER.encode() in raw  # the scan reads the strings as stored
    assert MARKER.encode() in payloads
    assert _leaks(raw) == []
    assert _leaks(payloads) == []
    spans = {s["name"]: s for s in receiver.spans()}
    assert (
        "key id [REDACTED], secret [REDACTED]"
        in (spans["execute_tool vault"]["attributes"]["gen_ai.tool.call.result"])
    )


def test_every_kind_is_redacted_in_a_cassette(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _plant_env(monkeypatch)
    cassette = tmp_path / "planted.jsonl"
    prompt = f"Open the vault {MARKER}: {_everything()}"
    recorded = Agent(
        "planted",
        model=record(FunctionModel(_plants_everywhere), cassette),
        tools=[vault],
        instructions=f"You read the vault. {_everything()}",
        telemetry=False,
    ).run_sync(prompt)
    assert recorded.status == "ok"
    text = cassette.read_text(encoding="utf-8")
    assert MARKER in text
    assert _leaks(text) == []
    replayed = Agent(
        "planted",
        model=f"replay:{cassette}",
        tools=[vault],
        instructions=f"You read the vault. {_everything()}",
        telemetry=False,
    ).run_sync(prompt)
    assert replayed.status == "ok"
    assert _leaks(str(replayed.output)) == []


def _config_with_secrets() -> AgentConfig:
    return AgentConfig(
        name="planted",
        instructions=f"Use these: {_everything()}",
        tools=[ToolRef(name="vault", description=f"Reads {SECRET_KINDS[7].text}")],
        guards=[
            ComponentRef(
                name="webhook",
                params={"headers": {"Authorization": "Bearer eyPLANTED.tokenQ9w8E7r6T5y4"}},
            )
        ],
        monitors=[ComponentRef(name="sink", params={"url": SECRET_KINDS[8].text})],
    )


def test_exported_configs_hold_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agentnb import meta
    from agentnb.notebook.define import export_config

    _plant_env(monkeypatch)
    config = _config_with_secrets()
    assert _leaks(config.to_yaml()) == []
    assert _leaks(config.to_json()) == []
    back = AgentConfig.from_yaml(config.to_yaml())
    assert back.guards[0].params == {"headers": {"Authorization": "[REDACTED]"}}
    assert back.monitors[0].params == {"url": "postgres://app:[REDACTED]@db.internal:5432/orders"}
    assert AgentConfig.from_json(config.to_json()) == back
    assert config.hash != back.hash  # the config itself keeps its secrets: only files lose them

    exported = meta.export(config, tmp_path / "meta")
    written = export_config(config, directory=tmp_path / "magic")
    files = [*(tmp_path / "meta").rglob("*.*"), *(tmp_path / "magic").rglob("*.*")]
    assert exported.config in files
    assert written in files
    for path in files:
        assert _leaks(path.read_bytes()) == [], path
