"""webhookctl: inspect and replay the webhook pipeline (DLQ and history table).

Works against a real account (default credential chain) or the local one
(`--endpoint-url http://127.0.0.1:PORT`, or AWS_ENDPOINT_URL). Examples:

    python -m tools.webhookctl dlq list --queue-url "$DLQ_URL"
    python -m tools.webhookctl dlq replay --dlq-url "$DLQ_URL" --queue-url "$QUEUE_URL" --max 100
    python -m tools.webhookctl history list --table NAME-history --source github --since 2025-01-01T00:00:00Z
    python -m tools.webhookctl history show --table NAME-history --event-id 'github#3f2a...'
    python -m tools.webhookctl history show --table NAME-history --event-id 'github#3f2a...' --body-out body.bin
    python -m tools.webhookctl history requeue --table NAME-history --queue-url "$QUEUE_URL" \
        --source stripe --reason signature_mismatch --since 2025-01-01T00:00:00Z --dry-run
    python -m tools.webhookctl history replay --name NAME --consumer payments \
        --event-type 'payment_intent.*' --since 2025-01-07 --until 2025-01-08 --rate 50
    python -m tools.webhookctl history replay --name NAME --source github --event-id 'github#...'
    python -m tools.webhookctl stats --table NAME-history --since 1h [--source stripe]

Replay is safe to interrupt and to repeat: each message is deleted from the DLQ only after
SendMessage to the main queue succeeded with the same body (MD5 checked) and message
attributes. Stopped between the two calls, a message is in both queues; replaying it again
is harmless because the processor treats a second delivery of the same `request_id` as a
redelivery (no new row, no duplicate count).

`history requeue` re-verifies rejected (or invalid) rows once their cause is fixed (a
mistyped secret, a wrong scheme): it rebuilds each row's original SQS message from its
stored body and message attributes, tags it with a fresh `replay_id`, and sends it to the
main queue. An event that now verifies ends as one processed row under its event id and
its rejected row gets `superseded_by`; requeueing the same row again is a redelivery.

`stats` counts the history rows received in a time window by source, status and reason, from
the table's indexes (by_source with --source, else by_received: ten queries per UTC day, never a
Scan): the figures of the dashboard's outcome widgets, for an operator at a terminal.

`history replay` re-delivers processed events to the consumers: republished to the event
topic (every matching subscription gets them) or sent to one consumer's queue, as the
envelope the processor published, with a fresh `replay_id`. It reads history (ten queries
per UTC day of the by_received index, one per bucket, or by_source) and only sends, so an interrupted replay
loses nothing and running it again re-delivers; consumers deduplicate by `event_id`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import heapq
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.config import Config as BotoConfig

# The processor's own envelope, publisher and body rules: a replayed envelope is built by the
# code that built the original (lambda/ is on the path under pytest; add it for the CLI).
_LAMBDA_DIR = str(Path(__file__).resolve().parents[1] / "lambda")
if _LAMBDA_DIR not in sys.path:
    sys.path.append(_LAMBDA_DIR)

from webhook_processor.envelope import (  # noqa: E402
    MAX_MESSAGE_BYTES,
    RECEIVED_BUCKETS,
    Envelope,
    build_envelope,
    utc_day,
)
from webhook_processor.payload_store import BodyRef, parse_body_ref  # noqa: E402
from webhook_processor.publisher import MAX_BATCH_ENTRIES, Publisher  # noqa: E402
from webhook_processor.s3_pointer import INGEST_PREFIX, build_body  # noqa: E402
from webhook_processor.validation import validate_body  # noqa: E402

BODY_PREVIEW_CHARS = 80
GSI_NAME = "by_source"
# docs/message-contract.md: every message attribute is a String except this one.
NUMBER_ATTRIBUTES = frozenset({"received_at_ms"})
REPLAY_ID_ATTRIBUTE = "replay_id"
SQS_MAX_ATTRIBUTES = 10
STATUSES = ("processed", "rejected", "invalid", "conflict")
REQUEUE_STATUSES = ("rejected", "invalid")


# --------------------------------------------------------------------------- helpers


def _client(args: argparse.Namespace, service: str) -> Any:
    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    options: dict[str, Any] = {"endpoint_url": args.endpoint_url}
    if args.endpoint_url:
        # A local endpoint (moto) takes any credentials and region; do not require them.
        if session.region_name is None:
            options["region_name"] = "us-east-1"
        if session.get_credentials() is None:
            options.update(aws_access_key_id="test", aws_secret_access_key="test")
        if service == "s3":
            # A local endpoint serves buckets by path (no <bucket>.host DNS names).
            options["config"] = BotoConfig(s3={"addressing_style": "path"})
    return session.client(service, **options)


class BodyUnavailable(Exception):
    """A row whose whole body cannot be had: ``category`` for summaries, the text for people."""

    def __init__(self, category: str, message: str) -> None:
        super().__init__(message)
        self.category = category


def ingest_ref(row: dict[str, Any]) -> BodyRef | None:
    """The object of a ``payload_store = "s3"`` source's row (``body_ref`` naming an
    ``ingest/`` key, API Gateway's own write of the request), else None."""
    ref = row.get("body_ref")
    try:
        parsed = parse_body_ref(str(ref)) if ref else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.key.startswith(INGEST_PREFIX) else None


class RowBodies:
    """The exact bytes of history rows' bodies, for every command that reads one.

    A row holds its body whole (``body``, not ``body_truncated``), or points at the payload
    store (``body_ref``: the object is read with GetObject), or holds only a prefix (an
    invalid row, or a long body written without a store): that body is not stored anywhere.
    Either way the bytes must hash to the row's ``body_sha256``. The S3 client is made on the
    first ``body_ref`` row.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self._args = args
        self._s3: Any = None

    def read(self, row: dict[str, Any]) -> bytes:
        """The body's bytes. Raises BodyUnavailable."""
        ref = row.get("body_ref")
        if ref:
            data = self._get_object(str(ref))
        elif row.get("body_truncated"):
            prefix = row.get("body")
            kept = len(prefix.encode("utf-8")) if isinstance(prefix, str) else 0
            raise BodyUnavailable(
                "truncated",
                f"its body was truncated ({row.get('body_size', '?')} bytes received, a {kept}-byte "
                "prefix stored, no body_ref): the whole body is not stored anywhere",
            )
        else:
            body = row.get("body")
            if not isinstance(body, str):
                raise BodyUnavailable("no_body", "the row has no stored body")
            data = body.encode("utf-8")
        want = row.get("body_sha256")
        if want and hashlib.sha256(data).hexdigest() != want:
            where = f"the object {ref}" if ref else "the stored body"
            raise BodyUnavailable("body_mismatch", f"{where} does not match its body_sha256")
        return data

    def text(self, row: dict[str, Any]) -> str:
        """The body as the SQS message body it was (UTF-8 text). Raises BodyUnavailable."""
        data = self.read(row)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            # A queue source's body is the UTF-8 of a message body. An S3 source's object may
            # hold any bytes: its rows are requeued and replayed without text (ingest_ref).
            raise BodyUnavailable("body_mismatch", "the body is not UTF-8 text") from None

    def _get_object(self, ref: str) -> bytes:
        try:
            bucket, key = parse_body_ref(ref)
        except ValueError as exc:
            raise BodyUnavailable("bad_body_ref", str(exc)) from None
        if self._s3 is None:
            self._s3 = _client(self._args, "s3")
        try:
            return bytes(self._s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except Exception as exc:  # NoSuchKey (expired?), AccessDenied, KMS, network
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
            raise BodyUnavailable(
                "store_unreadable", f"cannot read its body from the payload store ({ref}): {code}"
            ) from None


def _preview(text: str, limit: int = BODY_PREVIEW_CHARS) -> str:
    """The first `limit` characters on one line (newlines and control characters escaped)."""
    return json.dumps(text[:limit], ensure_ascii=False)[1:-1]


def _attribute(message: dict[str, Any], name: str) -> str:
    return str(message.get("MessageAttributes", {}).get(name, {}).get("StringValue", ""))


def _sendable_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """ReceiveMessage's MessageAttributes in SendMessage's shape (same names, types, values)."""
    out = {}
    for name, value in attributes.items():
        entry = {"DataType": value["DataType"]}
        for key in ("StringValue", "BinaryValue"):
            if key in value:
                entry[key] = value[key]
        out[name] = entry
    return out


def _ms_to_iso(value: Any) -> str:
    try:
        return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC).isoformat(timespec="milliseconds")
    except (TypeError, ValueError, OverflowError):
        return str(value)


