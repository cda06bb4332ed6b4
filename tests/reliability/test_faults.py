"""Each fault on its own, deterministic, with the reconciliation check at the end.

The stream test mixes every fault at random rates; these pin each one down, so a
regression names its cause. They also check the checker: it must report what it claims
to catch (a lost request, a request processed twice, a wrong answer...).
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from collections import Counter
from typing import Any

import pytest
from webhook_processor import s3_pointer

from tests.apply.scenarios import SECRETS
from tools import webhookctl

from .conftest import MAX_RECEIVE_COUNT
from .deployed import OCTET_STREAM, SENDER_BY_NAME, AppliedStack, Consumer, Delivered, SourceDef
from .faults import FaultInjector, FaultRates
from .reconcile import Reconciliation, reconcile, reconcile_consumers
from .scenario import check, ctl, drain, drive, processing
from .stream import (
    API_GATEWAY_MAX_BYTES,
    Delivery,
    Planned,
    as_stream,
    binary_body,
    conflicting_delivery,
    fresh_delivery_id,
    orphan,
    plan_accepted,
    poison,
    valid_delivery,
)

# One worker runs the whole suite in order, on one applied stack.
pytestmark = pytest.mark.xdist_group("applied-complete")
GITHUB_SECRET = SECRETS["github"]


def _source(stack: AppliedStack, name: str) -> SourceDef:
    return stack.sources[name]


def _valid(stack: AppliedStack, rng: random.Random, n: int, source: str = "github") -> list[Planned]:
    return [plan_accepted(valid_delivery(rng, _source(stack, source))) for _ in range(n)]


def _injector(seed: int = 1, **rates: float) -> FaultInjector:
    return FaultInjector(FaultRates(**rates), random.Random(seed), MAX_RECEIVE_COUNT)


def _writes(injector: FaultInjector) -> Counter[str]:
    return Counter(w for writes in injector.ledger.writes.values() for w in writes)


def _assert_reconciled(result: Any) -> None:
    print(result.report())
    assert result.ok, result.report()
    assert (result.lost, result.processed_twice) == (0, 0)


@pytest.mark.parametrize("crash_after", [0, 2, 5])
def test_crash_mid_batch_redelivers_without_duplicates(stack: AppliedStack, crash_after: int) -> None:
    """The function dies after k records (k=5: after all of them, killed at its timeout): the
    whole batch comes back; the rows already written are redeliveries of the same request,
    not duplicates, and nothing is written twice."""
    rng = random.Random(crash_after)
    stream = as_stream(_valid(stack, rng, 5))
    injector = _injector(crash=1.0)
    injector.crash_after = crash_after
    with processing(stack, injector):
        runner = drive(stack, injector, stream, batch_size=5, senders=1, pollers=1, overlap=False)
    result = check(stack, stream, injector, [runner])
    _assert_reconciled(result)
    # Crashes until the last allowed receive, then success: 2 crashes of the whole batch.
    assert injector.ledger.faults["processor_crashed"] == MAX_RECEIVE_COUNT - 1
    assert _writes(injector) == Counter(stored=5, redelivery=crash_after * (MAX_RECEIVE_COUNT - 1))
    rows = stack.scan_history()
    assert all(row.get("duplicate_count") == 0 and "duplicate_request_ids" not in row for row in rows)


def test_timeout_hands_unstarted_records_back(stack: AppliedStack) -> None:
    """Remaining time drops below the safety margin after 1 record: the rest are returned to
    the queue unstarted and processed on a later receive, each exactly once."""
    stream = as_stream(_valid(stack, random.Random(7), 6))
    injector = _injector(timeout=1.0)
    injector.crash_after = 1
    with processing(stack, injector):
        runner = drive(stack, injector, stream, batch_size=6, senders=1, pollers=1, overlap=False)
    _assert_reconciled(check(stack, stream, injector, [runner]))
    assert injector.ledger.faults["processor_timed_out"] >= 1
    assert _writes(injector)["stored"] == 6


def test_throttling_lost_responses_and_secret_failures(stack: AppliedStack) -> None:
    """Half the writes throttled, half the applied writes' responses lost, half the secret
    fetches failing (cold containers): every event still ends processed exactly once, and a
    write whose response was lost comes back as a redelivery, never a duplicate."""
    rng = random.Random(3)
    requests = _valid(stack, rng, 8) + _valid(stack, rng, 8, "stripe") + _valid(stack, rng, 4, "internal")
    stream = as_stream(requests)
    injector = _injector(throttle=0.5, lost_response=0.5, secrets=0.5, cold_start=1.0)
    with processing(stack, injector):
        runner = drive(stack, injector, stream, batch_size=4, senders=1, pollers=1, overlap=False)
    _assert_reconciled(check(stack, stream, injector, [runner]))
    faults = injector.ledger.faults
    assert (
        faults["dynamodb_throttled"] and faults["dynamodb_response_lost"] and faults["secrets_manager_failed"]
    )
    assert _writes(injector)["duplicate"] == 0


def test_exact_duplicates_and_forgeries(stack: AppliedStack) -> None:
    """The same delivery three times (two exact resends) is one row with two duplicate request
    ids; a forged copy (same ids and body, wrong secret) is a rejected row of its own."""
    rng = random.Random(4)
    original = plan_accepted(valid_delivery(rng, _source(stack, "github")))
    resends = [plan_accepted(original.delivery) for _ in range(2)]
    real = original.delivery
    forged = plan_accepted(
        Delivery(
            real.source, real.body, real.content_type, real.delivery_id, real.event_type, "wrong_secret"
        ),
        "forged",
    )
    stream = as_stream([original, *resends, forged])
    injector = _injector()
    with processing(stack, injector):
        runner = drive(stack, injector, stream, batch_size=10, senders=1, pollers=1, overlap=False)
    _assert_reconciled(check(stack, stream, injector, [runner]))
    rows = {row["event_id"]: row for row in stack.scan_history()}
    event = rows[original.expected_event_id]
    assert event["duplicate_count"] == 2 and len(event["duplicate_request_ids"]) == 2
    assert rows[f"github#request:{forged.request_id}"]["reason"] == "signature_mismatch"


def test_visibility_timeout_expiry_second_consumer(stack: AppliedStack) -> None:
    """Every invocation outlives its visibility timeout: a second consumer processes the same
    messages meanwhile. One row per event, the second write a redelivery."""
    stream = as_stream(_valid(stack, random.Random(5), 6))
    injector = _injector(visibility=1.0)
    with processing(stack, injector):
        runner = drive(stack, injector, stream, batch_size=3, senders=1, pollers=1, overlap=False)
    _assert_reconciled(check(stack, stream, injector, [runner]))
    assert injector.ledger.faults["visibility_timeout_expired"] >= 1
    assert _writes(injector)["redelivery"] >= 1
    assert _writes(injector)["stored"] == 6


@pytest.mark.parametrize(
    ("sqs_status", "answer"), [(500, 503), (503, 503), (400, 503), (403, 503), (302, 502)]
)
def test_edge_sqs_failure_answers_5xx_and_queues_nothing(
    stack: AppliedStack, sqs_status: int, answer: int
) -> None:
    """SendMessage fails at the edge: the sender gets a 5xx, nothing is queued or stored; its
    retry is accepted and processed once."""
    delivery = valid_delivery(random.Random(sqs_status), _source(stack, "github"))
    failed = plan_accepted(delivery)
    failed.expected_status, failed.expected_end, failed.edge_fault = frozenset({answer}), "none", sqs_status
    retry = plan_accepted(delivery, "sender_retry")
    stream = as_stream([failed, retry])
    injector = _injector()
    with processing(stack, injector):
        runner = drive(stack, injector, stream, senders=1, pollers=1, overlap=False)
    _assert_reconciled(check(stack, stream, injector, [runner]))
    assert json.loads(failed.response_body)["error"] in ("service_unavailable", "bad_gateway")
    assert failed.edge_fault_fired


def test_poison_ends_in_the_dlq_exactly_once(stack: AppliedStack) -> None:
    """A delivery that fails on every attempt reaches the DLQ after maxReceiveCount receives,
    once, with its body and attributes; the rest of its batch is unaffected."""
    rng = random.Random(6)
    bad = plan_accepted(poison(valid_delivery(rng, _source(stack, "github"))), "poison")
    bad.expected_end = "dlq"
    stream = as_stream([*_valid(stack, rng, 3), bad, *_valid(stack, rng, 3)])
    injector = _injector()
    with processing(stack, injector):
        runner = drive(stack, injector, stream, batch_size=10, senders=1, pollers=1, overlap=False)
    _assert_reconciled(check(stack, stream, injector, [runner]))
    [message] = stack.peek_queue(stack.dlq_url)
    assert message["MessageAttributes"]["request_id"]["StringValue"] == bad.request_id
    assert message["Body"].encode() == bad.delivery.body
    assert injector.ledger.attempts[bad.request_id] == MAX_RECEIVE_COUNT


def test_ack_lost_on_every_attempt_is_caught_and_replay_is_a_no_op(stack: AppliedStack) -> None:
    """Beyond the retry budget: a record processed fine whose acknowledgement is lost on every
    receive ends BOTH in history and in the DLQ. The check reports it as processed twice;
    replaying the DLQ copy is a redelivery of the same request: the row does not change."""
    rng = random.Random(8)
    stream = as_stream(_valid(stack, rng, 2))
    target = stream.requests[0]
    injector = _injector()
    injector.always_lose_ack = lambda record: record["body"].encode() == target.delivery.body
    with processing(stack, injector):
        runner = drive(stack, injector, stream, senders=1, pollers=1, overlap=False)
        result = check(stack, stream, injector, [runner])
        assert result.processed_twice == 1 and not result.ok
        [finding] = [f for f in result.findings if f.problem == "processed twice"]
        assert finding.request_id == target.request_id and "DLQ message" in finding.detail
        assert target.request_id in result.report()

        before = {row["event_id"]: row for row in stack.scan_history()}[target.expected_event_id]
        injector.always_lose_ack = lambda record: False
        out = io.StringIO()
        argv = ["--endpoint-url", stack.endpoint_url, "--region", "us-east-1"]
        argv += ["dlq", "replay", "--dlq-url", stack.dlq_url, "--queue-url", stack.queue_url]
        assert webhookctl.main(argv, out=out) == 0, out.getvalue()
        drain(stack, injector, senders=1, pollers=1, overlap=False)
    after = {row["event_id"]: row for row in stack.scan_history()}[target.expected_event_id]
    assert after == before
    assert injector.ledger.writes[target.request_id][-1] == "redelivery"
    _assert_reconciled(check(stack, stream, injector))


# --------------------------------------------------------------------------- operator faults (issue 9)


@pytest.mark.parametrize(
    "secret_string",
    [
        f'"{GITHUB_SECRET}"\n',  # the README's old rotation advice, pasted with a newline
        f' {{"secret": "{GITHUB_SECRET}"}} ',  # the Secrets Manager console's key/value form
        f'{{"secret": ["{GITHUB_SECRET}-new", "{GITHUB_SECRET}"]}}',
        f'\n["{GITHUB_SECRET}"]\n',
    ],
    ids=["quoted", "object", "object_array", "array_newlines"],
)
def test_secret_written_quoted_or_as_object_still_verifies(stack: AppliedStack, secret_string: str) -> None:
    """The operator writes the secret in a form other than the plain string: every event still
    verifies (before issue 9 the quotes became part of the key: every event rejected)."""
    stack.write_secret("github", secret_string)
    stream = as_stream(_valid(stack, random.Random(31), 3))
    injector = _injector()
    with processing(stack, injector):
        runner = drive(stack, injector, stream, senders=1, pollers=1, overlap=False)
    _assert_reconciled(check(stack, stream, injector, [runner]))


def test_unusable_secret_waits_in_the_dlq_never_rejected(stack: AppliedStack) -> None:
    """A secret the processor cannot use (a key/value object with another key) is our fault:
    transient `secret_unusable`, so the events wait in the queue, then the DLQ, and are
    processed by a replay once the secret is fixed."""
    stack.write_secret("github", json.dumps({"password": GITHUB_SECRET}))
    stream = as_stream(_valid(stack, random.Random(32), 2))
    for request in stream.requests:
        request.expected_end = "dlq"
    injector = _injector()
    with processing(stack, injector):
        runners = [drive(stack, injector, stream, senders=1, pollers=1, overlap=False)]
        _assert_reconciled(check(stack, stream, injector, runners))
        for request in stream.requests:
            assert injector.ledger.transient[request.request_id] == ["secret_unusable"] * MAX_RECEIVE_COUNT
        stack.fix_secret("github")
        injector.forget_secrets()
        code, out = ctl(stack, "dlq", "replay", "--dlq-url", stack.dlq_url, "--queue-url", stack.queue_url)
        assert code == 0 and "replayed 2 message(s)" in out, out
        runners.append(drain(stack, injector, senders=1, pollers=1))
    for request in stream.requests:
        request.expected_end = "processed"
    _assert_reconciled(check(stack, stream, injector, runners))


def test_source_removed_while_queued_goes_to_the_dlq_then_replays(stack: AppliedStack) -> None:
    """The processor's configuration loses `stripe` while its messages are queued (the API
    still has the route): `unknown_source` is transient, so they reach the DLQ, never an
    invalid row. Once the source is back, `dlq replay` processes each exactly once."""
    rng = random.Random(33)
    removed = _valid(stack, rng, 3, "stripe")
    kept = _valid(stack, rng, 2, "github")
    for request in removed:
        request.expected_end = "dlq"
    stream = as_stream([*removed, *kept])
    sources = stack.processor_sources()
    del sources["stripe"]
    injector = _injector()
    with stack.activate(WEBHOOK_SOURCES=json.dumps(sources)):
        injector.install()
        runners = [drive(stack, injector, stream, senders=1, pollers=1, overlap=False)]
        _assert_reconciled(check(stack, stream, injector, runners))
    for request in removed:
        assert injector.ledger.transient[request.request_id] == ["unknown_source"] * MAX_RECEIVE_COUNT
    assert not any(row["status"] == "invalid" for row in stack.scan_history())

    with processing(stack, injector):  # the source is back
        code, out = ctl(stack, "dlq", "replay", "--dlq-url", stack.dlq_url, "--queue-url", stack.queue_url)
        assert code == 0 and "replayed 3 message(s)" in out, out
        runners.append(drain(stack, injector, senders=1, pollers=1))
    for request in removed:
        request.expected_end = "processed"
    _assert_reconciled(check(stack, stream, injector, runners))


def test_stream_orphan_fault_matches_a_removed_source(stack: AppliedStack) -> None:
    """The stream's version of the fault (ORPHAN_TOKEN: the processor sees a configuration
    without the delivery's source) ends the same way: DLQ as transient unknown_source, then
    processed once by a replay after the source is back."""
    rng = random.Random(34)
    orphans = [
        plan_accepted(orphan(valid_delivery(rng, _source(stack, n))), "source_removed")
        for n in ("github", "stripe")
    ]
    for request in orphans:
        request.orphaned = True
        request.expected_end = "dlq"
    stream = as_stream([*orphans, *_valid(stack, rng, 2)])
    injector = _injector()
    with processing(stack, injector):
        runners = [drive(stack, injector, stream, senders=1, pollers=1, overlap=False)]
        _assert_reconciled(check(stack, stream, injector, runners))
        injector.source_removed = False
        code, out = ctl(stack, "dlq", "replay", "--dlq-url", stack.dlq_url, "--queue-url", stack.queue_url)
        assert code == 0 and "replayed 2 message(s)" in out, out
        runners.append(drain(stack, injector, senders=1, pollers=1))
    for request in orphans:
        request.expected_end = "processed"
    _assert_reconciled(check(stack, stream, injector, runners))


def test_conflicting_body_under_a_known_id_is_a_conflict_row(stack: AppliedStack) -> None:
    """A second, validly signed body under an event id already recorded is never counted as a
    duplicate: the first row gets conflict_count and the request id, the second body is kept
    in a `conflict` row of its own; an exact resend of either is a duplicate or a conflict of
    its own, by body."""
    rng = random.Random(35)
    original = plan_accepted(valid_delivery(rng, _source(stack, "stripe")))
    while original.delivery.delivery_id is None:  # 10 % of Stripe bodies carry no id
        original = plan_accepted(valid_delivery(rng, _source(stack, "stripe")))
    other = plan_accepted(conflicting_delivery(rng, original.delivery), "conflict")
    other_again = plan_accepted(other.delivery, "duplicate")
    original_again = plan_accepted(original.delivery, "duplicate")
    assert other.expected_event_id == original.expected_event_id
    first, later = as_stream([original]), as_stream([other, other_again, original_again])
    injector = _injector()
    with processing(stack, injector):
        runners = [drive(stack, injector, first, senders=1, pollers=1)]
        runners.append(drive(stack, injector, later, senders=1, pollers=1, overlap=False))
    stream = as_stream([original, other, other_again, original_again])
    _assert_reconciled(check(stack, stream, injector, runners))
    rows = {row["event_id"]: row for row in stack.scan_history()}
    event = rows[original.expected_event_id]
    assert event["body"].encode() == original.delivery.body and event["request_id"] == original.request_id
    assert (event["duplicate_count"], event["duplicate_request_ids"]) == (1, {original_again.request_id})
    assert (event["conflict_count"], event["conflict_request_ids"]) == (
        2,
        {other.request_id, other_again.request_id},
    )
    for request in (other, other_again):
        row = rows[f"stripe#request:{request.request_id}"]
        assert (row["status"], row["reason"], row["conflict_of"]) == (
            "conflict",
            "body_differs",
            original.expected_event_id,
        )
        assert row["body"].encode() == other.delivery.body
    assert len(rows) == 3
    assert injector.ledger.stored[original.expected_event_id] == 1


@pytest.mark.parametrize(
    "rates",
    [
        FaultRates(lost_response=1.0),
        FaultRates(lost_ack=1.0),
        FaultRates(throttle=0.5),
        FaultRates(crash=1.0),
    ],
    ids=["lost_response", "lost_ack", "throttle", "crash"],
)
def test_conflict_recorded_once_whatever_fails_between_its_writes(
    stack: AppliedStack, rates: FaultRates
) -> None:
    """A conflict takes two writes (its own row, then the count on the first row). Whatever fails
    in between or after (a write whose response is lost, throttling, a crash, a lost ack), the
    redelivery completes it: one conflict row, counted once on the first row."""
    rng = random.Random(38)
    original = plan_accepted(valid_delivery(rng, _source(stack, "stripe")))
    while original.delivery.delivery_id is None:
        original = plan_accepted(valid_delivery(rng, _source(stack, "stripe")))
    other = plan_accepted(conflicting_delivery(rng, original.delivery), "conflict")
    injector = _injector(seed=2)
    with processing(stack, injector):
        runners = [drive(stack, injector, as_stream([original]), senders=1, pollers=1)]
        injector.rates = rates
        runners.append(drive(stack, injector, as_stream([other]), senders=1, pollers=1))
    _assert_reconciled(check(stack, as_stream([original, other]), injector, runners))
    rows = {row["event_id"]: row for row in stack.scan_history()}
    event = rows[original.expected_event_id]
    assert (event.get("conflict_count"), event.get("conflict_request_ids")) == (1, {other.request_id})
    assert rows[f"stripe#request:{other.request_id}"]["status"] == "conflict"


def test_replayed_github_request_under_fresh_delivery_ids_is_a_duplicate(stack: AppliedStack) -> None:
    """A captured GitHub request resent with new X-GitHub-Delivery ids still verifies (GitHub
    signs the body only): each copy is a counted duplicate of the first row, never a new event."""
    rng = random.Random(36)
    original = plan_accepted(valid_delivery(rng, _source(stack, "github")))
    replays = [
        plan_accepted(fresh_delivery_id(rng, original.delivery), "fresh_delivery_id") for _ in range(3)
    ]
    ids = {r.delivery.headers()["X-GitHub-Delivery"] for r in (original, *replays)}
    assert len(ids) == 4
    injector = _injector()
    with processing(stack, injector):
        runners = [drive(stack, injector, as_stream([original]), senders=1, pollers=1)]
        runners.append(drive(stack, injector, as_stream(replays), senders=1, pollers=1))
    stream = as_stream([original, *replays])
    _assert_reconciled(check(stack, stream, injector, runners))
    [row] = stack.scan_history()
    assert row["event_id"] == original.expected_event_id and row["event_id"].startswith("github#sha256:")
    assert row["delivery_id"] == original.delivery.delivery_id
    assert (row["duplicate_count"], row["duplicate_request_ids"]) == (3, {r.request_id for r in replays})
    assert injector.ledger.stored[row["event_id"]] == 1


def test_the_check_accounts_for_conflicts_and_superseded_rows() -> None:
    """The reconciliation of issue 9's rows: a conflicting body counted as a duplicate, a
    conflict row its event does not list, and a superseded row whose event does not hold the
    request are all reported; the consistent cases are not."""
    source = SENDER_BY_NAME["stripe"]
    rng = random.Random(37)
    first = plan_accepted(valid_delivery(rng, source))
    while first.delivery.delivery_id is None:
        first = plan_accepted(valid_delivery(rng, source))
    conflict_ok = plan_accepted(conflicting_delivery(rng, first.delivery), "conflict")
    conflict_as_duplicate = plan_accepted(conflicting_delivery(rng, first.delivery), "conflict")
    conflict_unlisted = plan_accepted(conflicting_delivery(rng, first.delivery), "conflict")
    requeued_ok = plan_accepted(valid_delivery(rng, source))
    requeued_lost = plan_accepted(valid_delivery(rng, source))
    for request in (requeued_ok, requeued_lost):
        request.rejected_first = "signature_mismatch"
    stream = as_stream(
        [first, conflict_ok, conflict_as_duplicate, conflict_unlisted, requeued_ok, requeued_lost]
    )
    for i, request in enumerate(stream.requests):
        request.status, request.request_id = 200, f"req-{i}"
        request.response_body = json.dumps({"status": "accepted", "request_id": f"req-{i}"})

    def sha(request: Planned) -> str:
        return hashlib.sha256(request.delivery.body).hexdigest()

    def row(request: Planned, event_id: str | None = None, **extra: Any) -> dict[str, Any]:
        return {
            "event_id": event_id or request.expected_event_id,
            "request_id": request.request_id,
            "source": "stripe",
            "status": "processed",
            "body_sha256": sha(request),
            "duplicate_count": 0,
            **extra,
        }

    rows = [
        row(
            first,
            duplicate_count=1,
            duplicate_request_ids={"req-2"},  # req-2's body differs: must be a conflict
            conflict_count=1,
            conflict_request_ids={"req-1"},
        ),
        row(
            conflict_ok,
            "stripe#request:req-1",
            status="conflict",
            reason="body_differs",
            conflict_of=first.expected_event_id,
        ),
        row(
            conflict_unlisted,
            "stripe#request:req-3",
            status="conflict",
            reason="body_differs",
            conflict_of=first.expected_event_id,
        ),
        row(requeued_ok),
        row(
            requeued_ok,
            "stripe#request:req-4",
            status="rejected",
            reason="signature_mismatch",
            superseded_by=requeued_ok.expected_event_id,
        ),
        row(
            requeued_lost,
            "stripe#request:req-5",
            status="rejected",
            reason="signature_mismatch",
            superseded_by=requeued_ok.expected_event_id,
        ),  # points at an event without it
    ]
    result = reconcile(stream, rows, [], left_in_queue=0)
    problems = {(f.problem, f.request_id) for f in result.findings}
    assert ("wrong ending", "req-2") in problems  # a conflicting body counted as a duplicate
    assert ("wrong ending", "req-3") in problems  # conflict row not listed on its event
    assert ("wrong ending", "req-5") in problems and ("lost", "req-5") in problems
    assert not {rid for _, rid in problems} & {"req-0", "req-1", "req-4"}, result.report()
    assert result.lost == 1


def test_the_check_reports_every_kind_of_mismatch() -> None:
    """The reconciliation itself: given a bad outcome, it names the request ids and the seed."""
    source = SENDER_BY_NAME["github"]
    rng = random.Random(9)
    requests = [plan_accepted(valid_delivery(rng, source)) for _ in range(5)]
    refused = plan_accepted(valid_delivery(rng, source))
    refused.expected_status, refused.expected_end = frozenset({415}), "none"
    stream = as_stream([*requests, refused], seed=4242)
    for i, request in enumerate(stream.requests):
        request.status, request.request_id = 200, f"req-{i}"
        request.response_body = json.dumps({"status": "accepted", "request_id": f"req-{i}"})
    stream.requests[4].status = 503  # wrong answer (expected 200), and not a JSON answer
    stream.requests[4].response_body = "Service Unavailable"
    refused.status = 415
    refused.response_body = json.dumps({"message": "Unsupported Media Type", "request_id": "req-5"})

    def row(request: Planned, **extra: Any) -> dict[str, Any]:
        return {
            "event_id": request.expected_event_id,
            "request_id": request.request_id,
            "source": "github",
            "status": "processed",
            "body_sha256": hashlib.sha256(request.delivery.body).hexdigest(),
            "duplicate_count": 0,
            **extra,
        }

    rows = [
        row(stream.requests[0]),  # fine
        # req-1 lost; req-2 in a row and the DLQ; req-3 stored twice (count says 2, one id)
        row(stream.requests[2]),
        row(stream.requests[3], duplicate_count=2, duplicate_request_ids={"req-9"}),
        row(refused),  # stored although it was answered 415
    ]
    dlq = [{"MessageId": "m-1", "MessageAttributes": {"request_id": {"StringValue": "req-2"}}}]
    result = reconcile(stream, rows, dlq, left_in_queue=1)
    problems = {(f.problem, f.request_id) for f in result.findings}
    assert ("lost", "req-1") in problems
    assert ("processed twice", "req-2") in problems
    assert ("processed twice", "req-3") in problems
    assert ("phantom duplicate", "req-9") in problems
    assert ("wrong answer", "req-4") in problems and ("unclear answer", "req-4") in problems
    assert not any(f.problem == "unclear answer" and f.request_id != "req-4" for f in result.findings)
    assert ("stored after non-2xx", "req-5") in problems and ("phantom row", "req-5") in problems
    assert ("left in queue", None) in problems
    assert (result.lost, result.processed_twice) == (1, 2)
    report = result.report()
    assert "seed=4242" in report and "RELIABILITY_SEED=4242" in report
    assert all(f"req-{i}" in report for i in (1, 2, 3, 4, 5))


def test_the_check_reports_consumer_deliveries() -> None:
    """The consumers' reconciliation: an event missing from a consumer its filter matches, a
    copy SNS should have filtered out, a message for an event that was never processed, and
    an envelope that disagrees with its row are all reported; extra copies are not."""
    consumers = {
        "payments": Consumer(
            "payments",
            "q-payments",
            "dlq-payments",
            {"source": ["stripe"], "event_type": [{"prefix": "invoice."}]},
            "MessageAttributes",
        ),
        "repo": Consumer("repo", "q-repo", "dlq-repo", {"json": {"action": ["opened"]}}, "MessageBody"),
        "audit": Consumer("audit", "q-audit", "dlq-audit", None, "MessageAttributes"),
    }
    schemes = {"stripe": "stripe", "github": "github"}

    def row(
        event_id: str, source: str, event_type: str, body: str, status: str = "processed"
    ) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "source": source,
            "event_type": event_type,
            "status": status,
            "body": body,
            "request_id": f"req-{event_id}",
        }

    rows = [
        row("stripe#1", "stripe", "invoice.paid", '{"id":"1"}'),
        row("stripe#2", "stripe", "charge.refunded", '{"id":"2"}'),
        row("github#3", "github", "issues", '{"action":"opened"}'),
        row("stripe#request:r", "stripe", "invoice.paid", "{}", status="rejected"),
    ]

    def copy(consumer: str, r: dict[str, Any], **changes: Any) -> Delivered:
        attributes = {"source": r["source"], "event_type": r["event_type"], "event_id": r["event_id"]}
        attributes["scheme"] = schemes[r["source"]]
        envelope = {**attributes, "schema_version": 1, "body": r["body"], "json": json.loads(r["body"])}
        envelope.update(changes)
        return Delivered(consumer, "queue", f"m-{consumer}-{r['event_id']}", json.dumps(envelope), attributes)

    inbox = {
        "payments": [copy("payments", rows[0]), copy("payments", rows[0]), copy("payments", rows[1])],
        "repo": [],  # github#3 matches: not delivered
        "audit": [
            copy("audit", rows[0]),
            copy("audit", rows[1], body='{"id":"2 "}'),
            copy("audit", rows[2]),
            copy("audit", rows[3]),
        ],
    }
    result = Reconciliation(seed=1)
    reconcile_consumers(result, rows, consumers, inbox, schemes)
    found = {(f.problem, f.request_id) for f in result.findings}
    assert ("not delivered", "req-github#3") in found
    assert result.lost_to_consumers == 1
    wrong = [f.detail for f in result.findings if f.problem == "wrong consumer message"]
    assert any("payments" in d and "filter policy does not match" in d for d in wrong)  # stripe#2 to payments
    assert any("audit" in d and "not byte-exact" in d for d in wrong)
    assert any("audit" in d and "not a processed history row" in d for d in wrong)
    assert len(result.findings) == 4, result.report()
    summary = dict(result.summary)
    assert "1 extra copies" in summary["  consumer payments"]


# --------------------------------------------------------------------------- s3 sources (issue 14)


def test_s3_sources_take_10_mb_binary_and_past_the_queue_limit(stack: AppliedStack) -> None:
    """payload_store = "s3": a 10 MB GitHub push, an export past the queue's limit, a binary
    export and its exact resend (one row, one counted duplicate, two objects) are each stored
    byte-exact; 10 MB and one byte more is API Gateway's 413, with no object."""
    rng = random.Random(41)
    big = valid_delivery(rng, _source(stack, "monorepo"))
    big.pad_to = API_GATEWAY_MAX_BYTES
    past = valid_delivery(rng, _source(stack, "exports"))
    past.pad_to = stack.max_message_size + 1
    binary = valid_delivery(rng, _source(stack, "exports"))
    binary.body, binary.content_type = binary_body(rng, 300_000), OCTET_STREAM
    accepted = [plan_accepted(d) for d in (big, past, binary)]
    resend = plan_accepted(binary, "duplicate")
    huge = plan_accepted(valid_delivery(rng, _source(stack, "monorepo")), "huge")
    huge.delivery.huge_size = API_GATEWAY_MAX_BYTES + 1
    huge.expected_status, huge.expected_end = frozenset({413}), "none"
    stream = as_stream([*accepted, resend, huge], max_message_size=stack.max_message_size)
    injector = _injector()
    with processing(stack, injector):
        runner = drive(stack, injector, stream, senders=1, pollers=1, overlap=False)
    _assert_reconciled(check(stack, stream, injector, [runner]))
    rows = {row["request_id"]: row for row in stack.scan_history()}
    assert rows[accepted[0].request_id]["body_size"] == API_GATEWAY_MAX_BYTES
    assert rows[accepted[1].request_id]["body_size"] == stack.max_message_size + 1
    assert rows[accepted[2].request_id]["duplicate_request_ids"] == {resend.request_id}
    assert "body" not in rows[accepted[2].request_id]  # not UTF-8: the object is the only copy
    assert len(stack.ingest_keys()) == 4


