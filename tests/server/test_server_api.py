"""What the REST endpoints answer, without a server: `RunsApi` and the stored-run payload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentnb import telemetry
from agentnb.runs.trace import trace_payload
from agentnb.server.api import ApiError, RunsApi, discover_stores
from agentnb.telemetry import lance, settings
from tests.server.conftest import Recorded, convert, recording


@pytest.fixture
def api(recorded: Recorded, monkeypatch: pytest.MonkeyPatch) -> RunsApi:
    monkeypatch.setenv("AGENTNB_HOME", str(recorded.home))
    settings.reset()
    lance.forget_connections()
    return RunsApi(recorded.home.parent)


def shape(payload: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The span tree with ids replaced by positions: what two payloads must agree on."""
    spans = payload["spans"]
    index = {s["id"]: i for i, s in enumerate(spans)}
    return [
        (s["kind"], s["name"], s["step"], s["status"], index.get(s["parent_id"])) for s in spans
    ]


def test_runs_newest_first_with_the_filter_values(api: RunsApi, recorded: Recorded) -> None:
    answer = api.runs()
    assert answer["stores"] == [
        {"uri": str(recorded.home / "telemetry"), "label": "agentnb-home/telemetry", "exists": True}
    ]
    assert [(r["agent"], r["version"], r["status"]) for r in answer["runs"]] == [
        ("support", "0.1.0", "error"),
        ("fx", "0.2.0", "ok"),
        ("fx", "0.1.0", "ok"),
    ]
    assert answer["facets"] == {
        "agent": ["fx", "support"],
        "version": ["0.1.0", "0.2.0"],
        "status": ["error", "ok"],
    }
    blocked = answer["runs"][1]
    assert blocked["run_id"] == recorded.blocked.run_id
    assert {k: blocked[k] for k in ("model", "steps", "tool_calls", "guard_blocks", "prompt")} == {
        "model": "offline",
        "steps": 2,
        "tool_calls": 1,
        "guard_blocks": 1,
        "prompt": "How much is 5000 dollars in EUR?",
    }
    assert blocked["started_at"] == pytest.approx(recorded.blocked.started_at, abs=0.01)
    assert json.loads(json.dumps(answer)) == answer  # plain JSON: no NaN, no datetimes


def test_runs_filters_match_exactly(api: RunsApi, recorded: Recorded) -> None:
    def ids(**filters: Any) -> list[str]:
        return [r["run_id"] for r in api.runs(**filters)["runs"]]

    assert ids(agent="fx", version="0.2.0") == [recorded.blocked.run_id]
    assert ids(status="error") == [recorded.failed.run_id]
    assert ids(agent="nobody") == []
    assert ids(limit=1) == [recorded.failed.run_id]
    with pytest.raises(ApiError) as error:
        api.runs(limit=0)
    assert (error.value.status, error.value.message) == (
        400,
        "limit=0 is out of range: give 1 to 1000",
    )


def test_a_stored_run_gives_the_payload_the_cell_displayed(
    api: RunsApi, recorded: Recorded
) -> None:
    for result in (recorded.ok, recorded.blocked):
        live = trace_payload(result)
        stored = api.trace(result.run_id)
        assert shape(stored) == shape(live)
        assert stored["totals"] == {**live["totals"], "duration": stored["duration"]}
        same = ("version", "run_id", "agent", "agent_version", "model", "status", "prompt")
        assert {k: stored[k] for k in same} == {k: live[k] for k in same}
        assert stored["output"] == live["output"]
        assert stored["duration"] == pytest.approx(live["duration"], abs=0.005)

    tool = next(
        s for s in api.trace(recorded.blocked.run_id)["spans"] if s["kind"] == "execute_tool"
    )
    assert tool["status"] == "blocked"
    assert json.loads(tool["attributes"]["gen_ai.tool.call.arguments"]) == {
        "amount": 5000.0,
        "currency": "EUR",
    }
    chat = next(s for s in api.trace(recorded.ok.run_id)["spans"] if s["kind"] == "chat")
    assert chat["attributes"]["gen_ai.input.messages"] == [  # JSON data, not JSON text
        {"role": "user", "parts": [{"type": "text", "content": "How much is 12.5 dollars in GBP?"}]}
    ]


def test_a_failed_run_keeps_its_error(api: RunsApi, recorded: Recorded) -> None:
    payload = api.trace(recorded.failed.run_id)
    assert (payload["status"], payload["agent"]) == ("error", "support")
    assert "the model is down" in payload["error"]
    assert [(s["kind"], s["status"]) for s in payload["spans"]] == [
        ("invoke_agent", "error"),
        ("chat", "error"),
    ]


def test_a_run_id_prefix_is_enough(api: RunsApi, recorded: Recorded) -> None:
    run_id = recorded.blocked.run_id
    assert api.trace(run_id[:8].upper())["run_id"] == run_id


@pytest.mark.parametrize(
    ("run_id", "message"),
    [
        (
            "not-a-run",
            "'not-a-run' is not a run id: give the 32 hex digits of a run (RunResult.run_id) "
            "or a prefix of at least 6",
        ),
        (
            "abc",
            "'abc' is not a run id: give the 32 hex digits of a run (RunResult.run_id) or a "
            "prefix of at least 6",
        ),
        (
            "0" * 32,
            f"no run {'0' * 32!r} in the telemetry store(s): agentnb-home/telemetry",
        ),
    ],
)
def test_bad_run_ids_are_404_with_a_message(api: RunsApi, run_id: str, message: str) -> None:
    with pytest.raises(ApiError) as error:
        api.trace(run_id)
    assert (error.value.status, error.value.message) == (404, message)


