"""Verifiers against published vectors, known answers, the sender-side tool, and attacks."""

from __future__ import annotations

import base64
import json

import pytest
from webhook_processor.config import SourceConfig
from webhook_processor.errors import TransientError
from webhook_processor.signatures import SignedRequest, Verdict, check_timestamp, verify

from tools.signing import sign

NOW = 1_700_000_000
NOW_MS = NOW * 1000 + 123

# scheme -> (source config, secret)
CASES: dict[str, tuple[SourceConfig, str]] = {
    "stripe": (SourceConfig("s", "stripe"), "whsec_test_secret"),
    "github": (SourceConfig("s", "github"), "It's a Secret to Everybody"),
    "shopify": (SourceConfig("s", "shopify"), "shpss_test"),
    "slack": (SourceConfig("s", "slack"), "8f742231b10e8888abcd99yyyzzz85a5"),
    "standard_webhooks": (SourceConfig("s", "standard_webhooks"), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    "hmac_hex": (SourceConfig("s", "hmac_sha256", hmac_prefix="sha256="), "generic-secret"),
    "hmac_b64": (SourceConfig("s", "hmac_sha256", hmac_encoding="base64"), "generic-secret"),
}
TIMESTAMPED = ("stripe", "slack", "standard_webhooks")
SIGNATURE_HEADER = {
    "stripe": "Stripe-Signature",
    "github": "X-Hub-Signature-256",
    "shopify": "X-Shopify-Hmac-Sha256",
    "slack": "X-Slack-Signature",
    "standard_webhooks": "webhook-signature",
    "hmac_hex": "X-Signature",
    "hmac_b64": "X-Signature",
}


def _sign(case: str, body: bytes, secret: str | None = None, **kwargs: object) -> dict[str, str]:
    source, default_secret = CASES[case]
    extra: dict[str, object] = {}
    if source.scheme == "hmac_sha256":
        extra = {
            "hmac_header": "X-Signature",
            "hmac_encoding": source.hmac_encoding,
            "hmac_prefix": source.hmac_prefix,
        }
    kwargs.setdefault("timestamp", NOW)
    return sign(source.scheme, secret or default_secret, body, **extra, **kwargs)  # type: ignore[arg-type]


def _request(case: str, body: bytes, headers: dict[str, str], received_at_ms: int = NOW_MS) -> SignedRequest:
    lowered = {k.lower(): v for k, v in headers.items()}
    return SignedRequest(
        body=body,
        signature=lowered.get(SIGNATURE_HEADER[case].lower()),
        timestamp=lowered.get("x-slack-request-timestamp") or lowered.get("webhook-timestamp"),
        delivery_id=lowered.get("webhook-id"),
        received_at_ms=received_at_ms,
    )


def _verify(case: str, request: SignedRequest, secrets: list[str] | None = None) -> Verdict:
    source, secret = CASES[case]
    return verify(request, source, lambda: secrets or [secret])


# --- published and known-answer vectors -------------------------------------------------------


def test_github_published_vector() -> None:
    request = SignedRequest(
        body=b"Hello, World!",
        signature="sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        timestamp=None,
        delivery_id=None,
        received_at_ms=NOW_MS,
    )
    assert verify(request, SourceConfig("gh", "github"), lambda: ["It's a Secret to Everybody"]).valid
    assert sign("github", "It's a Secret to Everybody", b"Hello, World!")["X-Hub-Signature-256"] == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_standard_webhooks_published_vector() -> None:
    # The Standard Webhooks specification's test vector.
    body = b'{"test": 2432232314}'
    request = SignedRequest(
        body=body,
        signature="v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        timestamp="1614265330",
        delivery_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        received_at_ms=1614265330_000,
    )
    source = SourceConfig("s", "standard_webhooks")
    assert verify(request, source, lambda: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]).valid
    headers = sign(
        "standard_webhooks",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        body,
        timestamp=1614265330,
        msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
    )
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


