"""One SQS record in, one history row (or an exception meaning "retry me") out.

A ``payload_store = "s3"`` source's record is an S3 event notification naming the delivery's
object (s3_pointer): the object is read and handled as the queue path's message would be, its
row pointing at it (``body_ref``). S3's test event is acknowledged and recorded nowhere.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from . import event_fields, s3_pointer
from .config import Config, SourceConfig
from .contract import InboundWebhook, parse_record
from .envelope import MAX_MESSAGE_BYTES, Envelope, build_envelope, received_bucket, utc_day
from .errors import TransientError
from .history import HistoryStore, WriteResult, Written
from .publisher import Publisher
from .secret_store import SecretStore
from .signatures import SignedRequest, verify
from .validation import Validation, validate_body, validate_text_or_bytes

if TYPE_CHECKING:  # imported by the handler only when PAYLOAD_BUCKET is set
    from .payload_store import PayloadStore

logger = logging.getLogger(__name__)

Status = Literal["processed", "rejected", "invalid", "conflict", "failed", "ignored"]

# Key part used when the message has no source attribute at all.
MISSING_SOURCE = "_missing"
# Metadata copied from headers is clipped so a row always fits DynamoDB's 400 KB.
MAX_METADATA_CHARS = 1024
# Reason of a conflict row: same event id as an existing row, another body.
BODY_DIFFERS = "body_differs"
# Reason of the "ignored" result of S3's test event (counted in the metrics, never a row).
S3_TEST_EVENT = "s3_test_event"


class RecordResult(NamedTuple):  # a NamedTuple imports ~7x faster than a frozen dataclass
    message_id: str
    status: Status
    event_id: str | None = None
    reason: str | None = None
    write: WriteResult | None = None
    # Set when the event is to be published (a new row, or a row found unpublished): the
    # handler publishes it with the rest of the batch, then marks the row published_at.
    envelope: Envelope | None = None
    # For the metrics (metrics.py): the record's source and its age at processing, in ms.
    source: str | None = None
    age_ms: int | None = None


def truncate_utf8(raw: bytes, limit: int) -> tuple[str, bool]:
    """The body as text, cut to at most ``limit`` bytes without splitting a character."""
    if len(raw) <= limit:
        return raw.decode("utf-8", "replace"), False
    return raw[:limit].decode("utf-8", "ignore"), True


def _clip(value: str | None) -> str | None:
    return value[:MAX_METADATA_CHARS] if value else None


def _to_publish(written: Written) -> bool:
    """A new row, or a row found without ``published_at`` (the process that wrote it may have
    stopped before publishing): never a duplicate of a published row (E3)."""
    if written.result is WriteResult.STORED:
        return True
    return written.result in (WriteResult.DUPLICATE, WriteResult.REDELIVERY) and not written.published


class Processor:
    def __init__(
        self,
        config: Config,
        history: HistoryStore,
        secrets: SecretStore,
        clock: Callable[[], float] | None = None,
        publisher: Publisher | None = None,
        payloads: PayloadStore | None = None,
    ) -> None:
        self.config = config
        self.history = history
        self.secrets = secrets
        self._clock = clock
        # None: publishing is off (no EVENT_TOPIC_ARN) and no envelope is built.
        self.publisher = publisher
        # None: no payload store (no PAYLOAD_BUCKET): long bodies are kept truncated.
        self.payloads = payloads

    def _now_ms(self) -> int:
        return int((self._clock or time.time)() * 1000)

    def process_message(self, record: Mapping[str, Any]) -> list[RecordResult]:
        """Handle one record: one result, or one per object an S3 notification names (S3's
        test event: one "ignored" result, nothing recorded). Raises TransientError (or
        anything unexpected) to have the whole record retried: the objects already recorded
        are redeliveries then."""
        notification = s3_pointer.parse_record(record)
        if notification is None:
            return [self.process(record)]
        sqs = parse_record(record)  # no attributes: the SQS fields only (id, receive count)
        if notification.test_event:
            # Sent once when the bucket's notification configuration is put: nothing to do.
            logger.info("s3 test event ignored", extra={"sqs_message_id": sqs.message_id})
            return [RecordResult(sqs.message_id, "ignored", reason=S3_TEST_EVENT)]
        now_ms = self._now_ms()
        return [self._process_pointer(sqs, pointer, now_ms) for pointer in notification.pointers]

    def process(self, record: Mapping[str, Any]) -> RecordResult:
        """Handle one queue message (``process_message`` also reads S3 notifications).
        Raises TransientError (or anything unexpected) to have it retried."""
        return self._process(parse_record(record), self._now_ms())

    def _process_pointer(self, sqs: InboundWebhook, pointer: s3_pointer.Pointer, now_ms: int) -> RecordResult:
        """One object a notification names: read it and handle its delivery, or an invalid
        row when it is not an object of ours (nothing is read from a foreign bucket)."""
        parsed = s3_pointer.parse_ingest_key(pointer.key)
        name, request_id = parsed if parsed is not None else (None, None)
        source = self.config.sources.get(name or "")
        violation = None
        if self.payloads is None or pointer.bucket != self.payloads.bucket:
            violation, name = s3_pointer.FOREIGN_BUCKET, None  # its key names no source of ours
        elif parsed is None:
            violation = s3_pointer.MALFORMED_KEY
        elif source is None or not source.s3:
            # An object of ours under a key our edge writes, for a source the processor does not
            # (or no longer) read from the store: the operator removed it or moved it back to the
            # queue while its messages were in flight. As on the queue path, retried and then
            # kept in the DLQ, so re-adding the source and `dlq replay` recover it.
            reason = s3_pointer.UNKNOWN_SOURCE if source is None else s3_pointer.NOT_S3_SOURCE
            raise TransientError(reason, f"source {name!r} is not configured with payload_store = s3")
        if violation is not None or self.payloads is None or name is None or request_id is None:
            message = replace(sqs, source=name, request_id=None, contract_violation=violation)
            validation = validate_body(sqs.body or "", None)
            # Keyed by the object named, never by a request id the key claims: a forged
            # pointer cannot take the row key of a real request's rejected delivery.
            request_key = f"s3:{pointer.bucket}/{pointer.key}"
            return self._store_failed(
                message, None, validation, "invalid", violation or "malformed_key", now_ms, request_key
            )
        stored = self.payloads.get(pointer.key)  # TransientError: retried, then the DLQ
        message = s3_pointer.inbound(
            sqs,
            source=name,
            request_id=request_id,
            object_ref=stored.uri,
            raw=stored.body,
            metadata=stored.metadata,
            content_type=stored.content_type,
            event_time_ms=pointer.event_time_ms,
        )
        return self._process(message, now_ms)

    def _process(self, message: InboundWebhook, now_ms: int) -> RecordResult:
        body = message.body if message.body is not None else ""
        if message.raw is not None:
            validation = validate_text_or_bytes(message.body, message.raw, message.content_type)
        else:
            validation = validate_body(body, message.content_type)
        source = self.config.sources.get(message.source or "")

        if message.contract_violation:
            return self._store_failed(
                message, source, validation, "invalid", message.contract_violation, now_ms
            )
        if source is None:
            # The template wrote a source this processor does not know: our configuration is
            # behind (or ahead), never the sender's fault. Retry, then DLQ, then replay.
            raise TransientError("unknown_source", f"source {message.source!r} is not configured")
        try:
            raw = message.raw_body()
        except UnicodeEncodeError:
            return self._store_failed(message, source, validation, "invalid", "undecodable_body", now_ms)

        assert message.received_at_ms is not None
        verdict = verify(
            SignedRequest(
                body=raw,
                signature=message.signature,
                timestamp=message.signature_timestamp,
                delivery_id=message.delivery_id,
                received_at_ms=message.received_at_ms,
            ),
            source,
            lambda: self._secrets_for(source),
        )
        if not verdict.valid:
            return self._store_failed(message, source, validation, "rejected", verdict.reason, now_ms)
        if not validation.valid:
            return self._store_failed(message, source, validation, "invalid", validation.reason, now_ms)

        delivery = event_fields.delivery_id(source.scheme, message.delivery_id, validation.parsed)
        event_id = event_fields.scheme_event_id(source.scheme, source.name, delivery, raw)
        # Before any row: a conflict row of this delivery holds the same body, so one object
        # (same key) serves both.
        body_ref = self._offload(message, source, "processed", raw)
        item = self._item(
            message, source, validation, event_id, "processed", None, delivery, raw, now_ms, body_ref
        )
        item["parse_warning"] = validation.warning
        item["replay_id"] = _clip(message.replay_id)

        def conflict_item() -> dict[str, Any]:
            return self._conflict_item(message, source, validation, item, raw, now_ms)

        written = self.history.write(
            item, count_duplicates=True, now_s=now_ms // 1000, conflict_item=conflict_item
        )
        write = written.result
        if write is WriteResult.CONFLICT:
            row = conflict_item()
            logger.warning("webhook conflict", extra=self._log_fields(message, row, write))
            return RecordResult(
                message.message_id,
                "conflict",
                row["event_id"],
                BODY_DIFFERS,
                write,
                source=message.source,
                age_ms=now_ms - row["received_at"],
            )
        if message.replay_id and message.request_id:
            # A replay (`history requeue`) of a rejected/invalid row verified: point that row
            # at the event. Idempotent, and a missing row is fine.
            replayed = event_fields.request_event_id(source.name, message.request_id)
            if replayed != event_id:
                self.history.mark_superseded(replayed, event_id)
        envelope = None
        if self.publisher is not None and _to_publish(written):
            # An S3 source's envelope carries the body as its row does (or refers to it).
            # A republished row (found unpublished) keeps its own body_ref, not this resend's.
            row = {**item, "body_ref": written.body_ref} if written.body_ref else item
            envelope = self._envelope(row, validation, item["body"] if message.raw is not None else body)
        fields = self._log_fields(message, item, write)
        fields["publish"] = envelope is not None
        logger.info(
            "webhook duplicate" if write is WriteResult.DUPLICATE else "webhook processed", extra=fields
        )
        return RecordResult(
            message.message_id,
            "processed",
            event_id,
            None,
            write,
            envelope,
            source=message.source,
            age_ms=now_ms - item["received_at"],
        )

    @staticmethod
    def _envelope(item: Mapping[str, Any], validation: Validation, body: str | None) -> Envelope:
        """The envelope of a processed event, from its row's fields (E2). ``body`` None: the
        envelope refers to ``body_ref`` (body_omitted), as for a body too large for SNS."""
        parsed = validation.parsed
        is_json = (
            body is not None and parsed is not None and (parsed.kind == "json" or parsed.document is not None)
        )
        return build_envelope(
            event_id=item["event_id"],
            source=item["source"],
            scheme=item["scheme"],
            event_type=item["event_type"],
            delivery_id=item["delivery_id"],
            request_id=item["request_id"],
            received_at_ms=item["received_at"],
            processed_at_ms=item["processed_at"],
            content_type=item["content_type"],
            body=body or "",
            json_text=body if is_json else None,
            replay_id=item["replay_id"],
            body_size=item["body_size"],
            body_sha256=item["body_sha256"],
            body_ref=item.get("body_ref"),
            # 0: never room for a body, so build_envelope returns its body_omitted reference.
            max_bytes=MAX_MESSAGE_BYTES if body is not None else 0,
        )

    def _offload(
        self, message: InboundWebhook, source: SourceConfig, status: Status, raw: bytes
    ) -> str | None:
        """The body_ref of a body too long for a row of ``status`` once it is in the payload
        store; None when the row keeps the body (or there is no store). A failed PutObject
        raises TransientError: the record is retried, never kept truncated. An S3 source's
        delivery is an object already: every row of it names that object."""
        if message.object_ref is not None:
            return message.object_ref
        if self.payloads is None or not self.config.offloads(status, len(raw)):
            return None
        sha = hashlib.sha256(raw).hexdigest()
        return self.payloads.put(source.name, raw, sha, message.content_type)

    def _secrets_for(self, source: SourceConfig) -> tuple[str, ...]:
        if not source.secret_arn:
            raise TransientError("secret_not_configured", f"source {source.name!r} has no secret_arn")
        return self.secrets.get(source.secret_arn)

    def _conflict_item(
        self,
        message: InboundWebhook,
        source: SourceConfig,
        validation: Validation,
        item: Mapping[str, Any],
        raw: bytes,
        now_ms: int,
    ) -> dict[str, Any]:
        """The row of a second, different body under ``item``'s event id: keyed by its request
        id, the whole body, the normal retention (D5)."""
        assert message.request_id is not None  # a contract violation otherwise
        key = event_fields.request_event_id(source.name, message.request_id)
        # The same body as ``item``: already in the payload store when ``item`` points there.
        row = self._item(
            message,
            source,
            validation,
            key,
            "conflict",
            BODY_DIFFERS,
            item["delivery_id"],
            raw,
            now_ms,
            item.get("body_ref"),
        )
        row.update(
            conflict_of=item["event_id"],
            parse_warning=item["parse_warning"],
            replay_id=item["replay_id"],
            message_attributes=dict(message.attributes),
        )
        return row

    def _store_failed(
        self,
        message: InboundWebhook,
        source: SourceConfig | None,
        validation: Validation,
        status: Status,
        reason: str | None,
        now_ms: int,
        request_key: str | None = None,
    ) -> RecordResult:
        """Record a rejected/invalid delivery under ``<source>#request:<request_id>`` (or
        ``request_key`` in its place)."""
        request_key = request_key or message.request_id or f"sqs:{message.message_id}"
        event_id = event_fields.request_event_id(message.source or MISSING_SOURCE, request_key)
        raw = message.raw if message.raw is not None else (message.body or "").encode("utf-8", "replace")
        scheme = source.scheme if source else "none"
        delivery = event_fields.delivery_id(scheme, message.delivery_id, validation.parsed)
        # A rejected body may be a real event under a mistyped secret: `history requeue` needs
        # all of it, so a long one goes to the payload store too (invalid rows keep a prefix).
        body_ref = self._offload(message, source, status, raw) if source is not None else None
        item = self._item(
            message, source, validation, event_id, status, reason, delivery, raw, now_ms, body_ref
        )
        # Every attribute as received (signature, timestamp, delivery id, ...): enough for
        # `webhookctl history requeue` to rebuild the message once the cause is fixed.
        item["message_attributes"] = dict(message.attributes)
        write = self.history.record(item, count_duplicates=False, now_s=now_ms // 1000)
        log = logger.warning if status == "rejected" else logger.info
        log(f"webhook {status}", extra=self._log_fields(message, item, write))
        return RecordResult(
            message.message_id,
            status,
            event_id,
            reason,
            write,
            source=message.source,
            age_ms=now_ms - item["received_at"],
        )

    def _item(
        self,
        message: InboundWebhook,
        source: SourceConfig | None,
        validation: Validation,
        event_id: str,
        status: Status,
        reason: str | None,
        delivery: str | None,
        raw: bytes,
        now_ms: int,
        body_ref: str | None = None,
    ) -> dict[str, Any]:
        scheme = source.scheme if source else "none"
        stored_body: str | None
        truncated: bool | None
        if message.raw is not None:
            # An S3 source: the object (body_ref) is the whole body; the row keeps a copy only
            # when it is text and short (a non-UTF-8 body has no text to keep, nor a prefix).
            keep = message.body is not None and len(raw) <= self.config.stored_body_bytes(status)
            stored_body, truncated = (message.body, False) if keep else (None, None)
        elif body_ref is None:
            stored_body, truncated = truncate_utf8(raw, self.config.stored_body_bytes(status))
        else:  # the whole body is in the payload store: no copy, no truncation flag
            stored_body, truncated = None, None
        received_at = message.received_at_ms or message.sent_timestamp_ms or now_ms
        retention = self.config.retention_days(status)
        return {
            "event_id": event_id,
            "source": _clip(message.source),
            "scheme": source.scheme if source else None,
            "status": status,
            "reason": reason,
            "request_id": _clip(message.request_id),
            "delivery_id": _clip(delivery),
            "event_type": event_fields.event_type(scheme, message.event_type, validation.parsed),
            "content_type": _clip(message.content_type),
            "source_ip": _clip(message.source_ip),
            "received_at": received_at,
            "received_day": utc_day(received_at),
            # The by_received index's hash key: a time range is RECEIVED_BUCKETS queries a day.
            "received_bucket": received_bucket(event_id, received_at),
            "processed_at": now_ms,
            "body": stored_body,
            "body_ref": body_ref,
            "body_size": len(raw),
            "body_sha256": hashlib.sha256(raw).hexdigest(),
            "body_truncated": truncated,
            "sqs_message_id": message.message_id or None,
            "receive_count": message.receive_count,
            "duplicate_count": 0,
            "expires_at": received_at // 1000 + retention * 86_400 if retention > 0 else None,
        }

    @staticmethod
    def _log_fields(message: InboundWebhook, item: Mapping[str, Any], write: WriteResult) -> dict[str, Any]:
        return {
            "event_id": item["event_id"],
            "source": item["source"],
            "status": item["status"],
            "reason": item["reason"],
            "event_type": item["event_type"],
            "request_id": item["request_id"],
            "sqs_message_id": message.message_id,
            "receive_count": message.receive_count,
            "body_size": item["body_size"],
            "body_ref": item["body_ref"],
            "write": write.value,
        }
