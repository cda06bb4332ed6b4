"""Issue 9: nothing lost when the operator errs. Secrets written the wrong way, a rejected burst
re-verified by a requeue, conflicting bodies, TTL-expired rows, 100 sources from a file."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from webhook_processor import handler
from webhook_processor.contract import NUMBER_ATTRIBUTES, record_from_sqs_message
from webhook_processor.history import WriteResult

from tools.signing import sign

from .support import SOURCES, TABLE_NAME

Run = Callable[..., handler.BatchResult]
GetRow = Callable[[str], "dict[str, Any] | None"]
MakeRecord = Callable[..., dict[str, Any]]

GITHUB_SECRET = SOURCES["github"][1]
assert GITHUB_SECRET is not None


def gh_id(body: bytes) -> str:
    return f"github#sha256:{hashlib.sha256(body).hexdigest()}"


def github_record(make_record: MakeRecord, body: bytes, secret: str = GITHUB_SECRET, **kwargs: Any) -> dict:
    return make_record("github", body, sign("github", secret, body, event_type="push"), **kwargs)


def put_secret(account: dict[str, str], source: str, value: str) -> None:
    arn = json.loads(account["WEBHOOK_SOURCES"])[source]["secret_arn"]
    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=value)
    handler.reset()  # drop the cached secret, as the TTL would


# --- item 1: secret values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "stored",
    [
        json.dumps(GITHUB_SECRET),  # --secret-string '"..."' (what the README's rotation said)
        json.dumps({"secret": GITHUB_SECRET}),  # the console's key/value editor
        json.dumps({"secret": ["new-one", GITHUB_SECRET]}),
        GITHUB_SECRET + "\n",  # --secret-string file://secret.txt
    ],
    ids=["quoted", "key-value", "key-value-array", "trailing-newline"],
)
def test_secrets_written_the_documented_wrong_ways_verify(
    run: Run, account: dict[str, str], make_record: MakeRecord, stored: str
) -> None:
    put_secret(account, "github", stored)
    (outcome,) = run(github_record(make_record, b'{"q":1}')).results
    assert (outcome.status, outcome.reason) == ("processed", None)


@pytest.mark.parametrize(
    "stored",
    ['{"password": "x"}', '{"secret": "x", "other": "y"}', "[]", "42", '"unterminated'],
)
def test_an_unusable_secret_value_is_transient_never_a_rejection(
    run: Run, table: Any, account: dict[str, str], make_record: MakeRecord, stored: str
) -> None:
    put_secret(account, "github", stored)
    record = github_record(make_record, b'{"q":2}')
    result = run(record)
    assert result.failures == [record["messageId"]]
    assert result.results[0].reason == "secret_unusable"
    assert table.scan()["Items"] == []


def test_a_standard_webhooks_secret_that_is_not_strict_base64_is_transient(
    run: Run, table: Any, account: dict[str, str], make_record: MakeRecord
) -> None:
    # Its URL-safe spelling ("-_--d2Vi...") decodes, non-strictly, to another 29-byte key: every
    # event used to be rejected (and deleted) for that typo.
    key = b"\xfb\xff\xbe" + b"webhook signing key, 32 bytes"
    good = "whsec_" + base64.b64encode(key).decode()
    assert good.startswith("whsec_+/++")
    body = b'{"type":"user.created"}'
    record = make_record("stdwh", body, sign("standard_webhooks", good, body))
    put_secret(account, "stdwh", "whsec_" + base64.urlsafe_b64encode(key).decode())  # a typo'd copy
    result = run(record)
    assert result.failures == [record["messageId"]]
    assert result.results[0].reason == "secret_unusable"
    assert table.scan()["Items"] == []
    put_secret(account, "stdwh", good)
    assert run(record).results[0].status == "processed"


# --- item 2: rejected rows re-verified through a requeue ---------------------------------------


def requeue(row: dict[str, Any], replay_id: str) -> dict[str, Any]:
    """What `webhookctl history requeue` does (D2), through a real (moto) SQS queue."""
    assert not row["body_truncated"]
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="requeue")["QueueUrl"]
    attributes = {
        name: {"DataType": "Number" if name in NUMBER_ATTRIBUTES else "String", "StringValue": value}
        for name, value in row["message_attributes"].items()
    }
    attributes["replay_id"] = {"DataType": "String", "StringValue": replay_id}
    assert len(attributes) <= 10  # what SQS allows
    sqs.send_message(QueueUrl=url, MessageBody=row["body"], MessageAttributes=attributes)
    (message,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"])[
        "Messages"
    ]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return record_from_sqs_message(message)


def test_a_burst_rejected_for_a_wrong_secret_is_requeued_once_fixed(
    run: Run, get_row: GetRow, table: Any, account: dict[str, str], make_record: MakeRecord
) -> None:
    put_secret(account, "github", "a mistyped secret")
    bodies = [json.dumps({"n": n, "note": "caf\u00e9"}).encode() for n in range(3)]
    records = [github_record(make_record, body, request_id=f"req-{n}") for n, body in enumerate(bodies)]
    assert [r.reason for r in run(*records).results] == ["signature_mismatch"] * 3

    put_secret(account, "github", GITHUB_SECRET)
    replay_id = f"rp-{uuid.uuid4().hex[:8]}"
    rows = [get_row(f"github#request:req-{n}") for n in range(3)]
    replays = [requeue(row, replay_id) for row in rows if row is not None]
    results = run(*replays).results
    assert [(r.status, r.write) for r in results] == [("processed", WriteResult.STORED)] * 3
    for n, body in enumerate(bodies):
        processed = get_row(gh_id(body))
        assert processed is not None and processed["replay_id"] == replay_id
        assert processed["request_id"] == f"req-{n}" and processed["body"].encode() == body
        rejected = get_row(f"github#request:req-{n}")
        assert rejected is not None and rejected["superseded_by"] == gh_id(body)
        assert rejected["status"] == "rejected"  # the history of what happened stays

    # A second requeue run (or an SQS redelivery of the first) changes nothing.
    again = [requeue(row, "rp-second") for row in rows if row is not None]
    assert [r.write for r in run(*again).results] == [WriteResult.REDELIVERY] * 3
    processed_rows = [item for item in table.scan()["Items"] if item["status"] == "processed"]
    assert len(processed_rows) == 3
    assert all(row["duplicate_count"] == 0 and row["replay_id"] == replay_id for row in processed_rows)


def test_a_replay_of_an_event_processed_meanwhile_is_a_duplicate_and_supersedes(
    run: Run, get_row: GetRow, account: dict[str, str], make_record: MakeRecord
) -> None:
    body = b'{"id":"evt_r","type":"charge.succeeded"}'
    secret = SOURCES["stripe"][1]
    assert secret is not None
    put_secret(account, "stripe", "whsec_wrong")
    rejected = make_record("stripe", body, sign("stripe", secret, body), request_id="req-first")
    assert run(rejected).results[0].reason == "signature_mismatch"
    put_secret(account, "stripe", secret)
    retry = make_record("stripe", body, sign("stripe", secret, body), request_id="req-retry")
    assert run(retry).results[0].write is WriteResult.STORED  # Stripe retried by itself

    row = get_row("stripe#request:req-first")
    assert row is not None
    (outcome,) = run(requeue(row, "rp-1")).results
    assert (outcome.status, outcome.event_id, outcome.write) == (
        "processed",
        "stripe#evt_r",
        WriteResult.DUPLICATE,
    )
    assert get_row("stripe#request:req-first")["superseded_by"] == "stripe#evt_r"  # type: ignore[index]
    event = get_row("stripe#evt_r")
    assert event is not None and event["duplicate_request_ids"] == {"req-first"}


def test_a_replay_that_is_still_rejected_changes_nothing(
    run: Run, get_row: GetRow, account: dict[str, str], make_record: MakeRecord
) -> None:
    put_secret(account, "github", "still wrong")
    record = github_record(make_record, b'{"n":"x"}', request_id="req-x")
    run(record)
    row = get_row("github#request:req-x")
    assert row is not None
    (outcome,) = run(requeue(row, "rp-1")).results
    assert (outcome.status, outcome.write) == ("rejected", WriteResult.REDELIVERY)
    assert "superseded_by" not in get_row("github#request:req-x")  # type: ignore[operator]


def test_processed_rows_carry_no_replay_id_unless_replayed(
    run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    (outcome,) = run(github_record(make_record, b'{"plain":1}', request_id="req-p")).results
    row = get_row(outcome.event_id)  # type: ignore[arg-type]
    assert row is not None and "replay_id" not in row


# --- item 5: conflicting bodies ------------------------------------------------------------------


def test_a_different_body_under_a_known_id_is_kept_as_a_conflict(
    run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    secret = SOURCES["stripe"][1]
    assert secret is not None
    first = b'{"id":"evt_c","type":"charge.succeeded","amount":100}'
    second = b'{"id":"evt_c","type":"charge.succeeded","amount":999}'
    records = [
        make_record("stripe", first, sign("stripe", secret, first), request_id="req-1"),
        make_record("stripe", second, sign("stripe", secret, second), request_id="req-2"),
    ]
    results = run(*records, records[1]).results  # the conflict is redelivered by SQS, too
    assert [(r.status, r.event_id, r.reason) for r in results] == [
        ("processed", "stripe#evt_c", None),
        ("conflict", "stripe#request:req-2", "body_differs"),
        ("conflict", "stripe#request:req-2", "body_differs"),
    ]
    row = get_row("stripe#evt_c")
    assert row is not None and row["body"].encode() == first
    assert (row["duplicate_count"], row["conflict_count"]) == (0, 1)  # never counted a duplicate
    assert row["conflict_request_ids"] == {"req-2"} and "duplicate_request_ids" not in row
    conflict = get_row("stripe#request:req-2")
    assert conflict is not None
    assert (conflict["status"], conflict["reason"], conflict["conflict_of"]) == (
        "conflict",
        "body_differs",
        "stripe#evt_c",
    )
    assert conflict["body"].encode() == second and conflict["body_truncated"] is False
    assert conflict["body_sha256"] == hashlib.sha256(second).hexdigest()
    assert conflict["message_attributes"]["request_id"] == "req-2"
    assert conflict["expires_at"] == row["expires_at"]  # normal retention (same receive time)


def test_a_large_conflicting_body_is_kept_whole(
    run: Run, get_row: GetRow, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVALID_BODY_BYTES", "16")
    handler.reset()
    first = b'{"event_id":"Ev1","type":"event_callback"}'
    second = json.dumps({"event_id": "Ev1", "type": "event_callback", "pad": "y" * 9000}).encode()
    secret = SOURCES["slack"][1]
    for request_id, body in (("req-a", first), ("req-b", second)):
        handler.process_batch(
            {"Records": [make_record("slack", body, sign("slack", secret, body), request_id=request_id)]}
        )
    conflict = get_row("slack#request:req-b")
    assert conflict is not None and conflict["body"].encode() == second


# --- item 6: TTL-expired rows ----------------------------------------------------------------------


def test_a_delivery_for_a_row_past_its_ttl_is_a_new_event(
    run: Run, get_row: GetRow, table: Any, make_record: MakeRecord
) -> None:
    body = b'{"ttl":"passed"}'
    now_s = int(time.time())
    table.put_item(
        Item={
            "event_id": gh_id(body),
            "request_id": "req-ancient",
            "status": "processed",
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "duplicate_count": 7,
            "expires_at": now_s - 3600,  # expired an hour ago, not deleted yet
        }
    )
    (outcome,) = run(github_record(make_record, body, request_id="req-new")).results
    assert (outcome.status, outcome.write) == ("processed", WriteResult.STORED)
    row = get_row(gh_id(body))
    assert row is not None and (row["request_id"], row["duplicate_count"]) == ("req-new", 0)
    assert row["expires_at"] > now_s


# --- item 15: 100 sources from the file in the package ----------------------------------------------


def test_one_hundred_sources_from_the_sources_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, account: dict[str, str], make_record: MakeRecord
) -> None:
    client = boto3.client("secretsmanager")
    sources: dict[str, Any] = {}
    for index in range(100):
        name = f"vendor-{index:03d}"
        arn = client.create_secret(Name=f"webhooks/{name}", SecretString=f"secret-{index}")["ARN"]
        sources[name] = {"scheme": "github", "secret_arn": arn, "tolerance_seconds": None}
    assert len(json.dumps(sources)) > 4096  # the whole Lambda environment is 4 KB
    path = tmp_path / "sources.json"
    path.write_text(json.dumps(sources))
    monkeypatch.delenv("WEBHOOK_SOURCES")
    monkeypatch.setenv("WEBHOOK_SOURCES_FILE", str(path))
    handler.reset()
    records = [
        make_record(f"vendor-{i:03d}", b"{}", sign("github", f"secret-{i}", b"{}"), request_id=f"req-{i}")
        for i in (0, 57, 99)
    ]
    results = handler.process_batch({"Records": records}).results
    assert [r.status for r in results] == ["processed"] * 3
    rows = boto3.resource("dynamodb").Table(TABLE_NAME).scan()["Items"]
    assert {row["source"] for row in rows} == {"vendor-000", "vendor-057", "vendor-099"}


def test_a_missing_sources_file_fails_the_batch_naming_the_path(
    monkeypatch: pytest.MonkeyPatch, account: dict[str, str], make_record: MakeRecord, caplog: Any
) -> None:
    monkeypatch.delenv("WEBHOOK_SOURCES")
    monkeypatch.setenv("WEBHOOK_SOURCES_FILE", "webhook_config/sources.json")
    handler.reset()
    record = make_record("open", b"{}", {})
    assert handler.process_batch({"Records": [record]}).failures == [record["messageId"]]
    assert "webhook_config/sources.json" in caplog.text
