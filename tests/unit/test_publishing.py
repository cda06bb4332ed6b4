"""Publishing processed events to the event topic (issue 10, E2/E3), against moto in-process.

A consumer queue subscribed with raw message delivery shows exactly what SNS delivers; every
delivered envelope is validated against docs/event-envelope.schema.json.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from webhook_processor import handler
from webhook_processor.config import load_config
from webhook_processor.envelope import RECEIVED_BUCKETS, received_bucket
from webhook_processor.errors import ConfigError, TransientError
from webhook_processor.history import HistoryStore, WriteResult
from webhook_processor.publisher import Publisher

from tools.signing import sign

from .support import SOURCES, drain_queue
from .test_envelope import schema_validator

Run = Callable[..., handler.BatchResult]
GetRow = Callable[[str], "dict[str, Any] | None"]
MakeRecord = Callable[..., dict[str, Any]]

GITHUB_SECRET = SOURCES["github"][1]
STRIPE_SECRET = SOURCES["stripe"][1]
VALIDATOR = schema_validator()


@dataclass
class Delivered:
    envelope: dict[str, Any]
    attributes: dict[str, str]
    body: str  # the SQS message body: the envelope's JSON text


@dataclass
class Topic:
    arn: str
    queue_url: str

    def delivered(self) -> list[Delivered]:
        """Everything the consumer queue received since the last call (validated, then deleted)."""
        return [
            Delivered(
                envelope,
                {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()},
                message["Body"],
            )
            for envelope, message in drain_queue(self.queue_url, VALIDATOR.validate)
        ]

    def event_ids(self) -> list[str]:
        return [d.envelope["event_id"] for d in self.delivered()]


@pytest.fixture
def topic(account: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Topic:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    arn = sns.create_topic(Name="webhooks-events")["TopicArn"]
    url = sqs.create_queue(QueueName="consumer")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    monkeypatch.setenv("EVENT_TOPIC_ARN", arn)
    handler.reset()
    return Topic(arn, url)


@pytest.fixture
def publish_calls(topic: Topic) -> Iterator[list[int]]:
    """Entries per PublishBatch call the handler's SNS client makes (a botocore event hook)."""
    calls: list[int] = []
    handler._sns().meta.events.register(
        "before-parameter-build.sns.PublishBatch",
        lambda params, **_: calls.append(len(params["PublishBatchRequestEntries"])),
    )
    yield calls


def github_record(make_record: MakeRecord, body: bytes, **kwargs: Any) -> dict[str, Any]:
    assert GITHUB_SECRET is not None
    headers = sign("github", GITHUB_SECRET, body, event_type="push")
    return make_record("github", body, headers, **kwargs)


def gh_id(body: bytes) -> str:
    return f"github#sha256:{hashlib.sha256(body).hexdigest()}"


def redelivered(record: dict[str, Any], count: int = 2) -> dict[str, Any]:
    """The same SQS message again (visibility timeout, or a batch item failure)."""
    return dict(record, attributes={**record["attributes"], "ApproximateReceiveCount": str(count)})


def numbered(index: int) -> bytes:
    return json.dumps({"n": index, "type": "push"}).encode()


# --- exactly once, with the right envelope --------------------------------------------------------