@pytest.mark.parametrize("s3_status", [500, 503, 403])
def test_s3_edge_failure_answers_503_and_stores_nothing(stack: AppliedStack, s3_status: int) -> None:
    """PutObject fails at the edge (an outage, throttling, a denied write): the sender gets 503,
    no object and no message exist; its retry is accepted and processed once."""
    delivery = valid_delivery(random.Random(s3_status), _source(stack, "exports"))
    failed = plan_accepted(delivery)
    failed.expected_status, failed.expected_end, failed.edge_fault = frozenset({503}), "none", s3_status
    retry = plan_accepted(delivery, "sender_retry")
    stream = as_stream([failed, retry])
    injector = _injector()
    with processing(stack, injector):
        runner = drive(stack, injector, stream, senders=1, pollers=1, overlap=False)
    _assert_reconciled(check(stack, stream, injector, [runner]))
    assert json.loads(failed.response_body)["error"] == "service_unavailable"
    assert failed.edge_fault_fired
    assert stack.ingest_keys() == [f"ingest/exports/{retry.request_id}"]


def test_s3_poison_ends_in_the_dlq_exactly_once(stack: AppliedStack) -> None:
    """An s3 source's delivery that fails on every attempt: its notification reaches the DLQ
    once (naming its object, which stays), found there by the request id in the key."""
    rng = random.Random(43)
    bad = plan_accepted(poison(valid_delivery(rng, _source(stack, "monorepo"))), "poison")
    bad.expected_end = "dlq"
    stream = as_stream([*_valid(stack, rng, 2, "monorepo"), bad, *_valid(stack, rng, 2, "exports")])
    injector = _injector()
    with processing(stack, injector):
        runner = drive(stack, injector, stream, batch_size=10, senders=1, pollers=1, overlap=False)
    _assert_reconciled(check(stack, stream, injector, [runner]))
    [message] = stack.peek_queue(stack.dlq_url)
    assert f"ingest%2Fmonorepo%2F{bad.request_id}" in message["Body"] or bad.request_id in message["Body"]
    assert injector.ledger.attempts[bad.request_id] == MAX_RECEIVE_COUNT
    assert f"ingest/monorepo/{bad.request_id}" in stack.ingest_keys()


