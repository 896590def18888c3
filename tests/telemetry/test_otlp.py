"""OTLP export to a local receiver, a user's TracerProvider, and no double counting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentnb import Agent, FunctionModel, telemetry, tool, tool_call
from agentnb.models import ModelRequest
from tests.telemetry.otlp_receiver import OtlpReceiver

Recording = Callable[..., Agent]
ROOT = Path(__file__).resolve().parents[2]


@tool
def convert(amount: float, currency: str = "EUR") -> dict[str, Any]:
    """Convert US dollars to another currency."""
    return {"amount": round(amount * 0.8, 2), "currency": currency}


def fx_model(request: ModelRequest) -> Any:
    if not any(m.role == "tool" for m in request.messages):
        return tool_call("convert", amount=12.5, currency="GBP")
    return "12.5 USD is 10.0 GBP."


def test_spans_go_to_an_otlp_endpoint_set_by_environment(
    recording: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "fx-notebook")
        agent = recording("fx", model=FunctionModel(fx_model), tools=[convert])
        result = agent.run_sync("How much is 12.5 dollars in GBP?")
        assert telemetry.flush()
        spans = receiver.spans()

    assert set(receiver.paths) == {"/v1/traces"}
    assert {h.get("content-type") for h in receiver.headers} == {"application/x-protobuf"}
    by_name = {s["name"]: s for s in spans}
    assert [s["name"] for s in sorted(spans, key=lambda s: s["start"])] == [
        "invoke_agent fx",
        "chat fx_model",
        "execute_tool convert",
        "chat fx_model",
    ]
    root = by_name["invoke_agent fx"]
    assert {s["trace_id"] for s in spans} == {result.trace_id}
    assert root["span_id"] == result.trace_id[:16]
    assert root["parent_span_id"] is None
    assert all(s["parent_span_id"] == root["span_id"] for s in spans if s is not root)
    assert root["resource"]["service.name"] == "fx-notebook"
    assert root["scope"] == "agentnb"
    assert root["attributes"]["gen_ai.operation.name"] == "invoke_agent"
    assert root["attributes"]["agentnb.agent.version"] == "0.1.0"
    assert root["attributes"]["agentnb.config.hash"] == agent.config_hash
    tool_span = by_name["execute_tool convert"]
    assert tool_span["attributes"] == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "convert",
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.id": "call_convert",
        "gen_ai.tool.call.arguments": '{"amount": 12.5, "currency": "GBP"}',
        "gen_ai.tool.call.result": '{"amount":10.0,"currency":"GBP"}',
        "agentnb.step": 1,
    }
    chats = [s for s in spans if s["name"] == "chat fx_model"]
    assert all(c["kind"] == 3 for c in chats)  # SPAN_KIND_CLIENT
    assert chats[0]["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]
    assert all(root["start"] <= s["start"] <= s["end"] <= root["end"] for s in spans)
    # the same spans are in LanceDB
    assert len(telemetry.open().trace(result.trace_id)) == 4


def test_the_traces_endpoint_variable_is_used_as_is(
    recording: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.url + "/custom/traces")
        recording("fx", model=FunctionModel(fx_model), tools=[convert]).run_sync("12.5 in GBP?")
        telemetry.flush()
    assert set(receiver.paths) == {"/custom/traces"}
    assert len(receiver.spans()) == 4


def test_spans_are_handed_to_a_configured_tracer_provider(recording: Recording) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.configure(tracer_provider=provider)
    result = recording("fx", model=FunctionModel(fx_model), tools=[convert]).run_sync("12.5?")
    telemetry.flush()
    finished = exporter.get_finished_spans()
    assert sorted(s.name for s in finished) == sorted(
        ["invoke_agent fx", "chat fx_model", "execute_tool convert", "chat fx_model"]
    )
    assert {f"{s.context.trace_id:032x}" for s in finished} == {result.trace_id}


ANTHROPIC_PROBE = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {tests!r})
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # the application traces: anthropic traces itself

    import anthropic
    from agentnb import Agent, FunctionModel, telemetry
    from agentnb.models import ModelResponse, AssistantMessage, Usage
    from wire_server import WireServer, Reply

    with WireServer() as server:
        server.script(Reply(text="first"), Reply(text="second"))
        client = anthropic.Anthropic(api_key="sk-ant-test-0000000000", base_url=server.url)

        def claude(request):
            text = request.messages[-1].content
            answer = client.messages.create(
                model="claude-haiku-4-5", max_tokens=64,
                messages=[{{"role": "user", "content": text}}],
            )
            usage = Usage(answer.usage.input_tokens, answer.usage.output_tokens, 1)
            return ModelResponse(AssistantMessage(answer.content[0].text), usage, answer.model)

        agent = Agent("claude-fx", model=FunctionModel(claude), telemetry=False)
        agent.on_event(telemetry.event_handler())
        ids = [agent.run_sync(p).trace_id for p in ("one", "two")]
        telemetry.flush()
    store = telemetry.open()
    stats = store.stats(by=["agent", "model"]).to_dict("records")
    runs = store.runs().to_dict("records")
    spans = [
        dict(name=s.name, trace=f"{{s.context.trace_id:032x}}", id=f"{{s.context.span_id:016x}}",
             parent=f"{{s.parent.span_id:016x}}" if s.parent else None,
             scope=s.instrumentation_scope.name if s.instrumentation_scope else None)
        for s in exporter.get_finished_spans()
    ]
    chats = {{t: [s for s in store.trace(t).spans if s.operation == "chat"] for t in ids}}
    print(json.dumps(dict(
        ids=ids, spans=spans, model_calls=[r["model_calls"] for r in runs],
        chat_count=sum(r["count"] for r in stats),
        chat_ids={{t: [c.span_id for c in cs] for t, cs in chats.items()}},
    )))
    """
)


def test_anthropic_self_tracing_nests_under_chat_spans_and_is_not_counted_twice(
    tmp_path: Path,
) -> None:
    """anthropic emits `anthropic.messages.create` spans when a global TracerProvider is set.

    They nest under agentnb's `chat` span (same trace), and agentnb's counts come from its own
    records only: two runs, two model calls, however many spans other libraries emit.
    """
    probe = ANTHROPIC_PROBE.format(tests=str(ROOT / "tests"))
    env = {**os.environ, "AGENTNB_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    for name in ("ANTHROPIC_BASE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])

    assert out["chat_count"] == 2
    assert out["model_calls"] == [1, 1]
    sdk_spans = [s for s in out["spans"] if s["scope"] != "agentnb"]
    assert sdk_spans, "anthropic did not trace itself: the probe is not testing anything"
    for run_id in out["ids"]:
        (chat_id,) = out["chat_ids"][run_id]
        nested = [s for s in sdk_spans if s["trace"] == run_id]
        assert len(nested) == 1
        assert nested[0]["parent"] == chat_id
    ours = [s for s in out["spans"] if s["scope"] == "agentnb"]
    assert sorted({s["trace"] for s in ours}) == sorted(out["ids"])  # also fed to the provider
