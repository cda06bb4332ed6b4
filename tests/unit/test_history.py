"""History writes: conditional put, duplicate counting, error translation."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from webhook_processor.errors import TransientError
from webhook_processor.history import HistoryStore, WriteResult, to_attribute_value

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


def _item(event_id: str, request_id: str) -> dict[str, Any]:
    return {"event_id": event_id, "request_id": request_id, "duplicate_count": 0, "reason": None}


def test_duplicates_are_counted_once_per_request(store: HistoryStore) -> None:
    assert store.record(_item("e#1", "r1"), count_duplicates=True) is WriteResult.STORED
    assert store.record(_item("e#1", "r1"), count_duplicates=True) is WriteResult.REDELIVERY
    assert store.record(_item("e#1", "r2"), count_duplicates=True) is WriteResult.DUPLICATE
    assert store.record(_item("e#1", "r2"), count_duplicates=True) is WriteResult.REDELIVERY
    assert store.record(_item("e#1", "r3"), count_duplicates=True) is WriteResult.DUPLICATE
    assert store.record(_item("e#1", "r1"), count_duplicates=True) is WriteResult.REDELIVERY
    row = _row("e#1")
    assert row["request_id"] == "r1"
    assert row["duplicate_count"] == 2
    assert row["duplicate_request_ids"] == {"r2", "r3"}
    assert "reason" not in row  # None values are not written


def test_rejected_rows_never_count_duplicates(store: HistoryStore) -> None:
    assert store.record(_item("s#request:r1", "r1"), count_duplicates=False) is WriteResult.STORED
    assert store.record(_item("s#request:r1", "r9"), count_duplicates=False) is WriteResult.REDELIVERY
    assert _row("s#request:r1")["duplicate_count"] == 0


def test_attribute_values() -> None:
    assert to_attribute_value(True) == {"BOOL": True}
    assert to_attribute_value(5) == {"N": "5"}
    assert to_attribute_value("") == {"S": ""}
    assert to_attribute_value({"b", "a"}) == {"SS": ["a", "b"]}
    for bad in (1.5, set(), [1], {"k": "v"}):
        with pytest.raises(TypeError):
            to_attribute_value(bad)


class FailingClient:
    def __init__(self, error: Exception, fail_update: bool = False) -> None:
        self.error = error
        self.fail_update = fail_update

    def put_item(self, **_: Any) -> None:
        if not self.fail_update:
            raise self.error
        raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "PutItem")

    def update_item(self, **_: Any) -> None:
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
        store.record(_item("e", "r"), count_duplicates=True)


def test_other_client_errors_propagate() -> None:
    store = HistoryStore(lambda: FailingClient(_client_error("ValidationException")), "t")
    with pytest.raises(ClientError):
        store.record(_item("e", "r"), count_duplicates=True)
