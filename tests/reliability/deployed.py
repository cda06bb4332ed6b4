"""examples/complete as Terraform applied it, seen from the reliability suite.

The suite applies the example once per session (conftest.py) on a moto server of its own
and drives every stream and scenario through what the apply made: the REST API read back by
`LocalGateway`, the main queue and DLQ with the RedrivePolicy of sqs.tf, the history table of
dynamodb.tf, the secrets of secrets.tf, the event topic with each consumer's queue,
subscription and filter policy (moto does the SNS -> SQS fan-out itself), and the processor:
the real `webhook_processor.handler`, in-process, with the environment and the sources file
read back from the deployed function (its zip checked against CodeSha256).

Between scenarios `clear()` resets the data, never the resources: queues purged, rows
deleted, every secret rewritten with PutSecretValue as the operator wrote it. An operator
fault on a secret (a mistyped value, a quoted one, a key/value object) is a PutSecretValue
on the applied secret.

Sources with payload_store = "s3" (monorepo, exports) are served by the second REST API,
`<name>-payloads` (payload_api.tf), read back by a second `LocalGateway`: its method writes
the body to the payload store (S3 PutObject, run by the gateway against moto's S3), and the
bucket's notification, sent by moto itself, is the message on the main queue.

Not exercised here: IAM and the queue policies (moto stores but does not evaluate them; the
apply suite reads them back), access logs, alarms, KMS, and the consumers' functions (the
stream reads the consumer queues itself; tests/apply/test_consumers_e2e.py runs them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from webhook_processor import handler

from tests.apply.scenarios import SECRETS
from tests.harness.account import Account
from tests.harness.driver import deployed_function, processor_environment, read_packaged_file
from tests.harness.gateway import LocalGateway

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
OCTET_STREAM = "application/octet-stream"
# How an operator may write a signing secret to Secrets Manager (all accepted, docs/message-contract.md).
SECRET_FORMS = ("plain", "quoted", "object")


@dataclass(frozen=True)
class SourceDef:
    """One source of examples/complete as its sender knows it: scheme, secret and headers."""

    name: str
    scheme: str
    secret: str | None = None  # the sender's secret (a JSON array: a rotation pair); None for "none"
    signature_header: str | None = None
    signature_encoding: str = "hex"
    signature_prefix: str = ""
    delivery_id_header: str | None = None
    event_type_header: str | None = None
    content_types: tuple[str, ...] = (JSON,)  # from the deployed API once applied
    timestamp_tolerance_seconds: int = 300
    # "queue" (the body in the SQS message) or "s3" (the edge writes it to the payload store);
    # checked against the deployed source map.
    payload_store: str = "queue"
    # How the operator writes the secret: plain, quoted (a JSON string literal with a trailing
    # newline: what the README once advised), object (the console's key/value form).
    secret_form: str = "plain"

    def __post_init__(self) -> None:
        if self.secret_form not in SECRET_FORMS:
            raise ValueError(f"secret_form must be one of {SECRET_FORMS}")

    def secret_string(self) -> str:
        """The SecretString the operator writes when the secret is right."""
        return self._written(self.secret or "")

    def mistyped_secret_string(self) -> str:
        """The operator's typo: one character of the value wrong (of each value of a rotation
        pair), written in the source's usual form. The length stays, so a base64 key still
        decodes (to another key) and the events are rejected, not refused as unusable."""
        secret = self.secret or "x"
        if secret.startswith("["):
            return self._written(json.dumps([_typo(value) for value in json.loads(secret)]))
        return self._written(_typo(secret))

    def _written(self, secret: str) -> str:
        if self.secret_form == "quoted":
            return json.dumps(secret) + "\n"
        if self.secret_form == "object":
            return json.dumps({"secret": json.loads(secret) if secret.startswith("[") else secret})
        return secret

    @property
    def s3(self) -> bool:
        return self.payload_store == "s3"


def _typo(value: str) -> str:
    middle = len(value) // 2
    return value[:middle] + ("B" if value[middle] == "A" else "A") + value[middle + 1 :]


# The senders of examples/complete's sources: the secrets they sign with (tests/apply/scenarios.py,
# written by the suite), the headers they send and how the operator stored each secret. stripe's
# secret is written quoted, slack's and billing's as the console's key/value object, partner's
# as a rotation pair (a JSON array: both secrets verify). `AppliedStack.check_senders` compares
# scheme, encoding and prefix with the deployed function's source map.
SENDERS: tuple[SourceDef, ...] = (
    SourceDef("stripe", "stripe", SECRETS["stripe"], secret_form="quoted"),
    SourceDef("github", "github", SECRETS["github"]),
    SourceDef("shopify", "shopify", SECRETS["shopify"]),
    SourceDef("slack", "slack", SECRETS["slack"], secret_form="object"),
    SourceDef("billing", "standard_webhooks", SECRETS["billing"], secret_form="object"),
    SourceDef(
        "partner",
        "hmac_sha256",
        json.dumps([SECRETS["partner"] + "-next", SECRETS["partner"]]),
        signature_header="X-Partner-Signature",
        signature_encoding="base64",
        signature_prefix="sha256=",
        delivery_id_header="X-Partner-Delivery",
        event_type_header="X-Partner-Event",
    ),
    SourceDef("internal", "none"),
    # payload_store = "s3": any bytes up to API Gateway's 10 MB, on the payloads API. They take
    # any Content-Type (no template): the content types are the ones their senders send.
    SourceDef("monorepo", "github", SECRETS["monorepo"], content_types=(JSON, FORM), payload_store="s3"),
    SourceDef(
        "exports",
        "hmac_sha256",
        SECRETS["exports"],
        signature_header="X-Export-Signature",
        delivery_id_header="X-Export-Id",
        content_types=(JSON, OCTET_STREAM),
        payload_store="s3",
    ),
)
SENDER_BY_NAME = {s.name: s for s in SENDERS}

# The headers of each scheme (main.tf's scheme_headers), by the object metadata name the
# payloads API copies each into (x-amz-meta-<name>, payload_api.tf).
SCHEME_HEADERS: dict[str, dict[str, str]] = {
    "stripe": {"signature": "Stripe-Signature"},
    "github": {
        "signature": "X-Hub-Signature-256",
        "delivery-id": "X-GitHub-Delivery",
        "event-type": "X-GitHub-Event",
    },
    "shopify": {
        "signature": "X-Shopify-Hmac-Sha256",
        "delivery-id": "X-Shopify-Webhook-Id",
        "event-type": "X-Shopify-Topic",
    },
    "slack": {"signature": "X-Slack-Signature", "signature-timestamp": "X-Slack-Request-Timestamp"},
    "standard_webhooks": {
        "signature": "webhook-signature",
        "signature-timestamp": "webhook-timestamp",
        "delivery-id": "webhook-id",
    },
    "hmac_sha256": {},
    "none": {},
}


def metadata_headers(source: SourceDef) -> dict[str, str]:
    """x-amz-meta-<name> -> the request header the payloads API copies into it, for `source`."""
    headers = dict(SCHEME_HEADERS[source.scheme])
    for meta, header in (
        ("signature", source.signature_header),
        ("delivery-id", source.delivery_id_header),
        ("event-type", source.event_type_header),
    ):
        if header:
            headers[meta] = header
    return headers


# --------------------------------------------------------------------------- moto and threads

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


class ReceiptHandleSqs:
    """An SQS client for consumers that applies AWS's receipt-handle rule, which moto does not.

    Each receive of a message gives a new receipt handle, and only the latest one acts on
    the message: an older handle's DeleteMessage "succeeds, but the message might not be
    deleted" and its ChangeMessageVisibility fails (SQS DeleteMessage / visibility timeout
    docs: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html).
    moto honours every handle a message ever had, so a consumer whose visibility timeout
    expired could still hide or delete a message another consumer now holds.
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


