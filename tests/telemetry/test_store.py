"""Runs land in a real LanceDB store on disk and come back through the query API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest.mock import ANY

import pandas as pd
import pyarrow as pa
import pytest

from agentnb import Agent, FunctionModel, ToolFailed, UserError, telemetry, tool, tool_call
from agentnb.guards import GuardErrorWarning, guard
from agentnb.models import AssistantMessage, ModelRequest
from agentnb.telemetry import SCHEMA_VERSION
from agentnb.telemetry.lance import SchemaMismatch

Recording = Callable[..., Agent]


@tool
def convert(amount: float, currency: str = "EUR") -> dict[str, Any]:
    """Convert US dollars to another currency."""
    return {"amount": round(amount * 0.8, 2), "currency": currency}


@tool
def refund(order_id: str, amount: float) -> str:
    """Refund an order."""
    raise PermissionError(f"refund of {amount} for {order_id} refused by the bank")


def fx_model(request: ModelRequest) -> Any:
    if not any(m.role == "tool" for m in request.messages):
        return tool_call("convert", amount=12.5, currency="GBP")
    return "12.5 USD is 10.0 GBP."


def refund_model(request: ModelRequest) -> Any:
    return tool_call("refund", order_id="A-17", amount=80)


def test_a_run_lands_in_the_store_with_its_span_tree(
    recording: Recording, store: telemetry.Store
) -> None:
    agent = recording("fx", model=FunctionModel(fx_model, name="fx-model"), tools=[convert])
    result = agent.run_sync("How much is 12.5 dollars in GBP?")

    trace = store.trace(result.trace_id)
    assert trace.trace_id == result.trace_id
    root = trace.root
    assert root is not None
    assert [(c.operation, c.name) for c in root.children] == [
        ("chat", "chat fx-model"),
        ("execute_tool", "execute_tool convert"),
        ("chat", "chat fx-model"),
    ]
    assert root.to_dict() == {
        "span_id": result.trace_id[:16],
        "parent_span_id": None,
        "name": "invoke_agent fx",
        "operation": "invoke_agent",
        "start_time": ANY,
        "end_time": ANY,
        "duration_ms": ANY,
        "status": "ok",
        "error_type": None,
        "attributes": {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.provider.name": "function",
            "gen_ai.request.model": "fx-model",
            "gen_ai.agent.name": "fx",
            "gen_ai.agent.version": "0.1.0",
            "agentnb.agent.name": "fx",
            "agentnb.agent.version": "0.1.0",
            "agentnb.config.hash": agent.config_hash,
            "agentnb.run.id": result.trace_id,
            "agentnb.run.status": "ok",
            "agentnb.run.steps": 2,
            "agentnb.run.tool_calls": 1,
            "agentnb.capture_content": "full",
            "gen_ai.usage.input_tokens": result.usage.input_tokens,
            "gen_ai.usage.output_tokens": result.usage.output_tokens,
            "gen_ai.input.messages": json.dumps(
                [
                    {
                        "role": "user",
                        "parts": [{"type": "text", "content": "How much is 12.5 dollars in GBP?"}],
                    }
                ],
                separators=(",", ":"),
            ),
            "gen_ai.output.messages": json.dumps(
                [
                    {
                        "role": "assistant",
                        "parts": [{"type": "text", "content": "12.5 USD is 10.0 GBP."}],
                        "finish_reason": "stop",
                    }
                ],
                separators=(",", ":"),
            ),
        },
        "events": [],
        "children": ANY,
    }
    chat, tool_span, _ = root.children
    assert chat.attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "function",
        "gen_ai.request.model": "fx-model",
        "gen_ai.response.model": "fx-model",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.request.stream": False,
        "gen_ai.usage.input_tokens": result.steps[0].usage.input_tokens,
        "gen_ai.usage.output_tokens": result.steps[0].usage.output_tokens,
        "agentnb.step": 1,
        "gen_ai.input.messages": ANY,
        "gen_ai.output.messages": ANY,
    }
    assert json.loads(chat.attributes["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_convert",
                    "name": "convert",
                    "arguments": '{"amount": 12.5, "currency": "GBP"}',
                }
            ],
            "finish_reason": "stop",
        }
    ]
    assert tool_span.attributes == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "convert",
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.id": "call_convert",
        "gen_ai.tool.call.arguments": '{"amount": 12.5, "currency": "GBP"}',
        "gen_ai.tool.call.result": '{"amount":10.0,"currency":"GBP"}',
        "agentnb.step": 1,
    }
    second_chat = root.children[2]
    inputs = json.loads(second_chat.attributes["gen_ai.input.messages"])
    assert [m["role"] for m in inputs] == ["user", "assistant", "tool"]
    assert root.start_time <= chat.start_time <= tool_span.start_time <= root.end_time
    assert "invoke_agent fx" in str(trace)
    assert "execute_tool convert" in str(trace)


def test_each_chat_span_holds_the_exact_request_though_a_guard_rewrites_every_turn(
    recording: Recording, store: telemetry.Store
) -> None:
    received: list[int] = []

    def model(request: ModelRequest) -> Any:
        received.append(len(request.messages))  # the run's conversation, as the model saw it
        return fx_model(request)

    @guard("model_output")
    def polite(turn: AssistantMessage) -> str:
        return "Sure. " + turn.text  # no turn reaches the conversation as the model sent it

    agent = recording(
        "fx",
        model=FunctionModel(model),
        tools=[convert],
        guards=[polite],
        instructions="You convert money.",
    )
    result = agent.run_sync("How much is 12.5 dollars in GBP?")
    first, second = store.trace(result.trace_id).find("chat")

    prompt = {"role": "user", "parts": [{"type": "text", "content": result.prompt}]}
    assert received == [1, 3]
    assert json.loads(first.attributes["gen_ai.input.messages"]) == [prompt]
    assert json.loads(second.attributes["gen_ai.input.messages"]) == [
        prompt,
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Sure. "},
                {
                    "type": "tool_call",
                    "id": "call_convert",
                    "name": "convert",
                    "arguments": '{"amount": 12.5, "currency": "GBP"}',
                },
            ],
        },
        {
            "role": "tool",
            "parts": [
                {
                    "type": "tool_call_response",
                    "id": "call_convert",
                    "response": '{"amount":10.0,"currency":"GBP"}',
                }
            ],
        },
    ]
    assert json.loads(second.attributes["gen_ai.output.messages"]) == [  # before the rewrite
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "12.5 USD is 10.0 GBP."}],
            "finish_reason": "stop",
        }
    ]
    for chat in (first, second):
        assert json.loads(chat.attributes["gen_ai.system_instructions"]) == [
            {"type": "text", "content": "You convert money."}
        ]
    root = store.trace(result.trace_id).root
    assert root is not None
    assert "gen_ai.system_instructions" not in root.attributes  # a request's, on chat spans


def test_runs_returns_one_row_per_run_newest_first(
    recording: Recording, store: telemetry.Store
) -> None:
    fx = recording("fx", model=FunctionModel(fx_model), tools=[convert], version="1.2.0")
    support = recording("support", model=FunctionModel(refund_model), tools=[refund])
    first = fx.run_sync("12.5 dollars in GBP?")
    with pytest.raises(ToolFailed):
        support.run_sync("Refund order A-17")
    last = fx.run_sync("and 20 dollars?")

    runs = store.runs()
    assert list(runs["agent"]) == ["fx", "support", "fx"]
    assert runs["trace_id"].iloc[0] == last.trace_id
    assert runs["trace_id"].iloc[2] == first.trace_id
    assert "vector" not in runs.columns
    row = store.runs(as_arrow=True).to_pylist()[0]
    assert row == {
        "trace_id": last.trace_id,
        "agent": "fx",
        "version": "1.2.0",
        "config_hash": fx.config_hash,
        "model": "function:fx_model",
        "provider": "function",
        "status": "ok",
        "error_type": None,
        "error": None,
        "started_at": ANY,
        "ended_at": ANY,
        "duration_ms": ANY,
        "steps": 2,
        "model_calls": 2,
        "tool_calls": 1,
        "tool_errors": 0,
        "tools": ANY,
        "input_tokens": last.usage.input_tokens,
        "output_tokens": last.usage.output_tokens,
        "cost": None,
        "guard_verdicts": 0,
        "guard_blocks": 0,
        "capture": "full",
        "prompt": "and 20 dollars?",
        "output": "12.5 USD is 10.0 GBP.",
        "guard_errors": 0,
    }
    assert row["tools"] == ["convert"]

    errors = store.runs(agent="support", status="error")
    assert len(errors) == 1
    assert errors["error_type"].iloc[0] == "ToolFailed"
    assert errors["tool_errors"].iloc[0] == 3
    assert len(store.runs(status=["ok", "error"], last=2)) == 2
    assert len(store.runs(tool="refund")) == 1
    assert len(store.runs(version="1.2.0")) == 2
    assert len(store.runs(since="1h")) == 3
    assert len(store.runs(since=timedelta(seconds=0))) == 0
    assert store.runs(agent="nobody").empty
    arrow = store.runs(as_arrow=True)
    assert isinstance(arrow, pa.Table)
    assert arrow.num_rows == 3


def test_stats_count_runs_tool_calls_and_model_calls(
    recording: Recording, store: telemetry.Store
) -> None:
    fx = recording("fx", model=FunctionModel(fx_model), tools=[convert])
    support = recording("support", model=FunctionModel(refund_model), tools=[refund])
    for _ in range(3):
        fx.run_sync("12.5 dollars in GBP?")
    with pytest.raises(ToolFailed):
        support.run_sync("Refund order A-17")

    by_agent = store.stats().set_index("agent")
    assert by_agent.loc["fx", "count"] == 3
    assert by_agent.loc["fx", "error_rate"] == 0
    assert by_agent.loc["support", "count"] == 1
    assert by_agent.loc["support", "error_rate"] == 1
    assert by_agent.loc["fx", "p50_ms"] > 0
    assert by_agent.loc["fx", "p95_ms"] >= by_agent.loc["fx", "p50_ms"]
    assert by_agent.loc["fx", "input_tokens"] > 0

    by_tool = store.stats(by=["agent", "version", "tool"])
    assert by_tool[["agent", "version", "tool", "count", "errors"]].to_dict("records") == [
        {"agent": "fx", "version": "0.1.0", "tool": "convert", "count": 3, "errors": 0},
        {"agent": "support", "version": "0.1.0", "tool": "refund", "count": 3, "errors": 3},
    ]
    assert list(by_tool.columns) == [
        "agent",
        "version",
        "tool",
        "count",
        "errors",
        "error_rate",
        "p50_ms",
        "p95_ms",
        "input_tokens",
        "output_tokens",
        "cost",
        "guard_blocks",
        "guard_block_rate",
        "guard_errors",
    ]
    by_model = store.stats(by=["model"])
    assert by_model.set_index("model").loc["fx_model", "count"] == 6  # two turns per run
    with pytest.raises(UserError, match="cannot group tool calls by 'provider'"):
        store.stats(by=["tool", "provider"])


def test_guard_verdicts_are_spans_rows_and_block_rates(
    recording: Recording, store: telemetry.Store
) -> None:
    @guard("tool_call", on_fail="skip")
    def small_refunds(call: Any) -> bool:
        return call.args["amount"] <= 50

    script = iter([tool_call("refund", order_id="A-17", amount=80), "I could not refund it."])
    agent = recording(
        "support",
        model=FunctionModel(lambda r: next(script)),
        tools=[refund],
        guards=[small_refunds],
    )
    result = agent.run_sync("Refund order A-17")
    assert result.status == "ok"

    verdicts = store.verdicts(result.trace_id)
    assert verdicts[["guard", "point", "outcome", "target"]].to_dict("records") == [
        {"guard": "small_refunds", "point": "tool_call", "outcome": "block", "target": "refund"}
    ]
    trace = store.trace(result.trace_id)
    (tool_span,) = trace.find("execute_tool")
    assert [c.operation for c in tool_span.children] == ["guard"]
    assert tool_span.children[0].attributes["agentnb.guard.outcome"] == "block"
    assert tool_span.status == "ok"
    assert tool_span.attributes["agentnb.tool.blocked"] is True
    stats = store.stats(by=["agent", "tool"]).iloc[0]
    assert (stats["count"], stats["errors"], stats["guard_blocks"]) == (1, 0, 1)
    assert stats["guard_block_rate"] == 1.0
    assert store.runs()["guard_blocks"].iloc[0] == 1


def test_search_finds_runs_by_their_words(recording: Recording, store: telemetry.Store) -> None:
    agent = recording("support", model=FunctionModel(lambda r: f"Noted: {r.messages[-1].content}"))
    prompts = [
        "What is the weather in Paris tomorrow?",
        "My refund was refused by the bank, why?",
        "Convert 12 dollars to pounds",
        "Book a table for two at eight",
    ]
    ids = [agent.run_sync(p).trace_id for p in prompts]

    hits = store.search("refund refused", k=2)
    assert hits["trace_id"].iloc[0] == ids[1]
    assert hits["score"].iloc[0] > hits["score"].iloc[1]
    assert len(store.search("weather", k=10, agent="nobody")) == 0


def test_a_keyboard_interrupt_mid_run_is_stored_as_cancelled(
    recording: Recording, store: telemetry.Store
) -> None:
    @tool
    def slow_lookup(query: str) -> str:
        """Look something up."""
        raise KeyboardInterrupt

    agent = recording(
        "fx",
        model=FunctionModel(lambda r: tool_call("slow_lookup", query="x")),
        tools=[slow_lookup],
    )
    with pytest.raises(KeyboardInterrupt):
        agent.run_sync("look it up")
    run_id = agent.last_result.trace_id if agent.last_result else ""

    (row,) = store.runs().to_dict("records")
    assert (row["trace_id"], row["status"], row["error_type"]) == (
        run_id,
        "cancelled",
        "KeyboardInterrupt",
    )
    trace = store.trace(run_id)
    root = trace.root
    assert root is not None
    assert root.status == "error"
    (tool_span,) = trace.find("execute_tool")
    assert (tool_span.status, tool_span.error_type) == ("error", "cancelled")
    assert tool_span.end_time <= root.end_time


def test_content_capture_modes(recording: Recording, monkeypatch: pytest.MonkeyPatch) -> None:
    agent = recording(
        "fx", model=FunctionModel(fx_model), tools=[convert], instructions="Convert 12.5 USD."
    )
    telemetry.configure(capture="redacted")
    redacted = agent.run_sync("How much is 12.5 dollars in GBP?")
    monkeypatch.setenv("AGENTNB_CAPTURE_CONTENT", "off")
    telemetry.configure(capture=None)
    off = agent.run_sync("How much is 12.5 dollars in GBP?")
    store = telemetry.open()

    rows = store.runs().set_index("trace_id")
    assert rows.loc[redacted.trace_id, "prompt"] == "[REDACTED]"
    assert pd.isna(rows.loc[off.trace_id, "prompt"])
    assert rows.loc[off.trace_id, "capture"] == "off"
    tool_r = store.trace(redacted.trace_id).find("execute_tool")[0].attributes
    assert tool_r["gen_ai.tool.call.arguments"] == "[REDACTED]"
    assert tool_r["gen_ai.tool.call.id"] == "call_convert"  # the structure stays
    chat_r = store.trace(redacted.trace_id).find("chat")[0].attributes
    assert "12.5" not in chat_r["gen_ai.input.messages"]
    assert json.loads(chat_r["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "[REDACTED]"}
    ]
    off_trace = store.trace(off.trace_id)
    for span in off_trace.spans:
        assert not {
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.system_instructions",
            "gen_ai.tool.call.arguments",
            "gen_ai.tool.call.result",
        } & set(span.attributes)
    with pytest.raises(UserError, match="not a content-capture mode"):
        telemetry.configure(capture="everything")  # type: ignore[arg-type]


def test_the_schema_version_is_stored_and_a_newer_store_is_refused(
    store: telemetry.Store, tmp_path: Any
) -> None:
    info = store.info()
    assert info["schema_version"] == SCHEMA_VERSION == 1
    meta = store._conn.table("spans").schema.metadata
    assert meta[b"agentnb.schema_version"] == str(SCHEMA_VERSION).encode()
    store._conn.set_meta({"schema_version": str(SCHEMA_VERSION + 1)})
    from agentnb.telemetry import lance

    lance.forget_connections()
    with pytest.raises(SchemaMismatch, match="newer than this agentnb"):
        telemetry.open()


def test_a_store_refuses_another_embedding_space(store: telemetry.Store) -> None:
    from agentnb.telemetry import HashedNgramEmbedder, lance

    lance.forget_connections()
    with pytest.raises(SchemaMismatch, match="embeds runs with"):
        telemetry.open(store.uri, embedder=HashedNgramEmbedder(dim=64))


def test_trace_accepts_a_unique_prefix_and_explains_bad_ids(
    recording: Recording, store: telemetry.Store
) -> None:
    agent = recording("fx", model=FunctionModel(fx_model), tools=[convert])
    run_id = agent.run_sync("12.5 dollars in GBP?").trace_id
    assert store.trace(run_id[:8].upper()).trace_id == run_id
    with pytest.raises(UserError, match="no run"):
        store.trace("f" * 32 if run_id[0] != "f" else "e" * 32)
    with pytest.raises(UserError, match="not a run id"):
        store.trace("xyz")


def test_store_location_follows_configuration(
    recording: Recording, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = recording("fx", model=FunctionModel(fx_model), tools=[convert])
    there = tmp_path / "elsewhere"
    monkeypatch.setenv("AGENTNB_TELEMETRY_URI", str(there))
    run_id = agent.run_sync("12.5 dollars in GBP?").trace_id
    assert telemetry.open().uri == str(there)
    assert telemetry.open(str(there)).trace(run_id).trace_id == run_id
    telemetry.configure(uri=str(tmp_path / "third"))
    other = agent.run_sync("12.5 dollars in GBP?").trace_id
    assert list(telemetry.open(str(tmp_path / "third")).runs()["trace_id"]) == [other]


async def test_a_streamed_run_records_the_stream_flag_and_first_chunk(
    recording: Recording, store: telemetry.Store
) -> None:
    agent = recording("fx", model=FunctionModel(fx_model), tools=[convert])
    events = [e async for e in agent.stream("How much is 12.5 dollars in GBP?")]
    run_id = events[-1].result.trace_id  # type: ignore[union-attr]
    telemetry.flush()
    chats = store.trace(run_id).find("chat")
    assert [c.attributes["gen_ai.request.stream"] for c in chats] == [True, True]
    assert chats[1].attributes["gen_ai.response.time_to_first_chunk"] >= 0  # the text turn


def test_a_retry_is_an_event_on_its_chat_span(recording: Recording, store: telemetry.Store) -> None:
    from agentnb.errors import RateLimited
    from agentnb.layers import ManualClock, RetryLayer

    failures = iter([True])

    def flaky(request: ModelRequest) -> Any:
        if next(failures, False):
            raise RateLimited("slow down", provider="function", model="flaky", status=429)
        return "fine"

    model = RetryLayer(FunctionModel(flaky), retries=2, backoff=0.0, clock=ManualClock())
    result = recording("fx", model=model).run_sync("hello")
    (chat,) = store.trace(result.trace_id).find("chat")
    assert [e["name"] for e in chat.events] == ["agentnb.retry"]
    assert chat.events[0]["attributes"]["agentnb.layer.name"] == "retry"
    assert "slow down" in chat.events[0]["attributes"]["agentnb.layer.message"]


def test_a_guard_that_raises_is_counted_per_run_and_in_stats(
    recording: Recording, store: telemetry.Store
) -> None:
    @guard("tool_call", on_fail="skip")
    def buggy_limit(call: Any) -> bool:
        return call.args["amount_usd"] <= 50  # a typo: the argument is `amount`

    script = iter([tool_call("refund", order_id="A-17", amount=80), "I could not refund it."])
    guarded = recording(
        "support", model=FunctionModel(lambda r: next(script)), tools=[refund],
        guards=[buggy_limit],
    )  # fmt: skip
    with pytest.warns(GuardErrorWarning, match="guard 'buggy_limit' raised KeyError"):
        broken = guarded.run_sync("Refund order A-17")
    fine = recording("fx", model=FunctionModel(fx_model), tools=[convert]).run_sync("12.5 USD?")

    runs = store.runs().set_index("trace_id")
    assert runs.loc[broken.trace_id, "guard_errors"] == 1
    assert runs.loc[fine.trace_id, "guard_errors"] == 0
    assert store.runs(agent="fx", as_arrow=True)["guard_errors"].to_pylist() == [0]

    by_agent = store.stats().set_index("agent")
    assert by_agent.loc["support", "guard_errors"] == 1
    assert by_agent.loc["fx", "guard_errors"] == 0
    by_tool = store.stats(by=["agent", "tool"]).set_index("tool")
    assert by_tool.loc["refund", "guard_errors"] == 1
    assert by_tool.loc["convert", "guard_errors"] == 0
    assert store.stats(agent="fx")["guard_errors"].to_list() == [0]
    assert store.stats(by=["tool"], since="1h")["guard_errors"].sum() == 1
    assert store.stats(by=["tool"], until="1h")["guard_errors"].sum() == 0
    assert store.verdicts(broken.trace_id)["outcome"].to_list() == ["error"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            lambda s: s.runs(status="failed"),
            "status='failed' matches no stored value: use one of ok, error, cancelled, blocked. "
            "Did you mean 'error'?",
        ),
        (lambda s: s.runs(status=["ok", "canceled"]), "Did you mean 'cancelled'?"),
        (lambda s: s.search("refund", status="success"), "Did you mean 'ok'?"),
        (lambda s: s.spans(operation="tool_call"), "Did you mean 'execute_tool'?"),
        (lambda s: s.spans(operation="chats"), "Did you mean 'chat'?"),
        (lambda s: s.spans(status="blocked"), "use one of ok, error."),
    ],
)
def test_a_filter_value_that_can_never_match_is_refused(
    store: telemetry.Store, query: Callable[[telemetry.Store], Any], message: str
) -> None:
    with pytest.raises(UserError) as error:
        query(store)
    assert message in str(error.value)


def test_a_store_path_that_is_a_file_is_explained(tmp_path: Any) -> None:
    path = tmp_path / "telemetry"
    path.write_text("not a store")
    with pytest.raises(UserError) as error:
        telemetry.open(str(path))
    assert str(error.value).startswith(
        f"the telemetry store path {path} is a file, not a folder: point the store at a folder"
    )


def _truncate_a_fragment(uri: str, table: str) -> Any:
    from pathlib import Path

    (data,) = sorted((Path(uri) / f"{table}.lance" / "data").glob("*.lance"))[:1]
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    return data


@pytest.mark.parametrize("table", ["runs", "spans"])
def test_a_damaged_fragment_names_the_table_and_what_to_do(
    recording: Recording, table: str
) -> None:
    agent = recording("fx", model=FunctionModel(fx_model), tools=[convert])
    run_id = agent.run_sync("12.5 dollars in GBP?").trace_id
    telemetry.flush()
    store = telemetry.open()
    damaged = _truncate_a_fragment(store.uri, table)
    from agentnb.telemetry import lance

    lance.forget_connections()  # a fresh process: nothing cached
    reopened = telemetry.open(store.uri)
    query = {"runs": lambda: reopened.runs(), "spans": lambda: reopened.trace(run_id)}[table]
    with pytest.raises(UserError) as error:
        query()
    message = str(error.value)
    assert message.startswith(
        f"the {table!r} table of the telemetry store at {store.uri} cannot be read: data file "
        f"{damaged} is cut short (LanceDB: failed to fill whole buffer)"
    )
    assert f"Restore {store.uri} from a backup" in message
