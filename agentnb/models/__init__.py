"""Model providers behind one protocol, and the model registry.

Provider modules (`openai`, `anthropic`) import their SDKs on first use, never at import time.
"""

from agentnb.models.base import (
    Model,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    OutputSchema,
    TextDelta,
    ToolDefinition,
)
from agentnb.models.function import FunctionModel, tool_call
from agentnb.models.messages import (
    AssistantMessage,
    Message,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from agentnb.models.offline import OfflineModel
from agentnb.models.pricing import estimate_cost, set_price
from agentnb.models.registry import (
    default_model_id,
    register_provider,
    resolve_model,
    set_default_model,
)
from agentnb.models.replay import RecordingModel, ReplayModel, record

__all__ = [
    "AssistantMessage",
    "FunctionModel",
    "Message",
    "Model",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "OfflineModel",
    "OutputSchema",
    "RecordingModel",
    "ReplayModel",
    "TextDelta",
    "ToolCall",
    "ToolDefinition",
    "ToolResultMessage",
    "Usage",
    "UserMessage",
    "default_model_id",
    "estimate_cost",
    "record",
    "register_provider",
    "resolve_model",
    "set_default_model",
    "set_price",
    "tool_call",
]
