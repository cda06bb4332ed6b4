"""tools/webhookctl.py against the local account: list and replay the DLQ, list and show history.

The replay scenarios end with the reconciliation check: after the fault is removed and the
DLQ replayed, every request is in history exactly once.
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
from .faults import FaultInjector, FaultRates
from .local_stack import LocalStack
from .scenario import check, drain, drive, processing
from .stream import Planned, as_stream, plan_accepted, poison, valid_delivery

# One worker runs the whole suite in order, on one moto server.
pytestmark = pytest.mark.xdist_group("reliability")


def ctl(stack: LocalStack, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = webhookctl.main(["--endpoint-url", stack.endpoint_url, "--region", "us-east-1", *argv], out=out)
    return code, out.getvalue()


def ctl_json(stack: LocalStack, *argv: str) -> Any:
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
    ):
        assert word in text
    with pytest.raises(SystemExit) as exit_info:
        webhookctl.main(["dlq", "replay", "--dlq-url", "x"])  # --queue-url missing
    assert exit_info.value.code == 2


def test_poison_replayed_after_the_fault_is_removed_ends_in_history_once(stack: LocalStack) -> None:
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


def test_secrets_outage_then_replay(stack: LocalStack) -> None:
    """Secrets Manager is down for the whole run: signed deliveries exhaust their receives and
    land in the DLQ (never rejected for our fault); unsigned ones are processed. Once it is
    back, a replay processes each signed one exactly once (its signature attribute intact)."""
    rng = random.Random(12)
    signed = [plan_accepted(valid_delivery(rng, stack.sources[n])) for n in ("github", "stripe", "github")]
    unsigned = [plan_accepted(valid_delivery(rng, stack.sources["open"])) for _ in range(2)]
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


def _dlq_messages(stack: LocalStack, n: int) -> list[tuple[str, dict[str, Any]]]:
    """Messages put straight into the DLQ, with attributes as the API Gateway template writes them."""
    sent = []
    for i in range(n):
        body = json.dumps({"n": i, "text": "é & + = % \n 😀"}, ensure_ascii=False)
        attributes = {
            "source": {"DataType": "String", "StringValue": "open"},
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


def test_replay_is_partial_safe_and_preserves_messages(stack: LocalStack) -> None:
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


def test_history_list_filters_and_show(stack: LocalStack) -> None:
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