def test_s3_test_event_is_ignored(stack: AppliedStack) -> None:
    """Putting the bucket's notification configuration again (a re-apply) sends S3's test event
    to the main queue: acknowledged and ignored, no row, no DLQ message."""
    rng = random.Random(44)
    stream = as_stream(_valid(stack, rng, 2, "monorepo"))
    stack.reconfigure_notification()
    injector = _injector()
    with processing(stack, injector):
        runner = drive(stack, injector, stream, senders=1, pollers=1, overlap=False)
    _assert_reconciled(check(stack, stream, injector, [runner]))
    assert injector.ledger.s3_test_events == 1
    assert len(stack.scan_history()) == 2


def test_the_check_reports_s3_objects() -> None:
    """The s3 sources' part of the check: an accepted request without its object is lost, an
    object with other bytes, a row naming another object, an object after a 503, an object no
    request accounts for and S3's test event in the DLQ are reported; a DLQ notification
    counts for the request its key names."""
    source = SENDER_BY_NAME["exports"]
    rng = random.Random(45)
    requests = [plan_accepted(valid_delivery(rng, source)) for _ in range(5)]
    poisoned = plan_accepted(valid_delivery(rng, source), "poison")
    poisoned.expected_end = "dlq"
    failed = plan_accepted(valid_delivery(rng, source))
    failed.expected_status, failed.expected_end = frozenset({503}), "none"
    stream = as_stream([*requests, poisoned, failed])
    for i, request in enumerate(stream.requests):
        request.status, request.request_id = 200, f"req-{i}"
        request.response_body = json.dumps({"status": "accepted", "request_id": f"req-{i}"})
    failed.status = 503
    failed.response_body = json.dumps({"message": "retry later", "request_id": "req-6"})
    bucket = "payloads"
    objects = {f"ingest/exports/req-{i}": r.delivery.body for i, r in enumerate(stream.requests)}
    del objects["ingest/exports/req-1"]  # req-1: accepted, no object
    objects["ingest/exports/req-2"] = b"other bytes"
    objects["ingest/exports/req-9"] = b"nobody's"

    def row(request: Planned, **extra: Any) -> dict[str, Any]:
        return {
            "event_id": request.expected_event_id,
            "request_id": request.request_id,
            "source": "exports",
            "status": "processed",
            "body_sha256": hashlib.sha256(request.delivery.body).hexdigest(),
            "body_ref": f"s3://{bucket}/ingest/exports/{request.request_id}",
            "duplicate_count": 0,
            **extra,
        }

    rows = [row(r) for r in requests[:3]]
    rows.append(row(requests[3], body_ref=f"s3://{bucket}/ingest/exports/req-0"))  # not its own
    rows.append(row(requests[4], body=requests[4].delivery.body.decode() + " "))  # inline copy differs
    dlq = [
        {"MessageId": "m-1", "Body": s3_pointer.build_body(bucket, "ingest/exports/req-5")},
        {"MessageId": "m-2", "Body": json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})},
    ]

    def read(ref: str) -> bytes:
        return objects[ref.removeprefix(f"s3://{bucket}/")]

    result = reconcile(
        stream, rows, dlq, 0, read_body=read, payload_bucket=bucket, ingest_keys=sorted(objects)
    )
    problems = {(f.problem, f.request_id) for f in result.findings}
    print(result.report())
    assert ("lost", "req-1") in problems
    assert ("wrong ending", "req-2") in problems
    assert ("wrong ending", "req-3") in problems
    assert ("wrong ending", "req-4") in problems
    assert ("stored after non-2xx", "req-6") in problems
    assert ("phantom object", "req-9") in problems
    assert ("test event in DLQ", None) in problems
    assert not {rid for _, rid in problems} & {"req-0", "req-5"}, result.report()
    assert result.lost == 1


