"""Guards: synchronous checks at every point of a run, and the built-in guards.

```python
from agentnb import guard, guards

@guard("tool_call")
def no_refunds_over_100(call):
    return call.name != "refund" or call.args["amount"] <= 100

Agent(..., guards=[no_refunds_over_100, guards.pii(action="redact"), guards.budget(max_steps=8)])
```
"""

from agentnb.guards.builtin import (
    allow_tools,
    approval,
    blocklist,
    budget,
    deny_tools,
    injection,
    judge,
    output_schema,
    pii,
    set_approver,
    tool_args,
)
from agentnb.guards.builtin.content import find_pii
from agentnb.guards.guard import Guard, GuardContext, ToolCallView, ToolResultView, guard
from agentnb.guards.verdict import GUARD_POINTS, GuardPoint, OnFail, Verdict
from agentnb.runs.guard_errors import GuardError, GuardErrorWarning

__all__ = [
    "GUARD_POINTS",
    "Guard",
    "GuardContext",
    "GuardError",
    "GuardErrorWarning",
    "GuardPoint",
    "OnFail",
    "ToolCallView",
    "ToolResultView",
    "Verdict",
    "allow_tools",
    "approval",
    "blocklist",
    "budget",
    "deny_tools",
    "find_pii",
    "guard",
    "injection",
    "judge",
    "output_schema",
    "pii",
    "set_approver",
    "tool_args",
]
