"""The magics, run as cells in a real IPython shell: what they bind, show, and refuse.

Each magic is checked against the Python call it stands for: the same `AgentConfig`, the same
guard, the same files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.completer import provisionalcompleter
from IPython.core.error import UsageError
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell
from traitlets.config import Config

import agentnb.models.registry as model_registry
from agentnb import Agent, AgentConfig, RunResult, guard, guards
from agentnb.guards import GuardContext, ToolCallView, set_approver
from agentnb.guards.guard import GUARD_REGISTRY, FunctionGuard
from agentnb.notebook import completion
from agentnb.notebook.define import (
    bump_version,
    define_agent,
    define_guard,
    export_config,
    with_version,
)
from agentnb.notebook.magics import load_ipython_extension, unload_ipython_extension
from agentnb.tools import REGISTRY

SETUP = '''\
from pydantic import BaseModel
from agentnb import tool

@tool
def lookup_order(order_id: int) -> dict:
    """Look up an order by its number.

    Args:
        order_id: The order number.
    """
    return {"order_id": order_id, "status": "shipped"}

@tool
def refund(order_id: int, amount: float) -> str:
    """Refund an amount for an order.

    Args:
        order_id: The order number.
        amount: How much to refund.
    """
    return f"refunded {amount} for order {order_id}"

class Order(BaseModel):
    order_id: int
    status: str
'''

GUARD_CELL = """\
%%guard no_refunds_over_100 --point tool_call
call.name != "refund" or call.args["amount"] <= 100"""

SUPPORT_CELL = """\
%%agent support --model offline
instructions: You help customers with orders.
tools: [lookup_order, refund]
guards: [no_refunds_over_100, pii]
settings: {max_steps: 6}"""


@pytest.fixture(scope="module")
def ipython() -> InteractiveShell:
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    return InteractiveShell.instance(config=config)


@pytest.fixture
def shell(ipython: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The shell with `%load_ext agentnb` done and the tools of SETUP defined."""
    monkeypatch.setenv("AGENTNB_PROGRESS", "text")
    monkeypatch.setenv("AGENTNB_TELEMETRY", "off")
    saved_guards = dict(GUARD_REGISTRY)
    GUARD_REGISTRY.clear()  # a fresh notebook: only what its cells define (conftest restores tools)
    REGISTRY.clear()
    load_ipython_extension(ipython)
    ok(ipython, SETUP)
    try:
        yield ipython
    finally:
        unload_ipython_extension(ipython)
        ipython.reset(new_session=False)
        GUARD_REGISTRY.clear()
        GUARD_REGISTRY.update(saved_guards)
        set_approver(None)


def run(shell: Any, cell: str) -> ExecutionResult:
    result: ExecutionResult = shell.run_cell(cell, store_history=True)
    return result


def ok(shell: Any, cell: str) -> Any:
    result = run(shell, cell)
    assert result.error_before_exec is None, result.error_before_exec
    assert result.error_in_exec is None, f"{cell!r} raised {result.error_in_exec!r}"
    return result.result


def usage_error(shell: Any, cell: str) -> str:
    result = run(shell, cell)
    assert isinstance(result.error_in_exec, UsageError), result.error_in_exec
    return str(result.error_in_exec)


# -- %%agent -------------------------------------------------------------------------------------


def test_agent_magic_binds_the_agent_the_python_api_makes(shell: Any) -> None:
    ok(shell, GUARD_CELL)
    shown = ok(shell, SUPPORT_CELL)

    support = shell.user_ns["support"]
    assert shown is support
    assert repr(support) == "Agent('support' 0.1.0, model='offline', tools=[lookup_order, refund])"
    python_api = Agent(
        "support",
        model="offline",
        instructions="You help customers with orders.",
        tools=[shell.user_ns["lookup_order"], shell.user_ns["refund"]],
        guards=[shell.user_ns["no_refunds_over_100"], "pii"],
        settings={"max_steps": 6},
    )
    assert support.config == python_api.config
    assert support.config_hash == python_api.config_hash
    yaml_body = SUPPORT_CELL.split("\n", 1)[1]
    from_define = define_agent(yaml_body, name="support", model="offline", namespace=shell.user_ns)
    assert from_define.config == support.config
    assert [g.name for g in support.guards.guards] == ["no_refunds_over_100", "pii"]


