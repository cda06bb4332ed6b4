"""Drives webhooks through a deployed stack and lets its processor catch up.

LocalDriver: moto cannot execute an API or run Lambda, so the local gateway
renders the deployed templates into moto's SQS and the local event source
mapping hands the records to the real processor code in-process.
RealDriver: POSTs to the deployed stage over HTTPS and waits for the real
event source mapping to empty the queue. Tests use only `post` and `settle`,
so the same assertions hold for both.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .account import Account
from .gateway import LocalGateway
from .poller import EventSourceMappingPoller

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"


@dataclass
class Answer:
    status: int
    body: str


@contextmanager
def processor_environment(account: Account, function_env: Mapping[str, str]) -> Iterator[Any]:
    """The processor module configured as the deployed function is (its own env vars)."""
    if str(LAMBDA_DIR) not in sys.path:  # pytest adds it (pyproject); the demo does not
        sys.path.insert(0, str(LAMBDA_DIR))
    from webhook_processor import handler

    saved = dict(os.environ)
    os.environ.update(account.sdk_env())
    os.environ.update(function_env)
    handler.reset()
    try:
        yield handler
    finally:
        os.environ.clear()
        os.environ.update(saved)
        handler.reset()


class LocalDriver:
    def __init__(
        self, account: Account, outputs: Mapping[str, Any], handler: Any, batch_size: int = 10
    ) -> None:
        assert account.endpoint_url is not None
        self.gateway = LocalGateway(
            account.client("apigateway"),
            account.endpoint_url,
            outputs["rest_api_id"],
            outputs["stage_name"],
            region=account.region,
        )
        self.poller = EventSourceMappingPoller(
            account.client("sqs"),
            outputs["queue_url"],
            handler.lambda_handler,
            batch_size=batch_size,
            function_name=outputs["processor_function_name"],
        )

    def post(self, source: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        response = self.gateway.post(f"/webhooks/{source}", body, headers)
        return Answer(response.status, response.body)

    def settle(self) -> None:
        self.poller.drain(max_rounds=200)


class RealDriver:
    def __init__(self, account: Account, outputs: Mapping[str, Any], timeout_s: float = 300) -> None:
        self.urls = outputs["webhook_urls"]
        self.sqs = account.client("sqs")
        self.queue_url = outputs["queue_url"]
        self.timeout_s = timeout_s

    def post(self, source: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        request = urllib.request.Request(self.urls[source], data=body, headers=dict(headers), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read().decode())

    def settle(self) -> None:
        """Wait until the queue has nothing visible or in flight (the ESM finished)."""
        deadline = time.monotonic() + self.timeout_s
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        while time.monotonic() < deadline:
            attrs = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=names)["Attributes"]
            if all(attrs[n] == "0" for n in names):
                return
            time.sleep(5)
        raise TimeoutError(f"queue still busy after {self.timeout_s} s")
