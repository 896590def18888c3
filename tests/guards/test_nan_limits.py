"""NaN and infinities never pass a numeric limit: `nan > 100` is false, so a naive `max` check
would let `amount=nan` through. Tested through the real OpenAI SDK over HTTP, as models send it."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import pytest
from pydantic import Field

from agentnb import Agent, FunctionModel, guards, tool, tool_call
from agentnb.models.openai import OpenAIModel
from agentnb.tools import ToolArgumentsInvalid
from tests.wire_server import Call, Reply, WireServer

Script = Callable[..., FunctionModel]

# The forms a model sent in the report: a bare NaN token, the strings "NaN" and "nan", and the
# arguments text '{"amount": NaN}' (what json.dumps makes of float("nan")); and the infinities.
NON_FINITE: list[Any] = [math.nan, "NaN", "nan", "Infinity", "-inf", math.inf]


@pytest.fixture
def wire() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server


def _refund_tool(ran: list[float], *, allow_non_finite: bool = False) -> Any:
    if allow_non_finite:

        @tool
        def refund(order: int, amount: Annotated[float, Field(allow_inf_nan=True)]) -> str:
            """Refund an order."""
            ran.append(amount)
            return "refunded"

        return refund

    @tool
    def refund(order: int, amount: float) -> str:  # type: ignore[no-redef]
        """Refund an order."""
        ran.append(amount)
        return "refunded"

    return refund


@pytest.mark.parametrize("amount", NON_FINITE)
@pytest.mark.parametrize("rule", [{"max": 100}, {"min": 1}])
async def test_non_finite_amounts_never_reach_the_tool_over_the_openai_sdk(
    wire: WireServer, amount: Any, rule: dict[str, float]
) -> None:
    wire.script(Reply(calls=[Call("refund", {"order": 1042, "amount": amount})]))
    ran: list[float] = []
    model = OpenAIModel("gpt-test", base_url=f"{wire.url}/v1", api_key="test-key")
    agent = Agent(
        "shop",
        model=model,
        tools=[_refund_tool(ran)],
        guards=[guards.tool_args("refund", amount=rule)],
        telemetry=False,
    )
    try:
        result = await agent.run("refund order 1042")
    finally:
        await model.aclose()

    assert ran == []
    [call] = result.tool_calls
    assert call.error == "invalid_arguments"
    assert "amount: Input should be a finite number" in call.result
    assert f'"amount": {json.dumps(amount)}' in call.arguments  # as the SDK delivered it


@pytest.mark.parametrize("amount", NON_FINITE)
@pytest.mark.parametrize(
    ("rule", "reason"),
    [({"max": 100}, "is not a finite number"), ({"min": 1}, "is not a finite number")],
)
async def test_a_limit_refuses_non_finite_values_a_parameter_allows(
    script: Script, amount: Any, rule: dict[str, float], reason: str
) -> None:
    ran: list[float] = []
    agent = Agent(
        "shop",
        model=script(tool_call("refund", order=1042, amount=amount), "done"),
        tools=[_refund_tool(ran, allow_non_finite=True)],
        guards=[guards.tool_args("refund", amount=rule)],
    )
    result = await agent.run("refund")

    assert ran == []
    [verdict] = result.verdicts
    assert (verdict.outcome, verdict.action) == ("block", "skip")
    assert reason in verdict.reason


@pytest.mark.parametrize(
    "arguments",
    [
        '{"order": 1, "amount": NaN}',
        '{"order": 1, "amount": "nan"}',
        {"order": 1, "amount": "-inf"},
    ],
)
def test_tool_arguments_refuse_non_finite_numbers_unless_allowed(arguments: Any) -> None:
    with pytest.raises(ToolArgumentsInvalid, match="amount: Input should be a finite number"):
        _refund_tool([]).validate_args(arguments)
    allowed = _refund_tool([], allow_non_finite=True).validate_args(arguments)
    assert not math.isfinite(allowed.amount)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("150", "amount='150' is above the maximum 100"),
        ("abc", "amount='abc' is not a number, so its limits cannot hold"),
        (True, "amount=True is not a number, so its limits cannot hold"),
        (50, None),
    ],
)
async def test_limits_on_text_and_bool_arguments(
    script: Script, value: Any, problem: str | None
) -> None:
    @tool
    def refund(order: int, amount: str | bool | int) -> str:
        """Refund an order."""
        return "refunded"

    agent = Agent(
        "shop",
        model=script(tool_call("refund", order=1, amount=value), "done"),
        tools=[refund],
        guards=[guards.tool_args("refund", amount={"max": 100})],
    )
    result = await agent.run("refund")
    [verdict] = result.verdicts
    assert (verdict.reason or None) == problem
