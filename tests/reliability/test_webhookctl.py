"""tools/webhookctl.py against the local account: list and replay the DLQ, list, show and
requeue history.

The replay scenarios end with the reconciliation check: after the fault is removed and the
DLQ replayed (or the rejected rows requeued), every request is in history exactly once.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from typing import Any

import pytest

from tools import webhookctl

from .conftest import MAX_RECEIVE_COUNT
from .deployed import AppliedStack
from .faults import FaultInjector, FaultRates
from .scenario import check, drain, drive, processing
from .stream import Delivery, Planned, as_stream, plan_accepted, poison, valid_delivery

# One worker runs the whole suite in order, on one applied stack.
pytestmark = pytest.mark.xdist_group("applied-complete")


def ctl(stack: AppliedStack, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = webhookctl.main(["--endpoint-url", stack.endpoint_url, "--region", "us-east-1", *argv], out=out)
    return code, out.getvalue()


def ctl_json(stack: AppliedStack, *argv: str) -> Any:
    code, out = ctl(stack, "--json", *argv)
    assert code == 0, out
    return json.loads(out)


def test_help_describes_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        [],
        ["dlq"],
        ["dlq", "list"],
        ["dlq", "replay"],
        ["history"],
        ["history", "list"],
        ["history", "show"],
        ["history", "requeue"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            webhookctl.main([*argv, "--help"])
        assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for word in (
        "--endpoint-url",
        "--region",
        "--dlq-url",
        "--queue-url",
        "--max",
        "--since",
        "--status",
        "--event-id",
        "--reason",
        "--until",
        "--dry-run",
        "Scan",
    ):
        assert word in text
    with pytest.raises(SystemExit) as exit_info:
        webhookctl.main(["dlq", "replay", "--dlq-url", "x"])  # --queue-url missing
    assert exit_info.value.code == 2


def test_poison_replayed_after_the_fault_is_removed_ends_in_history_once(stack: AppliedStack) -> None:
    rng = random.Random(11)
    bad = plan_accepted(poison(valid_delivery(rng, stack.sources["github"])), "poison")
    bad.expected_end = "dlq"
    stream = as_stream([plan_accepted(valid_delivery(rng, stack.sources["stripe"])), bad])
    injector = FaultInjector(FaultRates(), random.Random(1), MAX_RECEIVE_COUNT)
    with processing(stack, injector):
        runners = [drive(stack, injector, stream, senders=1, pollers=1)]
        result = check(stack, stream, injector, runners)
        assert result.ok, result.report()

        [listed] = ctl_json(stack, "dlq", "list", "--queue-url", stack.dlq_url)
        assert (listed["source"], listed["request_id"]) == ("github", bad.request_id)
        assert listed["receive_count"] >= MAX_RECEIVE_COUNT
        assert listed["body"] == json.dumps(bad.delivery.body.decode()[:80], ensure_ascii=False)[1:-1]
        code, table = ctl(stack, "dlq", "list", "--queue-url", stack.dlq_url)
        assert code == 0 and bad.request_id in table and "1 message(s)" in table

        injector.poison_enabled = False  # the operator fixed the cause
        code, out = ctl(stack, "dlq", "replay", "--dlq-url", stack.dlq_url, "--queue-url", stack.queue_url)
        assert code == 0 and "replayed 1 message(s)" in out and bad.request_id in out
        assert stack.peek_queue(stack.dlq_url) == []
        runners.append(drain(stack, injector, senders=1, pollers=1))

    # Now it must be processed, once, under the event id its delivery gives.
    replayed = plan_accepted(bad.delivery, "poison")
    bad.expected_end, bad.expected_event_id = "processed", replayed.expected_event_id
    result = check(stack, stream, injector, runners)
    print(result.report())
    assert result.ok, result.report()
    assert injector.ledger.writes[bad.request_id] == ["stored"]

    row = ctl_json(stack, "history", "show", "--table", stack.table_name, "--event-id", bad.expected_event_id)
    assert (row["request_id"], row["status"], row["duplicate_count"]) == (bad.request_id, "processed", 0)
    assert row["receive_count"] == 1  # a fresh message in the main queue
    listed = ctl_json(stack, "history", "list", "--table", stack.table_name, "--source", "github")
    assert [r["request_id"] for r in listed] == [bad.request_id]


def test_secrets_outage_then_replay(stack: AppliedStack) -> None:
    """Secrets Manager is down for the whole run: signed deliveries exhaust their receives and
    land in the DLQ (never rejected for our fault); unsigned ones are processed. Once it is
    back, a replay processes each signed one exactly once (its signature attribute intact)."""
    rng = random.Random(12)
    signed = [plan_accepted(valid_delivery(rng, stack.sources[n])) for n in ("github", "stripe", "github")]
    unsigned = [plan_accepted(valid_delivery(rng, stack.sources["internal"])) for _ in range(2)]
    for request in signed:
        request.expected_end = "dlq"
    stream = as_stream([*signed, *unsigned])
    injector = FaultInjector(FaultRates(secrets=1.0, cold_start=1.0), random.Random(2), MAX_RECEIVE_COUNT)
    injector.respect_budget = False  # an outage, not a blip
    with processing(stack, injector):
        runners = [drive(stack, injector, stream, senders=1, pollers=1)]
        result = check(stack, stream, injector, runners)
        assert result.ok, result.report()
        assert len(stack.peek_queue(stack.dlq_url)) == 3

        injector.rates = FaultRates()  # Secrets Manager is back
        code, out = ctl(stack, "dlq", "replay", "--dlq-url", stack.dlq_url, "--queue-url", stack.queue_url)
        assert code == 0 and "replayed 3 message(s)" in out
        runners.append(drain(stack, injector, senders=1, pollers=1))
    for request in signed:
        request.expected_end = "processed"
    result = check(stack, stream, injector, runners)
    print(result.report())
    assert result.ok, result.report()


def _dlq_messages(stack: AppliedStack, n: int) -> list[tuple[str, dict[str, Any]]]:
    """Messages put straight into the DLQ, with attributes as the API Gateway template writes them."""
    sent = []
    for i in range(n):
        body = json.dumps({"n": i, "text": "é & + = % \n 😀"}, ensure_ascii=False)
        attributes = {
            "source": {"DataType": "String", "StringValue": "internal"},
            "request_id": {"DataType": "String", "StringValue": f"req-{i}"},
            "received_at_ms": {"DataType": "Number", "StringValue": "1700000000000"},
            "content_type": {"DataType": "String", "StringValue": "application/json"},
        }
        stack.sqs.send_message(QueueUrl=stack.dlq_url, MessageBody=body, MessageAttributes=attributes)
        sent.append((body, attributes))
    return sent


def _bodies_and_attributes(messages: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return sorted(
        (
            m["Body"],
            {
                k: {"DataType": v["DataType"], "StringValue": v["StringValue"]}
                for k, v in m["MessageAttributes"].items()
            },
        )
        for m in messages
    )


def test_replay_is_partial_safe_and_preserves_messages(stack: AppliedStack) -> None:
    sent = _dlq_messages(stack, 3)

    # The main queue is unreachable: nothing is deleted from the DLQ.
    missing = stack.queue_url.rsplit("/", 1)[0] + "/no-such-queue"
    code, out = ctl(stack, "dlq", "replay", "--dlq-url", stack.dlq_url, "--queue-url", missing)
    assert code == 1 and "error: could not replay" in out and "replayed 0 message(s)" in out
    assert len(stack.peek_queue(stack.dlq_url)) == 3

    # Stopped after one: one moved, two still in the DLQ, nothing lost.
    code, out = ctl(
        stack, "dlq", "replay", "--dlq-url", stack.dlq_url, "--queue-url", stack.queue_url, "--max", "1"
    )
    assert code == 0 and "replayed 1 message(s)" in out
    assert (len(stack.peek_queue(stack.dlq_url)), len(stack.peek_queue(stack.queue_url))) == (2, 1)

    code, out = ctl(stack, "dlq", "replay", "--dlq-url", stack.dlq_url, "--queue-url", stack.queue_url)
    assert code == 0 and "replayed 2 message(s)" in out
    assert stack.peek_queue(stack.dlq_url) == []
    assert _bodies_and_attributes(stack.peek_queue(stack.queue_url)) == sorted(sent)


def test_history_list_filters_and_show(stack: AppliedStack) -> None:
    rng = random.Random(13)
    processed = [plan_accepted(valid_delivery(rng, stack.sources["github"])) for _ in range(3)]
    forged = valid_delivery(rng, stack.sources["github"])
    forged.signing = "wrong_secret"
    rejected = plan_accepted(forged, "bad_signature")
    stream = as_stream([*processed, rejected])
    injector = FaultInjector(FaultRates(), random.Random(3), MAX_RECEIVE_COUNT)
    with processing(stack, injector):
        runner = drive(stack, injector, stream, senders=1, pollers=1)
    assert check(stack, stream, injector, [runner]).ok

    table = ["--table", stack.table_name, "--source", "github"]
    every = ctl_json(stack, "history", "list", *table)
    assert sorted(r["request_id"] for r in every) == sorted(r.request_id for r in stream.requests)
    assert [r["received_at"] for r in every] == sorted((r["received_at"] for r in every), reverse=True)
    only_rejected = ctl_json(stack, "history", "list", *table, "--status", "rejected")
    assert [(r["request_id"], r["reason"]) for r in only_rejected] == [
        (rejected.request_id, "signature_mismatch")
    ]
    assert ctl_json(stack, "history", "list", *table, "--limit", "2")[:2] == every[:2]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert ctl_json(stack, "history", "list", *table, "--since", future) == []
    assert len(ctl_json(stack, "history", "list", *table, "--since", "2020-01-01")) == 4
    assert ctl_json(stack, "history", "list", "--table", stack.table_name, "--source", "stripe") == []

    code, text = ctl(stack, "history", "list", *table, "--status", "processed")
    assert code == 0 and "RECEIVED (UTC)" in text and "3 row(s)" in text

    first: Planned = processed[0]
    shown = ctl_json(
        stack, "history", "show", "--table", stack.table_name, "--event-id", first.expected_event_id
    )
    assert shown["body"] == first.delivery.body.decode() and shown["status"] == "processed"
    code, text = ctl(
        stack,
        "history",
        "show",
        "--table",
        stack.table_name,
        "--event-id",
        first.expected_event_id,
        "--no-body",
    )
    assert code == 0 and '"body"' not in text and first.request_id in text
    code, text = ctl(stack, "history", "show", "--table", stack.table_name, "--event-id", "github#nope")
    assert code == 1 and "no history row" in text


# --------------------------------------------------------------------------- history requeue


def _rows(stack: AppliedStack) -> dict[str, dict[str, Any]]:
    return {row["event_id"]: row for row in stack.scan_history()}


def _replay_id(output: str) -> str:
    first = output.splitlines()[0]
    assert first.startswith("replay_id "), output
    return first.split()[1]


def test_secret_fixed_after_rejections_then_requeue(stack: AppliedStack) -> None:
    """The operator mistyped stripe's secret (PutSecretValue): its events are rejected (rows with
    body and message attributes). Once the secret is fixed, `history requeue` re-verifies them: each
    event ends as exactly one processed row under its event id, its rejected rows superseded.
    Requeueing twice (before the first run is processed) only re-delivers; a third run skips
    the superseded rows. A real forgery stays rejected."""
    rng = random.Random(21)
    stack.mistype_secret("stripe")
    stripe = stack.sources["stripe"]
    events = [plan_accepted(valid_delivery(rng, stripe), "secret_fixed_later") for _ in range(3)]
    resend = plan_accepted(events[0].delivery, "duplicate")
    real = events[1].delivery
    forged = plan_accepted(
        Delivery(stripe, real.body, real.content_type, real.delivery_id, real.event_type, "wrong_secret"),
        "forged",
    )
    bystander = plan_accepted(valid_delivery(rng, stack.sources["github"]))
    for request in (*events, resend):
        request.rejected_first = "signature_mismatch"
    stream = as_stream([*events, resend, forged, bystander])
    injector = FaultInjector(FaultRates(), random.Random(4), MAX_RECEIVE_COUNT)
    table = ["--table", stack.table_name]
    with processing(stack, injector):
        runners = [drive(stack, injector, stream, senders=1, pollers=1, overlap=False)]
        rows = _rows(stack)
        for request in (*events, resend, forged):
            row = rows[f"stripe#request:{request.request_id}"]
            assert (row["status"], row["reason"]) == ("rejected", "signature_mismatch")
            attributes = row["message_attributes"]
            assert attributes["request_id"] == request.request_id and attributes["source"] == "stripe"
            assert attributes["signature"] == request.delivery.headers()["Stripe-Signature"]
            assert attributes["received_at_ms"].isdigit()
            assert row["body"].encode() == request.delivery.body and not row["body_truncated"]

        # Dry runs: counts and what would be sent; nothing is sent.
        code, out = ctl(stack, "history", "requeue", *table, "--source", "stripe", "--dry-run")
        assert code == 0, out
        assert "would requeue 5 row(s)" in out and '"replay_id": "rq-' in out and "received_at_ms" in out
        assert stack.queue_depth(stack.queue_url) == 0
        every = ctl_json(stack, "history", "requeue", *table, "--dry-run")  # no --source: a scan
        assert sorted(r["request_id"] for r in every["requeued"]) == sorted(
            r.request_id for r in (*events, resend, forged)
        )
        assert every["dry_run"] and every["refused"] == [] and "message_id" not in every["requeued"][0]
        assert (
            ctl_json(
                stack,
                "history",
                "requeue",
                *table,
                "--source",
                "stripe",
                "--reason",
                "stale_timestamp",
                "--dry-run",
            )["requeued"]
            == []
        )
        before = ctl_json(
            stack, "history", "requeue", *table, "--source", "stripe", "--until", "2020-01-01", "--dry-run"
        )
        assert before["requeued"] == []
        tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
        window = ["--since", "2020-01-01", "--until", tomorrow, "--dry-run"]
        assert (
            len(ctl_json(stack, "history", "requeue", *table, "--source", "stripe", *window)["requeued"]) == 5
        )
        one = ctl_json(
            stack,
            "history",
            "requeue",
            *table,
            "--event-id",
            f"stripe#request:{events[2].request_id}",
            "--dry-run",
        )
        assert [r["request_id"] for r in one["requeued"]] == [events[2].request_id]
        message = one["requeued"][0]["message_attributes"]
        assert message["replay_id"] == one["replay_id"] and message["request_id"] == events[2].request_id
        assert stack.queue_depth(stack.queue_url) == 0

        # The fix, then two requeue runs before any of it is processed.
        stack.fix_secret("stripe")
        injector.forget_secrets()
        requeue = ["history", "requeue", *table, "--source", "stripe", "--queue-url", stack.queue_url]
        code, first = ctl(stack, *requeue)
        assert code == 0 and "requeued 5 row(s)" in first, first
        code, second = ctl(stack, *requeue)
        assert code == 0 and "requeued 5 row(s)" in second, second
        replay_ids = {_replay_id(first), _replay_id(second)}
        assert len(replay_ids) == 2
        sent = stack.peek_queue(stack.queue_url)
        assert len(sent) == 10
        for message_ in sent:
            attributes_ = message_["MessageAttributes"]
            assert attributes_["received_at_ms"]["DataType"] == "Number"
            assert attributes_["replay_id"]["StringValue"] in replay_ids
            assert all(v["DataType"] == "String" for k, v in attributes_.items() if k != "received_at_ms")
        runners.append(drain(stack, injector, senders=1, pollers=1, overlap=False))

        # A third run: the recovered rows are skipped, the forgery is tried (and stays rejected).
        code, third = ctl(stack, *requeue)
        assert code == 0 and "skipped 4 already superseded" in third and "requeued 1 row(s)" in third, third
        runners.append(drain(stack, injector, senders=1, pollers=1, overlap=False))

    result = check(stack, stream, injector, runners)
    print(result.report())
    assert result.ok, result.report()
    rows = _rows(stack)
    processed = [row for row in rows.values() if row["status"] == "processed" and row["source"] == "stripe"]
    assert sorted(row["event_id"] for row in processed) == sorted(r.expected_event_id for r in events)
    for request in events:
        row = rows[request.expected_event_id]
        assert row["replay_id"] in replay_ids
        assert rows[f"stripe#request:{request.request_id}"]["superseded_by"] == request.expected_event_id
    assert rows[events[0].expected_event_id]["duplicate_count"] == 1
    assert rows[f"stripe#request:{resend.request_id}"]["superseded_by"] == events[0].expected_event_id
    forged_row = rows[f"stripe#request:{forged.request_id}"]
    assert forged_row["status"] == "rejected" and "superseded_by" not in forged_row
    # Each event stored once; every later copy a redelivery of the same request.
    for request in (*events, resend):
        outcomes = injector.ledger.outcomes[request.request_id]
        assert outcomes[0] == ("rejected", "stored")
        assert sum(1 for status, write in outcomes if status == "processed" and write != "redelivery") == 1
        assert outcomes.count(("processed", "redelivery")) == 1
    assert (
        injector.ledger.outcomes[forged.request_id]
        == [("rejected", "stored")] + [("rejected", "redelivery")] * 3
    )


def test_requeue_refuses_truncated_and_legacy_rows(stack: AppliedStack) -> None:
    """A row whose body was cut can never verify again, and one written before message attributes
    were stored has no signature to verify: both are refused (and counted), nothing is sent;
    an already superseded row is skipped."""
    injector = FaultInjector(FaultRates(), random.Random(5), MAX_RECEIVE_COUNT)
    big = json.dumps({"pad": "é" * 3000})  # 6 KB: more than INVALID_BODY_BYTES
    attributes = {
        "source": {"DataType": "String", "StringValue": "internal"},
        "request_id": {"DataType": "String", "StringValue": "req-not-from-our-template"},
        "content_type": {"DataType": "String", "StringValue": "application/json"},
    }  # no received_at_ms: a message not written by our template is recorded invalid
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=big, MessageAttributes=attributes)
    with processing(stack, injector):
        drain(stack, injector, senders=1, pollers=1)
    [invalid] = stack.scan_history()
    assert (invalid["status"], invalid["reason"], invalid["body_truncated"]) == (
        "invalid",
        "missing_received_at",
        True,
    )
    assert invalid["message_attributes"]["request_id"] == "req-not-from-our-template"

    legacy = {  # a rejected row as the processor wrote it before issue 9
        "event_id": {"S": "github#request:legacy"},
        "source": {"S": "github"},
        "status": {"S": "rejected"},
        "reason": {"S": "signature_mismatch"},
        "request_id": {"S": "legacy"},
        "received_at": {"N": "1700000000000"},
        "body": {"S": "{}"},
        "body_truncated": {"BOOL": False},
    }
    stack.dynamodb.put_item(TableName=stack.table_name, Item=legacy)
    recovered = {
        **legacy,
        "event_id": {"S": "github#request:recovered"},
        "request_id": {"S": "recovered"},
        "superseded_by": {"S": "github#sha256:0000"},
        "message_attributes": {"M": {"source": {"S": "github"}}},
    }
    stack.dynamodb.put_item(TableName=stack.table_name, Item=recovered)

    table = ["--table", stack.table_name, "--queue-url", stack.queue_url]
    code, out = ctl(stack, "history", "requeue", *table, "--source", "internal", "--status", "invalid")
    assert code == 1, out
    assert f"refused {invalid['event_id']}: its body was truncated" in out
    assert "requeued 0 row(s)" in out and "refused 1 (truncated: 1)" in out
    code, out = ctl(stack, "history", "requeue", *table, "--source", "github")
    assert code == 1, out
    assert "refused github#request:legacy: the row has no message_attributes" in out
    assert "skipped github#request:recovered: already recovered" in out
    assert "skipped 1 already superseded; refused 1 (no_message_attributes: 1)" in out
    code, out = ctl(stack, "--json", "history", "requeue", *table, "--event-id", "github#request:nope")
    assert code == 1 and json.loads(out)["refused"][0]["refused"] == "no history row with this event_id"
    assert stack.queue_depth(stack.queue_url) == 0

    code, out = ctl(stack, "history", "requeue", "--table", stack.table_name, "--source", "github")
    assert code == 2 and "--queue-url is required" in out
    with pytest.raises(SystemExit):
        webhookctl.main(["history", "requeue", "--table", "t", "--event-id", "x", "--source", "github"])
