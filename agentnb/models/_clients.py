"""The shell the OpenAI and Anthropic models share: identity, settings, one client per loop."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, Callable
from typing import ClassVar, Generic, Protocol, TypeVar

from agentnb.models._provider_errors import Endpoint
from agentnb.models.base import ModelRequest

__all__ = ["LoopClients", "SdkModel"]


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


class SdkModel(Generic[ClientT]):
    """What the OpenAI and Anthropic models share: settings, identity, one client per loop.

    Subclasses set `provider` and `api` and build their SDK client in `_new_client`.
    """

    provider: ClassVar[str]
    api: ClassVar[str]
    """The API's name in error messages, e.g. "OpenAI Chat Completions"."""

    def __init__(
        self,
        model_name: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = 60.0,
    ) -> None:
        self._model_name = model_name
        self._base_url = base_url
        self._api_key = api_key
        self._timeout = timeout  # seconds (None: no limit); `settings.timeout` overrides it
        self._clients: LoopClients[ClientT] = LoopClients(self._new_client)

    @property
    def id(self) -> str:
        return f"{self.provider}:{self._model_name}"

    @property
    def model_name(self) -> str:
        return self._model_name

    def __repr__(self) -> str:
        where = f", base_url={self._base_url!r}" if self._base_url else ""
        return f"{type(self).__name__}({self._model_name!r}{where})"

    async def aclose(self) -> None:
        """Close the connections this model opened from the running event loop.

        Optional: a loop that `asyncio.run` (or pytest-asyncio) shuts down closes them itself.
        """
        await self._clients.aclose()

    def _new_client(self) -> ClientT:
        raise NotImplementedError

    def _endpoint(self, base_url: object, request: ModelRequest) -> Endpoint:
        timeout = request.settings.timeout
        timeout = self._timeout if timeout is None else timeout
        return Endpoint(self.provider, self._model_name, self.api, str(base_url), timeout)
