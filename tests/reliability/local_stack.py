"""The module's resources, made with boto3 on the local moto server as the Terraform makes them.

`terraform apply` is too slow to repeat per stream, so this builds the same account
directly: the queue `<name>` with its DLQ `<name>-dlq` (RedrivePolicy), the history
table `<name>-history` (key and `by_source` GSI of dynamodb.tf), one Secrets Manager
secret per signed source, and the REST API of api.tf, whose request templates are the
real `templates/sqs_send_message.vtl` rendered with `render_terraform_template` using the
variables api.tf passes (header defaults read from main.tf's `scheme_headers`). The local
gateway then reads that API back (`LocalGateway`), like the end-to-end suites do.

The processor is the real `webhook_processor.handler`, in-process, configured through the
environment variables lambda.tf sets (`activate()`), its source map read from the file
`WEBHOOK_SOURCES_FILE` names (lambda.tf's `processor_sources`, written where the zip would
hold it; a test may pass `WEBHOOK_SOURCES` inline instead, which the processor prefers).

Not mirrored: IAM (roles, permissions boundaries) and the queue policies of sqs.tf (moto does
not evaluate policies, so a SendMessage the policy would deny is accepted here; the plan and
apply suites check the policies themselves), access logs, alarms, KMS.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from webhook_processor import handler

from tests.harness import vtl
from tests.harness.gateway import LocalGateway
from tests.harness.history_table import create_history_table

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"
REGION = "us-east-1"
ACCOUNT = "123456789012"
STAGE = "v1"
# var.processor_timeout's default; the pollers' Lambda context uses the same timeout.
PROCESSOR_TIMEOUT_SECONDS = 30

# api.tf: method responses, integration responses (status, selection pattern, template file)
# and the gateway responses (API Gateway's own answers).
METHOD_STATUSES = ("200", "400", "413", "500", "502", "503")
INTEGRATION_RESPONSES = (
    ("200", r"2\d{2}", "response_success.vtl"),
    ("503", r"4\d{2}", "response_client_error.vtl"),
    ("500", r"5\d{2}", "response_server_error.vtl"),
    ("502", None, "response_unmapped.vtl"),
)
GATEWAY_RESPONSES = {
    "BAD_REQUEST_BODY": ("400", "invalid_body", "The request body is not valid for its content type."),
    "UNSUPPORTED_MEDIA_TYPE": (
        "415",
        "unsupported_media_type",
        "This endpoint does not accept that Content-Type.",
    ),
    "REQUEST_TOO_LARGE": ("413", "payload_too_large", "The request body is too large."),
    "THROTTLED": ("429", "throttled", "Too many requests; retry later."),
    "ACCESS_DENIED": ("403", "forbidden", "This sender is not allowed to post here."),
    "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found", "No webhook endpoint at this path and method."),
}
JSON_BODY_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "WebhookJsonBody",
    "type": ["object", "array"],
}


def scheme_content_types_from_main_tf(path: Path = REPO / "main.tf") -> dict[str, tuple[str, ...]]:
    """main.tf's `scheme_content_types` local: the content types a source gets when it leaves
    content_types unset (what each provider really sends)."""
    text = path.read_text(encoding="utf-8")
    block = re.search(r"scheme_content_types\s*=\s*\{(.*?)\n\s*\}\n", text, re.S)
    if block is None:
        raise ValueError(f"{path}: no scheme_content_types local")
    result = {
        scheme: tuple(re.findall(r'"([^"]+)"', types))
        for scheme, types in re.findall(r"^\s*(\w+)\s*=\s*\[([^\]]*)\]", block.group(1), re.M)
    }
    if set(result) != {"stripe", "github", "shopify", "slack", "standard_webhooks", "hmac_sha256", "none"}:
        raise ValueError(f"{path}: unexpected scheme_content_types {sorted(result)}")
    return result


SCHEME_CONTENT_TYPES = scheme_content_types_from_main_tf()
# How an operator may write a signing secret to Secrets Manager (all accepted, docs/message-contract.md).
SECRET_FORMS = ("plain", "quoted", "object")


@dataclass(frozen=True)
class SourceDef:
    """One entry of the module's `sources` input (variables.tf), plus the secret value to store."""

    name: str
    scheme: str
    secret: str | None = None  # the sender's secret (a JSON array: a rotation pair); None for "none"
    signature_header: str | None = None
    signature_encoding: str = "hex"
    signature_prefix: str = ""
    delivery_id_header: str | None = None
    event_type_header: str | None = None
    content_types: tuple[str, ...] = ()  # () = the scheme's default (SCHEME_CONTENT_TYPES)
    timestamp_tolerance_seconds: int = 300
    # Operator faults: how the secret is written (plain, quoted: a JSON string literal with a
    # trailing newline, object: the console's key/value form {"secret": ...}), and whether the
    # operator first writes a wrong value (one character short) that a test fixes later.
    secret_form: str = "plain"
    secret_typo: bool = False

    def __post_init__(self) -> None:
        if not self.content_types:
            object.__setattr__(self, "content_types", SCHEME_CONTENT_TYPES[self.scheme])
        if self.secret_form not in SECRET_FORMS:
            raise ValueError(f"secret_form must be one of {SECRET_FORMS}")

    def secret_string(self) -> str:
        """The SecretString the operator writes once the secret is right."""
        secret = self.secret or ""
        if self.secret_form == "quoted":
            return json.dumps(secret) + "\n"
        if self.secret_form == "object":
            return json.dumps({"secret": json.loads(secret) if secret.startswith("[") else secret})
        return secret

    def initial_secret_string(self) -> str:
        """What is in Secrets Manager when the stack is built (a typo when `secret_typo`)."""
        if self.secret_typo:
            return (self.secret or "x")[:-1]
        return self.secret_string()


