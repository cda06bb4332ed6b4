"""Fixtures for the processor's unit tests: an in-process moto account, sources, records."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import boto3
import pytest
from webhook_processor import handler

from .support import TABLE_NAME, install_account, mocked_aws, record_for


@pytest.fixture(autouse=True)
def _isolated_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, no endpoint overrides, fresh processor caches for every test."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    handler.reset()
    yield
    handler.reset()


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A moto account with the history table, every test source and its secret."""
    with mocked_aws():
        yield install_account(monkeypatch)


@pytest.fixture
def table(account: dict[str, str]) -> Any:
    return boto3.resource("dynamodb").Table(TABLE_NAME)


@pytest.fixture
def get_row(table: Any) -> Callable[[str], dict[str, Any] | None]:
    def get(event_id: str) -> dict[str, Any] | None:
        return table.get_item(Key={"event_id": event_id}, ConsistentRead=True).get("Item")

    return get


@pytest.fixture
def run(account: dict[str, str]) -> Callable[..., handler.BatchResult]:
    """Run records through the handler's batch loop, as the event source mapping would."""

    def go(*records: Mapping[str, Any], context: Any = None) -> handler.BatchResult:
        return handler.process_batch({"Records": list(records)}, context)

    return go


@pytest.fixture
def unique() -> Callable[[str], str]:
    return lambda prefix="id": f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_record() -> Callable[..., dict[str, Any]]:
    """``make_record(source, body, headers, received_at_ms=..., content_type=..., **attrs)``."""
    return record_for
