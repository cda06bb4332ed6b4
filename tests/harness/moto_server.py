"""The local AWS account: a moto server on 127.0.0.1, with fixes for moto gaps that Terraform trips on.

Run as a process of its own (`python -m tests.harness.moto_server --port N`): the
unit tests use moto's in-process `mock_aws`, which resets moto's shared backends,
so a server living inside the pytest process would lose its state.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def apply_moto_fixes() -> None:
    """Patch moto 5.2.x so the aws provider reads back what it wrote.

    - moto serialises RedrivePolicy with `json.dumps` defaults (spaces after
      separators), so every plan shows a whitespace-only diff: emit compact JSON.
    - moto stores RedriveAllowPolicy but neither accepts it as an attribute name
      nor returns it in GetQueueAttributes, so the provider's read-after-write
      of `redrive_allow_policy` fails or times out: accept and return it.
    - API Gateway returns a REST API's resource policy JSON-escaped inside the
      JSON response (`{\\"Version\\":...}`) and the provider unescapes it; moto
      returns it raw, so reading any API with a policy fails ("invalid character
      after top-level value"): escape it as AWS does.
    - Stage method settings for one method arrive as patch paths such as
      `/webhooks/github/POST/throttling/rateLimit` (or JSON-pointer escaped,
      `/~1webhooks~1github/POST/...`); AWS files them under
      `webhooks/github/POST`, which the provider reads back. moto splits the
      path at its third slash, so a nested resource path is dropped and the
      read finds nothing: split off the two-part setting name instead.
    - Lambda: moto neither stores nor returns LoggingConfig, so a function with
      JSON logs shows `logging_config` as a change on every plan: keep it and
      return it (AWS's default when unset: Text logs to /aws/lambda/<name>).
    - SQS: on every SendMessage moto runs its own stand-in for a Lambda event
      source mapping: it receives the queue's messages, fails to invoke the
      function (no Docker here), and makes them visible again, so each send
      adds a receive to every waiting message and pushes them to the DLQ.
      The tests' local poller is the event source mapping, so moto's is
      switched off (the mapping itself still exists and reads back).
    - S3: a bucket policy's TLS-only Deny refused every object request
      (`_ignore_tls_only_denies_on_buckets`).
    - API Gateway: CreateRestApi ignores binaryMediaTypes, and an update's
      `add`/`remove` of `/binaryMediaTypes/<type, ~1 for />` (the media type is in
      the path, with no value, as the provider sends it) adds or removes "": so
      the payloads API read back as text-only (`_keep_binary_media_types`).
    - S3: a PutObject whose Content-Type is a form type (GitHub's default,
      application/x-www-form-urlencoded) was stored empty: werkzeug parsed the body
      into the form and moto read `request.data`, then b"". S3 stores the bytes
      whatever the type (`_keep_form_bodies_of_puts`).
    Remove each when moto does it itself.
    """
    from moto.apigateway.models import RestAPI, Stage
    from moto.awslambda.models import LambdaFunction

    original_lambda_init = LambdaFunction.__init__
    original_lambda_config = LambdaFunction.get_configuration
    original_lambda_update = LambdaFunction.update_configuration

    def lambda_init(
        self: LambdaFunction, account_id: str, spec: dict, *args: object, **kwargs: object
    ) -> None:
        original_lambda_init(self, account_id, spec, *args, **kwargs)
        self.logging_config = spec.get("LoggingConfig")

    def lambda_config(self: LambdaFunction, *args: object, **kwargs: object) -> dict:
        config = original_lambda_config(self, *args, **kwargs)
        default = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{self.function_name}"}
        config["LoggingConfig"] = {**default, **(getattr(self, "logging_config", None) or {})}
        return config

    def lambda_update(self: LambdaFunction, config_updates: dict) -> dict:
        if "LoggingConfig" in config_updates:
            self.logging_config = config_updates["LoggingConfig"]
        if "TracingConfig" in config_updates:
            self.tracing_config = config_updates["TracingConfig"]
        return original_lambda_update(self, config_updates)

    LambdaFunction.__init__ = lambda_init  # type: ignore[method-assign]
    LambdaFunction.get_configuration = lambda_config  # type: ignore[method-assign]
    LambdaFunction.update_configuration = lambda_update  # type: ignore[method-assign]
    from moto.sqs.models import Queue

    setting_groups = ("metrics", "logging", "throttling", "caching")
    original_stage_apply = Stage.apply_operations

    def stage_apply_operations(self: Stage, patch_operations: list[dict]) -> Stage:
        rest = []
        for op in patch_operations:
            parts = op.get("path", "").lstrip("/").split("/")
            if op.get("op") == "replace" and len(parts) >= 4 and parts[-2] in setting_groups:
                method_path = "/".join(parts[:-2]).replace("~1", "/").lstrip("/")
                self._patch_method_setting(method_path, "/".join(parts[-2:]), op["value"])
            else:
                rest.append(op)
        return original_stage_apply(self, rest)

    Stage.apply_operations = stage_apply_operations  # type: ignore[method-assign]

    original_rest_api_to_dict = RestAPI.to_dict

    def rest_api_to_dict(self: RestAPI) -> dict:
        result = original_rest_api_to_dict(self)
        policy = result.get(RestAPI.PROP_POLICY)
        if policy and not policy.startswith('{\\"'):
            result[RestAPI.PROP_POLICY] = json.dumps(policy)[1:-1]
        return result

    RestAPI.to_dict = rest_api_to_dict  # type: ignore[method-assign]

    original_add_message = Queue.add_message

    def add_message(self: Queue, message: object) -> None:
        mappings, self.lambda_event_source_mappings = self.lambda_event_source_mappings, {}
        try:
            original_add_message(self, message)
        finally:
            self.lambda_event_source_mappings = mappings

    Queue.add_message = add_message  # type: ignore[method-assign]

    if "RedriveAllowPolicy" not in Queue.BASE_ATTRIBUTES:
        Queue.BASE_ATTRIBUTES = [*Queue.BASE_ATTRIBUTES, "RedriveAllowPolicy"]
        Queue.redrive_allow_policy = None  # type: ignore[attr-defined]
    original = Queue.attributes.fget

    def attributes(self: Queue) -> dict:
        result = original(self)
        if self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
        # AWS leaves a removed (empty) policy out entirely; the provider's delete waits for that.
        allow = result.pop("RedriveAllowPolicy", None)
        if allow:
            result["RedriveAllowPolicy"] = (
                json.dumps(json.loads(allow), separators=(",", ":")) if isinstance(allow, str) else allow
            )
        return result

    Queue.attributes = property(attributes)  # type: ignore[assignment]
    _ignore_tls_only_denies_on_buckets()
    _keep_binary_media_types()
    _keep_form_bodies_of_puts()


def _keep_form_bodies_of_puts() -> None:
    """A PUT's body stays raw: read once without form parsing, so `request.data` returns it."""
    from moto.core.responses import BaseResponse

    original = BaseResponse.setup_class
    form_types = ("application/x-www-form-urlencoded", "multipart/form-data")

    def setup_class(self: BaseResponse, request: object, *args: object, **kwargs: object) -> object:
        if getattr(request, "method", None) == "PUT" and getattr(request, "mimetype", None) in form_types:
            request.get_data(cache=True, parse_form_data=False)  # type: ignore[attr-defined]
        return original(self, request, *args, **kwargs)

    BaseResponse.setup_class = setup_class  # type: ignore[method-assign]


def _keep_binary_media_types() -> None:
    """CreateRestApi's binaryMediaTypes are kept, and patch operations name the media type in
    their path as JSON pointer (API Gateway, "Enabling binary support using the API Gateway
    REST API": `{"op": "add", "path": "/binaryMediaTypes/image~1jpeg"}`)."""
    from moto.apigateway.models import RestAPI
    from moto.apigateway.responses import APIGatewayResponse

    original_create = APIGatewayResponse.create_rest_api

    def create_rest_api(self: APIGatewayResponse) -> object:
        status, headers, body = original_create(self)
        wanted = json.loads(self.body or "{}").get("binaryMediaTypes") if self.body else None
        if status == 200 and wanted:
            api = self.backend.get_rest_api(json.loads(body)["id"])
            api.binaryMediaTypes = list(wanted)
            body = json.dumps(api.to_dict())
        return status, headers, body

    APIGatewayResponse.create_rest_api = create_rest_api  # type: ignore[method-assign]

    original_patch = RestAPI.apply_patch_operations
    prefix = "/binaryMediaTypes/"

    def apply_patch_operations(self: RestAPI, patch_operations: list[dict]) -> None:
        rest = []
        for op in patch_operations:
            path = op.get("path", "")
            if op.get("op") in ("add", "remove") and path.startswith(prefix) and not op.get("value"):
                media_type = path[len(prefix) :].replace("~1", "/").replace("~0", "~")
                if op["op"] == "add" and media_type not in self.binaryMediaTypes:
                    self.binaryMediaTypes.append(media_type)
                elif op["op"] == "remove" and media_type in self.binaryMediaTypes:
                    self.binaryMediaTypes.remove(media_type)
            else:
                rest.append(op)
        original_patch(self, rest)

    RestAPI.apply_patch_operations = apply_patch_operations  # type: ignore[method-assign]


def _is_tls_only_deny(statement: dict) -> bool:
    condition = statement.get("Condition") or {}
    secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
    return statement.get("Effect") == "Deny" and len(condition) == 1 and secure in ("false", ["false"])


def _ignore_tls_only_denies_on_buckets() -> None:
    """S3: moto evaluates only StringEquals conditions and counts any other operator (Bool) as
    matching (moto/iam/policy_conditions.py), so the payload store's TLS-only Deny
    (`aws:SecureTransport = false`) applied to every object request, and each PutObject and
    GetObject got 403. AWS applies that Deny only to requests without TLS; the local endpoint is
    plain HTTP standing in for TLS, so such a Deny never applies to it. Every other statement of
    the bucket policy is still evaluated by moto."""
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def bucket_permission(self: FakeBucket, action: str, resource: str) -> PermissionResult:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy.decode())
        statements = document["Statement"]
        statements = statements if isinstance(statements, list) else [statements]
        kept = [statement for statement in statements if not _is_tls_only_deny(statement)]
        if not kept:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**document, "Statement": kept})).is_action_permitted(action, resource)

    FakeBucket.get_permission = bucket_permission  # type: ignore[method-assign]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MotoServer:
    """A moto server process and the URL every AWS service endpoint points at."""

    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def reset(self) -> None:
        """Forget every resource (moto's reset API), between independent scenarios."""
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"))


def start(port: int | None = None, log_dir: Path | None = None) -> MotoServer:
    port = port or free_port()
    log_dir = log_dir or Path(os.environ.get("WEBHOOK_INGEST_CACHE", "/tmp")) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"moto-{port}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - handed to the child process
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.harness.moto_server", "--port", str(port)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "false"},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited with {proc.returncode}; see {log_path}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=1)
            return MotoServer(proc, port, log_path)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"moto server did not answer on port {port} within 30 s; see {log_path}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Local AWS account: moto server with Terraform fixes")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    apply_moto_fixes()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    print(f"moto server on http://127.0.0.1:{args.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
