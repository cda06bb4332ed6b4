"""Issue 14 (phase 1): bodies longer than a history row keeps go to the payload store (S3).

The real processor (handler.process_batch) and the real CLI (tools/webhookctl.main) against
moto in-process: the row points at the object (``body_ref``), the object is the body
byte-exact, a failed PutObject is a retry (never a truncated row), and every webhookctl path
that reads a body reads the object.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from webhook_processor import handler
from webhook_processor.config import load_config
from webhook_processor.contract import record_from_sqs_message
from webhook_processor.errors import ConfigError, TransientError
from webhook_processor.history import WriteResult
from webhook_processor.payload_store import (
    DEFAULT_CONTENT_TYPE,
    PayloadStore,
    object_content_type,
    object_key,
    parse_body_ref,
)

from tools import webhookctl
from tools.signing import sign

from .support import SOURCES, TABLE_NAME
from .test_envelope import schema_validator

Run = Callable[..., handler.BatchResult]
GetRow = Callable[[str], "dict[str, Any] | None"]
MakeRecord = Callable[..., dict[str, Any]]

BUCKET = "webhooks-unit-payloads"
# Small enough that test bodies stay small; the rule is the same at 350,000.
LIMIT = 1000
GITHUB_SECRET = SOURCES["github"][1]
assert GITHUB_SECRET is not None


@pytest.fixture
def store(account: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The account plus the payload bucket, PAYLOAD_BUCKET and a row limit of LIMIT bytes."""
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("PAYLOAD_BUCKET", BUCKET)
    monkeypatch.setenv("MAX_STORED_BODY_BYTES", str(LIMIT))
    handler.reset()
    return account


def body_of(size: int, marker: str = "x") -> bytes:
    """A JSON body of exactly ``size`` bytes, non-ASCII included (é is two bytes)."""
    head = b'{"note":"caf\xc3\xa9","pad":"'
    tail = b'"}'
    pad = size - len(head) - len(tail)
    assert pad > 0
    return head + (marker * pad).encode()[:pad] + tail


def github(make_record: MakeRecord, body: bytes, secret: str = GITHUB_SECRET, **kwargs: Any) -> dict:
    return make_record("github", body, sign("github", secret, body, event_type="push"), **kwargs)


def gh_id(body: bytes) -> str:
    return f"github#sha256:{hashlib.sha256(body).hexdigest()}"


