"""Secrets never reach what a notebook shows (and saves): every MIME entry of a run is redacted.

One secret of every kind is planted in a prompt, a tool argument, a tool result, a guard's reason
and the answer. Whatever `agentnb.secrets.redact` removes before telemetry writes (the same
function), no display shows: the run's text, HTML and trace payload, its verdict table, and its
plotly timeline (hover texts included), through IPython's display pipeline and in a notebook
executed by nbclient (with the progress lines it prints). `result.show(redact=False)` shows the
raw texts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from IPython.core.formatters import DisplayFormatter

from agentnb import Agent, FunctionModel, Verdict, guard, tool, tool_call
from agentnb.agents import RunResult
from agentnb.display.trace import TRACE_MIME
from agentnb.secrets import REDACTED, redact

Script = Callable[..., FunctionModel]

ENV_NAME = "ACME_SERVICE_TOKEN"
ENV_VALUE = "acme-7c1d9e2f4a5b"
"""An environment-variable secret: no pattern knows its shape, only its name (`…_TOKEN`)."""

# kind: (the text planted, the secret inside it that must not be shown)
SECRETS: dict[str, tuple[str, str]] = {
    "openai": ("sk-proj-Abc123def456GHI789jkl012", "sk-proj-Abc123def456GHI789jkl012"),
    "anthropic": ("sk-ant-api03-Zyx987Wvu654Tsr321", "sk-ant-api03-Zyx987Wvu654Tsr321"),
    "bearer": ("Authorization: Bearer tok.Aa1Bb2Cc3Dd4Ee5", "tok.Aa1Bb2Cc3Dd4Ee5"),
    "github": ("ghp_A1b2C3d4E5f6G7h8I9j0K1l2", "ghp_A1b2C3d4E5f6G7h8I9j0K1l2"),
    "slack": ("xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"),
    "aws_access_key_id": ("AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    "aws_secret_access_key": (
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    "url_password": ("postgres://admin:S3cretPass42x@db.example.com/orders", "S3cretPass42x"),
    "env": (f"my token is {ENV_VALUE}", ENV_VALUE),
}
KNOWN_HERE = {"openai", "anthropic", "bearer", "github", "slack", "aws_access_key_id", "env"}
"""Kinds `agentnb.secrets` redacts since the first release: they must be among those hidden."""

PLANTED = " | ".join(text for text, _ in SECRETS.values())


@pytest.fixture
def env_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_NAME, ENV_VALUE)


def hidden_kinds() -> list[str]:
    """The kinds the telemetry's redaction removes: exactly these must not be displayed."""
    return [kind for kind, (text, secret) in SECRETS.items() if secret not in redact(text)]


@tool
def lookup(order: str, note: str) -> str:
    """Look an order up."""
    return f"order {order}: paid; internal {PLANTED}"


@guard("final_output", on_fail="warn")
def no_keys(text: str) -> Verdict:
    return Verdict.warn(f"the answer quotes credentials: {PLANTED}")


def planted_run(script: Script) -> RunResult:
    model = script(tool_call("lookup", order="A-1", note=PLANTED), f"Done. {PLANTED}")
    agent = Agent("leaky", model=model, tools=[lookup], guards=[no_keys], telemetry=False)
    return agent.run_sync(f"Check order A-1 with these credentials: {PLANTED}")


def shown(result: RunResult) -> dict[str, str]:
    """Every display of `result` as text, by where it comes from."""
    data, _ = DisplayFormatter().format(result)
    verdicts, _ = DisplayFormatter().format(result.verdicts)
    fig = result.plot()
    figure, _ = DisplayFormatter().format(fig)
    return {
        **{f"result {mime}": _text(value) for mime, value in data.items()},
        **{f"verdicts {mime}": _text(value) for mime, value in verdicts.items()},
        **{f"plot {mime}": _text(value) for mime, value in figure.items()},
        "plot figure JSON": fig.to_json(),
        "str(result)": str(result),
    }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def test_the_kinds_telemetry_redacts(env_secret: None) -> None:
    assert set(hidden_kinds()) >= KNOWN_HERE


