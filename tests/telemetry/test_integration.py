"""Every run lands in the store without extra code; telemetry off means nothing is written."""

from __future__ import annotations

import pytest

from agentnb import Agent, FunctionModel, telemetry


def test_an_agent_records_its_runs_by_default() -> None:
    agent = Agent("plain", model=FunctionModel(lambda r: "hello"))
    assert agent.telemetry is True
    run_id = agent.run_sync("hi").trace_id
    assert list(telemetry.open().runs()["trace_id"]) == [run_id]


def test_telemetry_false_or_the_environment_switch_records_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Agent("quiet", model=FunctionModel(lambda r: "hello"), telemetry=False).run_sync("hi")
    monkeypatch.setenv("AGENTNB_TELEMETRY", "off")
    Agent("quiet-env", model=FunctionModel(lambda r: "hello")).run_sync("hi")
    assert telemetry.open().runs().empty


def test_offline_model_runs_are_recorded_with_their_tool_calls() -> None:
    from agentnb import tool

    @tool
    def convert(amount: float, currency: str = "EUR") -> dict[str, float | str]:
        """Convert US dollars to another currency."""
        return {"amount": amount * 0.9, "currency": currency}

    agent = Agent("fx", model="offline", tools=[convert])
    result = agent.run_sync("How much is 12.5 dollars in EUR?")
    trace = telemetry.open().trace(result.trace_id)
    assert [s.operation for s in trace.spans] == ["invoke_agent", "chat", "execute_tool", "chat"]
    assert trace.find("chat")[0].attributes["gen_ai.provider.name"] == "offline"
