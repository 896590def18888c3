"""The offline model: a deterministic stand-in that picks a tool, fills arguments, answers."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel

from agentnb import Agent, Tool, tool
from agentnb.models import (
    AssistantMessage,
    ModelRequest,
    OfflineModel,
    TextDelta,
    ToolCall,
    ToolResultMessage,
    UserMessage,
)

RATES = {"EUR": 0.92, "USD": 1.0, "GBP": 0.79}
CANT_HELP = "(offline model: a deterministic stand-in, not a language model)"


@tool
def convert(amount: float, currency: Literal["EUR", "USD", "GBP"] = "EUR") -> dict[str, object]:
    """Convert an amount of US dollars into another currency."""
    return {"amount": round(amount * RATES[currency], 2), "currency": currency}


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


@tool
def lookup_order(order_id: str) -> dict[str, str]:
    """Look up an order by its id."""
    return {"order_id": order_id, "status": "shipped"}


@tool
def send_email(email: str, subject: str) -> str:
    """Send an email."""
    return f"sent to {email}: {subject}"


@tool
def search_docs(query: str) -> list[str]:
    """Search the documentation."""
    return [f"doc about {query}"]


ALL: list[Tool[..., Any]] = [convert, get_weather, lookup_order, send_email, search_docs]


def test_quickstart() -> None:
    agent = Agent("fx", model="offline", instructions="You convert money.", tools=[convert])
    result = agent.run_sync("How much is 12.5 dollars in GBP?")
    assert result.messages == [
        UserMessage("How much is 12.5 dollars in GBP?"),
        AssistantMessage(
            "", [ToolCall("call_1_convert", "convert", '{"amount": 12.5, "currency": "GBP"}')]
        ),
        ToolResultMessage("call_1_convert", "convert", '{"amount":9.88,"currency":"GBP"}'),
        AssistantMessage("convert returned amount = 9.88, currency = GBP."),
    ]
    assert (result.status, result.output) == (
        "ok",
        "convert returned amount = 9.88, currency = GBP.",
    )
    assert (result.cost, result.usage.requests, result.model) == (0.0, 2, "offline")


@pytest.mark.parametrize(
    ("prompt", "call", "answer"),
    [
        (
            "What's the weather in Paris? It's cold here.",
            ToolCall("call_1_get_weather", "get_weather", '{"city": "Paris"}'),
            "get_weather returned Sunny in Paris.",
        ),
        (
            "Where is order 1042?",
            ToolCall("call_1_lookup_order", "lookup_order", '{"order_id": "1042"}'),
            "lookup_order returned order_id = 1042, status = shipped.",
        ),
        (
            "Where is my order ORD-1042?",
            ToolCall("call_1_lookup_order", "lookup_order", '{"order_id": "ORD-1042"}'),
            "lookup_order returned order_id = ORD-1042, status = shipped.",
        ),
        (
            'Send an email to ann@example.com about "Your refund"',
            ToolCall(
                "call_1_send_email",
                "send_email",
                '{"email": "ann@example.com", "subject": "Your refund"}',
            ),
            "send_email returned sent to ann@example.com: Your refund.",
        ),
        (
            "Search the docs for 'rate limits'",
            ToolCall("call_1_search_docs", "search_docs", '{"query": "rate limits"}'),
            "search_docs returned doc about rate limits.",
        ),
        (
            "Convert 1,000 dollars to EUR",
            ToolCall("call_1_convert", "convert", '{"amount": 1000.0, "currency": "EUR"}'),
            "convert returned amount = 920.0, currency = EUR.",
        ),
    ],
)
def test_picks_the_matching_tool_and_extracts_arguments(
    prompt: str, call: ToolCall, answer: str
) -> None:
    result = Agent("multi", model="offline", tools=ALL).run_sync(prompt)
    assert result.messages[1] == AssistantMessage("", [call])
    assert result.output == answer


def test_picks_the_better_matching_of_two_tools() -> None:
    model = OfflineModel()
    both = [convert.definition, get_weather.definition]
    assert model.choose_tool("weather in Rome", both) == get_weather.definition
    assert model.choose_tool("convert 5 dollars to GBP", both) == convert.definition
    assert model.choose_tool("convert the weather", both) == convert.definition  # a tie: first
    assert model.choose_tool("tell me a joke", both) is None


def test_cannot_help_without_a_matching_tool() -> None:
    result = Agent("multi", model="offline", tools=[convert, get_weather]).run_sync(
        "Tell me a joke"
    )
    assert result.output == (
        "Sorry, I can't help with that: none of my tools (convert, get_weather) matches this "
        f"request. {CANT_HELP}"
    )
    assert result.tool_calls == []
    assert Agent("bare", model="offline").run_sync("hi").output == (
        f"Sorry, I can't help with that: I have no tools for this request. {CANT_HELP}"
    )


def test_reports_a_failing_tool() -> None:
    @tool
    def lookup_invoice(invoice_id: str) -> str:
        """Look up an invoice."""
        raise LookupError(f"no invoice {invoice_id}")

    result = Agent("inv", model="offline", tools=[lookup_invoice]).run_sync("invoice 77?")
    assert result.output == (
        "I called lookup_invoice but it failed: Tool 'lookup_invoice' raised LookupError: "
        "no invoice 77"
    )


def test_deterministic() -> None:
    agent = Agent("multi", model="offline", tools=ALL)
    first, second = (agent.run_sync("Where is order 1042?") for _ in range(2))
    assert first.messages == second.messages
    assert first.output == second.output
    assert first.usage == second.usage
    assert first.run_id != second.run_id


class Booking(BaseModel):
    email: str
    nights: int


def test_structured_output_without_tools() -> None:
    agent = Agent("book", model="offline", output_type=Booking)
    result = agent.run_sync("Book 3 nights for ann@example.com")
    assert result.output == Booking(email="ann@example.com", nights=3)
    assert result.messages[1] == AssistantMessage('{"email": "ann@example.com", "nights": 3}')


class Quote(BaseModel):
    amount: float
    currency: str


def test_structured_output_from_a_tool_result() -> None:
    agent = Agent("fx", model="offline", tools=[convert], output_type=Quote)
    result = agent.run_sync("How much is 10 dollars in EUR?")
    assert result.output == Quote(amount=9.2, currency="EUR")
    assert [c.name for c in result.tool_calls] == ["convert"]


async def test_streams_the_answer_word_by_word() -> None:
    request = ModelRequest(
        "",
        [
            UserMessage("weather in Oslo"),
            AssistantMessage("", [ToolCall("c", "get_weather", '{"city": "Oslo"}')]),
            ToolResultMessage("c", "get_weather", "Sunny in Oslo"),
        ],
        [get_weather.definition],
    )
    items = [item async for item in OfflineModel().request_stream(request)]
    *deltas, response = items
    assert deltas == [
        TextDelta("get_weather "),
        TextDelta("returned "),
        TextDelta("Sunny "),
        TextDelta("in "),
        TextDelta("Oslo."),
    ]
    assert response == await OfflineModel().request(request)
    assert (response.finish_reason, response.model) == ("stop", "offline")
