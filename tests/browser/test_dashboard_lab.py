"""JupyterLab in a real browser: `agentnb.dashboard()` is a widget whose pickers re-filter the
plotly charts drawn inside it.

The live counterpart of `tests/notebook/test_dashboard.py` (which checks the numbers and the
headless display): here the widget renders, the charts render through JupyterLab's plotly
renderer, and choosing an agent in the dropdown reaches the kernel and redraws them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.jupyter_server import (
    BROWSER_ARGS,
    CHROMIUM,
    JupyterServer,
    run_all_cells,
    serve_notebook,
)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "lab"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run installs it)",
    ),
]

CELLS = [
    """\
from agentnb import Agent, FunctionModel, tool, tool_call

@tool
def refund(order: str) -> str:
    \"\"\"Refund an order.\"\"\"
    if order == "A-bad":
        raise ConnectionError("payment service unavailable")
    return f"refunded {order}"

def shop_model(request):
    if not any(m.role == "tool" for m in request.messages):
        return tool_call("refund", order=request.messages[0].content.split()[-1])
    return "done"

shop = Agent("shop", model=FunctionModel(shop_model), tools=[refund], version="1.0.0")
for prompt in ["refund A-1", "refund A-bad", "refund A-2"]:
    shop.run_sync(prompt)
Agent("fx", model="offline", version="2.0.0").run_sync("hello")""",
    "import agentnb\n\nboard = agentnb.dashboard()\nboard",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    base = tmp_path_factory.mktemp("dashboard")
    yield from serve_notebook(base, "dashboard.ipynb", CELLS, {"AGENTNB_PROGRESS": "off"})


def test_the_dashboard_widget_refilters_its_charts(lab: JupyterServer) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1300})
            run_all_cells(page, lab, "dashboard.ipynb")

            summary = page.locator(".widget-html", has_text="last 24h")
            expect(summary).to_contain_text("all agents · last 24h: 4 runs", timeout=60_000)
            charts = page.locator(".jp-OutputArea-output .js-plotly-plot")
            expect(charts).to_have_count(5)
            expect(page.locator(".gtitle", has_text="Top failing tools")).to_be_visible()
            widget = page.locator(".jp-OutputArea-output", has=summary)
            widget.screenshot(path=str(ARTIFACTS / "dashboard-all.png"))

            page.locator(".widget-dropdown", has_text="agent").locator("select").select_option(
                "shop"
            )
            expect(summary).to_contain_text("shop · all versions · last 24h: 3 runs")
            expect(page.locator(".xtick", has_text="fx 2.0.0")).to_have_count(0)
            expect(charts).to_have_count(5)
            widget.screenshot(path=str(ARTIFACTS / "dashboard-shop.png"))
        finally:
            browser.close()
