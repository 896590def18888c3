"""The same program, validated first: it type-checks."""

from agentnb import AgentConfig, RunResult

config = AgentConfig(name="fx", model="offline")
result: RunResult = config.validate().run_sync("How much is 12.5 dollars in GBP?")
