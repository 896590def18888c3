"""Versioned config files: YAML/JSON io."""

from agentnb.config.io import config_from_data, dump_yaml, load_config_yaml

__all__ = ["config_from_data", "dump_yaml", "load_config_yaml"]
