"""The templates through the local gateway and moto's SQS: what is queued, and what the sender hears."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness.gateway import LocalGateway, sqs_error_body
from tests.harness.strategies import bodies
from tests.harness.webhook_spec import decode_send_message

GITHUB_HEADERS = {
    "Content-Type": "application/json",
    "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    "X-GitHub-Event": "push",
}

SpecGateway = Callable[..., tuple[LocalGateway, str]]
ReceiveAll = Callable[[str], list[dict[str, Any]]]


@pytest.fixture
def github(spec_gateway: SpecGateway) -> tuple[LocalGateway, str]:
    return spec_gateway("github")


def attributes_of(message: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {k: (v["StringValue"], v["DataType"]) for k, v in message.get("MessageAttributes", {}).items()}


def test_delivery_is_queued_byte_exact_with_attributes(
    spec_gateway: SpecGateway, receive_all: ReceiveAll
) -> None:
    gateway, queue_url = spec_gateway("github")
    body = b'{"zen": "Keep it logically awesome & + = %",  "n": 1.0e0}\r\n'
    response = gateway.post(
        "/webhooks/github",
        body,
        GITHUB_HEADERS,
        source_ip="203.0.113.9",
        request_time_epoch_ms=1_700_000_000_000,
    )

    assert response.status == 200
    assert response.json() == {"status": "accepted", "request_id": response.request_id}
    [message] = receive_all(queue_url)
    assert message["Body"].encode("utf-8") == body
    assert message["MD5OfBody"] == hashlib.md5(body).hexdigest()
    assert attributes_of(message) == {
        "source": ("github", "String"),
        "request_id": (response.request_id, "String"),
        "received_at_ms": ("1700000000000", "Number"),
        "source_ip": ("203.0.113.9", "String"),
        "content_type": ("application/json", "String"),
        "delivery_id": (GITHUB_HEADERS["X-GitHub-Delivery"], "String"),
        "signature": (GITHUB_HEADERS["X-Hub-Signature-256"], "String"),
        "event_type": ("push", "String"),
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    # Not empty (never queued) and without U+FFFD (the mark of undecodable bytes, refused).
    body=bodies.filter(lambda b: b != "" and "\ufffd" not in b),
    event=st.sampled_from(["", "push", "ping"]),
)
def test_any_body_roundtrips_through_sqs(
    github: tuple[LocalGateway, str], receive_all: ReceiveAll, body: str, event: str
) -> None:
    gateway, queue_url = github  # one queue for all examples: each one drains it
    headers = {"content-type": "application/x-www-form-urlencoded", "x-github-event": event}
    response = gateway.post("/webhooks/github", body.encode("utf-8"), headers)

    assert response.status == 200, response
    [message] = receive_all(queue_url)
    assert message["Body"].encode("utf-8") == body.encode("utf-8")
    assert ("event_type" in attributes_of(message)) == (event != "")


def test_body_too_long_for_the_queue_is_413(spec_gateway: SpecGateway, receive_all: ReceiveAll) -> None:
    gateway, queue_url = spec_gateway("github", max_size=1024)
    response = gateway.post("/webhooks/github", b'"' + b"x" * 2000 + b'"', GITHUB_HEADERS)

    assert response.status == 413
    assert response.json()["error"] == "payload_too_large"
    assert response.integration_status == 400
    assert "Message must be shorter than 1024 bytes" in (response.integration_body or "")
    assert receive_all(queue_url) == []


def test_moto_own_too_long_answer_also_maps_to_413(spec_gateway: SpecGateway) -> None:
    """moto's check (body characters only), without the harness's AWS size rule."""
    gateway, _ = spec_gateway("github", max_size=1024)
    gateway.emulate_sqs_validation = False
    response = gateway.post("/webhooks/github", b'"' + b"x" * 2000 + b'"', GITHUB_HEADERS)
    assert (response.status, response.json()["error"]) == (413, "payload_too_large")


def test_attributes_count_towards_the_size_limit(spec_gateway: SpecGateway, receive_all: ReceiveAll) -> None:
    """AWS counts body + attribute names, types and values; a body that fits alone can still be 413."""
    gateway, queue_url = spec_gateway("github", max_size=1024)
    assert gateway.post("/webhooks/github", b'"' + b"x" * 700 + b'"', GITHUB_HEADERS).status == 200
    assert gateway.post("/webhooks/github", b'"' + b"x" * 1000 + b'"', GITHUB_HEADERS).status == 413
    assert len(receive_all(queue_url)) == 1


def test_default_queue_size_limit_one_mib(spec_gateway: SpecGateway, receive_all: ReceiveAll) -> None:
    gateway, queue_url = spec_gateway("stripe")
    near = b"[" + b"1," * 523_500 + b"1]"  # ~1 MiB minus room for the attributes
    headers = {"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=ab"}
    assert gateway.post("/webhooks/stripe", near, headers).status == 200
    assert gateway.post("/webhooks/stripe", b"[" + b"1," * 524_288 + b"1]", headers).status == 413
    [message] = receive_all(queue_url)
    assert message["Body"].encode() == near


def test_characters_sqs_never_accepts_are_400(spec_gateway: SpecGateway, receive_all: ReceiveAll) -> None:
    gateway, queue_url = spec_gateway("github")
    response = gateway.post(
        "/webhooks/github", b'{"a": "\x01"}', {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (response.status, response.json()["error"]) == (400, "invalid_body")
    assert "InvalidMessageContents" in (response.integration_body or "")
    assert receive_all(queue_url) == []


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("length", [{"Content-Length": "0"}, {}], ids=["sent", "added-by-the-harness"])
def test_empty_body_is_400(
    spec_gateway: SpecGateway, receive_all: ReceiveAll, content_type: str, length: dict[str, str]
) -> None:
    """$input.body reads {} (the AWS reading), the validator passes it as {} too, and the template
    recognises the empty body by Content-Length: 0: SQS's MissingParameter, never an event."""
    gateway, queue_url = spec_gateway("github")
    response = gateway.post("/webhooks/github", b"", {"Content-Type": content_type} | length)
    assert (response.status, response.json()["error"]) == (400, "empty_body")
    assert response.integration_status == 400  # the integration refused it, not the validator
    assert decode_send_message(response.integration_request or "")[0] == ""
    assert receive_all(queue_url) == []


