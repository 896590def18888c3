"""IPython magics: `%%agent`, `%ask`/`%%ask`, `%%guard`, `%agentnb …` (`%load_ext agentnb`).

Each magic is thin sugar over a Python call that makes the same objects:

- `%%agent NAME [--model M] [--version V]` + YAML:
  `NAME = define.define_agent(yaml, name="NAME", model=M, version=V, namespace=globals())`
- `%ask NAME "prompt"`, `%%ask NAME` + the prompt: `agentnb.notebook.ask(NAME, "prompt")`
- `%%guard NAME --point P` + a function body: `@guard("P") def NAME(subject, ctx): ...`;
  + a built-in's YAML (`kind: approval` ...): `NAME = guards.approval(..., name="NAME")`
- `%agentnb model [SPEC]`: `agentnb.set_default_model(SPEC)`
- `%agentnb agents`: `define.agents_in(globals())`
- `%agentnb runs` / `trace [ID]` / `stats`: `telemetry.open().runs()` / `.trace(ID)` / `.stats()`
- `%agentnb dashboard [--agent A] [--version V] [--since 24h]`:
  `agentnb.dashboard(agent=A, version=V, since="24h")`
- `%agentnb config NAME`: `print(NAME.config.to_yaml())`
- `%agentnb export NAME [--bump P]`:
  `NAME = define.with_version(NAME, version=define.bump_version(NAME.version, part=P))`, then
  `define.export_config(NAME)`

`define` is `agentnb.notebook.define`. Bad input raises `UsageError` (shown without a
traceback); errors of a run are raised as they are.
"""

from __future__ import annotations

import argparse
import ast
import re
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from IPython.core import magic as _magic
from IPython.core import magic_arguments as _arguments
from IPython.core.error import UsageError
from IPython.core.magic import Magics, magics_class

from agentnb.agents.agent import Agent
from agentnb.config import AgentConfig
from agentnb.errors import AgentnbError, MissingDependency, UserError
from agentnb.guards.guard import Guard
from agentnb.guards.verdict import GUARD_POINTS
from agentnb.notebook import _kernel, completion, define
from agentnb.notebook.progress import ask
from agentnb.runs.result import RunResult

__all__ = ["AgentnbMagics", "load_ipython_extension", "unload_ipython_extension"]

_ON_FAIL = ("raise", "refuse", "reask", "skip", "redact", "rewrite", "warn")
_PROGRESS = ("widget", "text", "off", "auto")


_F = TypeVar("_F", bound=Callable[..., Any])


class _Decorator(Protocol):
    def __call__(self, func: _F, /) -> _F: ...


# IPython's magic_arguments decorators carry no annotations: typed shims, in one place.
def magic_arguments(name: str | None = None) -> _Decorator:
    return cast("_Decorator", _arguments.magic_arguments(name))  # type: ignore[no-untyped-call]


def argument(*args: Any, **kwargs: Any) -> _Decorator:
    return cast("_Decorator", _arguments.argument(*args, **kwargs))  # type: ignore[no-untyped-call]


# IPython types its markers as `F | Callable[[F], F]` (they also take a name): used bare here.
cell_magic = cast("_Decorator", _magic.cell_magic)
line_magic = cast("_Decorator", _magic.line_magic)
line_cell_magic = cast("_Decorator", _magic.line_cell_magic)


def parse_argstring(magic: Callable[..., Any], line: str) -> argparse.Namespace:
    parsed = _arguments.parse_argstring(magic, line)  # type: ignore[no-untyped-call]
    return cast("argparse.Namespace", parsed)


def _identifier(name: str, what: str) -> str:
    if not name.isidentifier():
        raise UsageError(f"{what} {name!r} must be a Python identifier (letters, digits, _)")
    return name


def _split_head(line: str, *, flags: set[str], valued: set[str]) -> tuple[str, str]:
    """`NAME [options]` and the prompt after them, which stays as written (quotes, spaces).

    A quoted prompt may also be followed by options: `%ask support "Hi" --progress off`.
    """
    token = re.compile(r"\s*(\S+)")
    head: list[str] = []
    named = False
    pos = 0
    while (match := token.match(line, pos)) is not None:
        word = match.group(1)
        option = word.split("=", 1)[0]
        if word.startswith("-") and (option in flags or option in valued or not named):
            head.append(word)
            pos = match.end()
            if option in valued and "=" not in word:
                value = token.match(line, pos)
                if value is not None:
                    head.append(value.group(1))
                    pos = value.end()
            continue
        if named:
            break
        head.append(word)
        named = True
        pos = match.end()
    prompt = line[pos:].strip()
    end = _quoted_end(prompt)
    if end is not None and prompt[end:].strip().startswith("-"):
        more, rest = _split_head("_ " + prompt[end:], flags=flags, valued=valued)
        if not rest:  # only options after the quoted prompt
            return " ".join([*head, *more.split()[1:]]), prompt[:end]
    return " ".join(head), prompt


