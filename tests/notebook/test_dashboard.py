"""`agentnb.dashboard()`: charts from a real telemetry store, filled by real agent runs.

Seven runs, made with function models and the offline model:

| agent | version | runs                                                                      |
|-------|---------|---------------------------------------------------------------------------|
| shop  | 1.0.0   | ok · ok, refund blocked by a guard · ok, refund failed · blocked at input |
| shop  | 1.1.0   | ok · error (the model crashed)                                            |
| fx    | 2.0.0   | ok (offline model)                                                        |
"""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy
import pytest
from IPython.core.error import UsageError
from IPython.core.formatters import DisplayFormatter
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets import TraitError
from traitlets.config import Config

import agentnb
from agentnb import Agent, FunctionModel, RunResult, Verdict, guard, telemetry, tool, tool_call
from agentnb.display.charts import svg_bars
from agentnb.display.dashboard import DashboardData, figures
from agentnb.display.figures import PLOTLY_MIME
from agentnb.guards import ToolCallView
from agentnb.models import ModelRequest, UserMessage
from agentnb.models.pricing import set_price
from agentnb.notebook import _kernel
from agentnb.notebook import dashboard as board_module
from agentnb.notebook.dashboard_data import agent_versions, dashboard_data
from agentnb.notebook.dashboard_widget import Dashboard, StaticDashboard
from agentnb.notebook.magics import load_ipython_extension, unload_ipython_extension

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@tool
def refund(order: str) -> str:
    """Refund an order."""
    if order == "A-bad":
        raise ConnectionError("payment service unavailable")
    return f"refunded {order}"


@guard("tool_call")  # blocks the call; the run goes on without it
def no_big_refunds(call: ToolCallView) -> Verdict:
    return Verdict.block("over the limit") if call.args["order"] == "A-big" else Verdict.allow()


@guard("input", on_fail="refuse")  # blocks the run
def no_spam(prompt: str) -> Verdict:
    return Verdict.block("spam") if "spam" in prompt else Verdict.allow()


def shop_model(request: ModelRequest) -> Any:
    first = request.messages[0]
    assert isinstance(first, UserMessage)
    prompt = first.content
    if "boom" in prompt:
        raise RuntimeError("the model crashed")
    if not any(m.role == "tool" for m in request.messages):
        return tool_call("refund", order=prompt.split()[-1])
    return "done"


def shop(version: str) -> Agent:
    model = FunctionModel(shop_model, name="shop-model")
    guards = [no_big_refunds, no_spam]
    return Agent("shop", model=model, tools=[refund], guards=guards, version=version)


Runs = dict[str, list[RunResult]]


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Runs:
    """The seven runs of the module docstring, recorded and flushed to the store."""
    monkeypatch.delenv("AGENTNB_TELEMETRY")
    set_price("shop-model", input_per_million=1.0, output_per_million=2.0)
    made: Runs = {"shop 1.0.0": [], "shop 1.1.0": [], "fx 2.0.0": []}
    first = shop("1.0.0")
    for prompt in ["refund A-1", "refund A-big", "refund A-bad", "spam refund A-2"]:
        made["shop 1.0.0"].append(first.run_sync(prompt))
    second = shop("1.1.0")
    made["shop 1.1.0"].append(second.run_sync("refund A-3"))
    with pytest.raises(RuntimeError, match="the model crashed"):
        second.run_sync("boom")
    assert second.last_result is not None
    made["shop 1.1.0"].append(second.last_result)
    made["fx 2.0.0"].append(Agent("fx", model="offline", version="2.0.0").run_sync("hello"))
    telemetry.flush()
    return made


@pytest.fixture
def store(runs: Runs) -> telemetry.Store:
    return telemetry.open()


def statuses(made: Runs) -> dict[str, list[str]]:
    return {key: [r.status for r in results] for key, results in made.items()}


# --- data ---------------------------------------------------------------------------------------


