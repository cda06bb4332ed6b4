"""S3 event notifications naming payload store objects: the input of ``payload_store = "s3"``
sources (docs/message-contract.md, "The S3 pointer message").

API Gateway writes such a source's request as the object ``ingest/<source>/<request id>`` of the
payload bucket, its headers as the object's user metadata; S3 then sends an event notification
to the main queue. That SQS message has no message attributes (S3 sets none) and a JSON body
``{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {...}}]}``.
Putting a notification configuration also sends one ``{"Event": "s3:TestEvent", ...}``.

This module only reads and writes those shapes: no client, no I/O (the processor fetches the
object through payload_store). Cheap to import, since every message is looked at here first.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import quote_plus, unquote_plus

from . import contract
from .contract import InboundWebhook, clean_text, to_int

INGEST_PREFIX = "ingest/"
TEST_EVENT = "s3:TestEvent"
EVENT_SOURCE = "aws:s3"
# eventName of every record this module treats as a pointer (ObjectCreated:Put, :Post, ...).
CREATED_PREFIX = "ObjectCreated:"

# The object's user metadata (GetObject's Metadata: lower-case, without "x-amz-meta-"), as the
# S3 integration writes it, -> the message attribute the queue path carries the same value in.
METADATA_ATTRIBUTES: Mapping[str, str] = {
    "source": contract.SOURCE,
    "request-id": contract.REQUEST_ID,
    "received-at-ms": contract.RECEIVED_AT_MS,
    "source-ip": contract.SOURCE_IP,
    "delivery-id": contract.DELIVERY_ID,
    "signature": contract.SIGNATURE,
    "signature-timestamp": contract.SIGNATURE_TIMESTAMP,
    "event-type": contract.EVENT_TYPE,
}

# Reasons of the invalid rows a pointer gets when it does not name an object of ours.
FOREIGN_BUCKET = "foreign_bucket"
MALFORMED_KEY = "malformed_key"
UNKNOWN_SOURCE = "unknown_source"
NOT_S3_SOURCE = "not_s3_source"
SOURCE_MISMATCH = "source_mismatch"
REQUEST_ID_MISMATCH = "request_id_mismatch"

# ``ingest/<source>/<request id>``. Source names are the module's (variables.tf); the request
# id is API Gateway's (a UUID): both single path segments.
_INGEST_KEY = re.compile(r"ingest/([a-z0-9][a-z0-9_-]{0,62})/([A-Za-z0-9][A-Za-z0-9._-]{0,127})")


class Pointer(NamedTuple):
    """One ObjectCreated record. ``key`` is decoded (S3 sends it URL-encoded, spaces as ``+``);
    bucket and key are "" when the record does not carry them as strings."""

    bucket: str
    key: str
    event_name: str
    # The record's eventTime (when S3 stored the object), epoch ms; None when absent or odd.
    event_time_ms: int | None = None


class Notification(NamedTuple):
    """An S3 event notification: ``test_event`` (nothing to do), or its ObjectCreated records."""

    test_event: bool
    pointers: tuple[Pointer, ...] = ()


def ingest_key(source: str, request_id: str) -> str:
    return f"{INGEST_PREFIX}{source}/{request_id}"


def parse_ingest_key(key: str) -> tuple[str, str] | None:
    """``ingest/<source>/<request id>`` -> (source, request id); None for any other key."""
    match = _INGEST_KEY.fullmatch(key)
    return (match.group(1), match.group(2)) if match else None


def _epoch_ms(value: Any) -> int | None:
    """ISO 8601 (``2026-12-02T17:51:27.123Z``, S3's eventTime) -> epoch ms; None otherwise."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def _pointer(entry: Any) -> Pointer | None:
    if not isinstance(entry, Mapping) or entry.get("eventSource") != EVENT_SOURCE:
        return None
    name = entry.get("eventName")
    if not isinstance(name, str) or not name.startswith(CREATED_PREFIX):
        return None
    s3 = entry.get("s3")
    s3 = s3 if isinstance(s3, Mapping) else {}
    bucket = s3.get("bucket")
    obj = s3.get("object")
    bucket_name = bucket.get("name") if isinstance(bucket, Mapping) else None
    raw_key = obj.get("key") if isinstance(obj, Mapping) else None
    return Pointer(
        bucket_name if isinstance(bucket_name, str) else "",
        unquote_plus(raw_key) if isinstance(raw_key, str) else "",
        name,
        _epoch_ms(entry.get("eventTime")),
    )


def parse_body(body: Any) -> Notification | None:
    """The notification in an SQS body, or None when the body is not one (not JSON, no
    Records, or a record that is not an ObjectCreated record of S3: the message is then
    handled as any other message without a source attribute)."""
    if not isinstance(body, str) or not body.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, Mapping):
        return None
    records = document.get("Records")
    if records is None:
        return Notification(True) if document.get("Event") == TEST_EVENT else None
    if not isinstance(records, list) or not records:
        return None
    pointers = [_pointer(entry) for entry in records]
    if any(pointer is None for pointer in pointers):
        return None
    return Notification(False, tuple(p for p in pointers if p is not None))


