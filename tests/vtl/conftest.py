"""Fixtures for the VTL suite: an in-process moto server, clients and fresh queues.

Every test creates its own queues and APIs: other suites in the same process use
moto's `mock_aws`, which resets moto's shared backends, so nothing may be kept
across tests.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.harness.gateway import LocalGateway
from tests.harness.webhook_spec import webhook_spec

REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _client(service: str, url: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )


@pytest.fixture
def sqs(moto_url: str) -> Any:
    return _client("sqs", moto_url)


@pytest.fixture
def apigw(moto_url: str) -> Any:
    return _client("apigateway", moto_url)


@pytest.fixture
def make_queue(sqs: Any) -> Callable[..., tuple[str, str]]:
    """make_queue(max_size=None, max_receive_count=None) -> (name, url); a DLQ `<name>-dlq` when redriving."""

    def make(max_size: int | None = None, max_receive_count: int | None = None) -> tuple[str, str]:
        name = f"q{uuid.uuid4().hex[:10]}"
        attributes: dict[str, str] = {}
        if max_size is not None:
            attributes["MaximumMessageSize"] = str(max_size)
        if max_receive_count is not None:
            dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": arn, "maxReceiveCount": max_receive_count}
            )
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return name, url

    return make


@pytest.fixture
def spec_gateway(
    moto_url: str, make_queue: Callable[..., tuple[str, str]]
) -> Callable[..., tuple[LocalGateway, str]]:
    """spec_gateway(scheme="github", max_size=None) -> (gateway for POST /webhooks/<scheme>, queue url)."""

    def make(scheme: str = "github", max_size: int | None = None) -> tuple[LocalGateway, str]:
        name, url = make_queue(max_size=max_size)
        return LocalGateway.from_spec(webhook_spec(name, scheme, scheme), moto_url), url

    return make


@pytest.fixture
def receive_all(sqs: Any) -> Callable[[str], list[dict[str, Any]]]:
    """receive_all(queue_url): every message now in the queue, received and deleted."""

    def receive(queue_url: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)
            for message in batch:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    return receive
