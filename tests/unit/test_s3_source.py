"""Issue 14 part 2: a ``payload_store = "s3"`` source, end to end in-process.

moto plays the edge's second half: the test writes the object as API Gateway's S3 integration
does (key ``ingest/<source>/<request id>``, the headers as ``x-amz-meta-*``, Content-Type), moto
sends the bucket's event notification to the main queue itself (quote_plus-encoded key, and a
test event when the configuration is put), and the real handler (handler.process_batch) gets
the message received from that queue. Rows, envelopes and webhookctl are then checked.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from webhook_processor import handler
from webhook_processor.contract import record_from_sqs_message
from webhook_processor.history import WriteResult
from webhook_processor.s3_pointer import build_body

from tools import webhookctl
from tools.signing import sign

from .support import HEADER_ATTRIBUTES, SOURCES, TABLE_NAME, now_ms, scheme_of
from .test_envelope import schema_validator

Run = Callable[..., handler.BatchResult]
GetRow = Callable[[str], "dict[str, Any] | None"]

BUCKET = "webhooks-unit-payloads"
# Small, so short test bodies cross it; the rule is the same at 350,000.
LIMIT = 1000
GITHUB_SECRET = SOURCES["github"][1]
HMAC_SECRET = SOURCES["generic_hex"][1]
assert GITHUB_SECRET is not None and HMAC_SECRET is not None
# s3 source -> the test source whose scheme, settings and secret it copies.
S3_SOURCES = {"gh_s3": "github", "hmac_s3": "generic_hex", "open_s3": "open"}
VALIDATOR = schema_validator()


@dataclass
class Edge:
    """The payload bucket, notifying the main queue of every ingest/ object."""

    queue_url: str
    test_event: dict[str, Any]  # the record of the s3:TestEvent S3 sent when configured

    def put(
        self,
        source: str,
        body: bytes,
        headers: dict[str, str],
        *,
        content_type: str | None = "application/json",
        request_id: str | None = None,
        metadata: dict[str, str] | None = None,
        drop: tuple[str, ...] = (),
    ) -> str:
        """Write the object as the S3 integration does; its request id. ``metadata`` overrides
        entries, ``drop`` leaves some out (a header the request did not carry)."""
        request_id = request_id or str(uuid.uuid4())
        scheme = scheme_of(S3_SOURCES.get(source, source))
        lowered = {k.lower(): v for k, v in headers.items()}
        meta = {
            "source": source,
            "request-id": request_id,
            "received-at-ms": str(now_ms()),
            "source-ip": "203.0.113.10",
        }
        for attribute, header in HEADER_ATTRIBUTES[scheme].items():
            if header.lower() in lowered:
                meta[attribute.replace("_", "-")] = lowered[header.lower()]
        meta.update(metadata or {})
        for name in drop:
            meta.pop(name, None)
        extra = {"ContentType": content_type} if content_type else {}
        boto3.client("s3").put_object(
            Bucket=BUCKET, Key=f"ingest/{source}/{request_id}", Body=body, Metadata=meta, **extra
        )
        return request_id

    def records(self) -> list[dict[str, Any]]:
        """Every message on the main queue as a Lambda SQS record (deleted from the queue)."""
        sqs = boto3.client("sqs")
        found = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(record_from_sqs_message(message))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def deliver(self, source: str, body: bytes, headers: dict[str, str], **kwargs: Any) -> tuple[str, dict]:
        """put(), then the one notification it caused: (request id, record)."""
        request_id = self.put(source, body, headers, **kwargs)
        (record,) = self.records()
        return request_id, record


@pytest.fixture
def edge(account: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Edge:
    sources = json.loads(account["WEBHOOK_SOURCES"])
    for name, like in S3_SOURCES.items():
        sources[name] = {**sources[like], "payload_store": "s3"}
    account["WEBHOOK_SOURCES"] = json.dumps(sources)
    monkeypatch.setenv("WEBHOOK_SOURCES", account["WEBHOOK_SOURCES"])
    monkeypatch.setenv("PAYLOAD_BUCKET", BUCKET)
    monkeypatch.setenv("MAX_STORED_BODY_BYTES", str(LIMIT))
    handler.reset()
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    s3.create_bucket(Bucket=BUCKET)
    url = sqs.create_queue(QueueName="webhooks-main")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "ingest",
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "ingest/"}]}},
                }
            ]
        },
    )
    edge = Edge(url, {})
    (edge.test_event,) = edge.records()
    return edge


@pytest.fixture
def topic(edge: Edge, monkeypatch: pytest.MonkeyPatch) -> str:
    """The event topic, subscribed by a raw-delivery queue; its URL."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="published")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="webhooks-unit-events")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    monkeypatch.setenv("EVENT_TOPIC_ARN", topic)
    handler.reset()
    return url