def test_s3_republished_envelope_names_the_rows_object(stack: AppliedStack) -> None:
    """docs/message-contract.md: an s3 source's envelope has the row's body_ref. Request A writes
    the row and the function dies before every publish (A ends in the DLQ, its row unpublished);
    the sender's resend B (same bytes, another request id, so another object) finds the row
    unpublished and publishes it: the envelope must still name A's object, the row's."""
    rng = random.Random(46)
    first = plan_accepted(valid_delivery(rng, _source(stack, "monorepo")))
    resend = plan_accepted(first.delivery, "sender_retry")
    crashing = _injector(publish_crash=1.0)
    crashing.respect_budget = False  # every receive dies before publishing: A goes to the DLQ
    with processing(stack, crashing):
        drive(stack, crashing, as_stream([first]), batch_size=1, senders=1, pollers=1, overlap=False)
    [row] = stack.scan_history()
    assert row["request_id"] == first.request_id and "published_at" not in row
    healthy = _injector()
    with processing(stack, healthy):
        drive(stack, healthy, as_stream([resend]), batch_size=1, senders=1, pollers=1, overlap=False)
    stack.collect_consumer_messages()
    [message] = [m for m in stack.inbox["audit"] if m.attributes.get("event_id") == row["event_id"]]
    assert json.loads(message.body)["body_ref"] == row["body_ref"]