def test_a_new_event_is_published_once_and_its_row_marked(
    run: Run, get_row: GetRow, make_record: MakeRecord, topic: Topic, publish_calls: list[int]
) -> None:
    body = b'{"ref":"refs/heads/main"}'
    record = github_record(make_record, body, request_id="req-1", delivery_id="d-1")
    result = run(record)
    assert result.response() == {"batchItemFailures": []}
    assert publish_calls == [1]
    (delivered,) = topic.delivered()
    envelope = delivered.envelope
    assert delivered.attributes == {
        "source": "github",
        "event_type": "push",
        "event_id": gh_id(body),
        "scheme": "github",
    }
    row = get_row(gh_id(body))
    assert row is not None
    assert envelope["event_id"] == row["event_id"] == gh_id(body)
    assert (envelope["source"], envelope["scheme"], envelope["event_type"]) == ("github", "github", "push")
    assert (envelope["delivery_id"], envelope["request_id"], envelope["replay_id"]) == ("d-1", "req-1", None)
    assert envelope["content_type"] == "application/json"
    assert (
        envelope["received_at"]
        == dt.datetime.fromtimestamp(int(row["received_at"]) / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[
            :-3
        ]
        + "Z"
    )
    assert (envelope["body"], envelope["json"], envelope["body_omitted"]) == (
        body.decode(),
        {"ref": "refs/heads/main"},
        False,
    )
    assert (envelope["body_size"], envelope["body_sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    assert row["processed_at"] <= row["published_at"]

    # SQS redelivers it, and GitHub sends it again as a new request: neither is published.
    again = run(redelivered(record), github_record(make_record, body, request_id="req-2"))
    assert [r.write for r in again.results] == [WriteResult.REDELIVERY, WriteResult.DUPLICATE]
    assert all(r.envelope is None for r in again.results)
    assert topic.delivered() == [] and publish_calls == [1]


def test_rejected_invalid_conflict_and_duplicates_are_never_published(
    run: Run, get_row: GetRow, make_record: MakeRecord, topic: Topic, publish_calls: list[int]
) -> None:
    body = b'{"action":"opened"}'
    real = github_record(make_record, body)
    forged = github_record(make_record, body)
    forged["body"] = body.decode() + " "  # tampered after signing: rejected
    invalid = github_record(make_record, b'{"broken":')  # verified, not JSON: invalid
    no_source = make_record("open", b"{}", {})
    no_source["messageAttributes"].pop("source")  # invalid (contract)
    first = make_record("open", b'{"v":1}', {"X-Delivery-Id": "same"})
    conflict = make_record("open", b'{"v":2}', {"X-Delivery-Id": "same"})  # same id, another body
    duplicate = github_record(make_record, body)  # a new request, same body
    result = run(real, forged, invalid, no_source, first, conflict, duplicate)
    assert [r.status for r in result.results] == [
        "processed",
        "rejected",
        "invalid",
        "invalid",
        "processed",
        "conflict",
        "processed",
    ]
    assert result.results[-1].write is WriteResult.DUPLICATE
    assert sorted(topic.event_ids()) == sorted([gh_id(body), "open#same"])
    assert publish_calls == [2]
    for outcome in result.results[1:4] + result.results[5:6]:
        row = get_row(outcome.event_id)  # type: ignore[arg-type]
        assert row is not None and "published_at" not in row


def test_replay_id_is_carried_into_the_envelope(run: Run, make_record: MakeRecord, topic: Topic) -> None:
    replayed = make_record("open", b'{"r":1}', {}, replay_id="replay-42")
    plain = make_record("open", b'{"r":2}', {})
    run(replayed, plain)
    by_body = {d.envelope["body"]: d.envelope for d in topic.delivered()}
    assert by_body['{"r":1}']["replay_id"] == "replay-42"
    assert by_body['{"r":2}']["replay_id"] is None


@pytest.mark.parametrize(
    ("body", "content_type", "expect_json"),
    [
        ('{"name":"caf\u00e9 \U0001f600","math":"1 & 2 + 3 = 6 %"}', "application/json", True),
        ("a=1&b=x+y&c=%26%2B%3D%25&d=caf%C3%A9 \u00e9", "application/x-www-form-urlencoded", False),
        ("plain & + = % \u2028 text\r\n", "text/plain", False),
        ('{"big": 1e400, "exact": 0.10000000000000000001}', "application/json", True),
        ('{"escaped":"\\ud800 \\u0000"}', "application/json", True),
        ('\n  [1, {"a": null}]  \n', "application/json", True),
    ],
    ids=["unicode-json", "form", "text", "numbers", "escapes", "whitespace"],
)
def test_the_body_is_byte_exact_in_the_envelope(
    run: Run, make_record: MakeRecord, topic: Topic, body: str, content_type: str, expect_json: bool
) -> None:
    record = make_record("open", body.encode(), {}, content_type=content_type)
    assert run(record).results[0].status == "processed"
    (delivered,) = topic.delivered()
    envelope = delivered.envelope
    assert envelope["body"].encode("utf-8") == body.encode("utf-8")
    assert envelope["content_type"] == content_type
    assert envelope["json"] == (json.loads(body) if expect_json else None)


def test_a_250_kb_body_is_published_as_a_reference(
    run: Run, get_row: GetRow, make_record: MakeRecord, topic: Topic
) -> None:
    body = json.dumps({"type": "big", "data": "z" * 250_000}).encode()
    assert len(body) > 250_000
    record = github_record(make_record, body)
    assert run(record).response() == {"batchItemFailures": []}
    (delivered,) = topic.delivered()
    envelope = delivered.envelope
    assert (envelope["body"], envelope["json"], envelope["body_omitted"]) == (None, None, True)
    assert envelope["event_id"] == gh_id(body)
    assert (envelope["body_size"], envelope["body_sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    assert len(delivered.body.encode()) < 4096
    # The consumer fetches the body from history by event id.
    row = get_row(envelope["event_id"])
    assert row is not None and row["body"].encode() == body and "published_at" in row


def test_a_body_that_fits_is_carried_whole(run: Run, make_record: MakeRecord, topic: Topic) -> None:
    body = ("t" * 200_000).encode()  # text: carried once (no parsed copy)
    run(make_record("open", body, {}, content_type="text/plain"))
    (delivered,) = topic.delivered()
    assert delivered.envelope["body_omitted"] is False
    assert delivered.envelope["body"].encode() == body


# --- batching ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "calls"), [(1, [1]), (10, [10]), (25, [10, 10, 5])])
def test_publish_batch_calls_carry_ten_entries(
    run: Run, make_record: MakeRecord, topic: Topic, publish_calls: list[int], count: int, calls: list[int]
) -> None:
    records = [github_record(make_record, numbered(i)) for i in range(count)]
    result = run(*records)
    assert result.response() == {"batchItemFailures": []}
    assert publish_calls == calls
    assert sorted(topic.event_ids()) == sorted(gh_id(numbered(i)) for i in range(count))


def test_only_events_to_publish_count_toward_a_call(
    run: Run, make_record: MakeRecord, topic: Topic, publish_calls: list[int]
) -> None:
    seen = [make_record("open", numbered(i), {}) for i in range(3)]
    run(*seen)
    assert publish_calls == [3]
    topic.delivered()
    mixed = [make_record("open", numbered(i), {}) for i in range(3)]  # duplicates of published rows
    mixed += [make_record("open", numbered(100 + i), {}) for i in range(10)]
    forged = github_record(make_record, b"{}")
    forged["body"] = "{ }"
    mixed.append(forged)
    run(*mixed)
    assert publish_calls == [3, 10]
    assert len(topic.delivered()) == 10


def test_a_duplicate_in_the_same_batch_is_not_published_twice(
    run: Run, get_row: GetRow, make_record: MakeRecord, topic: Topic, publish_calls: list[int]
) -> None:
    """The row stored earlier in the batch is not marked yet when its duplicate finds it."""
    body = b'{"twice":1}'
    first = github_record(make_record, body)
    result = run(first, github_record(make_record, body), first)  # a duplicate; the same message
    assert [r.write for r in result.results] == [
        WriteResult.STORED,
        WriteResult.DUPLICATE,
        WriteResult.REDELIVERY,
    ]
    assert publish_calls == [1] and topic.event_ids() == [gh_id(body)]
    assert "published_at" in get_row(gh_id(body))  # type: ignore[operator]


def test_large_envelopes_split_a_call_at_256_kib(
    run: Run, make_record: MakeRecord, topic: Topic, publish_calls: list[int]
) -> None:
    records = [
        make_record("open", (str(i) * 100_000).encode(), {}, content_type="text/plain") for i in range(4)
    ]
    assert run(*records).response() == {"batchItemFailures": []}
    assert publish_calls == [2, 2]
    assert all(not d.envelope["body_omitted"] for d in topic.delivered())


# --- no event lost between history and topic -------------------------------------------------------


class Crash(BaseException):
    """The process dying: nothing in the handler catches it."""


@pytest.mark.parametrize("then", ["redelivery", "duplicate"])
def test_a_crash_between_history_write_and_publish_is_published_later(
    run: Run,
    get_row: GetRow,
    make_record: MakeRecord,
    topic: Topic,
    monkeypatch: pytest.MonkeyPatch,
    then: str,
) -> None:
    body = b'{"crash":true}'
    record = github_record(make_record, body, request_id="req-crash")

    def crash(self: Publisher, envelopes: Any) -> Any:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(Publisher, "publish", crash)
        with pytest.raises(Crash):
            handler.lambda_handler({"Records": [record]}, None)
    row = get_row(gh_id(body))
    assert row is not None and "published_at" not in row  # written, never published
    assert topic.delivered() == []

    handler.reset()  # a fresh container picks the message up again
    retry = redelivered(record) if then == "redelivery" else github_record(make_record, body)
    result = run(retry)
    assert result.response() == {"batchItemFailures": []}
    assert result.results[0].write is (
        WriteResult.REDELIVERY if then == "redelivery" else WriteResult.DUPLICATE
    )
    (delivered,) = topic.delivered()
    assert delivered.envelope["event_id"] == gh_id(body)
    assert "published_at" in get_row(gh_id(body))  # type: ignore[operator]
    # Marked now: later deliveries publish nothing.
    run(redelivered(record, 3), github_record(make_record, body))
    assert topic.delivered() == []


def test_a_failed_publish_batch_entry_becomes_a_batch_item_failure(
    run: Run, get_row: GetRow, make_record: MakeRecord, topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [github_record(make_record, numbered(i)) for i in range(4)]
    client = handler._sns()
    real = client.publish_batch
    unlucky = gh_id(numbered(2))

    def publish_batch(**kwargs: Any) -> Any:
        entries = kwargs["PublishBatchRequestEntries"]
        keep = [e for e in entries if e["MessageAttributes"]["event_id"]["StringValue"] != unlucky]
        failed = [e for e in entries if e not in keep]
        response = real(**{**kwargs, "PublishBatchRequestEntries": keep})
        response["Failed"] = [
            {"Id": e["Id"], "Code": "InternalError", "SenderFault": False, "Message": "try again"}
            for e in failed
        ]
        return response

    monkeypatch.setattr(client, "publish_batch", publish_batch)
    result = run(*records)
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": records[2]["messageId"]}]}
    assert [(r.status, r.reason) for r in result.results] == [
        ("processed", None),
        ("processed", None),
        ("failed", "publish_failed"),
        ("processed", None),
    ]
    assert sorted(topic.event_ids()) == sorted(gh_id(numbered(i)) for i in (0, 1, 3))
    assert "published_at" not in get_row(unlucky)  # type: ignore[operator]

    monkeypatch.setattr(client, "publish_batch", real)
    retry = run(redelivered(records[2]))  # SQS hands the failed record back
    assert retry.response() == {"batchItemFailures": []}
    assert topic.event_ids() == [unlucky]
    assert "published_at" in get_row(unlucky)  # type: ignore[operator]


def test_a_failed_publish_batch_call_fails_its_records_only(
    run: Run, get_row: GetRow, make_record: MakeRecord, topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [github_record(make_record, numbered(i)) for i in range(12)]
    client = handler._sns()
    real = client.publish_batch
    calls: list[int] = []

    def publish_batch(**kwargs: Any) -> Any:
        calls.append(len(kwargs["PublishBatchRequestEntries"]))
        if len(calls) == 1:
            raise ClientError({"Error": {"Code": "Throttled", "Message": "slow down"}}, "PublishBatch")
        return real(**kwargs)

    monkeypatch.setattr(client, "publish_batch", publish_batch)
    result = run(*records)
    assert calls == [10, 2]
    assert result.failures == [r["messageId"] for r in records[:10]]
    assert sorted(topic.event_ids()) == sorted(gh_id(numbered(i)) for i in (10, 11))
    for i in range(10):
        row = get_row(gh_id(numbered(i)))
        assert row is not None and "published_at" not in row


def test_a_marker_that_cannot_be_written_leaves_the_record_done(
    run: Run, get_row: GetRow, make_record: MakeRecord, topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Published but not marked: the record is not retried (that would publish it again now);
    a later duplicate may publish it again: at least once, consumers dedupe by event_id."""

    def fail(self: HistoryStore, event_id: str, published_at_ms: int) -> bool:
        raise TransientError("ThrottlingException")

    with monkeypatch.context() as patch:
        patch.setattr(HistoryStore, "mark_published", fail)
        record = make_record("open", b'{"m":1}', {})
        assert run(record).response() == {"batchItemFailures": []}
        assert len(topic.delivered()) == 1
    run(make_record("open", b'{"m":1}', {}))
    assert len(topic.delivered()) == 1  # the duplicate found the row unmarked


def test_records_handed_back_at_the_deadline_leave_the_started_ones_published(
    run: Run, make_record: MakeRecord, topic: Topic, publish_calls: list[int]
) -> None:
    class Context:
        def __init__(self) -> None:
            self.values = [60_000, 30_000, handler.SAFETY_MARGIN_MS - 1]

        def get_remaining_time_in_millis(self) -> int:
            return self.values.pop(0) if len(self.values) > 1 else self.values[0]

    records = [make_record("open", numbered(i), {}) for i in range(4)]
    result = run(*records, context=Context())
    assert [r.status for r in result.results] == ["processed", "processed", "failed", "failed"]
    assert publish_calls == [2]
    assert len(topic.delivered()) == 2


# --- rows and configuration -----------------------------------------------------------------------


def test_every_row_the_processor_writes_has_its_received_day(
    run: Run, get_row: GetRow, make_record: MakeRecord, topic: Topic
) -> None:
    # Far ahead, so no row has expired (an expired row would be overwritten, not a conflict).
    just_before_midnight = int(dt.datetime(2099, 3, 1, 23, 59, 59, 999_000, dt.UTC).timestamp() * 1000)
    processed = make_record("open", b'{"d":1}', {"X-Delivery-Id": "day"}, received_at_ms=just_before_midnight)
    conflict = make_record(
        "open", b'{"d":2}', {"X-Delivery-Id": "day"}, received_at_ms=just_before_midnight + 1
    )
    rejected = github_record(make_record, b"{}", received_at_ms=just_before_midnight)
    rejected["body"] = "{ }"
    invalid = make_record("open", b"{", {}, received_at_ms=just_before_midnight + 1)
    results = run(processed, conflict, rejected, invalid).results
    assert [r.status for r in results] == ["processed", "conflict", "rejected", "invalid"]
    rows = [get_row(r.event_id) for r in results]  # type: ignore[arg-type]
    days = [row["received_day"] for row in rows]  # type: ignore[index]
    assert days == ["2099-03-01", "2099-03-02", "2099-03-01", "2099-03-02"]
    # The by_received key: the row's day and its event id's bucket.
    for row, result in zip(rows, results, strict=True):
        assert row["received_bucket"] == received_bucket(result.event_id, int(row["received_at"]))  # type: ignore[index,arg-type]
        assert row["received_bucket"].startswith(row["received_day"] + "#")  # type: ignore[index]


def test_received_buckets_spread_one_day_over_every_bucket() -> None:
    day_ms = int(dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC).timestamp() * 1000)
    buckets = [received_bucket(f"stripe#evt_{n}", day_ms) for n in range(1000)]
    counts = {b: buckets.count(b) for b in set(buckets)}
    assert sorted(counts) == [f"2026-11-27#{n}" for n in range(RECEIVED_BUCKETS)]
    # sha256 spreads evenly: no bucket holds more than twice its share.
    assert max(counts.values()) < 2 * 1000 / RECEIVED_BUCKETS
    assert received_bucket("stripe#evt_1", day_ms) == received_bucket("stripe#evt_1", day_ms + 1000)


def test_without_a_topic_nothing_is_published_and_no_sns_client_is_made(
    run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    result = run(make_record("open", b'{"off":1}', {}))
    (outcome,) = result.results
    assert outcome.status == "processed" and outcome.envelope is None
    assert handler.get_processor().publisher is None
    assert handler._sns.cache_info().currsize == 0
    row = get_row(outcome.event_id)  # type: ignore[arg-type]
    assert row is not None and "published_at" not in row and row["received_day"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("  ", None),
        (
            "arn:aws:sns:eu-west-1:123456789012:hooks-events",
            "arn:aws:sns:eu-west-1:123456789012:hooks-events",
        ),
    ],
)
def test_event_topic_arn_is_read_from_the_environment(value: str, expected: str | None) -> None:
    config = load_config({"TABLE_NAME": "t", "EVENT_TOPIC_ARN": value})
    assert config.event_topic_arn == expected


@pytest.mark.parametrize("value", ["hooks-events", "arn:aws:sqs:us-east-1:123456789012:q", "arn:aws:sns:::"])
def test_a_bad_event_topic_arn_is_a_configuration_error(value: str) -> None:
    with pytest.raises(ConfigError, match="EVENT_TOPIC_ARN"):
        load_config({"TABLE_NAME": "t", "EVENT_TOPIC_ARN": value})
