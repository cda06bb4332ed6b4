"""Issue 14 part 2: reading S3 event notifications (s3_pointer), and the configuration and
body_ref rules of ``payload_store = "s3"`` sources. Pure functions: no AWS, no moto."""

from __future__ import annotations

import json
from typing import Any

import pytest
from webhook_processor import s3_pointer
from webhook_processor.config import load_config
from webhook_processor.contract import build_record, parse_record
from webhook_processor.errors import ConfigError
from webhook_processor.payload_store import BodyRef, parse_body_ref
from webhook_processor.s3_pointer import Notification, Pointer, build_body, parse_body, parse_ingest_key
from webhook_processor.validation import validate_text_or_bytes

BUCKET = "webhooks-payloads"


def record(
    key: str, *, bucket: str = BUCKET, name: str = "ObjectCreated:Put", **extra: Any
) -> dict[str, Any]:
    """One notification record as S3 writes it (the key URL-encoded by the caller)."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-12-02T17:51:27.123Z",
        "eventName": name,
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "ingest",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": key, "size": 10, "eTag": "abc"},
        },
        **extra,
    }


def notification(*records: dict[str, Any]) -> str:
    return json.dumps({"Records": list(records)})


# --- parsing -----------------------------------------------------------------------------------


def test_one_record_is_one_pointer_with_its_event_time() -> None:
    parsed = parse_body(notification(record("ingest/github/req-1")))
    assert parsed == Notification(
        False, (Pointer(BUCKET, "ingest/github/req-1", "ObjectCreated:Put", 1796233887123),)
    )


def test_several_records_are_several_pointers_in_order() -> None:
    body = notification(
        record("ingest/a/1"),
        record("ingest/b/2", name="ObjectCreated:Post"),
        record("ingest/c/3", bucket="other"),
    )
    parsed = parse_body(body)
    assert parsed is not None and not parsed.test_event
    assert [(p.bucket, p.key, p.event_name) for p in parsed.pointers] == [
        (BUCKET, "ingest/a/1", "ObjectCreated:Put"),
        (BUCKET, "ingest/b/2", "ObjectCreated:Post"),
        ("other", "ingest/c/3", "ObjectCreated:Put"),
    ]


def test_the_test_event_is_recognised_and_names_nothing() -> None:
    body = json.dumps(
        {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2026-12-02T17:00:00.000Z",
            "Bucket": BUCKET,
        }
    )
    assert parse_body(body) == Notification(True, ())


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        '{"Records": ',
        "[]",
        '"Records"',
        "{}",
        '{"Records": []}',
        '{"Records": {}}',
        '{"Event": "s3:SomethingElse"}',
        # Not S3, or not an ObjectCreated record: the message stays what it is today.
        notification({"eventSource": "aws:sqs", "eventName": "ObjectCreated:Put"}),
        notification(record("ingest/a/1", name="ObjectRemoved:Delete")),
        notification(record("ingest/a/1"), {"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete"}),
        notification("a string"),
        json.dumps({"type": "push", "pad": "x" * 100}),
    ],
)
def test_anything_else_is_not_a_notification(body: str) -> None:
    assert parse_body(body) is None


def test_a_record_without_bucket_or_key_is_a_pointer_to_nothing() -> None:
    broken = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"object": {"key": 5}}}
    parsed = parse_body(notification(broken))
    assert parsed is not None
    assert parsed.pointers == (Pointer("", "", "ObjectCreated:Put", None),)


@pytest.mark.parametrize(
    ("sent", "key"),
    [
        ("ingest%2Fgithub%2Fabc-123", "ingest/github/abc-123"),  # moto: quote_plus, "/" as %2F
        ("ingest/github/abc-123", "ingest/github/abc-123"),  # AWS leaves "/" as is
        ("ingest/my+src/a+b", "ingest/my src/a b"),  # "+" is a space
        ("ingest/src/a%2Bb", "ingest/src/a+b"),  # a real "+" arrives as %2B
        ("ingest/src/caf%C3%A9", "ingest/src/café"),
    ],
)
def test_keys_are_url_decoded_as_s3_encodes_them(sent: str, key: str) -> None:
    parsed = parse_body(notification(record(sent)))
    assert parsed is not None and parsed.pointers[0].key == key


def test_build_body_round_trips_through_the_parser() -> None:
    key = "ingest/gh_s3/0f8fad5b-d9cb-469f-a165-70867728950e"
    body = build_body(BUCKET, key, event_time_ms=1_700_000_000_250)
    assert "%2F" in body  # encoded as S3 (moto) encodes keys
    assert parse_body(body) == Notification(
        False, (Pointer(BUCKET, key, "ObjectCreated:Put", 1_700_000_000_250),)
    )


def test_only_a_message_without_a_source_attribute_is_read_as_a_notification() -> None:
    body = notification(record("ingest/github/req-1"))
    queued = build_record(body, source="github")  # a sender posting a notification-shaped body
    assert s3_pointer.parse_record(queued) is None
    pointer = {**queued, "messageAttributes": {}}
    parsed = s3_pointer.parse_record(pointer)
    assert parsed is not None and parsed.pointers[0].key == "ingest/github/req-1"
    assert s3_pointer.parse_record("garbage") is None


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (
            "ingest/github/0f8fad5b-d9cb-469f-a165-70867728950e",
            ("github", "0f8fad5b-d9cb-469f-a165-70867728950e"),
        ),
        ("ingest/gh_s3/req-1", ("gh_s3", "req-1")),
        ("ingest/github", None),
        ("ingest/github/", None),
        ("ingest/github/a/b", None),
        ("ingest//req", None),
        ("bodies/github/req", None),
        ("ingest/GitHub/req", None),  # source names are lower case (variables.tf)
        ("ingest/github/../x", None),
        ("xingest/github/req", None),
        ("", None),
    ],
)
def test_ingest_keys(key: str, expected: tuple[str, str] | None) -> None:
    assert parse_ingest_key(key) == expected


def test_inbound_takes_the_headers_from_the_metadata_and_the_sqs_fields_from_the_message() -> None:
    sqs = parse_record(
        {**build_record("{}", source=None, replay_id="rq-1", receive_count=3), "messageId": "m-1"}
    )
    raw = b"\xff\xfe binary"
    message = s3_pointer.inbound(
        sqs,
        source="gh_s3",
        request_id="req-1",
        object_ref=f"s3://{BUCKET}/ingest/gh_s3/req-1",
        raw=raw,
        metadata={
            "source": "gh_s3",
            "request-id": "req-1",
            "received-at-ms": "1700000000123",
            "source-ip": "198.51.100.7",
            "signature": "sha256=abc",
            "delivery-id": "d-1",
            "event-type": "push",
        },
        content_type="application/octet-stream",
    )
    assert message.raw_body() == raw and message.body is None  # not UTF-8: no text
    assert (message.source, message.request_id, message.received_at_ms) == ("gh_s3", "req-1", 1700000000123)
    assert (message.signature, message.delivery_id, message.event_type) == ("sha256=abc", "d-1", "push")
    assert message.signature_timestamp is None and message.contract_violation is None
    assert (message.message_id, message.replay_id, message.receive_count) == ("m-1", "rq-1", 3)
    assert message.attributes["content_type"] == "application/octet-stream"
    assert message.object_ref == f"s3://{BUCKET}/ingest/gh_s3/req-1"


@pytest.mark.parametrize(
    ("metadata", "event_time", "received", "violation"),
    [
        ({"source": "other"}, None, 5, s3_pointer.SOURCE_MISMATCH),
        ({"request-id": "req-2"}, None, 5, s3_pointer.REQUEST_ID_MISMATCH),
        ({"received-at-ms": "42"}, 99, 42, None),
        ({}, 99, 99, None),  # LocalStack drops received-at-ms: the record's eventTime
        ({"received-at-ms": "soon"}, None, 5, None),  # then the SentTimestamp
    ],
)
def test_inbound_checks_the_metadata_against_the_key(
    metadata: dict[str, str], event_time: int | None, received: int, violation: str | None
) -> None:
    sqs = parse_record(build_record("{}", source=None, sent_timestamp_ms=5))
    message = s3_pointer.inbound(
        sqs,
        source="gh_s3",
        request_id="req-1",
        object_ref="s3://b/ingest/gh_s3/req-1",
        raw=b"{}",
        metadata=metadata,
        content_type=None,
        event_time_ms=event_time,
    )
    assert (message.contract_violation, message.received_at_ms) == (violation, received)
    assert message.body == "{}"


# --- the body of an S3 source: any bytes ---------------------------------------------------------


def test_bytes_that_are_not_utf8_are_no_json_and_plain_text_otherwise() -> None:
    raw = b'{"type":"x","v":"\xff"}'
    assert validate_text_or_bytes(None, raw, "application/json").reason == "invalid_json"
    text = validate_text_or_bytes(None, raw, "application/octet-stream")
    assert text.valid and text.parsed is not None and text.parsed.document is None  # no event type from it
    form = validate_text_or_bytes(None, b"a=1&b=\xff", "application/x-www-form-urlencoded")
    assert form.valid and form.warning == "invalid_form_body" and form.parsed is not None
    assert form.parsed.form["a"] == "1"
    good = validate_text_or_bytes('{"type":"x"}', b'{"type":"x"}', "application/json")
    assert good.parsed is not None and good.parsed.document == {"type": "x"}


# --- body_ref ------------------------------------------------------------------------------------


def test_parse_body_ref_accepts_ingest_keys_and_bodies_keys() -> None:
    assert parse_body_ref(f"s3://{BUCKET}/ingest/gh_s3/req-1") == BodyRef(BUCKET, "ingest/gh_s3/req-1")
    assert parse_body_ref(f"s3://{BUCKET}/bodies/gh/{'0' * 64}") == BodyRef(BUCKET, f"bodies/gh/{'0' * 64}")
    for bad in (
        f"s3://{BUCKET}/other/x",
        f"s3://{BUCKET}/ingestx/a",
        "https://x/ingest/a",
        "s3:///ingest/a",
    ):
        with pytest.raises(ValueError):
            parse_body_ref(bad)


# --- configuration -------------------------------------------------------------------------------


def _config(sources: dict[str, Any], **env: str) -> Any:
    return load_config({"TABLE_NAME": "t", "WEBHOOK_SOURCES": json.dumps(sources), **env})


def test_payload_store_defaults_to_queue_and_reads_s3() -> None:
    config = _config(
        {
            "a": {"scheme": "none"},
            "b": {"scheme": "none", "payload_store": None},  # jsonencode of an unset optional()
            "c": {"scheme": "none", "payload_store": "queue"},
            "d": {"scheme": "none", "payload_store": "s3"},
        },
        PAYLOAD_BUCKET=BUCKET,
    )
    assert {name: s.payload_store for name, s in config.sources.items()} == {
        "a": "queue",
        "b": "queue",
        "c": "queue",
        "d": "s3",
    }
    assert [name for name, s in config.sources.items() if s.s3] == ["d"]


def test_an_unknown_payload_store_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="payload_store must be 'queue' or 's3'"):
        _config({"a": {"scheme": "none", "payload_store": "S3"}}, PAYLOAD_BUCKET=BUCKET)


def test_an_s3_source_without_a_payload_bucket_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"PAYLOAD_BUCKET is not set, yet sources \['d'\]"):
        _config({"a": {"scheme": "none"}, "d": {"scheme": "none", "payload_store": "s3"}})
    assert _config({"a": {"scheme": "none"}}).payload_bucket is None  # queue sources need none
