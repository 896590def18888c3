"""`FunctionModel`: a Python function plays the model."""

from __future__ import annotations

import pytest

from agentnb import FunctionModel, tool_call
from agentnb.errors import MalformedResponse, UserError
from agentnb.models import (
    AssistantMessage,
    ModelRequest,
    ModelResponse,
    TextDelta,
    ToolCall,
    ToolDefinition,
    Usage,
    UserMessage,
    resolve_model,
)

REQUEST = ModelRequest(
    "Be brief.",
    [UserMessage("What is 2 + 3?")],
    [ToolDefinition("add", "Add.", {"type": "object", "properties": {}})],
)


def test_tool_call_builds_a_tool_call_turn() -> None:
    assert tool_call("add", a=2, b=3) == AssistantMessage(
        "", [ToolCall("call_add", "add", '{"a": 2, "b": 3}')]
    )
    assert tool_call("add", call_id="x1") == AssistantMessage("", [ToolCall("x1", "add", "{}")])


async def test_text_reply_with_estimated_usage() -> None:
    model = FunctionModel(lambda request: "Five.", name="calc")
    assert (model.id, model.provider, model.model_name, repr(model)) == (
        "function:calc",
        "function",
        "calc",
        "FunctionModel('calc')",
    )
    # (9 instruction chars + 14 prompt chars + 4 description chars + 40 per tool) // 4; 5 // 4
    assert await model.request(REQUEST) == ModelResponse(
        AssistantMessage("Five."), Usage(16, 1, 1), "calc", "stop"
    )


async def test_assistant_message_and_full_response_replies() -> None:
    call = FunctionModel(lambda request: tool_call("add", a=2, b=3))
    response = await call.request(REQUEST)
    assert response.message == tool_call("add", a=2, b=3)
    assert response.usage == Usage(16, 4, 1)  # (16 argument chars + 3 name chars) // 4

    full = ModelResponse(AssistantMessage("5"), Usage(100, 1, 1), "big-model", "stop", "id-1")
    assert await FunctionModel(lambda request: full).request(REQUEST) is full


async def test_async_function_and_default_name() -> None:
    async def play(request: ModelRequest) -> str:
        return f"you said {request.messages[-1].content}"  # type: ignore[union-attr]

    model = FunctionModel(play)
    assert model.id == "function:play"
    assert (await model.request(REQUEST)).message == AssistantMessage("you said What is 2 + 3?")


async def test_stream_yields_the_text_then_the_response() -> None:
    model = FunctionModel(lambda request: "Five.")
    items = [item async for item in model.request_stream(REQUEST)]
    assert items == [TextDelta("Five."), await model.request(REQUEST)]
    calls = FunctionModel(lambda request: tool_call("add"))
    assert [type(i) for i in [x async for x in calls.request_stream(REQUEST)]] == [ModelResponse]


async def test_bad_reply_type() -> None:
    model = FunctionModel(lambda request: {"text": "hi"}, name="bad")  # type: ignore[arg-type,return-value]
    with pytest.raises(MalformedResponse) as info:
        await model.request(REQUEST)
    assert str(info.value) == (
        "function:bad: the function returned dict; return a str, an AssistantMessage "
        "(e.g. tool_call(...)) or a ModelResponse"
    )
    assert (info.value.provider, info.value.model, info.value.status) == ("function", "bad", None)


def test_model_string_cannot_name_a_function() -> None:
    with pytest.raises(UserError) as info:
        resolve_model("function:play")
    assert str(info.value) == (
        "model 'function:play' needs the Python function itself: pass "
        "model=FunctionModel(your_function) instead of a string"
    )
