"""`result.plot()`: a plotly waterfall that also displays without plotly.js."""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import plotly.graph_objects as go
import pytest
from IPython.core.formatters import DisplayFormatter

from agentnb import Agent, FunctionModel, Verdict, guard, tool, tool_call
from agentnb.agents import RunResult
from agentnb.display.figures import PLOTLY_MIME
from agentnb.display.timeline import TraceFigure, svg_timeline, timeline
from agentnb.events import MonitorFinding
from agentnb.guards import ToolCallView
from agentnb.notebook.execute import execute_notebook
from agentnb.runs.trace import trace_payload

Script = Callable[..., FunctionModel]


@tool
def lookup(order: str) -> str:
    """Look an order up."""
    return "paid"


@tool
def refund(order: str) -> str:
    """Refund an order."""
    return "refunded"


@guard("tool_call")
def no_refunds(call: ToolCallView) -> Verdict:
    if call.name == "refund":
        return Verdict.block("refunds need a <human>")
    return Verdict.allow()


def shop_run(script: Script) -> RunResult:
    model = script(
        tool_call("lookup", order="A-1"), tool_call("refund", order="A-1"), "Refund refused."
    )
    agent = Agent("shop", model=model, tools=[lookup, refund], guards=[no_refunds], telemetry=False)
    result = agent.run_sync("Refund A-1")
    result.findings.append(
        MonitorFinding(
            result.run_id, "shop", "refunds", "warning", "refund asked", t=result.perf_start
        )
    )
    return result


def test_a_bar_per_span_coloured_by_kind_blocked_ones_marked(script: Script) -> None:
    result = shop_run(script)
    fig = result.plot()

    assert isinstance(fig, go.Figure)
    assert type(fig) is TraceFigure
    bars = {t.name: list(t.y) for t in fig.data if t.type == "bar"}
    assert bars == {
        "run": ["run"],
        "model call": ["chat-1", "chat-2", "chat-3"],
        "tool call": ["tool-1.1"],
        "guard": ["guard-1"],
        "blocked": ["tool-2.1", "guard-2"],
    }
    (finding,) = [t for t in fig.data if t.type == "scatter"]
    assert (finding.name, list(finding.y)) == ("monitor finding", ["run"])
    ticks = dict(zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext, strict=True))
    assert ticks == {
        "run": "run shop",
        "chat-1": "step 1 · model",
        "tool-1.1": "tool lookup",
        "guard-1": "guard no_refunds",
        "chat-2": "step 2 · model",
        "tool-2.1": "tool refund ⊘",
        "guard-2": "guard no_refunds ⊘",
        "chat-3": "step 3 · model",
    }
    spans = {s["id"]: s for s in trace_payload(result)["spans"]}
    calls = next(t for t in fig.data if t.name == "model call")
    assert list(calls.base) == pytest.approx([spans[i]["start"] * 1000 for i in calls.y])  # ms
    blocked = next(t for t in fig.data if t.name == "blocked")
    assert "refunds need a &lt;human&gt;" in blocked.customdata[1]  # plotly reads HTML
    assert timeline(trace_payload(result)).to_dict() == fig.to_dict()  # from the payload too


def test_the_bundle_has_the_plotly_json_and_a_static_html_fallback(script: Script) -> None:
    fig = shop_run(script).plot()
    data, _ = DisplayFormatter().format(fig)  # IPython's real pipeline, not plotly's renderers

    assert sorted(data) == [PLOTLY_MIME, "text/html", "text/plain"]
    assert data[PLOTLY_MIME] == {**json.loads(fig.to_json()), "config": {"displaylogo": False}}
    page = data["text/html"]
    assert page.startswith('<div class="agentnb-timeline"><svg ')
    assert page.endswith("</svg></div>")
    assert not re.search(r"<script|https?://(?!www\.w3\.org/2000/svg)", page)
    assert page.count("<rect ") == 8 + 6  # a bar per span, a legend swatch per trace
    assert "tool refund ⊘" in page
    assert "refunds need a &lt;human&gt;" in page
    assert data["text/plain"] == "<TraceFigure: 6 traces>"


def test_the_fallback_follows_edits_of_the_figure(script: Script) -> None:
    fig = shop_run(script).plot()
    fig.update_traces(marker_color="#123456", selector={"name": "model call"})
    assert svg_timeline(json.loads(fig.to_json())).count('fill="#123456"') == 3 + 1


def test_a_figure_pickles_and_copies_as_a_trace_figure(script: Script) -> None:
    fig = shop_run(script).plot()
    assert type(pickle.loads(pickle.dumps(fig))) is TraceFigure
    assert type(fig.update_layout(height=300)) is TraceFigure


def test_importing_plot_does_not_import_plotly() -> None:
    probe = "import sys, agentnb.display.timeline; print('plotly' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.slow
def test_the_figure_shows_in_nbconvert_html(tmp_path: Path) -> None:
    source = (
        "from agentnb import Agent\n"
        "result = Agent('fx', model='offline', telemetry=False).run_sync('hello')\n"
        "result.plot()"
    )
    notebook = tmp_path / "plot.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), notebook)

    summary = execute_notebook(notebook, output=tmp_path / "out.ipynb", html=tmp_path / "out.html")

    assert summary.ok, summary.describe()
    (output,) = nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[0].outputs
    assert sorted(output["data"]) == [PLOTLY_MIME, "text/html", "text/plain"]
    page = (tmp_path / "out.html").read_text()
    assert '<div class="agentnb-timeline"><svg ' in page
    assert "step 1 · model" in page
