"""A type checker must reject running a config that was never validated."""

from agentnb import AgentConfig

config = AgentConfig(name="fx", model="offline")
result = config.run_sync("How much is 12.5 dollars in GBP?")
