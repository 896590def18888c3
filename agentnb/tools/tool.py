"""`@tool`: a typed Python function the model can call, with validated arguments."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import inspect
import json
import re
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar, overload

from pydantic import BaseModel, ValidationError
from typing_extensions import ParamSpec

from agentnb.errors import ToolDefinitionError
from agentnb.models.base import ToolDefinition
from agentnb.tools.context import RunContext
from agentnb.tools.docstrings import parse_docstring
from agentnb.tools.schema import build_args_model, clean_schema

__all__ = ["REGISTRY", "Tool", "ToolArgumentsInvalid", "tool"]

P = ParamSpec("P")
R = TypeVar("R")

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What OpenAI and Anthropic accept as a tool name (ASCII only: `str.isalnum` admits 'é', '²')."""

REGISTRY: dict[str, Tool[..., Any]] = {}
"""Every `@tool` defined in this process by name; re-running a cell replaces the entry."""


class ToolArgumentsInvalid(Exception):
    """Arguments failed validation; `str()` is the feedback the model gets to correct them."""

    def __init__(self, tool: str, message: str, arguments: str) -> None:
        self.tool = tool
        self.arguments = arguments
        super().__init__(message)


class Tool(Generic[P, R]):
    """A function plus what a model needs to call it: name, description, arguments schema.

    Calling the tool object calls the function unchanged, so a decorated function still works
    as plain Python in the notebook.
    """

    def __init__(
        self,
        function: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
    ) -> None:
        if not callable(function):
            raise ToolDefinitionError(f"@tool needs a function, got {type(function).__name__}")
        self.function = function
        if name == "":
            raise ToolDefinitionError("@tool(name='') is empty: give a name or leave it out")
        self.name = name or function.__name__
        if not _NAME.fullmatch(self.name):
            raise ToolDefinitionError(
                f"tool name {self.name!r} is not allowed: use letters, digits, '_' or '-' "
                "(at most 64), e.g. @tool(name='lookup_order')"
            )
        if timeout is not None and timeout <= 0:
            raise ToolDefinitionError(f"tool {self.name!r}: timeout must be > 0, got {timeout}")
        doc_description, param_docs = parse_docstring(function.__doc__)
        self.description = description if description is not None else doc_description
        self.timeout = timeout
        self.is_async = inspect.iscoroutinefunction(function)
        self.args_model, self.takes_context = build_args_model(function, self.name, param_docs)
        self._fields = tuple(self.args_model.model_fields)
        self.definition = ToolDefinition(
            self.name, self.description, clean_schema(self.args_model.model_json_schema())
        )
        functools.update_wrapper(self, function)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the function unchanged, so a tool stays usable as the plain function it was."""
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Tool({self.name!r}, params={list(self._fields)})"

    @property
    def hash(self) -> str:
        """Content identity: changes when the name, description or arguments schema change."""
        canonical = json.dumps(dataclasses.asdict(self.definition), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def with_overrides(
        self, *, name: str | None = None, description: str | None = None
    ) -> Tool[P, R]:
        """A copy presented to the model under another name or description."""
        clone = Tool(
            self.function,
            name=name or self.name,
            timeout=self.timeout,
            description=self.description if description is None else description,
        )
        return clone

    def validate_args(self, arguments: str | Mapping[str, Any]) -> BaseModel:
        """Parse and validate the model's arguments; raise `ToolArgumentsInvalid` with feedback."""
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        try:
            return self.args_model.model_validate_json(raw or "{}")
        except ValidationError as exc:
            problems = "; ".join(_describe(err) for err in exc.errors(include_url=False))
            raise ToolArgumentsInvalid(
                self.name,
                f"Invalid arguments for tool {self.name!r}: {problems}. "
                "Fix the arguments and call the tool again.",
                raw,
            ) from None

    def invoke(self, args: BaseModel, ctx: RunContext[Any] | None) -> Awaitable[R] | R:
        """Call the function with validated `args`; an awaitable unless it ran inline.

        A sync tool runs in a worker thread, so that the run can end while the function blocks
        (a timeout, or a cancel: a kernel interrupt reaches the kernel's main thread, never the
        private loop `run_sync` uses in a kernel). On the main thread and without a timeout it
        runs inline instead: a Ctrl-C reaches the function itself there, and the run's hot path
        saves the thread hop.
        """
        kwargs = {name: getattr(args, name) for name in self._fields}
        call_args: tuple[Any, ...] = (ctx,) if self.takes_context else ()
        if self.is_async:
            coro: Awaitable[R] = self.function(*call_args, **kwargs)  # type: ignore[assignment]
            return asyncio.wait_for(coro, self.timeout) if self.timeout else coro
        if self.runs_inline():
            return self.function(*call_args, **kwargs)
        thread = asyncio.to_thread(self.function, *call_args, **kwargs)
        return asyncio.wait_for(thread, self.timeout) if self.timeout else thread

    def runs_inline(self) -> bool:
        """Whether `invoke` calls the function on this thread (see `invoke`)."""
        return not self.is_async and not self.timeout and _on_main_thread()


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "arguments"
    given = error.get("input")
    shown = "" if error["type"] == "missing" else f" (got {given!r})"
    return f"{where}: {error['msg']}{shown}"


@overload
def tool(function: Callable[P, R], /) -> Tool[P, R]: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None, timeout: float | None = None
) -> Callable[[Callable[P, R]], Tool[P, R]]: ...


def tool(
    function: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> Tool[P, R] | Callable[[Callable[P, R]], Tool[P, R]]:
    """Turn a typed function into a tool; works bare (`@tool`) or with options.

    >>> @tool
    ... def add(a: int, b: int = 1) -> int:
    ...     '''Add two numbers.'''
    ...     return a + b
    >>> add.definition.parameters["required"]
    ['a']
    """

    def wrap(fn: Callable[P, R]) -> Tool[P, R]:
        made = Tool(fn, name=name, description=description, timeout=timeout)
        REGISTRY[made.name] = made
        return made

    return wrap(function) if function is not None else wrap
