"""Typed Python functions → tools a model can call (`@tool`)."""

from agentnb.tools.context import RunContext
from agentnb.tools.results import serialize_result
from agentnb.tools.tool import REGISTRY, Tool, ToolArgumentsInvalid, tool

__all__ = ["REGISTRY", "RunContext", "Tool", "ToolArgumentsInvalid", "serialize_result", "tool"]