def parse_record(record: Any) -> Notification | None:
    """The notification a Lambda SQS record carries, or None. Only a message without a
    ``source`` attribute can be one: the queue path's messages always have it."""
    if not isinstance(record, Mapping):
        return None
    attributes = record.get("messageAttributes")
    if isinstance(attributes, Mapping) and contract.SOURCE in attributes:
        return None
    return parse_body(record.get("body"))


def record_source(record: Any) -> str | None:
    """The source the first object of a notification record names (its key), or None: the
    metrics' Source of a pointer that failed before it was read (a failed GetObject)."""
    notification = parse_record(record)
    key = notification.pointers[0].key if notification and notification.pointers else ""
    parsed = parse_ingest_key(key)
    return parsed[0] if parsed else None


def build_body(bucket: str, key: str, event_time_ms: int | None = None) -> str:
    """An SQS body naming one object, shaped like S3's notification (the fields the processor
    reads, and a few more): ``webhookctl history requeue`` sends it so the processor reads the
    object again; tests use it too. The key is URL-encoded as S3 encodes it."""
    stamp = int(time.time() * 1000) if event_time_ms is None else event_time_ms
    seconds, millis = divmod(stamp, 1000)
    record = {
        "eventVersion": "2.1",
        "eventSource": EVENT_SOURCE,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z",
        "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket}, "object": {"key": quote_plus(key)}},
    }
    return json.dumps({"Records": [record]}, separators=(",", ":"))


def inbound(
    sqs: InboundWebhook,
    *,
    source: str,
    request_id: str,
    object_ref: str,
    raw: bytes,
    metadata: Mapping[str, Any],
    content_type: str | None,
    event_time_ms: int | None = None,
) -> InboundWebhook:
    """The delivery an object holds, as the queue path's message would carry it: the headers
    read from the object's metadata, the bytes as they are, and the SQS fields (message id,
    receive count, replay id) of the notification's message ``sqs``.

    The received time is the ``received-at-ms`` metadata (API Gateway's requestTimeEpoch),
    else ``event_time_ms`` (the record's eventTime: S3 stored the object a moment after the
    request arrived), else the message's SentTimestamp: an emulator may drop that metadata
    (LocalStack keeps only string context values), and the delivery is no less ours."""
    values = {name: clean_text(metadata.get(meta)) for meta, name in METADATA_ATTRIBUTES.items()}
    received_at_ms = to_int(values[contract.RECEIVED_AT_MS])
    if received_at_ms is None:
        received_at_ms = event_time_ms if event_time_ms is not None else sqs.sent_timestamp_ms
        values[contract.RECEIVED_AT_MS] = None if received_at_ms is None else str(received_at_ms)
    violation = None
    if values[contract.SOURCE] not in (None, source):
        violation = SOURCE_MISMATCH
    elif values[contract.REQUEST_ID] not in (None, request_id):
        violation = REQUEST_ID_MISMATCH
    elif received_at_ms is None:
        violation = "missing_received_at"
    values.update({contract.SOURCE: source, contract.REQUEST_ID: request_id})
    clean_type = clean_text(content_type)
    if clean_type is not None:
        values[contract.CONTENT_TYPE] = clean_type
    try:
        text: str | None = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return InboundWebhook(
        message_id=sqs.message_id,
        body=text,
        source=source,
        request_id=request_id,
        received_at_ms=received_at_ms,
        source_ip=values[contract.SOURCE_IP],
        content_type=clean_type,
        delivery_id=values[contract.DELIVERY_ID],
        signature=values[contract.SIGNATURE],
        signature_timestamp=values[contract.SIGNATURE_TIMESTAMP],
        event_type=values[contract.EVENT_TYPE],
        replay_id=sqs.replay_id,
        # What the row's message_attributes show: the same names as a queue message's.
        attributes={name: value for name, value in values.items() if value is not None},
        receive_count=sqs.receive_count,
        sent_timestamp_ms=sqs.sent_timestamp_ms,
        contract_violation=violation,
        raw=raw,
        object_ref=object_ref,
    )
