"""What the notebook layer needs to know about the Jupyter kernel it runs in, in one place.

- `shell()` / `kernel()`: the IPython shell and the ipykernel kernel, or None outside them.
- `front_end_is_live()`: whether the cell running now came from a notebook UI a person watches.
- `OutputRoute`: sends output written from any thread to the cell that made the route.
- `comm_subshell()` / `route_comm()`: let widget clicks reach the kernel while a cell blocks.

Why the last two exist: `run_sync` runs an agent on a private loop thread while the kernel's main
thread waits, and ipykernel handles incoming messages, button clicks included, on the main thread.
ipykernel 7.4 lets a comm's replies be handed to a *subshell* (a kernel thread with its own loop,
JEP 91) instead; agentnb asks its own kernel for one over the control channel (the public
`create_subshell_request`) and routes its buttons there, so a click lands while the cell runs.

Nothing here imports IPython or ipykernel at module import; outside a kernel every function
answers "not in a kernel".
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

__all__ = [
    "OutputRoute",
    "comm_subshell",
    "display",
    "front_end_is_live",
    "kernel",
    "reply_routing_supported",
    "route_comm",
    "shell",
]

_log = logging.getLogger("agentnb.notebook")
_subshells: dict[int, str] = {}
_subshell_lock = threading.Lock()


def shell() -> Any | None:
    """The running IPython shell, or None (IPython is not imported just to ask)."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


def kernel() -> Any | None:
    """The ipykernel `Kernel` of the running shell, or None outside a kernel."""
    return getattr(shell(), "kernel", None)


def current_request() -> dict[str, Any]:
    """The message the kernel is handling now (an `execute_request` while a cell runs)."""
    k = kernel()
    get_parent = getattr(k, "get_parent", None)
    if get_parent is None:
        return {}
    try:
        parent = get_parent("shell")
    except Exception:  # an older or unusual kernel: treat as unknown
        return {}
    return parent if isinstance(parent, dict) else {}


def display(obj: Any) -> None:
    """IPython's `display` (typed)."""
    from IPython.display import display as show

    show(obj)  # type: ignore[no-untyped-call]


def front_end_is_live() -> bool:
    """True when the running cell was sent by a notebook UI that identifies its cells.

    JupyterLab, Notebook 7 and VS Code put the cell's id in the `execute_request` metadata
    (`cellId`); headless runners (nbclient, papermill, `nbconvert --execute`, `jupyter execute`)
    and consoles send none. Set `AGENTNB_PROGRESS` to override the guess for progress display.
    """
    metadata = current_request().get("metadata")
    return isinstance(metadata, dict) and bool(metadata.get("cellId"))


class OutputRoute:
    """Output written from any thread goes to the cell that was running when this was made.

    ipykernel finds the cell of an output through context variables; a thread that did not
    inherit them (a loop thread started by an earlier cell, a timer, a monitor) falls back to
    whatever cell ran last. `active()` pins stdout, stderr and `display()` to this route's cell
    for the calling thread. Outside a kernel it does nothing.
    """

    def __init__(self) -> None:
        request = current_request()
        self.parent: dict[str, Any] | None = request if request.get("header") else None

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        if self.parent is None:
            yield
            return
        targets: list[Any] = [sys.stdout, sys.stderr, getattr(shell(), "display_pub", None)]
        tokens: list[tuple[Any, Any]] = []
        for target in targets:
            if hasattr(target, "set_thread_parent") and hasattr(target, "reset_thread_parent"):
                tokens.append((target, target.set_thread_parent(self.parent)))
        try:
            yield
        finally:
            for target, token in reversed(tokens):
                with contextlib.suppress(ValueError, RuntimeError):  # another context's token
                    target.reset_thread_parent(token)


def reply_routing_supported(k: Any) -> bool:
    """ipykernel >= 7.4: subshells, and comms whose replies can be sent to one."""
    if getattr(k, "shell_channel_thread", None) is None:
        return False
    try:
        from ipykernel.comm.comm import BaseComm
    except ImportError:  # pragma: no cover - ipykernel is what runs us
        return False
    return hasattr(BaseComm, "_reply_subshell_for")


def comm_subshell(timeout: float = 5.0) -> str | None:
    """The id of agentnb's subshell in this kernel (created on first use), or None.

    None outside a kernel, with ipykernel older than 7.4, or when the kernel did not answer.
    """
    k = kernel()
    if k is None or not reply_routing_supported(k):
        return None
    with _subshell_lock:
        known = _subshells.get(id(k))
        if known is None:
            known = _create_subshell(k, timeout)
            if known is not None:
                _subshells[id(k)] = known
        return known


def route_comm(widget: Any, subshell_id: str) -> bool:
    """Deliver the front end's messages for `widget` to the subshell (False if it cannot)."""
    comm = getattr(widget, "comm", None)
    if comm is None or not hasattr(comm, "_reply_subshell_for"):
        return False

    # ipykernel asks the comm where each incoming message goes; an instance attribute keeps
    # the answer fixed even after the widget sends messages from other threads.
    def to_subshell(data: Any, default: Any) -> str:
        return subshell_id

    comm._reply_subshell_for = to_subshell
    return True


def _control_url(app: Any) -> str:
    if app.transport == "tcp":
        return f"tcp://{app.ip}:{app.control_port}"
    return f"{app.transport}://{app.ip}-{app.control_port}"


def _create_subshell(k: Any, timeout: float) -> str | None:
    """Ask this kernel for a subshell over its control channel, like any Jupyter client."""
    try:
        import zmq
        from ipykernel.kernelapp import IPKernelApp
        from jupyter_client.session import Session

        if not IPKernelApp.initialized():
            return None
        app = IPKernelApp.instance()
        session = Session(key=k.session.key, signature_scheme=k.session.signature_scheme)
        socket: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
    except Exception:
        _log.debug("cannot reach the kernel's control channel", exc_info=True)
        return None
    socket.linger = 0
    try:
        socket.connect(_control_url(app))
        request = session.msg("create_subshell_request", {})
        session.send(socket, request)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not socket.poll(int(left * 1000)):
                break
            _, reply = session.recv(socket, mode=0)
            if not reply or reply["parent_header"].get("msg_id") != request["header"]["msg_id"]:
                continue
            content = reply["content"]
            if content.get("status") == "ok" and isinstance(content.get("subshell_id"), str):
                return str(content["subshell_id"])
            _log.warning("the kernel refused a subshell: %s", content.get("evalue", content))
            return None
        _log.warning("the kernel did not answer a create_subshell_request in %.0f s", timeout)
        return None
    except Exception:
        _log.warning("could not create a subshell for widget replies", exc_info=True)
        return None
    finally:
        socket.close()