def test_agent_magic_line_options_override_the_yaml(shell: Any) -> None:
    ok(shell, "%%agent helper --model offline --version 2.1.0\nname: other\nversion: 1.0.0")

    helper = shell.user_ns["helper"]
    assert (helper.name, helper.version, helper.model.id) == ("helper", "2.1.0", "offline")


def test_agent_magic_looks_names_up_in_the_notebook_first(shell: Any) -> None:
    ok(shell, "from agentnb import guards\ntight = guards.budget(max_steps=3)")
    ok(shell, "from agentnb.tools import REGISTRY\nlocal_only = REGISTRY.pop('lookup_order')")
    ok(
        shell,
        "%%agent typed --model offline\ntools: [lookup_order]\nguards: [tight]\noutput_type: Order",
    )

    typed = shell.user_ns["typed"]
    ns = shell.user_ns
    python_api = Agent(
        "typed",
        model="offline",
        tools=[ns["local_only"]],
        guards=[ns["tight"]],
        output_type=ns["Order"],
    )
    assert typed.config == python_api.config
    assert typed.config.guards == [guards.budget(max_steps=3).ref]
    assert typed.config.output_type == "__main__:Order"
    assert typed.tools["lookup_order"] is ns["local_only"]


def test_agent_magic_errors_name_the_cell_line_and_field(shell: Any, capsys: Any) -> None:
    message = usage_error(
        shell,
        "%%agent broken --model offline\n"
        "instructions: You help.\n"
        "tools: [lookup_order, lookup_ordr]\n"
        "guards: [pii, nope]\n"
        "settings: {max_step: 6}",
    )

    assert message == (
        "Agent config 'broken' has 1 problem:\n"
        "  - settings.max_step (line 5): Extra inputs are not permitted -> did you mean "
        "'max_steps'? remove it; Settings fields are: max_steps, max_tokens, output_retries, "
        "resilience, temperature, timeout, tool_retries"
    )
    assert "broken" not in shell.user_ns
    assert capsys.readouterr().err.startswith("UsageError: Agent config 'broken'")  # no traceback

    message = usage_error(
        shell,
        "%%agent broken --model offline\ntools: [lookup_order, lookup_ordr]\nguards: [pii, nope]",
    )
    assert message == (
        "Agent config 'broken' has 2 problems:\n"
        "  - tools[1] (line 2): unknown tool 'lookup_ordr' -> define it with @tool first, or "
        "pass it in tools=[...] (known: lookup_order, refund)\n"
        "  - guards[1] (line 3): unknown guard 'nope' -> define it with @guard(...) first, or "
        "use a built-in: allow_tools, approval, blocklist, budget, deny_tools, injection, judge, "
        "output_schema, pii, tool_args"
    )


def test_agent_magic_reports_yaml_syntax_errors_by_cell_line(shell: Any) -> None:
    message = usage_error(shell, "%%agent broken\ninstructions: fine\ntools: [a, b\nmodel: x")

    assert message == (
        "Agent config 'broken' has 1 problem:\n"
        "  - line 4, column 6: invalid YAML: expected ',' or ']', but got ':' (while parsing a "
        "flow sequence started at line 3, column 8) -> fix the YAML syntax there"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("%%agent", "the following arguments are required: name"),
        ("%%agent not-a-name", "the agent name 'not-a-name' must be a Python identifier"),
        ("%%agent x --colour red", "unrecognized arguments: --colour red"),
    ],
)
def test_agent_magic_refuses_bad_lines(shell: Any, line: str, expected: str) -> None:
    assert expected in usage_error(shell, f"{line}\ninstructions: hi")


# -- %%guard -------------------------------------------------------------------------------------


