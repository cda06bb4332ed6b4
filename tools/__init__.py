"""Operator tools (importable so tests and demos can reuse them)."""
