"""Issue 5: every 2xx webhook ends exactly once in history or the DLQ, under injected faults.

A mixed stream (all source kinds, duplicates, redeliveries, bad inputs) runs through the
local gateway (the deployed API config and the real templates), SQS, the event source
mapping poller and the real processor, with faults injected throughout. Issue 9 adds the
operator's faults: secrets written quoted or as a key/value object, a mistyped secret fixed
after its events were rejected (then `history requeue`), a source removed while its messages
were queued (DLQ, then `dlq replay` once it is back), conflicting bodies under a known id and
captured GitHub/Shopify/HMAC requests resent under fresh delivery ids. Once the operator's
fixes have drained, every request is reconciled. One seed, drawn by hypothesis, fixes the stream, the fault rates
and the batch size; it is printed with the summary and on failure.

    make test                                 # small streams (RELIABILITY_SIZE, default 150)
    make soak                                 # SOAK_SIZE webhooks (default 10000), -m slow
    RELIABILITY_SEED=123 python -m pytest tests/reliability -k stream -s   # replay one seed
"""

from __future__ import annotations

import os
import random
import time

import pytest
from hypothesis import HealthCheck, Phase, example, given, note, settings
from hypothesis import strategies as st

from .conftest import ReliabilityAccount
from .faults import FaultInjector, FaultRates
from .reconcile import Reconciliation
from .scenario import check, drive, processing, recover_operator_faults
from .stream import generate

# One worker runs the whole suite in order, on one moto server.
pytestmark = pytest.mark.xdist_group("reliability")

SMALL_SIZE = int(os.environ.get("RELIABILITY_SIZE", "150"))
SMALL_EXAMPLES = int(os.environ.get("RELIABILITY_EXAMPLES", "2"))
SOAK_SIZE = int(os.environ.get("SOAK_SIZE", "10000"))
FIXED_SEED = os.environ.get("RELIABILITY_SEED")
MAX_RECEIVE_COUNT = 3
MAX_MESSAGE_SIZE = 16384  # queue_max_message_size: small, so oversize bodies stay cheap

# Hypothesis tries the simplest value first, so the small runs check seed 0 and then fresh
# seeds. The soak runs one example, so its draw is mixed with a per-run salt to get a new
# stream every time. Either way the seed is printed (and RELIABILITY_SEED replays it).
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
_SALT = int.from_bytes(os.urandom(4), "big")
RANDOM_SEEDS = SEEDS.map(lambda seed: seed ^ _SALT)


def _fixed_seed(test):  # type: ignore[no-untyped-def]
    return example(seed=int(FIXED_SEED))(test) if FIXED_SEED else test


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        database=None,
        derandomize=False,
        deadline=None,
        phases=[Phase.explicit] if FIXED_SEED else [Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def run_stream(
    account: ReliabilityAccount, seed: int, size: int, *, senders: int, pollers: int
) -> Reconciliation:
    rng = random.Random(seed)
    rates = FaultRates.from_rng(rng)
    batch_size = rng.choice([3, 10, 10])
    stack = account.new_stack(max_receive_count=MAX_RECEIVE_COUNT, max_message_size=MAX_MESSAGE_SIZE)
    stream = generate(
        rng, size, stack.sources, seed=seed, edge_fault_rate=rates.edge, max_message_size=MAX_MESSAGE_SIZE
    )
    injector = FaultInjector(rates, random.Random(rng.getrandbits(64)), MAX_RECEIVE_COUNT)
    started = time.monotonic()
    with processing(stack, injector):
        runner = drive(
            stack,
            injector,
            stream,
            batch_size=batch_size,
            senders=senders,
            pollers=pollers,
            time_limit_s=300 + 0.5 * size,
        )
        # The operator's faults are fixed: removed sources back (DLQ replayed), mistyped
        # secrets corrected (rejected rows requeued).
        recovery = recover_operator_faults(stack, injector, stream, senders=senders, pollers=pollers)
    stats = runner.stats
    extra = [
        ("fault rates", ", ".join(f"{k}={v}" for k, v in vars(rates).items())),
        ("batch size / maxReceiveCount", f"{batch_size} / {MAX_RECEIVE_COUNT}"),
        ("senders / pollers", f"{senders} / {pollers}"),
        ("poll rounds / messages received", f"{stats.poll_rounds} / {stats.received}"),
        ("stale receipt handles ignored", stack.consumer_sqs.stale_operations),
        ("send phase / drained after", f"{stats.send_s:.1f} s / {stats.wall_s:.1f} s"),
    ]
    result = check(stack, stream, injector, [runner], extra, recovery)
    wall = time.monotonic() - started
    result.summary.append(
        ("wall time (stream + drain + reconcile)", f"{wall:.1f} s ({size / wall:.1f} webhooks/s)")
    )
    return result


@_settings(SMALL_EXAMPLES)
@given(seed=SEEDS)
@_fixed_seed
def test_stream_reconciles(reliability_account: ReliabilityAccount, seed: int) -> None:
    note(f"seed={seed}")
    result = run_stream(reliability_account, seed, SMALL_SIZE, senders=2, pollers=2)
    print(result.report())
    assert result.ok, result.report()
    assert result.lost == 0 and result.processed_twice == 0


@pytest.mark.slow
@_settings(1)
@given(seed=RANDOM_SEEDS)
@_fixed_seed
def test_soak_stream_reconciles(reliability_account: ReliabilityAccount, seed: int) -> None:
    note(f"seed={seed}")
    result = run_stream(reliability_account, seed, SOAK_SIZE, senders=4, pollers=3)
    print(result.report())
    assert dict(result.summary)["requests sent"] == SOAK_SIZE
    assert result.ok, result.report()
    assert result.lost == 0 and result.processed_twice == 0
