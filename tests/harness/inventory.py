"""Comparing planned values with a YAML inventory (tests/plan, tests/consumer)."""

from __future__ import annotations

from typing import Any


def matches(expected: Any, actual: Any) -> bool:
    """Inventory values are a subset: dicts compare by the keys they list."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and matches(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(matches(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return expected == actual
