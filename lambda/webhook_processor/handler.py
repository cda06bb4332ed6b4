"""Lambda entry point: ``webhook_processor.handler.lambda_handler`` (SQS, ReportBatchItemFailures).

Each record is processed on its own: a record that fails transiently (throttling, timeouts,
Secrets Manager, anything unexpected) is reported in ``batchItemFailures`` and the rest of the
batch is unaffected. Importing this module does no I/O: clients and configuration are created
on first use.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from .config import get_config
from .errors import TransientError
from .history import HistoryStore
from .processor import Processor, RecordResult
from .secret_store import SecretStore

logger = logging.getLogger(__name__)

# Below this much remaining invocation time, records are handed back to SQS unstarted.
SAFETY_MARGIN_MS = 5_000

_BOTO_CONFIG = BotoConfig(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
)


@functools.cache
def _dynamodb() -> Any:
    return boto3.client("dynamodb", config=_BOTO_CONFIG)


@functools.cache
def _secretsmanager() -> Any:
    return boto3.client("secretsmanager", config=_BOTO_CONFIG)


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
    return Processor(
        config,
        HistoryStore(_dynamodb, config.table_name),
        SecretStore(_secretsmanager, config.secret_cache_ttl_seconds),
    )


def reset() -> None:
    """Forget configuration, clients and cached secrets (tests, or after changing the env)."""
    get_config.cache_clear()
    get_processor.cache_clear()
    _dynamodb.cache_clear()
    _secretsmanager.cache_clear()


@dataclass
class BatchResult:
    results: list[RecordResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # SQS messageIds to retry

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


def _fail(batch: BatchResult, message_id: str, reason: str) -> None:
    batch.results.append(RecordResult(message_id, "failed", reason=reason))
    batch.failures.append(message_id)


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
                _fail(batch, _message_id(record), "configuration")
            return batch

    for index, record in enumerate(records):
        remaining = _remaining_ms(context)
        if remaining is not None and remaining < SAFETY_MARGIN_MS:
            logger.warning(
                "little time left: returning unstarted records to the queue",
                extra={"remaining_ms": remaining, "unstarted": len(records) - index},
            )
            for rest in records[index:]:
                _fail(batch, _message_id(rest), "deadline")
            break
        message_id = _message_id(record)
        try:
            batch.results.append(processor.process(record))
        except TransientError as exc:
            logger.warning(
                "transient failure, record will be retried",
                extra={"sqs_message_id": message_id, "error_code": exc.code, "error": str(exc)},
            )
            _fail(batch, message_id, exc.code)
        except Exception as exc:
            logger.exception(
                "unexpected failure, record will be retried",
                extra={"sqs_message_id": message_id, "error_code": type(exc).__name__},
            )
            _fail(batch, message_id, "unexpected")
    return batch


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    return process_batch(event, context).response()