# One source per scheme, with every content type a scheme's senders use (the scheme defaults),
# and the operator's secret faults: stripe's secret written as a JSON string literal (what the
# README once advised), slack's and stdwh's as the console's key/value object, and a source
# whose secret is mistyped until the test fixes it and requeues (`late`).
DEFAULT_SOURCES: tuple[SourceDef, ...] = (
    SourceDef("stripe", "stripe", "whsec_reliability_stripe", secret_form="quoted"),
    SourceDef("github", "github", "reliability github secret"),
    SourceDef("shopify", "shopify", "shpss_reliability"),
    SourceDef("slack", "slack", "8f742231b10e8888abcd99yyyzzz85a5", secret_form="object"),
    SourceDef("stdwh", "standard_webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", secret_form="object"),
    SourceDef("late", "stripe", "whsec_reliability_late_fix", secret_typo=True),
    SourceDef(
        "generic",
        "hmac_sha256",
        # A JSON array: two secrets during a rotation, both accepted.
        json.dumps(["generic-new", "generic-old"]),
        signature_header="X-Signature",
        signature_prefix="sha256=",
        delivery_id_header="X-Delivery-Id",
        event_type_header="X-Event-Type",
    ),
    SourceDef(
        "generic_b64",
        "hmac_sha256",
        "generic-b64-secret",
        signature_header="X-Body-Mac",
        signature_encoding="base64",
    ),
    SourceDef(
        "open",
        "none",
        delivery_id_header="X-Delivery-Id",
        event_type_header="X-Event-Type",
        content_types=("application/json", "application/x-www-form-urlencoded", "text/plain"),
    ),
)


# --------------------------------------------------------------------------- Terraform's view


