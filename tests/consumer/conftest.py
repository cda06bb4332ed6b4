"""modules/consumer through tests/fixtures/consumer_root: one initialised copy per engine
(the session's plan_stack), planned many times, never applied."""

from __future__ import annotations

import json
from typing import Any

import pytest
import tftest

from tests.harness.stack import Stack

FIXTURE = "tests/fixtures/consumer_root"


@pytest.fixture(scope="module")
def consumer_stack(plan_stack) -> Stack:
    return plan_stack(FIXTURE)


def folded(text: str) -> str:
    """Terraform wraps long messages (and tftest's error repeats them escaped): compare
    with whitespace folded and the escapes of its repr undone."""
    for escaped, plain in (("\\n", " "), ('\\"', '"'), ("\\'", "'")):
        text = text.replace(escaped, plain)
    return " ".join(text.split())


def managed(plan: tftest.TerraformPlanOutput) -> dict[str, dict[str, Any]]:
    """address -> {type, values} of every managed resource the plan creates, modules included."""
    found: dict[str, dict[str, Any]] = {}

    def walk(module: dict[str, Any]) -> None:
        for res in module.get("resources", []):
            if res.get("mode") == "managed":
                found[res["address"]] = {"type": res["type"], "values": res.get("values", {})}
        for child in module.get("child_modules", []):
            walk(child)

    walk(plan["planned_values"].get("root_module", {}))
    return found


def filter_policy(values: dict[str, Any]) -> dict[str, Any] | None:
    policy = values.get("filter_policy")
    return json.loads(policy) if policy else None