def test_an_empty_object_body_is_queued(spec_gateway: SpecGateway, receive_all: ReceiveAll) -> None:
    """A real {} (Content-Length: 2) reads like an empty payload's {} but is an event."""
    gateway, queue_url = spec_gateway("github")
    response = gateway.post("/webhooks/github", b"{}", GITHUB_HEADERS | {"Content-Length": "2"})
    assert (response.status, response.json()["status"]) == (200, "accepted")
    [message] = receive_all(queue_url)
    assert message["Body"] == "{}"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"a": "\xff"}', "application/json"),  # passes the JSON validator as {"a": "\ufffd"}
        (b"payload=%7B%7D&x=\xc3\x28", "application/x-www-form-urlencoded"),
        (b"\xed\xa0\x80", "application/x-www-form-urlencoded"),  # an encoded surrogate
        ('{"a": "\ufffd"}'.encode(), "application/json; charset=utf-8"),  # a literal U+FFFD: the trade-off
    ],
    ids=["json-invalid-byte", "form-truncated-sequence", "form-surrogate", "literal-replacement-character"],
)
def test_a_body_that_is_not_utf8_is_400_and_never_queued(
    spec_gateway: SpecGateway, receive_all: ReceiveAll, body: bytes, content_type: str
) -> None:
    gateway, queue_url = spec_gateway("github")
    response = gateway.post("/webhooks/github", body, {"Content-Type": content_type})
    assert (response.status, response.json()["error"]) == (400, "invalid_body")
    assert "InvalidMessageContents" in (response.integration_body or "")
    assert receive_all(queue_url) == []


@pytest.mark.parametrize("fault", [400, 403, 404, 429, 500, 502, 503, 504])
def test_sqs_failure_is_503_and_nothing_is_queued(
    spec_gateway: SpecGateway, receive_all: ReceiveAll, fault: int
) -> None:
    gateway, queue_url = spec_gateway("github")
    seen: list[str] = []

    def fail(form: str) -> int:
        seen.append(form)
        return fault

    gateway.sqs_fault = fail
    response = gateway.post("/webhooks/github", b"{}", GITHUB_HEADERS)

    assert response.status == 503
    assert response.json() == {
        "error": "service_unavailable",
        "message": response.json()["message"],
        "request_id": response.request_id,
    }
    assert decode_send_message(seen[0])[0] == "{}"  # the hook saw the real form
    assert receive_all(queue_url) == []


@pytest.mark.parametrize("fault", [400, 403, 404, 429])
def test_sqs_4xx_is_503_even_when_the_template_sets_no_status(spec_gateway: SpecGateway, fault: int) -> None:
    """The 4xx integration response is declared 503: its template only ever lowers it, so a
    template that sets nothing (or an override that does not apply) still tells the sender to retry."""
    gateway, _ = spec_gateway("github")
    method = gateway.spec.resources["/webhooks/github"]["POST"]
    (client_error,) = [r for r in method.integration_responses if r.selection_pattern == r"4\d{2}"]
    client_error.response_templates = {"application/json": '{"error":"service_unavailable"}'}
    gateway.sqs_fault = lambda form: fault
    response = gateway.post("/webhooks/github", b"{}", GITHUB_HEADERS)
    assert (response.integration_status, response.status) == (fault, 503)


def test_query_string_cannot_override_scheme_headers(
    spec_gateway: SpecGateway, receive_all: ReceiveAll
) -> None:
    gateway, queue_url = spec_gateway("github")
    headers = {"content-type": "application/json", "x-github-delivery": "real-id", "X-Hub-Signature-256": "s"}
    query = (
        "?X-GitHub-Delivery=forged&x-github-delivery=forged&X-GitHub-Event=forged&Content-Type=text%2Fplain"
    )
    assert gateway.post(f"/webhooks/github{query}", b"{}", headers).status == 200
    [message] = receive_all(queue_url)
    attributes = attributes_of(message)
    assert attributes["delivery_id"] == ("real-id", "String")
    assert attributes["content_type"] == ("application/json", "String")
    assert "event_type" not in attributes  # absent as a header: absent, whatever the query says


