"""The zoom scheme: its verifier against a vector computed outside Python, the sender tool, the
event type and id, and signed events through the processor (moto in-process)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from webhook_processor import handler, handshake
from webhook_processor.config import ConfigError, SourceConfig, load_config, parse_source
from webhook_processor.event_fields import event_id, event_type, scheme_event_id
from webhook_processor.signatures import SignedRequest, Verdict, signing_secret, verify
from webhook_processor.validation import validate_body

from tools.signing import SCHEMES as SENDER_SCHEMES
from tools.signing import SIGNATURE_HEADERS, sign, zoom_encrypted_token

from .support import now_ms, record_for

SECRET = "zoom-secret-token"
TIMESTAMP = 1_700_000_000
EVENT = b'{"event":"meeting.started","payload":{"account_id":"AAAA","object":{"id":"123"}},"event_ts":1700000000000}'
# Computed with OpenSSL, not with the code under test:
#   printf '%s' 'v0:1700000000:<EVENT>' | openssl dgst -sha256 -hmac 'zoom-secret-token'
EVENT_SIGNATURE = "v0=0b512f083c4dbf44978e5c8e4940bbf6893d55708e2144e99d6aad1b335b8e22"
PLAIN_TOKEN = "qgg8vlvZRS6UYooatFL8Aw"
#   printf '%s' 'qgg8vlvZRS6UYooatFL8Aw' | openssl dgst -sha256 -hmac 'zoom-secret-token'
ENCRYPTED_TOKEN = "d9e0d764a78494688ba3f2d5c0ed4ca311394b4834d959759213424d2df961e3"

ZOOM = SourceConfig("meetings", "zoom")


def _request(
    signature: str | None = EVENT_SIGNATURE,
    timestamp: str | None = str(TIMESTAMP),
    body: bytes = EVENT,
    received_at_s: int = TIMESTAMP,
) -> SignedRequest:
    return SignedRequest(body, signature, timestamp, None, received_at_s * 1000 + 250)


def _secrets(*values: str) -> Callable[[], tuple[str, ...]]:
    return lambda: values


# --- the verifier ----------------------------------------------------------------------------


def test_the_independent_vector_verifies() -> None:
    assert verify(_request(), ZOOM, _secrets(SECRET)) == Verdict(True)


def test_the_sender_tool_signs_the_same_vector() -> None:
    headers = sign("zoom", SECRET, EVENT, timestamp=TIMESTAMP)
    assert headers == {"x-zm-request-timestamp": "1700000000", "x-zm-signature": EVENT_SIGNATURE}
    assert "zoom" in SENDER_SCHEMES
    assert SIGNATURE_HEADERS["zoom"] == ("x-zm-signature",)


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (_request(body=EVENT + b" "), "signature_mismatch"),
        (_request(signature=EVENT_SIGNATURE.replace("v0=0b", "v0=0c")), "signature_mismatch"),
        (_request(timestamp="1700000001"), "signature_mismatch"),  # the timestamp is signed
        (_request(signature=EVENT_SIGNATURE[3:]), "malformed_signature"),  # no v0=
        (_request(signature="v1=" + EVENT_SIGNATURE[3:]), "malformed_signature"),
        (_request(signature="v0=abc"), "malformed_signature"),
        (_request(signature=None), "missing_signature"),
        (_request(timestamp=None), "missing_timestamp"),
        (_request(timestamp="1700000000000x"), "malformed_timestamp"),
        (_request(received_at_s=TIMESTAMP + 301), "stale_timestamp"),
        (_request(received_at_s=TIMESTAMP - 301), "future_timestamp"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_what_is_refused(request_: SignedRequest, reason: str) -> None:
    assert verify(request_, ZOOM, _secrets(SECRET)) == Verdict(False, reason)


def test_wrong_secret_is_a_mismatch() -> None:
    assert verify(_request(), ZOOM, _secrets("another-token")) == Verdict(False, "signature_mismatch")


def test_within_the_tolerance_is_valid_and_the_tolerance_is_the_sources() -> None:
    assert verify(_request(received_at_s=TIMESTAMP + 300), ZOOM, _secrets(SECRET)).valid
    strict = SourceConfig("meetings", "zoom", tolerance_seconds=60)
    assert (
        verify(_request(received_at_s=TIMESTAMP + 61), strict, _secrets(SECRET)).reason == "stale_timestamp"
    )


def test_rotated_secrets_and_the_one_that_signed() -> None:
    secrets = ("new-token", SECRET)
    assert verify(_request(), ZOOM, lambda: secrets).valid
    assert signing_secret(_request(), ZOOM, secrets) == SECRET
    assert signing_secret(_request(), ZOOM, ("new-token",)) is None
    # Matched, but stale: no secret is "the one that signed" a request that does not verify.
    assert signing_secret(_request(received_at_s=TIMESTAMP + 301), ZOOM, secrets) is None


def test_the_secret_is_not_fetched_for_unparseable_headers() -> None:
    def fetch() -> tuple[str, ...]:
        raise AssertionError("fetched")

    assert verify(_request(timestamp="soon"), ZOOM, fetch).reason == "malformed_timestamp"


# --- Zoom's endpoint validation token ---------------------------------------------------------


def test_encrypted_token_equals_the_independent_value() -> None:
    assert handshake.encrypted_token(SECRET, PLAIN_TOKEN) == ENCRYPTED_TOKEN
    assert zoom_encrypted_token(SECRET, PLAIN_TOKEN) == ENCRYPTED_TOKEN


# --- event type, event id, configuration --------------------------------------------------------


def test_event_type_is_the_body_event() -> None:
    parsed = validate_body(EVENT.decode(), "application/json").parsed
    assert event_type("zoom", None, parsed) == "meeting.started"
    # Never a header, nor a body "type".
    assert (
        event_type("zoom", "from-header", validate_body('{"type":"x"}', "application/json").parsed)
        == "unknown"
    )
    assert event_type("zoom", None, validate_body('{"event":7}', "application/json").parsed) == "unknown"


def test_event_id_is_the_body_hash() -> None:
    expected = "meetings#sha256:" + hashlib.sha256(EVENT).hexdigest()
    assert scheme_event_id("zoom", "meetings", None, EVENT) == expected == event_id("meetings", None, EVENT)


def test_the_scheme_is_configurable() -> None:
    assert parse_source("meetings", {"scheme": "zoom", "secret_arn": "arn:x"}).scheme == "zoom"
    config = load_config({"TABLE_NAME": "t", "WEBHOOK_SOURCES": json.dumps({"m": {"scheme": "zoom"}})})
    assert config.sources["m"].signed
    with pytest.raises(ConfigError):
        parse_source("meetings", {"scheme": "Zoom"})


# --- through the processor ----------------------------------------------------------------------


@pytest.fixture
def zoom_source(account: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The test account's sources plus a zoom source "meetings" with its secret."""
    arn = boto3.client("secretsmanager").create_secret(Name="webhooks/meetings", SecretString=SECRET)["ARN"]
    sources = json.loads(account["WEBHOOK_SOURCES"])
    sources["meetings"] = {"scheme": "zoom", "secret_arn": arn, "tolerance_seconds": None}
    monkeypatch.setenv("WEBHOOK_SOURCES", json.dumps(sources))
    handler.reset()
    return "meetings"


