"""The DynamoDB history table: one row per event, duplicates counted with condition expressions."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

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

# duplicate_request_ids / conflict_request_ids hold at most this many ids (a DynamoDB item is
# at most 400 KB); past that only the counts grow.
MAX_RECORDED_REQUEST_IDS = 50
# Rounds of "read the row, write conditionally" before giving up (TransientError: retried).
MAX_WRITE_ROUNDS = 4

# A new row may replace a missing row or one whose TTL passed (DynamoDB deletes expired items
# up to ~48 h late: such a row must not swallow a new delivery as a duplicate).
_PUT_NEW = "attribute_not_exists(event_id) OR expires_at < :now_s"
# A conflict row (keyed by request id) may also replace that request's rejected/invalid row.
_PUT_CONFLICT = _PUT_NEW + " OR #status IN (:rejected, :invalid)"
_READ_BACK = "request_id, body_sha256, duplicate_request_ids, conflict_request_ids, expires_at, published_at"

Item = Mapping[str, Any]  # attribute name -> DynamoDB AttributeValue


class WriteResult(enum.Enum):
    STORED = "stored"  # a new row (or one replacing a TTL-expired row)
    DUPLICATE = "duplicate"  # the row existed with the same body: duplicate_count + 1
    CONFLICT = "conflict"  # the row existed with another body: kept as a conflict row, counted
    REDELIVERY = "redelivery"  # this very request is already recorded: nothing changed


class Written(NamedTuple):
    """What ``HistoryStore.write`` did, and whether the row it found was already published."""

    result: WriteResult
    # DUPLICATE / REDELIVERY: the existing row carries ``published_at`` (read from the old
    # image the failed conditional put returns: no extra read). False for a new row.
    published: bool = False
    # DUPLICATE / REDELIVERY: the existing row's body_ref. An s3 source's resend is another
    # object, and a republished envelope must name the row's (docs/message-contract.md).
    body_ref: str | None = None


_STORED = Written(WriteResult.STORED)


def to_attribute_value(value: Any) -> dict[str, Any]:
    """str / int / bool / set[str] / dict[str, ...] -> a DynamoDB AttributeValue."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (set, frozenset)) and value and all(isinstance(v, str) for v in value):
        return {"SS": sorted(value)}
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {"M": {k: to_attribute_value(v) for k, v in value.items() if v is not None}}
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


def _s(item: Item, name: str) -> str | None:
    value = item.get(name)
    return value.get("S") if isinstance(value, Mapping) else None


def _ss(item: Item, name: str) -> list[str]:
    value = item.get(name)
    return list(value.get("SS", ())) if isinstance(value, Mapping) else []


def _expired(item: Item, now_s: int) -> bool:
    value = item.get("expires_at")
    raw = value.get("N") if isinstance(value, Mapping) else None
    try:
        return raw is not None and int(raw) < now_s
    except ValueError:
        return False


class _ConditionFailed(Exception):
    def __init__(self, item: Item | None) -> None:
        super().__init__("condition failed")
        self.item = item


def _marshal(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: to_attribute_value(value) for name, value in item.items() if value is not None}


