"""notebooks/03-telemetry.ipynb runs headlessly in a real kernel: runs, trace, stats, search."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from agentnb import telemetry
from agentnb.notebook.execute import execute_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03-telemetry.ipynb"


@pytest.mark.slow
def test_the_telemetry_notebook_runs_headlessly(
    tmp_path: Path,
) -> None:
    summary = execute_notebook(NOTEBOOK, output=tmp_path / "out.ipynb", timeout=120)
    assert summary.ok, summary.describe()

    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    nbformat.validate(executed)
    outputs = [o for cell in executed.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    kinds = {mime for o in outputs for mime in o.get("data", {})}
    assert {"text/html", "application/vnd.plotly.v1+json"} <= kinds
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "invoke_agent support" in text
    assert "execute_tool refund" in text
    figure = next(
        o.data["application/vnd.plotly.v1+json"]
        for o in outputs
        if "application/vnd.plotly.v1+json" in o.get("data", {})
    )
    assert {tuple(trace["x"]) for trace in json.loads(json.dumps(figure))["data"]} == {
        ("convert", "refund")
    }

    # the kernel wrote to this test's AGENTNB_HOME
    runs = telemetry.open().runs(last=None)
    assert sorted(runs["agent"].value_counts().items()) == [("fx", 3), ("support", 4)]
    assert set(runs["status"]) == {"ok", "error"}