def _parse_since(text: str) -> int:
    """ISO 8601 (a date, or a date and time; no zone means UTC) -> epoch milliseconds."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date/time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def _plain(value: dict[str, Any]) -> Any:
    """A DynamoDB AttributeValue -> JSON-friendly Python."""
    ((kind, raw),) = value.items()
    if kind == "N":
        return int(raw) if raw.lstrip("-").isdigit() else float(raw)
    if kind in ("SS", "NS"):
        return sorted(_plain({kind[0]: v}) for v in raw)
    if kind == "L":
        return [_plain(v) for v in raw]
    if kind == "M":
        return {k: _plain(v) for k, v in raw.items()}
    if kind == "NULL":
        return None
    if kind == "B":
        return {"binary_bytes": len(raw)}
    return raw


def _table(rows: list[list[str]], header: list[str], out: TextIO) -> None:
    widths = [
        max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i])
        for i in range(len(header))
    ]
    widths[-1] = 0  # the last column is never padded
    for line in [header, *rows]:
        out.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() + "\n")


# --------------------------------------------------------------------------- dlq


def _receive(sqs: Any, queue_url: str, count: int, visibility: int) -> list[dict[str, Any]]:
    return sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=max(1, min(10, count)),
        VisibilityTimeout=visibility,
        WaitTimeSeconds=0,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages", [])


def dlq_list(args: argparse.Namespace, out: TextIO) -> int:
    """Receive (without deleting) up to --max messages, print them, then make them visible again."""
    sqs = _client(args, "sqs")
    seen: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []  # every receive, to make them all visible again
    try:
        while args.max is None or len(seen) < args.max:
            remaining = 10 if args.max is None else args.max - len(seen)
            batch = _receive(sqs, args.queue_url, remaining, args.visibility_timeout)
            received.extend(batch)
            ids = {m["MessageId"] for m in seen}
            fresh = [m for m in batch if m["MessageId"] not in ids]
            if not fresh:  # empty, or only messages whose visibility ran out while listing
                break
            seen.extend(fresh)
    finally:
        _release(sqs, args.queue_url, received)
    records = [
        {
            "message_id": m["MessageId"],
            "source": _attribute(m, "source"),
            "request_id": _attribute(m, "request_id"),
            "receive_count": int(m.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
            "sent_at": _ms_to_iso(m.get("Attributes", {}).get("SentTimestamp")),
            "body": _preview(m.get("Body", "")),
        }
        for m in seen
    ]
    if args.json:
        json.dump(records, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    _table(
        [
            [r["message_id"], r["source"], r["request_id"], str(r["receive_count"]), r["body"]]
            for r in records
        ],
        ["MESSAGE ID", "SOURCE", "REQUEST ID", "RECEIVES", "BODY (first 80 chars)"],
        out,
    )
    out.write(
        f"{len(records)} message(s); RECEIVES is SQS's ApproximateReceiveCount, this listing included\n"
    )
    return 0


def dlq_replay(args: argparse.Namespace, out: TextIO) -> int:
    """Move messages from the DLQ to the main queue, one at a time: send, verify, then delete."""
    sqs = _client(args, "sqs")
    moved = 0
    while args.max is None or moved < args.max:
        remaining = 10 if args.max is None else args.max - moved
        batch = _receive(sqs, args.dlq_url, remaining, args.visibility_timeout)
        if not batch:
            break
        for index, message in enumerate(batch):
            try:
                sent = sqs.send_message(
                    QueueUrl=args.queue_url,
                    MessageBody=message["Body"],
                    MessageAttributes=_sendable_attributes(message.get("MessageAttributes", {})),
                )
                if sent.get("MD5OfMessageBody") != message.get("MD5OfBody"):
                    raise RuntimeError("the main queue's MD5 of the body differs from the DLQ message's")
                want = message.get("MD5OfMessageAttributes")
                if want and sent.get("MD5OfMessageAttributes") != want:
                    raise RuntimeError(
                        "the main queue's MD5 of the attributes differs from the DLQ message's"
                    )
            except Exception as exc:
                # Not sent (or not verifiably): leave this one and the rest of the batch in the DLQ.
                _release(sqs, args.dlq_url, batch[index:])
                out.write(f"error: could not replay {message['MessageId']}: {exc}\n")
                out.write(f"replayed {moved} message(s); stopped, nothing deleted that was not sent\n")
                return 1
            sqs.delete_message(QueueUrl=args.dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
            out.write(
                f"replayed {message['MessageId']} source={_attribute(message, 'source')} "
                f"request_id={_attribute(message, 'request_id')} -> {sent['MessageId']}\n"
            )
    out.write(f"replayed {moved} message(s)\n")
    return 0


def _release(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> None:
    """Make received messages visible again at once (best effort: otherwise after the timeout)."""
    try:
        for i in range(0, len(messages), 10):
            sqs.change_message_visibility_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for n, m in enumerate(messages[i : i + 10])
                ],
            )
    except Exception:
        pass  # the visibility timeout releases them anyway


# --------------------------------------------------------------------------- history


def _query_by_source(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    dynamodb = _client(args, "dynamodb")
    names = {"#source": "source"}
    values: dict[str, Any] = {":source": {"S": args.source}}
    condition = "#source = :source"
    if args.since is not None:
        condition += " AND received_at >= :since"
        values[":since"] = {"N": str(args.since)}
    query: dict[str, Any] = {
        "TableName": args.table,
        "IndexName": GSI_NAME,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,  # newest first
    }
    if args.status:
        query["FilterExpression"] = "#status = :status"
        names["#status"] = "status"
        values[":status"] = {"S": args.status}
    for page in dynamodb.get_paginator("query").paginate(**query):
        for item in page["Items"]:
            yield {name: _plain(value) for name, value in item.items()}


def history_list(args: argparse.Namespace, out: TextIO) -> int:
    rows = []
    for item in _query_by_source(args):
        rows.append(item)
        if len(rows) >= args.limit:
            break
    if args.json:
        json.dump(rows, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    _table(
        [
            [
                _ms_to_iso(r.get("received_at")),
                str(r.get("status", "")),
                str(r.get("event_type", "")),
                str(r.get("request_id", "")),
                str(r.get("reason") or ""),
                str(r.get("event_id", "")),
            ]
            for r in rows
        ],
        ["RECEIVED (UTC)", "STATUS", "EVENT TYPE", "REQUEST ID", "REASON", "EVENT ID"],
        out,
    )
    out.write(f"{len(rows)} row(s), newest first\n")
    return 0


def history_show(args: argparse.Namespace, out: TextIO) -> int:
    dynamodb = _client(args, "dynamodb")
    item = dynamodb.get_item(
        TableName=args.table, Key={"event_id": {"S": args.event_id}}, ConsistentRead=True
    ).get("Item")
    if item is None:
        out.write(f"no history row with event_id {args.event_id!r}\n")
        return 1
    row = {name: _plain(value) for name, value in sorted(item.items())}
    if args.body_out:
        try:
            data = RowBodies(args).read(row)
        except BodyUnavailable as exc:
            out.write(f"error: --body-out: row {args.event_id!r}: {exc}\n")
            return 2
        Path(args.body_out).write_bytes(data)
        row["body_out"] = {"path": args.body_out, "bytes": len(data)}
    if args.no_body or args.body_out:
        row.pop("body", None)
    for name in ("received_at", "processed_at"):
        if name in row:
            row[f"{name}_iso"] = _ms_to_iso(row[name])
    json.dump(row, out, ensure_ascii=False, indent=2)
    out.write("\n")
    return 0


# --------------------------------------------------------------------------- history requeue


def new_replay_id(kind: str = "rq") -> str:
    """One id per run (rq: requeue, rp: replay): when it ran (UTC) and a random part."""
    return f"{kind}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:12]}"


def _received_at_range(args: argparse.Namespace, values: dict[str, Any]) -> list[str]:
    """The --since/--until condition on received_at (none, or one), its values added to values.

    A key condition allows one comparison on the sort key: BETWEEN when both are given.
    """
    if args.since is not None and args.until is not None:
        values[":since"] = {"N": str(args.since)}
        values[":until"] = {"N": str(args.until - 1)}  # --until is exclusive, BETWEEN inclusive
        return ["received_at BETWEEN :since AND :until"]
    if args.since is not None:
        values[":since"] = {"N": str(args.since)}
        return ["received_at >= :since"]
    if args.until is not None:
        values[":until"] = {"N": str(args.until)}
        return ["received_at < :until"]
    return []


def _select_rows(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """The candidate rows, oldest first where the read allows it, each read in full.

    --event-id: GetItem per id. --source: a Query of the by_source index (source +
    received_at range; status/reason filtered on the index), then a consistent GetItem of
    each row (the index projects no body). Neither: a Scan of the whole table.
    """
    dynamodb = _client(args, "dynamodb")
    if args.event_id:
        for event_id in args.event_id:
            item = dynamodb.get_item(
                TableName=args.table, Key={"event_id": {"S": event_id}}, ConsistentRead=True
            ).get("Item")
            if item is None:
                yield {"event_id": event_id, "_missing": True}
            else:
                yield {name: _plain(value) for name, value in item.items()}
        return

    names = {"#status": "status"}
    values: dict[str, Any] = {":status": {"S": args.status}}
    filters = ["#status = :status"]
    if args.reason:
        names["#reason"] = "reason"
        keys = []
        for i, reason in enumerate(args.reason):
            values[f":reason{i}"] = {"S": reason}
            keys.append(f":reason{i}")
        filters.append(f"#reason IN ({', '.join(keys)})")
    time_range = _received_at_range(args, values)

    if args.source:
        names["#source"] = "source"
        values[":source"] = {"S": args.source}
        query: dict[str, Any] = {
            "TableName": args.table,
            "IndexName": GSI_NAME,
            "KeyConditionExpression": " AND ".join(["#source = :source", *time_range]),
            "FilterExpression": " AND ".join(filters),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": True,  # oldest first: the order they were received
        }
        for page in dynamodb.get_paginator("query").paginate(**query):
            for key in page["Items"]:
                item = dynamodb.get_item(
                    TableName=args.table, Key={"event_id": key["event_id"]}, ConsistentRead=True
                ).get("Item")
                if item is not None:  # expired or deleted since the index saw it
                    yield {name: _plain(value) for name, value in item.items()}
        return

    scan: dict[str, Any] = {
        "TableName": args.table,
        "FilterExpression": " AND ".join([*filters, *time_range]),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ConsistentRead": True,
    }
    rows = [
        {name: _plain(value) for name, value in item.items()}
        for page in dynamodb.get_paginator("scan").paginate(**scan)
        for item in page["Items"]
    ]
    yield from sorted(rows, key=lambda row: (int(row.get("received_at") or 0), str(row["event_id"])))


def _refusal(row: dict[str, Any], args: argparse.Namespace) -> tuple[str, str] | None:
    """(category, message) when the row cannot be requeued, None when it can (its body is
    checked apart: RowBodies)."""
    if row.get("_missing"):
        return "not_found", "no history row with this event_id"
    status = row.get("status")
    if status not in REQUEUE_STATUSES:
        return "wrong_status", f"status is {status!r}: only rejected and invalid rows are requeued"
    if ingest_ref(row) is not None:
        return None  # requeued as a pointer to its object (pointer_message): no attributes needed
    attributes = row.get("message_attributes")
    if not isinstance(attributes, dict) or not attributes:
        return "no_message_attributes", (
            "the row has no message_attributes (written before they were stored): "
            "the signature headers are not known"
        )
    names = set(attributes) | {REPLAY_ID_ATTRIBUTE}
    if len(names) > SQS_MAX_ATTRIBUTES:
        return "too_many_attributes", f"{len(names)} message attributes (SQS allows {SQS_MAX_ATTRIBUTES})"
    return None


def requeue_message(row: dict[str, Any], replay_id: str, body: str) -> dict[str, Any]:
    """SendMessage's body and attributes for a row: the original message (``body``: the row's
    whole body, RowBodies.text), plus `replay_id`."""
    attributes: dict[str, Any] = {}
    for name, value in sorted(row["message_attributes"].items()):
        if name == REPLAY_ID_ATTRIBUTE or value is None or str(value) == "":
            continue  # SQS refuses empty values; an older replay id is replaced
        data_type = "Number" if name in NUMBER_ATTRIBUTES else "String"
        attributes[name] = {"DataType": data_type, "StringValue": str(value)}
    attributes[REPLAY_ID_ATTRIBUTE] = {"DataType": "String", "StringValue": replay_id}
    return {"MessageBody": body, "MessageAttributes": attributes}


def pointer_message(ref: BodyRef, replay_id: str) -> dict[str, Any]:
    """SendMessage's body and attributes for an S3 source's row: a notification naming its
    object again, as S3 sent it, plus `replay_id`. The processor reads the object (the exact
    bytes and headers API Gateway wrote) and verifies it afresh: nothing is rebuilt here, and
    a body that is not UTF-8 (no SQS body could carry it) is requeued as well."""
    return {
        "MessageBody": build_body(ref.bucket, ref.key),
        "MessageAttributes": {REPLAY_ID_ATTRIBUTE: {"DataType": "String", "StringValue": replay_id}},
    }


def history_requeue(args: argparse.Namespace, out: TextIO) -> int:
    """Send rejected/invalid rows back to the main queue, rebuilt from body + message_attributes."""
    if not args.dry_run and not args.queue_url:
        out.write("error: --queue-url is required (or use --dry-run)\n")
        return 2
    replay_id = new_replay_id()
    sqs = None if args.dry_run else _client(args, "sqs")
    bodies = RowBodies(args)
    verb = "would requeue" if args.dry_run else "requeued"
    if not args.json:
        out.write(f"replay_id {replay_id}{' (dry run: nothing is sent)' if args.dry_run else ''}\n")
    sent: list[dict[str, Any]] = []
    refused: dict[str, list[dict[str, Any]]] = {}
    superseded: list[dict[str, Any]] = []
    failed: dict[str, Any] | None = None
    for row in _select_rows(args):
        if args.max is not None and len(sent) >= args.max:
            break
        event_id = str(row.get("event_id"))
        summary = {
            "event_id": event_id,
            "source": row.get("source"),
            "request_id": row.get("request_id"),
            "status": row.get("status"),
            "reason": row.get("reason"),
            "received_at": _ms_to_iso(row.get("received_at")),
        }
        if row.get("superseded_by"):
            superseded.append({**summary, "superseded_by": row["superseded_by"]})
            if not args.json:
                out.write(f"skipped {event_id}: already recovered, superseded by {row['superseded_by']}\n")
            continue
        refusal = _refusal(row, args)
        body = ""
        pointer = ingest_ref(row)
        if refusal is None:
            try:
                if pointer is not None:
                    bodies.read(row)  # the object is still there, and is still the row's body
                else:
                    body = bodies.text(row)  # from the row, or the payload store (body_ref)
            except BodyUnavailable as exc:
                refusal = (exc.category, str(exc))
        if refusal is not None:
            category, message = refusal
            refused.setdefault(category, []).append({**summary, "refused": message})
            if not args.json:
                out.write(f"refused {event_id}: {message}\n")
            continue
        if pointer is not None:
            message = pointer_message(pointer, replay_id)
        else:
            message = requeue_message(row, replay_id, body)
        entry = {
            **summary,
            "body_size": len(message["MessageBody"].encode("utf-8")),
            "body": _preview(message["MessageBody"]),
            "message_attributes": {k: v["StringValue"] for k, v in message["MessageAttributes"].items()},
        }
        if pointer is not None:  # the message is a pointer: the body is the object's
            entry.update(body_size=int(row.get("body_size") or 0), object=pointer.uri())
        if sqs is not None:
            try:
                answer = sqs.send_message(QueueUrl=args.queue_url, **message)
                md5 = hashlib.md5(message["MessageBody"].encode("utf-8")).hexdigest()
                if answer.get("MD5OfMessageBody") != md5:
                    raise RuntimeError("the queue's MD5 of the body differs from the row's body")
            except Exception as exc:
                failed = {**summary, "error": str(exc)}
                if not args.json:
                    out.write(f"error: could not requeue {event_id}: {exc}\n")
                break
            entry["message_id"] = answer["MessageId"]
        sent.append(entry)
        if not args.json:
            tail = f" -> {entry['message_id']}" if "message_id" in entry else ""
            out.write(
                f"{verb} {event_id} source={summary['source']} request_id={summary['request_id']} "
                f"reason={summary['reason']} body={entry['body_size']} bytes{tail}\n"
            )
            if args.dry_run:
                out.write(f"  attributes {json.dumps(entry['message_attributes'], ensure_ascii=False)}\n")
                out.write(f"  body       {entry['body']}\n")
    refused_count = sum(len(rows) for rows in refused.values())
    if args.json:
        document = {
            "replay_id": replay_id,
            "dry_run": args.dry_run,
            "requeued": sent,
            "skipped_superseded": superseded,
            "refused": [row for rows in refused.values() for row in rows],
            "error": failed,
        }
        json.dump(document, out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        parts = [f"{verb} {len(sent)} row(s) with replay_id {replay_id}"]
        parts.append(f"skipped {len(superseded)} already superseded")
        detail = ", ".join(f"{category}: {len(rows)}" for category, rows in sorted(refused.items()))
        parts.append(f"refused {refused_count}" + (f" ({detail})" if detail else ""))
        out.write("; ".join(parts) + "\n")
        if failed:
            out.write("stopped at the first send error: rows not yet sent can be requeued again\n")
    if failed:
        return 1
    return 1 if refused_count else 0


# --------------------------------------------------------------------------- history replay


RECEIVED_INDEX = "by_received"
# Only verified events reach consumers. Rejected and invalid rows never verified: `history
# requeue` re-verifies them, and the processor publishes what then verifies.
REPLAY_STATUSES = ("processed", "conflict")
BATCH_GET_KEYS = 100  # BatchGetItem's limit per call
DEFAULT_SAMPLE = 5
_DAY_MS = 86_400_000

replay_logger = logging.getLogger("webhookctl.replay")


def _event_type_condition(patterns: Sequence[str], values: dict[str, Any]) -> str:
    """A FilterExpression matching any of ``patterns`` (exact, or ``prefix.*`` = begins_with)."""
    terms = []
    for i, pattern in enumerate(patterns):
        if pattern.endswith(".*"):
            values[f":type{i}"] = {"S": pattern[:-1]}  # "payment_intent.*" -> "payment_intent."
            terms.append(f"begins_with(#event_type, :type{i})")
        else:
            values[f":type{i}"] = {"S": pattern}
            terms.append(f"#event_type = :type{i}")
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


def _event_type_pattern(text: str) -> str:
    """--event-type: an exact event type or one trailing `.*` (the consumers' event_types rule)."""
    body = text[:-2] if text.endswith(".*") else text
    if not body or "*" in body or any(c.isspace() for c in body):
        raise argparse.ArgumentTypeError(
            f"not an event type or prefix pattern: {text!r} (exact, e.g. invoice.paid, or one "
            "trailing .*, e.g. payment_intent.*)"
        )
    return text


def received_days(since_ms: int, until_ms: int) -> list[str]:
    """The UTC days ("YYYY-MM-DD") from since up to, not including, until."""
    days = []
    day = since_ms - since_ms % _DAY_MS
    while day < until_ms:
        days.append(utc_day(day))
        day += _DAY_MS
    return days


def _index_keys(args: argparse.Namespace, dynamodb: Any) -> Iterator[dict[str, Any]]:
    """The matching rows as the index projects them (no body), oldest first.

    --source: one Query of by_source (source + received_at). Otherwise, for each UTC day of
    --since..--until, one Query of by_received per bucket of that day (RECEIVED_BUCKETS keys
    "YYYY-MM-DD#n", so that a day's writes spread over several index keys), merged back into
    received order. Status and event type are filters on the index's projection. Never a Scan.
    """
    names = {"#status": "status"}
    values: dict[str, Any] = {":status": {"S": args.status}}
    filters = ["#status = :status"]
    if args.event_type:
        names["#event_type"] = "event_type"
        filters.append(_event_type_condition(args.event_type, values))
    time_range = _received_at_range(args, values)
    query: dict[str, Any] = {
        "TableName": args.table,
        "FilterExpression": " AND ".join(filters),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": True,  # oldest first: the order they were received
    }
    paginator = dynamodb.get_paginator("query")
    if args.source:
        names["#source"] = "source"
        values[":source"] = {"S": args.source}
        request = dict(
            query,
            IndexName=GSI_NAME,
            KeyConditionExpression=" AND ".join(["#source = :source", *time_range]),
        )
        for page in paginator.paginate(**request):
            yield from page["Items"]
        return
    assert args.since is not None  # main() requires it without --source / --event-id
    until = args.until if args.until is not None else _now_ms()
    condition = " AND ".join(["received_bucket = :bucket", *time_range])
    for day in received_days(args.since, until):
        streams = [
            _query_items(
                paginator,
                dict(
                    query,
                    IndexName=RECEIVED_INDEX,
                    KeyConditionExpression=condition,
                    ExpressionAttributeValues={**values, ":bucket": {"S": bucket}},
                ),
            )
            for bucket in bucket_keys(day)
        ]
        yield from heapq.merge(*streams, key=_received_order)


def bucket_keys(day: str) -> list[str]:
    """Every by_received key of a UTC day: what envelope.received_bucket gives its rows."""
    return [f"{day}#{n}" for n in range(RECEIVED_BUCKETS)]


def _query_items(paginator: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for page in paginator.paginate(**request):
        yield from page["Items"]


def _received_order(item: dict[str, Any]) -> tuple[int, str]:
    return int(item["received_at"]["N"]), str(item["event_id"]["S"])


def _now_ms() -> int:
    return int(time.time() * 1000)


def _batch_get(dynamodb: Any, table: str, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """event_id -> full row (consistent reads), retrying UnprocessedKeys; missing ids absent."""
    found: dict[str, dict[str, Any]] = {}
    pending = [{"event_id": {"S": event_id}} for event_id in dict.fromkeys(event_ids)]
    delay = 0.05
    while pending:
        keys, pending = pending[:BATCH_GET_KEYS], pending[BATCH_GET_KEYS:]
        answer = dynamodb.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
        for item in answer.get("Responses", {}).get(table, []):
            row = {name: _plain(value) for name, value in item.items()}
            found[str(row["event_id"])] = row
        unprocessed = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
        if unprocessed:  # throttled or over 16 MB: back off, then ask again
            pending = unprocessed + pending
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        else:
            delay = 0.05
    return found


def _selected(args: argparse.Namespace, dynamodb: Any) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """(event_id, full row or None when gone) in replay order, read in BatchGetItem chunks."""
    if args.event_id:
        chunks: Iterator[list[str]] = (
            args.event_id[i : i + BATCH_GET_KEYS] for i in range(0, len(args.event_id), BATCH_GET_KEYS)
        )
    else:
        chunks = _chunked((str(key["event_id"]["S"]) for key in _index_keys(args, dynamodb)), BATCH_GET_KEYS)
    for chunk in chunks:
        rows = _batch_get(dynamodb, args.table, chunk)
        for event_id in dict.fromkeys(chunk):
            yield event_id, rows.get(event_id)


def _chunked(items: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def replay_body(row: dict[str, Any], bodies: RowBodies) -> str | None:
    """The row's whole body (from the row, or the payload store), or None when only a
    truncated prefix is stored (replayed as a reference). Raises BodyUnavailable otherwise.

    An S3 source's row: the copy it keeps (the processor's envelope carried the body exactly
    when the row keeps one), else None, a reference to its object (``body_ref``), as the
    original envelope was: the bytes may be longer than a row keeps, or not UTF-8."""
    if ingest_ref(row) is not None:
        body = row.get("body")
        return body if isinstance(body, str) else None
    try:
        return bodies.text(row)
    except BodyUnavailable as exc:
        if exc.category == "truncated":
            return None
        raise


def replay_envelope(row: dict[str, Any], replay_id: str, body: str | None) -> Envelope:
    """The envelope the processor published for this row, now carrying ``replay_id``.

    ``body`` is the row's whole body (replay_body), or None when the row kept only a
    truncated prefix. Built by the processor's own envelope module from the row's fields, so
    it has the same shape and bytes (only ``replay_id`` differs), and a body too large for SNS
    becomes the same reference (``body_omitted``); ``body_ref`` is the row's. A row whose
    stored body was truncated does not hold the body any more: it is sent as that reference
    too (body and json null, body_size and body_sha256 those of the full body), never with a
    partial body.
    """
    complete = body is not None
    text = body if body is not None else ""
    is_json = False
    if complete:
        # The processor's rule (Processor._envelope): `json` is the body when it parsed.
        parsed = validate_body(text, row.get("content_type")).parsed
        is_json = parsed is not None and (parsed.kind == "json" or parsed.document is not None)
    return build_envelope(
        event_id=str(row["event_id"]),
        source=str(row.get("source") or ""),
        scheme=str(row.get("scheme") or "none"),
        event_type=str(row.get("event_type") or "unknown"),
        delivery_id=row.get("delivery_id"),
        request_id=row.get("request_id"),
        received_at_ms=int(row.get("received_at") or 0),
        processed_at_ms=int(row.get("processed_at") or row.get("received_at") or 0),
        content_type=row.get("content_type"),
        body=text,
        json_text=text if is_json else None,
        replay_id=replay_id,
        body_size=int(row.get("body_size") or len(text.encode("utf-8"))),
        body_sha256=str(row.get("body_sha256") or hashlib.sha256(text.encode("utf-8")).hexdigest()),
        body_ref=row.get("body_ref") or None,
        # 0: never room for the body, so build_envelope returns its body_omitted reference.
        max_bytes=MAX_MESSAGE_BYTES if complete else 0,
    )


def _replay_refusal(row: dict[str, Any] | None, args: argparse.Namespace) -> str | None:
    if row is None:
        return "no history row with this event_id (never written, or expired)"
    if row.get("status") != args.status:
        return f"status is {row.get('status')!r}, not {args.status!r}"
    return None


# The pacer's clock (module attributes, so tests can run --rate without waiting).
_monotonic: Callable[[], float] = time.monotonic
_sleep: Callable[[float], None] = time.sleep


class _Pacer:
    """At most `rate` messages per second on average, from the first send."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self._start: float | None = None
        self._sent = 0

    @property
    def batch_size(self) -> int:
        """Entries per call: at most 10 (SNS and SQS batch limits), and never a second's worth more."""
        return MAX_BATCH_ENTRIES if self.rate is None else max(1, min(MAX_BATCH_ENTRIES, int(self.rate)))

    def wait(self, count: int) -> None:
        if self.rate is None:
            return
        now = _monotonic()
        if self._start is None:
            self._start = now
        delay = self._start + self._sent / self.rate - now
        if delay > 0:
            _sleep(delay)
        self._sent += count


class _Target:
    """Where a replay sends: the topic (PublishBatch) or one consumer's queue (SendMessageBatch)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.consumer = args.consumer
        self.url = self.arn = ""
        if args.consumer:
            self.sqs = _client(args, "sqs")
            self.url = (
                args.queue_url or self.sqs.get_queue_url(QueueName=f"{args.name}-{args.consumer}")["QueueUrl"]
            )
            self.label = f"consumer {args.consumer} ({self.url})"
        else:
            sns = _client(args, "sns")
            self.arn = args.topic_arn or _topic_arn(args)
            self.publisher = Publisher(lambda: sns, self.arn)
            self.label = f"topic {self.arn}"

    def send(self, envelopes: Sequence[Envelope]) -> list[str | None]:
        """One call; per envelope None when accepted, else an error."""
        if not self.consumer:
            return self.publisher.publish(envelopes)
        entries = [
            {
                "Id": str(n),
                "MessageBody": e.message,
                # What raw message delivery gives: each SNS message attribute as an SQS one.
                "MessageAttributes": {
                    name: {"DataType": "String", "StringValue": value} for name, value in e.attributes.items()
                },
            }
            for n, e in enumerate(envelopes)
        ]
        outcome: list[str | None] = ["missing_from_response"] * len(envelopes)
        try:
            answer = self.sqs.send_message_batch(QueueUrl=self.url, Entries=entries)
        except Exception as exc:
            return [str(exc)] * len(envelopes)
        for entry in answer.get("Successful", []):
            n = int(entry["Id"])
            md5 = hashlib.md5(envelopes[n].message.encode("utf-8")).hexdigest()
            ok = entry.get("MD5OfMessageBody") == md5
            outcome[n] = None if ok else "the queue's MD5 of the body differs from the envelope's"
        for entry in answer.get("Failed", []):
            outcome[int(entry["Id"])] = f"{entry.get('Code')}: {entry.get('Message')}"
        return outcome


def _topic_arn(args: argparse.Namespace) -> str:
    """<name>-events in the caller's account and region (the module's topic name)."""
    sns = _client(args, "sns")
    caller = _client(args, "sts").get_caller_identity()
    partition = caller["Arn"].split(":")[1]  # aws, aws-cn, aws-us-gov
    return f"arn:{partition}:sns:{sns.meta.region_name}:{caller['Account']}:{args.name}-events"


def history_replay(args: argparse.Namespace, out: TextIO) -> int:
    """Re-deliver processed events from history to the topic, or to one consumer's queue."""
    replay_id = new_replay_id("rp")
    dynamodb = _client(args, "dynamodb")
    bodies = RowBodies(args)
    target = None if args.dry_run else _Target(args)
    pacer = _Pacer(args.rate)
    where = target.label if target else ("consumer " + args.consumer if args.consumer else "the topic")
    filters = {
        k: v
        for k, v in {
            "source": args.source,
            "event_type": args.event_type,
            "status": args.status,
            "since": _ms_to_iso(args.since) if args.since is not None else None,
            "until": _ms_to_iso(args.until) if args.until is not None else None,
            "event_id": args.event_id,
        }.items()
        if v
    }
    if not args.json:
        out.write(f"replay_id {replay_id}{' (dry run: nothing is sent)' if args.dry_run else ''}\n")
    replay_logger.info(
        "history replay %s started: to %s, filters %s%s",
        replay_id,
        where,
        json.dumps(filters, sort_keys=True),
        " (dry run)" if args.dry_run else "",
    )
    if args.dry_run:
        return _replay_dry_run(args, dynamodb, bodies, replay_id, where, filters, out)

    assert target is not None
    sent: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    failed: dict[str, Any] | None = None
    resume: dict[str, Any] | None = None
    pending: list[tuple[dict[str, Any], Envelope]] = []

    def flush() -> bool:
        """Send `pending`; False (with `failed` set) at the first entry that did not go."""
        nonlocal failed, resume
        while pending:
            chunk = pending[: pacer.batch_size]
            pacer.wait(len(chunk))
            outcome = target.send([e for _, e in chunk])
            for (row, envelope), error in zip(chunk, outcome, strict=True):
                if error is None:
                    sent.append({"event_id": envelope.event_id, "body_omitted": envelope.body_omitted})
                    if not args.json:
                        out.write(
                            f"sent {envelope.event_id} source={row.get('source')} "
                            f"event_type={row.get('event_type')} received={_ms_to_iso(row.get('received_at'))}"
                            f"{' body_omitted' if envelope.body_omitted else ''}\n"
                        )
                elif failed is None:
                    failed = {"event_id": envelope.event_id, "error": error}
                    resume = row
            del pending[: len(chunk)]
            if failed is not None:
                pending.clear()
                return False
        return True

    interrupted = False
    try:
        for event_id, row in _selected(args, dynamodb):
            if args.max is not None and len(sent) + len(pending) >= args.max:
                break
            refusal = _replay_refusal(row, args)
            envelope = None
            if refusal is None:
                assert row is not None
                try:
                    envelope = replay_envelope(row, replay_id, replay_body(row, bodies))
                except BodyUnavailable as exc:
                    refusal = str(exc)
            if refusal is not None or envelope is None:
                refused.append({"event_id": event_id, "refused": refusal})
                if not args.json:
                    out.write(f"refused {event_id}: {refusal}\n")
                continue
            assert row is not None
            pending.append((row, envelope))
            if len(pending) >= pacer.batch_size and not flush():
                break
        if failed is None:
            flush()
    except KeyboardInterrupt:
        interrupted = True
        if pending:
            resume = pending[0][0]
    references = sum(1 for s in sent if s["body_omitted"])
    summary = {
        "replay_id": replay_id,
        "dry_run": False,
        "target": where,
        "filters": filters,
        "sent": len(sent),
        "body_omitted": references,
        "refused": refused,
        "error": failed,
        "interrupted": interrupted,
        "resume_since": _ms_to_iso(resume.get("received_at")) if resume else None,
    }
    replay_logger.info(
        "history replay %s %s: %d sent to %s (%d as body_omitted references), %d refused%s",
        replay_id,
        "interrupted" if interrupted else ("stopped" if failed else "finished"),
        len(sent),
        where,
        references,
        len(refused),
        f", error {failed['error']}" if failed else "",
    )
    if args.json:
        json.dump({**summary, "sent_event_ids": [s["event_id"] for s in sent]}, out, indent=2)
        out.write("\n")
    else:
        parts = [f"sent {len(sent)} event(s) to {where} with replay_id {replay_id}"]
        if references:
            parts.append(
                f"{references} as body_omitted references (too large for SNS, or the stored body truncated)"
            )
        parts.append(f"refused {len(refused)}")
        out.write("; ".join(parts) + "\n")
        if failed:
            out.write(f"error: could not send {failed['event_id']}: {failed['error']}\n")
        if failed or interrupted:
            hint = (
                f" (or, with --since {summary['resume_since']}, only from the first event not sent)"
                if summary["resume_since"] and not args.event_id
                else ""
            )
            out.write(
                "stopped: nothing is lost (history is unchanged); running the same replay again "
                f"re-delivers every selected event{hint}. Consumers deduplicate by event_id.\n"
            )
    if interrupted:
        return 130
    return 1 if failed or refused else 0


def _replay_dry_run(
    args: argparse.Namespace,
    dynamodb: Any,
    bodies: RowBodies,
    replay_id: str,
    where: str,
    filters: dict[str, Any],
    out: TextIO,
) -> int:
    """Count from the index (no body read); read and show only the sample in full."""
    if args.event_id:
        rows = [(i, r) for i, r in _selected(args, dynamodb)]
        matching = [r for _, r in rows if _replay_refusal(r, args) is None]
        refused = [
            {"event_id": i, "refused": _replay_refusal(r, args)} for i, r in rows if _replay_refusal(r, args)
        ]
        count = len(matching)
        sample_rows = matching[: args.sample]
    else:
        sample_ids: list[str] = []
        count = 0
        for key in _index_keys(args, dynamodb):
            count += 1
            if len(sample_ids) < args.sample:
                sample_ids.append(str(key["event_id"]["S"]))
        found = _batch_get(dynamodb, args.table, sample_ids) if sample_ids else {}
        sample_rows = [found[i] for i in sample_ids if i in found]
        refused = []
    if args.max is not None:
        count = min(count, args.max)
    sample = []
    for row in sample_rows:
        try:
            envelope = replay_envelope(row, replay_id, replay_body(row, bodies))
        except BodyUnavailable as exc:
            refused.append({"event_id": str(row.get("event_id")), "refused": str(exc)})
            continue
        sample.append(
            {
                "event_id": envelope.event_id,
                "source": row.get("source"),
                "event_type": row.get("event_type"),
                "received_at": _ms_to_iso(row.get("received_at")),
                "envelope_bytes": envelope.size,
                "body_omitted": envelope.body_omitted,
                "attributes": dict(envelope.attributes),
            }
        )
    if args.json:
        document = {
            "replay_id": replay_id,
            "dry_run": True,
            "target": where,
            "filters": filters,
            "count": count,
            "sample": sample,
            "refused": refused,
        }
        json.dump(document, out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        out.write(f"would send {count} event(s) to {where}\n")
        _table(
            [
                [
                    s["received_at"],
                    str(s["source"]),
                    str(s["event_type"]),
                    f"{s['envelope_bytes']}{' (body_omitted)' if s['body_omitted'] else ''}",
                    s["event_id"],
                ]
                for s in sample
            ],
            ["RECEIVED (UTC)", "SOURCE", "EVENT TYPE", "ENVELOPE BYTES", "EVENT ID"],
            out,
        )
        for r in refused:
            out.write(f"refused {r['event_id']}: {r['refused']}\n")
    replay_logger.info("history replay %s dry run: %d event(s) would be sent to %s", replay_id, count, where)
    return 1 if refused else 0


# --------------------------------------------------------------------------- CLI


# --------------------------------------------------------------------------- stats

_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def _parse_moment(text: str) -> int:
    """--since/--until for stats: a duration back from now (90s, 15m, 1h, 7d) or ISO 8601."""
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if match:
        return _now_ms() - int(match.group(1)) * _UNITS_MS[match.group(2)]
    return _parse_since(text)


def _stats_items(args: argparse.Namespace, dynamodb: Any) -> Iterator[dict[str, Any]]:
    """Every index entry received in [since, until): source, status and reason only."""
    names = {"#source": "source", "#status": "status", "#reason": "reason"}
    values: dict[str, Any] = {}
    time_range = _received_at_range(args, values)
    query: dict[str, Any] = {
        "TableName": args.table,
        "ProjectionExpression": "#source, #status, #reason",
        "ExpressionAttributeNames": names,
    }
    paginator = dynamodb.get_paginator("query")
    if args.source:
        values[":source"] = {"S": args.source}
        request = dict(
            query,
            IndexName=GSI_NAME,
            KeyConditionExpression=" AND ".join(["#source = :source", *time_range]),
            ExpressionAttributeValues=values,
        )
        yield from _query_items(paginator, request)
        return
    condition = " AND ".join(["received_bucket = :bucket", *time_range])
    for day in received_days(args.since, args.until):
        for bucket in bucket_keys(day):
            request = dict(
                query,
                IndexName=RECEIVED_INDEX,
                KeyConditionExpression=condition,
                ExpressionAttributeValues={**values, ":bucket": {"S": bucket}},
            )
            yield from _query_items(paginator, request)


def stats(args: argparse.Namespace, out: TextIO) -> int:
    """Counts by source, status and reason over the window, with each source's rejected share."""
    args.table = args.table or f"{args.name}-history"
    args.until = args.until if args.until is not None else _now_ms()
    counts: dict[tuple[str, str, str], int] = {}
    for item in _stats_items(args, _client(args, "dynamodb")):
        key = tuple(str(_plain(item[k]) if k in item else "") for k in ("source", "status", "reason"))
        counts[key] = counts.get(key, 0) + 1  # type: ignore[index]
    rows = sorted(counts.items())
    if args.json:
        json.dump(
            {
                "since": _ms_to_iso(args.since),
                "until": _ms_to_iso(args.until),
                "counts": [
                    {"source": s, "status": st, "reason": r or None, "count": n} for (s, st, r), n in rows
                ],
            },
            out,
            indent=2,
        )
        out.write("\n")
        return 0
    out.write(f"received {_ms_to_iso(args.since)} .. {_ms_to_iso(args.until)} (UTC)\n")
    _table([[s, st, r, str(n)] for (s, st, r), n in rows], ["SOURCE", "STATUS", "REASON", "COUNT"], out)
    totals: dict[str, list[int]] = {}
    for (source, status, _), n in rows:
        total = totals.setdefault(source, [0, 0])
        total[0] += n
        total[1] += n if status == "rejected" else 0
    for source, (total, rejected) in sorted(totals.items()):
        out.write(f"{source}: {total} row(s), {100 * rejected / total:.0f} % rejected\n")
    if not rows:
        out.write("no rows in this window\n")
    # Duplicates do not add rows (a row's duplicate_count counts them): the dashboard's
    # Webhooks{Status=duplicate} has them.
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webhookctl",
        description="Inspect and replay the webhook pipeline: the SQS dead-letter queue and the history table.",
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--endpoint-url", help="AWS endpoint (the local moto account); default: AWS")
    parser.add_argument("--region", help="AWS region (default: the SDK's configuration)")
    parser.add_argument("--profile", help="AWS profile (default: the SDK's credential chain)")
    parser.add_argument("--json", action="store_true", help="machine-readable output (list commands)")
    groups = parser.add_subparsers(dest="group", required=True, metavar="{dlq,history,stats}")

    dlq = groups.add_parser("dlq", help="the dead-letter queue").add_subparsers(dest="command", required=True)
    listing = dlq.add_parser(
        "list",
        help="show DLQ messages (message id, source, request id, receive count, body start)",
        description="Receives the messages without deleting them and makes them visible again afterwards.",
    )
    listing.add_argument("--queue-url", required=True, help="URL of the dead-letter queue")
    listing.add_argument("--max", type=int, default=None, help="at most this many messages")
    listing.add_argument("--visibility-timeout", type=int, default=30, help=argparse.SUPPRESS)
    listing.set_defaults(run=dlq_list)

    replay = dlq.add_parser(
        "replay",
        help="move DLQ messages back to the main queue (body and attributes unchanged)",
        description=(
            "Each message is sent to the main queue with its body and message attributes, checked "
            "(MD5 of body and attributes), and only then deleted from the DLQ."
        ),
    )
    replay.add_argument("--dlq-url", required=True, help="URL of the dead-letter queue")
    replay.add_argument("--queue-url", required=True, help="URL of the main queue")
    replay.add_argument("--max", type=int, default=None, help="move at most this many messages")
    replay.add_argument("--visibility-timeout", type=int, default=60, help=argparse.SUPPRESS)
    replay.set_defaults(run=dlq_replay)

    counting = groups.add_parser(
        "stats",
        help="counts by source, status and reason over a time window (history table indexes)",
        description=(
            "Counts the history rows received in [--since, --until) by source, status and reason, from "
            f"the by_source index (--source) or the by_received index ({RECEIVED_BUCKETS} queries per UTC "
            "day). Duplicates add no row: the dashboard counts them."
        ),
    )
    counting.add_argument("--table", help="history table name (<name>-history)")
    counting.add_argument("--name", help="the module's name, for the table <name>-history")
    counting.add_argument(
        "--since",
        type=_parse_moment,
        default="1h",
        help="from (15m, 1h, 7d back from now, or ISO 8601; default 1h)",
    )
    counting.add_argument("--until", type=_parse_moment, help="up to, not including (default now)")
    counting.add_argument("--source", help="one source only (the by_source index)")
    counting.set_defaults(run=stats, group="stats")

    history = groups.add_parser("history", help="the history table").add_subparsers(
        dest="command", required=True
    )
    hlist = history.add_parser("list", help="rows of one source, newest first (by_source index)")
    hlist.add_argument("--table", required=True, help="history table name (<name>-history)")
    hlist.add_argument("--source", required=True, help="source name (the path segment)")
    hlist.add_argument("--since", type=_parse_since, help="received at or after (ISO 8601; UTC if no zone)")
    hlist.add_argument("--status", choices=STATUSES, help="only this status")
    hlist.add_argument("--limit", type=int, default=100, help="at most this many rows (default 100)")
    hlist.set_defaults(run=history_list)

    show = history.add_parser("show", help="one row, every attribute, as JSON")
    show.add_argument("--table", required=True, help="history table name (<name>-history)")
    show.add_argument("--event-id", required=True, help="the row's event_id")
    show.add_argument("--no-body", action="store_true", help="leave the stored body out")
    show.add_argument(
        "--body-out",
        metavar="FILE",
        help=(
            "write the body's exact bytes to FILE: from the row when it holds the whole body, from "
            "the payload store when it has a body_ref (needs s3:GetObject); a row that kept only a "
            "truncated prefix exits 2 and writes nothing. The JSON printed then leaves the body out"
        ),
    )
    show.set_defaults(run=history_show)

    requeue = history.add_parser(
        "requeue",
        help="re-verify rejected/invalid rows: rebuild their SQS messages and send them to the main queue",
        description=(
            "Fix the cause first (a mistyped secret, a wrong scheme), then requeue: each selected row's "
            "original SQS message is rebuilt from its stored body and message_attributes (received_at_ms "
            "as a Number, the rest as Strings), tagged with a replay_id that is fresh for this run, and "
            "sent to the main queue. An event that now verifies ends as one processed row under its "
            "event id, and the rejected row gets superseded_by = that event id; rows already superseded "
            "are skipped. Requeueing the same row twice is harmless: the second copy is a redelivery of "
            "the same request id. A body in the payload store (body_ref) is read from its object. "
            'A row of a payload_store = "s3" source (body_ref under ingest/) is requeued as an S3 '
            "notification naming its object again (checked present and unchanged first): the processor "
            "reads the object's exact bytes and headers and verifies them afresh. "
            "Refused, and counted in the summary: rows whose body was truncated "
            "(body_truncated), rows without message_attributes (written before they were stored), rows "
            "whose body (or object) does not match its body_sha256, rows whose object cannot be read. "
            "Reads: --event-id reads those rows; --source queries the by_source index (source + "
            "received_at, so --since/--until narrow the read) and reads each match; without --source "
            "every filter is applied to a Scan of the whole table (it reads, and bills, every row). "
            "Exit status: 0 when every selected row was sent (or skipped as superseded); 1 when a row "
            "was refused, or a send failed (it stops at the first failure: what was not sent can be "
            "requeued again)."
        ),
    )
    requeue.add_argument("--table", required=True, help="history table name (<name>-history)")
    requeue.add_argument("--queue-url", help="URL of the main queue (required unless --dry-run)")
    requeue.add_argument(
        "--source", help="only this source (uses the by_source index; without it: a table scan)"
    )
    requeue.add_argument(
        "--status",
        choices=REQUEUE_STATUSES,
        default="rejected",
        help="rows of this status (default rejected)",
    )
    requeue.add_argument(
        "--reason",
        action="append",
        help="only rows with this reason, e.g. signature_mismatch (repeatable: any of them)",
    )
    requeue.add_argument("--since", type=_parse_since, help="received at or after (ISO 8601; UTC if no zone)")
    requeue.add_argument("--until", type=_parse_since, help="received before (ISO 8601; UTC if no zone)")
    requeue.add_argument(
        "--event-id",
        action="append",
        help="exactly this row, e.g. 'stripe#request:<request id>' (repeatable; no other filter applies)",
    )
    requeue.add_argument("--max", type=int, default=None, help="send at most this many rows")
    requeue.add_argument(
        "--dry-run", action="store_true", help="print how many rows and what would be sent; send nothing"
    )
    requeue.set_defaults(run=history_requeue)

    replay = history.add_parser(
        "replay",
        help="re-deliver processed events from history to the event topic, or to one consumer's queue",
        description=(
            "Selects processed events from the history table and delivers each again as the envelope "
            "the processor published (built by the processor's own envelope code from the row), with a "
            "replay_id that is fresh for this run, printed, logged and set in every envelope. "
            "Reads are queries, never a Scan: --source queries the by_source index (source + "
            "received_at), otherwise --since (required then) and --until query the by_received index "
            f"{RECEIVED_BUCKETS} times per UTC day (one query per bucket of the day); status and event "
            "type filter the index; --event-id reads those rows. "
            "Full rows are read with BatchGetItem, oldest first. "
            "Without --consumer the envelopes are republished to the event topic (PublishBatch) with "
            "the four String message attributes source, event_type, event_id and scheme, so every "
            "subscription's filter policy applies again: each matching consumer gets them. With "
            "--consumer NAME they go to that consumer's queue only (SendMessageBatch), as the raw "
            "envelope body plus those four attributes, exactly what raw message delivery puts there; "
            "the queue is --queue-url, or <name>-<consumer> (the module's naming) looked up with "
            "GetQueueUrl given --name. The consumer's filter policy is not applied: the filters "
            "given here select. "
            "A row whose body is in the payload store (body_ref) is sent with the object's bytes "
            "(SHA-256 checked; refused when it cannot be read). "
            "A row whose stored body was truncated (body_truncated) no longer holds the body: it is "
            "sent as the reference the processor sends for bodies too large for SNS (body_omitted "
            "true, body and json null; body_size and body_sha256 describe the full body). "
            "Replay only reads history and sends: an interrupted or failed run loses nothing, and "
            "running it again re-delivers (at least once: consumers deduplicate by event_id). "
            "Exit status: 0 when every selected event was sent; 1 when a send failed (it stops there) "
            "or an --event-id was refused; 130 when interrupted."
        ),
    )
    replay.add_argument("--table", help="history table name (default: <--name>-history)")
    replay.add_argument(
        "--name",
        help="the module's name: table <name>-history, topic <name>-events, queues <name>-<consumer>",
    )
    replay.add_argument("--source", help="only this source (a query of the by_source index)")
    replay.add_argument(
        "--event-type",
        action="append",
        type=_event_type_pattern,
        help="exact event type, or a prefix pattern such as payment_intent.* (repeatable: any of them)",
    )
    replay.add_argument(
        "--status",
        choices=REPLAY_STATUSES,
        default="processed",
        help="rows of this status (default processed; rejected/invalid rows never verified: see requeue)",
    )
    replay.add_argument(
        "--since",
        type=_parse_since,
        help="received at or after (ISO 8601; UTC if no zone); required without --source/--event-id",
    )
    replay.add_argument(
        "--until", type=_parse_since, help="received before (ISO 8601; UTC if no zone; default now)"
    )
    replay.add_argument(
        "--event-id",
        action="append",
        help="exactly this event (repeatable; not combined with the other filters except --status)",
    )
    replay.add_argument("--consumer", help="send to this consumer's queue only (default: the topic)")
    replay.add_argument("--queue-url", help="the consumer's queue URL (default: <name>-<consumer>)")
    replay.add_argument("--topic-arn", help="the event topic (default: <name>-events in this account)")
    replay.add_argument(
        "--rate", type=float, help="at most this many messages per second (default: as fast as it goes)"
    )
    replay.add_argument("--max", type=int, default=None, help="send at most this many events")
    replay.add_argument(
        "--dry-run",
        action="store_true",
        help="print the count and a sample of what would be sent; send nothing",
    )
    replay.add_argument(
        "--sample",
        type=int,
        default=DEFAULT_SAMPLE,
        help=f"rows shown by --dry-run (default {DEFAULT_SAMPLE})",
    )
    replay.set_defaults(run=history_replay)
    return parser


def _check_replay(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not args.table and not args.name:
        parser.error("give --table (or --name, for <name>-history)")
    args.table = args.table or f"{args.name}-history"
    narrowed = args.source or args.event_type or args.since is not None or args.until is not None
    if args.event_id and narrowed:
        parser.error("--event-id selects rows by key: combine it only with --status")
    if not args.event_id and not args.source and args.since is None:
        parser.error(
            f"give --since (a time range: {RECEIVED_BUCKETS} queries of the by_received index per UTC day), "
            "--source or --event-id: replay never scans the whole table"
        )
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate must be above 0")
    if args.sample < 0:
        parser.error("--sample must be at least 0")
    if args.queue_url and not args.consumer:
        parser.error("--queue-url is the consumer's queue: give --consumer too")
    if args.consumer and args.topic_arn:
        parser.error("--consumer sends to one queue; --topic-arn is for republishing to the topic")
    if not args.dry_run and args.consumer and not (args.queue_url or args.name):
        parser.error("--consumer needs --queue-url or --name (for the queue <name>-<consumer>)")
    if not args.dry_run and not args.consumer and not (args.topic_arn or args.name):
        parser.error("republishing needs --topic-arn or --name (for the topic <name>-events)")


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    filtered = getattr(args, "source", None) or getattr(args, "reason", None)
    filtered = (
        filtered or getattr(args, "since", None) is not None or getattr(args, "until", None) is not None
    )
    if getattr(args, "run", None) is history_requeue and args.event_id and filtered:
        parser.error("--event-id selects rows by key: do not combine it with other filters")
    since, until = getattr(args, "since", None), getattr(args, "until", None)
    if since is not None and until is not None and since >= until:
        parser.error("--since must be before --until")
    if getattr(args, "run", None) is history_replay:
        _check_replay(parser, args)
    if getattr(args, "run", None) is stats and not (args.table or args.name):
        parser.error("give --table (or --name, for <name>-history)")
    for name in ("max", "limit"):
        if getattr(args, name, None) is not None and getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return int(args.run(args, out or sys.stdout))


if __name__ == "__main__":
    # Replays log their replay_id (start and end) to stderr, apart from the printed report.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    sys.exit(main())
