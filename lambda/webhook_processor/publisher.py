"""Publishing envelopes to the event topic with SNS PublishBatch.

A call carries at most 10 entries and at most 256 KiB in all (SNS's limits for one
PublishBatch), entry Id = the entry's index in the call. ``publish`` never raises: it returns,
per envelope, None when SNS accepted it or an error code, so the caller can hand just those
records back to SQS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from botocore.exceptions import ClientError

from .envelope import MAX_MESSAGE_BYTES, Envelope

logger = logging.getLogger(__name__)

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = MAX_MESSAGE_BYTES
# An entry SNS neither accepted nor reported as failed.
MISSING_FROM_RESPONSE = "missing_from_response"


def batches(envelopes: Sequence[Envelope]) -> Iterator[range]:
    """Index ranges of consecutive envelopes, each within one PublishBatch call's limits."""
    start, size = 0, 0
    for index, envelope in enumerate(envelopes):
        if index > start and (index - start == MAX_BATCH_ENTRIES or size + envelope.size > MAX_BATCH_BYTES):
            yield range(start, index)
            start, size = index, 0
        size += envelope.size
    if start < len(envelopes):
        yield range(start, len(envelopes))


def _error_code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) or "ClientError"
    return type(exc).__name__


class Publisher:
    def __init__(self, client_factory: Callable[[], Any], topic_arn: str) -> None:
        self._client_factory = client_factory
        self.topic_arn = topic_arn

    def publish(self, envelopes: Sequence[Envelope]) -> list[str | None]:
        """Publish ``envelopes`` in as few PublishBatch calls as the limits allow.

        Returns one entry per envelope: None when published, else an error code (the entry's
        ``Code``, or the call's error for every entry of a call that failed as a whole).
        """
        outcome: list[str | None] = [MISSING_FROM_RESPONSE] * len(envelopes)
        for indices in batches(envelopes):
            entries = [envelopes[i].entry(str(n)) for n, i in enumerate(indices)]
            try:
                response = self._client_factory().publish_batch(
                    TopicArn=self.topic_arn, PublishBatchRequestEntries=entries
                )
            except Exception as exc:  # throttling, KMS, access, timeouts: all retried via SQS
                code = _error_code(exc)
                logger.warning(
                    "PublishBatch failed: its records will be retried",
                    extra={"error_code": code, "error": str(exc), "entries": len(entries)},
                )
                for i in indices:
                    outcome[i] = code
                continue
            for entry in response.get("Successful") or ():
                position = _position(entry, len(indices))
                if position is not None:
                    outcome[indices[position]] = None
            for entry in response.get("Failed") or ():
                position = _position(entry, len(indices))
                if position is not None:
                    code = str(entry.get("Code") or "failed")
                    outcome[indices[position]] = code
                    logger.warning(
                        "PublishBatch entry failed: its record will be retried",
                        extra={
                            "event_id": envelopes[indices[position]].event_id,
                            "error_code": code,
                            "error": entry.get("Message"),
                            "sender_fault": entry.get("SenderFault"),
                        },
                    )
        return outcome


def _position(entry: Any, count: int) -> int | None:
    try:
        position = int(entry.get("Id"))
    except (AttributeError, TypeError, ValueError):
        return None
    return position if 0 <= position < count else None