def scheme_headers_from_main_tf(path: Path = REPO / "main.tf") -> dict[str, dict[str, str]]:
    """main.tf's `scheme_headers` local: scheme -> {signature, timestamp, delivery_id, event_type}."""
    text = path.read_text(encoding="utf-8")
    block = re.search(r"scheme_headers\s*=\s*\{(.*?)\n\s*\}\n", text, re.S)
    if block is None:
        raise ValueError(f"{path}: no scheme_headers local")
    result = {}
    for scheme, body in re.findall(r"^\s*(\w+)\s*=\s*\{([^}]*)\}", block.group(1), re.M):
        result[scheme] = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', body))
    if set(result) != {"stripe", "github", "shopify", "slack", "standard_webhooks", "hmac_sha256", "none"}:
        raise ValueError(f"{path}: unexpected scheme_headers {sorted(result)}")
    return result


def _coalesce(*values: str | None) -> str:
    """Terraform's coalesce(): the first argument that is neither null nor ""."""
    return next(value for value in values if value)


def template_variables(source: SourceDef, scheme_headers: dict[str, dict[str, str]]) -> dict[str, str]:
    """The templatefile() variables api.tf passes for `source` (after main.tf's locals; header
    names lower()ed, as the template compares them with lower-cased request header names)."""
    defaults = scheme_headers[source.scheme]
    signature = _coalesce(source.signature_header, defaults["signature"], "-")
    delivery = _coalesce(source.delivery_id_header, defaults["delivery_id"], "-")
    event_type = _coalesce(source.event_type_header, defaults["event_type"], "-")
    return {
        "source": source.name,
        "delivery_id_header": "" if delivery == "-" else delivery.lower(),
        "signature_header": "" if signature == "-" else signature.lower(),
        "timestamp_header": defaults["timestamp"].lower(),
        "event_type_header": "" if event_type == "-" else event_type.lower(),
    }


def request_template(source: SourceDef, scheme_headers: dict[str, dict[str, str]]) -> str:
    variables = template_variables(source, scheme_headers)
    return vtl.render_terraform_template(TEMPLATES / "sqs_send_message.vtl", **variables)


# --------------------------------------------------------------------------- the account

# moto's backends are not thread-safe (SQS rebuilds its message list on delete without
# a lock, so a concurrent send or delete can drop or resurrect a message; DynamoDB's
# condition check and write are separate steps). AWS makes each call atomic, so every
# call this process makes to the moto server takes this lock: calls from concurrent
# senders and pollers interleave, but never overlap inside moto.
AWS_CALL_LOCK = threading.RLock()


def serialize_calls(aws_client: Any) -> Any:
    """Make every HTTP request of a boto3 client hold AWS_CALL_LOCK."""
    session = aws_client._endpoint.http_session
    if not getattr(session, "_reliability_serialized", False):
        send = session.send

        def locked_send(request: Any) -> Any:
            with AWS_CALL_LOCK:
                return send(request)

        session.send = locked_send
        session._reliability_serialized = True
    return aws_client


def serialize_function(function: Callable[..., Any]) -> Callable[..., Any]:
    def locked(*args: Any, **kwargs: Any) -> Any:
        with AWS_CALL_LOCK:
            return function(*args, **kwargs)

    return locked


def client(service: str, endpoint_url: str, region: str = REGION) -> Any:
    return serialize_calls(
        boto3.session.Session().client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
    )