def test_the_numbers_are_those_of_the_runs_made(runs: Runs, store: telemetry.Store) -> None:
    assert statuses(runs) == {
        "shop 1.0.0": ["ok", "ok", "ok", "blocked"],
        "shop 1.1.0": ["ok", "error"],
        "fx 2.0.0": ["ok"],
    }
    data = dashboard_data(store, since="1h")

    made = [r for results in runs.values() for r in results]
    recorded = store.runs(last=None).set_index("trace_id")  # as the store timed them
    assert sorted(recorded.index) == sorted(r.trace_id for r in made)
    durations = recorded["duration_ms"]
    assert data.totals == {
        "runs": 7,
        "errors": 1,
        "error_rate": pytest.approx(1 / 7),
        "blocked": 2,  # the refund blocked by a guard, the run refused at input
        "block_rate": pytest.approx(2 / 7),
        "p50_ms": durations.median(),
        "p95_ms": pytest.approx(float(numpy.percentile(durations, 95))),
        "cost": pytest.approx(sum(r.cost or 0.0 for r in made)),
        "cost_per_run": pytest.approx(sum(r.cost or 0.0 for r in made) / 7),
        "unpriced": 0,
    }
    assert data.summary().startswith(
        "all agents · last 1h: 7 runs · 1 error (14%) · 2 blocked by guards (29%) · p50 "
    )

    versions = data.versions.set_index("label")
    assert versions[["count", "errors", "guard_blocks"]].to_dict("index") == {
        "fx 2.0.0": {"count": 1, "errors": 0, "guard_blocks": 0},
        "shop 1.0.0": {"count": 4, "errors": 0, "guard_blocks": 2},
        "shop 1.1.0": {"count": 2, "errors": 1, "guard_blocks": 0},
    }
    assert versions["error_rate"].to_dict() == {"fx 2.0.0": 0, "shop 1.0.0": 0, "shop 1.1.0": 0.5}
    assert versions["guard_block_rate"].to_dict() == {
        "fx 2.0.0": 0,
        "shop 1.0.0": 0.5,
        "shop 1.1.0": 0,
    }
    for label, results in runs.items():
        costs = [r.cost or 0.0 for r in results]
        assert versions.loc[label, "cost_per_run"] == pytest.approx(sum(costs) / len(costs))
        assert versions.loc[label, "p50_ms"] <= versions.loc[label, "p95_ms"]
    assert versions.loc["shop 1.0.0", "cost_per_run"] > 0  # a priced model

    # refund ran 4 times (A-1, A-big, A-bad, A-3): failed once, blocked once
    assert data.tools[["tool", "count", "errors", "guard_blocks", "failures"]].to_dict(
        "records"
    ) == [{"tool": "refund", "count": 4, "errors": 1, "guard_blocks": 1, "failures": 2}]

    # 5-minute buckets over the last hour, every run in them
    assert data.bucket == "5min"
    assert len(data.timeline) == 13
    assert data.timeline[["ok", "error", "blocked", "cancelled", "runs"]].sum().to_dict() == {
        "ok": 5,
        "error": 1,
        "blocked": 1,
        "cancelled": 0,
        "runs": 7,
    }
    assert data.timeline["time"].is_monotonic_increasing


