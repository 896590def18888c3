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
import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import TYPE_CHECKING, Any, Literal

from agentnb.agents.ledger import FinishedRun
from agentnb.display.trace import TRACE_MIME
from agentnb.errors import MissingDependency, UserError

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = [
    "TRACE_MIME",
    "CellReport",
    "NotebookSummary",
    "execute_notebook",
    "parse_parameter",
]

KERNEL_NAME = "python3"
"""With ipykernel installed, jupyter_client resolves `python3` to the running interpreter."""

SHUTDOWN_TIMEOUT = 120.0
"""Seconds a kernel gets to exit after the shutdown request: a hang guard, not a budget. Its
exit hooks write pending telemetry, which takes longer on a busy machine."""

QUERY_TIMEOUT = 60.0
"""Seconds the kernel gets to say which runs it finished (a hang guard)."""

_LEDGER_QUERY = {
    "runs": "__import__('json').dumps([[r.run_id, r.agent, r.status, list(r.guard_errors)] for r "
    "in __import__('sys').modules['agentnb.agents.ledger'].finished_runs()] "
    "if 'agentnb.agents.ledger' in __import__('sys').modules else [])"
}
"""Evaluated in the kernel after the last cell; imports nothing agentnb did not load already."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_log = logging.getLogger("agentnb.notebook")
# nbclient logs a timeout or a dead kernel itself, before we report it in one clean line: keep
# its messages out of a terminal that has no logging configured (a configured root still gets
# them).
_nbclient_log = logging.getLogger("agentnb.notebook.nbclient")
_nbclient_log.addHandler(logging.NullHandler())


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

    def first_line(self) -> str:
        """The first non-empty line of the cell's source."""
        return next((line for line in self.source.splitlines() if line.strip()), "")

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
    runs: list[FinishedRun]
    """The agent runs the kernel finished, in order (from `agentnb.agents.ledger`)."""
    duration: float
    failure: CellReport | None = None
    reports: list[CellReport] = field(default_factory=list)
    timeout: float | None = None
    """The limit on one cell, in seconds (None: none)."""

    @property
    def ok(self) -> bool:
        """Every cell ran (guard errors aside: see `guard_errors`)."""
        return self.failure is None

    @property
    def agent_runs(self) -> int:
        """How many agent runs the kernel finished."""
        return len(self.runs)

    @property
    def guard_errors(self) -> dict[str, list[FinishedRun]]:
        """Each guard that raised during a run → the runs it raised in, in order."""
        raised: dict[str, list[FinishedRun]] = {}
        for run in self.runs:
            for name in dict.fromkeys(run.guard_errors):  # a guard may raise twice in one run
                raised.setdefault(name, []).append(run)
        return raised

    def describe(self) -> str:
        """A short human summary, the failing cell first when there is one."""
        runs = f"{self.agent_runs} agent run{'s' * (self.agent_runs != 1)}"
        totals = f"{self.cells}/{self.total_cells} cells · {runs} · {self.duration:.1f} s"
        if self.failure is None:
            return f"ok: {self.notebook} · {totals}"
        failure = self.failure
        if failure.status == "timeout":
            limit = f"{self.timeout:g} s" if self.timeout else f"{failure.duration:.1f} s"
            return (
                f"FAILED: {self.notebook} · cell {failure.number} timed out after {limit} "
                f"(--timeout): {failure.first_line()}\n  {totals}"
            )
        return (
            f"FAILED: {self.notebook} · cell {failure.number} raised "
            f"{failure.error_name}: {failure.error_value}\n"
            f"  cell {failure.number} starts with: {failure.first_line()}\n"
            f"  {totals}"
        )

    def describe_guard_errors(self) -> str | None:
        """One line per guard that raised (None when none did): the guard, the runs, the fix."""
        if not self.guard_errors:
            return None
        lines = []
        for name, runs in self.guard_errors.items():
            agents = ", ".join(dict.fromkeys(run.agent for run in runs))
            count = f"{len(runs)} run{'s' * (len(runs) != 1)}"
            lines.append(
                f"guard {name!r} raised an exception in {count} of {agents} (first: run "
                f"{runs[0].run_id}); the call it checked was blocked"
            )
        lines.append(
            "fix the guard (its traceback is in the run's trace: agentnb trace RUN_ID), "
            "or pass --allow-guard-errors to accept"
        )
        return "\n".join(lines)


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


