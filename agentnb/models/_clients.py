"""One SDK client per event loop, shared by the OpenAI and Anthropic models."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, Callable
from typing import Generic, Protocol, TypeVar

__all__ = ["LoopClients"]


class _Closable(Protocol):
    async def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_Closable)


class LoopClients(Generic[ClientT]):
    """One SDK client per event loop, closed when that loop shuts down.

    A client's connection pool belongs to the loop that opened it, and one model serves several
    loops (agentnb's background loop, a kernel's loop, each test's loop).
    """

    def __init__(self, make: Callable[[], ClientT]) -> None:
        self._make = make
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[ClientT, AsyncGenerator[None, None]]
        ] = weakref.WeakKeyDictionary()

    async def get(self) -> ClientT:
        loop = asyncio.get_running_loop()
        entry = self._clients.get(loop)
        if entry is None:
            for closed in [other for other in self._clients if other.is_closed()]:
                del self._clients[closed]
            client = self._make()
            closer = _close_at_shutdown(client)
            # Started, the generator is one the loop finalises in `shutdown_asyncgens()` (which
            # `asyncio.run` and pytest-asyncio call), so a forgotten `aclose()` leaks no sockets.
            await anext(closer)
            entry = self._clients[loop] = (client, closer)
        return entry[0]

    async def aclose(self) -> None:
        """Close the client of the running loop, if it has one."""
        entry = self._clients.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()


async def _close_at_shutdown(client: _Closable) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.close()
