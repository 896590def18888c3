"""`Trace`: the span tree of one run, as read back from the store."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentnb import semconv as A
from agentnb.telemetry.records import full_attributes

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["SpanNode", "Trace"]


@dataclass
class SpanNode:
    """One span with its children (ordered by start time)."""

    span_id: str
    parent_span_id: str | None
    name: str
    operation: str
    start_time: datetime
    end_time: datetime
    duration_ms: float
    status: str
    error_type: str | None
    attributes: dict[str, Any]
    """Every OpenTelemetry attribute of the span (GenAI conventions and `agentnb.*`)."""
    events: list[dict[str, Any]] = field(default_factory=list)
    children: list[SpanNode] = field(default_factory=list)

    def walk(self) -> list[SpanNode]:
        """This span and its descendants, depth first."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out

    def to_dict(self) -> dict[str, Any]:
        """This span and its subtree as JSON-ready dicts (times as ISO 8601 strings)."""
        return {
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "name": self.name,
            "operation": self.operation,
            "start_time": self.start_time.isoformat(),
            "end_time": self.end_time.isoformat(),
            "duration_ms": self.duration_ms,
            "status": self.status,
            "error_type": self.error_type,
            "attributes": self.attributes,
            "events": self.events,
            "children": [c.to_dict() for c in self.children],
        }

    def label(self) -> str:
        """One line for `Trace.render()`: name, duration, then by operation the error, tokens, agent
        version and status, guard outcome or monitor finding, and the names of events.
        """
        a = self.attributes
        parts = [self.name, f"{self.duration_ms:.1f} ms"]
        if self.status == "error":
            parts.append(f"error: {self.error_type}")
        if self.operation in (A.OP_CHAT, A.OP_INVOKE_AGENT) and A.GEN_AI_USAGE_INPUT_TOKENS in a:
            tokens_in = a[A.GEN_AI_USAGE_INPUT_TOKENS]
            tokens_out = a.get(A.GEN_AI_USAGE_OUTPUT_TOKENS, 0)
            parts.append(f"{tokens_in}→{tokens_out} tokens")
        if self.operation == A.OP_INVOKE_AGENT:
            parts.insert(1, str(a.get(A.AGENTNB_AGENT_VERSION, "")))
            parts.append(str(a.get(A.AGENTNB_RUN_STATUS, self.status)))
        if self.operation == A.OP_GUARD:
            parts.append(f"{a.get(A.AGENTNB_GUARD_POINT)}: {a.get(A.AGENTNB_GUARD_OUTCOME)}")
        if self.operation == A.OP_MONITOR:
            parts.append(f"{a.get(A.AGENTNB_MONITOR_SEVERITY)}: {a.get(A.AGENTNB_MONITOR_MESSAGE)}")
        for event in self.events:
            parts.append(f"[{event['name']}]")
        return " · ".join(p for p in parts if p)


class Trace:
    """The spans of one run as a tree: `trace.root`, `print(trace)`, `trace.to_pandas()`."""

    def __init__(self, trace_id: str, table: pa.Table) -> None:
        self.trace_id = trace_id
        self.table = table.sort_by("start_time")
        nodes: dict[str, SpanNode] = {}
        order: list[SpanNode] = []
        for row in self.table.to_pylist():
            node = SpanNode(
                span_id=row["span_id"],
                parent_span_id=row["parent_span_id"],
                name=row["name"],
                operation=row["operation"],
                start_time=row["start_time"],
                end_time=row["end_time"],
                duration_ms=row["duration_ms"],
                status=row["status"],
                error_type=row["error_type"],
                attributes=full_attributes(row),
                events=json.loads(row["events"]) if row["events"] else [],
            )
            nodes[node.span_id] = node
            order.append(node)
        self.spans = order
        self.roots: list[SpanNode] = []
        for node in order:
            parent = nodes.get(node.parent_span_id or "")
            (parent.children if parent is not None else self.roots).append(node)

    @property
    def root(self) -> SpanNode | None:
        """The run's `invoke_agent` span (None while the run is still in flight)."""
        return next((r for r in self.roots if r.operation == A.OP_INVOKE_AGENT), None)

    def __len__(self) -> int:
        return len(self.spans)

    def find(self, operation: str) -> list[SpanNode]:
        """Spans of one operation (`chat`, `execute_tool`, `guard`, `monitor`) in start order."""
        return [s for s in self.spans if s.operation == operation]

    def to_arrow(self) -> pa.Table:
        """The run's span rows as an Arrow table (the `spans` schema), in start order."""
        return self.table

    def to_pandas(self) -> pd.DataFrame:
        """The run's span rows as a pandas DataFrame, in start order."""
        return self.table.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        """The tree as JSON-ready dicts, `trace_id` and `roots` (`agentnb trace --json`)."""
        return {"trace_id": self.trace_id, "roots": [r.to_dict() for r in self.roots]}

    def render(self) -> str:
        """The tree as indented text, one `SpanNode.label()` line per span (what `print(trace)` and
        `agentnb trace` show).
        """
        lines = [f"trace {self.trace_id}"]

        def add(node: SpanNode, prefix: str, last: bool) -> None:
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{node.label()}")
            inner = prefix + ("   " if last else "│  ")
            for i, child in enumerate(node.children):
                add(child, inner, i == len(node.children) - 1)

        for i, root in enumerate(self.roots):
            add(root, "", i == len(self.roots) - 1)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"<Trace {self.trace_id}: {len(self.spans)} spans>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.render())