def _zoom_record(body: bytes, headers: dict[str, str], received_at_ms: int) -> dict[str, Any]:
    return record_for(
        "meetings",
        body,
        received_at_ms=received_at_ms,
        signature=headers.get("x-zm-signature"),
        signature_timestamp=headers.get("x-zm-request-timestamp"),
    )


def test_signed_event_is_processed_and_its_retry_is_a_counted_duplicate(
    zoom_source: str, run: Callable[..., handler.BatchResult], get_row: Callable[[str], Any]
) -> None:
    # Now, not TIMESTAMP: rows of 2023 would have expired (HISTORY_RETENTION_DAYS) already.
    sent = now_ms() // 1000 - 60
    first = sign("zoom", SECRET, EVENT, timestamp=sent)
    retry = sign("zoom", SECRET, EVENT, timestamp=sent + 30)  # Zoom re-sends, signed anew
    batch = run(_zoom_record(EVENT, first, sent * 1000 + 5), _zoom_record(EVENT, retry, (sent + 30) * 1000))

    assert [r.status for r in batch.results] == ["processed", "processed"]
    assert batch.failures == []
    expected_id = "meetings#sha256:" + hashlib.sha256(EVENT).hexdigest()
    assert {r.event_id for r in batch.results} == {expected_id}
    row = get_row(expected_id)
    assert row is not None
    assert (row["status"], row["scheme"], row["event_type"]) == ("processed", "zoom", "meeting.started")
    assert row["duplicate_count"] == 1


def test_forged_event_is_rejected(
    zoom_source: str, run: Callable[..., handler.BatchResult], get_row: Callable[[str], Any]
) -> None:
    sent = now_ms() // 1000
    forged = sign("zoom", "not-the-token", EVENT, timestamp=sent)
    [result] = run(_zoom_record(EVENT, forged, sent * 1000)).results
    assert (result.status, result.reason) == ("rejected", "signature_mismatch")
    row = get_row(result.event_id or "")
    assert row is not None and row["status"] == "rejected"
