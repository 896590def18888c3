"""Live progress: text lines headless (real kernels via nbclient), a widget in a live notebook.

The threading matters here: `run_sync` in a kernel runs the agent on a private loop thread, so
the tests check in real kernels that lines land in the cell that started them, and that widget
updates reach the front end while the cell blocks.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, ClassVar

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets.config import Config

from agentnb import Agent, FunctionModel, guard, tool, tool_call
from agentnb import events as ev
from agentnb.errors import UserError
from agentnb.guards import GuardContext, ToolCallView
from agentnb.models import ModelRequest, ModelResponse, Usage
from agentnb.models.base import StreamItem, TextDelta
from agentnb.models.messages import AssistantMessage
from agentnb.notebook import _kernel, ask, progress
from agentnb.notebook.execute import execute_notebook
from agentnb.notebook.magics import load_ipython_extension, unload_ipython_extension
from agentnb.notebook.progress import Progress, RunState, progress_mode
from agentnb.notebook.widgets import ProgressView
from tests.notebook.live_kernel import live_kernel

progress_mod = sys.modules["agentnb.notebook.progress"]  # the package attribute is the function
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
TIMES = re.compile(r"\[(\w+) +\d+\.\d\ds\]")


def lines(text: str) -> list[str]:
    """Progress lines with their elapsed times masked."""
    return [TIMES.sub(r"[\1 T]", line) for line in text.splitlines() if line.startswith("[")]


@tool
def lookup_order(order_id: int) -> dict[str, Any]:
    """Look up an order by its number.

    Args:
        order_id: The order number.
    """
    return {"order_id": order_id, "status": "shipped"}


@tool
def refund(order_id: int, amount: float) -> str:
    """Refund an amount for an order."""
    return f"refunded {amount}"


@guard("tool_call")
def small_refunds(call: ToolCallView, ctx: GuardContext) -> bool:
    return call.name != "refund" or call.args["amount"] <= 100


def scripted_agent(script: Callable[..., FunctionModel]) -> Agent:
    model = script(
        tool_call("lookup_order", order_id=1042),
        tool_call("refund", order_id=1042, amount=250),
        "Order 1042 has shipped; I cannot refund 250.",
    )
    return Agent(
        "support",
        model=model,
        tools=[lookup_order, refund],
        guards=[small_refunds],
        telemetry=False,
    )


# -- choosing the display ------------------------------------------------------------------------


def test_mode_comes_from_the_argument_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_kernel, "shell", lambda: None)  # a script: no IPython
    monkeypatch.delenv("AGENTNB_PROGRESS", raising=False)
    assert progress_mode() == "text"
    assert progress_mode("off") == "off"
    assert progress_mode("widget") == "text"  # no shell to show a widget in
    monkeypatch.setenv("AGENTNB_PROGRESS", " OFF ")
    assert progress_mode() == "off"
    assert progress_mode("text") == "text"

    monkeypatch.setenv("AGENTNB_PROGRESS", "loud")
    with pytest.raises(UserError) as raised:
        progress_mode()
    assert str(raised.value) == (
        "AGENTNB_PROGRESS='loud' is not a progress display: use one of widget, text, off, auto"
    )


def test_auto_is_widget_only_for_cells_from_a_notebook_ui(monkeypatch: pytest.MonkeyPatch) -> None:
    class Kernel:
        request: ClassVar[dict[str, Any]] = {}

        def get_parent(self, channel: str) -> dict[str, Any]:
            return self.request

    class Shell:
        kernel = Kernel()

    monkeypatch.setattr(_kernel, "shell", lambda: Shell())
    monkeypatch.delenv("AGENTNB_PROGRESS", raising=False)
    Kernel.request = {"header": {"msg_id": "1"}, "metadata": {}}  # nbclient, papermill
    assert progress_mode() == "text"
    Kernel.request = {"header": {"msg_id": "2"}, "metadata": {"cellId": "c0ffee"}}  # Lab
    assert progress_mode() == "widget"
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # not installed
    assert progress_mode() == "text"


# -- text lines ----------------------------------------------------------------------------------


def test_text_lines_follow_the_run(
    script: Callable[..., FunctionModel], capsys: pytest.CaptureFixture[str]
) -> None:
    agent = scripted_agent(script)

    with progress(agent, mode="text"):
        result = agent.run_sync("Where is order 1042? Refund 250.")

    assert result.status == "ok"
    assert lines(capsys.readouterr().out) == [
        f"[support T] started · function:scripted · run {result.run_id[:8]}",
        "[support T] step 1 · function:scripted",
        '[support T] step 1 · lookup_order({"order_id": 1042})',
        '[support T] step 1 · lookup_order → {"order_id":1042,"status":"shipped"} (0 ms)',
        "[support T] step 2 · function:scripted",
        '[support T] step 2 · refund({"order_id": 1042, "amount": 250})',
        "[support T] guard small_refunds · block at tool call refund: small_refunds returned False",
        "[support T] step 2 · refund failed (blocked, 0 ms)",
        "[support T] step 3 · function:scripted",
        "[support T] done · ok · 3 steps · 2 tool calls · 0.00 s",
    ]


def test_leaving_the_block_stops_following(
    script: Callable[..., FunctionModel], capsys: pytest.CaptureFixture[str]
) -> None:
    agent = Agent("quiet", model=script("one", "two"), telemetry=False)
    with progress(agent, mode="text"):
        agent.run_sync("first")
    agent.run_sync("second")

    assert [line.split("] ", 1)[1] for line in lines(capsys.readouterr().out)][-1] == (
        "done · ok · 1 step · 0 tool calls · 0.00 s"
    )
    assert agent._handlers == []


def test_run_state_keeps_the_current_steps_text() -> None:
    state = RunState()
    response = ModelResponse(AssistantMessage("Hello there"), Usage())

    state.update(ev.RunStarted("a" * 32, "fx", "1.0.0", "offline", "hi", "h"))
    state.update(ev.ModelRequestStarted("a" * 32, 1, "offline", stream=True))
    state.update(ev.TextDelta("a" * 32, 1, "Hel"))
    state.update(ev.TextDelta("a" * 32, 1, "lo"))
    assert (state.step, state.text, state.status) == (1, "Hello", "running")
    state.update(ev.ModelResponded("a" * 32, 1, "offline", response, 0.1, None))
    assert state.text == "Hello"  # streamed: the deltas stand
    state.update(ev.ModelRequestStarted("a" * 32, 2, "offline", stream=False))
    state.update(ev.ModelResponded("a" * 32, 2, "offline", response, 0.1, None))
    assert (state.step, state.text) == (2, "Hello there")  # not streamed: the response


def test_a_failing_display_never_fails_the_run(
    script: Callable[..., FunctionModel],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any) -> None:
        raise OSError("the terminal went away")

    monkeypatch.setattr(progress_mod._TextView, "show", broken)
    agent = Agent("sturdy", model=script("fine"), telemetry=False)

    with caplog.at_level(logging.WARNING, logger="agentnb.notebook"), progress(agent, mode="text"):
        result = agent.run_sync("hi")

    assert result.status == "ok"
    assert [r.getMessage() for r in caplog.records] == [
        "the progress display failed; it stops showing"
    ]


# -- the widget, without a front end -------------------------------------------------------------


class SlowStream(FunctionModel):
    """Streams its answer in pieces, slower than the widget refreshes."""

    def __init__(self, pieces: list[str], pause: float) -> None:
        super().__init__(lambda request: "".join(pieces), name="slow")
        self.pieces, self.pause = pieces, pause

    async def request_stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        for piece in self.pieces:
            await asyncio.sleep(self.pause)
            yield TextDelta(piece)
        yield await self.request(request)


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch) -> Any:
    """An IPython shell with no kernel: widgets get comms that go nowhere."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ipython = InteractiveShell.instance(config=config)
    monkeypatch.setenv("AGENTNB_TELEMETRY", "off")
    load_ipython_extension(ipython)
    try:
        yield ipython
    finally:
        unload_ipython_extension(ipython)
        ipython.reset(new_session=False)


