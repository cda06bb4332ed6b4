"""Parsing SQS records per the message contract; the record builders used by tests/harnesses."""

from __future__ import annotations

import boto3
import pytest
from webhook_processor.contract import build_record, parse_record, record_from_sqs_message

from .support import mocked_aws


def test_parse_a_full_record() -> None:
    record = build_record(
        '{"a": 1}',
        source="github",
        request_id="req-1",
        received_at_ms=1_700_000_000_123,
        source_ip="198.51.100.7",
        content_type="application/json",
        delivery_id="d-1",
        signature="sha256=ab",
        signature_timestamp="1700000000",
        event_type="push",
        message_id="m-1",
        receive_count=3,
    )
    message = parse_record(record)
    assert message.contract_violation is None
    assert (message.message_id, message.body, message.raw_body()) == ("m-1", '{"a": 1}', b'{"a": 1}')
    assert (message.source, message.request_id, message.received_at_ms) == (
        "github",
        "req-1",
        1_700_000_000_123,
    )
    assert (message.source_ip, message.content_type) == ("198.51.100.7", "application/json")
    assert (message.delivery_id, message.signature, message.signature_timestamp) == (
        "d-1",
        "sha256=ab",
        "1700000000",
    )
    assert (message.event_type, message.receive_count) == ("push", 3)
    assert message.replay_id is None
    assert message.attributes == {
        "source": "github",
        "request_id": "req-1",
        "received_at_ms": "1700000000123",
        "source_ip": "198.51.100.7",
        "content_type": "application/json",
        "delivery_id": "d-1",
        "signature": "sha256=ab",
        "signature_timestamp": "1700000000",
        "event_type": "push",
    }


def test_replay_id_is_an_optional_tenth_attribute() -> None:
    record = build_record("{}", source="github", request_id="req-1", received_at_ms=1, replay_id="rp-1")
    assert record["messageAttributes"]["replay_id"] == {
        "stringValue": "rp-1",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    message = parse_record(record)
    assert message.contract_violation is None
    assert message.replay_id == "rp-1" and message.attributes["replay_id"] == "rp-1"


def test_attributes_keep_every_string_attribute_exactly_and_skip_garbage() -> None:
    record = build_record(" x ", source="github", request_id="req-1", received_at_ms=1)
    record["messageAttributes"].update(
        {
            "x_extra": {"stringValue": "  spaced  ", "dataType": "String"},
            "binary": {"binaryValue": "AAE=", "dataType": "Binary"},
            "broken": "nope",
            "empty": {"stringValue": "", "dataType": "String"},
        }
    )
    attributes = parse_record(record).attributes
    assert attributes["x_extra"] == "  spaced  "
    assert set(attributes) == {
        "source",
        "request_id",
        "received_at_ms",
        "source_ip",
        "content_type",
        "x_extra",
    }


def test_build_record_leaves_empty_attributes_out() -> None:
    record = build_record("x", source="s", received_at_ms=1, delivery_id="", signature=None)
    assert set(record["messageAttributes"]) == {
        "source",
        "request_id",
        "received_at_ms",
        "source_ip",
        "content_type",
    }
    assert record["messageAttributes"]["received_at_ms"]["dataType"] == "Number"


def test_raw_body_is_utf8_of_the_sqs_string() -> None:
    record = build_record("h\u00e9 \U0001f600", source="s", received_at_ms=1)
    assert parse_record(record).raw_body() == "h\u00e9 \U0001f600".encode()


@pytest.mark.parametrize(
    ("mutate", "violation"),
    [
        (lambda r: r["messageAttributes"].pop("source"), "missing_source"),
        (lambda r: r["messageAttributes"].pop("request_id"), "missing_request_id"),
        (lambda r: r["messageAttributes"].pop("received_at_ms"), "missing_received_at"),
        (
            lambda r: r["messageAttributes"]["received_at_ms"].update(stringValue="yesterday"),
            "malformed_received_at",
        ),
        (
            lambda r: r["messageAttributes"]["received_at_ms"].update(stringValue="1.5e12"),
            "malformed_received_at",
        ),
        (lambda r: r["messageAttributes"]["source"].update(stringValue=""), "missing_source"),
        (lambda r: r["messageAttributes"]["source"].update(stringValue=7), "missing_source"),
        (lambda r: r["messageAttributes"].update(source="github"), "missing_source"),
        (lambda r: r.pop("messageAttributes"), "missing_source"),
        (lambda r: r.update(body=None), "missing_body"),
    ],
)
def test_contract_violations(mutate, violation: str) -> None:
    record = build_record("{}", source="github", received_at_ms=1)
    mutate(record)
    assert parse_record(record).contract_violation == violation


@pytest.mark.parametrize("record", [None, 7, "x", [], {}, {"messageId": 5, "attributes": "x"}])
def test_garbage_records_never_raise(record: object) -> None:
    message = parse_record(record)
    assert message.contract_violation is not None


def test_lone_surrogates_are_cleaned_in_attributes() -> None:
    record = build_record("{}", source="git\ud800hub", received_at_ms=1)
    assert parse_record(record).source == "git?hub"


def test_record_from_a_real_sqs_message_round_trips() -> None:
    """What the e2e harness does: receive from SQS, convert, parse."""
    body = 'a=1&b=%2B+{"x": "\u00e9"}\n'
    with mocked_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="webhooks")["QueueUrl"]
        sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={
                "source": {"DataType": "String", "StringValue": "slack"},
                "request_id": {"DataType": "String", "StringValue": "req-9"},
                "received_at_ms": {"DataType": "Number", "StringValue": "1700000000000"},
                "signature": {"DataType": "String", "StringValue": "v0=abc"},
            },
        )
        received = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"])
        record = record_from_sqs_message(received["Messages"][0])
    message = parse_record(record)
    assert message.raw_body() == body.encode()
    assert (message.source, message.request_id, message.received_at_ms) == (
        "slack",
        "req-9",
        1_700_000_000_000,
    )
    assert message.signature == "v0=abc" and message.receive_count == 1
    assert message.contract_violation is None
