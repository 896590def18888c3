"""`run_sync` in plain scripts and inside a running event loop (a Jupyter cell)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from agentnb import Agent, FunctionModel, tool, tool_call
from agentnb._sync import run_sync
from agentnb.models import ModelRequest, ToolResultMessage, UserMessage


@tool
async def double(n: int) -> int:
    """Double a number (async: it runs on whichever loop runs the agent)."""
    await asyncio.sleep(0)
    return 2 * n


def _doubler(request: ModelRequest) -> Any:
    last = request.messages[-1]
    if isinstance(last, ToolResultMessage):
        return f"result {last.content}"
    assert isinstance(last, UserMessage)
    return tool_call("double", n=int(last.content))


def _agent() -> Agent:
    return Agent("doubler", model=FunctionModel(_doubler), tools=[double])


def test_plain_sync_code_repeatedly() -> None:
    agent = _agent()
    outputs = [agent.run_sync(str(n)).output for n in range(5)]
    assert outputs == ["result 0", "result 2", "result 4", "result 6", "result 8"]


def test_inside_a_running_loop_like_a_jupyter_cell() -> None:
    agent = _agent()
    thread_names: list[str] = []

    async def cell() -> list[str]:
        outer = asyncio.get_running_loop()
        outputs = []
        for n in range(3):
            outputs.append(agent.run_sync(str(n)).output)
            thread_names.append(threading.current_thread().name)
        assert asyncio.get_running_loop() is outer  # the kernel's loop was left alone
        return outputs

    assert asyncio.run(cell()) == ["result 0", "result 2", "result 4"]
    assert asyncio.run(cell()) == ["result 0", "result 2", "result 4"]  # a second cell
    assert set(thread_names) == {threading.current_thread().name}
    assert agent.run_sync("5").output == "result 10"  # and plain code again


async def test_from_an_async_test() -> None:
    assert _agent().run_sync("21").output == "result 42"


def test_run_sync_returns_values_and_raises_errors() -> None:
    async def value() -> int:
        await asyncio.sleep(0)
        return 7

    async def fail() -> None:
        raise ValueError("boom")

    assert run_sync(value()) == 7
    with pytest.raises(ValueError, match=r"^boom$"):
        run_sync(fail())

    async def in_loop() -> int:
        with pytest.raises(ValueError, match=r"^boom$"):
            run_sync(fail())
        return run_sync(value())

    assert asyncio.run(in_loop()) == 7


def test_keyboard_interrupt_in_a_tool_inside_a_running_loop() -> None:
    """The interrupt reaches the caller and the private loop keeps serving later runs."""

    @tool
    def interrupt(q: str) -> str:
        """Raises like a kernel interrupt would."""
        raise KeyboardInterrupt

    def play(request: ModelRequest) -> Any:
        return "fine" if request.messages[-1].role == "tool" else tool_call("interrupt", q="x")

    agent = Agent("k", model=FunctionModel(play), tools=[interrupt])
    outcome: list[str] = []

    async def cell() -> None:
        for _ in range(2):
            try:
                agent.run_sync("go")
            except KeyboardInterrupt:
                assert agent.last_result is not None
                outcome.append(agent.last_result.status)
        outcome.append(_agent().run_sync("4").output)

    # In a thread so that a regression (the caller waiting forever) fails instead of hanging.
    worker = threading.Thread(target=asyncio.run, args=(cell(),), daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "run_sync never returned"
    assert outcome == ["cancelled", "cancelled", "result 8"]
