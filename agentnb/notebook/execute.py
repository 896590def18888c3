"""Execute a notebook headlessly in a real kernel: the engine behind `agentnb run`.

```python
from agentnb.notebook.execute import execute_notebook

summary = execute_notebook("notebooks/01-quickstart.ipynb", html="out/quickstart.html")
assert summary.ok, summary.describe()
```

nbclient, nbformat and nbconvert take 1.5 s or more to import, so they are imported inside
the functions that need them: importing this module stays cheap.
"""

from __future__ import annotations

import ast
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agentnb.display.trace import TRACE_MIME
from agentnb.errors import MissingDependency, UserError

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = [
    "TRACE_MIME",
    "CellReport",
    "NotebookSummary",
    "count_agent_runs",
    "execute_notebook",
    "parse_parameter",
]

KERNEL_NAME = "python3"
"""With ipykernel installed, jupyter_client resolves `python3` to the running interpreter."""

# The first line of `RunResult.summary()`: "fx 0.1.0 · offline · ok · 2 steps · 1 tool call · …".
_RUN_SUMMARY = re.compile(
    r"^\S+ \S+ · .+ · (?:ok|error|cancelled|blocked) · \d+ steps? · \d+ tool calls? · "
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_log = logging.getLogger("agentnb.notebook")


@dataclass(frozen=True, slots=True)
class CellReport:
    """How one code cell went; `number` counts executed code cells from 1, like `In [n]`."""

    number: int
    total: int
    index: int
    """Position of the cell in the executed notebook's `cells` (0-based, markdown included)."""
    status: Literal["ok", "error", "timeout"]
    duration: float
    error_name: str | None = None
    error_value: str | None = None
    source: str = ""

    def line(self) -> str:
        """One progress line: `[3/7] cell 3 ok (0.12 s)`."""
        head = f"[{self.number}/{self.total}] cell {self.number}"
        if self.status == "ok":
            return f"{head} ok ({self.duration:.2f} s)"
        if self.status == "timeout":
            return f"{head} timed out after {self.duration:.2f} s"
        return f"{head} failed ({self.duration:.2f} s): {self.error_name}: {self.error_value}"


@dataclass(frozen=True, slots=True)
class NotebookSummary:
    """The result of `execute_notebook`: what ran, where the copies are, what failed."""

    notebook: Path
    output: Path | None
    html: Path | None
    cells: int
    """Code cells that ran (the failing one included)."""
    total_cells: int
    """Code cells in the notebook (parameters cell included)."""
    agent_runs: int
    duration: float
    failure: CellReport | None = None
    reports: list[CellReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure is None

    def describe(self) -> str:
        """A short human summary, the failing cell first when there is one."""
        runs = f"{self.agent_runs} agent run{'s' * (self.agent_runs != 1)}"
        totals = f"{self.cells}/{self.total_cells} cells · {runs} · {self.duration:.1f} s"
        if self.failure is None:
            return f"ok: {self.notebook} · {totals}"
        failure = self.failure
        if failure.status == "timeout":
            what = f"timed out after {failure.duration:.1f} s"
        else:
            what = f"raised {failure.error_name}: {failure.error_value}"
        first_line = failure.source.strip().splitlines()[0] if failure.source.strip() else ""
        return (
            f"FAILED: {self.notebook} · cell {failure.number} {what}\n"
            f"  cell {failure.number} starts with: {first_line}\n"
            f"  {totals}"
        )


def parse_parameter(text: str) -> tuple[str, Any]:
    """`"n=3"` → `("n", 3)`; values are Python literals when they parse, else strings.

    >>> parse_parameter("model=openai:gpt-4.1-mini")
    ('model', 'openai:gpt-4.1-mini')
    """
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not _IDENTIFIER.match(name):
        raise UserError(
            f"Parameter {text!r} is not of the form name=value with a Python identifier as "
            "name, e.g. -p n_questions=3 or -p model=openai:gpt-4.1-mini"
        )
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = raw
    return name, value


def count_agent_runs(notebook: NotebookNode) -> int:
    """Agent runs shown in the notebook's outputs.

    A `RunResult` display carries the trace MIME type (counted once per run id); outputs
    without it count when their text is a `RunResult` summary.
    """
    run_ids: set[str] = set()
    anonymous = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") not in ("execute_result", "display_data"):
                continue
            data: Mapping[str, Any] = output.get("data", {})
            if TRACE_MIME in data:
                payload = data[TRACE_MIME]
                if isinstance(payload, str):
                    payload = json.loads(payload)
                run_id = payload.get("run_id") if isinstance(payload, dict) else None
                if isinstance(run_id, str):
                    run_ids.add(run_id)
                else:
                    anonymous += 1
                continue
            text = data.get("text/plain", "")
            if isinstance(text, list):
                text = "".join(text)
            if isinstance(text, str) and _RUN_SUMMARY.match(text):
                anonymous += 1
    return len(run_ids) + anonymous


def _parameters_cell(parameters: Mapping[str, Any]) -> Any:
    import nbformat

    lines = ["# Parameters injected by `agentnb run -p`"]
    lines += [f"{name} = {value!r}" for name, value in parameters.items()]
    source, metadata = "\n".join(lines), {"tags": ["injected-parameters"]}
    return nbformat.v4.new_code_cell(source, metadata=metadata)  # type: ignore[no-untyped-call]


def _inject(notebook: NotebookNode, parameters: Mapping[str, Any]) -> None:
    """Insert the parameters after a cell tagged `parameters` (papermill's convention, so
    they override its defaults), else as the first code cell."""
    cell = _parameters_cell(parameters)
    tagged = [i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", [])]
    notebook.cells.insert(tagged[0] + 1 if tagged else 0, cell)


def _runnable(cell: Any) -> bool:
    skipped = "skip-execution" in cell.metadata.get("tags", [])  # nbclient's skip tag
    return bool(cell.cell_type == "code" and cell.source.strip() and not skipped)


class _Progress:
    """Turns nbclient's cell hooks into `CellReport`s, timing each cell."""

    def __init__(self, total: int, on_cell: Callable[[CellReport], None] | None) -> None:
        self.total = total
        self.on_cell = on_cell
        self.reports: list[CellReport] = []
        self.began = time.perf_counter()
        self._cell: Any = None
        self._index = -1
        self._start = self.began

    def started(self, cell: Any, cell_index: int) -> None:
        self._cell, self._index, self._start = cell, cell_index, time.perf_counter()

    def executed(self, cell: Any, cell_index: int, execute_reply: dict[str, Any] | None) -> None:
        content = (execute_reply or {}).get("content", {})
        expected = "raises-exception" in cell.metadata.get("tags", [])  # nbclient lets it pass
        if content.get("status") == "error" and not expected:
            self._report("error", content.get("ename"), content.get("evalue"))
        else:
            self._report("ok")

    def interrupted(
        self, status: Literal["error", "timeout"], name: str | None = None, value: str | None = None
    ) -> CellReport:
        """The cell that was running when execution stopped without a reply (or its report)."""
        last = self.reports[-1] if self.reports else None
        if last is not None and last.index == self._index and last.status != "ok":
            return last
        return self._report(status, name, value)

    def _report(
        self,
        status: Literal["ok", "error", "timeout"],
        name: str | None = None,
        value: str | None = None,
    ) -> CellReport:
        report = CellReport(
            number=len(self.reports) + 1,
            total=self.total,
            index=self._index,
            status=status,
            duration=time.perf_counter() - self._start,
            error_name=name,
            error_value=value,
            source=self._cell.source if self._cell is not None else "",
        )
        self.reports.append(report)
        if self.on_cell is not None:
            self.on_cell(report)
        return report


def execute_notebook(
    path: str | Path,
    *,
    parameters: Mapping[str, Any] | None = None,
    output: str | Path | None = None,
    html: str | Path | None = None,
    timeout: float | None = 600,
    startup_timeout: float = 60,
    on_cell: Callable[[CellReport], None] | None = None,
) -> NotebookSummary:
    """Run every code cell of `path` in a fresh `python3` kernel of this interpreter.

    The kernel's working directory is the notebook's folder. `parameters` become a code cell
    (`name = value`). `timeout` limits each cell, in seconds (None: no limit). The executed
    notebook is written to `output` and rendered to `html` when given, even when a cell
    failed, so the failure can be read in context. `on_cell` receives a report per code cell.

    A failing or timed-out cell stops the run; it is returned as `summary.failure` (this
    function raises only for problems outside the notebook's code: a missing file, a kernel
    that cannot start).
    """
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    except ImportError as exc:  # pragma: no cover - the notebook extra is not installed
        raise MissingDependency(exc.name or "nbclient", "notebook", "Executing notebooks") from None

    source = Path(path)
    if not source.is_file():
        raise UserError(f"Notebook {str(source)!r} does not exist (looked in {Path.cwd()})")
    notebook = nbformat.read(source, as_version=4)  # type: ignore[no-untyped-call]
    if parameters:
        _inject(notebook, parameters)

    progress = _Progress(sum(_runnable(c) for c in notebook.cells), on_cell)
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        # Every start logs a warning that loopback TCP is unencrypted: noise in a headless run.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        timeout_func=lambda cell: timeout,
        startup_timeout=math.ceil(startup_timeout),
        resources={"metadata": {"path": str(source.parent.resolve())}},
        store_widget_state=True,
        coalesce_streams=True,  # else each print() is its own block in the HTML copy
        on_cell_execute=progress.started,
        on_cell_executed=progress.executed,
        log=_log,
    )
    failure: CellReport | None = None
    try:
        client.execute()
    except CellExecutionError as exc:
        failure = progress.interrupted("error", exc.ename, exc.evalue)
    except CellTimeoutError:
        failure = progress.interrupted("timeout")
    except DeadKernelError:
        failure = progress.interrupted("error", "DeadKernelError", "the kernel died in this cell")
    duration = time.perf_counter() - progress.began

    if output is not None:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, Path(output))  # type: ignore[no-untyped-call]
    if html is not None:
        Path(html).parent.mkdir(parents=True, exist_ok=True)
        Path(html).write_text(_to_html(notebook), encoding="utf-8")

    return NotebookSummary(
        notebook=source,
        output=Path(output) if output is not None else None,
        html=Path(html) if html is not None else None,
        cells=len(progress.reports),
        total_cells=progress.total,
        agent_runs=count_agent_runs(notebook),
        duration=duration,
        failure=failure,
        reports=progress.reports,
    )


def _to_html(notebook: NotebookNode) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(notebook)  # type: ignore[no-untyped-call]
    return str(body)