# Computed once with plain hmac/hashlib one-liners, e.g.
#   hmac.new(b"whsec_test_secret", b'1700000000.{...}', hashlib.sha256).hexdigest()
KNOWN_ANSWERS = [
    (
        "stripe",
        b'{"id":"evt_1","type":"payment_intent.succeeded"}',
        {
            "Stripe-Signature": "t=1700000000,"
            "v1=22d8dc182f5c588077683bd378368e29765bfe5df2560112b4f28fef120f0e31"
        },
    ),
    ("shopify", b'{"id":1}', {"X-Shopify-Hmac-Sha256": "1GxccvotnkOedTjSm8S0m/VA3yAUKshyqT52ccNYHj4="}),
    (
        "slack",
        b"token=xyz&command=%2Fwebbot&text=test",
        {
            "X-Slack-Request-Timestamp": "1531420618",
            "X-Slack-Signature": "v0=8099711584ab8565e0c40cf31cf5220aafa8d807954d5e5c4cbbd29d3e5a0d58",
        },
    ),
    (
        "hmac_hex",
        b'{"type":"ping"}',
        {"X-Signature": "sha256=f5c78547f710216079e6c6cee26fcca95d3e68f7cde635574bbde8438b6225e0"},
    ),
    ("hmac_b64", b'{"type":"ping"}', {"X-Signature": "9ceFR/cQIWB55sbO4m/MqV0+aPfN5jVXS73oQ4tiJeA="}),
]


@pytest.mark.parametrize(("case", "body", "headers"), KNOWN_ANSWERS, ids=[c[0] for c in KNOWN_ANSWERS])
def test_known_answer_vectors(case: str, body: bytes, headers: dict[str, str]) -> None:
    timestamp = headers.get("X-Slack-Request-Timestamp") or "1700000000"
    request = _request(case, body, headers, received_at_ms=int(timestamp) * 1000)
    assert _verify(case, request) == Verdict(True)
    # ... and the sender tool produces exactly the same headers.
    produced = _sign(case, body, timestamp=int(timestamp))
    for name, value in headers.items():
        assert produced[name] == value


# --- round trips through the sender tool ------------------------------------------------------

BODIES = {
    "json": b'{"id":"evt_9","type":"charge.succeeded","data":{"amount":100}}',
    "unicode": '{"text":"h\u00e9llo \u2603 \U0001f600 \u00fc\u00df","type":"msg"}'.encode(),
    "binary_looking": "\x00\x01\x7f\u0080\u00ff\ufffd \\x00 \x1b[0m".encode(),
    "empty": b"",
    "form": b"a=1&b=%F0%9F%98%80+x&payload=%7B%22type%22%3A%22block_actions%22%7D",
}


@pytest.mark.parametrize("body_name", list(BODIES))
@pytest.mark.parametrize("case", list(CASES))
def test_round_trip(case: str, body_name: str) -> None:
    body = BODIES[body_name]
    assert _verify(case, _request(case, body, _sign(case, body))).valid


# --- negative cases ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
def test_tampered_body_one_byte(case: str) -> None:
    body = BODIES["json"]
    headers = _sign(case, body)
    tampered = body.replace(b"100", b"900")
    assert _verify(case, _request(case, tampered, headers)) == Verdict(False, "signature_mismatch")
    assert _verify(case, _request(case, body + b" ", headers)) == Verdict(False, "signature_mismatch")


@pytest.mark.parametrize("case", list(CASES))
def test_wrong_secret(case: str) -> None:
    wrong = "whsec_" + base64.b64encode(b"another key entirely").decode()
    headers = _sign(case, BODIES["json"], secret=wrong)
    assert _verify(case, _request(case, BODIES["json"], headers)).reason == "signature_mismatch"


@pytest.mark.parametrize("case", list(CASES))
def test_missing_signature_never_fetches_secrets(case: str) -> None:
    def secrets() -> list[str]:
        raise AssertionError("secrets must not be fetched for a request without a signature")

    request = _request(case, b"{}", {})
    assert verify(request, CASES[case][0], secrets) == Verdict(False, "missing_signature")


