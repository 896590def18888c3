"""The REST endpoints in a real `jupyter server`: authentication, XSRF, answers, errors."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.jupyter_server import JupyterServer
from tests.server.conftest import Recorded

pytestmark = pytest.mark.slow

ENDPOINTS = ["agentnb/api/runs", "agentnb/api/stats", "agentnb/api/runs/{run_id}/trace"]


@pytest.fixture(scope="module")
def server(recorded: Recorded) -> Iterator[JupyterServer]:
    with JupyterServer(
        recorded.home.parent / "jupyter", app="server", home=recorded.home
    ) as jupyter:
        yield jupyter


def test_the_extension_is_enabled(server: JupyterServer) -> None:
    assert "agentnb: REST API at /agentnb/api" in server.log_text()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_without_the_token_requests_are_refused(
    server: JupyterServer, recorded: Recorded, endpoint: str
) -> None:
    path = endpoint.format(run_id=recorded.ok.run_id)
    assert server.get(path, token=False)[0] == 403
    assert server.get(f"{path}?token=wrong", token=False)[0] == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_with_the_token_requests_succeed(
    server: JupyterServer, recorded: Recorded, endpoint: str
) -> None:
    status, body = server.get(endpoint.format(run_id=recorded.ok.run_id))
    assert status == 200
    assert isinstance(body, dict)


def test_the_token_also_works_as_a_header(server: JupyterServer) -> None:
    request = urllib.request.Request(
        f"{server.base_url}/agentnb/api/runs", headers={"Authorization": f"token {server.token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Cache-Control"] == "no-store"


def test_runs_lists_and_filters(server: JupyterServer, recorded: Recorded) -> None:
    status, body = server.get("agentnb/api/runs")
    assert status == 200
    assert [r["run_id"] for r in body["runs"]] == [
        recorded.failed.run_id,
        recorded.blocked.run_id,
        recorded.ok.run_id,
    ]
    assert body["facets"]["version"] == ["0.1.0", "0.2.0"]
    status, body = server.get("agentnb/api/runs", agent="fx", version="0.2.0")
    assert [r["run_id"] for r in body["runs"]] == [recorded.blocked.run_id]
    status, body = server.get("agentnb/api/runs", status="error", limit="5")
    assert [r["agent"] for r in body["runs"]] == ["support"]


def test_trace_answers_the_payload(server: JupyterServer, recorded: Recorded) -> None:
    status, body = server.get(f"agentnb/api/runs/{recorded.blocked.run_id}/trace")
    assert status == 200
    assert (body["version"], body["run_id"], body["agent_version"]) == (
        1,
        recorded.blocked.run_id,
        "0.2.0",
    )
    assert [(s["kind"], s["status"]) for s in body["spans"]] == [
        ("invoke_agent", "ok"),
        ("chat", "ok"),
        ("execute_tool", "blocked"),
        ("guard", "blocked"),
        ("chat", "ok"),
    ]


@pytest.mark.parametrize(
    ("run_id", "message"),
    [
        ("nope", r"^'nope' is not a run id: give the 32 hex digits of a run"),
        ("f" * 32, rf"^no run '{'f' * 32}' in the telemetry store\(s\): "),
        ("%27%3B%20drop", r"^\"'; drop\" is not a run id"),
    ],
)
def test_bad_run_ids_are_404_with_a_message(
    server: JupyterServer, run_id: str, message: str
) -> None:
    status, body = server.get(f"agentnb/api/runs/{run_id}/trace")
    assert status == 404
    assert re.search(message, body["message"]), body


def test_bad_parameters_are_400_with_a_message(server: JupyterServer) -> None:
    assert server.get("agentnb/api/runs", limit="0") == (
        400,
        {"message": "limit=0 is out of range: give 1 to 1000"},
    )
    status, body = server.get("agentnb/api/stats", by="agent,colour")
    assert status == 400
    assert body["message"].startswith("cannot group by colour: use any of agent, version")


def test_stats_groups_runs(server: JupyterServer) -> None:
    status, body = server.get("agentnb/api/stats", by="agent")
    assert status == 200
    assert [(r["agent"], r["count"]) for r in body["stats"]] == [("fx", 2), ("support", 1)]


def test_a_browser_session_needs_the_xsrf_token_to_change_anything(server: JupyterServer) -> None:
    """Log in as a browser does (cookie, no token in the URL): reads work, and a state-changing
    request without the `_xsrf` token is refused before it reaches the handler."""
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    browser.open(f"{server.base_url}/login", timeout=30).read()
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    form = urllib.parse.urlencode({"password": server.token, "_xsrf": xsrf}).encode()
    browser.open(f"{server.base_url}/login", data=form, timeout=30).read()

    with browser.open(f"{server.base_url}/agentnb/api/runs", timeout=30) as response:
        assert response.status == 200  # the login cookie authenticates reads

    def post(headers: dict[str, str]) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"{server.base_url}/agentnb/api/runs", data=b"{}", headers=headers, method="POST"
        )
        try:
            with browser.open(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    status, body = post({})
    assert status == 403
    assert "xsrf" in body["message"].lower()
    assert post({"X-XSRFToken": xsrf})[0] == 405  # past the XSRF check: the API is read-only


def test_a_status_that_cannot_match_is_a_400_naming_the_statuses(server: JupyterServer) -> None:
    assert server.get("agentnb/api/runs", status="failed") == (
        400,
        {
            "message": "status='failed' matches no stored value: use one of ok, error, "
            "cancelled, blocked. Did you mean 'error'?"
        },
    )
