"""Event ids and event types per scheme."""

from __future__ import annotations

import hashlib
import json

import pytest
from webhook_processor.event_fields import (
    BODY_HASH_SCHEMES,
    delivery_id,
    event_id,
    event_type,
    key_part,
    request_event_id,
    scheme_event_id,
)
from webhook_processor.validation import validate_body

FORM = "application/x-www-form-urlencoded"


def _parsed(body: str, content_type: str | None = "application/json"):
    return validate_body(body, content_type).parsed


def test_event_id_prefers_the_delivery_id() -> None:
    assert event_id("gh", "72d3162e-cc78-11e3", b"{}") == "gh#72d3162e-cc78-11e3"


def test_event_id_falls_back_to_the_body_hash() -> None:
    body = b'{"type":"ping"}'
    assert event_id("open", None, body) == f"open#sha256:{hashlib.sha256(body).hexdigest()}"
    assert event_id("open", None, body) == event_id("open", "", body)


@pytest.mark.parametrize("scheme", ["github", "shopify", "hmac_sha256"])
def test_unsigned_delivery_id_schemes_always_use_the_body_hash(scheme: str) -> None:
    """Their delivery id is an unsigned header and no timestamp is signed: a captured request
    replayed under fresh delivery ids must collide with the first one."""
    body = b'{"action":"opened"}'
    expected = f"src#sha256:{hashlib.sha256(body).hexdigest()}"
    assert scheme_event_id(scheme, "src", "delivery-1", body) == expected
    assert scheme_event_id(scheme, "src", "delivery-2", body) == expected
    assert scheme_event_id(scheme, "src", None, body) == expected
    assert scheme in BODY_HASH_SCHEMES


@pytest.mark.parametrize("scheme", ["stripe", "slack", "standard_webhooks", "none"])
def test_signed_or_body_delivery_ids_stay_the_event_id(scheme: str) -> None:
    body = b"{}"
    assert scheme_event_id(scheme, "src", "evt_1", body) == "src#evt_1"
    assert scheme_event_id(scheme, "src", None, body) == f"src#sha256:{hashlib.sha256(body).hexdigest()}"


def test_request_event_id() -> None:
    assert request_event_id("stripe", "c0ffee") == "stripe#request:c0ffee"


def test_long_key_parts_are_hashed_to_fit_a_key() -> None:
    long_id = "x" * 5000
    key = event_id("src", long_id, b"")
    assert key == "src#sha256-id:" + hashlib.sha256(long_id.encode()).hexdigest()
    assert key_part("short") == "short"
    assert len(request_event_id("s" * 3000, "r" * 3000).encode()) < 2048


@pytest.mark.parametrize(
    ("scheme", "header", "body", "expected"),
    [
        ("stripe", None, '{"id":"evt_123","type":"x"}', "evt_123"),
        ("stripe", None, '{"id":123}', None),
        ("slack", None, '{"event_id":"Ev01","type":"event_callback"}', "Ev01"),
        ("github", None, '{"id":"not-used"}', None),
        ("github", "72d3162e", '{"id":"not-used"}', "72d3162e"),
        ("standard_webhooks", "msg_1", '{"id":"x"}', "msg_1"),
        ("stripe", "hdr", '{"id":"evt_1"}', "hdr"),
    ],
)
def test_delivery_id(scheme: str, header: str | None, body: str, expected: str | None) -> None:
    assert delivery_id(scheme, header, _parsed(body)) == expected


@pytest.mark.parametrize(
    ("scheme", "header", "body", "content_type", "expected"),
    [
        (
            "stripe",
            None,
            '{"type":"invoice.paid","data":{"object":{"type":"card"}}}',
            "application/json",
            "invoice.paid",
        ),
        ("stripe", "ignored", '{"data":{"type":"nested"}}', "application/json", "unknown"),
        ("standard_webhooks", None, '{"type":"user.created"}', "application/json", "user.created"),
        ("github", "push", '{"type":"body-type-ignored"}', "application/json", "push"),
        ("github", None, '{"type":"x"}', "application/json", "unknown"),
        ("shopify", "orders/create", "{}", "application/json", "orders/create"),
        (
            "slack",
            None,
            '{"type":"event_callback","event":{"type":"app_mention"}}',
            "application/json",
            "app_mention",
        ),
        (
            "slack",
            None,
            '{"type":"url_verification","challenge":"c"}',
            "application/json",
            "url_verification",
        ),
        ("slack", None, '{"type":"event_callback","event":"str"}', "application/json", "event_callback"),
        ("slack", None, "command=%2Fdeploy&text=now", FORM, "slash_command"),
        ("slack", None, "payload=" + json.dumps({"type": "block_actions"}), FORM, "block_actions"),
        ("slack", None, "payload=%7Bbroken", FORM, "unknown"),
        ("slack", None, "text=hello", FORM, "unknown"),
        ("hmac_sha256", "order.paid", '{"type":"x"}', "application/json", "order.paid"),
        ("hmac_sha256", None, '{"type":"x"}', "application/json", "x"),
        ("hmac_sha256", None, "plain", "text/plain", "unknown"),
        ("none", None, '{"type":"y"}', None, "y"),
        ("none", None, "[1,2]", "application/json", "unknown"),
        ("stripe", None, '{"type":7}', "application/json", "unknown"),
    ],
)
def test_event_type(
    scheme: str, header: str | None, body: str, content_type: str | None, expected: str
) -> None:
    assert event_type(scheme, header, _parsed(body, content_type)) == expected


def test_event_type_without_a_parsed_body() -> None:
    assert event_type("stripe", None, None) == "unknown"
    assert event_type("github", "push", None) == "push"
    assert len(event_type("github", "p" * 1000, None)) == 256