def test_no_secret_reaches_any_mime_entry(script: Script, env_secret: None) -> None:
    result = planted_run(script)
    # the run really carries every secret in all four places
    assert PLANTED in result.prompt
    assert PLANTED in result.output
    assert PLANTED in result.tool_calls[0].arguments
    assert PLANTED in result.tool_calls[0].result
    assert PLANTED in result.verdicts[-1].reason

    outputs = shown(result)
    assert set(outputs) >= {
        "result text/plain",
        "result text/html",
        "result application/vnd.agentnb.trace+json",
        "verdicts text/plain",
        "verdicts text/html",
        "plot application/vnd.plotly.v1+json",
        "plot text/html",
    }
    leaks = [
        (kind, where)
        for kind in hidden_kinds()
        for where, text in outputs.items()
        if SECRETS[kind][1] in text
    ]
    assert leaks == []
    # every entry that shows the run's texts shows the redaction mark instead
    assert [where for where, text in outputs.items() if REDACTED not in text] == [
        "plot text/plain"  # "<TraceFigure: 6 traces>"
    ]


def test_show_redact_false_shows_the_raw_texts(script: Script, env_secret: None) -> None:
    result = planted_run(script)
    raw = result.show(redact=False)._repr_mimebundle_()
    redacted = result._repr_mimebundle_()
    # The payload and the summary hold every text whole (the HTML clips long ones).
    for kind in hidden_kinds():
        secret = SECRETS[kind][1]
        assert secret in json.dumps(raw[TRACE_MIME], ensure_ascii=False), kind
        assert secret in raw["text/plain"], kind
        assert not any(secret in _text(value) for value in redacted.values()), kind
    assert raw[TRACE_MIME]["prompt"] == result.prompt
    assert ENV_VALUE in raw["text/html"]
    key = SECRETS["openai"][1]  # the first planted: hover texts are clipped
    assert key in result.plot(redact=False).to_json()
    assert key not in result.plot().to_json()


@pytest.mark.slow
def test_an_executed_notebook_saves_no_secret(tmp_path: Path, env_secret: None) -> None:
    import nbformat  # only here: importing it costs most of a second

    from agentnb.notebook.execute import execute_notebook

    source = f"""
from agentnb import Agent, FunctionModel, Verdict, guard, tool, tool_call
from agentnb.notebook import progress
PLANTED = {PLANTED!r}

@tool
def lookup(order: str, note: str) -> str:
    "Look an order up."
    return f"order {{order}}: paid; internal {{PLANTED}}"

@guard("final_output", on_fail="warn")
def no_keys(text: str) -> Verdict:
    return Verdict.warn(f"the answer quotes credentials: {{PLANTED}}")

replies = iter([tool_call("lookup", order="A-1", note=PLANTED), f"Done. {{PLANTED}}"])
model = FunctionModel(lambda request: next(replies))
agent = Agent("leaky", model=model, tools=[lookup], guards=[no_keys], telemetry=False)
with progress(agent, mode="text"):  # one line per step, tool call and verdict, on stdout
    result = agent.run_sync(f"Check order A-1 with these credentials: {{PLANTED}}")
display(result, result.verdicts, result.plot())
result
"""
    notebook = tmp_path / "leaky.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), notebook)

    summary = execute_notebook(notebook, output=tmp_path / "out.ipynb")

    assert summary.ok, summary.describe()
    outputs = nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[0].outputs
    mimes = sorted(mime for output in outputs for mime in output.get("data", {}))
    assert mimes.count("application/vnd.agentnb.trace+json") == 2
    assert "application/vnd.plotly.v1+json" in mimes
    # The outputs only (displays, and the progress lines on stdout): the cell's source holds
    # the secrets, as the user typed them.
    assert any(o["output_type"] == "stream" for o in outputs)
    saved = json.dumps([o.get("data") or o.get("text") for o in outputs], ensure_ascii=False)
    assert [kind for kind in hidden_kinds() if SECRETS[kind][1] in saved] == []
    assert saved.count("[REDACTED]") > 20