def test_guard_magic_makes_the_guard_the_decorator_makes(shell: Any) -> None:
    made = ok(shell, GUARD_CELL)

    assert isinstance(made, FunctionGuard)
    assert shell.user_ns["no_refunds_over_100"] is made is GUARD_REGISTRY["no_refunds_over_100"]

    @guard("tool_call")
    def no_refunds_over_100(call: ToolCallView, ctx: GuardContext) -> bool:
        return call.name != "refund" or call.args["amount"] <= 100

    python_api = no_refunds_over_100
    assert (made.name, made.points, made.on_fail, made.ref) == (
        python_api.name,
        python_api.points,
        python_api.on_fail,
        python_api.ref,
    )
    ctx = GuardContext("run", "support", "prompt", [], 0.0)
    small, big = (ToolCallView("refund", {"amount": a}, "c1") for a in (40, 250))
    assert (
        [made.check(small, ctx), made.check(big, ctx)]
        == [
            python_api.check(small, ctx),
            python_api.check(big, ctx),
        ]
        == [True, False]
    )


def test_guard_magic_bodies_may_return_and_use_notebook_names(shell: Any) -> None:
    ok(shell, "LIMIT = 10")
    made = ok(
        shell,
        "%%guard short --point input,final_output --on-fail raise\n"
        "if len(subject) > LIMIT:\n"
        "    return False\n"
        "return True",
    )

    assert (made.points, made.on_fail) == (("input", "final_output"), "raise")
    ctx = GuardContext("run", "a", "p", [], 0.0)
    assert (made.check("short", ctx), made.check("far too long", ctx)) == (True, False)


def test_guard_magic_reports_the_cell_line_of_a_syntax_error(shell: Any) -> None:
    message = usage_error(shell, "%%guard oops --point tool_call\nx = 1\ncall.name ==")

    assert message == "guard 'oops', line 3: invalid syntax"


def test_guard_magic_needs_a_point_for_a_function_body(shell: Any) -> None:
    assert usage_error(shell, "%%guard loose\nTrue") == (
        "guard 'loose': say where it checks, e.g. --point tool_call (points: input, "
        "model_output, tool_call, tool_result, final_output); or write a built-in's config "
        "with `kind:`"
    )
    assert usage_error(shell, "%%guard loose --point tool_cal\nTrue") == (
        "guard 'loose': unknown point 'tool_cal'; use one of input, model_output, tool_call, "
        "tool_result, final_output"
    )


def test_guard_magic_configures_a_builtin_from_yaml(shell: Any) -> None:
    made = ok(shell, "%%guard refund_approval\nkind: approval\ntools: [refund]")

    assert made.ref == guards.approval(["refund"], name="refund_approval").ref
    assert shell.user_ns["refund_approval"] is made
    ok(shell, "%%agent careful --model offline\ntools: [refund]\nguards: [refund_approval]")
    python_api = Agent(
        "careful",
        model="offline",
        tools=[shell.user_ns["refund"]],
        guards=[guards.approval(["refund"], name="refund_approval")],
    )
    assert shell.user_ns["careful"].config == python_api.config
    assert usage_error(shell, "%%guard g\nkind: aproval").startswith(
        "guard 'g': unknown built-in kind 'aproval'; use one of allow_tools, approval,"
    )
    assert usage_error(shell, "%%guard g\nkind: approval\npolicy: maybe") == (
        "guard 'g' (approval): approval policy must be 'deny' or 'allow', got 'maybe'"
    )


def test_define_guard_is_the_python_side_of_the_magic() -> None:
    made = define_guard("call.args['amount'] <= 5", name="tiny", points=["tool_call"])
    ctx = GuardContext("run", "a", "p", [], 0.0)

    assert made.check(ToolCallView("refund", {"amount": 9}, "c"), ctx) is False
    assert GUARD_REGISTRY.pop("tiny") is made


# -- %ask ----------------------------------------------------------------------------------------


