"""Tornado handlers of the REST API, behind Jupyter's authentication.

- `GET /agentnb/api/runs?agent=&version=&status=&limit=`: the newest runs, the stores read,
  and the values each filter can take;
- `GET /agentnb/api/runs/<run id>/trace`: the run's trace payload, as the lab renderer draws
  it (`application/vnd.agentnb.trace+json`); 404 with a message for an unknown or bad id;
- `GET /agentnb/api/stats?by=agent,version&agent=&version=&since=`: aggregates per group.

Every handler is a `jupyter_server` `APIHandler` with `@tornado.web.authenticated`: a request
without the server's token (or a login cookie) gets 403, and Jupyter checks the XSRF cookie on
any state-changing method (the API is read-only: other methods answer 405). Errors are JSON
`{"message": ...}` (a damaged store is a 500 naming the table; anything unforeseen a 500 with
the exception, logged). The store is read on a worker thread, so the server stays responsive.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.serverapp import ServerApp
from jupyter_server.utils import url_path_join

from agentnb.server.api import ApiError, RunsApi

__all__ = ["setup_handlers"]

# One reader thread: LanceDB queries are short, and one thread keeps them from racing to open
# the same store.
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentnb-api")


class _Handler(APIHandler):
    """Runs one `RunsApi` call off the event loop and writes its JSON or its error."""

    api: RunsApi

    def initialize(self, api: RunsApi) -> None:
        self.api = api

    async def answer(self, call: Callable[[], dict[str, Any]]) -> None:
        try:
            body = await asyncio.get_running_loop().run_in_executor(_executor, call)
        except ApiError as error:
            self.set_status(error.status)
            body = {"message": error.message}
        except Exception as error:  # a bug or an unforeseen store error: still JSON, and logged
            self.log.exception("agentnb: %s failed", self.request.path)
            self.set_status(500)
            body = {
                "message": f"agentnb could not answer {self.request.path}: "
                f"{type(error).__name__}: {error} (the server log has the traceback)"
            }
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))

    def text(self, name: str) -> str | None:
        value = self.get_query_argument(name, None)
        return value or None

    def number(self, name: str, default: int) -> int:
        value = self.get_query_argument(name, None)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise tornado.web.HTTPError(400, reason=f"{name} must be an integer") from None


class RunsHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        agent, version, status = self.text("agent"), self.text("version"), self.text("status")
        limit = self.number("limit", 100)
        await self.answer(
            lambda: self.api.runs(agent=agent, version=version, status=status, limit=limit)
        )


class TraceHandler(_Handler):
    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        await self.answer(lambda: self.api.trace(run_id))


class StatsHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        by = [b.strip() for b in (self.text("by") or "agent,version").split(",") if b.strip()]
        agent, version, since = self.text("agent"), self.text("version"), self.text("since")
        await self.answer(lambda: self.api.stats(by=by, agent=agent, version=version, since=since))


def setup_handlers(server_app: ServerApp) -> RunsApi:
    """Register the endpoints on the server's web app; returns the shared `RunsApi`."""
    api = RunsApi(server_app.root_dir)
    base = url_path_join(server_app.base_url, "agentnb", "api")
    kwargs: dict[str, Any] = {"api": api}
    server_app.web_app.add_handlers(  # type: ignore[no-untyped-call]
        ".*$",
        [
            (url_path_join(base, "runs"), RunsHandler, kwargs),
            (url_path_join(base, "runs", r"(?P<run_id>[^/]+)", "trace"), TraceHandler, kwargs),
            (url_path_join(base, "stats"), StatsHandler, kwargs),
        ],
    )
    stores = api.store_uris() or "none yet"
    server_app.log.info("agentnb: REST API at %s (telemetry stores: %s)", base, stores)
    return api
