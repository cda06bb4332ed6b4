"""Fixtures of the reliability suite: its own moto server, and fresh stacks on it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.harness import moto_server

from .local_stack import DEFAULT_SOURCES, LocalStack, SourceDef, build_stack


@dataclass
class ReliabilityAccount:
    """The suite's moto server; `new_stack()` deploys a fresh copy of the module on it."""

    server: moto_server.MotoServer

    @property
    def url(self) -> str:
        return self.server.url

    def new_stack(
        self, sources: tuple[SourceDef, ...] = DEFAULT_SOURCES, *, reset: bool = True, **kwargs: Any
    ) -> LocalStack:
        if reset:
            # Streams leave thousands of messages and rows behind; moto's scans grow with them.
            self.server.reset()
        return build_stack(self.server.url, f"rel{uuid.uuid4().hex[:8]}", sources, **kwargs)


@pytest.fixture(scope="session")
def reliability_account() -> Iterator[ReliabilityAccount]:
    """A moto server of this suite's own (a subprocess: other suites' mock_aws cannot reset it)."""
    server = moto_server.start()
    try:
        yield ReliabilityAccount(server)
    finally:
        server.stop()


MAX_RECEIVE_COUNT = 3
# stripe's secret is written quoted; `late`'s is mistyped until a test fixes it.
SMALL_SOURCES = tuple(s for s in DEFAULT_SOURCES if s.name in ("github", "stripe", "open", "late"))


@pytest.fixture(scope="module")
def shared_stack(reliability_account: ReliabilityAccount) -> LocalStack:
    """One small stack per test module, on the session's moto server."""
    return reliability_account.new_stack(SMALL_SOURCES, max_receive_count=MAX_RECEIVE_COUNT)


@pytest.fixture
def stack(shared_stack: LocalStack) -> LocalStack:
    """The module's stack, emptied: building one per test would double the suite's time."""
    shared_stack.clear()
    return shared_stack