MALFORMED = {
    "stripe": [
        "t=1700000000",
        "t=1700000000,v1=zz",
        "t=1700000000,v1=abcd",
        "garbage",
        "t=1700000000,v0=" + "a" * 64,
    ],
    "github": ["757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "sha256=xyz", "sha1=abc"],
    "shopify": ["not base64!", "YWJj", "\u00e9\u00e9"],
    "slack": ["a" * 64, "v0=nothex", "v1=" + "a" * 64],
    "standard_webhooks": ["g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "v1,***", "v1a,abc v2,xyz"],
    "hmac_hex": ["f5c78547f710216079e6c6cee26fcca95d3e68f7cde635574bbde8438b6225e0", "sha256=nothex"],
    "hmac_b64": ["sha256=9ceFR/cQ", "%%%"],
}


@pytest.mark.parametrize(("case", "value"), [(c, v) for c, values in MALFORMED.items() for v in values])
def test_malformed_signature(case: str, value: str) -> None:
    headers = _sign(case, b"{}")
    headers[SIGNATURE_HEADER[case]] = value
    assert _verify(case, _request(case, b"{}", headers)) == Verdict(False, "malformed_signature")


def test_stripe_header_without_timestamp() -> None:
    request = SignedRequest(b"{}", "v1=" + "a" * 64, None, None, NOW_MS)
    assert _verify("stripe", request).reason == "missing_timestamp"
    request = SignedRequest(b"{}", "t=soon,v1=" + "a" * 64, None, None, NOW_MS)
    assert _verify("stripe", request).reason == "malformed_timestamp"


@pytest.mark.parametrize("case", ["slack", "standard_webhooks"])
def test_missing_and_malformed_timestamp_header(case: str) -> None:
    headers = _sign(case, b"{}")
    request = _request(case, b"{}", headers)
    assert _verify(
        case, SignedRequest(b"{}", request.signature, None, request.delivery_id, NOW_MS)
    ).reason == ("missing_timestamp")
    assert _verify(
        case, SignedRequest(b"{}", request.signature, "1.5e9", request.delivery_id, NOW_MS)
    ).reason == ("malformed_timestamp")


def test_standard_webhooks_needs_the_message_id() -> None:
    headers = _sign("standard_webhooks", b"{}")
    request = _request("standard_webhooks", b"{}", headers)
    assert _verify(
        "standard_webhooks", SignedRequest(b"{}", request.signature, request.timestamp, None, NOW_MS)
    ) == (Verdict(False, "missing_delivery_id"))
    other_id = SignedRequest(b"{}", request.signature, request.timestamp, "msg_other", NOW_MS)
    assert _verify("standard_webhooks", other_id).reason == "signature_mismatch"


@pytest.mark.parametrize("case", TIMESTAMPED)
def test_stale_and_future_timestamps_against_receive_time(case: str) -> None:
    body = BODIES["json"]
    tolerance = 300
    for offset, expected in [
        (-tolerance - 1, Verdict(False, "stale_timestamp")),
        (-tolerance, Verdict(True)),
        (0, Verdict(True)),
        (tolerance, Verdict(True)),
        (tolerance + 1, Verdict(False, "future_timestamp")),
        (-86_400, Verdict(False, "stale_timestamp")),
    ]:
        headers = _sign(case, body, timestamp=NOW + offset)
        assert _verify(case, _request(case, body, headers, received_at_ms=NOW * 1000)) == expected, offset


def test_per_source_tolerance() -> None:
    body = b"{}"
    headers = sign("stripe", "whsec_test_secret", body, timestamp=NOW - 61)
    request = SignedRequest(body, headers["Stripe-Signature"], None, None, NOW * 1000)
    assert not verify(
        request, SourceConfig("s", "stripe", tolerance_seconds=60), lambda: ["whsec_test_secret"]
    ).valid
    assert verify(
        request, SourceConfig("s", "stripe", tolerance_seconds=61), lambda: ["whsec_test_secret"]
    ).valid


def test_check_timestamp_uses_whole_seconds_of_receive_time() -> None:
    assert check_timestamp(NOW, NOW * 1000 + 999, 0) is None
    assert check_timestamp(NOW - 1, NOW * 1000, 0) == "stale_timestamp"
    assert check_timestamp(NOW + 1, NOW * 1000, 0) == "future_timestamp"


def test_bad_signature_beats_stale_timestamp() -> None:
    # Mirrors Stripe's library: the signature is checked before the tolerance.
    headers = sign("stripe", "whsec_wrong", b"{}", timestamp=NOW - 3600)
    request = SignedRequest(b"{}", headers["Stripe-Signature"], None, None, NOW_MS)
    assert _verify("stripe", request).reason == "signature_mismatch"


# --- several signatures, several secrets ------------------------------------------------------


def test_stripe_several_v1_one_valid() -> None:
    body = BODIES["json"]
    good = sign("stripe", "whsec_test_secret", body, timestamp=NOW)["Stripe-Signature"].split("v1=")[1]
    header = f"t={NOW},v1={'0' * 64},v0={'1' * 64},v1=nothex,v1={good}"
    assert _verify("stripe", SignedRequest(body, header, None, None, NOW_MS)).valid
    header = f"t={NOW},v1={'0' * 64},v1={'f' * 64}"
    assert _verify("stripe", SignedRequest(body, header, None, None, NOW_MS)).reason == "signature_mismatch"


def test_standard_webhooks_space_separated_list_one_valid() -> None:
    body = BODIES["json"]
    headers = _sign("standard_webhooks", body, msg_id="msg_1")
    other = sign(
        "standard_webhooks",
        "whsec_" + base64.b64encode(b"x" * 32).decode(),
        body,
        timestamp=NOW,
        msg_id="msg_1",
    )
    headers["webhook-signature"] = f"v1a,abcd {other['webhook-signature']}  {headers['webhook-signature']}"
    assert _verify("standard_webhooks", _request("standard_webhooks", body, headers)).valid
    headers["webhook-signature"] = other["webhook-signature"]
    assert (
        _verify("standard_webhooks", _request("standard_webhooks", body, headers)).reason
        == "signature_mismatch"
    )


@pytest.mark.parametrize("case", list(CASES))
def test_rotated_secrets_any_active_secret_passes(case: str) -> None:
    body = BODIES["json"]
    old = CASES[case][1]
    new = "whsec_" + base64.b64encode(b"the new signing key, 32 bytes.!!").decode()
    for used in (old, new):
        request = _request(case, body, _sign(case, body, secret=used))
        assert _verify(case, request, secrets=[new, old]).valid
    stranger = _request(case, body, _sign(case, body, secret="whsec_" + base64.b64encode(b"z" * 24).decode()))
    assert _verify(case, stranger, secrets=[new, old]).reason == "signature_mismatch"


def test_stripe_key_is_the_whole_whsec_string() -> None:
    body = b"{}"
    stripped = sign("stripe", "test_secret", body, timestamp=NOW)  # key without the whsec_ part
    request = SignedRequest(body, stripped["Stripe-Signature"], None, None, NOW_MS)
    assert _verify("stripe", request).reason == "signature_mismatch"


def test_standard_webhooks_unusable_secret_is_transient() -> None:
    headers = _sign("standard_webhooks", b"{}")
    request = _request("standard_webhooks", b"{}", headers)
    with pytest.raises(TransientError) as caught:
        verify(request, CASES["standard_webhooks"][0], lambda: ["whsec_@@@not-base64"])
    assert caught.value.code == "secret_unusable"


# A key whose base64 has "+" and "/": written URL-safe ("-", "_") it used to decode, non-strictly,
# to another key, and every event was rejected for good.
KEY = bytes(range(250, 256)) + b"\xfb\xff" * 13  # 32 bytes: base64 ends in "="


@pytest.mark.parametrize(
    "secret",
    [
        "whsec_" + base64.urlsafe_b64encode(KEY).decode(),  # wrong alphabet
        "whsec_" + base64.b64encode(KEY).decode().rstrip("="),  # padding lost
        "whsec_" + base64.b64encode(KEY).decode() + "!",  # a stray character
        "whsec_" + base64.b64encode(KEY).decode()[:-6] + "\n" + base64.b64encode(KEY).decode()[-6:],
        "whsec_",
        # Non-strict decoding dropped "-" and "_" and got another (29-byte) key: rejections.
        "whsec_-_--d2ViaG9vayBzaWduaW5nIGtleSwgMzIgYnl0ZXM=",
    ],
    ids=["urlsafe", "unpadded", "stray-char", "inner-newline", "empty", "urlsafe-another-key"],
)
def test_standard_webhooks_secret_must_be_strict_base64(secret: str) -> None:
    assert "+" in base64.b64encode(KEY).decode() and "/" in base64.b64encode(KEY).decode()
    good = "whsec_" + base64.b64encode(KEY).decode()
    if secret.startswith("whsec_-_--"):
        good = "whsec_" + base64.b64encode(b"\xfb\xff\xbe" + b"webhook signing key, 32 bytes").decode()
    body = BODIES["json"]
    request = _request("standard_webhooks", body, _sign("standard_webhooks", body, secret=good))
    assert _verify("standard_webhooks", request, secrets=[good]).valid
    with pytest.raises(TransientError) as caught:
        _verify("standard_webhooks", request, secrets=[secret])
    assert caught.value.code == "secret_unusable"


def test_standard_webhooks_unusable_secret_next_to_a_usable_one() -> None:
    good = "whsec_" + base64.b64encode(KEY).decode()
    bad = "whsec_" + base64.urlsafe_b64encode(KEY).decode()
    other = "whsec_" + base64.b64encode(b"o" * 24).decode()
    body = BODIES["json"]
    signed_good = _request("standard_webhooks", body, _sign("standard_webhooks", body, secret=good))
    signed_other = _request("standard_webhooks", body, _sign("standard_webhooks", body, secret=other))
    # The usable secret still verifies what it signed...
    assert _verify("standard_webhooks", signed_other, secrets=[bad, other]).valid
    # ...but a mismatch may be the unusable secret's event: wait in the queue, never reject.
    with pytest.raises(TransientError) as caught:
        _verify("standard_webhooks", signed_good, secrets=[bad, other])
    assert caught.value.code == "secret_unusable"


def test_hmac_prefix_required_when_configured() -> None:
    headers = _sign("hmac_hex", b"{}")
    bare = headers["X-Signature"].removeprefix("sha256=")
    request = SignedRequest(b"{}", bare, None, None, NOW_MS)
    assert _verify("hmac_hex", request).reason == "malformed_signature"


def test_none_scheme_is_always_valid() -> None:
    request = SignedRequest(b"anything", None, None, None, NOW_MS)
    assert verify(request, SourceConfig("o", "none"), lambda: []).valid


def test_sign_headers_per_provider() -> None:
    github = sign("github", "s", b"{}", msg_id="d-1", event_type="push")
    assert github["X-GitHub-Delivery"] == "d-1" and github["X-GitHub-Event"] == "push"
    shopify = sign("shopify", "s", b"{}", msg_id="w-1", event_type="orders/create")
    assert shopify["X-Shopify-Webhook-Id"] == "w-1" and shopify["X-Shopify-Topic"] == "orders/create"
    std = sign("standard_webhooks", "whsec_" + base64.b64encode(b"k").decode(), b"{}", timestamp=5)
    assert std["webhook-id"].startswith("msg_") and std["webhook-timestamp"] == "5"
    assert sign("none", None, b"{}") == {}
    with pytest.raises(ValueError):
        sign("hmac_sha256", "s", b"{}")
    with pytest.raises(ValueError):
        sign("nope", "s", b"{}")
    assert json.loads(json.dumps(github))  # plain str -> str
