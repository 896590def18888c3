"""A kernel interrupt during `run_sync` in a real Jupyter kernel ends the run, `cancelled`, at once.

Whatever the tool (sync or async) and the model (a local one that never yields to the event loop,
or OpenAI over HTTP to the wire server): no model request is sent after the interrupt, the run is
`agent.last_result` when the cell returns, and the kernel stays usable. No timings are asserted:
the test waits on conditions, with generous timeouts only as hang guards.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.wire_server import WireServer

jupyter_client = pytest.importorskip("jupyter_client")

HANG_GUARD = 120.0  # seconds; only reached when something hangs

TOOLS = """
import asyncio, pathlib, threading
from agentnb import Agent, RunContext, tool
from agentnb.models import FunctionModel, tool_call

entered = pathlib.Path({marker!r})
release = threading.Event()
returned = threading.Event()
saw_cancel = []

@tool
def hold(ctx: RunContext[None], seconds: float) -> str:
    \"\"\"Block like time.sleep, without looking at the cancel.\"\"\"
    entered.touch()
    release.wait(seconds)
    saw_cancel.append(ctx.cancelled.is_set())
    returned.set()
    return "done"

@tool
async def hold_async(seconds: float) -> str:
    \"\"\"Wait without blocking.\"\"\"
    entered.touch()
    await asyncio.sleep(seconds)
    return "done"
"""

FUNCTION_MODEL = """
requests = []

def play(request):
    requests.append(request)
    if len(request.messages) == 1:
        return tool_call({tool!r}, seconds=120)
    return "finished"

agent = Agent("slow", model=FunctionModel(play), tools=[{tool}], telemetry=False)
"""

OPENAI_MODEL = """
from agentnb.models.openai import OpenAIModel

model = OpenAIModel("gpt-test", base_url={url!r}, api_key="test-key")
agent = Agent("slow", model=model, tools=[{tool}], telemetry=False)
"""

# After the interrupt: the result as the cell got it, then (for the sync tool) what happens once
# the abandoned function returns. `run_sync(asyncio.sleep(0))` queues behind anything the run's
# loop still had to do, so a model request the run would send after the tool is sent by then.
REPORT = """
r = agent.last_result
[call] = r.tool_calls
print(r.status, r.error_type, len(r.steps), call.error, sep="|")
print(call.result)
"""
RELEASE = """
release.set()
assert returned.wait(60)
from agentnb._sync import run_sync
run_sync(asyncio.sleep(0))
print(saw_cancel, agent.last_result is r, sep="|")
"""


@pytest.fixture
def kernel() -> Iterator[tuple[Any, Any]]:
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel(extra_arguments=["--IPKernelApp.log_level=ERROR"])
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=HANG_GUARD)
    try:
        yield manager, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _replies(client: Any, msg_id: str) -> tuple[str, list[str], list[str]]:
    """Wait until the cell `msg_id` is done: (reply status, printed text, error names)."""
    printed: list[str] = []
    errors: list[str] = []
    while True:
        msg = client.get_iopub_msg(timeout=HANG_GUARD)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            printed.append(content["text"])
        elif kind == "error":
            errors.append(content["ename"])
        elif kind == "status" and content["execution_state"] == "idle":
            break
    while True:
        reply = client.get_shell_msg(timeout=HANG_GUARD)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]["status"], printed, errors


def _run(client: Any, code: str) -> list[str]:
    """Run `code`, which must succeed; its printed lines."""
    status, printed, errors = _replies(client, client.execute(code))
    assert (status, errors) == ("ok", []), "".join(printed)
    return "".join(printed).splitlines()


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not path.exists():
        assert time.monotonic() < deadline, f"the tool never started ({path} missing)"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["function", "openai"])
@pytest.mark.parametrize("tool", ["hold", "hold_async"])
def test_interrupt_cancels_the_run_and_the_kernel_stays_usable(
    kernel: tuple[Any, Any], tmp_path: Path, provider: str, tool: str
) -> None:
    """The run ends at once as `cancelled`, and no model request follows the interrupt."""
    manager, client = kernel
    marker = tmp_path / "entered"
    with WireServer() as wire:
        _run(client, TOOLS.format(marker=str(marker)))
        if provider == "function":
            _run(client, FUNCTION_MODEL.format(tool=tool))
        else:
            wire.default_tool_args = {"seconds": 120}
            _run(client, OPENAI_MODEL.format(url=f"{wire.url}/v1", tool=tool))

        running = client.execute("agent.run_sync('go')")
        _wait_for(marker)
        manager.interrupt_kernel()
        status, _, errors = _replies(client, running)
        assert (status, errors) == ("error", ["KeyboardInterrupt"])

        # The cell came back with the run recorded: cancelled, its one step and the tool call.
        outcome, message = _run(client, REPORT)
        assert outcome.split("|") == ["cancelled", "CancelledError", "1", "cancelled"]
        if tool == "hold":
            assert message == (
                "Tool 'hold' was cancelled while running; the function was left to finish."
            )
            # The function finished later on its own thread: it saw the cancel, and the run did
            # not go on to ask the model again.
            assert _run(client, RELEASE) == ["[True]|True"]
        else:
            assert message == "Tool 'hold_async' was cancelled while running."

        if provider == "function":
            assert _run(client, "print(len(requests))") == ["1"]
        else:
            assert len(wire.requests) == 1

    # The private loop survived the interrupt: the next run works.
    quick = "print(Agent('quick', model='offline', telemetry=False).run_sync('hi').status)"
    assert _run(client, quick) == ["ok"]