def test_filters_narrow_every_number(runs: Runs, store: telemetry.Store) -> None:
    shop_only = dashboard_data(store, agent="shop")
    assert shop_only.totals["runs"] == 6
    assert shop_only.versions["label"].tolist() == ["1.0.0", "1.1.0"]  # the agent is known
    assert shop_only.scope == "shop · all versions"
    assert shop_only.window == "all time"

    one_version = dashboard_data(store, agent="shop", version="1.1.0", since="24h")
    assert (one_version.totals["runs"], one_version.totals["errors"]) == (2, 1)
    assert one_version.tools[["tool", "count", "failures"]].to_dict("records") == []  # A-3 ok
    assert (one_version.scope, one_version.window) == ("shop 1.1.0", "last 24h")

    middle = datetime.now(timezone.utc)
    unpriced = FunctionModel(lambda request: "hi", name="unpriced-model")
    later = Agent("fx", model=unpriced, version="2.1.0").run_sync("hello again")
    telemetry.flush()
    recent = dashboard_data(store, since=middle)
    assert (recent.totals["runs"], recent.totals["cost"], recent.totals["unpriced"]) == (1, None, 1)
    assert recent.versions["label"].tolist() == ["fx 2.1.0"]
    assert recent.window == f"since {middle:%Y-%m-%d %H:%M} UTC"
    assert recent.bucket == "1min"
    assert later.status == "ok"
    assert "$" not in recent.summary()  # no priced run: no cost
    assert [a.text for a in figures(recent)["cost"].layout.annotations] == [
        "no cost recorded: these models have no price (agentnb.models.pricing)"
    ]

    every = dashboard_data(store, since="all")
    assert every.totals["runs"] == 8
    assert every.summary().endswith(" per run; 1 without a price)")
    assert agent_versions(store) == {"fx": ["2.0.0", "2.1.0"], "shop": ["1.0.0", "1.1.0"]}

    nobody = dashboard_data(store, agent="nobody", since="7d")
    assert nobody.totals["runs"] == 0
    assert [nobody.timeline.empty, nobody.versions.empty, nobody.tools.empty] == [True] * 3
    assert nobody.summary() == "nobody · all versions · last 7d: no runs"


# --- figures ------------------------------------------------------------------------------------


def bars(fig: Any) -> dict[str, tuple[list[Any], list[Any]]]:
    """Each trace's name → (categories, values), whatever its orientation."""
    return {
        t.name: (list(t.y), list(t.x)) if t.orientation == "h" else (list(t.x), list(t.y))
        for t in fig.data
    }


def test_figures_draw_the_data(runs: Runs, store: telemetry.Store) -> None:
    data = dashboard_data(store, since="1h")
    figs = figures(data)

    assert list(figs) == ["runs", "latency", "rates", "cost", "tools"]
    over_time = bars(figs["runs"])
    assert list(over_time) == ["ok", "error", "blocked"]  # no cancelled run: no trace
    assert {name: sum(values) for name, (_, values) in over_time.items()} == {
        "ok": 5,
        "error": 1,
        "blocked": 1,
    }
    labels = ["fx 2.0.0", "shop 1.0.0", "shop 1.1.0"]
    assert bars(figs["rates"]) == {
        "error rate": (labels, [0.0, 0.0, 0.5]),
        "guard-block rate": (labels, [0.0, 0.5, 0.0]),
    }
    latency = bars(figs["latency"])
    assert latency["p50"] == (labels, data.versions["p50_ms"].tolist())
    assert latency["p95"] == (labels, data.versions["p95_ms"].tolist())
    assert bars(figs["cost"]) == {"cost per run": (labels, data.versions["cost_per_run"].tolist())}
    assert bars(figs["tools"]) == {"errors": (["refund"], [1]), "guard blocks": (["refund"], [1])}
    assert [f.layout.title.text for f in figs.values()] == [
        "Runs per 5 minutes (UTC)",
        "Latency per version (ms)",
        "Error and guard-block rates per version",
        "Cost per run per version (USD)",
        "Top failing tools (errors and guard blocks)",
    ]