def test_stats_per_agent_and_version(api: RunsApi) -> None:
    answer = api.stats()
    assert [(r["agent"], r["version"], r["count"], r["errors"]) for r in answer["stats"]] == [
        ("fx", "0.1.0", 1, 0),
        ("fx", "0.2.0", 1, 0),
        ("support", "0.1.0", 1, 1),
    ]
    assert answer["stats"][1]["guard_blocks"] == 1
    assert json.loads(json.dumps(answer)) == answer
    with pytest.raises(ApiError) as error:
        api.stats(by=["agent", "colour"])
    assert (error.value.status, error.value.message) == (
        400,
        "cannot group by colour: use any of agent, version, model, status, tool, config_hash, "
        "provider",
    )


def test_without_agentnb_home_the_stores_under_the_root_are_read(
    recorded: Recorded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGENTNB_HOME")
    for folder in ("notebooks", "a/b", "a/b/c/d/too-deep", ".hidden", "node_modules/x"):
        (tmp_path / folder / ".agentnb" / "telemetry").mkdir(parents=True)
    assert [p.relative_to(tmp_path) for p in discover_stores(tmp_path)] == [
        Path("a/b/.agentnb/telemetry"),
        Path("notebooks/.agentnb/telemetry"),
    ]

    api = RunsApi(recorded.home.parent)  # the recorded store sits in <root>/agentnb-home/...
    assert api.store_uris() == []
    answer = api.runs()
    assert (answer["stores"], answer["runs"]) == ([], [])
    with pytest.raises(ApiError) as error:
        api.trace(recorded.ok.run_id)
    assert error.value.message == (
        f"no run {recorded.ok.run_id!r} in the telemetry store(s): no telemetry store yet"
    )


def test_a_notebook_folder_store_is_found(
    recorded: Recorded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGENTNB_HOME")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / ".agentnb").symlink_to(recorded.home)
    api = RunsApi(tmp_path)
    assert api.store_uris() == [str(tmp_path / "notebooks" / ".agentnb" / "telemetry")]
    answer = api.runs(agent="fx")
    assert {r["store"] for r in answer["runs"]} == {"notebooks/.agentnb/telemetry"}
    assert api.trace(recorded.blocked.run_id)["run_id"] == recorded.blocked.run_id


def test_a_missing_store_is_not_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTNB_HOME", str(tmp_path / "home"))
    answer = RunsApi(tmp_path).runs()
    assert answer == {
        "stores": [
            {
                "uri": str(tmp_path / "home" / "telemetry"),
                "label": "home/telemetry",
                "exists": False,
            }
        ],
        "runs": [],
        "facets": {"agent": [], "version": [], "status": []},
    }
    assert not (tmp_path / "home").exists()


def test_new_runs_and_their_values_show_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTNB_HOME", str(tmp_path / "home"))
    settings.reset()
    lance.forget_connections()
    api = RunsApi(tmp_path)
    try:
        recording("fx", model="offline", tools=[convert]).run_sync("10 dollars in EUR?")
        telemetry.flush()
        assert api.runs()["facets"]["agent"] == ["fx"]
        recording("helpdesk", model="offline").run_sync("hello")
        telemetry.flush()
        answer = api.runs()
        assert answer["facets"]["agent"] == ["fx", "helpdesk"]
        assert [r["agent"] for r in answer["runs"]] == ["helpdesk", "fx"]
    finally:
        settings.reset()
        lance.forget_connections()


def test_a_status_that_cannot_match_is_a_400_naming_the_statuses(api: RunsApi) -> None:
    with pytest.raises(ApiError) as error:
        api.runs(status="failed")
    assert (error.value.status, error.value.message) == (
        400,
        "status='failed' matches no stored value: use one of ok, error, cancelled, blocked. "
        "Did you mean 'error'?",
    )


def test_guard_errors_are_in_each_run(api: RunsApi) -> None:
    assert [r["guard_errors"] for r in api.runs()["runs"]] == [0, 0, 0]
    assert [r["guard_errors"] for r in api.stats()["stats"]] == [0, 0, 0]


def test_a_damaged_store_is_a_500_naming_the_table(
    recorded: Recorded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    copy = tmp_path / "home"
    shutil.copytree(recorded.home, copy)
    (data,) = sorted((copy / "telemetry" / "runs.lance" / "data").glob("*.lance"))[:1]
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    monkeypatch.setenv("AGENTNB_HOME", str(copy))
    settings.reset()
    lance.forget_connections()
    api = RunsApi(tmp_path)
    for call in (api.runs, api.stats, lambda: api.trace(recorded.ok.run_id)):
        with pytest.raises(ApiError) as error:
            call()
        assert error.value.status == 500
        assert error.value.message.startswith(
            f"the 'runs' table of the telemetry store at {copy / 'telemetry'} cannot be read: "
            f"data file {data} is cut short"
        )


def test_a_file_where_the_store_should_be_is_a_500_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "telemetry").write_text("not a store")
    monkeypatch.setenv("AGENTNB_HOME", str(tmp_path / "home"))
    settings.reset()
    lance.forget_connections()
    with pytest.raises(ApiError) as error:
        RunsApi(tmp_path).runs()
    assert error.value.status == 500
    assert error.value.message.startswith(
        f"the telemetry store path {tmp_path / 'home' / 'telemetry'} is a file, not a folder"
    )
