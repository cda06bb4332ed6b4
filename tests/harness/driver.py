"""Drives webhooks through a deployed stack and lets its processor catch up.

LocalDriver: moto cannot execute an API or run Lambda, so the local gateway
renders the deployed templates into moto's SQS and the local event source
mapping hands the records to the real processor code in-process.
RealDriver: POSTs to the deployed stage over HTTPS and waits for the real
event source mapping to empty the queue. Tests use only `post` and `settle`,
so the same assertions hold for both.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
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


def package_base64sha256(package: Path) -> str:
    """What Lambda reports as CodeSha256 for this zip."""
    return base64.b64encode(hashlib.sha256(package.read_bytes()).digest()).decode()


def read_packaged_file(package: Path, name: str) -> bytes:
    with zipfile.ZipFile(package) as archive:
        return archive.read(name)


def deployed_function(account: Account, function_name: str, package: Path) -> dict[str, Any]:
    """The function's configuration, after checking that `package` is the zip it runs.

    The processor's source map is in the zip (webhook_config/sources.json), not in the
    environment; reading it from the local zip is faithful only when that zip is the one
    Lambda holds, so the hashes must match.
    """
    config = account.client("lambda").get_function_configuration(FunctionName=function_name)
    local = package_base64sha256(package)
    if local != config["CodeSha256"]:
        raise AssertionError(
            f"{package} (base64 SHA-256 {local}) is not the zip {function_name} runs "
            f"(CodeSha256 {config['CodeSha256']})"
        )
    return config


def deployed_sources(account: Account, function_name: str, package: Path) -> dict[str, Any]:
    """The source map the deployed function reads (WEBHOOK_SOURCES_FILE inside its zip)."""
    config = deployed_function(account, function_name, package)
    name = config["Environment"]["Variables"]["WEBHOOK_SOURCES_FILE"]
    return json.loads(read_packaged_file(package, name))


@contextmanager
def deployed_processor_environment(account: Account, function_name: str, package: Path) -> Iterator[Any]:
    """processor_environment with the deployed function's own environment and config file.

    The file named by WEBHOOK_SOURCES_FILE (relative to the package root in Lambda) is
    extracted from the verified local zip and the variable points at the extracted copy.
    """
    config = deployed_function(account, function_name, package)
    env = dict(config["Environment"]["Variables"])
    # Set by the Lambda runtime for every function (AWS Lambda Developer Guide, "Defined runtime
    # environment variables"); the processor's metrics name their Service by it.
    env["AWS_LAMBDA_FUNCTION_NAME"] = config["FunctionName"]
    with tempfile.TemporaryDirectory(prefix="processor-root-") as root:
        name = env.get("WEBHOOK_SOURCES_FILE")
        if name:
            target = Path(root, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read_packaged_file(package, name))
            env["WEBHOOK_SOURCES_FILE"] = str(target)
        with processor_environment(account, env) as handler:
            yield handler


@contextmanager
def processor_environment(account: Account, function_env: Mapping[str, str]) -> Iterator[Any]:
    """The processor module configured as the deployed function is (its own env vars)."""
    if str(LAMBDA_DIR) not in sys.path:  # pytest adds it (pyproject); the demo does not
        sys.path.insert(0, str(LAMBDA_DIR))
    from webhook_processor import handler

    saved = dict(os.environ)
    for name in ("WEBHOOK_SOURCES", "WEBHOOK_SOURCES_FILE"):  # only the function's own say
        os.environ.pop(name, None)
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
        self,
        account: Account,
        outputs: Mapping[str, Any],
        handler: Any,
        batch_size: int = 10,
        package: Path | None = None,
    ) -> None:
        """`package`: the processor's zip, which the responders of handshake sources run too."""
        assert account.endpoint_url is not None
        self.responders = None
        if outputs.get("responder_function_names"):
            if package is None:
                raise ValueError("handshake sources need the package their responders run (package=)")
            from .functions import PerInvocationFunctions  # functions.py imports this module

            self.responders = PerInvocationFunctions(account, package)
        self.gateway = LocalGateway(
            account.client("apigateway"),
            account.endpoint_url,
            outputs["rest_api_id"],
            outputs["stage_name"],
            region=account.region,
            lambda_invoker=self.responders,
        )
        # The sources with payload_store = "s3" are on the payloads API (payload_api.tf).
        self.payload_gateway = (
            LocalGateway(
                account.client("apigateway"),
                account.endpoint_url,
                outputs["payload_rest_api_id"],
                outputs["stage_name"],
                region=account.region,
            )
            if outputs.get("payload_rest_api_id")
            else None
        )
        self.poller = EventSourceMappingPoller(
            account.client("sqs"),
            outputs["queue_url"],
            handler.lambda_handler,
            batch_size=batch_size,
            function_name=outputs["processor_function_name"],
        )

    def gateway_for(self, source: str) -> LocalGateway:
        """The API that serves `source`: the payloads API when it has the source's resource."""
        path = f"/webhooks/{source}"
        if self.payload_gateway is not None and path in self.payload_gateway.spec.resources:
            return self.payload_gateway
        return self.gateway

    def post(self, source: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        response = self.gateway_for(source).post(f"/webhooks/{source}", body, headers)
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
