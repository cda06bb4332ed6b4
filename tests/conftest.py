"""Session fixtures shared by every suite: the toolchain, the account and stacks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.harness import account as account_mod
from tests.harness import moto_server, toolchain
from tests.harness.stack import Stack


@pytest.fixture(scope="session")
def aws_account() -> Iterator[account_mod.Account]:
    """The local moto account for the whole session, or a real one when asked for."""
    if account_mod.target() == "aws":
        yield account_mod.real_account()
        return
    server = moto_server.start()
    try:
        yield account_mod.Account(server.url, account_mod.LOCAL_REGION)
    finally:
        server.stop()


@pytest.fixture(scope="session", params=toolchain.selected_engines())
def engine(request: pytest.FixtureRequest) -> toolchain.Engine:
    try:
        return toolchain.engine(request.param)
    except FileNotFoundError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def stack_factory(
    engine: toolchain.Engine, aws_account: account_mod.Account, tmp_path: Path
) -> Iterator[Callable[..., Stack]]:
    """Builds stacks; whatever a test applied is destroyed afterwards, even when it failed."""
    stacks: list[tuple[Stack, dict]] = []

    def make(root: str, tf_vars: dict | None = None) -> Stack:
        stack = Stack(engine, aws_account, root, tmp_path / f"stack{len(stacks)}")
        stacks.append((stack, tf_vars or {}))
        stack.init()
        return stack

    yield make
    errors = []
    for stack, tf_vars in stacks:
        if stack.applied:
            try:
                stack.destroy(tf_vars=tf_vars)
            except Exception as exc:  # report, but still clean up the rest
                errors.append(f"{stack.root} ({engine.name}): destroy failed: {exc}")
        stack.cleanup()
    if errors:
        pytest.fail("\n".join(errors))


@pytest.fixture
def unique_name() -> str:
    """Resource-name prefix unique within the shared local account."""
    return f"t{uuid.uuid4().hex[:8]}"


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"account: {account_mod.target()} (WEBHOOK_INGEST_TARGET)",
        f"engines: {','.join(toolchain.selected_engines())} (WEBHOOK_INGEST_ENGINES)",
        f"toolchain cache: {toolchain.cache_dir()}",
        f"aws provider: {os.environ.get('WEBHOOK_INGEST_AWS_PROVIDER_VERSION', '?')}",
    ]
