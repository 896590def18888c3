"""Agent configs, validation into runnable agents, the run loop and its result."""

from agentnb.agents.agent import Agent
from agentnb.agents.config import AgentConfig, ComponentRef, Settings, ToolRef
from agentnb.agents.result import RunResult, StepRecord, ToolCallRecord

__all__ = [
    "Agent",
    "AgentConfig",
    "ComponentRef",
    "RunResult",
    "Settings",
    "StepRecord",
    "ToolCallRecord",
    "ToolRef",
]