class ReceiptHandleSqs:
    """An SQS client for consumers that applies AWS's receipt-handle rule, which moto does not.

    Each receive of a message gives a new receipt handle, and only the latest one acts on
    the message: an older handle's DeleteMessage "succeeds, but the message might not be
    deleted" and its ChangeMessageVisibility fails (SQS DeleteMessage / visibility timeout
    docs). moto honours every handle a message ever had, so a consumer whose visibility
    timeout expired could still hide or delete a message another consumer now holds.
    """

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self._lock = threading.Lock()
        self._latest: dict[str, str] = {}  # message id -> latest receipt handle
        self._message_of: dict[str, str] = {}  # receipt handle -> message id
        self.stale_operations = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def receive_message(self, **kwargs: Any) -> Any:
        response = self._sqs.receive_message(**kwargs)
        with self._lock:
            for message in response.get("Messages", []):
                self._latest[message["MessageId"]] = message["ReceiptHandle"]
                self._message_of[message["ReceiptHandle"]] = message["MessageId"]
        return response

    def _stale(self, handle: str) -> bool:
        with self._lock:
            message_id = self._message_of.get(handle)
            stale = message_id is not None and self._latest.get(message_id) != handle
            self.stale_operations += stale
            return stale

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        current = [e for e in Entries if not self._stale(e["ReceiptHandle"])]
        response = {"Successful": [{"Id": e["Id"]} for e in Entries if e not in current], "Failed": []}
        if current:
            answer = self._sqs.delete_message_batch(QueueUrl=QueueUrl, Entries=current)
            response["Successful"] += answer.get("Successful", [])
            response["Failed"] += answer.get("Failed", [])
        return response

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        current = [e for e in Entries if not self._stale(e["ReceiptHandle"])]
        failed = [
            {"Id": e["Id"], "SenderFault": True, "Code": "ReceiptHandleIsInvalid", "Message": "expired"}
            for e in Entries
            if e not in current
        ]
        response = {"Successful": [], "Failed": failed}
        if current:
            answer = self._sqs.change_message_visibility_batch(QueueUrl=QueueUrl, Entries=current)
            response["Successful"] += answer.get("Successful", [])
            response["Failed"] += answer.get("Failed", [])
        return response


