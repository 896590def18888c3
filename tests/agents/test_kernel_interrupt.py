"""A kernel interrupt during `run_sync` in a real Jupyter kernel ends the run as `cancelled`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

SETUP = """
import asyncio
from agentnb import Agent, tool
from agentnb.models import FunctionModel, tool_call

@tool
async def wait_forever(seconds: float) -> str:
    \"\"\"Wait.\"\"\"
    await asyncio.sleep(seconds)
    return "done"

def play(request):
    if len(request.messages) == 1:
        return tool_call("wait_forever", seconds=60)
    return "finished"

agent = Agent("slow", model=FunctionModel(play), tools=[wait_forever], telemetry=False)
"""


@pytest.fixture
def kernel() -> Iterator[Any]:
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel(extra_arguments=["--IPKernelApp.log_level=ERROR"])
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    try:
        yield manager, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _execute(client: Any, code: str, timeout: float = 30) -> tuple[str, list[str]]:
    """Run `code`; (status, printed text and error names) once the kernel replied."""
    msg_id = client.execute(code)
    shown: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        msg = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            shown.append(content["text"])
        elif kind == "error":
            shown.append(content["ename"])
        elif kind == "status" and content["execution_state"] == "idle":
            break
    reply = client.get_shell_msg(timeout=timeout)
    return reply["content"]["status"], shown


@pytest.mark.slow
def test_interrupt_cancels_the_run_and_the_kernel_stays_usable(kernel: Any) -> None:
    manager, client = kernel
    assert _execute(client, SETUP)[0] == "ok"
    msg_id = client.execute("agent.run_sync('go')")
    time.sleep(1.0)  # the run is waiting inside the tool now
    started = time.monotonic()
    manager.interrupt_kernel()
    while True:
        msg = client.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "error":
            assert msg["content"]["ename"] == "KeyboardInterrupt"
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    assert time.monotonic() - started < 5  # the kernel came back promptly
    assert client.get_shell_msg(timeout=10)["content"]["status"] == "error"

    status, shown = _execute(
        client, "r = agent.last_result\nprint(r.status, r.error_type, len(r.steps))"
    )
    assert (status, "".join(shown).split()) == ("ok", ["cancelled", "CancelledError", "1"])
    # The private loop survived the interrupt: the next run works.
    quick = "print(Agent('quick', model='offline', telemetry=False).run_sync('hi').status)"
    assert _execute(client, quick) == ("ok", ["ok\n"])
