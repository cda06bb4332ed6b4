"""Lambda entry point: ``webhook_processor.handler.lambda_handler`` (SQS, ReportBatchItemFailures).

Each record is processed on its own: a record that fails transiently (throttling, timeouts,
Secrets Manager, anything unexpected) is reported in ``batchItemFailures`` and the rest of the
batch is unaffected. Importing this module does no I/O: clients and configuration are created
on first use.

With EVENT_TOPIC_ARN set, the events to publish (new rows, and rows found unpublished) are
collected while the records are processed and go out in PublishBatch calls of 10: one call as
soon as 10 are pending, the rest at the end of the invocation, so at most one call (and its
markers) is left for the safety margin. After each call the rows SNS accepted are marked
``published_at``; a record whose entry failed is handed back to SQS, and its redelivery
publishes it (the row is found unpublished).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from . import metrics, s3_pointer
from .budget import MAX_SAFETY_MARGIN_MS, safety_margin_ms, sdk_budget
from .config import get_config
from .errors import TransientError
from .history import HistoryStore, WriteResult
from .processor import Processor, RecordResult
from .publisher import MAX_BATCH_ENTRIES, Publisher
from .secret_store import SecretStore

logger = logging.getLogger(__name__)

# The largest safety margin: below min(this, 20 % of the timeout) remaining invocation time,
# records are handed back to SQS unstarted (budget.safety_margin_ms).
SAFETY_MARGIN_MS = MAX_SAFETY_MARGIN_MS


def boto_config(timeout_seconds: float | None) -> BotoConfig:
    """SDK timeouts and retries derived from the function's timeout (budget.sdk_budget)."""
    budget = sdk_budget(timeout_seconds)
    return BotoConfig(
        connect_timeout=budget.connect_timeout,
        read_timeout=budget.read_timeout,
        # total_max_attempts counts the first try; botocore's max_attempts would add one more.
        retries={"mode": "standard", "total_max_attempts": budget.max_attempts},
    )


# For an unknown timeout (tools/bench.py's baseline client uses it too).
_BOTO_CONFIG = boto_config(None)


@functools.cache
def _sdk_config() -> BotoConfig:
    return boto_config(get_config().processor_timeout_seconds)


@functools.cache
def _dynamodb() -> Any:
    return boto3.client("dynamodb", config=_sdk_config())


@functools.cache
def _secretsmanager() -> Any:
    return boto3.client("secretsmanager", config=_sdk_config())


@functools.cache
def _sns() -> Any:
    # The topic's own region (normally the function's).
    parts = (get_config().event_topic_arn or "").split(":")
    region = parts[3] if len(parts) == 6 and parts[3] else None
    return boto3.client("sns", region_name=region, config=_sdk_config())


@functools.cache
def _s3() -> Any:
    # Made when the first body too long for a row (or an S3 source's object) arrives, not at
    # the cold start.
    return boto3.client("s3", config=_sdk_config())


def _configure_logging(level_name: str) -> None:
    level = logging.getLevelName(level_name)
    if isinstance(level, int):
        logging.getLogger("webhook_processor").setLevel(level)
    # botocore's DEBUG output includes request and response bodies, i.e. GetSecretValue's
    # SecretString: keep the SDK quiet even when the function's log level is DEBUG.
    for name in ("botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger(name).getEffectiveLevel()))


@functools.cache
def get_processor() -> Processor:
    """The container's processor, built on first use from the environment."""
    config = get_config()
    _configure_logging(config.log_level)
    payloads = None
    if config.payload_bucket:
        # Imported only where a store is configured: the cold start without one is unchanged.
        from .payload_store import PayloadStore

        payloads = PayloadStore(_s3, config.payload_bucket)
    return Processor(
        config,
        HistoryStore(_dynamodb, config.table_name),
        SecretStore(_secretsmanager, config.secret_cache_ttl_seconds),
        publisher=Publisher(_sns, config.event_topic_arn) if config.event_topic_arn else None,
        payloads=payloads,
    )


def reset() -> None:
    """Forget configuration, clients and cached secrets (tests, or after changing the env)."""
    get_config.cache_clear()
    get_processor.cache_clear()
    _sdk_config.cache_clear()
    _dynamodb.cache_clear()
    _secretsmanager.cache_clear()
    _sns.cache_clear()
    _s3.cache_clear()


@dataclass
class BatchResult:
    results: list[RecordResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # SQS messageIds to retry
    published: list[str | None] = field(default_factory=list)  # the source of each event SNS accepted

    def response(self) -> dict[str, list[dict[str, str]]]:
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in self.failures]}


def _message_id(record: Any) -> str:
    value = record.get("messageId") if isinstance(record, Mapping) else None
    # An empty identifier makes Lambda retry the whole batch: the safe answer for a record
    # we cannot name.
    return value if isinstance(value, str) else ""


def _remaining_ms(context: Any) -> int | None:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(getter):
        return None
    try:
        return int(getter())
    except (TypeError, ValueError):
        return None