@dataclass
class LocalStack:
    """One deployed copy of the module on the local account."""

    name: str
    endpoint_url: str
    sources: dict[str, SourceDef]
    max_receive_count: int
    queue_url: str
    dlq_url: str
    table_name: str
    api_id: str
    secret_arns: dict[str, str]
    sqs: Any
    dynamodb: Any
    apigw: Any
    secretsmanager: Any
    gateway: LocalGateway = field(init=False)

    def __post_init__(self) -> None:
        self.gateway = LocalGateway(self.apigw, self.endpoint_url, self.api_id, STAGE, REGION)
        # The gateway calls SQS with its own HTTP session: hold the lock for the whole call.
        self.gateway._call_sqs = serialize_function(self.gateway._call_sqs)  # type: ignore[method-assign]
        self.consumer_sqs = ReceiptHandleSqs(self.sqs)

    # ------------------------------------------------------------------ the processor

    def processor_sources(self) -> dict[str, dict[str, Any]]:
        """lambda.tf's `processor_sources`: the JSON it packages as webhook_config/sources.json."""
        return {
            name: {
                "scheme": s.scheme,
                "secret_arn": self.secret_arns.get(name),
                "tolerance_seconds": s.timestamp_tolerance_seconds,
                "hmac_encoding": s.signature_encoding,
                "hmac_prefix": s.signature_prefix,
            }
            for name, s in self.sources.items()
        }

    def processor_env(self, sources_file: str, **overrides: str) -> dict[str, str]:
        """What lambda.tf puts in the function's environment, plus the SDK's endpoint.

        `sources_file` is the extracted webhook_config/sources.json (an absolute path here;
        relative to the package root in Lambda). A test may pass WEBHOOK_SOURCES inline,
        which the processor prefers to the file.
        """
        return {
            "TABLE_NAME": self.table_name,
            "WEBHOOK_SOURCES_FILE": sources_file,
            "WEBHOOK_SOURCES": "",
            "PROCESSOR_TIMEOUT_SECONDS": str(PROCESSOR_TIMEOUT_SECONDS),
            "HISTORY_RETENTION_DAYS": "90",
            "REJECTED_RETENTION_DAYS": "14",
            "MAX_STORED_BODY_BYTES": "350000",
            "INVALID_BODY_BYTES": "4096",
            "SECRET_CACHE_TTL_SECONDS": "300",
            "LOG_LEVEL": "ERROR",
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            **overrides,
        }

    @contextlib.contextmanager
    def activate(self, **overrides: str) -> Iterator[None]:
        """Point the in-process handler at this stack; restore the environment afterwards."""
        with tempfile.TemporaryDirectory(prefix="processor-root-") as root:
            sources_file = Path(root, "webhook_config", "sources.json")
            sources_file.parent.mkdir()
            sources_file.write_text(json.dumps(self.processor_sources()), encoding="utf-8")
            values = self.processor_env(str(sources_file), **overrides)
            saved = {name: os.environ.get(name) for name in values}
            os.environ.update(values)
            handler.reset()
            serialize_calls(handler._dynamodb())
            serialize_calls(handler._secretsmanager())
            try:
                yield
            finally:
                for name, value in saved.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value
                handler.reset()

    # ------------------------------------------------------------------ reading the account back

    def scan_history(self) -> list[dict[str, Any]]:
        """Every history row, as plain Python values (sets as sets, numbers as int)."""
        rows = []
        for page in self.dynamodb.get_paginator("scan").paginate(
            TableName=self.table_name, ConsistentRead=True
        ):
            rows.extend(plain_item(item) for item in page["Items"])
        return rows

    def peek_queue(self, queue_url: str) -> list[dict[str, Any]]:
        """Every message in the queue: each received once, then made visible again (not deleted)."""
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=600,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            messages.extend(batch)  # two copies of one message would both be listed
        for i in range(0, len(messages), 10):
            self.sqs.change_message_visibility_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for n, m in enumerate(messages[i : i + 10])
                ],
            )
        return messages

    def clear(self) -> None:
        """Empty both queues and the table, for the next scenario on the same stack."""
        for url in (self.queue_url, self.dlq_url):  # not PurgeQueue: once a minute at most
            while batch := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
                self.sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)
                    ],
                )
        for row in self.scan_history():
            self.dynamodb.delete_item(TableName=self.table_name, Key={"event_id": {"S": row["event_id"]}})
        self.consumer_sqs = ReceiptHandleSqs(self.sqs)
        self.gateway.sqs_fault = None
        self.reset_secrets()

    def write_secret(self, source: str, value: str) -> None:
        """`aws secretsmanager put-secret-value`: the operator writes a source's secret."""
        self.secretsmanager.put_secret_value(SecretId=self.secret_arns[source], SecretString=value)

    def fix_secret(self, source: str) -> None:
        """The operator corrects a mistyped secret (the processor sees it once its cache expires)."""
        self.write_secret(source, self.sources[source].secret_string())

    def reset_secrets(self) -> None:
        """Every secret back to what the stack was built with (typos included)."""
        for name in self.secret_arns:
            self.write_secret(name, self.sources[name].initial_secret_string())

    def queue_depth(self, queue_url: str) -> int:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
        return sum(int(attributes.get(name, 0)) for name in names)


def plain_value(value: dict[str, Any]) -> Any:
    """One DynamoDB AttributeValue as plain Python (sets as sets, numbers as int, maps as dicts)."""
    ((kind, raw),) = value.items()
    if kind == "N":
        return int(raw) if re.fullmatch(r"-?\d+", raw) else float(raw)
    if kind == "SS":
        return set(raw)
    if kind == "NULL":
        return None
    if kind == "M":
        return {name: plain_value(inner) for name, inner in raw.items()}
    if kind == "L":
        return [plain_value(inner) for inner in raw]
    return raw


def plain_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: plain_value(value) for name, value in item.items()}