def test_missing_queue_is_503(spec_gateway: SpecGateway, sqs: Any) -> None:
    gateway, queue_url = spec_gateway("github")
    sqs.delete_queue(QueueUrl=queue_url)
    response = gateway.post("/webhooks/github", b"{}", GITHUB_HEADERS)
    assert (response.integration_status, response.status) == (400, 503)
    assert "NonExistentQueue" in (response.integration_body or "")


def test_json_protocol_error_bodies_map_too(spec_gateway: SpecGateway) -> None:
    gateway, _ = spec_gateway("github")
    body = '{"__type":"com.amazonaws.sqs#InvalidMessageContents","message":"Invalid binary character"}'
    gateway.sqs_fault = lambda form: (400, body)
    assert gateway.post("/webhooks/github", b"{}", GITHUB_HEADERS).status == 400


@pytest.mark.parametrize("fault", [100, 204, 301, 302, 304, 399, 600])
def test_unmapped_status_is_502_unless_2xx(spec_gateway: SpecGateway, fault: int) -> None:
    gateway, _ = spec_gateway("github")
    gateway.sqs_fault = lambda form: fault
    response = gateway.post("/webhooks/github", b"{}", GITHUB_HEADERS)
    if 200 <= fault < 300:
        assert response.status == 200
    else:
        assert (response.status, response.json()["error"]) == (502, "bad_gateway")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=st.integers(100, 599))
def test_only_sqs_success_answers_2xx(github: tuple[LocalGateway, str], status: int) -> None:
    gateway, _ = github
    gateway.sqs_fault = lambda form: (status, sqs_error_body(status))
    response = gateway.post("/webhooks/github", b"{}", GITHUB_HEADERS)
    assert (200 <= response.status < 300) == (200 <= status < 300)
    assert response.status in {200, 400, 413, 502, 503}


def test_content_type_without_template_is_415(spec_gateway: SpecGateway, receive_all: ReceiveAll) -> None:
    gateway, queue_url = spec_gateway("github")
    response = gateway.post("/webhooks/github", b"hello", {"Content-Type": "text/plain"})
    assert (response.status, response.json()) == (415, {"message": "Unsupported Media Type"})
    assert response.integration_status is None
    assert receive_all(queue_url) == []


CHARSET_SPELLINGS = ("", "; charset=utf-8", ";charset=utf-8", "; charset=UTF-8", ";charset=UTF-8")


@pytest.mark.parametrize("suffix", CHARSET_SPELLINGS)
@pytest.mark.parametrize(
    "base", ["application/json", "Application/JSON", "application/x-www-form-urlencoded"]
)
def test_content_type_parameters_and_case_are_ignored(
    spec_gateway: SpecGateway, base: str, suffix: str
) -> None:
    """The harness selects by media type, case-insensitively (RFC 9110, 8.3.1); parameters dropped."""
    gateway, _ = spec_gateway("github")
    response = gateway.post("/webhooks/github", b"{}", {"content-type": base + suffix})
    assert response.status == 200


def test_template_keys_with_parameters_select_by_media_type(spec_gateway: SpecGateway) -> None:
    """A key that has parameters (as the module's charset spellings do) is read by its media type
    too, so a spec keyed like the module selects the same template for every spelling."""
    gateway, _ = spec_gateway("github")
    method = gateway.spec.resources["/webhooks/github"]["POST"]
    template = method.request_templates["application/json"]
    method.request_templates = {"application/json;charset=UTF-8": template}
    method.request_models = {"application/json; charset=utf-8": method.request_models["application/json"]}
    assert gateway.post("/webhooks/github", b"{}", {"content-type": "application/json"}).status == 200
    assert gateway.post("/webhooks/github", b"{not json", {"content-type": "application/json"}).status == 400
    assert gateway.post("/webhooks/github", b"a=b", {"content-type": "text/plain"}).status == 415


def test_missing_content_type_means_json(spec_gateway: SpecGateway) -> None:
    gateway, _ = spec_gateway("github")
    assert gateway.post("/webhooks/github", b"{not json", {}).status == 400
    assert gateway.post("/webhooks/github", b"{}", {}).status == 200


def test_malformed_json_is_400_before_sqs(spec_gateway: SpecGateway, receive_all: ReceiveAll) -> None:
    gateway, queue_url = spec_gateway("github")
    response = gateway.post("/webhooks/github", b'{"a": ', GITHUB_HEADERS)
    assert (response.status, response.json()) == (400, {"message": "Invalid request body"})
    assert response.integration_status is None
    assert receive_all(queue_url) == []


def test_unknown_path_is_403(spec_gateway: SpecGateway) -> None:
    gateway, _ = spec_gateway("github")
    response = gateway.post("/webhooks/gitlab", b"{}", GITHUB_HEADERS)
    assert (response.status, response.json()) == (403, {"message": "Missing Authentication Token"})