def _fail(batch: BatchResult, message_id: str, reason: str, record: Any = None) -> None:
    # An S3 notification has no source attribute: its source is in the object's key.
    source = metrics.record_source(record) or s3_pointer.record_source(record)
    batch.results.append(RecordResult(message_id, "failed", reason=reason, source=source))
    batch.failures.append(message_id)


# A record whose PublishBatch entry failed: handed back to SQS; its redelivery publishes it.
PUBLISH_FAILED = "publish_failed"


def _flush(batch: BatchResult, processor: Processor, pending: list[int]) -> None:
    """Publish the envelopes of ``batch.results[i]`` for ``i`` in ``pending``, then mark the
    published rows; records whose entry failed become batch item failures."""
    if not pending or processor.publisher is None:
        pending.clear()
        return
    envelopes = [batch.results[i].envelope for i in pending]
    outcome = processor.publisher.publish([e for e in envelopes if e is not None])  # all are set
    published_at_ms = int(time.time() * 1000)
    for index, error in zip(pending, outcome, strict=True):
        result = batch.results[index]
        if error is not None:
            batch.results[index] = result._replace(status="failed", reason=PUBLISH_FAILED)
            batch.failures.append(result.message_id)
            continue
        batch.published.append(result.source)
        assert result.event_id is not None
        try:
            processor.history.mark_published(result.event_id, published_at_ms)
        except Exception as exc:
            # Published all the same: a later redelivery or duplicate may publish it again
            # (at least once; consumers dedupe by event_id).
            logger.warning(
                "published, but the published_at marker was not written",
                extra={
                    "event_id": result.event_id,
                    "sqs_message_id": result.message_id,
                    "error_code": getattr(exc, "code", type(exc).__name__),
                },
            )
    pending.clear()


def process_batch(event: Any, context: Any = None, processor: Processor | None = None) -> BatchResult:
    """Process an SQS event; returns per-record results and the messageIds to retry."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    records = records if isinstance(records, list) else []
    batch = BatchResult()
    if processor is None:
        try:
            processor = get_processor()
        except Exception:
            logger.exception("processor configuration failed: retrying the whole batch")
            for record in records:
                _fail(batch, _message_id(record), "configuration", record)
            _emit_metrics(batch, (), len(records))
            return batch

    timeout = processor.config.processor_timeout_seconds
    margin_ms: int | None = None
    pending: list[int] = []  # indices in batch.results of the envelopes not yet published
    # Event ids published (or pending) in this invocation: a duplicate of a row stored earlier
    # in the same batch finds it unpublished, yet must not be published a second time.
    publishing: set[str] = set()
    for index, record in enumerate(records):
        remaining = _remaining_ms(context)
        if remaining is not None and margin_ms is None:
            margin_ms = safety_margin_ms(timeout, remaining)
        if remaining is not None and margin_ms is not None and remaining < margin_ms:
            logger.warning(
                "little time left: returning unstarted records to the queue",
                extra={"remaining_ms": remaining, "margin_ms": margin_ms, "unstarted": len(records) - index},
            )
            for rest in records[index:]:
                _fail(batch, _message_id(rest), "deadline", rest)
            break
        message_id = _message_id(record)
        try:
            # One result, or one per object an S3 notification names (s3_pointer).
            results = processor.process_message(record)
        except TransientError as exc:
            logger.warning(
                "transient failure, record will be retried",
                extra={"sqs_message_id": message_id, "error_code": exc.code, "error": str(exc)},
            )
            _fail(batch, message_id, exc.code, record)
        except Exception as exc:
            logger.exception(
                "unexpected failure, record will be retried",
                extra={"sqs_message_id": message_id, "error_code": type(exc).__name__},
            )
            _fail(batch, message_id, "unexpected", record)
        else:
            for result in results:
                if result.envelope is not None and result.event_id in publishing:
                    result = result._replace(envelope=None)
                batch.results.append(result)
                if result.envelope is not None:
                    publishing.add(result.envelope.event_id)
                    pending.append(len(batch.results) - 1)
                    if len(pending) >= MAX_BATCH_ENTRIES:  # a full PublishBatch: send it now
                        _flush(batch, processor, pending)
    _flush(batch, processor, pending)
    _emit_metrics(batch, processor.config.sources, len(records))
    return batch


_DUPLICATE_WRITES = (WriteResult.DUPLICATE, WriteResult.REDELIVERY)


def _emit_metrics(batch: BatchResult, sources: Collection[str], size: int) -> None:
    """The invocation's EMF documents (metrics.py) on stdout: counts by source and status, each
    record's age, the events published and the batch size. Never fails the batch."""
    if not metrics.enabled():
        return
    try:
        recorder = metrics.BatchMetrics(metrics.service_name(), sources)
        recorder.size = size
        for result in batch.results:
            status = (
                "duplicate"
                if result.status == "processed" and result.write in _DUPLICATE_WRITES
                else result.status
            )
            recorder.outcome(result.source, status, result.reason, result.age_ms)
        for source in batch.published:
            recorder.publish(source)
        recorder.emit()
    except Exception:
        logger.exception("metrics were not written")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    return process_batch(event, context).response()
