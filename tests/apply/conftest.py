"""One applied examples/complete per engine, shared by the apply and end-to-end tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.harness.stack import Stack


@dataclass
class Deployed:
    stack: Stack
    outputs: dict[str, Any]
    tf_vars: dict[str, Any]


@pytest.fixture(scope="module")
def deployed(engine, aws_account, tmp_path_factory) -> Iterator[Deployed]:
    tf_vars = {"name": f"wh{uuid.uuid4().hex[:8]}", "region": aws_account.region}
    stack = Stack(
        engine, aws_account, "examples/complete", tmp_path_factory.mktemp(f"complete-{engine.name}")
    )
    stack.init()
    try:
        stack.apply(tf_vars=tf_vars)
        yield Deployed(stack, stack.outputs(), tf_vars)
    finally:
        # Normally the last test destroyed it already and checked nothing is left.
        if stack.applied:
            stack.destroy(tf_vars=tf_vars)
        stack.cleanup()
