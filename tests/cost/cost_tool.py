"""tools/cost.py loaded from its file as a module of its own, for the cost tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "cost.py"


def load_cost_tool(name: str) -> ModuleType:
    """A fresh copy of tools/cost.py under the module name ``name`` (one per test file)."""
    spec = importlib.util.spec_from_file_location(name, TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module
