"""The SQS record the processor consumes, per docs/message-contract.md.

``parse_record`` turns a Lambda SQS event record into an ``InboundWebhook``; it never raises,
whatever the record holds. ``build_record`` / ``record_from_sqs_message`` go the other way
(what API Gateway + SQS + the event source mapping produce) for tests and local harnesses.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Message attributes written by the API Gateway template (all String except received_at_ms).
SOURCE = "source"
REQUEST_ID = "request_id"
RECEIVED_AT_MS = "received_at_ms"
SOURCE_IP = "source_ip"
CONTENT_TYPE = "content_type"
DELIVERY_ID = "delivery_id"
SIGNATURE = "signature"
SIGNATURE_TIMESTAMP = "signature_timestamp"
EVENT_TYPE = "event_type"
ATTRIBUTE_NAMES = (
    SOURCE,
    REQUEST_ID,
    RECEIVED_AT_MS,
    SOURCE_IP,
    CONTENT_TYPE,
    DELIVERY_ID,
    SIGNATURE,
    SIGNATURE_TIMESTAMP,
    EVENT_TYPE,
)
# Optional 10th attribute: set by `webhookctl history requeue` on the messages it rebuilds.
REPLAY_ID = "replay_id"
NUMBER_ATTRIBUTES = frozenset({RECEIVED_AT_MS})

_EPOCH_MS = re.compile(r"[0-9]{1,16}")


def clean_text(value: Any) -> str | None:
    """A non-empty str that can be UTF-8 encoded, or None (missing, empty or not a string)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: cannot come from SQS, but never crash on them
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def to_int(value: Any) -> int | None:
    """A non-negative decimal of at most 16 digits (an epoch-ms time, a count), else None."""
    if isinstance(value, str) and _EPOCH_MS.fullmatch(value.strip()):
        return int(value.strip())
    return None


@dataclass(frozen=True)
class InboundWebhook:
    """One webhook delivery: carried by one SQS message, or (a ``payload_store = "s3"``
    source) an object of the payload store named by an S3 event notification (s3_pointer)."""

    message_id: str
    body: str | None
    source: str | None = None
    request_id: str | None = None
    received_at_ms: int | None = None
    source_ip: str | None = None
    content_type: str | None = None
    delivery_id: str | None = None
    signature: str | None = None
    signature_timestamp: str | None = None
    event_type: str | None = None
    replay_id: str | None = None
    # Every string message attribute as received, name -> value (kept on rejected/invalid rows
    # so `history requeue` can rebuild the message).
    attributes: Mapping[str, str] = field(default_factory=dict)
    receive_count: int | None = None
    sent_timestamp_ms: int | None = None
    # First reason the message breaks the contract (missing required attribute etc.), or None.
    contract_violation: str | None = None
    # An S3 source's delivery: the object's bytes as API Gateway wrote them (any bytes, not
    # only UTF-8; ``body`` is their text when they are UTF-8, else None) and the object's
    # ``s3://bucket/ingest/...`` URI, the row's body_ref. None for a queue source.
    raw: bytes | None = None
    object_ref: str | None = None

    def raw_body(self) -> bytes:
        """The request body, byte-exact: the object's bytes, or the SQS body string as UTF-8.
        Raises UnicodeEncodeError (a queue message only)."""
        if self.raw is not None:
            return self.raw
        return (self.body or "").encode("utf-8")


def _attribute(attributes: Mapping[str, Any], name: str) -> str | None:
    entry = attributes.get(name)
    if not isinstance(entry, Mapping):
        return None
    return clean_text(entry.get("stringValue"))


def _received_attributes(attributes: Mapping[str, Any]) -> dict[str, str]:
    """Every attribute with a string value, name -> value (garbage entries are skipped)."""
    received = {}
    for name in attributes:
        key = clean_text(name)
        value = _attribute(attributes, name) if key is not None else None
        if key is not None and value is not None:
            received[key] = value
    return received


