"""A real kernel driven the way JupyterLab drives it: cells carry a `cellId`, widgets get clicks.

The front end's side of the protocol only (messages on the shell and iopub channels), so tests
can check what a person would see and do without a browser: which widgets open, what their
state becomes, what the cell prints, and what a click on a button does.
"""

from __future__ import annotations

import os
import queue
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel


@dataclass
class CellRun:
    """What one cell sent back: its iopub messages in order, and the execute reply.

    `comms` holds every comm message seen while the cell ran, whatever its parent: updates made
    while handling a click have the click as parent, and a front end routes them by comm id.
    """

    msg_id: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    comms: list[dict[str, Any]] = field(default_factory=list)
    elsewhere: list[dict[str, Any]] = field(default_factory=list)
    """Output messages that arrived meanwhile for other requests (earlier cells, clicks)."""
    reply: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return str(self.reply.get("content", {}).get("status"))

    @property
    def error(self) -> str:
        content = self.reply.get("content", {})
        return f"{content.get('ename')}: {content.get('evalue')}" if content else ""

    @property
    def stdout(self) -> str:
        return "".join(
            m["content"]["text"]
            for m in self.messages
            if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
        )

    def of_type(self, msg_type: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["msg_type"] == msg_type]

    def widgets(self) -> dict[str, dict[str, Any]]:
        """Widget state by comm id: opened with comm_open, then updated by comm_msg."""
        state: dict[str, dict[str, Any]] = {}
        for m in self.comms:
            content = m["content"]
            if m["msg_type"] == "comm_open" and content.get("target_name") == "jupyter.widget":
                state[content["comm_id"]] = dict(content["data"].get("state", {}))
            elif m["msg_type"] == "comm_msg" and content["comm_id"] in state:
                data = content.get("data", {})
                if data.get("method") == "update":
                    state[content["comm_id"]].update(data.get("state", {}))
        return state

    def results(self) -> list[dict[str, Any]]:
        return [m["content"]["data"] for m in self.of_type("execute_result")]


class LiveKernel:
    """A python3 kernel of this interpreter, with JupyterLab-like `execute` requests."""

    def __init__(self, manager: KernelManager, client: BlockingKernelClient) -> None:
        self.manager = manager
        self.client = client

    def click(self, comm_id: str) -> None:
        """What a click on a Button does in the browser: a custom `click` event on its comm."""
        message = self.client.session.msg(
            "comm_msg",
            {"comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}},
        )
        self.client.shell_channel.send(message)

    def complete(self, code: str) -> list[str]:
        """What Tab offers at the end of `code`."""
        msg_id = self.client.complete(code, len(code))
        while True:
            reply = self.client.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                return list(reply["content"]["matches"])

    def run(
        self,
        code: str,
        *,
        live: bool = True,
        timeout: float = 60,
        on_message: Callable[[dict[str, Any], CellRun], None] | None = None,
    ) -> CellRun:
        """Execute `code` as a cell; `on_message` sees each iopub message of it as it comes."""
        metadata = {"cellId": str(uuid.uuid4())} if live else {}
        request = self.client.session.msg(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
            metadata=metadata,
        )
        self.client.shell_channel.send(request)
        msg_id = request["header"]["msg_id"]
        run = CellRun(msg_id=msg_id)
        deadline = time.monotonic() + timeout
        idle = False
        while not idle:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"cell did not finish in {timeout} s: {code[:60]!r}")
            try:
                message = self.client.get_iopub_msg(timeout=min(left, 1))
            except queue.Empty:
                continue
            if message["msg_type"].startswith("comm_"):
                run.comms.append(message)
            if message["parent_header"].get("msg_id") != msg_id:
                if message["msg_type"] in ("stream", "display_data", "execute_result"):
                    run.elsewhere.append(message)
                continue
            run.messages.append(message)
            if on_message is not None:
                on_message(message, run)
            content = message["content"]
            idle = message["msg_type"] == "status" and content["execution_state"] == "idle"
        while True:
            reply = self.client.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                run.reply = reply
                return run


@contextmanager
def live_kernel(
    *, env: dict[str, str] | None = None, cwd: str | None = None
) -> Iterator[LiveKernel]:
    """A fresh kernel; `env` is added to this process's environment for it."""
    manager, client = start_new_kernel(
        kernel_name="python3",
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    try:
        yield LiveKernel(manager, client)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
