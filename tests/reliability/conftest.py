"""Fixtures of the reliability suite: examples/complete applied once, its data reset per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.harness import moto_server, toolchain
from tests.harness.account import LOCAL_REGION, Account
from tests.harness.stack import Stack

from .deployed import AppliedStack

# examples/complete's queue_max_receive_count (the fault tests count receives against it).
MAX_RECEIVE_COUNT = 3


@pytest.fixture(scope="session")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppliedStack]:
    """examples/complete applied by Terraform once per session, on a moto server of this suite's
    own (a subprocess: its streams leave thousands of messages and rows behind, which the other
    suites' account need not carry).

    One engine is enough for the data plane (the apply suites compare the engines): the first
    of WEBHOOK_INGEST_ENGINES. Nothing is destroyed afterwards: the account goes with its server.
    """
    try:
        engine = toolchain.engine(toolchain.selected_engines()[0])
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    server = moto_server.start()
    stack: Stack | None = None
    try:
        account = Account(server.url, LOCAL_REGION)
        stack = Stack(engine, account, "examples/complete", tmp_path_factory.mktemp("reliability-complete"))
        stack.init()
        tf_vars = {
            "name": f"rel{uuid.uuid4().hex[:8]}",
            "region": account.region,
            "secret_recovery_window_days": 0,
        }
        stack.apply(tf_vars=tf_vars)
        outputs = stack.outputs()
        applied = AppliedStack(account, outputs, stack.local_path(outputs["processor_package_path"]))
        assert applied.max_receive_count == MAX_RECEIVE_COUNT, applied.max_receive_count
        yield applied
    finally:
        if stack is not None:
            stack.cleanup()
        server.stop()


@pytest.fixture
def stack(applied: AppliedStack) -> AppliedStack:
    """The applied stack, its data emptied: queues purged, rows deleted, secrets rewritten."""
    applied.clear()
    return applied
