"""The trace HTML in a real browser: a notebook run headlessly, exported by nbconvert, opened
in Chromium. Screenshots are kept in tests/artifacts/ (git-ignored) for a human to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from agentnb.display.trace import TRACE_MIME
from agentnb.notebook.execute import execute_notebook
from tests.jupyter_server import BROWSER_ARGS, CHROMIUM

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run installs it)",
    ),
]

SETUP = '''\
from agentnb import Agent, FunctionModel, Verdict, guard, monitor, tool, tool_call


@tool
def convert(amount: float, currency: str = "EUR") -> dict:
    """Convert US dollars."""
    return {"amount_usd": amount, "currency": currency, "converted": round(amount * 0.76, 2)}


@tool
def search(query: str) -> str:
    """Search the wiki."""
    page = "".join(f"result {i}: a long line of text about {query}\\n" for i in range(60))
    return "<script>window.pwned = true</script>" + page


@tool
def delete_account(user: str) -> str:
    """Delete a user account."""
    return "deleted"


@guard("tool_call")
def no_deletes(call):
    if call.name == "delete_account":
        return Verdict.block("deleting accounts needs a human")
    return Verdict.allow()


@guard("final_output", on_fail="warn")
def cites_sources(text):
    return Verdict.warn("the answer cites no source")


@monitor
def big_results(event):
    if event.kind == "tool_call_finished" and len(event.result) > 1000:
        return f"{event.call.name} returned {len(event.result):,} characters"


turns = iter([
    tool_call("convert", amount=12.5, currency="GBP"),
    tool_call("search", query="GBP"),
    tool_call("delete_account", user="bob"),
    "12.5 USD is 9.5 GBP. I did not delete bob's account: that needs a human.",
])
agent = Agent(
    "fx",
    model=FunctionModel(lambda request: next(turns), name="scripted"),
    tools=[convert, search, delete_account],
    guards=[no_deletes, cites_sources],
    monitors=[big_results],
    telemetry=False,
)
result = agent.run_sync("Convert 12.5 USD to GBP, look GBP up, and delete bob.")
agent.drain_monitors()
'''


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("browser")
    cells = [nbformat.v4.new_code_cell(s) for s in (SETUP, "result", "result.plot()")]
    notebook = folder / "trace.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), notebook)
    summary = execute_notebook(notebook, output=folder / "out.ipynb", html=folder / "out.html")
    assert summary.ok, summary.describe()
    return folder / "out.ipynb", folder / "out.html"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_the_executed_notebook_holds_the_trace_and_the_html(exported: tuple[Path, Path]) -> None:
    executed = nbformat.read(exported[0], as_version=4)
    (output,) = executed.cells[1].outputs
    assert sorted(output["data"]) == [TRACE_MIME, "text/html", "text/plain"]
    payload = output["data"][TRACE_MIME]
    assert (payload["version"], payload["status"], payload["totals"]["blocked"]) == (1, "ok", 1)
    assert payload["totals"]["verdicts"] == {
        "pass": 2,
        "warn": 1,
        "block": 1,
        "rewrite": 0,
        "error": 0,
    }
    assert payload["totals"]["findings"] == 1


def test_the_trace_renders_in_chromium(exported: tuple[Path, Path], browser: object) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(exported[1].as_uri())
    trace = page.locator(".agentnb-trace")
    expect(trace).to_be_visible()

    # the answer, then each step, tool call and verdict as a row
    expect(trace.locator(".anb-answer")).to_contain_text("12.5 USD is 9.5 GBP.")
    rows = trace.locator("tr.anb-row")
    expect(rows).to_have_count(4 + 3 + 4)  # model calls, tool calls, verdicts
    expect(trace.locator("tr.anb-chat .anb-step")).to_have_text(
        ["Step 1", "Step 2", "Step 3", "Step 4"]
    )
    expect(trace.locator("tr.anb-execute_tool code")).to_have_text(
        ["convert", "search", "delete_account"]
    )
    expect(trace.locator("tr.anb-guard .anb-badge")).to_have_text(
        ["✓ pass", "✓ pass", "⊘ block", "⚠ warn"]
    )
    expect(trace.locator(".anb-head")).to_contain_text("4 steps · 3 tool calls")

    # a blocked action is unmistakable: an alert on top, and a tinted row with a badge
    expect(trace.locator(".anb-alert-block")).to_contain_text(
        "BLOCKED tool call delete_account (step 3) — guard no_deletes: deleting accounts needs a "
        "human"
    )
    blocked = trace.locator("tr.anb-execute_tool.anb-stop")
    expect(blocked.locator(".anb-badge")).to_have_text("⊘ BLOCKED")
    tint = blocked.locator("td").first.evaluate("td => getComputedStyle(td).backgroundColor")
    assert tint == "rgba(207, 34, 46, 0.09)"

    # the tool result's <script> is text, and its length sits behind "show more"
    assert page.evaluate("window.pwned") is None
    search = trace.locator("tr.anb-execute_tool").nth(1)
    expect(search).to_contain_text("<script>window.pwned = true</script>")
    more = search.locator("details.anb-more")
    expect(more.locator("pre")).to_be_hidden()
    more.locator("summary").click()
    expect(more.locator("pre")).to_contain_text("result 59: a long line of text about GBP")

    expect(trace.locator(".anb-findings")).to_contain_text("big_results search returned")
    expect(page.locator(".agentnb-timeline svg rect").first).to_be_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "trace-nbconvert.png"), full_page=True)
    page.close()


def test_dark_mode_screenshot(exported: tuple[Path, Path], browser: object) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    (output,) = nbformat.read(exported[0], as_version=4).cells[1].outputs
    standalone = exported[1].with_name("dark.html")
    standalone.write_text(
        '<!doctype html><meta charset="utf-8">'
        '<body style="background:#111418;color:#e6edf3;margin:16px">'
        f"{output['data']['text/html']}</body>",
        encoding="utf-8",
    )
    page = browser.new_page(viewport={"width": 1100, "height": 900}, color_scheme="dark")
    page.goto(standalone.as_uri())
    muted = page.locator(".agentnb-trace .anb-label").first
    expect(muted).to_have_css("color", "rgb(145, 152, 161)")  # the dark fallback of --anb-muted
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "trace-dark.png"), full_page=True)
    page.close()
