"""A guard that raises blocks what it guarded (fail closed) and is never silent: it is listed in
`result.guard_errors`, in the process's run ledger, and a warning line names it under the cell."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentnb import Agent, FunctionModel, guard, tool, tool_call
from agentnb.agents.ledger import FinishedRun, finished_runs
from agentnb.guards import GuardError, GuardErrorWarning

Script = Callable[..., FunctionModel]

MESSAGE = (
    "guard 'amount_check' raised KeyError: 'amount' at tool_call of tool 'refund'; the action "
    "was blocked as if the guard had said no (result.guard_errors lists the run's guard errors)"
)


def _shop(script: Script, refunds: list[float]) -> Agent:
    @tool
    def refund(order: int, total: float) -> str:
        """Refund an order."""
        refunds.append(total)
        return "refunded"

    @guard("tool_call")
    def amount_check(call: Any) -> bool:
        return bool(call.args["amount"] <= 100)  # a bug: the argument is called `total`

    model = script(tool_call("refund", order=1042, total=40.0), "Done.")
    return Agent("shop", model=model, tools=[refund], guards=[amount_check])


async def test_a_crashing_guard_blocks_the_call_is_listed_and_warns(script: Script) -> None:
    refunds: list[float] = []
    agent = _shop(script, refunds)

    with pytest.warns(GuardErrorWarning) as shown:
        result = await agent.run("Refund order 1042")

    assert refunds == []  # fail closed: the tool never ran
    assert result.guard_errors == [
        GuardError("amount_check", "tool_call", "KeyError", "'amount'", "refund")
    ]
    assert [str(w.message) for w in shown] == [MESSAGE]
    assert shown[0].filename == __file__  # the line shown is the caller's, not agentnb's
    assert finished_runs()[-1] == FinishedRun(result.run_id, "shop", "ok", ("amount_check",))


def test_run_sync_warns_on_every_run(script: Script) -> None:
    agent = _shop(script, [])
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("default")  # the filter that shows a repeated warning only once
        for _ in range(2):
            agent.model = _shop(script, []).model
            agent.run_sync("Refund order 1042")

    assert [(w.category, str(w.message)) for w in shown] == [(GuardErrorWarning, MESSAGE)] * 2


async def test_a_run_without_guard_errors_lists_none_and_stays_quiet(script: Script) -> None:
    agent = Agent("calm", model=script("hello"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = await agent.run("hi")
    assert (result.guard_errors, finished_runs()[-1]) == (
        [],
        FinishedRun(result.run_id, "calm", "ok", ()),
    )


CELLS = [
    """
from agentnb import Agent, FunctionModel, guard, tool, tool_call

@tool
def refund(order: int, total: float) -> str:
    \"\"\"Refund an order.\"\"\"
    return "refunded"

@guard("tool_call")
def amount_check(call):
    return call.args["amount"] <= 100

def play(request):
    return tool_call("refund", order=1042, total=40.0) if len(request.messages) == 1 else "Done."

agent = Agent("shop", model=FunctionModel(play), tools=[refund], guards=[amount_check])
""",
    "result = agent.run_sync('Refund order 1042')\nprint(result.status)",
    "result = agent.run_sync('Refund order 1042')\nprint(result.status)",
    # %ask streams the run on agentnb's private loop: the warning still lands under the cell.
    "from agentnb.notebook.progress import ask\n"
    "result = ask(agent, 'Refund order 1042', mode='text')\nprint(result.status)",
]


@pytest.mark.slow
def test_the_warning_shows_under_the_cell_in_a_real_kernel(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbclient.NotebookClient(
        notebook, timeout=120, resources={"metadata": {"path": tmp_path}}
    ).execute()

    for cell in notebook.cells[1:]:  # each run shows it, not only the first
        streams = {"stdout": "", "stderr": ""}
        for out in cell.outputs:
            streams[out.name] += out.text
        assert streams["stdout"].endswith("ok\n")
        assert f"GuardErrorWarning: {MESSAGE}" in streams["stderr"]
