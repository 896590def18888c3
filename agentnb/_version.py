"""The package version, kept in one low module so the CLI and the OTLP resource can read it
without importing the package root (which re-exports everything)."""

__version__ = "0.1.0"
