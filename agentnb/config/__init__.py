"""Every config model, its file format and its versions: the ground floor under `agents/`.

| module | what it holds |
|---|---|
| `agent` | `AgentConfig`, `config_from_data`, `load_config_yaml` |
| `settings` | `Settings`, `ResilienceSettings` (finite numbers only) |
| `refs` | `ToolRef`, `ComponentRef`: tools, guards and monitors by name |
| `migrations` | `CURRENT_SCHEMA_VERSION`, numbered migrations and deprecations |
| `io` | bounded YAML/JSON parsing, YAML dumping, errors that name line and field |
| `yamlpos` | where a field or a syntax error is in a YAML text |

Nothing here imports `agents/`, `layers/`, `guards/`, `tools/` or `models/`: those read configs,
and `agents/` resolves the names a config holds into objects. YAML loads on first use.
"""

from agentnb.config.agent import AgentConfig, config_from_data, load_config_yaml
from agentnb.config.migrations import CURRENT_SCHEMA_VERSION
from agentnb.config.refs import ComponentRef, ToolRef
from agentnb.config.settings import ResilienceSettings, Settings

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "AgentConfig",
    "ComponentRef",
    "ResilienceSettings",
    "Settings",
    "ToolRef",
    "config_from_data",
    "load_config_yaml",
]