def parse_record(record: Any) -> InboundWebhook:
    """Read a Lambda SQS record. Missing or malformed parts are reported, never raised."""
    if not isinstance(record, Mapping):
        return InboundWebhook(message_id="", body=None, contract_violation="malformed_record")
    message_id = record.get("messageId")
    message_id = message_id if isinstance(message_id, str) else ""
    body = record.get("body")
    body = body if isinstance(body, str) else None
    raw_attrs = record.get("messageAttributes")
    attrs: Mapping[str, Any] = raw_attrs if isinstance(raw_attrs, Mapping) else {}
    sqs_attrs = record.get("attributes")
    sqs_attrs = sqs_attrs if isinstance(sqs_attrs, Mapping) else {}

    values = {name: _attribute(attrs, name) for name in ATTRIBUTE_NAMES}
    received_raw = values[RECEIVED_AT_MS]
    received_at_ms = to_int(received_raw)

    violation = None
    if body is None:
        violation = "missing_body"
    elif values[SOURCE] is None:
        violation = "missing_source"
    elif values[REQUEST_ID] is None:
        violation = "missing_request_id"
    elif received_raw is None:
        violation = "missing_received_at"
    elif received_at_ms is None:
        violation = "malformed_received_at"

    return InboundWebhook(
        message_id=message_id,
        body=body,
        source=values[SOURCE],
        request_id=values[REQUEST_ID],
        received_at_ms=received_at_ms,
        source_ip=values[SOURCE_IP],
        content_type=values[CONTENT_TYPE],
        delivery_id=values[DELIVERY_ID],
        signature=values[SIGNATURE],
        signature_timestamp=values[SIGNATURE_TIMESTAMP],
        event_type=values[EVENT_TYPE],
        replay_id=_attribute(attrs, REPLAY_ID),
        attributes=_received_attributes(attrs),
        receive_count=to_int(sqs_attrs.get("ApproximateReceiveCount")),
        sent_timestamp_ms=to_int(sqs_attrs.get("SentTimestamp")),
        contract_violation=violation,
    )


# --- the other direction: for tests and local harnesses -------------------------------------


def build_record(
    body: str,
    *,
    source: str | None,
    request_id: str | None = None,
    received_at_ms: int | None = None,
    source_ip: str | None = "203.0.113.10",
    content_type: str | None = "application/json",
    delivery_id: str | None = None,
    signature: str | None = None,
    signature_timestamp: str | None = None,
    event_type: str | None = None,
    replay_id: str | None = None,
    message_id: str | None = None,
    receive_count: int = 1,
    sent_timestamp_ms: int | None = None,
    queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:webhooks",
) -> dict[str, Any]:
    """A Lambda SQS record as the API Gateway template + SQS + event source mapping make it.

    Like the template, attributes whose value is None or "" are left out. ``request_id``
    and ``message_id`` default to fresh UUIDs.
    """
    values: dict[str, str | int | None] = {
        SOURCE: source,
        REQUEST_ID: str(uuid.uuid4()) if request_id is None else request_id,
        RECEIVED_AT_MS: received_at_ms,
        SOURCE_IP: source_ip,
        CONTENT_TYPE: content_type,
        DELIVERY_ID: delivery_id,
        SIGNATURE: signature,
        SIGNATURE_TIMESTAMP: signature_timestamp,
        EVENT_TYPE: event_type,
        REPLAY_ID: replay_id,
    }
    attributes = {
        name: {
            "stringValue": str(value),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number" if name in NUMBER_ATTRIBUTES else "String",
        }
        for name, value in values.items()
        if value is not None and value != ""
    }
    sent = sent_timestamp_ms if sent_timestamp_ms is not None else received_at_ms
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": f"handle-{uuid.uuid4().hex}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(sent if sent is not None else 0),
            "SenderId": "AROAEXAMPLE:apigateway",
            "ApproximateFirstReceiveTimestamp": str(sent if sent is not None else 0),
        },
        "messageAttributes": attributes,
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3] if queue_arn.count(":") >= 5 else "us-east-1",
    }


def record_from_sqs_message(
    message: Mapping[str, Any], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:webhooks"
) -> dict[str, Any]:
    """Convert one SQS ReceiveMessage message (boto3 shape) into a Lambda SQS event record.

    Receive with ``MessageAttributeNames=["All"]`` and ``AttributeNames=["All"]`` (or
    ``MessageSystemAttributeNames``) so nothing the processor reads is lost.
    """
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType", "String"),
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message.get("ReceiptHandle", ""),
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3] if queue_arn.count(":") >= 5 else "us-east-1",
    }


def sqs_event(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The Lambda event for a batch of records."""
    return {"Records": list(records)}