def _quoted_end(text: str) -> int | None:
    """The index just after a quoted string at the start of `text` (None: not quoted)."""
    if not text or text[0] not in "'\"":
        return None
    quote, i = text[0], 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    return None


def _unquote(prompt: str) -> str:
    """`"Where is order 1042?"` → the text inside; anything else stays as it is."""
    if _quoted_end(prompt) == len(prompt) and len(prompt) >= 2:
        try:
            value = ast.literal_eval(prompt)
        except (ValueError, SyntaxError):
            return prompt[1:-1]
        return value if isinstance(value, str) else prompt
    return prompt


def _usage(error: AgentnbError) -> UsageError:
    return UsageError(str(error))


# --- %agentnb subcommand parsers (their docstrings are the help) --------------------------------


@magic_arguments(name="agentnb model")
@argument("spec", nargs="?", help="a model string, e.g. offline or openai:gpt-4.1-mini")
@argument("--reset", action="store_true", help="back to AGENTNB_MODEL, else offline")
def _model() -> None:
    """Show or set the model agents use when their config names none (this session)."""


@magic_arguments(name="agentnb agents")
def _agents() -> None:
    """List the agents defined in this notebook."""


@magic_arguments(name="agentnb runs")
@argument("--agent", help="only this agent's runs")
@argument("--status", help="ok, error, cancelled or blocked")
@argument("--since", help="e.g. 1h, 7d, or an ISO date")
@argument("--last", type=int, default=20, help="how many of the newest runs (default 20)")
def _runs() -> None:
    """Recorded runs, newest first (telemetry.open().runs(...))."""


@magic_arguments(name="agentnb trace")
@argument("run_id", nargs="?", help="a run id or a prefix of 6+ characters (default: newest)")
def _trace() -> None:
    """The span tree of one recorded run (telemetry.open().trace(run_id))."""


@magic_arguments(name="agentnb stats")
@argument("--by", default="agent,version", help="columns to group by (default agent,version)")
@argument("--agent", help="only this agent")
@argument("--since", help="e.g. 1h, 7d, or an ISO date")
def _stats() -> None:
    """Counts, error rate, latency, tokens and cost per group (telemetry.open().stats(...))."""


@magic_arguments(name="agentnb dashboard")
@argument("--agent", help="only this agent's runs")
@argument("--version", help="only this version's runs")
@argument("--since", default="24h", help="1h, 24h, 7d, all, or an ISO date (default 24h)")
def _dashboard() -> None:
    """Charts of runs, latency, error/block rates, cost, failing tools (agentnb.dashboard())."""


@magic_arguments(name="agentnb config")
@argument("name", help="an agent (or AgentConfig) in this notebook")
def _config() -> None:
    """Show an agent's config as YAML."""


@magic_arguments(name="agentnb export")
@argument("name", help="an agent in this notebook")
@argument("--bump", choices=("patch", "minor", "major"), help="bump the version first")
@argument("--dir", default="configs", help="where to write (default configs/)")
def _export() -> None:
    """Write configs/<name>/<version>.yaml; with --bump, NAME becomes the bumped agent."""


_SUBCOMMANDS: dict[str, Callable[[], None]] = {
    "agents": _agents,
    "config": _config,
    "dashboard": _dashboard,
    "export": _export,
    "model": _model,
    "runs": _runs,
    "stats": _stats,
    "trace": _trace,
}


def _store() -> Any:
    try:
        from agentnb import telemetry

        return telemetry.open()
    except (ImportError, MissingDependency) as exc:
        raise UsageError(f"telemetry is not available here: {exc}") from None


