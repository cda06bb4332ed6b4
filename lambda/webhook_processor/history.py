"""The DynamoDB history table: one row per event, duplicates counted with condition expressions."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from .errors import TransientError

# DynamoDB error codes worth a retry (throttling and server-side faults).
TRANSIENT_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)

_CONDITION_FAILED = "ConditionalCheckFailedException"


class WriteResult(enum.Enum):
    STORED = "stored"  # a new row
    DUPLICATE = "duplicate"  # the row existed: duplicate_count + 1, request id recorded
    REDELIVERY = "redelivery"  # this very request is already on the row: nothing changed


def to_attribute_value(value: Any) -> dict[str, Any]:
    """str / int / bool / set[str] -> a DynamoDB AttributeValue."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (set, frozenset)) and value and all(isinstance(v, str) for v in value):
        return {"SS": sorted(value)}
    raise TypeError(f"unsupported history attribute type: {type(value).__name__}")


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _translate(exc: Exception) -> Exception:
    """TransientError for throttling, 5xx, timeouts and connection errors; else ``exc``."""
    if isinstance(exc, ClientError):
        code = _error_code(exc)
        if code in TRANSIENT_ERROR_CODES:
            return TransientError(code, f"DynamoDB {code}")
    elif isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return TransientError(type(exc).__name__, f"DynamoDB {type(exc).__name__}")
    return exc


class HistoryStore:
    def __init__(self, client_factory: Callable[[], Any], table_name: str) -> None:
        self._client_factory = client_factory
        self._table_name = table_name

    def record(self, item: Mapping[str, Any], *, count_duplicates: bool) -> WriteResult:
        """Write ``item`` unless its ``event_id`` exists.

        An existing row is a duplicate delivery when ``count_duplicates`` (verified events):
        ``duplicate_count`` + 1 and the request id added to ``duplicate_request_ids``, unless
        that request id is already on the row (SQS redelivered the same message: no-op).
        Rejected/invalid rows are keyed by request id, so an existing one is a redelivery.
        """
        if self._put_new(item):
            return WriteResult.STORED
        if count_duplicates and self._add_duplicate(item["event_id"], item["request_id"]):
            return WriteResult.DUPLICATE
        return WriteResult.REDELIVERY

    def _put_new(self, item: Mapping[str, Any]) -> bool:
        return self._conditional_write(
            "put_item",
            Item={name: to_attribute_value(value) for name, value in item.items() if value is not None},
            ConditionExpression="attribute_not_exists(event_id)",
        )

    def _add_duplicate(self, event_id: str, request_id: str) -> bool:
        return self._conditional_write(
            "update_item",
            Key={"event_id": {"S": event_id}},
            UpdateExpression="ADD duplicate_count :one, duplicate_request_ids :request_ids",
            ConditionExpression=(
                "attribute_exists(event_id) AND request_id <> :request_id"
                " AND NOT contains(duplicate_request_ids, :request_id)"
            ),
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":request_ids": {"SS": [request_id]},
                ":request_id": {"S": request_id},
            },
        )

    def _conditional_write(self, operation: str, **request: Any) -> bool:
        """False when the condition failed; SDK errors become transient or permanent ones."""
        try:
            getattr(self._client_factory(), operation)(TableName=self._table_name, **request)
        except ClientError as exc:
            if _error_code(exc) == _CONDITION_FAILED:
                return False
            raise _translate(exc) from exc
        except (BotoConnectionError, HTTPClientError) as exc:
            raise _translate(exc) from exc
        return True
