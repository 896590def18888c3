"""JupyterLab in a real browser: `%ask` shows a live progress widget, and a person approves a
tool call with the widget's button while the cell is still running the agent (`run_sync`).

This is the end-to-end check of the live path: JupyterLab's cells carry a cell id (so agentnb
picks the widget display and installs the widget approver), the widgets render, and the click
reaches a kernel whose main thread is blocked (through agentnb's subshell).
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
    "%load_ext agentnb.notebook.magics",
    '''\
from agentnb import tool

@tool
def refund(order_id: int, amount: float) -> str:
    """Refund an amount for an order.

    Args:
        order_id: The order number.
        amount: How much to refund.
    """
    return f"refunded {amount} for order {order_id}"''',
    """\
%%agent support --model offline
tools: [refund]
guards:
  - name: approval
    params: {tools: [refund]}""",
    '%ask support "Refund order 1042 by 40 dollars"',
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    base = tmp_path_factory.mktemp("live-widgets")
    yield from serve_notebook(base, "approve.ipynb", CELLS, {"AGENTNB_TELEMETRY": "off"})


def test_a_person_approves_a_call_while_the_run_waits(lab: JupyterServer) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            run_all_cells(page, lab, "approve.ipynb")

            # The run waits at the approval: progress shows the tool, the cell is still running.
            approve = page.locator(".widget-button", has_text="Approve")
            expect(approve).to_be_visible(timeout=60_000)
            expect(page.get_by_text("running · step 1 · tool: refund")).to_be_visible()
            expect(page.locator(".jp-InputPrompt", has_text="[*]").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "approval-waiting.png"))

            approve.click()

            answer = page.locator(".jp-OutputArea-output", has_text="refunded 40.0 for order 1042")
            expect(answer.first).to_be_visible()
            expect(page.get_by_text("✔ approved")).to_be_visible()
            expect(page.get_by_text("ok · step 2 · 1 tool call")).to_be_visible()
            expect(approve).to_be_disabled()
            page.screenshot(path=str(ARTIFACTS / "approval-approved.png"))
        finally:
            browser.close()
