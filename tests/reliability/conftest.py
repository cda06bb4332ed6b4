"""Fixtures of the reliability suite: the session's applied_complete (tests/conftest.py), its data reset per test."""

from __future__ import annotations

import pytest

from .deployed import AppliedStack

# examples/complete's queue_max_receive_count (the fault tests count receives against it).
MAX_RECEIVE_COUNT = 3


@pytest.fixture
def stack(applied_complete: AppliedStack) -> AppliedStack:
    """The applied stack, its data emptied: queues purged, rows deleted, secrets rewritten."""
    applied_complete.clear()
    return applied_complete