def test_ask_runs_the_agent_and_returns_the_result(shell: Any, capsys: Any) -> None:
    ok(shell, GUARD_CELL)
    ok(shell, SUPPORT_CELL)

    result = ok(shell, '%ask support "Where is order 1042?"')

    assert isinstance(result, RunResult)
    assert (result.status, result.prompt) == ("ok", "Where is order 1042?")
    assert [(c.name, json.loads(c.arguments)) for c in result.tool_calls] == [
        ("lookup_order", {"order_id": 1042})
    ]
    assert shell.user_ns["_"] is result
    assert shell.user_ns["support"].last_result is result
    out = capsys.readouterr().out
    assert "done · ok · 2 steps · 1 tool call" in out  # the text progress lines
    assert "support 0.1.0 · offline · ok · 2 steps · 1 tool call" in out  # the result


def test_ask_forms(shell: Any) -> None:
    ok(shell, GUARD_CELL)
    ok(shell, SUPPORT_CELL)

    unquoted = ok(shell, "%ask support Where's order 1042?")
    quoted_then_options = ok(shell, "%ask support 'Where is order 7?' --progress off")
    cell = ok(shell, "%%ask support --progress off\nWhere is\norder 9?")
    resumed = ok(shell, "%ask -c support --progress=off And order 10?")

    assert unquoted.prompt == "Where's order 1042?"
    assert quoted_then_options.prompt == "Where is order 7?"
    assert cell.prompt == "Where is\norder 9?"
    assert resumed.prompt == "And order 10?"
    assert resumed.messages[: len(cell.messages)] == cell.messages  # continued the last run


def test_ask_refuses_bad_input(shell: Any) -> None:
    ok(shell, SUPPORT_CELL.replace("guards: [no_refunds_over_100, pii]\n", ""))

    assert usage_error(shell, "%ask nobody hi") == (
        "no agent named 'nobody' in this notebook (agents: support); define it with %%agent"
    )
    assert (
        usage_error(shell, "%ask support") == 'what should support do? %ask support "your prompt"'
    )
    assert (
        usage_error(shell, "%ask -c support more") == "support has not run yet: nothing to continue"
    )
    assert "argument --progress: invalid choice: 'loud'" in usage_error(
        shell, "%ask support --progress loud hi"
    )


def test_ask_equals_the_python_call(shell: Any) -> None:
    from agentnb.notebook import ask

    ok(shell, SUPPORT_CELL.replace("guards: [no_refunds_over_100, pii]\n", ""))
    support = shell.user_ns["support"]

    by_magic = ok(shell, '%ask support "Where is order 1042?"')
    by_python = ask(support, "Where is order 1042?")
    by_run_sync = support.run_sync("Where is order 1042?")

    def comparable(result: RunResult) -> list[Any]:
        return [result.status, result.output, result.messages, [s.text for s in result.steps]]

    assert comparable(by_magic) == comparable(by_python) == comparable(by_run_sync)


# -- %agentnb ------------------------------------------------------------------------------------


def test_agentnb_model_sets_the_session_default(shell: Any, capsys: Any) -> None:
    ok(shell, "%agentnb model")
    ok(shell, "%agentnb model replay:cassette.json")
    assert model_registry.default_model_id() == "replay:cassette.json"
    ok(shell, "%agentnb model --reset")

    assert capsys.readouterr().out.splitlines() == [
        "default model: offline",
        "default model: replay:cassette.json",
        "default model: offline",
    ]
    assert usage_error(shell, "%agentnb model gtp:4o").startswith(
        "Unknown model provider 'gtp' in model 'gtp:4o'."
    )


def test_agentnb_agents_lists_the_notebooks_agents(shell: Any, capsys: Any) -> None:
    ok(shell, "%agentnb agents")
    ok(shell, GUARD_CELL)
    ok(shell, SUPPORT_CELL)
    ok(shell, "from agentnb import Agent\nhelper = Agent('fx', model='offline')")
    capsys.readouterr()

    ok(shell, "%agentnb agents")

    assert capsys.readouterr().out.splitlines() == [
        "name         version  model    tools                 guards",
        "support      0.1.0    offline  lookup_order, refund  no_refunds_over_100, pii",
        "helper (fx)  0.1.0    offline  -                     -",
    ]


