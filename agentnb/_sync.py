"""Run a coroutine to completion from sync code: in scripts and inside a running Jupyter loop.

Inside a running loop (a kernel cell) `asyncio.run()` raises, and patching the kernel's loop
(nest_asyncio) breaks other libraries, so the coroutine runs on a private loop in a daemon thread
and the caller blocks on it. Without a running loop, a per-thread loop is reused across calls
(creating a loop per call costs more than a whole agent run with a fast model).

A `KeyboardInterrupt` (a kernel interrupt) first calls the hooks that code inside the coroutine
registered with `on_interrupt` (a run sets its cancel signal, which it checks before every model
request and which tools see as `ctx.cancelled`), then cancels the coroutine, waits until it has
handled the cancellation (so the run records itself as cancelled), then propagates. The hooks
matter when the private loop's thread is busy in synchronous code: the cancellation reaches the
coroutine only at its next `await` that suspends, while the hooks take effect at once.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any, TypeVar

__all__ = ["on_interrupt", "run_sync"]

T = TypeVar("T")

_local = threading.local()
_background: asyncio.AbstractEventLoop | None = None
_background_lock = threading.Lock()
_loops_to_close: list[asyncio.AbstractEventLoop] = []
_hooks: ContextVar[list[Callable[[], None]] | None] = ContextVar("agentnb_interrupt", default=None)

# How long an interrupted caller waits for the coroutine to record its cancellation. It only
# needs the loop to run one callback; the bound is for a loop blocked in synchronous code.
_CANCEL_WAIT = 5.0


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion and return its result, from a script or a kernel cell."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_here(coro)
    return _run_in_background(coro)


def on_interrupt(callback: Callable[[], None]) -> None:
    """Call `callback` when the `run_sync` running this code is interrupted (Ctrl-C, kernel
    interrupt), before the coroutine is cancelled. It runs on the interrupted thread, so it must
    be thread-safe (e.g. `threading.Event.set`). Outside `run_sync` it does nothing."""
    hooks = _hooks.get()
    if hooks is not None:
        hooks.append(callback)


def _call_hooks(hooks: list[Callable[[], None]]) -> None:
    for hook in hooks:
        hook()


async def _with_hooks(coro: Coroutine[Any, Any, T], hooks: list[Callable[[], None]]) -> T:
    _hooks.set(hooks)  # in this task's own context: only code awaited from here registers
    return await coro


def _thread_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _local.loop = loop
        _loops_to_close.append(loop)
    return loop


def _run_here(coro: Coroutine[Any, Any, T]) -> T:
    loop = _thread_loop()
    hooks: list[Callable[[], None]] = []
    task = loop.create_task(_with_hooks(coro, hooks))
    try:
        return loop.run_until_complete(task)
    except KeyboardInterrupt:
        _call_hooks(hooks)
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt):
                loop.run_until_complete(task)
        elif not task.cancelled():
            task.exception()  # raised inside the task: it propagates here, don't log it again
        raise


def _background_loop() -> asyncio.AbstractEventLoop:
    global _background
    with _background_lock:
        if _background is None or _background.is_closed():
            loop = asyncio.new_event_loop()
            started = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(started.set)
                loop.run_forever()

            threading.Thread(target=serve, name="agentnb-loop", daemon=True).start()
            started.wait()
            _background = loop
        return _background


class _Escaped(Exception):
    """Carries a KeyboardInterrupt/SystemExit raised on the private loop to the caller."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(exc)
        self.exc = exc


def _run_in_background(coro: Coroutine[Any, Any, T]) -> T:
    loop = _background_loop()
    finished = threading.Event()
    hooks: list[Callable[[], None]] = []

    async def tracked() -> T:
        try:
            return await _with_hooks(coro, hooks)
        except (KeyboardInterrupt, SystemExit) as exc:
            # Escaping the task, these would stop the private loop for good (and the caller
            # would wait forever): hand them to the caller's thread instead.
            raise _Escaped(exc) from None
        finally:
            finished.set()

    future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(tracked(), loop)
    try:
        return future.result()
    except _Escaped as escaped:
        raise escaped.exc from None
    except KeyboardInterrupt:
        _call_hooks(hooks)
        future.cancel()
        # Sync tools run in worker threads, so the loop is free to handle the cancellation at
        # once; the bound hands the kernel back even when something blocks the loop itself.
        finished.wait(timeout=_CANCEL_WAIT)
        raise


@atexit.register
def _close_loops() -> None:
    for loop in _loops_to_close:
        if not loop.is_closed() and not loop.is_running():
            # Lets provider clients opened on this loop close their connections.
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
    if _background is not None and not _background.is_closed():
        _background.call_soon_threadsafe(_background.stop)
