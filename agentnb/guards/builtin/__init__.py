"""Built-in guards; importing this package registers them by kind for config files."""

from agentnb.guards.builtin.budget import budget
from agentnb.guards.builtin.content import blocklist, injection, pii
from agentnb.guards.builtin.human import approval, set_approver
from agentnb.guards.builtin.judge import judge
from agentnb.guards.builtin.output import output_schema
from agentnb.guards.builtin.tools import allow_tools, deny_tools, tool_args

__all__ = [
    "allow_tools",
    "approval",
    "blocklist",
    "budget",
    "deny_tools",
    "injection",
    "judge",
    "output_schema",
    "pii",
    "set_approver",
    "tool_args",
]
