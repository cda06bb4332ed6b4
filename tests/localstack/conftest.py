"""LocalStack's side of the differential suite: examples/complete applied on a split account.

Once per session: LocalStack core on 127.0.0.1 (tests/harness/localstack.py), a moto server
for DynamoDB, and examples/complete applied by Terraform with the real aws provider, each
service sent to its emulator through the provider's per-service endpoints. The processor's
trigger is applied paused (processor_enabled = false, and the payments consumer's too):
LocalStack's Lambda cannot run code without Docker, and an enabled mapping would receive
every queued message, fail to invoke, and push it to the DLQ. The messages stay in the queue
for the suite to read. Both processes are stopped at the end, also when a setup failed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import localstack, moto_server, toolchain
from tests.harness.account import LOCAL_REGION
from tests.harness.stack import Stack
from tests.reliability.deployed import AppliedStack

EMULATORS_DOC = Path(__file__).resolve().parents[2] / "docs" / "emulators.md"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "known_difference(id): the emulators are known to differ here (docs/emulators.md#<id>);"
        " the test asserts that they still do",
    )


@pytest.fixture(scope="session")
def localstack_complete(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppliedStack]:
    try:
        engine = toolchain.engine(toolchain.selected_engines()[0])
        ls = localstack.start()
    except (FileNotFoundError, RuntimeError) as exc:
        pytest.fail(f"LocalStack: {exc}")
    moto = None
    stack = None
    try:
        moto = moto_server.start()
        account = localstack.split_account(ls.url, moto.url, LOCAL_REGION)
        stack = Stack(engine, account, "examples/complete", tmp_path_factory.mktemp("localstack-complete"))
        stack.init()
        t0 = time.monotonic()
        stack.apply(
            tf_vars={
                "name": f"ls{uuid.uuid4().hex[:8]}",
                "region": account.region,
                "secret_recovery_window_days": 0,
                "processor_enabled": False,
                "payments_consumer_enabled": False,
            }
        )
        apply_s = time.monotonic() - t0
        outputs = stack.outputs()
        applied = AppliedStack(account, outputs, stack.local_path(outputs["processor_package_path"]))
        applied.reset_secrets()
        applied.localstack = ls  # type: ignore[attr-defined]
        applied.figures = {"start_s": ls.started_s, "apply_s": apply_s}  # type: ignore[attr-defined]
        yield applied
        print(f"\nLocalStack: ready in {ls.started_s:.1f} s, apply {apply_s:.0f} s, RSS {ls.rss_mb()} MB")
    finally:
        if stack is not None:
            stack.cleanup()
        if moto is not None:
            moto.stop()
        ls.stop()