# --------------------------------------------------------------------------- consumers


@dataclass(frozen=True)
class Consumer:
    """One entry of the applied `consumers` output: its queues and the filter SNS applies."""

    name: str
    queue_url: str
    dlq_url: str
    filter_policy: dict[str, Any] | None  # None: every event
    filter_policy_scope: str  # MessageAttributes | MessageBody

    @classmethod
    def from_output(cls, name: str, value: dict[str, Any]) -> Consumer:
        raw = value.get("filter_policy")
        policy = json.loads(raw) if isinstance(raw, str) and raw.strip() else raw
        return cls(
            name=name,
            queue_url=value["queue_url"],
            dlq_url=value["dead_letter_queue_url"],
            filter_policy=policy or None,
            filter_policy_scope=value.get("filter_policy_scope") or "MessageAttributes",
        )


@dataclass(frozen=True)
class Delivered:
    """One message a consumer queue received (its copy of an event's envelope)."""

    consumer: str
    where: str  # queue | dlq
    message_id: str
    body: str
    attributes: dict[str, str]  # SQS message attributes (String values)


# --------------------------------------------------------------------------- the stack


@dataclass
class AppliedStack:
    """examples/complete applied on the suite's local account."""

    account: Account
    outputs: dict[str, Any]
    package: Path  # the processor zip the apply deployed (checked against CodeSha256)
    sqs: Any = field(init=False)
    dynamodb: Any = field(init=False)
    secretsmanager: Any = field(init=False)
    gateway: LocalGateway = field(init=False)
    payload_gateway: LocalGateway | None = field(init=False)  # the payloads API (s3 sources)
    sources: dict[str, SourceDef] = field(init=False)
    consumers: dict[str, Consumer] = field(init=False)

    def __post_init__(self) -> None:
        out = self.outputs
        assert self.account.endpoint_url is not None, "the reliability suite runs on the local account"
        self.endpoint_url = self.account.endpoint_url
        self.region = self.account.region
        self.sqs = serialize_calls(self.account.client("sqs"))
        self.dynamodb = serialize_calls(self.account.client("dynamodb"))
        self.secretsmanager = serialize_calls(self.account.client("secretsmanager"))
        self.queue_url: str = out["queue_url"]
        self.dlq_url: str = out["dead_letter_queue_url"]
        self.table_name: str = out["history_table_name"]
        self.secret_arns: dict[str, str] = dict(out["secret_arns"])
        self.function_name: str = out["processor_function_name"]
        self.max_receive_count = json.loads(
            self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"])[
                "Attributes"
            ]["RedrivePolicy"]
        )["maxReceiveCount"]
        self.max_message_size = int(
            self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["MaximumMessageSize"])[
                "Attributes"
            ]["MaximumMessageSize"]
        )
        self.gateway = LocalGateway(
            self.account.client("apigateway"),
            self.endpoint_url,
            out["rest_api_id"],
            out["stage_name"],
            self.region,
        )
        # The gateway calls SQS with its own HTTP session: hold the lock for the whole call.
        self.gateway._call_sqs = serialize_function(self.gateway._call_sqs)  # type: ignore[method-assign]
        self.payload_bucket: str | None = out.get("payload_bucket_name")
        self.payload_gateway = None
        payload_api_id = out.get("payload_rest_api_id") or _payload_api_from_urls(out)
        if payload_api_id:
            self.payload_gateway = LocalGateway(
                self.account.client("apigateway"),
                self.endpoint_url,
                payload_api_id,
                out["stage_name"],
                self.region,
                # A split account (tests/localstack) keeps S3 on moto: the PutObject goes there.
                s3_endpoint_url=getattr(self.account, "url_of", lambda _: self.endpoint_url)("s3"),
            )
            # Its PutObject (and the notification moto sends from inside it) holds the lock too.
            self.payload_gateway._call_s3 = serialize_function(self.payload_gateway._call_s3)  # type: ignore[method-assign]
        self.s3 = serialize_calls(self.account.client("s3"))
        config = deployed_function(self.account, self.function_name, self.package)
        self.function_env: dict[str, str] = dict(config["Environment"]["Variables"])
        sources_file = self.function_env["WEBHOOK_SOURCES_FILE"]
        self._sources_json = read_packaged_file(self.package, sources_file)
        self.sources = self._sender_sources()
        # The filters come from what the apply made (the `consumers` output), never re-declared.
        self.consumers = {name: Consumer.from_output(name, value) for name, value in out["consumers"].items()}
        if not self.consumers or not self.function_env.get("EVENT_TOPIC_ARN"):
            raise AssertionError("examples/complete applied without consumers or without the event topic")
        self.consumer_sqs = ReceiptHandleSqs(self.sqs)
        self.inbox: dict[str, list[Delivered]] = defaultdict(list)
        self._inbox_lock = threading.Lock()

    # ------------------------------------------------------------------ what was deployed

    def processor_sources(self) -> dict[str, dict[str, Any]]:
        """The deployed function's source map (webhook_config/sources.json in its zip)."""
        return json.loads(self._sources_json)

    def gateway_for(self, path: str) -> LocalGateway:
        """The API that serves `path`: the payloads API when it has the resource (s3 sources)."""
        resource = path.split("?", 1)[0]
        if self.payload_gateway is not None and resource in self.payload_gateway.spec.resources:
            return self.payload_gateway
        return self.gateway

    def _sender_sources(self) -> dict[str, SourceDef]:
        """SENDERS, with the content types and tolerances the apply deployed; a sender whose
        scheme, encoding, prefix or payload store differs from the deployed source map is a
        broken suite."""
        deployed = self.processor_sources()
        if sorted(deployed) != sorted(SENDER_BY_NAME):
            raise AssertionError(
                f"examples/complete's sources {sorted(deployed)} != SENDERS {sorted(SENDER_BY_NAME)}"
            )
        result = {}
        for name, sender in SENDER_BY_NAME.items():
            config = deployed[name]
            mine = (sender.scheme, sender.signature_encoding, sender.signature_prefix, sender.payload_store)
            theirs = (
                config["scheme"],
                config.get("hmac_encoding", "hex"),
                config.get("hmac_prefix", ""),
                config.get("payload_store", "queue"),
            )
            if mine != theirs:
                raise AssertionError(
                    f"{name}: the sender signs as {mine}, the deployed processor verifies {theirs}"
                )
            if sender.s3:
                self._check_payload_method(sender)
                result[name] = dataclasses.replace(
                    sender, timestamp_tolerance_seconds=int(config["tolerance_seconds"])
                )
                continue
            method = self.gateway.spec.resources[f"/webhooks/{name}"]["POST"]
            template = next(iter(method.request_templates.values()))
            for header in (sender.signature_header, sender.delivery_id_header, sender.event_type_header):
                # api.tf renders each header name lower()ed into a comparison: '<name>'.
                if header and f"== '{header.lower()}'" not in template:
                    raise AssertionError(f"{name}: the deployed request template does not read {header}")
            result[name] = dataclasses.replace(
                sender,
                # The media types, without the charset spellings api.tf also keys templates by
                # (the stream sends those spellings itself: stream.CHARSET_SPELLINGS).
                content_types=tuple(ct for ct in method.request_templates if ";" not in ct),
                timestamp_tolerance_seconds=int(config["tolerance_seconds"]),
            )
        return result

    def _check_payload_method(self, sender: SourceDef) -> None:
        """An s3 source's method (payload_api.tf) has no template: its integration must be the
        PutObject of ingest/<source>/{key} whose metadata names the sender's headers."""
        path = f"/webhooks/{sender.name}"
        if self.payload_gateway is None or path not in self.payload_gateway.spec.resources:
            raise AssertionError(f"{sender.name}: payload_store = s3, but the payloads API has no {path}")
        if path in self.gateway.spec.resources:
            raise AssertionError(f"{sender.name}: an s3 source is on the queue API too")
        method = self.payload_gateway.spec.resources[path]["POST"]
        if method.request_templates:
            raise AssertionError(f"{sender.name}: the payloads method has request templates")
        expected_uri = f":s3:path/{self.payload_bucket}/ingest/{sender.name}/{{key}}"
        if method.integration_http_method != "PUT" or not method.integration_uri.endswith(expected_uri):
            raise AssertionError(
                f"{sender.name}: integration {method.integration_http_method} {method.integration_uri}, "
                f"expected PUT ...{expected_uri}"
            )
        params = method.integration_request_parameters
        expected = {
            "integration.request.path.key": "context.requestId",
            "integration.request.header.x-amz-meta-source": f"'{sender.name}'",
            "integration.request.header.x-amz-meta-request-id": "context.requestId",
        }
        for meta, header in metadata_headers(sender).items():
            expected[f"integration.request.header.x-amz-meta-{meta}"] = f"method.request.header.{header}"
        wrong = {k: (params.get(k), v) for k, v in expected.items() if params.get(k) != v}
        if wrong:
            raise AssertionError(f"{sender.name}: the payloads integration maps (deployed, sender): {wrong}")

    def ingest_keys(self) -> list[str]:
        """Every object the payloads API wrote (ingest/<source>/<request id>)."""
        if not self.payload_bucket:
            return []
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.payload_bucket, Prefix="ingest/"
        )
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def reconfigure_notification(self) -> None:
        """The bucket's notification configuration put again as applied (what a re-apply does):
        S3 sends its s3:TestEvent to the main queue, which the processor must ignore."""
        if not self.payload_bucket:
            return
        config = self.s3.get_bucket_notification_configuration(Bucket=self.payload_bucket)
        config.pop("ResponseMetadata", None)
        self.s3.put_bucket_notification_configuration(
            Bucket=self.payload_bucket, NotificationConfiguration=config
        )

    # ------------------------------------------------------------------ the processor

    @contextlib.contextmanager
    def activate(self, **overrides: str) -> Iterator[None]:
        """The in-process handler configured as the deployed function (its environment, its
        sources file extracted from the zip); `overrides` replace variables (a test may pass
        WEBHOOK_SOURCES inline, which the processor prefers to the file)."""
        with tempfile.TemporaryDirectory(prefix="processor-root-") as root:
            env = dict(self.function_env)
            target = Path(root, env["WEBHOOK_SOURCES_FILE"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self._sources_json)
            env["WEBHOOK_SOURCES_FILE"] = str(target)
            # The processor logs every record at INFO; nothing here reads those lines, and
            # formatting tens of thousands of them into pytest's capture is most of a soak's time.
            env["LOG_LEVEL"] = "ERROR"
            env.update(overrides)
            with processor_environment(self.account, env):
                handler.reset()
                serialize_calls(handler._dynamodb())
                serialize_calls(handler._secretsmanager())
                if env.get("EVENT_TOPIC_ARN"):
                    serialize_calls(handler._sns())
                if env.get("PAYLOAD_BUCKET"):
                    serialize_calls(handler._s3())
                yield

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

    def collect_consumer_messages(self, *, dead_letters: bool = True) -> int:
        """What each consumer's team does: receive and delete everything in its queue (and its
        DLQ), kept in `inbox` for the check. Draining as the stream runs keeps the queues short
        (moto's SQS costs O(messages in the queue) per call)."""
        collected = 0
        for consumer in self.consumers.values():
            queues = [("queue", consumer.queue_url)] + [("dlq", consumer.dlq_url)] * dead_letters
            for where, url in queues:
                while batch := self.sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
                ).get("Messages"):
                    delivered = [
                        Delivered(
                            consumer.name,
                            where,
                            m["MessageId"],
                            m["Body"],
                            {
                                k: v.get("StringValue", "")
                                for k, v in (m.get("MessageAttributes") or {}).items()
                            },
                        )
                        for m in batch
                    ]
                    with self._inbox_lock:
                        self.inbox[consumer.name].extend(delivered)
                    self.sqs.delete_message_batch(
                        QueueUrl=url,
                        Entries=[
                            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)
                        ],
                    )
                    collected += len(batch)
        return collected

    def queue_depth(self, queue_url: str) -> int:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
        return sum(int(attributes.get(name, 0)) for name in names)

    # ------------------------------------------------------------------ the operator

    def write_secret(self, source: str, value: str) -> None:
        """`aws secretsmanager put-secret-value`: the operator writes a source's secret."""
        self.secretsmanager.put_secret_value(SecretId=self.secret_arns[source], SecretString=value)

    def fix_secret(self, source: str) -> None:
        """The operator writes the right value (the processor sees it once its cache expires)."""
        self.write_secret(source, self.sources[source].secret_string())

    def mistype_secret(self, source: str) -> None:
        """The operator writes a wrong value (one character mistyped)."""
        self.write_secret(source, self.sources[source].mistyped_secret_string())

    def reset_secrets(self) -> None:
        for name in self.secret_arns:
            self.fix_secret(name)

    def clear(self) -> None:
        """The data back to empty for the next scenario: the resources stay as applied."""
        urls = [self.queue_url, self.dlq_url]
        urls += [url for c in self.consumers.values() for url in (c.queue_url, c.dlq_url)]
        for url in urls:
            # Not PurgeQueue first: once a minute per queue at most (AWS's rule, which moto keeps).
            # WaitTimeSeconds=0: the consumer queues long-poll (20 s) by default.
            while batch := self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages"):
                self.sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)
                    ],
                )
            if self.queue_depth(url):
                # In flight: a failed scenario left messages invisible. Purging drops them too.
                with contextlib.suppress(self.sqs.exceptions.PurgeQueueInProgress):
                    self.sqs.purge_queue(QueueUrl=url)
        tables = [self.table_name]
        if self.outputs.get("payments_seen_table_name"):
            tables.append(self.outputs["payments_seen_table_name"])
        for table in tables:
            key_names = [
                k["AttributeName"]
                for k in self.dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
            ]
            keys = [
                {name: item[name] for name in key_names}
                for page in self.dynamodb.get_paginator("scan").paginate(
                    TableName=table, ProjectionExpression=", ".join(key_names)
                )
                for item in page["Items"]
            ]
            for i in range(0, len(keys), 25):
                requests = [{"DeleteRequest": {"Key": key}} for key in keys[i : i + 25]]
                while requests:
                    answer = self.dynamodb.batch_write_item(RequestItems={table: requests})
                    requests = answer.get("UnprocessedItems", {}).get(table, [])
        self.consumer_sqs = ReceiptHandleSqs(self.sqs)
        self.inbox = defaultdict(list)
        self.gateway.sqs_fault = None
        if self.payload_gateway is not None:
            self.payload_gateway.s3_fault = None
        # The objects the payloads API wrote (the reconciliation accounts for each one).
        keys = self.ingest_keys()
        for i in range(0, len(keys), 1000):
            self.s3.delete_objects(
                Bucket=self.payload_bucket,
                Delete={"Objects": [{"Key": key} for key in keys[i : i + 1000]], "Quiet": True},
            )
        self.reset_secrets()


def _payload_api_from_urls(outputs: dict[str, Any]) -> str | None:
    """The payloads API's id from `webhook_urls` (https://<id>.execute-api...), for a root
    module that does not pass payload_rest_api_id through (examples/complete did not)."""
    for url in (outputs.get("webhook_urls") or {}).values():
        api_id = urlsplit(str(url)).hostname or ""
        api_id = api_id.split(".", 1)[0]
        if api_id and api_id != outputs.get("rest_api_id"):
            return api_id
    return None


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
