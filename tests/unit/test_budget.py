"""The invocation's time budget: a proportional safety margin and SDK timeouts from the timeout."""

from __future__ import annotations

import pytest
from webhook_processor import handler
from webhook_processor.budget import (
    MAX_SAFETY_MARGIN_MS,
    SDK_MAX_ATTEMPTS,
    safety_margin_ms,
    sdk_budget,
)


@pytest.mark.parametrize(
    ("timeout_s", "expected_ms"),
    [
        (1, 200),
        (3, 600),
        (5, 1_000),  # a fixed 5 s margin handed every record of a 5 s function back unstarted
        (10, 2_000),
        (24, 4_800),
        (25, 5_000),  # the boundary: 20 % of 25 s = 5 s
        (26, 5_000),
        (30, 5_000),
        (900, 5_000),
    ],
)
def test_safety_margin_is_20_percent_of_the_timeout_at_most_5_s(timeout_s: int, expected_ms: int) -> None:
    assert safety_margin_ms(timeout_s) == expected_ms
    assert safety_margin_ms(timeout_s, remaining_at_start_ms=1) == expected_ms  # the timeout wins


def test_margin_always_leaves_most_of_a_short_timeout_for_work() -> None:
    for timeout_s in range(1, 31):
        assert safety_margin_ms(timeout_s) <= 0.2 * timeout_s * 1000 < timeout_s * 1000


@pytest.mark.parametrize(
    ("remaining_ms", "expected_ms"), [(4_000, 800), (25_000, 5_000), (60_000, 5_000), (0, 0), (-5, 0)]
)
def test_without_the_timeout_the_margin_is_20_percent_of_the_time_left_at_start(
    remaining_ms: int, expected_ms: int
) -> None:
    assert safety_margin_ms(None, remaining_ms) == expected_ms


def test_without_any_clue_the_margin_is_the_maximum() -> None:
    assert safety_margin_ms(None, None) == MAX_SAFETY_MARGIN_MS == handler.SAFETY_MARGIN_MS == 5_000


@pytest.mark.parametrize(
    ("timeout_s", "read", "connect"),
    [
        (1, 1.0, 1.0),
        (3, 1.0, 1.0),
        (6, 1.0, 1.0),  # clamp low boundary: 6 / 6 = 1
        (9, 1.5, 1.5),
        (12, 2.0, 2.0),  # connect reaches its cap here
        (18, 3.0, 2.0),
        (30, 5.0, 2.0),  # clamp high boundary: 30 / 6 = 5
        (60, 5.0, 2.0),
        (900, 5.0, 2.0),
    ],
)
def test_sdk_timeouts_follow_the_function_timeout(timeout_s: int, read: float, connect: float) -> None:
    budget = sdk_budget(timeout_s)
    assert (budget.read_timeout, budget.connect_timeout, budget.max_attempts) == (read, connect, 3)
    assert budget.worst_case_seconds == SDK_MAX_ATTEMPTS * (read + connect)


def test_sdk_timeouts_without_a_timeout_are_the_old_defaults() -> None:
    budget = sdk_budget(None)
    assert (budget.connect_timeout, budget.read_timeout, budget.max_attempts) == (2.0, 5.0, 3)


def test_boto_config_carries_the_budget() -> None:
    config = handler.boto_config(9)
    assert (config.connect_timeout, config.read_timeout) == (1.5, 1.5)
    # 3 attempts in all (botocore's "max_attempts": 3 meant 3 retries, 4 attempts).
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