def build_stack(
    endpoint_url: str,
    name: str,
    sources: tuple[SourceDef, ...] = DEFAULT_SOURCES,
    *,
    max_receive_count: int = 3,
    max_message_size: int = 262144,
    visibility_timeout: int = 180,
) -> LocalStack:
    sqs = client("sqs", endpoint_url)
    dynamodb = client("dynamodb", endpoint_url)
    apigw = client("apigateway", endpoint_url)
    secretsmanager = client("secretsmanager", endpoint_url)

    # sqs.tf
    dlq_url = sqs.create_queue(
        QueueName=f"{name}-dlq",
        Attributes={"MessageRetentionPeriod": "1209600", "MaximumMessageSize": str(max_message_size)},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "MaximumMessageSize": str(max_message_size),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count},
                separators=(",", ":"),
            ),
        },
    )["QueueUrl"]

    # dynamodb.tf
    table_name = f"{name}-history"
    create_history_table(dynamodb, table_name)

    # secrets.tf (the operator writes the value)
    secret_arns = {}
    for source in sources:
        if source.scheme != "none":
            arn = secretsmanager.create_secret(
                Name=f"{name}/webhook-signing/{source.name}", SecretString=source.initial_secret_string()
            )["ARN"]
            secret_arns[source.name] = arn

    api_id = _deploy_api(apigw, name, sources)
    return LocalStack(
        name=name,
        endpoint_url=endpoint_url,
        sources={s.name: s for s in sources},
        max_receive_count=max_receive_count,
        queue_url=queue_url,
        dlq_url=dlq_url,
        table_name=table_name,
        api_id=api_id,
        secret_arns=secret_arns,
        sqs=sqs,
        dynamodb=dynamodb,
        apigw=apigw,
        secretsmanager=secretsmanager,
    )


def _deploy_api(apigw: Any, name: str, sources: tuple[SourceDef, ...]) -> str:
    """api.tf, resource by resource."""
    scheme_headers = scheme_headers_from_main_tf()
    api_id = apigw.create_rest_api(
        name=name,
        description=f"Webhook ingestion for {name}: POST /webhooks/{{source}} -> SQS.",
        endpointConfiguration={"types": ["REGIONAL"]},
    )["id"]
    root = next(r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    webhooks = apigw.create_resource(restApiId=api_id, parentId=root["id"], pathPart="webhooks")
    apigw.create_model(
        restApiId=api_id,
        name="WebhookJsonBody",
        description="Any well-formed JSON object or array.",
        contentType="application/json",
        schema=json.dumps(JSON_BODY_SCHEMA),
    )
    validator = apigw.create_request_validator(restApiId=api_id, name="body", validateRequestBody=True)
    response_templates = {
        file: (TEMPLATES / file).read_text(encoding="utf-8") for *_, file in INTEGRATION_RESPONSES
    }

    for source in sources:
        resource = apigw.create_resource(restApiId=api_id, parentId=webhooks["id"], pathPart=source.name)
        ids = {"restApiId": api_id, "resourceId": resource["id"], "httpMethod": "POST"}
        apigw.put_method(
            **ids,
            authorizationType="NONE",
            requestValidatorId=validator["id"],
            requestModels={ct: "WebhookJsonBody" for ct in source.content_types if ct == "application/json"},
        )
        template = request_template(source, scheme_headers)
        apigw.put_integration(
            **ids,
            type="AWS",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{REGION}:sqs:path/{ACCOUNT}/{name}",
            credentials=f"arn:aws:iam::{ACCOUNT}:role/{name}-apigateway",
            requestParameters={
                "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
            },
            requestTemplates=dict.fromkeys(source.content_types, template),
            passthroughBehavior="NEVER",
        )
        for status in METHOD_STATUSES:
            apigw.put_method_response(**ids, statusCode=status, responseModels={"application/json": "Empty"})
        for status, pattern, file in INTEGRATION_RESPONSES:
            apigw.put_integration_response(
                **ids,
                statusCode=status,
                responseTemplates={"application/json": response_templates[file]},
                **({"selectionPattern": pattern} if pattern else {}),
            )
    for response_type, (status, error, message) in GATEWAY_RESPONSES.items():
        apigw.put_gateway_response(
            restApiId=api_id,
            responseType=response_type,
            statusCode=status,
            responseTemplates={
                "application/json": json.dumps(
                    {"error": error, "message": message, "request_id": "$context.requestId"}
                )
            },
        )
    apigw.create_deployment(restApiId=api_id, stageName=STAGE, description=f"Webhook API for {name}")
    return api_id