class HistoryStore:
    """Writes rows with condition expressions only, so concurrent deliveries never race.

    A new event costs one call (the conditional put). A duplicate or a conflict costs the
    failed put (which returns the existing row) and one conditional update.
    """

    def __init__(self, client_factory: Callable[[], Any], table_name: str) -> None:
        self._client_factory = client_factory
        self._table_name = table_name

    def record(
        self,
        item: Mapping[str, Any],
        *,
        count_duplicates: bool,
        now_s: int,
        conflict_item: Callable[[], Mapping[str, Any]] | None = None,
    ) -> WriteResult:
        """``write(...).result``."""
        return self.write(
            item, count_duplicates=count_duplicates, now_s=now_s, conflict_item=conflict_item
        ).result

    def write(
        self,
        item: Mapping[str, Any],
        *,
        count_duplicates: bool,
        now_s: int,
        conflict_item: Callable[[], Mapping[str, Any]] | None = None,
    ) -> Written:
        """Write ``item`` unless a live row with its ``event_id`` exists.

        Rejected/invalid rows (``count_duplicates`` false) are keyed by request id, so an
        existing one is a redelivery. For verified events an existing row is:
        - this request again (its ``request_id`` or a recorded duplicate): REDELIVERY;
        - the same ``body_sha256``: DUPLICATE, ``duplicate_count`` + 1 and the request id
          added to ``duplicate_request_ids`` (at most ``MAX_RECORDED_REQUEST_IDS``);
        - another body: CONFLICT, ``conflict_item()`` is written as a row of its own and the
          first row gets ``conflict_count`` + 1 and ``conflict_request_ids``.
        """
        old = self._put(item, now_s, _PUT_NEW)
        if old is None:
            return _STORED
        if not count_duplicates:
            return Written(WriteResult.REDELIVERY, "published_at" in old, _s(old, "body_ref"))
        event_id, request_id, sha = item["event_id"], item["request_id"], item["body_sha256"]
        for _ in range(MAX_WRITE_ROUNDS):
            if not old or _expired(old, now_s):  # gone (or expired) since: ours is new
                old = self._put(item, now_s, _PUT_NEW)
                if old is None:
                    return _STORED
                continue
            if _s(old, "request_id") == request_id or request_id in _ss(old, "duplicate_request_ids"):
                return Written(WriteResult.REDELIVERY, "published_at" in old, _s(old, "body_ref"))
            if _s(old, "body_sha256") != sha:
                assert conflict_item is not None, "verified events need a conflict row"
                return Written(self._conflict(event_id, request_id, sha, old, conflict_item(), now_s))
            if self._count("duplicate", event_id, request_id, sha, old, now_s):
                return Written(WriteResult.DUPLICATE, "published_at" in old, _s(old, "body_ref"))
            old = self._get(event_id)  # the row changed under us: look again
        raise TransientError("history_contention", f"row {event_id!r} kept changing")

    def mark_published(self, event_id: str, published_at_ms: int) -> bool:
        """Set ``published_at`` on an existing row once SNS accepted its envelope (E3)."""
        try:
            self._call(
                "update_item",
                Key={"event_id": {"S": event_id}},
                UpdateExpression="SET published_at = :at",
                ConditionExpression="attribute_exists(event_id)",
                ExpressionAttributeValues={":at": {"N": str(published_at_ms)}},
            )
        except _ConditionFailed:
            return False
        return True

    def mark_superseded(self, event_id: str, superseded_by: str) -> bool:
        """Set ``superseded_by`` on an existing row (a rejected one, re-verified by a replay)."""
        try:
            self._call(
                "update_item",
                Key={"event_id": {"S": event_id}},
                UpdateExpression="SET superseded_by = :by",
                ConditionExpression="attribute_exists(event_id)",
                ExpressionAttributeValues={":by": {"S": superseded_by}},
            )
        except _ConditionFailed:
            return False
        return True

    # --- internals ---------------------------------------------------------------------------

    def _conflict(
        self,
        event_id: str,
        request_id: str,
        sha: str,
        old: Item,
        conflict_item: Mapping[str, Any],
        now_s: int,
    ) -> WriteResult:
        """Keep the second body first (its own row), then count it on the first row.

        Also when this request's conflict row exists already (an SQS redelivery, maybe after
        a crash between the two writes): counted unless its request id is recorded. Past
        ``MAX_RECORDED_REQUEST_IDS`` that cannot be told, so only a new conflict row counts.
        """
        created = self._put(conflict_item, now_s, _PUT_CONFLICT) is None
        current: Item | None = old
        for _ in range(MAX_WRITE_ROUNDS):
            if not current or _s(current, "body_sha256") == sha:
                break  # the first row went away or changed: the conflict row is kept anyway
            recorded = _ss(current, "conflict_request_ids")
            if request_id in recorded or (not created and len(recorded) >= MAX_RECORDED_REQUEST_IDS):
                break
            if self._count("conflict", event_id, request_id, sha, current, now_s):
                break
            current = self._get(event_id)
        return WriteResult.CONFLICT

    def _count(self, kind: str, event_id: str, request_id: str, sha: str, old: Item, now_s: int) -> bool:
        """``<kind>_count`` + 1 and the request id recorded while there is room; False when the
        row no longer is what ``old`` says (the caller reads it again)."""
        condition = (
            "attribute_exists(event_id) AND request_id <> :request_id"
            " AND NOT contains(#ids, :request_id) AND NOT (expires_at < :now_s)"
            f" AND body_sha256 {'=' if kind == 'duplicate' else '<>'} :sha"
        )
        values = {
            ":one": {"N": "1"},
            ":request_id": {"S": request_id},
            ":now_s": {"N": str(now_s)},
            ":sha": {"S": sha},
            ":cap": {"N": str(MAX_RECORDED_REQUEST_IDS)},
        }
        if len(_ss(old, f"{kind}_request_ids")) < MAX_RECORDED_REQUEST_IDS:
            update = "ADD #count :one, #ids :request_ids"
            condition += " AND (attribute_not_exists(#ids) OR size(#ids) < :cap)"
            values[":request_ids"] = {"SS": [request_id]}
        else:
            update = "ADD #count :one"
            condition += " AND size(#ids) >= :cap"
        try:
            self._call(
                "update_item",
                Key={"event_id": {"S": event_id}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#count": f"{kind}_count", "#ids": f"{kind}_request_ids"},
                ExpressionAttributeValues=values,
            )
        except _ConditionFailed:
            return False
        return True

    def _put(self, item: Mapping[str, Any], now_s: int, condition: str) -> Item | None:
        """None when written; else the existing row as the failed condition returned it
        (``{}`` when it is gone again by the time we look)."""
        values: dict[str, Any] = {":now_s": {"N": str(now_s)}}
        names: dict[str, str] = {}
        if "#status" in condition:
            values.update({":rejected": {"S": "rejected"}, ":invalid": {"S": "invalid"}})
            names["#status"] = "status"
        request: dict[str, Any] = {
            "Item": _marshal(item),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            self._call("put_item", **request)
        except _ConditionFailed as failed:
            if failed.item is not None:
                return failed.item
            # No old item in the answer (an emulator without ReturnValuesOnConditionCheckFailure).
            return self._get(item["event_id"]) or {}
        return None

    def _get(self, event_id: str) -> Item | None:
        response = self._call(
            "get_item",
            Key={"event_id": {"S": event_id}},
            ConsistentRead=True,
            ProjectionExpression=_READ_BACK,
        )
        item = response.get("Item")
        return item if isinstance(item, Mapping) else None

    def _call(self, operation: str, **request: Any) -> Any:
        """The SDK call; _ConditionFailed when its condition failed, SDK errors translated."""
        try:
            return getattr(self._client_factory(), operation)(TableName=self._table_name, **request)
        except ClientError as exc:
            if _error_code(exc) == _CONDITION_FAILED:
                item = exc.response.get("Item")
                raise _ConditionFailed(item if isinstance(item, Mapping) else None) from None
            raise _translate(exc) from exc
        except (BotoConnectionError, HTTPClientError) as exc:
            raise _translate(exc) from exc
