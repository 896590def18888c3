"""JupyterLab in a real browser: the quickstart's runs as interactive traces, the Agent runs
sidebar, a run's trace opened from it, in the light and the dark theme.

Starts `jupyter lab` on 127.0.0.1 with a token and drives Debian's Chromium with Playwright
(never a downloaded browser). Screenshots go to tests/artifacts/lab/ (git-ignored).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.jupyter_server import BROWSER_ARGS, CHROMIUM, JupyterServer

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "notebooks" / "01-quickstart.ipynb"
ARTIFACTS = ROOT / "tests" / "artifacts" / "lab"
LABEXTENSION = ROOT / "agentnb" / "labextension" / "package.json"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run installs it)",
    ),
]

# Cells of the quickstart whose runs the test reads (found by their code, so cells added
# elsewhere in the notebook do not matter), and the spans each run's trace has.
FIRST_RUN = 'result = agent.run_sync("How much is 12.5 dollars in GBP?")'
GUARDED_RUN = 'big = guarded.run_sync("How much is 5000 dollars in EUR?")'
RAN = """code => {
    // The cell holding `code` has run, and no cell is queued or running any more.
    const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
    const prompt = cell => cell.querySelector('.jp-InputPrompt')?.textContent || '';
    const source = cell => cell.querySelector('.jp-InputArea')?.textContent || '';
    const mine = cells.find(c => source(c).includes(code));
    return !!mine && /\\[\\d+\\]/.test(prompt(mine)) && !cells.some(c => prompt(c).includes('*'));
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    assert LABEXTENSION.exists(), "the lab extension is not built: pip install -e '.[test]'"
    base = tmp_path_factory.mktemp("lab")
    server = JupyterServer(base)
    (server.root / "notebooks").mkdir(parents=True)
    shutil.copy(QUICKSTART, server.root / "notebooks" / QUICKSTART.name)
    with server:
        yield server


@pytest.fixture(scope="module")
def page(lab: JupyterServer) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def test_quickstart_traces_and_the_runs_sidebar(lab: JupyterServer, page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(lab.url("lab/tree/notebooks/01-quickstart.ipynb", reset=""))
    expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
    kernel_idle(page)

    # Run all cells; each displayed run becomes an interactive trace.
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function(RAN, arg=GUARDED_RUN, timeout=120_000)
    kernel_idle(page)
    assert page.locator(".jp-OutputArea-output .anl-trace").count() >= 4
    first = trace_of(page, FIRST_RUN)
    guarded = trace_of(page, GUARDED_RUN)
    expect(first).to_have_attribute("data-span-count", "4")
    expect(guarded).to_have_attribute("data-span-count", "5")
    rows = first.locator(".anl-row[data-span-id]")
    assert [r.get_attribute("data-kind") for r in rows.all()] == [
        "invoke_agent", "chat", "execute_tool", "chat"
    ]  # fmt: skip
    expect(guarded.locator(".anl-row[data-span-id]")).to_have_count(5)
    expect(first.locator('.anl-badge[data-role="tokens"]').first).to_be_visible()

    # A blocked verdict: the guard's badge, the blocked tool call, the alert above the tree.
    verdict = guarded.locator('.anl-row[data-kind="guard"] .anl-badge[data-role="verdict"]')
    expect(verdict).to_have_text("⊘ block")
    expect(verdict).to_be_visible()
    expect(guarded.locator('.anl-row[data-kind="execute_tool"]')).to_have_attribute(
        "data-status", "blocked"
    )
    expect(guarded.locator(".anl-alert")).to_contain_text(
        "at_most_1000 blocked tool call convert: 5000 dollars is over the 1,000 limit"
    )

    # Expanding a span shows the tool's arguments and result.
    first.locator('.anl-row[data-kind="execute_tool"]').click()
    arguments = first.locator('.anl-details [data-role="arguments"] pre')
    expect(arguments).to_be_visible()
    assert json.loads(arguments.inner_text()) == {"amount": 12.5, "currency": "GBP"}
    expect(first.locator('.anl-details [data-role="result"] pre')).to_contain_text(
        '"converted": 9.5'
    )

    # Collapse the root, then filter to blocked spans.
    guarded.locator('.anl-row[data-kind="invoke_agent"] .anl-caret').click()
    expect(guarded.locator(".anl-row[data-span-id]")).to_have_count(1)
    guarded.locator('[data-action="expand-all"]').click()
    guarded.locator('[data-filter="blocked"]').click()
    expect(guarded.locator(".anl-row[data-span-id]:not(.anl-context)")).to_have_count(2)
    guarded.locator('[data-filter="all"]').click()
    guarded.locator('.anl-row[data-kind="guard"]').click()
    expect(guarded.locator('.anl-details [data-role="reason"]')).to_contain_text("1,000 limit")
    guarded.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "trace-light.png"))
    guarded.screenshot(path=str(ARTIFACTS / "trace-blocked-light.png"))

    # The sidebar lists the runs the kernel recorded and opens one's trace in the main area.
    run_id = guarded.get_attribute("data-run-id")
    page.locator('.jp-SideBar [data-id="agentnb-runs"]').click()
    panel = page.locator("#agentnb-runs")
    expect(panel).to_be_visible()
    for shown in (first, guarded):  # every recorded run is listed (streamed ones too)
        listed = panel.locator(f'li.anl-run[data-run-id="{shown.get_attribute("data-run-id")}"]')
        expect(listed).to_be_visible(timeout=20_000)
    assert panel.locator("li.anl-run").count() >= 5  # result, in_euros, streamed, weather, big
    run = panel.locator(f'li.anl-run[data-run-id="{run_id}"]')
    expect(run).to_contain_text("fx")
    expect(run).to_contain_text("v0.2.0")
    run.click()
    tab = page.locator(f"#agentnb-trace-{run_id}")
    expect(tab).to_be_visible()
    opened = tab.locator(".anl-trace")
    expect(opened).to_have_attribute("data-run-id", str(run_id))
    expect(opened.locator(".anl-row[data-span-id]")).to_have_count(5)
    expect(
        opened.locator('.anl-row[data-kind="guard"] .anl-badge[data-role="verdict"]')
    ).to_have_text("⊘ block")
    opened.locator('.anl-row[data-kind="execute_tool"]').click()
    expect(opened.locator('.anl-details [data-role="arguments"]')).to_contain_text('"amount": 5000')
    expect(run).to_have_class(re.compile("anl-active"))
    page.screenshot(path=str(ARTIFACTS / "sidebar-light.png"))

    # Filters narrow the list; a new run shows up without a click on refresh.
    panel.locator('select[data-filter="version"]').select_option("0.2.0")
    expect(panel.locator("li.anl-run")).to_have_count(1)
    tab_of(page, QUICKSTART.name).click()
    cell = page.locator(".jp-CodeCell").filter(
        has=page.locator(".jp-InputArea", has_text=GUARDED_RUN)
    )
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+Enter")
    expect(guarded).not_to_have_attribute("data-run-id", str(run_id), timeout=30_000)
    expect(panel.locator("li.anl-run")).to_have_count(2, timeout=15_000)
    expect(panel.locator("li.anl-run").first).to_have_attribute(
        "data-run-id", str(guarded.get_attribute("data-run-id"))
    )
    panel.locator('select[data-filter="version"]').select_option("")

    # The dark theme: same views, JupyterLab's dark colours.
    page.get_by_role("menuitem", name="Settings", exact=True).click()
    menu_item(page, "Theme").click()  # a submenu: no menuitem role
    menu_item(page, "JupyterLab Dark").click()
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
    page.wait_for_timeout(500)  # the theme's stylesheet swaps in
    page.screenshot(path=str(ARTIFACTS / "trace-dark.png"))
    tab_of(page, f"fx 0.2.0 · {str(run_id)[:8]}").click()
    page.screenshot(path=str(ARTIFACTS / "sidebar-dark.png"))


def trace_of(page: object, code: str) -> Any:
    """The trace shown under the code cell whose source contains `code`."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    cell = page.locator(".jp-CodeCell").filter(has=page.locator(".jp-InputArea", has_text=code))
    return cell.locator(".jp-OutputArea-output .anl-trace")


def tab_of(page: object, title: str) -> Any:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    return page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=title)


def menu_item(page: object, label: str) -> object:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    return page.locator(".lm-Menu-item").filter(
        has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(label)}$"))
    )


def kernel_idle(page: object, timeout: float = 60_000) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    expect(page.locator(".jp-StatusBar-Widget").filter(has_text="Idle").first).to_be_visible(
        timeout=timeout
    )
