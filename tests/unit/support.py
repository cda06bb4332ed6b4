"""Shared test helpers: the test sources, record building and the moto account."""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import boto3
import pytest
from moto import mock_aws
from webhook_processor import handler
from webhook_processor.contract import build_record

from tests.harness.history_table import create_history_table

TABLE_NAME = "webhook-history-test"

# name -> (scheme, secret value as stored in Secrets Manager or None, extra source settings)
SOURCES: dict[str, tuple[str, str | None, dict[str, Any]]] = {
    "stripe": ("stripe", "whsec_test_secret", {}),
    "github": ("github", "It's a Secret to Everybody", {}),
    "shopify": ("shopify", "shpss_test", {}),
    "slack": ("slack", "8f742231b10e8888abcd99yyyzzz85a5", {}),
    "stdwh": ("standard_webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", {}),
    "generic_hex": ("hmac_sha256", "generic-secret", {"hmac_prefix": "sha256="}),
    "generic_b64": ("hmac_sha256", "generic-secret", {"hmac_encoding": "base64"}),
    "rotated": ("github", json.dumps(["new-secret", "old-secret"]), {}),
    "strict": ("stripe", "whsec_test_secret", {"tolerance_seconds": 60}),
    "open": ("none", None, {}),
}
# A signed source whose secret does not exist: every fetch fails (transient).
BROKEN_SOURCE = "broken"

# Headers the API Gateway template copies into attributes, per scheme (docs/message-contract.md).
# hmac_sha256 / none use the headers configured for them in these tests.
HEADER_ATTRIBUTES: dict[str, dict[str, str]] = {
    "stripe": {"signature": "Stripe-Signature"},
    "github": {
        "signature": "X-Hub-Signature-256",
        "delivery_id": "X-GitHub-Delivery",
        "event_type": "X-GitHub-Event",
    },
    "shopify": {
        "signature": "X-Shopify-Hmac-Sha256",
        "delivery_id": "X-Shopify-Webhook-Id",
        "event_type": "X-Shopify-Topic",
    },
    "slack": {"signature": "X-Slack-Signature", "signature_timestamp": "X-Slack-Request-Timestamp"},
    "standard_webhooks": {
        "signature": "webhook-signature",
        "signature_timestamp": "webhook-timestamp",
        "delivery_id": "webhook-id",
    },
    "hmac_sha256": {"signature": "X-Signature", "delivery_id": "X-Delivery-Id", "event_type": "X-Event-Type"},
    "none": {"delivery_id": "X-Delivery-Id", "event_type": "X-Event-Type"},
}


def scheme_of(source: str) -> str:
    return SOURCES[source][0] if source in SOURCES else "github"


def now_ms() -> int:
    return int(time.time() * 1000)


def record_for(
    source: str,
    body: bytes | str,
    headers: Mapping[str, str] | None = None,
    *,
    received_at_ms: int | None = None,
    content_type: str | None = "application/json",
    **overrides: Any,
) -> dict[str, Any]:
    """The SQS record API Gateway would enqueue for a POST to /webhooks/<source> with ``headers``."""
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    attributes = {
        attribute: lowered.get(header.lower())
        for attribute, header in HEADER_ATTRIBUTES[scheme_of(source)].items()
    }
    attributes.update(overrides)
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return build_record(
        text,
        source=source,
        received_at_ms=now_ms() if received_at_ms is None else received_at_ms,
        content_type=content_type,
        **attributes,
    )


@functools.cache
def _shared_session() -> boto3.Session:
    # moto resets boto3's default session on every mock; a new session re-reads the service
    # models (~0.1 s per client). One session with fake credentials keeps the suite fast.
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


@contextlib.contextmanager
def mocked_aws() -> Iterator[None]:
    """A fresh in-process moto account; boto3.client() in it uses a cached default session."""
    with mock_aws():
        boto3.DEFAULT_SESSION = _shared_session()  # moto's patch restores the original on exit
        yield


def drain_queue(
    queue_url: str, validate: Callable[[Any], object]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every message on the queue until it answers none, each deleted: (envelope, message) pairs.

    The envelope is the message body parsed as JSON, passed to ``validate`` (the schema check)
    before the message is deleted; attributes are asked for (MessageAttributeNames All).
    """
    sqs = boto3.client("sqs")
    found = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            envelope = json.loads(message["Body"])
            validate(envelope)
            found.append((envelope, message))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def create_table(name: str = TABLE_NAME) -> None:
    client = boto3.client("dynamodb")
    create_history_table(client, name)
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )


def install_account(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, str]:
    """Table, secrets and processor environment inside an active moto mock."""
    create_table()
    client = boto3.client("secretsmanager")
    sources: dict[str, dict[str, Any]] = {}
    for name, (scheme, secret, extra) in SOURCES.items():
        arn = None
        if secret is not None:
            arn = client.create_secret(Name=f"webhooks/{name}", SecretString=secret)["ARN"]
        sources[name] = {"scheme": scheme, "secret_arn": arn, "tolerance_seconds": None, **extra}
    sources[BROKEN_SOURCE] = {
        "scheme": "github",
        "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhooks/missing-AbCdEf",
    }
    values = {
        "TABLE_NAME": TABLE_NAME,
        "WEBHOOK_SOURCES": json.dumps(sources),
        "HISTORY_RETENTION_DAYS": "30",
        **env,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    handler.reset()
    return values