@magics_class
class AgentnbMagics(Magics):
    """agentnb's magics; see the module docstring for each one's Python equivalent."""

    @property
    def _ns(self) -> dict[str, Any]:
        assert self.shell is not None, "magics are registered on a shell"
        namespace: dict[str, Any] = self.shell.user_ns
        return namespace

    # --- %%agent -------------------------------------------------------------------------------

    @magic_arguments()
    @argument("name", help="the variable to bind, also the agent's name")
    @argument("--model", help="the model (overrides the YAML), e.g. offline")
    @argument("--version", help="the agent's semantic version (overrides the YAML)")
    @cell_magic
    def agent(self, line: str, cell: str) -> Agent:
        """Define an agent from the YAML config in the cell and bind it to NAME.

        Tools, guards, monitors and the output type named in the YAML are looked up in the
        notebook first, then among every `@tool` / `@guard` and the built-in guards. Errors
        name the cell line and the field.

        Python: `NAME = define_agent(yaml, name="NAME", namespace=globals())`.
        """
        args = parse_argstring(self.agent, line)
        name = _identifier(args.name, "the agent name")
        try:
            made = define.define_agent(
                "\n" + cell,  # so YAML line numbers are the cell's (line 1 is the magic)
                name=name,
                model=args.model,
                version=args.version,
                namespace=self._ns,
            )
        except UserError as exc:
            raise _usage(exc) from None
        self._ns[name] = made
        return made

    # --- %ask / %%ask --------------------------------------------------------------------------

    @magic_arguments()
    @argument("name", help="an agent in this notebook")
    @argument("-c", "--continue", dest="resume", action="store_true", help="continue its last run")
    @argument("--progress", choices=_PROGRESS, help="widget, text, off (default: auto)")
    @line_cell_magic
    def ask(self, line: str, cell: str | None = None) -> RunResult:
        """Run an agent: `%ask NAME "prompt"`, or `%%ask NAME` with the prompt in the cell.

        Shows live progress (`AGENTNB_PROGRESS`) and returns the `RunResult`.

        Python: `agentnb.notebook.ask(NAME, "prompt")`.
        """
        if cell is None:
            head, prompt = _split_head(line, flags={"-c", "--continue"}, valued={"--progress"})
        else:
            head, prompt = line, cell
        args = parse_argstring(self.ask, head)
        agent = self._agent(args.name)
        text = _unquote(prompt.strip()).strip()
        if not text:
            raise UsageError(f'what should {args.name} do? %ask {args.name} "your prompt"')
        history = None
        if args.resume:
            if agent.last_result is None:
                raise UsageError(f"{args.name} has not run yet: nothing to continue")
            history = agent.last_result
        try:
            return ask(agent, text, message_history=history, mode=args.progress)
        except UserError as exc:
            raise _usage(exc) from None

    # --- %%guard -------------------------------------------------------------------------------

    @magic_arguments()
    @argument("name", help="the variable to bind, also the guard's name")
    @argument(
        "-p",
        "--point",
        action="append",
        default=[],
        dest="points",
        help=f"where it checks (repeat or comma-separate): {', '.join(GUARD_POINTS)}",
    )
    @argument("--on-fail", choices=_ON_FAIL, help="what the run does when it blocks")
    @cell_magic
    def guard(self, line: str, cell: str) -> Guard:
        """Define a guard: the cell is a function body, or a built-in's YAML config.

        As a function body, the checked value is `subject` (also `call` at tool_call,
        `result` at tool_result, `prompt` at input, `message` at model_output, `output` at
        final_output) and `ctx`; the last expression or a `return` is the verdict (True/None
        passes, False blocks, a `Verdict`, or a replacement value). As YAML:
        `kind: approval` plus the guard's parameters.

        Python: `@guard("tool_call") def NAME(call, ctx): ...`, or `guards.<kind>(...)`.
        """
        args = parse_argstring(self.guard, line)
        name = _identifier(args.name, "the guard name")
        points = [p.strip() for chunk in args.points for p in chunk.split(",") if p.strip()]
        try:
            made = define.define_guard(
                cell,
                name=name,
                points=points,  # checked by define_guard
                on_fail=args.on_fail,
                namespace=self._ns,
                first_line=2,
            )
        except UserError as exc:
            raise _usage(exc) from None
        self._ns[name] = made
        return made

    # --- %agentnb ------------------------------------------------------------------------------

    @line_magic
    def agentnb(self, line: str) -> Any:
        """agentnb's session commands: `%agentnb SUBCOMMAND [options]`.

        model [SPEC] · agents · runs · trace [RUN_ID] · stats · dashboard · config NAME ·
        export NAME [--bump patch|minor|major]. `%agentnb help` shows every option.
        """
        sub, _, rest = line.strip().partition(" ")
        if sub in ("", "help", "-h", "--help"):
            print(self._help())
            return None
        parser = _SUBCOMMANDS.get(sub)
        if parser is None:
            raise UsageError(
                f"unknown subcommand {sub!r}; use one of {', '.join(sorted(_SUBCOMMANDS))}"
            )
        args = parse_argstring(parser, rest)
        try:
            return getattr(self, f"_do_{sub}")(args)
        except UserError as exc:
            raise _usage(exc) from None

    @staticmethod
    def _help() -> str:
        magics = [
            ("%%agent NAME [--model M] [--version V]", "define an agent from the YAML below"),
            ('%ask NAME "prompt"  /  %%ask NAME', "run it, showing progress"),
            ("%%guard NAME --point P", "define a guard: a function body, or YAML"),
        ]
        parts = ["agentnb magics:"]
        parts += [f"  {usage:<40} {what}" for usage, what in magics]
        parts.append("  %agentnb SUBCOMMAND [options]:")
        for fn in _SUBCOMMANDS.values():
            parser: Any = getattr(fn, "parser")  # noqa: B009  (set by magic_arguments)
            usage = " ".join(parser.format_usage().split()).removeprefix("usage: ")
            usage = usage.removeprefix("::").strip()
            parts.append(f"    {usage}")
            parts.append(f"        {(parser.description or '').strip()}")
        return "\n".join(parts)

    def _do_model(self, args: argparse.Namespace) -> None:
        from agentnb.models.registry import default_model_id, set_default_model

        if args.reset:
            set_default_model(None)
        elif args.spec:
            set_default_model(args.spec)
        print(f"default model: {default_model_id()}")

    def _do_agents(self, args: argparse.Namespace) -> None:
        found = define.agents_in(self._ns)
        if not found:
            print("no agents yet: define one with %%agent NAME or Agent(...)")
            return
        rows = [("name", "version", "model", "tools", "guards")]
        for var, agent in found.items():
            label = var if var == agent.name else f"{var} ({agent.name})"
            rows.append(
                (
                    label,
                    agent.version,
                    agent.model.id,
                    ", ".join(agent.tools) or "-",
                    ", ".join(g.name for g in agent.guards.guards) or "-",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())

    def _do_runs(self, args: argparse.Namespace) -> Any:
        return _store().runs(agent=args.agent, status=args.status, since=args.since, last=args.last)

    def _do_trace(self, args: argparse.Namespace) -> Any:
        store = _store()
        run_id = args.run_id
        if run_id is None:
            newest = store.runs(last=1)
            if len(newest) == 0:
                raise UsageError("no runs recorded yet: run an agent first")
            run_id = str(newest["trace_id"].iloc[0])
        return store.trace(run_id)

    def _do_stats(self, args: argparse.Namespace) -> Any:
        by = [b.strip() for b in args.by.split(",") if b.strip()]
        return _store().stats(by=by, agent=args.agent, since=args.since)

    def _do_dashboard(self, args: argparse.Namespace) -> Any:
        try:
            from agentnb.notebook.dashboard import dashboard
        except ImportError as exc:
            raise UsageError(
                f"the dashboard needs {exc.name}: pip install 'agentnb[notebook]'"
            ) from None
        return dashboard(_store(), agent=args.agent, version=args.version, since=args.since)

    def _do_config(self, args: argparse.Namespace) -> None:
        found = self._ns.get(args.name)
        if isinstance(found, Agent):
            found = found.config
        if not isinstance(found, AgentConfig):
            raise UsageError(self._no_agent(args.name))
        print(found.to_yaml(), end="")

    def _do_export(self, args: argparse.Namespace) -> None:
        agent = self._agent(args.name)
        before = agent.version
        if args.bump:
            agent = define.with_version(agent, version=define.bump_version(before, part=args.bump))
        path = define.export_config(agent, directory=args.dir)
        if args.bump:
            self._ns[args.name] = agent
            print(
                f"wrote {path} ({agent.name} {before} → {agent.version}, now bound to {args.name})"
            )
        else:
            print(f"wrote {path}")

    # --- helpers -------------------------------------------------------------------------------

    def _no_agent(self, name: str) -> str:
        known = ", ".join(sorted(define.agents_in(self._ns))) or "none yet"
        return f"no agent named {name!r} in this notebook (agents: {known}); define it with %%agent"

    def _agent(self, name: str) -> Agent:
        found = self._ns.get(name)
        if not isinstance(found, Agent):
            raise UsageError(self._no_agent(name))
        return found


_installed_approver = False


def load_ipython_extension(shell: Any) -> None:
    """`%load_ext agentnb`: the magics, tab completion, and in a live notebook the approver."""
    global _installed_approver
    shell.register_magics(AgentnbMagics)
    completion.install(shell)
    if _kernel.front_end_is_live():
        from importlib.util import find_spec

        if find_spec("ipywidgets") is not None:
            from agentnb.guards import set_approver
            from agentnb.notebook.approval import widget_approver

            set_approver(widget_approver)
            _installed_approver = True


def unload_ipython_extension(shell: Any) -> None:
    """`%unload_ext agentnb`: remove what `load_ipython_extension` added."""
    global _installed_approver
    magics = shell.magics_manager.magics
    for kind, names in (("cell", ("agent", "guard", "ask")), ("line", ("ask", "agentnb"))):
        for name in names:
            magics[kind].pop(name, None)
    completion.uninstall(shell)
    if _installed_approver:
        from agentnb.guards import set_approver

        set_approver(None)
        _installed_approver = False