def test_each_figure_displays_with_a_static_svg_fallback(
    runs: Runs, store: telemetry.Store
) -> None:
    figs = figures(dashboard_data(store, agent="shop", since="1h"))
    formatter = DisplayFormatter()  # IPython's real pipeline, not plotly's renderers

    for fig in figs.values():
        data, _ = formatter.format(fig)
        assert sorted(data) == [PLOTLY_MIME, "text/html", "text/plain"]
        assert data[PLOTLY_MIME] == {**json.loads(fig.to_json()), "config": {"displaylogo": False}}
        page = data["text/html"]
        assert page.startswith('<div class="agentnb-chart"><svg ')
        assert page.endswith("</svg></div>")
        assert not re.search(r"<script|https?://(?!www\.w3\.org/2000/svg)", page)

    rates = formatter.format(figs["rates"])[0]
    assert rates["text/plain"] == "<Error and guard-block rates per version: 2 traces>"
    svg = rates["text/html"]
    assert svg.count("<rect ") == 2 + 2  # a legend swatch per trace, a bar per non-zero rate
    assert "<title>1.0.0 · guard-block rate: 50%</title>" in svg
    assert "<title>1.1.0 · error rate: 50%</title>" in svg
    assert ">50%</text>" in svg  # the value axis is in percent
    tools_svg = formatter.format(figs["tools"])[0]["text/html"]
    assert ">refund</text>" in tools_svg
    ticks = re.findall(r'fill-opacity="0.7">([^<]*)</text>', tools_svg)
    assert ticks == ["0", "1", "2"]  # counts: whole-number ticks, as plotly's dtick=1


def test_empty_charts_say_why(store: telemetry.Store, runs: Runs) -> None:
    figs = figures(dashboard_data(store, agent="fx", since="1h"))
    assert [a.text for a in figs["tools"].layout.annotations] == ["no failing tool calls"]
    assert [a.text for a in figs["cost"].layout.annotations] == []  # offline: priced at 0

    none = figures(dashboard_data(store, agent="nobody", since="1h"))
    for fig in none.values():
        assert len(fig.data) == 0
        assert [a.text for a in fig.layout.annotations] == [
            "no runs of nobody · all versions (last 1h)"
        ]
        assert "no runs of nobody · all versions (last 1h)</text>" in svg_bars(
            json.loads(fig.to_json())
        )


# --- the widget ---------------------------------------------------------------------------------


def outputs(board: Dashboard, chart: str) -> dict[str, Any]:
    (shown,) = board.charts[chart].outputs
    assert shown["output_type"] == "display_data"
    data: dict[str, Any] = shown["data"]
    return data


def test_the_widget_builds_without_a_front_end_and_its_controls_refilter(
    runs: Runs, store: telemetry.Store
) -> None:
    board = Dashboard(store, since="1h")

    # "all" is "" in the dropdowns: a selection widget shows a None value as no selection
    assert board.agent_picker.options == (("all agents", ""), ("fx", "fx"), ("shop", "shop"))
    assert board.agent_picker.label == "all agents"
    assert board.version_picker.options == (
        ("all versions", ""),
        ("1.0.0", "1.0.0"),
        ("1.1.0", "1.1.0"),
        ("2.0.0", "2.0.0"),
    )
    assert board.version_picker.label == "all versions"
    assert board.range_picker.options == ("1h", "24h", "7d", "all")
    assert (board.range_picker.value, board.data.totals["runs"]) == ("1h", 7)
    assert outputs(board, "rates")[PLOTLY_MIME]["data"][0]["name"] == "error rate"

    before = board.data
    board.agent_picker.value = "shop"
    assert board.agent == "shop"
    assert isinstance(board.data, DashboardData)
    assert board.data is not before
    assert board.data.totals["runs"] == 6
    assert [o[1] for o in board.version_picker.options] == ["", "1.0.0", "1.1.0"]
    assert outputs(board, "latency")[PLOTLY_MIME]["data"][0]["x"] == ["1.0.0", "1.1.0"]
    assert board.summary.value.startswith("<p>shop · all versions · last 1h: 6 runs")

    board.version_picker.value = "1.1.0"
    assert (board.version, board.data.totals["runs"], board.data.totals["errors"]) == (
        "1.1.0",
        2,
        1,
    )

    board.agent_picker.value = "fx"  # 1.1.0 is not a version of fx: back to all versions
    assert (board.version, board.version_picker.label, board.data.totals["runs"]) == (
        None,
        "all versions",
        1,
    )

    board.range_picker.value = "all"
    assert (board.since, board.data.window, board.data.bucket) == (None, "all time", "1min")

    board.agent = "shop"  # the traits are the API: the pickers follow
    assert (board.agent_picker.value, board.data.totals["runs"]) == ("shop", 6)