def envelopes(url: str) -> list[dict[str, Any]]:
    """Every envelope on the queue (deleted), each checked against the schema, body_ref's
    ingest/ pattern included."""
    sqs = boto3.client("sqs")
    found = []
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        document = json.loads(message["Body"])
        VALIDATOR.validate(document)
        found.append(document)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def github(body: bytes, secret: str = GITHUB_SECRET) -> dict[str, str]:
    return sign("github", secret, body, event_type="push")


def hmac_signed(body: bytes, secret: str = HMAC_SECRET) -> dict[str, str]:
    headers = sign("hmac_sha256", secret, body, hmac_header="X-Signature", hmac_prefix="sha256=")
    return {**headers, "X-Event-Type": "blob.uploaded"}


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def ref(source: str, request_id: str) -> str:
    return f"s3://{BUCKET}/ingest/{source}/{request_id}"


def keys() -> list[str]:
    return sorted(o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", []))


def get_object_calls() -> list[str]:
    """The keys of every GetObject the processor's S3 client makes from now on."""
    calls: list[str] = []
    handler._s3().meta.events.register(
        "before-call.s3.GetObject", lambda params, **_: calls.append(params["url_path"])
    )
    return calls


def body_of(size: int) -> bytes:
    head, tail = b'{"note":"caf\xc3\xa9","pad":"', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def ctl(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return webhookctl.main(["--region", "us-east-1", *argv], out=out), out.getvalue()


def put_secret(account: dict[str, str], source: str, value: str) -> None:
    arn = json.loads(account["WEBHOOK_SOURCES"])[source]["secret_arn"]
    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=value)
    handler.reset()


# --- processed ------------------------------------------------------------------------------------


def test_a_short_object_is_processed_its_row_naming_it_and_keeping_the_text(
    edge: Edge, run: Run, get_row: GetRow
) -> None:
    body = b'{"action":"opened","note":"caf\xc3\xa9"}'
    headers = github(body)
    request_id, record = edge.deliver("gh_s3", body, headers)
    assert "messageAttributes" in record and record["messageAttributes"] == {}  # S3 sets none
    batch = run(record)
    assert batch.failures == []
    (result,) = batch.results
    assert (result.status, result.write, result.event_id) == (
        "processed",
        WriteResult.STORED,
        f"gh_s3#sha256:{sha(body)}",
    )
    row = get_row(result.event_id)
    assert row is not None
    assert (row["status"], row["source"], row["scheme"], row["request_id"]) == (
        "processed",
        "gh_s3",
        "github",
        request_id,
    )
    assert row["body_ref"] == ref("gh_s3", request_id)
    assert (row["body_size"], row["body_sha256"]) == (len(body), sha(body))
    assert row["body"].encode("utf-8") == body and row["body_truncated"] is False
    assert (row["event_type"], row["delivery_id"]) == ("push", headers["X-GitHub-Delivery"])
    assert row["content_type"] == "application/json" and row["source_ip"] == "203.0.113.10"
    assert keys() == [f"ingest/gh_s3/{request_id}"]  # no copy under bodies/


def test_an_object_above_the_row_limit_keeps_no_inline_body(edge: Edge, run: Run, get_row: GetRow) -> None:
    at_limit, over = body_of(LIMIT), body_of(LIMIT + 1)
    first = edge.deliver("gh_s3", at_limit, github(at_limit))
    second = edge.deliver("gh_s3", over, github(over))
    assert [r.status for r in run(first[1], second[1]).results] == ["processed", "processed"]
    kept, offloaded = get_row(f"gh_s3#sha256:{sha(at_limit)}"), get_row(f"gh_s3#sha256:{sha(over)}")
    assert (
        kept is not None and kept["body"].encode() == at_limit and kept["body_ref"] == ref("gh_s3", first[0])
    )
    assert offloaded is not None and offloaded["body_ref"] == ref("gh_s3", second[0])
    assert "body" not in offloaded and "body_truncated" not in offloaded
    assert (offloaded["body_size"], offloaded["body_sha256"]) == (len(over), sha(over))
    assert all(key.startswith("ingest/") for key in keys())


def test_a_5_mb_github_body_is_verified_over_its_bytes(edge: Edge, run: Run, get_row: GetRow) -> None:
    body = json.dumps({"blob": "é" * (5 * 1024 * 1024 // 2)}).encode("utf-8")
    assert len(body) > 5 * 1024 * 1024
    request_id, record = edge.deliver("gh_s3", body, github(body))
    (result,) = run(record).results
    assert result.status == "processed", result
    row = get_row(f"gh_s3#sha256:{sha(body)}")
    assert row is not None and row["body_sha256"] == sha(body) and row["body_size"] == len(body)
    assert "body" not in row and row["body_ref"] == ref("gh_s3", request_id)


def test_a_non_utf8_body_signed_with_hmac_sha256_is_verified_byte_exact(
    edge: Edge, run: Run, get_row: GetRow
) -> None:
    body = bytes(range(256)) * 4  # every byte value: not UTF-8
    request_id, record = edge.deliver(
        "hmac_s3", body, hmac_signed(body), content_type="application/octet-stream"
    )
    (result,) = run(record).results
    assert result.status == "processed", result
    row = get_row(f"hmac_s3#sha256:{sha(body)}")
    assert row is not None and row["body_sha256"] == sha(body) and row["body_size"] == len(body)
    assert "body" not in row  # no text to keep, even under the limit
    assert row["event_type"] == "blob.uploaded"  # from the header: the body parses as nothing
    assert row["content_type"] == "application/octet-stream"
    assert (
        boto3.client("s3").get_object(Bucket=BUCKET, Key=f"ingest/hmac_s3/{request_id}")["Body"].read()
        == body
    )

    # One byte changed after signing: the signature covers the exact bytes.
    tampered = body[:-1] + b"\x00"
    _, record = edge.deliver("hmac_s3", tampered, hmac_signed(body), content_type="application/octet-stream")
    (result,) = run(record).results
    assert (result.status, result.reason) == ("rejected", "signature_mismatch")


def test_non_utf8_bytes_declared_as_json_are_an_invalid_row_naming_the_object(
    edge: Edge, run: Run, get_row: GetRow
) -> None:
    body = b'{"type":"x","v":"\xff"}'
    request_id, record = edge.deliver("hmac_s3", body, hmac_signed(body))
    (result,) = run(record).results
    assert (result.status, result.reason) == ("invalid", "invalid_json")
    row = get_row(f"hmac_s3#request:{request_id}")
    assert row is not None and row["body_ref"] == ref("hmac_s3", request_id) and "body" not in row


def test_a_missing_received_at_metadata_falls_back_to_the_event_time(
    edge: Edge, run: Run, get_row: GetRow
) -> None:
    body = b'{"a":1}'
    before = now_ms()
    _, record = edge.deliver("open_s3", body, {"X-Event-Type": "t"}, drop=("received-at-ms",))
    (result,) = run(record).results
    assert result.status == "processed", result
    row = get_row(f"open_s3#sha256:{sha(body)}")
    assert row is not None and before - 1000 <= row["received_at"] <= now_ms()


# --- rejected, invalid, failed --------------------------------------------------------------------


def test_a_forged_signature_is_a_rejected_row_with_body_ref(
    edge: Edge, run: Run, get_row: GetRow, account: dict[str, str]
) -> None:
    body = b'{"action":"deleted"}'
    headers = github(body, secret="not the secret")
    request_id, record = edge.deliver("gh_s3", body, headers)
    (result,) = run(record).results
    assert (result.status, result.reason) == ("rejected", "signature_mismatch")
    row = get_row(f"gh_s3#request:{request_id}")
    assert row is not None and row["status"] == "rejected"
    assert row["body_ref"] == ref("gh_s3", request_id) and row["body_sha256"] == sha(body)
    assert row["message_attributes"]["signature"] == headers["X-Hub-Signature-256"]
    assert row["message_attributes"]["request_id"] == request_id
    assert get_row(f"gh_s3#sha256:{sha(body)}") is None


def test_a_missing_object_is_a_batch_item_failure_and_writes_no_row(edge: Edge, run: Run, table: Any) -> None:
    body = b"{}"
    request_id, record = edge.deliver("gh_s3", body, github(body))
    boto3.client("s3").delete_object(Bucket=BUCKET, Key=f"ingest/gh_s3/{request_id}")
    batch = run(record)
    assert batch.response() == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert [(r.status, r.reason, r.source) for r in batch.results] == [
        ("failed", "payload_store_get_failed", "gh_s3")  # the metrics' Source, from the key
    ]
    assert table.scan()["Items"] == []


def test_a_foreign_bucket_is_an_invalid_row_and_nothing_is_read(
    edge: Edge, run: Run, get_row: GetRow, table: Any
) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="someone-elses")
    body = b'{"x":1}'
    s3.put_object(Bucket="someone-elses", Key="ingest/gh_s3/req-f", Body=body, Metadata={"source": "gh_s3"})
    calls = get_object_calls()
    pointer = {
        **edge.test_event,
        "messageId": "m-foreign",
        "body": build_body("someone-elses", "ingest/gh_s3/req-f"),
    }
    batch = run(pointer)
    assert batch.failures == [] and calls == []
    (result,) = batch.results
    assert (result.status, result.reason) == ("invalid", "foreign_bucket")
    row = get_row("_missing#request:s3:someone-elses/ingest/gh_s3/req-f")
    assert row is not None and row["status"] == "invalid" and "body_ref" not in row
    assert json.loads(row["body"])["Records"][0]["s3"]["bucket"]["name"] == "someone-elses"
    assert get_row("gh_s3#request:req-f") is None  # never the key of a real request
    assert len(table.scan()["Items"]) == 1


@pytest.mark.parametrize(
    ("key", "reason", "event_id"),
    [
        ("ingest/gh_s3", "malformed_key", "_missing#request:s3:{bucket}/ingest/gh_s3"),
        ("ingest/gh_s3/a/b", "malformed_key", "_missing#request:s3:{bucket}/ingest/gh_s3/a/b"),
    ],
)
def test_a_key_that_names_no_s3_source_is_an_invalid_row_and_nothing_is_read(
    edge: Edge, run: Run, get_row: GetRow, key: str, reason: str, event_id: str
) -> None:
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"{}", Metadata={"source": key.split("/")[1]})
    (record,) = edge.records()
    calls = get_object_calls()
    batch = run(record)
    assert batch.failures == [] and calls == []
    assert [(r.status, r.reason) for r in batch.results] == [("invalid", reason)]
    row = get_row(event_id.format(bucket=BUCKET))
    assert row is not None and row["reason"] == reason


@pytest.mark.parametrize(
    ("key", "reason"),
    [("ingest/nowhere/req-1", "unknown_source"), ("ingest/github/req-1", "not_s3_source")],
)
def test_an_object_of_a_removed_or_moved_source_is_retried_into_the_dlq(
    edge: Edge, run: Run, table: Any, key: str, reason: str
) -> None:
    """The operator removed the source, or moved it back to the queue, while its messages were
    in flight: like the queue path, the message is retried (then kept in the DLQ, where `dlq
    replay` recovers it once the source is back), never a permanent invalid row."""
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"{}", Metadata={"source": key.split("/")[1]})
    (record,) = edge.records()
    calls = get_object_calls()
    batch = run(record)
    assert batch.failures == [record["messageId"]] and calls == []
    assert [(r.status, r.reason) for r in batch.results] == [("failed", reason)]
    assert table.scan()["Items"] == []


def test_metadata_naming_another_source_is_an_invalid_row(edge: Edge, run: Run, get_row: GetRow) -> None:
    body = b'{"x":1}'
    request_id, record = edge.deliver("gh_s3", body, github(body), metadata={"source": "github"})
    (result,) = run(record).results
    assert (result.status, result.reason) == ("invalid", "source_mismatch")
    row = get_row(f"gh_s3#request:{request_id}")
    assert row is not None and row["body_ref"] == ref("gh_s3", request_id)


# --- at least once: duplicates, the test event ------------------------------------------------------


def test_two_notifications_of_one_object_are_one_row_and_a_counted_duplicate(
    edge: Edge, run: Run, get_row: GetRow, table: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    body = b'{"n":1}'
    _, record = edge.deliver("gh_s3", body, github(body))
    again = {**record, "messageId": str(uuid.uuid4()), "receiptHandle": "another"}  # S3 sent it twice
    capsys.readouterr()
    results = run(record).results + run(again).results
    assert [(r.status, r.write) for r in results] == [
        ("processed", WriteResult.STORED),
        ("processed", WriteResult.REDELIVERY),  # the same request id: the same delivery
    ]
    assert [item["event_id"] for item in table.scan()["Items"]] == [f"gh_s3#sha256:{sha(body)}"]
    # Counted as a duplicate in the metrics; duplicate_count counts a sender's own retries
    # (another request id), and this is not one.
    statuses = [json.loads(line).get("Status") for line in capsys.readouterr().out.splitlines()]
    assert statuses.count("processed") == 1 and statuses.count("duplicate") == 1
    row = get_row(f"gh_s3#sha256:{sha(body)}")
    assert row is not None and row["duplicate_count"] == 0


def test_a_sender_retry_is_a_second_object_and_a_duplicate_count(
    edge: Edge, run: Run, get_row: GetRow
) -> None:
    body = b'{"n":2}'
    headers = github(body)
    first = edge.deliver("gh_s3", body, headers)[1]
    second = edge.deliver("gh_s3", body, headers)[1]
    assert [r.write for r in run(first, second).results] == [WriteResult.STORED, WriteResult.DUPLICATE]
    row = get_row(f"gh_s3#sha256:{sha(body)}")
    assert row is not None and row["duplicate_count"] == 1 and len(keys()) == 2


def test_the_test_event_is_acknowledged_counted_and_recorded_nowhere(
    edge: Edge, run: Run, table: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert json.loads(edge.test_event["body"])["Event"] == "s3:TestEvent"  # moto sent it
    capsys.readouterr()
    batch = run(edge.test_event)
    assert batch.response() == {"batchItemFailures": []}
    assert [(r.status, r.reason) for r in batch.results] == [("ignored", "s3_test_event")]
    assert table.scan()["Items"] == []
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    counted = [d for d in docs if d.get("Status") == "ignored"]
    assert [(d["Reason"], d["Webhooks"], d["Source"]) for d in counted] == [("s3_test_event", 1, "_other")]


def test_a_notification_of_several_objects_records_each(edge: Edge, run: Run, get_row: GetRow) -> None:
    bodies = [b'{"k":1}', b'{"k":2}']
    ids = [edge.put("gh_s3", b, github(b)) for b in bodies]
    records = edge.records()
    merged = [json.loads(r["body"])["Records"][0] for r in records]
    batch = run({**records[0], "body": json.dumps({"Records": merged})})
    assert [r.status for r in batch.results] == ["processed", "processed"] and batch.failures == []
    for body, request_id in zip(bodies, ids, strict=True):
        row = get_row(f"gh_s3#sha256:{sha(body)}")
        assert row is not None and row["body_ref"] == ref("gh_s3", request_id)


# --- the envelope ------------------------------------------------------------------------------------


def test_the_envelope_carries_body_ref_and_the_body_as_the_row_does(edge: Edge, run: Run, topic: str) -> None:
    short = b'{"type":"short","v":"caf\xc3\xa9"}'
    binary = b"\x00\xff\xfe" * 10
    short_id, short_record = edge.deliver("hmac_s3", short, hmac_signed(short))
    binary_id, binary_record = edge.deliver(
        "hmac_s3", binary, hmac_signed(binary), content_type="application/octet-stream"
    )
    assert [r.status for r in run(short_record, binary_record).results] == ["processed", "processed"]
    found = {e["body_sha256"]: e for e in envelopes(topic)}
    inline, reference = found[sha(short)], found[sha(binary)]
    assert inline["body"].encode("utf-8") == short and inline["json"] == json.loads(short)
    assert inline["body_omitted"] is False and inline["body_ref"] == ref("hmac_s3", short_id)
    assert reference["body_omitted"] is True and reference["body"] is None and reference["json"] is None
    assert reference["body_ref"] == ref("hmac_s3", binary_id) and reference["body_size"] == len(binary)


# --- webhookctl -----------------------------------------------------------------------------------------


def test_history_show_body_out_writes_the_exact_bytes_of_the_object(
    edge: Edge, run: Run, tmp_path: Path
) -> None:
    body = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    _, record = edge.deliver("hmac_s3", body, hmac_signed(body), content_type="image/png")
    (result,) = run(record).results
    assert result.status == "processed" and result.event_id is not None
    target = tmp_path / "body.bin"
    code, printed = ctl(
        "history", "show", "--table", TABLE_NAME, "--event-id", result.event_id, "--body-out", str(target)
    )
    assert code == 0, printed
    assert target.read_bytes() == body
    assert json.loads(printed)["body_out"] == {"path": str(target), "bytes": len(body)}


def test_history_show_body_out_refuses_an_object_changed_since(edge: Edge, run: Run, tmp_path: Path) -> None:
    body = b'{"a":"b"}'
    request_id, record = edge.deliver("open_s3", body, {})
    (result,) = run(record).results
    assert result.event_id is not None
    boto3.client("s3").put_object(Bucket=BUCKET, Key=f"ingest/open_s3/{request_id}", Body=b'{"a":"c"}')
    edge.records()
    code, printed = ctl(
        "history",
        "show",
        "--table",
        TABLE_NAME,
        "--event-id",
        result.event_id,
        "--body-out",
        str(tmp_path / "b"),
    )
    assert code == 2 and "does not match its body_sha256" in printed


def test_requeue_of_a_rejected_s3_row_sends_the_pointer_and_verifies_once_fixed(
    edge: Edge, run: Run, get_row: GetRow, account: dict[str, str]
) -> None:
    put_secret(account, "github", "a mistyped secret")
    body = bytes(range(200, 256)) + b" not utf-8"
    headers = github(body, secret=GITHUB_SECRET)
    request_id, record = edge.deliver("gh_s3", body, headers, content_type="application/octet-stream")
    (result,) = run(record).results
    assert (result.status, result.reason) == ("rejected", "signature_mismatch")
    rejected_id = f"gh_s3#request:{request_id}"

    argv = ["history", "requeue", "--table", TABLE_NAME, "--event-id", rejected_id]
    code, printed = ctl(*argv, "--dry-run")
    assert code == 0 and "would requeue 1 row(s)" in printed, printed
    assert f"body={len(body)} bytes" in printed  # the object's size, not the pointer's
    code, printed = ctl(*argv, "--queue-url", edge.queue_url)
    assert code == 0, printed
    (message,) = edge.records()
    assert set(message["messageAttributes"]) == {"replay_id"}
    (pointer,) = json.loads(message["body"])["Records"]
    assert pointer["s3"]["bucket"]["name"] == BUCKET and pointer["eventSource"] == "aws:s3"

    put_secret(account, "github", GITHUB_SECRET)
    (again,) = run(message).results
    assert (again.status, again.write) == ("processed", WriteResult.STORED)
    event = get_row(f"gh_s3#sha256:{sha(body)}")
    assert event is not None and event["body_ref"] == ref("gh_s3", request_id)
    assert event["replay_id"] == message["messageAttributes"]["replay_id"]["stringValue"]
    assert get_row(rejected_id)["superseded_by"] == f"gh_s3#sha256:{sha(body)}"  # type: ignore[index]
    assert keys() == [f"ingest/gh_s3/{request_id}"]


def test_requeue_refuses_an_s3_row_whose_object_is_gone(
    edge: Edge, run: Run, account: dict[str, str]
) -> None:
    body = b'{"gone":true}'
    request_id, record = edge.deliver("gh_s3", body, github(body, secret="wrong"))
    assert [r.status for r in run(record).results] == ["rejected"]
    boto3.client("s3").delete_object(Bucket=BUCKET, Key=f"ingest/gh_s3/{request_id}")
    code, printed = ctl(
        "history", "requeue", "--table", TABLE_NAME, "--event-id", f"gh_s3#request:{request_id}", "--dry-run"
    )
    assert code == 1 and "store_unreadable: 1" in printed, printed


def test_replay_of_s3_rows_is_the_original_envelope(edge: Edge, run: Run, topic: str) -> None:
    short = b'{"type":"again"}'
    binary = b"\xff" * 50
    records = [
        edge.deliver("hmac_s3", short, hmac_signed(short))[1],
        edge.deliver("hmac_s3", binary, hmac_signed(binary), content_type="application/octet-stream")[1],
    ]
    results = run(*records).results
    originals = {e["event_id"]: e for e in envelopes(topic)}
    assert len(originals) == 2
    url = boto3.client("sqs").create_queue(QueueName="consumer")["QueueUrl"]
    for result in results:
        assert result.event_id is not None
        code, printed = ctl(
            "history", "replay", "--table", TABLE_NAME, "--event-id", result.event_id,
            "--consumer", "c", "--queue-url", url,
        )  # fmt: skip
        assert code == 0, printed
    replayed = {e["event_id"]: e for e in envelopes(url)}
    assert set(replayed) == set(originals)
    for event_id, original in originals.items():
        assert replayed[event_id]["replay_id"] is not None
        assert {**replayed[event_id], "replay_id": None} == original