def _parameters_cell(parameters: Mapping[str, Any]) -> Any:
    import nbformat

    lines = ["# Parameters injected by `agentnb run -p`"]
    lines += [f"{name} = {value!r}" for name, value in parameters.items()]
    source, metadata = "\n".join(lines), {"tags": ["injected-parameters"]}
    return nbformat.v4.new_code_cell(source, metadata=metadata)  # type: ignore[no-untyped-call]


def _assigned_names(source: str) -> set[str]:
    """Names a cell binds at its top level (`n = 1`, `n: int = 1`, `a, b = …`, `n += 1`)."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:  # magics (`%load_ext`, `%%agent`) become Python first
        tree = ast.parse(TransformerManager().transform_cell(source))  # type: ignore[no-untyped-call]
    except SyntaxError:
        return set()
    names: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, ast.AugAssign | ast.AnnAssign) and statement.value is not None:
            targets = [statement.target]
        else:
            continue
        for target in targets:
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _inject(notebook: NotebookNode, parameters: Mapping[str, Any]) -> str | None:
    """Insert the parameters where they override the notebook's own values; say where when no
    cell is tagged `parameters`.

    After the cell tagged `parameters` (papermill's convention) if there is one; else after the
    first code cell that assigns one of the names at its top level; else before everything.
    """
    cell = _parameters_cell(parameters)
    tagged = [i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", [])]
    if tagged:
        notebook.cells.insert(tagged[0] + 1, cell)
        return None
    number = 0
    for index, candidate in enumerate(notebook.cells):
        if not _runnable(candidate):
            continue
        number += 1
        assigned = sorted(_assigned_names(candidate.source) & set(parameters))
        if assigned:
            notebook.cells.insert(index + 1, cell)
            return (
                f"no cell tagged 'parameters'; injected after cell {number}, which assigns "
                f"{', '.join(assigned)}"
            )
    notebook.cells.insert(0, cell)
    names = ", ".join(parameters)
    return f"no cell tagged 'parameters' and no cell assigns {names}; injected before cell 1"


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
    shutdown_timeout: float = SHUTDOWN_TIMEOUT,
    on_cell: Callable[[CellReport], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> NotebookSummary:
    """Run every code cell of `path` in a fresh `python3` kernel of this interpreter.

    The kernel's working directory is the notebook's folder. `parameters` become a code cell
    (`name = value`) after the cell tagged `parameters`, else after the first cell that assigns
    one of them; `on_notice` (default: a logged warning) hears where when no cell is tagged.
    `timeout` limits each cell, in seconds (None: no limit). The executed notebook is written
    to `output` and rendered to `html` when given, even when a cell failed, so the failure can
    be read in context. `on_cell` receives a report per code cell.

    After the last cell the kernel is asked which agent runs it finished (`summary.runs`),
    then shut down the way JupyterLab does it, and given `shutdown_timeout` seconds to exit:
    its exit hooks write pending telemetry, so a run that returned is stored when this returns.

    A failing or timed-out cell stops the run; it is returned as `summary.failure` (this
    function raises only for problems outside the notebook's code: a missing file, a kernel
    that cannot start).
    """
    try:
        import nbformat
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync
        from nbclient import NotebookClient
    except ImportError as exc:  # pragma: no cover - the notebook extra is not installed
        raise MissingDependency(exc.name or "nbclient", "notebook", "Executing notebooks") from None

    source = Path(path)
    if not source.is_file():
        raise UserError(f"Notebook {str(source)!r} does not exist (looked in {Path.cwd()})")
    notebook = nbformat.read(source, as_version=4)  # type: ignore[no-untyped-call]
    notice = _inject(notebook, parameters) if parameters else None
    if notice is not None:
        (on_notice or _log.warning)(notice)

    progress = _Progress(sum(_runnable(c) for c in notebook.cells), on_cell)
    client = NotebookClient(
        notebook,
        # Our own manager: nbclient leaves a kernel it does not own running after the last
        # cell, so that we can ask it for its runs and then shut it down without haste.
        km=AsyncKernelManager(kernel_name=KERNEL_NAME),
        # Every start logs a warning that loopback TCP is unencrypted: noise in a headless run.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        timeout_func=lambda cell: timeout,
        startup_timeout=math.ceil(startup_timeout),
        resources={"metadata": {"path": str(source.parent.resolve())}},
        store_widget_state=True,
        coalesce_streams=True,  # else each print() is its own block in the HTML copy
        on_cell_execute=progress.started,
        on_cell_executed=progress.executed,
        log=_nbclient_log,
    )
    failure, runs = run_sync(_run_and_shut_down)(client, progress, shutdown_timeout)
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
        runs=runs,
        duration=duration,
        failure=failure,
        reports=progress.reports,
        timeout=timeout,
    )


async def _run_and_shut_down(
    client: Any, progress: _Progress, shutdown_timeout: float
) -> tuple[CellReport | None, list[FinishedRun]]:
    """Execute the cells, ask the kernel for its runs, shut it down; whatever happens."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    failure: CellReport | None = None
    runs: list[FinishedRun] = []
    try:
        try:
            await client.async_execute()
        except CellExecutionError as exc:
            failure = progress.interrupted("error", exc.ename, exc.evalue)
        except CellTimeoutError:
            failure = progress.interrupted("timeout")
            # The cell is still running: stop it, so that the kernel answers and can exit.
            await client.km.interrupt_kernel()
        except DeadKernelError:
            failure = progress.interrupted(
                "error", "DeadKernelError", "the kernel died in this cell"
            )
        # nbclient's own Ctrl-C handler may have shut the kernel down and dropped both already.
        if client.kc is not None and client.km is not None and await client.km.is_alive():
            runs = await _finished_runs(client.kc)
    finally:
        await _shut_down(client, shutdown_timeout)
    return failure, runs


async def _finished_runs(kc: Any) -> list[FinishedRun]:
    """The runs the kernel's ledger holds; none when agentnb never ran an agent there.

    A silent request with a user expression: nothing is displayed or added to the history.
    """
    for _ in range(3):  # right after a failing cell the kernel aborts requests for a moment
        msg_id = kc.execute("", silent=True, store_history=False, user_expressions=_LEDGER_QUERY)
        reply = await _shell_reply(kc, msg_id)
        if reply is None:
            return []
        content = reply["content"]
        if content.get("status") != "aborted":
            break
    answer = content.get("user_expressions", {}).get("runs", {})
    if answer.get("status") != "ok":
        _log.warning("could not ask the kernel for its runs: %s", answer.get("evalue", answer))
        return []
    rows = json.loads(ast.literal_eval(answer["data"]["text/plain"]))
    return [
        FinishedRun(run_id, agent, status, tuple(errors)) for run_id, agent, status, errors in rows
    ]


async def _shell_reply(kc: Any, msg_id: str) -> dict[str, Any] | None:
    """The shell reply to `msg_id`, skipping replies to earlier requests; None after the bound."""
    deadline = time.monotonic() + QUERY_TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        try:
            reply: dict[str, Any] = await kc.get_shell_msg(timeout=left)
        except Empty:
            break
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply
    _log.warning(
        "the kernel did not answer within %.0f s; its agent runs are not counted", QUERY_TIMEOUT
    )
    return None


async def _shut_down(client: Any, bound: float) -> None:
    """Shut the kernel down as JupyterLab does and wait up to `bound` s for it to exit.

    The kernel writes pending telemetry in its exit hooks: killing it early loses runs. Only a
    kernel still running after the bound is stopped by force (and that is said).
    """
    km, kc = client.km, client.kc
    if kc is not None:
        kc.stop_channels()
        client.kc = None
    if km is None or not km.has_kernel:
        return
    await km.request_shutdown()
    try:
        await asyncio.wait_for(km.provisioner.wait(), bound)
    except asyncio.TimeoutError:
        _log.warning(
            "the kernel had not exited %.0f s after the shutdown request; stopping it "
            "(runs it had not yet written to telemetry are lost)",
            bound,
        )
    await km.shutdown_kernel(now=True)  # kills a kernel still running; cleans up its files


def _to_html(notebook: NotebookNode) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(notebook)  # type: ignore[no-untyped-call]
    return str(body)