def test_refresh_rereads_the_store(runs: Runs, store: telemetry.Store) -> None:
    board = Dashboard(store, agent="fx")
    assert board.data.totals["runs"] == 1

    Agent("fx", model="offline", version="3.0.0").run_sync("hi")
    Agent("quotes", model="offline").run_sync("hi")
    telemetry.flush()
    assert board.data.totals["runs"] == 1  # until refreshed
    board.refresh_button.click()

    assert board.data.totals["runs"] == 2
    assert [o[1] for o in board.agent_picker.options] == ["", "fx", "quotes", "shop"]
    assert [o[1] for o in board.version_picker.options] == ["", "2.0.0", "3.0.0"]


def test_the_widget_refuses_a_bad_time_range(runs: Runs, store: telemetry.Store) -> None:
    board = Dashboard(store, since="2h")  # any duration: offered among the ranges
    assert board.range_picker.options == ("1h", "24h", "7d", "2h", "all")
    assert board.data.bucket == "5min"

    with pytest.raises(TraitError, match=r"since='yesterday' is neither a duration"):
        board.since = "yesterday"
    assert board.since == "2h"


def test_the_widget_displays_as_a_widget_only_where_one_can_render(
    runs: Runs, store: telemetry.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = Dashboard(store, since="1h")

    bundle = board._repr_mimebundle_()
    assert bundle is not None
    assert sorted(bundle) == [WIDGET_MIME, "text/html", "text/plain"]
    assert bundle[WIDGET_MIME]["model_id"] == board.model_id
    html = bundle["text/html"]  # what nbconvert shows when the widget state is not saved
    assert html.startswith('<div class="agentnb-dashboard"><p>all agents · last 1h: 7 runs')
    assert html.count('<div class="agentnb-chart"><svg ') == 5

    shell = make_shell()  # where display() publishes
    with capture_output() as captured:
        board._ipython_display_()  # headless: the static charts
    assert [sorted(o.data) for o in captured.outputs] == [["text/html", "text/plain"]] + [
        [PLOTLY_MIME, "text/html", "text/plain"]
    ] * 5

    monkeypatch.setattr(_kernel, "front_end_is_live", lambda: True)
    with capture_output() as captured:
        board._ipython_display_()
    assert [sorted(o.data) for o in captured.outputs] == [[WIDGET_MIME, "text/html", "text/plain"]]
    assert shell is InteractiveShell.instance()


# --- the entry points ---------------------------------------------------------------------------


def make_shell() -> InteractiveShell:
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    return InteractiveShell.instance(config=config)


@pytest.fixture
def ipython() -> Iterator[InteractiveShell]:
    shell = make_shell()
    load_ipython_extension(shell)
    try:
        yield shell
    finally:
        unload_ipython_extension(shell)
        shell.reset(new_session=False)


def run_cell(shell: InteractiveShell, cell: str) -> tuple[Any, Any]:
    with capture_output() as captured:
        result = shell.run_cell(cell, store_history=True)
    assert result.error_in_exec is None, result.error_in_exec
    return result.result, captured


def test_the_magic_is_the_python_call(
    runs: Runs, ipython: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown, captured = run_cell(ipython, "%agentnb dashboard --agent shop --since 1h")

    assert isinstance(shown, StaticDashboard)  # no front end here to render a widget
    python = agentnb.dashboard(agent="shop", since="1h")
    assert isinstance(python, StaticDashboard)
    assert shown.data.summary() == python.data.summary()
    assert shown.data.summary().startswith("shop · all versions · last 1h: 6 runs")
    assert [sorted(o.data) for o in captured.outputs] == [["text/html", "text/plain"]] + [
        [PLOTLY_MIME, "text/html", "text/plain"]
    ] * 5
    assert captured.outputs[0].data["text/plain"].startswith("<IPython.core.display.HTML")

    monkeypatch.setattr(_kernel, "front_end_is_live", lambda: True)
    live, captured = run_cell(ipython, "%agentnb dashboard --since all")
    assert isinstance(live, Dashboard)
    assert live.since is None
    assert live.data.totals["runs"] == 7
    assert [sorted(o.data) for o in captured.outputs] == [[WIDGET_MIME, "text/html", "text/plain"]]

    result = ipython.run_cell("%agentnb dashboard --since soon")
    assert isinstance(result.error_in_exec, UsageError)  # shown without a traceback
    assert str(result.error_in_exec) == (
        "since='soon' is neither a duration ('1h', '7d') nor an ISO date ('2026-11-25T10:00')"
    )


def test_the_public_function_is_lazy_and_matches_the_module() -> None:
    public = inspect.signature(agentnb.dashboard).parameters
    module = inspect.signature(board_module.dashboard).parameters
    assert [(p.name, p.kind, p.default) for p in public.values()] == [
        (p.name, p.kind, p.default) for p in module.values()
    ]
    probe = (
        "import sys, json, agentnb\n"
        "agentnb.dashboard\n"
        "heavy = ('pandas', 'plotly', 'ipywidgets', 'IPython', 'pyarrow', 'lancedb')\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []


def test_without_ipywidgets_the_error_says_what_to_install() -> None:
    probe = (
        "import sys\n"
        "sys.modules['ipywidgets'] = None\n"
        "import agentnb\n"
        "try:\n"
        "    agentnb.dashboard()\n"
        "except agentnb.UserError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == (
        "MissingDependency agentnb.dashboard() needs ipywidgets: pip install 'agentnb[notebook]'"
    )


def test_dashboard_takes_a_store_or_a_uri(runs: Runs, store: telemetry.Store) -> None:
    by_uri = agentnb.dashboard(store.uri, agent="fx", widget=False)
    assert isinstance(by_uri, StaticDashboard)
    assert by_uri.data.totals["runs"] == 1
    as_widget = agentnb.dashboard(store, agent="fx", widget=True)
    assert isinstance(as_widget, Dashboard)
    assert (
        repr(by_uri)
        == "agentnb dashboard: fx · all versions · last 24h: "
        + (by_uri.data.summary().split(": ", 1)[1])
    )


@pytest.mark.slow
def test_a_headless_notebook_shows_static_charts_and_keeps_no_widget_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat  # only here: importing it costs most of a second

    from agentnb.notebook.execute import execute_notebook

    monkeypatch.delenv("AGENTNB_TELEMETRY")
    source = (
        "import agentnb\n"
        "from agentnb import Agent\n"
        "Agent('fx', model='offline').run_sync('hello')\n"
        "agentnb.dashboard()"
    )
    notebook = tmp_path / "board.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), notebook)

    summary = execute_notebook(notebook, output=tmp_path / "out.ipynb", html=tmp_path / "out.html")

    assert summary.ok, summary.describe()
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert "widgets" not in executed.metadata  # no widget was made: no state, no CDN script
    outputs = executed.cells[0].outputs
    assert [sorted(o["data"]) for o in outputs] == [["text/html", "text/plain"]] + [
        [PLOTLY_MIME, "text/html", "text/plain"]
    ] * 5
    assert "all agents · last 24h: 1 run · 0 errors" in outputs[0]["data"]["text/html"]
    page = (tmp_path / "out.html").read_text()
    assert page.count('<div class="agentnb-chart"><svg ') == 5
    assert "Runs per 5 minutes" not in page  # 24h: hourly buckets
    assert "Runs per hour (UTC)" in page
