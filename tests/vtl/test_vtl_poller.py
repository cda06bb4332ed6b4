"""The event source mapping emulator: record format, batch settlement, retries and the DLQ."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from tests.harness.poller import EventSourceMappingPoller

MakeQueue = Callable[..., tuple[str, str]]


def send(sqs: Any, url: str, *bodies: str) -> None:
    for body in bodies:
        sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={
                "source": {"DataType": "String", "StringValue": "github"},
                "received_at_ms": {"DataType": "Number", "StringValue": "1700000000000"},
            },
        )


def test_records_have_the_lambda_sqs_event_shape(sqs: Any, make_queue: MakeQueue) -> None:
    _, url = make_queue()
    send(sqs, url, "héllo")
    events: list[dict[str, Any]] = []
    stats = EventSourceMappingPoller(sqs, url, lambda event, context: events.append(event)).drain()

    [record] = events[0]["Records"]
    assert set(record) >= {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["body"] == "héllo"
    assert record["md5OfBody"] == hashlib.md5("héllo".encode()).hexdigest()
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert int(record["attributes"]["SentTimestamp"]) > 0
    assert record["messageAttributes"]["received_at_ms"]["stringValue"] == "1700000000000"
    assert record["messageAttributes"]["received_at_ms"]["dataType"] == "Number"
    assert (record["eventSource"], record["awsRegion"]) == ("aws:sqs", "us-east-1")
    assert (stats.received, stats.deleted, stats.invocations) == (1, 1, 1)
    assert EventSourceMappingPoller(sqs, url, lambda e, c: None).approximate_count() == 0


def test_batches_respect_batch_size(sqs: Any, make_queue: MakeQueue) -> None:
    _, url = make_queue()
    send(sqs, url, *[f"m{i}" for i in range(25)])
    sizes: list[int] = []
    stats = EventSourceMappingPoller(
        sqs, url, lambda e, c: sizes.append(len(e["Records"])), batch_size=4
    ).drain()
    assert max(sizes) <= 4 and sum(sizes) == 25 == stats.deleted


def test_partial_batch_failure_retries_only_the_failed(sqs: Any, make_queue: MakeQueue) -> None:
    _, url = make_queue()
    send(sqs, url, "ok1", "fail-once", "ok2")
    attempts: dict[str, list[str]] = {}

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            counts = attempts.setdefault(record["body"], [])
            counts.append(record["attributes"]["ApproximateReceiveCount"])
            if record["body"] == "fail-once" and len(counts) == 1:
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    stats = EventSourceMappingPoller(sqs, url, handler).drain()
    assert attempts == {"ok1": ["1"], "ok2": ["1"], "fail-once": ["1", "2"]}
    assert (stats.deleted, stats.retried) == (3, 1)


@pytest.mark.parametrize(
    "outcome",
    [
        "raise",
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]},
        {"batchItemFailures": [{"wrong": "key"}]},
        "not a dict",
    ],
)
def test_whole_batch_fails_on_exception_or_invalid_report(
    sqs: Any, make_queue: MakeQueue, outcome: Any
) -> None:
    _, url = make_queue()
    send(sqs, url, "a", "b")
    calls: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        calls.append(len(event["Records"]))
        if len(calls) > 1:
            return None  # second delivery succeeds
        if outcome == "raise":
            raise RuntimeError("boom")
        return outcome

    poller = EventSourceMappingPoller(sqs, url, handler)
    stats = poller.drain()
    assert calls == [2, 2]
    assert (stats.retried, stats.deleted) == (2, 2)
    assert len(poller.errors) == (1 if outcome == "raise" else 0)


@pytest.mark.parametrize("result", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_empty_reports_are_full_success(sqs: Any, make_queue: MakeQueue, result: Any) -> None:
    _, url = make_queue()
    send(sqs, url, "a", "b")
    stats = EventSourceMappingPoller(sqs, url, lambda e, c: result).drain()
    assert (stats.deleted, stats.retried, stats.invocations) == (2, 0, 1)


def test_report_ignored_without_report_batch_item_failures(sqs: Any, make_queue: MakeQueue) -> None:
    _, url = make_queue()
    send(sqs, url, "a")

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}

    stats = EventSourceMappingPoller(sqs, url, handler, report_batch_item_failures=False).drain()
    assert (stats.deleted, stats.retried) == (1, 0)


def test_moto_moves_to_the_dlq_after_max_receive_count(sqs: Any, make_queue: MakeQueue) -> None:
    """SQS semantics: received maxReceiveCount times, then the next receive moves it to the DLQ."""
    name, url = make_queue(max_receive_count=2)
    send(sqs, url, "poison")
    counts: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        counts.extend(r["attributes"]["ApproximateReceiveCount"] for r in event["Records"])
        raise RuntimeError("always fails")

    poller = EventSourceMappingPoller(sqs, url, handler)
    stats = poller.drain(max_rounds=10)
    assert counts == ["1", "2"]
    assert stats.handler_errors == 2
    assert poller.approximate_count() == 0
    dlq = sqs.get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"]
    [dead] = sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert dead["Body"] == "poison"
    assert dead["MessageAttributes"]["source"]["StringValue"] == "github"


def test_without_dlq_drain_stops_at_max_rounds(sqs: Any, make_queue: MakeQueue) -> None:
    _, url = make_queue()
    send(sqs, url, "poison")

    def handler(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("always fails")

    poller = EventSourceMappingPoller(sqs, url, handler)
    stats = poller.drain(max_rounds=5)
    assert (stats.rounds, stats.invocations) == (5, 5)
    assert poller.approximate_count() == 1
