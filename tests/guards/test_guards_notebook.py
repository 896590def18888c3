"""notebooks/02-guards-and-monitors.ipynb runs headlessly and shows what each guard did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

from agentnb.notebook.execute import execute_notebook

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "02-guards-and-monitors.ipynb"


def _shown(notebook: Any, first_line: str) -> str:
    """Everything the cell starting with `first_line` displayed, as text."""
    (cell,) = [c for c in notebook.cells if c.source.startswith(first_line)]
    return "".join(
        out.get("text", "") + out.get("data", {}).get("text/plain", "") for out in cell.outputs
    )


@pytest.mark.slow
def test_guards_notebook_shows_every_guard_acting(tmp_path: Path) -> None:
    committed = nbformat.read(NOTEBOOK, as_version=4)
    assert all(c.get("outputs", []) == [] for c in committed.cells), (
        "commit it with outputs cleared"
    )

    summary = execute_notebook(NOTEBOOK, output=tmp_path / "out.ipynb", html=tmp_path / "out.html")
    assert summary.failure is None, summary.describe()
    run = nbformat.read(tmp_path / "out.ipynb", as_version=4)

    verdicts = _shown(run, "for v in result.verdicts:").splitlines()
    assert [line.split()[:4] for line in verdicts[:-1]] == [
        ["input", "pii", "rewrite", "rewrite"],
        ["model_output", "budget", "pass", "continue"],
        ["tool_call", "no_refunds_over_100", "block", "skip"],
        ["model_output", "budget", "pass", "continue"],
        ["final_output", "pii", "pass", "continue"],
    ]
    assert verdicts[-1] == "refunds executed: []"  # the blocked refund never ran
    assert "[blocked] → blocked by guard no_refunds_over_100" in _shown(
        run, '@guard("tool_call")\n'
    )
    assert _shown(run, "small = ").startswith("ok | refunds executed: [40.0]")
    assert _shown(run, "strict = ").strip() == (
        "blocked -> I can't do that: blocked by guard blocklist: contains blocked term 'password'."
    )
    assert _shown(run, '@guard("tool_call", on_fail="raise")').splitlines() == [
        "GuardBlocked: guard 'never_refund' blocked the tool call: refunds are disabled today",
        "status: blocked | refunds executed: [40.0]",
    ]
    polite = _shown(run, "def polite_model").splitlines()
    assert polite[0] == "Order 1042 has shipped. Have a nice day!"
    assert "blocked by guard be_polite: do not tell customers to go away" in polite[3]
    assert _shown(run, "@tool\ndef search_docs").strip() == (
        "blocked -> blocked by guard injection: possible prompt injection: "
        "'IGNORE ALL PREVIOUS INSTRUCTIONS'"
    )
    findings = _shown(run, "@monitor")
    assert "warning  large_refunds  refund requested:" in findings
    assert "warning  tool_errors    tool_errors 50% over the last 2 calls" in findings
    layers = _shown(run, "from agentnb.errors import").splitlines()
    assert layers[0] == "All good after waiting. | attempts: 3"
    assert [line.split()[:3] for line in layers[1:]] == [
        ["retry", "attempt", "1:"],
        ["retry", "attempt", "2:"],
    ]
    assert "(Retry-After)" in layers[1]
    fallback = _shown(run, "def down_provider").splitlines()
    assert fallback[0].startswith("answered by: offline -> ")
    assert fallback[1] == "{'function:down': 'open'}"
    assert "no_refunds_over_100" in (tmp_path / "out.html").read_text()
