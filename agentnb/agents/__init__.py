"""Validation of configs into runnable agents, the run loop and its result."""

from agentnb.agents.agent import Agent
from agentnb.config import AgentConfig, ComponentRef, Settings, ToolRef
from agentnb.config.agent import set_validator
from agentnb.runs.result import RunResult
from agentnb.runs.steps import StepRecord, ToolCallRecord

# `AgentConfig.validate()` builds an `Agent`; the config layer below cannot import this one.
set_validator(Agent.from_config)

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
