"""webhookctl: inspect and replay the webhook pipeline (DLQ and history table).

Works against a real account (default credential chain) or the local one
(`--endpoint-url http://127.0.0.1:PORT`, or AWS_ENDPOINT_URL). Examples:

    python -m tools.webhookctl dlq list --queue-url "$DLQ_URL"
    python -m tools.webhookctl dlq replay --dlq-url "$DLQ_URL" --queue-url "$QUEUE_URL" --max 100
    python -m tools.webhookctl history list --table NAME-history --source github --since 2025-01-01T00:00:00Z
    python -m tools.webhookctl history show --table NAME-history --event-id 'github#3f2a...'
    python -m tools.webhookctl history requeue --table NAME-history --queue-url "$QUEUE_URL" \
        --source stripe --reason signature_mismatch --since 2025-01-01T00:00:00Z --dry-run

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
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

import boto3

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
    return session.client(service, **options)


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
    if args.no_body:
        row.pop("body", None)
    for name in ("received_at", "processed_at"):
        if name in row:
            row[f"{name}_iso"] = _ms_to_iso(row[name])
    json.dump(row, out, ensure_ascii=False, indent=2)
    out.write("\n")
    return 0


# --------------------------------------------------------------------------- history requeue


def new_replay_id() -> str:
    """One id per requeue run: when it ran (UTC) and a random part."""
    return f"rq-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:12]}"


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
    time_range = []  # a key condition allows one comparison on the sort key: BETWEEN for both
    if args.since is not None and args.until is not None:
        values[":since"] = {"N": str(args.since)}
        values[":until"] = {"N": str(args.until - 1)}  # --until is exclusive, BETWEEN inclusive
        time_range.append("received_at BETWEEN :since AND :until")
    elif args.since is not None:
        values[":since"] = {"N": str(args.since)}
        time_range.append("received_at >= :since")
    elif args.until is not None:
        values[":until"] = {"N": str(args.until)}
        time_range.append("received_at < :until")

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
    """(category, message) when the row cannot be requeued, None when it can."""
    if row.get("_missing"):
        return "not_found", "no history row with this event_id"
    status = row.get("status")
    if status not in REQUEUE_STATUSES:
        return "wrong_status", f"status is {status!r}: only rejected and invalid rows are requeued"
    if row.get("body_truncated"):
        return "truncated", (
            f"its body was truncated ({row.get('body_size', '?')} bytes received, a prefix stored): "
            "it cannot be re-verified"
        )
    attributes = row.get("message_attributes")
    if not isinstance(attributes, dict) or not attributes:
        return "no_message_attributes", (
            "the row has no message_attributes (written before they were stored): "
            "the signature headers are not known"
        )
    body = row.get("body")
    if not isinstance(body, str):
        return "no_body", "the row has no stored body"
    want = row.get("body_sha256")
    if want and hashlib.sha256(body.encode("utf-8")).hexdigest() != want:
        return "body_mismatch", "the stored body does not match its body_sha256"
    names = set(attributes) | {REPLAY_ID_ATTRIBUTE}
    if len(names) > SQS_MAX_ATTRIBUTES:
        return "too_many_attributes", f"{len(names)} message attributes (SQS allows {SQS_MAX_ATTRIBUTES})"
    return None


def requeue_message(row: dict[str, Any], replay_id: str) -> dict[str, Any]:
    """SendMessage's body and attributes for a row: the original message, plus `replay_id`."""
    attributes: dict[str, Any] = {}
    for name, value in sorted(row["message_attributes"].items()):
        if name == REPLAY_ID_ATTRIBUTE or value is None or str(value) == "":
            continue  # SQS refuses empty values; an older replay id is replaced
        data_type = "Number" if name in NUMBER_ATTRIBUTES else "String"
        attributes[name] = {"DataType": data_type, "StringValue": str(value)}
    attributes[REPLAY_ID_ATTRIBUTE] = {"DataType": "String", "StringValue": replay_id}
    return {"MessageBody": row["body"], "MessageAttributes": attributes}


def history_requeue(args: argparse.Namespace, out: TextIO) -> int:
    """Send rejected/invalid rows back to the main queue, rebuilt from body + message_attributes."""
    if not args.dry_run and not args.queue_url:
        out.write("error: --queue-url is required (or use --dry-run)\n")
        return 2
    replay_id = new_replay_id()
    sqs = None if args.dry_run else _client(args, "sqs")
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
        if refusal is not None:
            category, message = refusal
            refused.setdefault(category, []).append({**summary, "refused": message})
            if not args.json:
                out.write(f"refused {event_id}: {message}\n")
            continue
        message = requeue_message(row, replay_id)
        entry = {
            **summary,
            "body_size": len(message["MessageBody"].encode("utf-8")),
            "body": _preview(message["MessageBody"]),
            "message_attributes": {k: v["StringValue"] for k, v in message["MessageAttributes"].items()},
        }
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


# --------------------------------------------------------------------------- CLI


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
    groups = parser.add_subparsers(dest="group", required=True, metavar="{dlq,history}")

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
            "the same request id. Refused, and counted in the summary: rows whose body was truncated "
            "(body_truncated), rows without message_attributes (written before they were stored), rows "
            "whose body does not match its body_sha256. "
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
    return parser


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
    for name in ("max", "limit"):
        if getattr(args, name, None) is not None and getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return int(args.run(args, out or sys.stdout))


if __name__ == "__main__":
    sys.exit(main())