def test_widget_mode_works_without_a_front_end(shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTNB_PROGRESS", "widget")
    shell.user_ns.update(lookup_order=lookup_order)
    shell.run_cell("%%agent support --model offline\ntools: [lookup_order]")

    with capture_output() as shown:
        executed = shell.run_cell('%ask support "Where is order 1042?"')

    assert executed.error_in_exec is None
    assert executed.result.status == "ok"
    assert lines(shown.stdout) == []  # a widget instead of text lines
    (view,) = shown.outputs
    assert sorted(view.data) == sorted([WIDGET_MIME, "text/plain"])
    assert view.data["text/plain"] == (
        "agentnb live progress (a widget: this front end does not show widgets)"
    )
    with capture_output():
        handle = Progress(mode="widget").start()
    handle.stop()
    assert isinstance(handle.widget, ProgressView)


def test_the_widget_shows_the_run(shell: Any) -> None:
    agent = Agent(
        "writer",
        model=SlowStream(["Hel", "lo, ", "world"], pause=0.35),
        telemetry=False,
    )
    seen: list[str] = []

    with capture_output():
        shown = Progress(mode="widget").start()
    assert shown.widget is not None
    shown.widget.observe(lambda change: seen.append(change["new"]), names="text")
    from agentnb._sync import run_sync

    result = run_sync(progress_mod._streamed(agent, "hi", shown, None, None))
    shown.stop()

    widget = shown.widget
    assert (widget.status, widget.step, widget.tool, widget.tool_calls) == ("ok", 1, None, 0)
    assert widget.text == result.output == "Hello, world"
    assert seen[0] in ("Hel", "Hello, ")  # text appeared while the model was still writing
    assert widget.elapsed >= 1.0
    assert widget.header.value == "<b>writer 0.1.0</b> · function:slow"
    assert widget.status_line.value.startswith('<span style="color:#15803d">●</span> ok · step 1')


def test_the_widget_falls_back_to_text_without_ipywidgets(
    shell: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTNB_PROGRESS", "widget")
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    agent = Agent("fallback", model="offline", telemetry=False)

    result = ask(agent, "hi")

    assert result.status == "ok"
    assert (
        lines(capsys.readouterr().out)[-1]
        == "[fallback T] done · ok · 1 step · 0 tool calls · 0.00 s"
    )


def test_progress_view_validates_its_state() -> None:
    view = ProgressView(agent="fx 1.0.0", model="offline")
    view.step, view.tool, view.tool_calls, view.elapsed = 3, "convert", 2, 1.25
    view.notes = ["guard pii · rewrite at tool result convert: redacted"]
    view.text = "<b>not markup</b>"

    assert view.header.value == "<b>fx 1.0.0</b> · offline"
    assert view.status_line.value == (
        '<span style="color:#6b7280">●</span> waiting · step 3 · tool: <code>convert</code> · '
        "2 tool calls · 1.2 s"
    )
    assert view.text_box.value == (
        '<pre style="white-space:pre-wrap;margin:2px 0">&lt;b&gt;not markup&lt;/b&gt;</pre>'
    )
    assert "redacted" in view.notes_box.value
    with pytest.raises(Exception, match="step cannot be negative"):
        view.step = -1
    with pytest.raises(Exception, match="'paused'"):
        view.status = "paused"


# -- real kernels --------------------------------------------------------------------------------

TOOLS = '''\
from agentnb import tool

@tool
def lookup_order(order_id: int) -> dict:
    """Look up an order by its number.

    Args:
        order_id: The order number.
    """
    return {"order_id": order_id, "status": "shipped"}
'''
AGENT = "%%agent support --model offline\ntools: [lookup_order]"
ASK = '%ask support "Where is order 1042?"'
FOLLOW = """\
from agentnb.notebook import progress
with progress(support):
    support.run_sync("Where is order 7?")"""
AFTER = 'print("the next cell")'


def executed(tmp_path: Path, *sources: str) -> Any:
    path = tmp_path / "progress.ipynb"
    cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    summary = execute_notebook(path, output=tmp_path / "out.ipynb", timeout=120)
    assert summary.ok, summary.describe()
    return nbformat.read(tmp_path / "out.ipynb", as_version=4)


def stream(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _duration(match: re.Match[str]) -> str:
    return "(N ms)" if match.group().endswith("ms)") else "N s"


@pytest.mark.slow
def test_headless_kernel_prints_lines_in_the_running_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTNB_TELEMETRY", "off")
    monkeypatch.delenv("AGENTNB_PROGRESS", raising=False)

    nb = executed(tmp_path, "%load_ext agentnb.notebook.magics", TOOLS, AGENT, ASK, FOLLOW, AFTER)

    ask_cell, follow_cell, after_cell = nb.cells[3:]
    shown_result = ask_cell.outputs[-1]["data"]["text/plain"]  # the RunResult, after the lines
    assert "support 0.1.0 · offline · ok · 2 steps · 1 tool call" in shown_result
    expected = [
        "[support T] step 1 · offline",
        '[support T] step 1 · lookup_order({"order_id": ORDER})',
        '[support T] step 1 · lookup_order → {"order_id":ORDER,"status":"shipped"} (N ms)',
        "[support T] step 2 · offline",
        "[support T] done · ok · 2 steps · 1 tool call · N s",
    ]
    for cell, order in ((ask_cell, "1042"), (follow_cell, "7")):
        shown = lines(stream(cell))
        assert re.fullmatch(r"\[support T\] started · offline · run [0-9a-f]{8}", shown[0])
        # Durations depend on the machine's load: the lines are compared without them.
        timeless = [re.sub(r"\(\d+ ms\)$|\d+\.\d\d s$", _duration, line) for line in shown[1:]]
        assert timeless == [line.replace("ORDER", order) for line in expected]
    assert stream(after_cell) == "the next cell\n"
    assert [o.output_type for o in ask_cell.outputs] == ["stream", "execute_result"]


@pytest.mark.slow
def test_headless_kernel_with_widgets_forced_keeps_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTNB_TELEMETRY", "off")
    monkeypatch.setenv("AGENTNB_PROGRESS", "widget")

    nb = executed(tmp_path, "%load_ext agentnb.notebook.magics", TOOLS, AGENT, ASK)

    shown = nb.cells[3].outputs
    assert [o.output_type for o in shown] == ["display_data", "execute_result"]
    assert WIDGET_MIME in shown[0]["data"]
    states = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    html_values = [s["state"].get("value", "") for s in states.values()]
    assert any("ok · step 2 · 1 tool call" in value for value in html_values)


@pytest.mark.slow
def test_live_notebook_gets_a_widget_tab_completion_and_lines_never_stray(tmp_path: Path) -> None:
    with live_kernel(env={"AGENTNB_HOME": str(tmp_path), "AGENTNB_TELEMETRY": "off"}) as kernel:
        assert kernel.run("%load_ext agentnb.notebook.magics").status == "ok"
        heavy = kernel.run(
            "import sys\n"
            "print([m for m in ('openai', 'anthropic', 'lancedb', 'nbformat') if m in sys.modules])"
        )
        assert heavy.stdout == "[]\n"
        assert kernel.run(TOOLS).status == "ok"
        assert kernel.run(AGENT).status == "ok"
        assert kernel.complete("%ask sup") == ["support"]
        assert kernel.complete("%%agent other\ntools: [look") == ["lookup_order"]

        asked = kernel.run(ASK)

        assert asked.status == "ok", asked.error
        assert asked.stdout == ""  # a widget, no text lines
        (widget_view,) = asked.of_type("display_data")
        assert WIDGET_MIME in widget_view["content"]["data"]
        html_values = [s.get("value", "") for s in asked.widgets().values()]
        assert any("ok · step 2 · 1 tool call" in value for value in html_values)
        assert any("lookup_order returned order_id = 1042" in value for value in html_values)
        (result,) = asked.results()
        assert "support 0.1.0 · offline · ok · 2 steps" in result["text/plain"]

        # A line written from another thread while a later cell runs goes to its own cell.
        started = kernel.run(
            textwrap.dedent(
                """\
                import threading
                from agentnb import events as ev
                from agentnb.notebook.progress import Progress
                shown = Progress(mode="text").start()
                go, done = threading.Event(), threading.Event()
                def later():
                    go.wait(20)
                    shown(ev.RunStarted("f" * 32, "late", "0.1.0", "offline", "p", "h"))
                    print("a plain print from the same thread")
                    done.set()
                threading.Thread(target=later, daemon=True).start()
                """
            )
        )
        later = kernel.run('go.set()\ndone.wait(60)\nprint("cell two")')

    assert later.stdout == "a plain print from the same thread\ncell two\n"  # the problem...
    (routed,) = [m for m in later.elsewhere if "[late" in m["content"].get("text", "")]
    assert routed["parent_header"]["msg_id"] == started.msg_id  # ...and what the route does
    assert routed["content"]["text"].endswith("] started · offline · run ffffffff\n")