def objects() -> dict[str, bytes]:
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    return {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


def ctl(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return webhookctl.main(["--region", "us-east-1", *argv], out=out), out.getvalue()


def replay_to_consumer(event_id: str, queue_url: str) -> tuple[int, str]:
    """`webhookctl history replay` of one event to consumer "c", whose queue is queue_url."""
    return ctl(
        "history",
        "replay",
        "--table",
        TABLE_NAME,
        "--event-id",
        event_id,
        "--consumer",
        "c",
        "--queue-url",
        queue_url,
    )


def put_secret(account: dict[str, str], source: str, value: str) -> None:
    arn = json.loads(account["WEBHOOK_SOURCES"])[source]["secret_arn"]
    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=value)
    handler.reset()


# --- which rows use the store -------------------------------------------------------------------


def test_a_body_at_the_limit_stays_in_the_row_one_byte_more_goes_to_the_store(
    store: dict[str, str], run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    at_limit, over = body_of(LIMIT, "a"), body_of(LIMIT + 1, "b")
    results = run(github(make_record, at_limit), github(make_record, over)).results
    assert [r.status for r in results] == ["processed", "processed"]

    kept = get_row(gh_id(at_limit))
    assert kept is not None and kept["body"].encode() == at_limit and kept["body_truncated"] is False
    assert "body_ref" not in kept

    offloaded = get_row(gh_id(over))
    assert offloaded is not None
    key = object_key("github", hashlib.sha256(over).hexdigest())
    assert offloaded["body_ref"] == f"s3://{BUCKET}/{key}"
    assert "body" not in offloaded and "body_truncated" not in offloaded
    assert (offloaded["body_size"], offloaded["body_sha256"]) == (len(over), hashlib.sha256(over).hexdigest())
    assert objects() == {key: over}  # only the long body, byte-exact
    head = boto3.client("s3").head_object(Bucket=BUCKET, Key=key)
    assert head["ContentType"] == "application/json"


def test_a_failed_put_object_is_a_batch_item_failure_and_writes_no_row(
    store: dict[str, str], run: Run, get_row: GetRow, make_record: MakeRecord, table: Any
) -> None:
    boto3.client("s3").delete_bucket(Bucket=BUCKET)  # every PutObject now fails (NoSuchBucket)
    small, large = body_of(200), body_of(LIMIT + 500)
    good, bad = github(make_record, small), github(make_record, large)
    batch = run(good, bad)
    assert batch.response() == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    assert [(r.status, r.reason) for r in batch.results] == [
        ("processed", None),
        ("failed", "payload_store_put_failed"),
    ]
    assert get_row(gh_id(large)) is None  # never a truncated copy
    assert [item["event_id"] for item in table.scan()["Items"]] == [gh_id(small)]

    # The bucket is back (the redelivery after the cause is fixed): both are written.
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    handler.reset()
    (again,) = run(bad).results
    assert (again.status, again.write) == ("processed", WriteResult.STORED)
    assert objects() == {object_key("github", hashlib.sha256(large).hexdigest()): large}


def test_a_duplicate_of_a_stored_body_keeps_one_object(
    store: dict[str, str], run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    body = body_of(LIMIT * 3)
    first, second = github(make_record, body), github(make_record, body)
    writes = [r.write for r in run(first).results + run(second, first).results]
    assert writes == [WriteResult.STORED, WriteResult.DUPLICATE, WriteResult.REDELIVERY]
    row = get_row(gh_id(body))
    assert row is not None and row["duplicate_count"] == 1
    assert list(objects().values()) == [body]


def test_the_same_body_from_two_sources_is_two_objects(
    store: dict[str, str], run: Run, make_record: MakeRecord
) -> None:
    body = body_of(LIMIT + 10)
    opened = make_record("open", body, {"X-Event-Type": "push"})
    run(github(make_record, body), opened)
    sha = hashlib.sha256(body).hexdigest()
    assert objects() == {object_key("github", sha): body, object_key("open", sha): body}


def test_a_long_conflicting_body_goes_to_the_store(
    store: dict[str, str], run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    secret = SOURCES["stripe"][1]
    assert secret is not None
    first = json.dumps({"id": "evt_big", "type": "invoice.paid", "pad": "a" * LIMIT}).encode()
    second = json.dumps({"id": "evt_big", "type": "invoice.paid", "pad": "b" * LIMIT}).encode()
    records = [
        make_record("stripe", b, sign("stripe", secret, b), request_id=f"req-{n}")
        for n, b in enumerate([first, second])
    ]
    assert [r.status for r in run(*records).results] == ["processed", "conflict"]
    conflict = get_row("stripe#request:req-1")
    assert conflict is not None and conflict["conflict_of"] == "stripe#evt_big"
    assert "body" not in conflict and "body_truncated" not in conflict
    ref = parse_body_ref(conflict["body_ref"])
    assert objects()[ref.key] == second
    assert len(objects()) == 2  # one per body


def test_a_long_rejected_body_goes_to_the_store_an_invalid_one_keeps_its_prefix(
    store: dict[str, str], run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    rejected_body = body_of(LIMIT + 1)
    invalid_body = b"{not json" + b"x" * (LIMIT * 5)
    rejected = github(make_record, rejected_body, secret="a mistyped secret", request_id="req-r")
    invalid = make_record("open", invalid_body, {}, request_id="req-i")
    assert [r.status for r in run(rejected, invalid).results] == ["rejected", "invalid"]

    row = get_row("github#request:req-r")
    assert row is not None and row["reason"] == "signature_mismatch"
    assert "body" not in row and objects()[parse_body_ref(row["body_ref"]).key] == rejected_body

    prefix = get_row("open#request:req-i")
    assert prefix is not None and "body_ref" not in prefix
    # min(INVALID_BODY_BYTES, MAX_STORED_BODY_BYTES), as before the store
    assert prefix["body_truncated"] is True and prefix["body"].encode() == invalid_body[:LIMIT]
    assert len(objects()) == 1


def test_without_payload_bucket_a_long_body_is_kept_truncated_as_before(
    account: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    run: Run,
    get_row: GetRow,
    make_record: MakeRecord,
) -> None:
    monkeypatch.setenv("MAX_STORED_BODY_BYTES", str(LIMIT))
    handler.reset()
    body = body_of(LIMIT + 1)
    run(github(make_record, body))
    row = get_row(gh_id(body))
    assert row is not None and row["body_truncated"] is True and "body_ref" not in row
    assert handler._s3.cache_info().currsize == 0  # no S3 client was ever made


# --- the envelope -------------------------------------------------------------------------------


@pytest.fixture
def published(store: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The event topic, subscribed by a raw-delivery queue; its URL."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="published")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = boto3.client("sns").create_topic(Name="webhooks-unit-events")["TopicArn"]
    boto3.client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    monkeypatch.setenv("EVENT_TOPIC_ARN", topic)
    handler.reset()
    yield url


def envelopes(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    validator = schema_validator()
    found = []
    for message in messages:
        document = json.loads(message["Body"])
        validator.validate(document)
        found.append(document)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_the_envelope_carries_body_ref_and_the_body_when_it_fits(
    published: str, run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    small, large = body_of(100), body_of(LIMIT + 1)
    run(github(make_record, small), github(make_record, large))
    by_sha = {e["body_sha256"]: e for e in envelopes(published)}
    plain = by_sha[hashlib.sha256(small).hexdigest()]
    assert plain["body_ref"] is None and plain["body"].encode() == small
    referenced = by_sha[hashlib.sha256(large).hexdigest()]
    row = get_row(gh_id(large))
    assert row is not None
    # Fits in SNS's 256 KiB: the body is in the envelope too, and the reference is set.
    assert referenced["body_ref"] == row["body_ref"]
    assert referenced["body_omitted"] is False and referenced["body"].encode() == large
    assert referenced["json"] == json.loads(large)


def test_the_schema_takes_a_body_ref_or_null_and_refuses_anything_else(
    published: str, run: Run, make_record: MakeRecord
) -> None:
    run(github(make_record, body_of(LIMIT + 1)))
    (good,) = envelopes(published)
    validator = schema_validator()
    assert good["body_ref"].startswith(f"s3://{BUCKET}/bodies/github/")
    for ref in (None, good["body_ref"]):
        assert validator.is_valid({**good, "body_ref": ref})
    assert validator.is_valid({k: v for k, v in good.items() if k != "body_ref"})  # older envelopes
    for bad in ("", "https://b/bodies/x", f"s3://{BUCKET}/other/{'0' * 64}", 1):
        assert not validator.is_valid({**good, "body_ref": bad}), bad


# --- webhookctl: history show --body-out, requeue, replay ---------------------------------------


def test_body_out_writes_the_exact_bytes_from_the_row_or_the_store(
    store: dict[str, str], run: Run, make_record: MakeRecord, tmp_path: Path
) -> None:
    small, large = body_of(300), body_of(LIMIT * 4)
    run(github(make_record, small), github(make_record, large))
    for body in (small, large):
        target = tmp_path / f"{len(body)}.bin"
        code, printed = ctl(
            "history", "show", "--table", TABLE_NAME, "--event-id", gh_id(body), "--body-out", str(target)
        )
        assert code == 0, printed
        assert target.read_bytes() == body
        shown = json.loads(printed)
        assert "body" not in shown and shown["body_out"] == {"path": str(target), "bytes": len(body)}


def test_body_out_of_a_truncated_invalid_row_exits_2_with_one_line(
    store: dict[str, str], run: Run, make_record: MakeRecord, tmp_path: Path
) -> None:
    run(make_record("open", b"{not json" + b"y" * 9000, {}, request_id="req-t"))
    target = tmp_path / "body.bin"
    code, printed = ctl(
        "history",
        "show",
        "--table",
        TABLE_NAME,
        "--event-id",
        "open#request:req-t",
        "--body-out",
        str(target),
    )
    assert code == 2
    assert printed.count("\n") == 1 and printed.startswith("error: --body-out: ")
    assert "9009 bytes received" in printed and f"{LIMIT}-byte prefix" in printed
    assert not target.exists()


def test_body_out_of_a_row_whose_object_is_gone_exits_2(
    store: dict[str, str], run: Run, make_record: MakeRecord, tmp_path: Path
) -> None:
    body = body_of(LIMIT + 1)
    run(github(make_record, body))
    (key,) = objects()
    boto3.client("s3").delete_object(Bucket=BUCKET, Key=key)
    code, printed = ctl(
        "history", "show", "--table", TABLE_NAME, "--event-id", gh_id(body), "--body-out", str(tmp_path / "b")
    )
    assert code == 2 and "NoSuchKey" in printed and printed.count("\n") == 1


def test_body_out_of_an_object_that_differs_from_the_row_exits_2(
    store: dict[str, str], run: Run, make_record: MakeRecord, tmp_path: Path
) -> None:
    body = body_of(LIMIT + 1)
    run(github(make_record, body))
    (key,) = objects()
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body[:-1] + b"!")
    code, printed = ctl(
        "history", "show", "--table", TABLE_NAME, "--event-id", gh_id(body), "--body-out", str(tmp_path / "b")
    )
    assert code == 2 and "does not match its body_sha256" in printed


def test_requeue_of_a_body_ref_row_is_byte_exact_and_verifies_once_fixed(
    store: dict[str, str], run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    put_secret(store, "github", "a mistyped secret")
    body = body_of(LIMIT * 2)
    run(github(make_record, body, request_id="req-big"))
    rejected = get_row("github#request:req-big")
    assert rejected is not None and "body_ref" in rejected and "body" not in rejected

    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="main")["QueueUrl"]
    argv = ["history", "requeue", "--table", TABLE_NAME, "--event-id", "github#request:req-big"]
    code, printed = ctl(*argv, "--dry-run")
    assert code == 0 and f"body={len(body)} bytes" in printed, printed
    code, printed = ctl(*argv, "--queue-url", url)
    assert code == 0, printed
    (message,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"])[
        "Messages"
    ]
    assert message["Body"].encode("utf-8") == body

    put_secret(store, "github", GITHUB_SECRET)
    (outcome,) = run(record_from_sqs_message(message)).results
    assert (outcome.status, outcome.write) == ("processed", WriteResult.STORED)
    event = get_row(gh_id(body))
    assert event is not None and event["body_ref"] == rejected["body_ref"]  # one object for both
    assert get_row("github#request:req-big")["superseded_by"] == gh_id(body)  # type: ignore[index]
    assert list(objects().values()) == [body]


def test_requeue_refuses_a_body_ref_row_whose_object_is_gone(
    store: dict[str, str], run: Run, make_record: MakeRecord
) -> None:
    run(github(make_record, body_of(LIMIT + 1), secret="wrong", request_id="req-gone"))
    (key,) = objects()
    boto3.client("s3").delete_object(Bucket=BUCKET, Key=key)
    code, printed = ctl(
        "history", "requeue", "--table", TABLE_NAME, "--event-id", "github#request:req-gone", "--dry-run"
    )
    assert code == 1 and "store_unreadable: 1" in printed, printed


def test_replay_of_a_body_ref_row_is_byte_exact(
    published: str, run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    body = body_of(LIMIT * 2)
    run(github(make_record, body))
    (original,) = envelopes(published)
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="consumer")["QueueUrl"]
    code, printed = replay_to_consumer(gh_id(body), url)
    assert code == 0, printed
    (again,) = envelopes(url)
    assert again["body"].encode("utf-8") == body and again["body_ref"] == original["body_ref"]
    assert {**again, "replay_id": None} == original

    code, printed = ctl(
        "--json", "history", "replay", "--table", TABLE_NAME, "--event-id", gh_id(body), "--dry-run"
    )
    assert code == 0, printed
    (sample,) = json.loads(printed)["sample"]
    assert sample["body_omitted"] is False


def test_replay_refuses_a_body_ref_row_whose_object_is_gone(
    published: str, run: Run, make_record: MakeRecord
) -> None:
    body = body_of(LIMIT + 1)
    run(github(make_record, body))
    (key,) = objects()
    boto3.client("s3").delete_object(Bucket=BUCKET, Key=key)
    url = boto3.client("sqs").create_queue(QueueName="consumer")["QueueUrl"]
    code, printed = replay_to_consumer(gh_id(body), url)
    assert code == 1 and f"refused {gh_id(body)}: cannot read its body" in printed, printed
    assert envelopes(url) == []  # never a reference-less, body-less envelope


# --- the module and the configuration -----------------------------------------------------------


def test_put_sends_the_checksum_s3_verifies_and_the_content_type() -> None:
    client = boto3.client("s3", region_name="us-east-1")
    body = b"\x00 any bytes \xff"
    sha = hashlib.sha256(body).hexdigest()
    with Stubber(client) as stub:
        stub.add_response(
            "put_object",
            {},
            {
                "Bucket": BUCKET,
                "Key": f"bodies/src/{sha}",
                "Body": body,
                "ContentType": "application/octet-stream",
                "ChecksumSHA256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
            },
        )
        ref = PayloadStore(lambda: client, BUCKET).put("src", body, sha, None)
    assert ref == f"s3://{BUCKET}/bodies/src/{sha}"
    assert parse_body_ref(ref) == (BUCKET, f"bodies/src/{sha}")


def test_any_put_error_is_transient() -> None:
    client = boto3.client("s3", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("put_object", service_error_code="AccessDenied", http_status_code=403)
        with pytest.raises(TransientError) as caught:
            PayloadStore(lambda: client, BUCKET).put(
                "src", b"x", hashlib.sha256(b"x").hexdigest(), "text/plain"
            )
    assert caught.value.code == "payload_store_put_failed" and "AccessDenied" in str(caught.value)


def test_an_odd_content_type_never_fails_the_put() -> None:
    assert object_content_type("application/json; charset=utf-8") == "application/json; charset=utf-8"
    for odd in (None, "", "text/plain; name=caf\u00e9", "text/plain\r\nX-Evil: 1", "a/" + "b" * 300):
        assert object_content_type(odd) == DEFAULT_CONTENT_TYPE, odd


@pytest.mark.parametrize(
    "value", ["", "bodies/x", "s3://", "s3://bucket", "s3://bucket/other/key", "https://bucket/bodies/x"]
)
def test_a_body_ref_that_is_not_ours_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_body_ref(value)


def test_payload_bucket_configuration() -> None:
    base = {"TABLE_NAME": "t", "WEBHOOK_SOURCES": "{}", "MAX_STORED_BODY_BYTES": "10"}
    assert load_config(base).payload_bucket is None
    config = load_config({**base, "PAYLOAD_BUCKET": " my-bucket.payloads "})
    assert config.payload_bucket == "my-bucket.payloads"
    assert [config.offloads(s, 11) for s in ("processed", "conflict", "rejected", "invalid")] == [
        True,
        True,
        True,
        False,
    ]
    assert not config.offloads("processed", 10)
    for bad in ("My_Bucket", "arn:aws:s3:::b", "b/x", "ab"):
        with pytest.raises(ConfigError, match="PAYLOAD_BUCKET"):
            load_config({**base, "PAYLOAD_BUCKET": bad})


def test_the_s3_client_is_made_on_the_first_long_body_and_reset_forgets_it(
    store: dict[str, str], run: Run, make_record: MakeRecord
) -> None:
    handler.get_processor()
    assert handler._s3.cache_info().currsize == 0  # the cold start makes no S3 client
    run(github(make_record, body_of(100)))
    assert handler._s3.cache_info().currsize == 0
    run(github(make_record, body_of(LIMIT + 1)))
    assert handler._s3.cache_info().currsize == 1
    handler.reset()
    assert handler._s3.cache_info().currsize == 0