def test_agentnb_config_shows_the_yaml(shell: Any, capsys: Any) -> None:
    ok(shell, SUPPORT_CELL.replace("guards: [no_refunds_over_100, pii]\n", ""))
    capsys.readouterr()

    ok(shell, "%agentnb config support")

    assert capsys.readouterr().out == shell.user_ns["support"].config.to_yaml()
    assert usage_error(shell, "%agentnb config nobody").startswith("no agent named 'nobody'")


def test_agentnb_export_writes_versioned_files(
    shell: Any, capsys: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ok(shell, SUPPORT_CELL.replace("guards: [no_refunds_over_100, pii]\n", ""))
    first = shell.user_ns["support"]
    capsys.readouterr()

    ok(shell, "%agentnb export support")
    ok(shell, "%agentnb export support")  # the same content again: nothing to do
    ok(shell, "%agentnb export support --bump minor")
    ok(shell, "%agentnb export support --bump patch --dir elsewhere")

    bumped = shell.user_ns["support"]
    assert (first.version, bumped.version) == ("0.1.0", "0.2.1")
    assert capsys.readouterr().out.splitlines() == [
        "wrote configs/support/0.1.0.yaml",
        "wrote configs/support/0.1.0.yaml",
        "wrote configs/support/0.2.0.yaml (support 0.1.0 → 0.2.0, now bound to support)",
        "wrote elsewhere/support/0.2.1.yaml (support 0.2.0 → 0.2.1, now bound to support)",
    ]
    saved = AgentConfig.from_yaml((tmp_path / "configs/support/0.2.0.yaml").read_text())
    assert saved == first.config.model_copy(update={"version": "0.2.0"})
    assert bumped.tools == first.tools
    assert bumped.model is first.model
    assert bumped.run_sync("Where is order 1042?").version == "0.2.1"

    # A version is immutable once written: changed content needs a new version.
    ok(shell, "%%agent support --model offline\ninstructions: Something else.")
    assert usage_error(shell, "%agentnb export support") == (
        "configs/support/0.1.0.yaml already holds a different support 0.1.0: versions are "
        "immutable once written; bump it first (%agentnb export NAME --bump patch, or "
        "with_version(agent, version=bump_version(agent.version, part='patch')))"
    )


def test_export_python_side(tmp_path: Path) -> None:
    agent = Agent("fx", model="offline")

    path = export_config(
        with_version(agent, version=bump_version(agent.version, part="major")), directory=tmp_path
    )

    assert path == tmp_path / "fx" / "1.0.0.yaml"
    assert agent.version == "0.1.0"  # with_version leaves the original alone
    assert [bump_version("1.2.3-rc.1", part=p) for p in ("major", "minor", "patch")] == [
        "2.0.0",
        "1.3.0",
        "1.2.4",
    ]


def test_agentnb_telemetry_subcommands(
    shell: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGENTNB_TELEMETRY")  # agents record every run by default
    ok(shell, SUPPORT_CELL.replace("guards: [no_refunds_over_100, pii]\n", ""))
    support = shell.user_ns["support"]
    result = support.run_sync("Where is order 1042?")

    runs = ok(shell, "%agentnb runs --agent support")
    newest = ok(shell, "%agentnb trace")
    by_id = ok(shell, f"%agentnb trace {result.run_id[:8]}")
    stats = ok(shell, "%agentnb stats --by agent")

    assert result.run_id in set(runs["trace_id"])
    assert newest.trace_id == by_id.trace_id == result.run_id
    assert [n.operation for n in by_id.root.walk()][:2] == ["invoke_agent", "chat"]
    assert stats.loc[stats["agent"] == "support", "count"].item() >= 1
    assert usage_error(shell, "%agentnb trace zz") == (
        "'zz' is not a run id: give the 32 hex digits of RunResult.trace_id (or a prefix of "
        "at least 6)"
    )


def test_agentnb_refuses_bad_subcommands(shell: Any, capsys: Any) -> None:
    assert usage_error(shell, "%agentnb fly") == (
        "unknown subcommand 'fly'; use one of agents, config, dashboard, export, model, runs, "
        "stats, trace"
    )
    assert "unrecognized arguments: --loud" in usage_error(shell, "%agentnb agents --loud")
    ok(shell, "%agentnb help")
    help_text = capsys.readouterr().out
    assert help_text.startswith("agentnb magics:\n  %%agent NAME [--model M] [--version V]")
    assert "%agentnb export [--bump {patch,minor,major}] [--dir DIR] name" in help_text


# -- completion ----------------------------------------------------------------------------------


def completions(shell: Any, text: str) -> list[str]:
    with provisionalcompleter():
        return [c.text for c in shell.Completer.completions(text, len(text))]


def test_tab_completes_agent_tool_and_guard_names(shell: Any) -> None:
    ok(shell, GUARD_CELL)
    ok(shell, SUPPORT_CELL)
    ok(shell, "sidekick = support")

    assert completions(shell, "%ask su") == ["support"]
    assert completions(shell, "%ask ") == ["sidekick", "support"]
    assert completions(shell, "%agentnb ex") == ["export"]
    assert completions(shell, "%agentnb export s") == ["sidekick", "support"]
    assert completions(shell, "%%agent x\ntools: [lookup_order, re") == ["refund"]
    assert completions(shell, "%%agent x\ntools:\n  - lookup_order\n  - loo") == ["lookup_order"]
    assert completions(shell, "%%agent x\nguards: [no_") == ["no_refunds_over_100"]
    assert completions(shell, "%%agent x\nguards:\n  - ap") == ["approval"]
    assert completions(shell, "%%guard g --point tool_") == ["tool_call", "tool_result"]
    assert completions(shell, "%%guard g\nkind: appr") == ["approval"]


def test_completion_leaves_other_cells_alone(shell: Any) -> None:
    ok(shell, "lookup_table = 1")

    assert "lookup_table" in completions(shell, "looku")
    assert completion.complete("print(su", 0, 8, shell.user_ns) == ("", [])
    assert completion.complete("%%agent x\ninstructions: loo", 1, 17, shell.user_ns) == ("", [])


# -- loading -------------------------------------------------------------------------------------


def test_unload_removes_the_magics_and_the_completer(ipython: InteractiveShell) -> None:
    load_ipython_extension(ipython)
    assert "ask" in ipython.magics_manager.magics["line"]
    unload_ipython_extension(ipython)

    assert "ask" not in ipython.magics_manager.magics["line"]
    assert "agent" not in ipython.magics_manager.magics["cell"]
    assert not [
        m
        for m in ipython.Completer.custom_matchers
        if getattr(m, "matcher_identifier", "") == "agentnb"
    ]


def test_load_outside_a_live_notebook_installs_no_approver(ipython: InteractiveShell) -> None:
    from agentnb.guards.builtin import human

    load_ipython_extension(ipython)
    try:
        assert human._approver is None  # a terminal shell has no front end to click in
    finally:
        unload_ipython_extension(ipython)


LOAD_PROBE = """\
import json, sys
import ipykernel.ipkernel  # what a running kernel has loaded before any cell
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "agentnb")
heavy = ["openai", "anthropic", "lancedb", "nbformat", "nbclient", "ipywidgets"]
magics = shell.magics_manager.magics
print(json.dumps({"loaded": [m for m in heavy if m in sys.modules],
                  "line": sorted(magics["line"]), "cell": sorted(magics["cell"])}))
"""


def test_load_ext_loads_no_heavy_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What makes `%load_ext agentnb` cheap; its time is in bench/import_time.py, not here."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # the shell's history goes there
    done = subprocess.run(
        [sys.executable, "-c", LOAD_PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    probe = json.loads(done.stdout)

    assert probe["loaded"] == []
    assert {"ask", "agentnb"} <= set(probe["line"])
    assert {"agent", "guard", "ask"} <= set(probe["cell"])


def test_importing_the_notebook_package_loads_neither_ipython_nor_ipywidgets() -> None:
    probe = (
        "import sys, json, agentnb.notebook\n"
        "print(json.dumps([m for m in ('IPython', 'ipywidgets') if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )

    assert json.loads(done.stdout) == []
