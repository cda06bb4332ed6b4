"""The responder (webhook_processor.responder): endpoint checks answered, everything else queued
exactly as the request template would queue it, and no 200 unless SQS accepted the message.

SQS and Secrets Manager are moto in-process; the template is rendered by tests/harness/vtl.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webhook_processor import handler, responder
from webhook_processor.config import ConfigError, HeaderNames, load_responder_config
from webhook_processor.contract import record_from_sqs_message

from tests.harness import vtl
from tests.harness.gateway import lambda_proxy_event
from tests.harness.strategies import bodies, header_values
from tests.harness.webhook_spec import decode_send_message, request_template
from tools.signing import sign

from .support import SOURCES, install_account, mocked_aws, now_ms

SLACK_SECRET = SOURCES["slack"][1]
ZOOM_SECRET = "zoom-secret-token"
# The template's (and so the responder's) header names per scheme, as responder.tf passes them.
HEADERS = {
    "slack": {"SIGNATURE_HEADER": "x-slack-signature", "TIMESTAMP_HEADER": "x-slack-request-timestamp"},
    "zoom": {"SIGNATURE_HEADER": "x-zm-signature", "TIMESTAMP_HEADER": "x-zm-request-timestamp"},
}
CONTENT_TYPES = {
    "slack": ["application/json", "application/x-www-form-urlencoded"],
    "zoom": ["application/json"],
}


def proxy_event(
    body: str | bytes | None,
    headers: Mapping[str, str] | None = None,
    *,
    request_id: str | None = None,
    epoch_ms: int | None = None,
    source_ip: str = "203.0.113.7",
    base64_encoded: bool = False,
    source: str = "slack",
) -> dict[str, Any]:
    """A REST API proxy event, version 1.0, as API Gateway documents it."""
    headers = dict(headers or {})
    if isinstance(body, bytes):
        body = base64.b64encode(body).decode("ascii") if base64_encoded else body.decode("utf-8")
    return {
        "resource": f"/webhooks/{source}",
        "path": f"/webhooks/{source}",
        "httpMethod": "POST",
        "headers": headers or None,
        "multiValueHeaders": {name: [value] for name, value in headers.items()} or None,
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": f"/webhooks/{source}",
            "httpMethod": "POST",
            "requestId": request_id or str(uuid.uuid4()),
            "requestTimeEpoch": now_ms() if epoch_ms is None else epoch_ms,
            "identity": {"sourceIp": source_ip},
            "stage": "live",
            "apiId": "abc123",
        },
        "body": body,
        "isBase64Encoded": base64_encoded,
    }


def answer_of(result: Mapping[str, Any]) -> tuple[int, Any]:
    assert result["headers"] == {"Content-Type": "application/json"}
    assert result["isBase64Encoded"] is False
    return result["statusCode"], json.loads(result["body"])


class Account:
    """The moto account: the processor's sources and table, a zoom source, the main queue."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.env = install_account(monkeypatch)
        self.sqs = boto3.client("sqs")
        self.queue_url = self.sqs.create_queue(QueueName="webhooks")["QueueUrl"]
        arn = boto3.client("secretsmanager").create_secret(
            Name="webhooks/meetings", SecretString=ZOOM_SECRET
        )["ARN"]
        sources = json.loads(self.env["WEBHOOK_SOURCES"])
        sources["meetings"] = {"scheme": "zoom", "secret_arn": arn, "tolerance_seconds": None}
        self.sources = sources
        monkeypatch.setenv("WEBHOOK_SOURCES", json.dumps(sources))
        handler.reset()

    def responder_env(self, source: str = "slack", **overrides: str) -> dict[str, str]:
        scheme = self.sources[source]["scheme"]
        env = {
            "QUEUE_URL": self.queue_url,
            "SOURCE_NAME": source,
            "WEBHOOK_SOURCES": json.dumps(self.sources),
            "DELIVERY_ID_HEADER": "",
            "EVENT_TYPE_HEADER": "",
            "CONTENT_TYPES": json.dumps(CONTENT_TYPES[scheme]),
            "SECRET_CACHE_TTL_SECONDS": "300",
            "LOG_LEVEL": "INFO",
            **HEADERS[scheme],
        }
        env.update(overrides)
        return env

    def responder(self, source: str = "slack", **overrides: str) -> responder.Responder:
        """The function as Lambda would run it: configured from its environment."""
        for name, value in self.responder_env(source, **overrides).items():
            self.monkeypatch.setenv(name, value)
        responder.reset()
        return responder.get_responder()

    def messages(self, queue_url: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=queue_url or self.queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                self.sqs.delete_message(
                    QueueUrl=queue_url or self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
            found.extend(batch)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    with mocked_aws():
        yield Account(monkeypatch)
    responder.reset()


def slack_check(challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") -> bytes:
    return json.dumps(
        {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification"}
    ).encode()


def zoom_check(plain_token: str = "qgg8vlvZRS6UYooatFL8Aw") -> bytes:
    return json.dumps(
        {
            "payload": {"plainToken": plain_token},
            "event_ts": 1700000000000,
            "event": "endpoint.url_validation",
        }
    ).encode()


def signed(scheme: str, secret: str, body: bytes, *, at_s: int | None = None) -> dict[str, str]:
    headers = sign(scheme, secret, body, timestamp=now_ms() // 1000 if at_s is None else at_s)
    return {"Content-Type": "application/json", **headers}


# --- Slack url_verification ----------------------------------------------------------------------


def test_slack_challenge_is_echoed_and_not_queued(aws: Account) -> None:
    body = slack_check()
    status, answer = answer_of(aws.responder().handle(proxy_event(body, signed("slack", SLACK_SECRET, body))))
    assert (status, answer) == (200, {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    assert aws.messages() == []


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda body: signed("slack", "not-the-signing-secret", body), id="wrong_secret"),
        pytest.param(
            lambda body: signed("slack", SLACK_SECRET, body, at_s=now_ms() // 1000 - 301), id="stale"
        ),
        pytest.param(
            lambda body: signed("slack", SLACK_SECRET, body, at_s=now_ms() // 1000 + 301), id="future"
        ),
        pytest.param(lambda body: signed("slack", SLACK_SECRET, body + b" "), id="other_body"),
        pytest.param(lambda body: {"Content-Type": "application/json"}, id="unsigned"),
        pytest.param(
            lambda body: {
                k: v
                for k, v in signed("slack", SLACK_SECRET, body).items()
                if k != "X-Slack-Request-Timestamp"
            },
            id="no_timestamp",
        ),
    ],
)
def test_forged_or_stale_slack_challenge_is_401_and_not_queued(
    aws: Account, forge: Callable[[bytes], dict[str, str]]
) -> None:
    body = slack_check()
    event = proxy_event(body, forge(body), request_id="req-forged")
    status, answer = answer_of(aws.responder().handle(event))
    assert status == 401
    assert answer == {
        "error": "unauthorized",
        "message": "The request signature could not be verified.",
        "request_id": "req-forged",
    }
    assert "challenge" not in json.dumps(answer)
    assert aws.messages() == []


def test_the_tolerance_is_the_sources(aws: Account) -> None:
    aws.sources["slack"]["tolerance_seconds"] = 30
    body = slack_check()
    late = proxy_event(body, signed("slack", SLACK_SECRET, body, at_s=now_ms() // 1000 - 60))
    assert answer_of(aws.responder().handle(late))[0] == 401


def test_a_challenge_without_a_challenge_is_400(aws: Account) -> None:
    body = b'{"type":"url_verification","token":"x"}'
    status, answer = answer_of(aws.responder().handle(proxy_event(body, signed("slack", SLACK_SECRET, body))))
    assert (status, answer["error"]) == (400, "invalid_body")
    assert aws.messages() == []


# --- Zoom endpoint.url_validation ----------------------------------------------------------------


def test_zoom_validation_answers_the_encrypted_token(aws: Account) -> None:
    body = zoom_check()
    event = proxy_event(body, signed("zoom", ZOOM_SECRET, body), source="meetings")
    status, answer = answer_of(aws.responder("meetings").handle(event))
    assert status == 200
    # openssl dgst -sha256 -hmac 'zoom-secret-token' of the plainToken (tests/unit/test_zoom.py)
    expected = "d9e0d764a78494688ba3f2d5c0ed4ca311394b4834d959759213424d2df961e3"
    assert answer == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}
    assert expected == hmac.new(ZOOM_SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert aws.messages() == []


def test_zoom_validation_with_rotated_secrets_uses_the_one_that_signed(aws: Account) -> None:
    client = boto3.client("secretsmanager")
    client.put_secret_value(SecretId="webhooks/meetings", SecretString=json.dumps(["new-token", ZOOM_SECRET]))
    body = zoom_check("tok-1")
    for secret in ("new-token", ZOOM_SECRET):
        event = proxy_event(body, signed("zoom", secret, body), source="meetings")
        status, answer = answer_of(aws.responder("meetings").handle(event))
        assert status == 200
        assert answer["encryptedToken"] == hmac.new(secret.encode(), b"tok-1", hashlib.sha256).hexdigest()


def test_forged_zoom_validation_is_401_and_not_queued(aws: Account) -> None:
    body = zoom_check()
    event = proxy_event(body, signed("zoom", "guessed-token", body), source="meetings")
    status, answer = answer_of(aws.responder("meetings").handle(event))
    assert (status, answer["error"]) == (401, "unauthorized")
    assert "encryptedToken" not in answer
    assert aws.messages() == []


def test_a_check_for_another_scheme_is_just_an_event(aws: Account) -> None:
    """A Slack source answers no Zoom validation: it is queued, for the processor to verify."""
    body = zoom_check()
    status, answer = answer_of(
        aws.responder().handle(proxy_event(body, {"Content-Type": "application/json"}))
    )
    assert (status, answer["status"]) == (200, "accepted")
    [message] = aws.messages()
    assert message["Body"].encode() == body


def test_no_secret_is_503_and_not_queued(aws: Account) -> None:
    boto3.client("secretsmanager").delete_secret(
        SecretId="webhooks/meetings", ForceDeleteWithoutRecovery=True
    )
    body = zoom_check()
    event = proxy_event(body, signed("zoom", ZOOM_SECRET, body), request_id="req-1", source="meetings")
    status, answer = answer_of(aws.responder("meetings").handle(event))
    assert (status, answer) == (
        503,
        {
            "error": "service_unavailable",
            "message": "The queue is temporarily unavailable; retry later.",
            "request_id": "req-1",
        },
    )
    assert aws.messages() == []


def test_the_secret_is_cached_between_checks(aws: Account) -> None:
    calls: list[str] = []
    responder_ = aws.responder("meetings")
    client = responder.get_responder().secrets
    assert client is responder_.secrets
    boto3_client = responder._secretsmanager()
    boto3_client.meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **kw: calls.append("get")
    )
    body = zoom_check()
    for _ in range(3):
        event = proxy_event(body, signed("zoom", ZOOM_SECRET, body), source="meetings")
        assert answer_of(responder_.handle(event))[0] == 200
    assert calls == ["get"]


def test_a_queued_event_fetches_no_secret(aws: Account) -> None:
    responder_ = aws.responder()
    body = b'{"type":"event_callback","event_id":"Ev1","event":{"type":"message"}}'
    assert answer_of(responder_.handle(proxy_event(body, signed("slack", SLACK_SECRET, body))))[0] == 200
    assert responder._secretsmanager.cache_info().currsize == 0


# --- every other request: queued as the template queues it -------------------------------------


def attributes_of(message: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    return {k: (v["StringValue"], v["DataType"]) for k, v in message.get("MessageAttributes", {}).items()}


def test_an_event_is_queued_byte_exact_with_the_templates_attributes(aws: Account) -> None:
    body = b'{"type":"event_callback","event_id":"Ev1","text":"caf\xc3\xa9 & + = %"}\r\n'
    headers = {**signed("slack", SLACK_SECRET, body), "Content-Type": "application/json; charset=utf-8"}
    event = proxy_event(
        body, headers, request_id="req-7", epoch_ms=1_700_000_000_123, source_ip="2001:db8::1"
    )
    status, answer = answer_of(aws.responder().handle(event))

    assert (status, answer) == (200, {"status": "accepted", "request_id": "req-7"})
    [message] = aws.messages()
    assert message["Body"].encode("utf-8") == body
    assert attributes_of(message) == {
        "source": ("slack", "String"),
        "request_id": ("req-7", "String"),
        "received_at_ms": ("1700000000123", "Number"),
        "source_ip": ("2001:db8::1", "String"),
        "content_type": ("application/json; charset=utf-8", "String"),
        "signature": (headers["X-Slack-Signature"], "String"),
        "signature_timestamp": (headers["X-Slack-Request-Timestamp"], "String"),
    }


def test_a_binary_body_is_queued_as_its_text(aws: Account) -> None:
    body = '{"emoji":"😀"}'.encode()
    event = proxy_event(body, {"content-type": "application/json"}, base64_encoded=True)
    assert answer_of(aws.responder().handle(event))[0] == 200
    [message] = aws.messages()
    assert message["Body"].encode("utf-8") == body


class CapturingSqs:
    """An SQS client that records SendMessage's parameters and accepts the message."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **params: Any) -> dict[str, Any]:
        self.sent.append(params)
        return {"MessageId": str(uuid.uuid4())}


def template_message(
    source: str,
    names: HeaderNames,
    body: str,
    headers: dict[str, str],
    request_id: str,
    epoch_ms: int,
    ip: str,
) -> tuple[str, dict[str, dict[str, str]]]:
    """What API Gateway would send to SQS for the same request (the template, rendered)."""
    template = request_template(
        source,
        signature_header=names.signature,
        timestamp_header=names.timestamp,
        delivery_id_header=names.delivery_id,
        event_type_header=names.event_type,
    )
    context = vtl.make_context(request_id=request_id, request_time_epoch_ms=epoch_ms, source_ip=ip)
    message_body, attributes = decode_send_message(vtl.render(template, vtl.Input(body, headers), context))
    return message_body, {name: {"DataType": kind, "StringValue": value} for name, value, kind in attributes}


NAME_SETS = {
    "slack": HeaderNames(signature="x-slack-signature", timestamp="x-slack-request-timestamp"),
    "zoom": HeaderNames(signature="x-zm-signature", timestamp="x-zm-request-timestamp"),
    # Every header in use, as a source with its own names would have them.
    "all": HeaderNames("x-signature", "x-timestamp", "x-delivery-id", "x-event-type"),
}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.sampled_from(sorted(NAME_SETS)),
    # Bodies the template queues (not empty, no U+FFFD): the others are refused by both (below).
    body=bodies.filter(lambda b: b != "" and "\ufffd" not in b),
    values=st.fixed_dictionaries(
        {
            "signature": header_values,
            "timestamp": header_values,
            "delivery_id": header_values,
            "event_type": header_values,
        }
    ),
    content_type=st.sampled_from(
        ["", "application/json", "application/json; charset=utf-8", "Application/JSON"]
    ),
    spelling=st.sampled_from(["lower", "title", "upper", "twice"]),
    source_ip=st.sampled_from(["203.0.113.7", "2001:db8::1", ""]),
    epoch_ms=st.integers(0, 10**13),
)
def test_the_send_message_request_equals_the_templates(
    names: str,
    body: str,
    values: dict[str, str],
    content_type: str,
    spelling: str,
    source_ip: str,
    epoch_ms: int,
) -> None:
    header_names = NAME_SETS[names]
    headers: dict[str, str] = {}
    for field, value in values.items():
        name = getattr(header_names, field)
        if not name:  # the source reads no such header (and HTTP has no empty header names)
            continue
        if spelling == "twice":  # the same header in two cases: the last one sent counts, on both paths
            headers[name.upper()] = "first-" + value
            headers[name] = value
        else:
            headers[{"lower": name, "title": name.title(), "upper": name.upper()}[spelling]] = value
    headers["X-Unrelated"] = "never an attribute"
    if content_type:
        headers["Content-Type"] = content_type
    request_id = str(uuid.uuid4())

    sqs = CapturingSqs()
    config = load_responder_config(
        {
            "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/webhooks",
            "SOURCE_NAME": "src",
            "WEBHOOK_SOURCES": json.dumps({"src": {"scheme": "slack", "secret_arn": "arn:x"}}),
            "SIGNATURE_HEADER": header_names.signature,
            "TIMESTAMP_HEADER": header_names.timestamp,
            "DELIVERY_ID_HEADER": header_names.delivery_id,
            "EVENT_TYPE_HEADER": header_names.event_type,
        }
    )
    engine = responder.Responder(config, lambda: sqs, secrets=None)  # type: ignore[arg-type]
    event = proxy_event(body, headers, request_id=request_id, epoch_ms=epoch_ms, source_ip=source_ip)
    status, _ = answer_of(engine.handle(event))

    assert status == 200
    [params] = sqs.sent
    expected_body, expected_attributes = template_message(
        "src", header_names, body, headers, request_id, epoch_ms, source_ip
    )
    assert params["QueueUrl"] == config.queue_url
    assert params["MessageBody"] == expected_body
    assert params["MessageBody"].encode("utf-8") == body.encode("utf-8")
    assert params["MessageAttributes"] == expected_attributes


@pytest.mark.parametrize(
    ("body", "binary"),
    [
        (b'{"type":"event_callback","event_id":"Ev2"}', False),
        ('{"text":"caf\u00e9 \U0001f600 & + = %"}'.encode(), False),
        ('{"text":"caf\u00e9"}'.encode(), True),  # a binary media type: base64 in the event
    ],
    ids=["ascii", "utf8", "base64"],
)
def test_the_harness_proxy_event_is_queued_as_the_template_queues_it(body: bytes, binary: bool) -> None:
    """The event as tests/harness/gateway.py builds it for a Lambda proxy method (repeated
    headers included: the last one counts), through the responder and through the template."""
    pairs = [
        ("Content-Type", "application/json"),
        ("X-Slack-Signature", "v0=first"),
        ("x-slack-signature", "v0=second"),
        ("X-Slack-Request-Timestamp", "1700000000"),
        ("Content-Length", str(len(body))),
    ]
    context = vtl.make_context(
        request_id="req-h", request_time_epoch_ms=1_700_000_000_999, source_ip="192.0.2.1"
    )
    event = json.loads(
        json.dumps(
            lambda_proxy_event(
                "/webhooks/src", "/webhooks/src", "POST", pairs, [], {}, {}, context, body, binary
            )
        )
    )
    sqs = CapturingSqs()
    config = load_responder_config(
        {
            "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/webhooks",
            "SOURCE_NAME": "src",
            "WEBHOOK_SOURCES": json.dumps({"src": {"scheme": "slack", "secret_arn": "arn:x"}}),
            **HEADERS["slack"],
        }
    )
    status, _ = answer_of(responder.Responder(config, lambda: sqs, secrets=None).handle(event))  # type: ignore[arg-type]

    assert status == 200
    [params] = sqs.sent
    expected_body, expected_attributes = template_message(
        "src", NAME_SETS["slack"], body.decode(), dict(pairs), "req-h", 1_700_000_000_999, "192.0.2.1"
    )
    assert params["MessageBody"] == expected_body
    assert params["MessageBody"].encode("utf-8") == body
    assert params["MessageAttributes"] == expected_attributes
    assert params["MessageAttributes"]["signature"]["StringValue"] == "v0=second"


def test_a_text_body_that_was_not_utf8_is_400_on_both_paths() -> None:
    """API Gateway hands such a body over with U+FFFD (the harness does too): never queued."""
    context = vtl.make_context(request_id="req-x")
    pairs = [("Content-Type", "application/json")]
    event = lambda_proxy_event("/w", "/w", "POST", pairs, [], {}, {}, context, b'{"a":"\xff"}', False)
    config = load_responder_config(
        {"QUEUE_URL": "q", "SOURCE_NAME": "src", "WEBHOOK_SOURCES": json.dumps({"src": {"scheme": "slack"}})}
    )
    sqs = CapturingSqs()
    status, answer = answer_of(responder.Responder(config, lambda: sqs, secrets=None).handle(event))  # type: ignore[arg-type]
    assert (status, answer["error"], sqs.sent) == (400, "invalid_body", [])
    form = vtl.render(request_template("src"), vtl.Input(event["body"], dict(pairs)), vtl.make_context())
    assert decode_send_message(form)[0] == "\x00"  # the template's marker: SQS refuses it, 400 invalid_body


def test_the_parity_test_sees_attributes() -> None:
    """The property above compares real attributes: the template does emit all nine."""
    headers = {"X-Signature": "s", "x-timestamp": "1", "X-DELIVERY-ID": "d", "x-event-type": "e"}
    headers["Content-Type"] = "application/json"
    _, attributes = template_message("src", NAME_SETS["all"], "{}", headers, "r", 5, "203.0.113.7")
    assert sorted(attributes) == sorted(
        [
            "source",
            "request_id",
            "received_at_ms",
            "source_ip",
            "content_type",
            "delivery_id",
            "signature",
            "signature_timestamp",
            "event_type",
        ]
    )


# --- what is refused ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "base64_encoded", "error"),
    [
        (None, False, "empty_body"),
        ("", False, "empty_body"),
        ('{"a":"\ufffd"}', False, "invalid_body"),  # what API Gateway makes of bytes not UTF-8
        ('{"a":"\x00"}', False, "invalid_body"),  # outside SQS's characters
        (b'{"a":"\xff"}', True, "invalid_body"),  # a binary body that is not UTF-8
    ],
    ids=["null", "empty", "replacement_character", "nul", "binary_not_utf8"],
)
def test_bodies_that_can_never_be_queued_are_400(
    aws: Account, body: str | bytes | None, base64_encoded: bool, error: str
) -> None:
    event = proxy_event(body, {"Content-Type": "application/json"}, base64_encoded=base64_encoded)
    if isinstance(body, bytes):
        event["body"] = base64.b64encode(body).decode()
    status, answer = answer_of(aws.responder().handle(event))
    assert (status, answer["error"]) == (400, error)
    assert answer["request_id"] == event["requestContext"]["requestId"]
    assert aws.messages() == []


def test_a_body_larger_than_the_queue_allows_is_413(aws: Account) -> None:
    small = aws.sqs.create_queue(QueueName="small", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    engine = aws.responder(QUEUE_URL=small)
    status, answer = answer_of(
        engine.handle(proxy_event('"' + "x" * 2000 + '"', {"Content-Type": "application/json"}))
    )
    assert (status, answer["error"]) == (413, "payload_too_large")
    assert answer["message"] == "The request body is larger than the queue accepts."
    assert aws.messages(small) == []
    assert answer_of(engine.handle(proxy_event('"ok"', {"Content-Type": "application/json"})))[0] == 200
    assert len(aws.messages(small)) == 1


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/x-www-form-urlencoded", "application/jsonx"],
)
def test_a_content_type_the_source_does_not_accept_is_415(aws: Account, content_type: str) -> None:
    engine = aws.responder("meetings")  # zoom: application/json only
    status, answer = answer_of(engine.handle(proxy_event('{"a":1}', {"Content-Type": content_type})))
    assert (status, answer["error"]) == (415, "unsupported_media_type")
    assert answer["message"] == "This endpoint does not accept that Content-Type."
    assert aws.messages() == []


@pytest.mark.parametrize("content_type", [None, "application/json", "APPLICATION/JSON; charset=UTF-8"])
def test_accepted_content_types(aws: Account, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    assert answer_of(aws.responder("meetings").handle(proxy_event('{"a":1}', headers)))[0] == 200
    [message] = aws.messages()
    assert ("content_type" in attributes_of(message)) == (content_type is not None)


def test_a_form_body_is_queued_for_a_slack_source(aws: Account) -> None:
    body = b"command=%2Fdeploy&text=now"
    headers = {**signed("slack", SLACK_SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
    assert answer_of(aws.responder().handle(proxy_event(body, headers)))[0] == 200
    assert [m["Body"] for m in aws.messages()] == [body.decode()]


# --- SQS failures: never 200 ----------------------------------------------------------------------


def client_error(code: str, message: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "SendMessage",
    )


class FailingSqs:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def send_message(self, **params: Any) -> dict[str, Any]:
        self.calls += 1
        raise self.error


SQS_FAILURES = {
    "throttled": client_error("ThrottlingException", "Rate exceeded", 400),
    "kms": client_error(
        "KmsAccessDenied", "The ciphertext refers to a customer master key that does not exist", 400
    ),
    "access_denied": client_error("AccessDenied", "Access to the resource is denied", 403),
    "no_queue": client_error(
        "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist", 400
    ),
    "internal": client_error("InternalError", "We encountered an internal error", 500),
    "unavailable": client_error("ServiceUnavailable", "Service is unavailable", 503),
    "unknown_4xx": client_error("SomethingNew", "Message must contain something", 400),
    # A 5xx never becomes the sender's fault, whatever its text says.
    "5xx_with_size_text": client_error("InternalError", "Message must be shorter than 1 bytes", 500),
    "connect_timeout": ConnectTimeoutError(endpoint_url="https://sqs.us-east-1.amazonaws.com"),
    "read_timeout": ReadTimeoutError(endpoint_url="https://sqs.us-east-1.amazonaws.com"),
    "no_connection": EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com"),
    "unexpected": RuntimeError("boom"),
}


@pytest.mark.parametrize("failure", list(SQS_FAILURES))
def test_a_failed_send_is_503(aws: Account, failure: str) -> None:
    sqs = FailingSqs(SQS_FAILURES[failure])
    config = aws.responder().config
    engine = responder.Responder(config, lambda: sqs, secrets=None)  # type: ignore[arg-type]
    event = proxy_event('{"type":"event_callback"}', {"Content-Type": "application/json"}, request_id="req-9")
    status, answer = answer_of(engine.handle(event))
    assert sqs.calls == 1
    assert (status, answer) == (
        503,
        {
            "error": "service_unavailable",
            "message": "The queue is temporarily unavailable; retry later.",
            "request_id": "req-9",
        },
    )


def test_refused_contents_are_400_as_the_template_maps_them(aws: Account) -> None:
    config = aws.responder().config
    refused = client_error("InvalidMessageContents", "Invalid binary character '#x0' was found", 400)
    engine = responder.Responder(config, lambda: FailingSqs(refused), secrets=None)  # type: ignore[arg-type]
    status, answer = answer_of(engine.handle(proxy_event('{"a":1}', {"Content-Type": "application/json"})))
    assert (status, answer["error"]) == (400, "invalid_body")


def test_a_queue_that_does_not_exist_is_503_with_moto(aws: Account) -> None:
    engine = aws.responder(QUEUE_URL=aws.queue_url + "-gone")
    assert answer_of(engine.handle(proxy_event('{"a":1}', {"Content-Type": "application/json"})))[0] == 503


# --- through the processor: Slack's retries --------------------------------------------------------


def test_a_slack_retry_is_a_counted_duplicate_of_the_first_row(aws: Account) -> None:
    engine = aws.responder()
    body = b'{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"app_mention","text":"hi"}}'
    sent = now_ms() // 1000
    first = proxy_event(body, signed("slack", SLACK_SECRET, body, at_s=sent))
    # Slack retries the same body, signed anew, marked with X-Slack-Retry-Num / -Reason.
    retry_headers = {
        **signed("slack", SLACK_SECRET, body, at_s=sent + 60),
        "X-Slack-Retry-Num": "1",
        "X-Slack-Retry-Reason": "http_timeout",
    }
    retry = proxy_event(body, retry_headers, epoch_ms=(sent + 60) * 1000)
    assert [answer_of(engine.handle(e))[0] for e in (first, retry)] == [200, 200]
    messages = aws.messages()
    assert len(messages) == 2

    batch = handler.process_batch(
        {"Records": [record_from_sqs_message(m) for m in sorted(messages, key=_received_at)]}
    )
    assert batch.failures == []
    assert [r.status for r in batch.results] == ["processed", "processed"]
    assert {r.event_id for r in batch.results} == {"slack#Ev08MFMKH6"}
    row = (
        boto3.resource("dynamodb")
        .Table(aws.env["TABLE_NAME"])
        .get_item(Key={"event_id": "slack#Ev08MFMKH6"})["Item"]
    )
    assert row["duplicate_count"] == 1
    assert row["event_type"] == "app_mention"
    assert row["request_id"] == first["requestContext"]["requestId"]
    assert row["duplicate_request_ids"] == {retry["requestContext"]["requestId"]}


def _received_at(message: Mapping[str, Any]) -> int:
    return int(message["MessageAttributes"]["received_at_ms"]["StringValue"])


# --- configuration --------------------------------------------------------------------------------


def _env(**overrides: str) -> dict[str, str]:
    env = {
        "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/webhooks",
        "SOURCE_NAME": "slack",
        "WEBHOOK_SOURCES": json.dumps(
            {
                "slack": {"scheme": "slack", "secret_arn": "arn:s", "tolerance_seconds": 120},
                # Another source's mistake is the processor's to report, not this responder's.
                "broken": {"scheme": "unheard-of"},
            }
        ),
        "SIGNATURE_HEADER": "X-Slack-Signature",
        "TIMESTAMP_HEADER": "x-slack-request-timestamp",
        "CONTENT_TYPES": '["application/json", "Application/X-WWW-Form-Urlencoded; charset=utf-8"]',
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def test_configuration_from_the_environment() -> None:
    config = load_responder_config(_env(SECRET_CACHE_TTL_SECONDS="60", LOG_LEVEL="debug"))
    assert config.source.name == "slack"
    assert (config.source.scheme, config.source.secret_arn, config.source.tolerance_seconds) == (
        "slack",
        "arn:s",
        120,
    )
    assert config.headers == HeaderNames(signature="x-slack-signature", timestamp="x-slack-request-timestamp")
    assert config.content_types == frozenset({"application/json", "application/x-www-form-urlencoded"})
    assert (config.secret_cache_ttl_seconds, config.log_level) == (60, "DEBUG")


def test_content_types_default_to_json() -> None:
    env = _env()
    del env["CONTENT_TYPES"]
    assert load_responder_config(env).content_types == frozenset({"application/json"})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"QUEUE_URL": ""}, "QUEUE_URL is not set"),
        ({"SOURCE_NAME": ""}, "SOURCE_NAME is not set"),
        ({"SOURCE_NAME": "github"}, "'github' is not in the source map"),
        ({"SOURCE_NAME": "broken"}, "scheme must be one of"),
        ({"CONTENT_TYPES": "application/json"}, "CONTENT_TYPES must be a JSON array"),
        ({"CONTENT_TYPES": "[]"}, "CONTENT_TYPES must be a JSON array"),
        ({"SECRET_CACHE_TTL_SECONDS": "soon"}, "SECRET_CACHE_TTL_SECONDS must be a whole number"),
        ({"WEBHOOK_SOURCES": "{nope"}, "WEBHOOK_SOURCES is not valid JSON"),
    ],
)
def test_configuration_errors(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_responder_config(_env(**overrides))


def test_the_source_map_file_is_read(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from webhook_processor import config as config_module

    (tmp_path / "webhook_config").mkdir()
    (tmp_path / "webhook_config" / "sources.json").write_text(
        json.dumps({"z": {"scheme": "zoom", "secret_arn": "a"}})
    )
    monkeypatch.setattr(config_module, "PACKAGE_ROOT", tmp_path)
    env = _env(SOURCE_NAME="z", WEBHOOK_SOURCES_FILE="webhook_config/sources.json")
    del env["WEBHOOK_SOURCES"]
    assert load_responder_config(env).source.scheme == "zoom"


def test_lambda_handler_builds_the_responder_from_the_environment(aws: Account) -> None:
    for name, value in aws.responder_env().items():
        aws.monkeypatch.setenv(name, value)
    responder.reset()
    body = slack_check("c-1")
    result = responder.lambda_handler(proxy_event(body, signed("slack", SLACK_SECRET, body)), None)
    assert answer_of(result) == (200, {"challenge": "c-1"})
    assert responder.get_responder.cache_info().currsize == 1


def test_a_configuration_error_fails_the_invocation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not an answer that blames the sender: the function errs (502), and its alarm fires."""
    monkeypatch.delenv("QUEUE_URL", raising=False)
    responder.reset()
    with pytest.raises(ConfigError, match="QUEUE_URL"):
        responder.lambda_handler(proxy_event('{"a":1}', {}), None)
