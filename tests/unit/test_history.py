"""History writes: conditional put, duplicates, conflicts, caps, TTL, races, error translation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from webhook_processor.errors import TransientError
from webhook_processor.history import (
    MAX_RECORDED_REQUEST_IDS,
    HistoryStore,
    WriteResult,
    Written,
    to_attribute_value,
)

from .support import TABLE_NAME, create_table, mocked_aws


@pytest.fixture
def store() -> Any:
    with mocked_aws():
        create_table()
        yield HistoryStore(lambda: boto3.client("dynamodb", region_name="us-east-1"), TABLE_NAME)


def _row(event_id: str) -> dict[str, Any]:
    return (
        boto3.resource("dynamodb", region_name="us-east-1")
        .Table(TABLE_NAME)
        .get_item(Key={"event_id": event_id}, ConsistentRead=True)["Item"]
    )


NOW_S = 1_800_000_000


def _item(event_id: str, request_id: str, sha: str = "sha-a", **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "request_id": request_id,
        "body_sha256": sha,
        "duplicate_count": 0,
        "reason": None,
        **extra,
    }


def _conflict_row(event_id: str, request_id: str, sha: str) -> dict[str, Any]:
    return _item(f"s#request:{request_id}", request_id, sha, status="conflict", conflict_of=event_id)


def _record(store: HistoryStore, event_id: str, request_id: str, sha: str = "sha-a") -> WriteResult:
    return store.record(
        _item(event_id, request_id, sha),
        count_duplicates=True,
        now_s=NOW_S,
        conflict_item=lambda: _conflict_row(event_id, request_id, sha),
    )


def test_duplicates_are_counted_once_per_request(store: HistoryStore) -> None:
    assert _record(store, "e#1", "r1") is WriteResult.STORED
    assert _record(store, "e#1", "r1") is WriteResult.REDELIVERY
    assert _record(store, "e#1", "r2") is WriteResult.DUPLICATE
    assert _record(store, "e#1", "r2") is WriteResult.REDELIVERY
    assert _record(store, "e#1", "r3") is WriteResult.DUPLICATE
    assert _record(store, "e#1", "r1") is WriteResult.REDELIVERY
    row = _row("e#1")
    assert row["request_id"] == "r1"
    assert row["duplicate_count"] == 2
    assert row["duplicate_request_ids"] == {"r2", "r3"}
    assert "reason" not in row  # None values are not written
    assert "conflict_count" not in row


def test_rejected_rows_never_count_duplicates(store: HistoryStore) -> None:
    item = _item("s#request:r1", "r1")
    assert store.record(item, count_duplicates=False, now_s=NOW_S) is WriteResult.STORED
    other = _item("s#request:r1", "r9", "sha-other")
    assert store.record(other, count_duplicates=False, now_s=NOW_S) is WriteResult.REDELIVERY
    row = _row("s#request:r1")
    assert (row["duplicate_count"], row["request_id"]) == (0, "r1")


def test_recorded_request_ids_are_capped_and_the_count_keeps_growing(store: HistoryStore) -> None:
    assert _record(store, "e#cap", "r0") is WriteResult.STORED
    for index in range(1, MAX_RECORDED_REQUEST_IDS + 11):
        assert _record(store, "e#cap", f"r{index}") is WriteResult.DUPLICATE
    row = _row("e#cap")
    assert MAX_RECORDED_REQUEST_IDS == 50
    assert row["duplicate_count"] == MAX_RECORDED_REQUEST_IDS + 10
    assert row["duplicate_request_ids"] == {f"r{i}" for i in range(1, MAX_RECORDED_REQUEST_IDS + 1)}
    # A recorded request is still recognised as a redelivery.
    assert _record(store, "e#cap", "r7") is WriteResult.REDELIVERY
    assert _row("e#cap")["duplicate_count"] == MAX_RECORDED_REQUEST_IDS + 10


def test_a_row_past_its_ttl_is_overwritten_not_counted(store: HistoryStore) -> None:
    # DynamoDB deletes expired items up to ~48 h late: such a row is gone for our purposes.
    old = _item("e#ttl", "r-old", expires_at=NOW_S - 1, duplicate_count=3)
    assert store.record(old, count_duplicates=True, now_s=NOW_S - 100) is WriteResult.STORED
    assert _record(store, "e#ttl", "r-new") is WriteResult.STORED
    row = _row("e#ttl")
    assert (row["request_id"], row["duplicate_count"]) == ("r-new", 0)
    assert "expires_at" not in row
    # A row that has not expired yet is a duplicate as always.
    live = _item("e#live", "r1", expires_at=NOW_S)
    assert store.record(live, count_duplicates=True, now_s=NOW_S) is WriteResult.STORED
    assert _record(store, "e#live", "r2") is WriteResult.DUPLICATE


def test_an_expired_rejected_row_is_overwritten(store: HistoryStore) -> None:
    old = _item("s#request:r1", "r1", expires_at=NOW_S - 1)
    assert store.record(old, count_duplicates=False, now_s=NOW_S - 100) is WriteResult.STORED
    new = _item("s#request:r1", "r1", "sha-b")
    assert store.record(new, count_duplicates=False, now_s=NOW_S) is WriteResult.STORED
    assert _row("s#request:r1")["body_sha256"] == "sha-b"


def test_another_body_under_a_known_id_is_a_conflict_never_a_duplicate(store: HistoryStore) -> None:
    assert _record(store, "e#c", "r1", "sha-a") is WriteResult.STORED
    assert _record(store, "e#c", "r2", "sha-b") is WriteResult.CONFLICT
    assert _record(store, "e#c", "r2", "sha-b") is WriteResult.CONFLICT  # SQS redelivery: no-op
    assert _record(store, "e#c", "r3", "sha-a") is WriteResult.DUPLICATE
    assert _record(store, "e#c", "r4", "sha-c") is WriteResult.CONFLICT
    first = _row("e#c")
    assert (first["body_sha256"], first["request_id"]) == ("sha-a", "r1")
    assert (first["duplicate_count"], first["duplicate_request_ids"]) == (1, {"r3"})
    assert (first["conflict_count"], first["conflict_request_ids"]) == (2, {"r2", "r4"})
    for request_id, sha in (("r2", "sha-b"), ("r4", "sha-c")):
        conflict = _row(f"s#request:{request_id}")
        assert (conflict["status"], conflict["conflict_of"], conflict["body_sha256"]) == (
            "conflict",
            "e#c",
            sha,
        )


def test_conflict_ids_are_capped_too(store: HistoryStore) -> None:
    assert _record(store, "e#cc", "r0", "sha-0") is WriteResult.STORED
    for index in range(1, MAX_RECORDED_REQUEST_IDS + 4):
        assert _record(store, "e#cc", f"r{index}", f"sha-{index}") is WriteResult.CONFLICT
    row = _row("e#cc")
    assert row["conflict_count"] == MAX_RECORDED_REQUEST_IDS + 3
    assert len(row["conflict_request_ids"]) == MAX_RECORDED_REQUEST_IDS
    assert "duplicate_request_ids" not in row and row["duplicate_count"] == 0


def test_a_conflict_row_replaces_that_requests_rejected_row(store: HistoryStore) -> None:
    rejected = _item("s#request:r2", "r2", "sha-b", status="rejected")
    assert store.record(rejected, count_duplicates=False, now_s=NOW_S) is WriteResult.STORED
    assert _record(store, "e#x", "r1", "sha-a") is WriteResult.STORED
    assert _record(store, "e#x", "r2", "sha-b") is WriteResult.CONFLICT
    assert _row("s#request:r2")["status"] == "conflict"
    assert _row("e#x")["conflict_count"] == 1


class CountingClient:
    """A real (moto) client that counts calls and can hide ALL_OLD, like an older emulator."""

    def __init__(self, hide_old_item: bool = False) -> None:
        self.client = boto3.client("dynamodb", region_name="us-east-1")
        self.calls: list[str] = []
        self.hide_old_item = hide_old_item
        self.before_update: Callable[[], None] | None = None

    def __getattr__(self, name: str) -> Any:
        operation = getattr(self.client, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append(name)
            if name == "update_item" and self.before_update is not None:
                hook, self.before_update = self.before_update, None
                hook()
            try:
                return operation(**kwargs)
            except ClientError as exc:
                if self.hide_old_item:
                    exc.response.pop("Item", None)
                raise

        return call


def test_a_new_event_costs_one_call_a_duplicate_two() -> None:
    with mocked_aws():
        create_table()
        client = CountingClient()
        store = HistoryStore(lambda: client, TABLE_NAME)
        assert _record(store, "e#n", "r1") is WriteResult.STORED
        assert client.calls == ["put_item"]
        client.calls.clear()
        assert _record(store, "e#n", "r2") is WriteResult.DUPLICATE
        assert client.calls == ["put_item", "update_item"]
        client.calls.clear()
        assert _record(store, "e#n", "r2") is WriteResult.REDELIVERY
        assert client.calls == ["put_item"]


def test_without_all_old_the_row_is_read_back() -> None:
    with mocked_aws():
        create_table()
        client = CountingClient(hide_old_item=True)
        store = HistoryStore(lambda: client, TABLE_NAME)
        assert _record(store, "e#h", "r1") is WriteResult.STORED
        assert _record(store, "e#h", "r2") is WriteResult.DUPLICATE
        assert _record(store, "e#h", "r3", "sha-b") is WriteResult.CONFLICT
        assert "get_item" in client.calls
        row = _row("e#h")
        assert (row["duplicate_count"], row["conflict_count"]) == (1, 1)


def test_a_row_that_changes_between_the_put_and_the_update_is_read_again() -> None:
    """The duplicate's update is conditional on the body hash it saw: no race can make a
    different body count as a duplicate."""
    with mocked_aws():
        create_table()
        client = CountingClient()
        store = HistoryStore(lambda: client, TABLE_NAME)
        old = _item("e#r", "r1", "sha-a", expires_at=NOW_S + 10)
        assert store.record(old, count_duplicates=True, now_s=NOW_S) is WriteResult.STORED

        def replace_row() -> None:  # e.g. the row expired and another delivery replaced it
            client.client.put_item(
                TableName=TABLE_NAME,
                Item={
                    "event_id": {"S": "e#r"},
                    "request_id": {"S": "r9"},
                    "body_sha256": {"S": "sha-z"},
                    "duplicate_count": {"N": "0"},
                },
            )

        client.before_update = replace_row
        assert _record(store, "e#r", "r2", "sha-a") is WriteResult.CONFLICT
        row = _row("e#r")
        assert (row["request_id"], row["duplicate_count"], row["conflict_count"]) == ("r9", 0, 1)
        assert client.calls.count("get_item") == 1


def test_a_conflict_whose_count_failed_is_counted_on_the_retry() -> None:
    """The conflict row is written first; if the count is lost (throttled, crash, lost
    response), the redelivery finds the row and still counts it, exactly once."""
    with mocked_aws():
        create_table()
        client = CountingClient()
        store = HistoryStore(lambda: client, TABLE_NAME)
        assert _record(store, "e#k", "r1", "sha-a") is WriteResult.STORED

        def throttle() -> None:
            raise ClientError({"Error": {"Code": "ThrottlingException"}}, "UpdateItem")

        client.before_update = throttle
        with pytest.raises(TransientError):
            _record(store, "e#k", "r2", "sha-b")
        assert _row("s#request:r2")["status"] == "conflict"  # the body is kept already
        assert "conflict_count" not in _row("e#k")
        assert _record(store, "e#k", "r2", "sha-b") is WriteResult.CONFLICT  # SQS retries
        assert _record(store, "e#k", "r2", "sha-b") is WriteResult.CONFLICT  # and again
        row = _row("e#k")
        assert (row["conflict_count"], row["conflict_request_ids"]) == (1, {"r2"})


def test_endless_contention_is_transient() -> None:
    class Contended:
        def put_item(self, **_: Any) -> None:
            raise ClientError(
                {
                    "Error": {"Code": "ConditionalCheckFailedException"},
                    "Item": {"event_id": {"S": "e"}, "request_id": {"S": "x"}, "body_sha256": {"S": "sha-a"}},
                },
                "PutItem",
            )

        def update_item(self, **_: Any) -> None:
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "UpdateItem")

        def get_item(self, **_: Any) -> Any:
            return {"Item": {"event_id": {"S": "e"}, "request_id": {"S": "x"}, "body_sha256": {"S": "sha-a"}}}

    store = HistoryStore(lambda: Contended(), "t")
    with pytest.raises(TransientError) as caught:
        _record(store, "e", "r")
    assert caught.value.code == "history_contention"


def test_mark_superseded(store: HistoryStore) -> None:
    assert (
        store.record(_item("s#request:r1", "r1"), count_duplicates=False, now_s=NOW_S) is WriteResult.STORED
    )
    assert store.mark_superseded("s#request:r1", "s#evt_1") is True
    assert _row("s#request:r1")["superseded_by"] == "s#evt_1"
    assert store.mark_superseded("s#request:nothing", "s#evt_1") is False  # a missing row is fine
    client = boto3.client("dynamodb", region_name="us-east-1")
    assert "Item" not in client.get_item(TableName=TABLE_NAME, Key={"event_id": {"S": "s#request:nothing"}})


def test_attribute_values() -> None:
    assert to_attribute_value(True) == {"BOOL": True}
    assert to_attribute_value(5) == {"N": "5"}
    assert to_attribute_value("") == {"S": ""}
    assert to_attribute_value({"b", "a"}) == {"SS": ["a", "b"]}
    assert to_attribute_value({"source": "gh", "received_at_ms": "17", "none": None}) == {
        "M": {"source": {"S": "gh"}, "received_at_ms": {"S": "17"}}
    }
    assert to_attribute_value({}) == {"M": {}}
    for bad in (1.5, set(), [1], {1: "v"}, {"k": 1.5}):
        with pytest.raises(TypeError):
            to_attribute_value(bad)


class FailingClient:
    def __init__(self, error: Exception, fail_update: bool = False) -> None:
        self.error = error
        self.fail_update = fail_update

    def put_item(self, **_: Any) -> None:
        if not self.fail_update:
            raise self.error
        existing = {"event_id": {"S": "e"}, "request_id": {"S": "other"}, "body_sha256": {"S": "sha-a"}}
        raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}, "Item": existing}, "PutItem")

    def update_item(self, **_: Any) -> None:
        raise self.error

    def get_item(self, **_: Any) -> None:
        raise self.error


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"}}, "PutItem")


@pytest.mark.parametrize("fail_update", [False, True])
@pytest.mark.parametrize(
    "error",
    [
        _client_error("ProvisionedThroughputExceededException"),
        _client_error("ThrottlingException"),
        _client_error("RequestLimitExceeded"),
        _client_error("InternalServerError"),
        _client_error("ServiceUnavailable"),
        ReadTimeoutError(endpoint_url="https://dynamodb"),
        ConnectTimeoutError(endpoint_url="https://dynamodb"),
        EndpointConnectionError(endpoint_url="https://dynamodb"),
    ],
    ids=lambda e: e.response["Error"]["Code"] if isinstance(e, ClientError) else type(e).__name__,
)
def test_transient_errors_are_translated(error: Exception, fail_update: bool) -> None:
    store = HistoryStore(lambda: FailingClient(error, fail_update), "t")
    with pytest.raises(TransientError):
        _record(store, "e", "r")


def test_other_client_errors_propagate() -> None:
    store = HistoryStore(lambda: FailingClient(_client_error("ValidationException")), "t")
    with pytest.raises(ClientError):
        _record(store, "e", "r")


# --- published_at (issue 10, E3) -------------------------------------------------------------


def _write(store: HistoryStore, event_id: str, request_id: str) -> Any:
    return store.write(
        _item(event_id, request_id),
        count_duplicates=True,
        now_s=NOW_S,
        conflict_item=lambda: _conflict_row(event_id, request_id, "sha-a"),
    )


def test_write_tells_whether_the_existing_row_was_published(store: HistoryStore) -> None:
    assert _write(store, "e#p", "r1") == Written(WriteResult.STORED, False)
    assert _write(store, "e#p", "r1") == Written(WriteResult.REDELIVERY, False)
    assert _write(store, "e#p", "r2") == Written(WriteResult.DUPLICATE, False)
    assert store.mark_published("e#p", 1_800_000_000_123) is True
    assert _row("e#p")["published_at"] == 1_800_000_000_123
    assert _write(store, "e#p", "r1") == Written(WriteResult.REDELIVERY, True)
    assert _write(store, "e#p", "r3") == Written(WriteResult.DUPLICATE, True)
    assert store.write(
        _item("e#p", "r4", "sha-b"),
        count_duplicates=True,
        now_s=NOW_S,
        conflict_item=lambda: _conflict_row("e#p", "r4", "sha-b"),
    ) == Written(WriteResult.CONFLICT, False)


def test_marking_a_missing_row_changes_nothing(store: HistoryStore) -> None:
    assert store.mark_published("e#gone", 1) is False
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(TABLE_NAME)
    assert "Item" not in table.get_item(Key={"event_id": "e#gone"})


def test_published_is_read_back_when_the_failed_put_returns_no_old_image(store: HistoryStore) -> None:
    """An emulator without ReturnValuesOnConditionCheckFailure: the read-back includes it."""
    client = boto3.client("dynamodb", region_name="us-east-1")

    class NoOldImage:
        def __getattr__(self, name: str) -> Any:
            return getattr(client, name)

        def put_item(self, **kwargs: Any) -> Any:
            try:
                return client.put_item(**kwargs)
            except ClientError as exc:
                exc.response.pop("Item", None)
                raise

    bare = HistoryStore(lambda: NoOldImage(), TABLE_NAME)
    assert _write(bare, "e#bare", "r1").result is WriteResult.STORED
    bare.mark_published("e#bare", 5)
    assert _write(bare, "e#bare", "r1") == Written(WriteResult.REDELIVERY, True)
    assert _write(bare, "e#bare", "r2") == Written(WriteResult.DUPLICATE, True)
