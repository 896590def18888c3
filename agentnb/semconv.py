"""Span attribute names: OpenTelemetry GenAI semantic conventions, and agentnb's own `agentnb.*`.

The GenAI names exist in `opentelemetry.semconv._incubating`, but that module is private and
marked deprecated, so they are spelled out here (and importing this module costs nothing).

agentnb's own attributes:

- `agentnb.agent.name`, `agentnb.agent.version` (invoke_agent): the agent and its semver.
- `agentnb.config.hash` (invoke_agent): content hash of the `AgentConfig`, to compare versions.
- `agentnb.run.id`, `agentnb.run.status` (invoke_agent): the run id (= trace id) and the run's
  status, `ok`, `error`, `cancelled` or `blocked`.
- `agentnb.run.steps`, `agentnb.run.tool_calls` (invoke_agent): model turns and tool calls.
- `agentnb.usage.cost_usd` (invoke_agent, chat): estimated cost, absent when the price is unknown.
- `agentnb.step` (chat, execute_tool, guard): the model turn a span belongs to (1-based).
- `agentnb.error.message` (any span): the error text when the span failed (secrets redacted).
- `agentnb.tool.blocked` (execute_tool): a guard stopped the call (not counted as a tool error).
- `agentnb.guard.{name,point,outcome,reason,action,target}` (guard spans): one verdict.
- `agentnb.monitor.{name,severity,message,evidence}` (monitor spans): one finding.
- `agentnb.layer.{name,model,message,attempt,state}` (span events `agentnb.<layer>`): a retry,
  fallback, timeout, rate limit or circuit-breaker transition.
- `agentnb.capture_content` (invoke_agent): the content-capture mode of the run.
"""

from __future__ import annotations

from typing import Final

# --- OpenTelemetry GenAI semantic conventions -------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_VERSION: Final = "gen_ai.agent.version"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
ERROR_TYPE: Final = "error.type"

OP_INVOKE_AGENT: Final = "invoke_agent"
OP_CHAT: Final = "chat"
OP_EXECUTE_TOOL: Final = "execute_tool"
# Not GenAI operations: agentnb's own span kinds, stored in the same `operation` column.
OP_GUARD: Final = "guard"
OP_MONITOR: Final = "monitor"

# --- agentnb ------------------------------------------------------------------------------------
AGENTNB_AGENT_NAME: Final = "agentnb.agent.name"
AGENTNB_AGENT_VERSION: Final = "agentnb.agent.version"
AGENTNB_CONFIG_HASH: Final = "agentnb.config.hash"
AGENTNB_RUN_ID: Final = "agentnb.run.id"
AGENTNB_RUN_STATUS: Final = "agentnb.run.status"
AGENTNB_RUN_STEPS: Final = "agentnb.run.steps"
AGENTNB_RUN_TOOL_CALLS: Final = "agentnb.run.tool_calls"
AGENTNB_COST: Final = "agentnb.usage.cost_usd"
AGENTNB_STEP: Final = "agentnb.step"
AGENTNB_ERROR_MESSAGE: Final = "agentnb.error.message"
AGENTNB_CAPTURE_CONTENT: Final = "agentnb.capture_content"
AGENTNB_TOOL_BLOCKED: Final = "agentnb.tool.blocked"

AGENTNB_GUARD_NAME: Final = "agentnb.guard.name"
AGENTNB_GUARD_POINT: Final = "agentnb.guard.point"
AGENTNB_GUARD_OUTCOME: Final = "agentnb.guard.outcome"
AGENTNB_GUARD_REASON: Final = "agentnb.guard.reason"
AGENTNB_GUARD_ACTION: Final = "agentnb.guard.action"
AGENTNB_GUARD_TARGET: Final = "agentnb.guard.target"

AGENTNB_MONITOR_NAME: Final = "agentnb.monitor.name"
AGENTNB_MONITOR_SEVERITY: Final = "agentnb.monitor.severity"
AGENTNB_MONITOR_MESSAGE: Final = "agentnb.monitor.message"
AGENTNB_MONITOR_EVIDENCE: Final = "agentnb.monitor.evidence"

AGENTNB_LAYER_NAME: Final = "agentnb.layer.name"
AGENTNB_LAYER_MODEL: Final = "agentnb.layer.model"
AGENTNB_LAYER_MESSAGE: Final = "agentnb.layer.message"
AGENTNB_LAYER_ATTEMPT: Final = "agentnb.layer.attempt"
AGENTNB_LAYER_STATE: Final = "agentnb.layer.state"
