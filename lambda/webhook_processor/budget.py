"""Time budget of one invocation: the safety margin and the SDK's timeouts, from the timeout.

Pure functions, so tests (and lambda.tf's locals, which compute the same numbers) can check the
boundaries. ``timeout_seconds`` is the function's timeout (PROCESSOR_TIMEOUT_SECONDS).
"""

from __future__ import annotations

from dataclasses import dataclass

# The margin is 20 % of the timeout, at most 5 s: with a 5 s timeout a fixed 5 s margin
# handed every record back unstarted.
MAX_SAFETY_MARGIN_MS = 5_000
SAFETY_MARGIN_FRACTION = 0.2

SDK_MAX_ATTEMPTS = 3
MIN_READ_TIMEOUT_SECONDS = 1.0
MAX_READ_TIMEOUT_SECONDS = 5.0
MAX_CONNECT_TIMEOUT_SECONDS = 2.0


def safety_margin_ms(timeout_seconds: float | None, remaining_at_start_ms: int | None = None) -> int:
    """Below this much remaining time, records are handed back to SQS unstarted.

    ``min(5000 ms, 20 % of the timeout)``; without a known timeout, 20 % of the time remaining
    when the invocation started (5000 ms when that is unknown too).
    """
    if timeout_seconds is not None and timeout_seconds > 0:
        basis_ms = timeout_seconds * 1000
    elif remaining_at_start_ms is not None:
        basis_ms = max(0, remaining_at_start_ms)
    else:
        return MAX_SAFETY_MARGIN_MS
    return min(MAX_SAFETY_MARGIN_MS, int(basis_ms * SAFETY_MARGIN_FRACTION))


@dataclass(frozen=True)
class SdkBudget:
    connect_timeout: float
    read_timeout: float
    max_attempts: int = SDK_MAX_ATTEMPTS

    @property
    def worst_case_seconds(self) -> float:
        """One SDK call that times out on every attempt (backoff between attempts not counted)."""
        return self.max_attempts * (self.connect_timeout + self.read_timeout)


def sdk_budget(timeout_seconds: float | None) -> SdkBudget:
    """``read = clamp(timeout / 6, 1, 5)``, ``connect = min(2, read)``, 3 attempts.

    Without a known timeout: read 5 s, connect 2 s (the 30 s default timeout's numbers).
    """
    if timeout_seconds is None or timeout_seconds <= 0:
        read = MAX_READ_TIMEOUT_SECONDS
    else:
        read = min(MAX_READ_TIMEOUT_SECONDS, max(MIN_READ_TIMEOUT_SECONDS, timeout_seconds / 6))
    return SdkBudget(connect_timeout=min(MAX_CONNECT_TIMEOUT_SECONDS, read), read_timeout=read)
