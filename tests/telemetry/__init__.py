"""Telemetry tests (a package: test module names repeat across test folders)."""
