"""Session fixtures shared by every suite: the toolchain, the account and stacks."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.harness import account as account_mod
from tests.harness import moto_server, toolchain
from tests.harness.account import LOCAL_REGION, Account
from tests.harness.stack import Stack
from tests.reliability.deployed import AppliedStack

T = TypeVar("T")


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


@pytest.fixture(scope="session")
def plan_stack(
    engine: toolchain.Engine, aws_account: account_mod.Account, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Stack]]:
    """One initialised copy of a root module per engine (and xdist worker), shared by every
    test that only plans it with different variables: a plan writes no state, and each
    test's plan runs on its own in this process. Tests that write files into the copy or
    apply use stack_factory instead (the shared stack refuses to apply).

    Sharing saves the copy and `init` (about 1 s with the plugin cache); what costs is each
    plan (15-30 s, mostly loading the aws provider's schema, in `plan` and again in
    `show -json`), so the plan suites also put many cases into one plan."""
    stacks: dict[str, Stack] = {}

    def get(root: str) -> Stack:
        if root not in stacks:
            workdir = tmp_path_factory.mktemp(f"shared-{engine.name}-{Path(root).name}")
            stack = Stack(engine, aws_account, root, workdir, plan_only=True)
            stack.init()
            stacks[root] = stack
        return stacks[root]

    yield get
    for stack in stacks.values():
        stack.cleanup()


class SessionStacks:
    """Applied stacks made at most once per session (per xdist worker), torn down at its end.

    A module-scoped fixture that applies a stack per engine is set up again each time this
    worker runs a test of the other engine, or of another module, in between: pytest keeps
    one instance of a fixture per scope, and xdist interleaves groups on a worker. Each
    examples/complete apply takes about two minutes and its destroy over one, so the
    fixtures look their stack up here instead. A failed setup is remembered and re-raised,
    so the other tests of that stack fail at once rather than each trying to apply again."""

    def __init__(self) -> None:
        self._made: dict[Hashable, Any] = {}
        self._failed: dict[Hashable, BaseException] = {}
        self._exit = contextlib.ExitStack()

    def get(self, key: Hashable, make: Callable[[], AbstractContextManager[T]]) -> T:
        if key in self._failed:
            raise RuntimeError(f"{key}: its setup failed earlier in this session") from self._failed[key]
        if key not in self._made:
            try:
                self._made[key] = self._exit.enter_context(make())
            except BaseException as exc:
                self._failed[key] = exc
                raise
        return self._made[key]

    def close(self) -> None:
        self._exit.close()


@pytest.fixture(scope="session")
def session_stacks(aws_account: account_mod.Account) -> Iterator[SessionStacks]:
    """Depends on aws_account so that the stacks are destroyed before the account's server stops."""
    stacks = SessionStacks()
    try:
        yield stacks
    finally:
        stacks.close()


@pytest.fixture(scope="session")
def applied_complete(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppliedStack]:
    """examples/complete applied by Terraform once per session, on a moto server of its own (a
    subprocess: the reliability streams leave thousands of messages and rows behind, which the
    other suites' account need not carry). The reliability and LocalStack suites use it; their
    tests share the xdist group "applied-complete", so one worker applies it once.

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
        # examples/complete's queue_max_receive_count: the fault tests count receives against it.
        assert applied.max_receive_count == 3, applied.max_receive_count
        yield applied
    finally:
        if stack is not None:
            stack.cleanup()
        server.stop()


@pytest.fixture
def unique_name() -> str:
    """Resource-name prefix unique within the shared local account."""
    return f"t{uuid.uuid4().hex[:8]}"


def pytest_itemcollected(item: pytest.Item) -> None:
    """An xdist_group keeps the tests of one shared, expensive fixture (an applied stack, a
    cached plan) on one worker. Those fixtures are per engine, so the group is split per
    engine (xdist joins an item's group names: "apply-complete_tofu"): each engine's half
    may go to either of `make test`'s two workers."""
    callspec = getattr(item, "callspec", None)
    engine = callspec.params.get("engine") if callspec else None
    if engine and item.get_closest_marker("xdist_group"):
        item.add_marker(pytest.mark.xdist_group(engine))


@pytest.hookimpl(trylast=True)  # after pytest has ordered the items by their fixtures' scopes
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Grouped work first, in collection order (`make test` passes --no-loadscope-reorder);
    the many small ungrouped tests follow and fill in whichever worker is done first.
    (xdist's own reorder, by number of tests, would queue a long group of few tests, like
    an apply suite, last.) The sort is stable: each module's tests keep their order."""
    items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"account: {account_mod.target()} (WEBHOOK_INGEST_TARGET)",
        f"engines: {','.join(toolchain.selected_engines())} (WEBHOOK_INGEST_ENGINES)",
        f"toolchain cache: {toolchain.cache_dir()}",
        f"aws provider: {os.environ.get('WEBHOOK_INGEST_AWS_PROVIDER_VERSION', '?')}",
    ]
