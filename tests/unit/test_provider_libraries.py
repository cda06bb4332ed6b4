"""Cross-checks against the providers' own webhook libraries (test-only dependencies).

For each scheme whose provider publishes a verification library (stripe: `stripe`;
slack: `slack-sdk`; standard_webhooks: `standardwebhooks` and Svix's `svix`):

* the library signs, and the processor's verifier (`webhook_processor.signatures.verify`)
  accepts: it takes what real senders send;
* `tools/signing.py` signs, and the library verifies: our sender-side tool (used by the
  end-to-end tests and `make demo`) signs like the providers;
* a tampered body is refused by both.

Bodies come from hypothesis: unicode, the form-encoding characters `& + = %`, JSON
documents, one large body and the empty JSON object. GitHub and Shopify publish no Python
verification library, so they keep the published vectors in test_signatures.py.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import slack_sdk.signature
import standardwebhooks
import stripe
import svix.webhooks
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from webhook_processor.config import SourceConfig
from webhook_processor.signatures import SignedRequest, Verdict, verify

from tools.signing import sign

LIBRARY_SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FORM_CHARACTERS = "&+=% "
LARGE_BODY = json.dumps({"data": "é&+=%" * 60_000}).encode()  # ~420 KB of UTF-8
EMPTY_JSON = b"{}"


def _json_value() -> st.SearchStrategy[object]:
    scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=40)
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=12,
    )


# Every body is UTF-8: the libraries decode the body to a str before they sign or verify.
bodies = st.one_of(
    st.text(max_size=300).map(str.encode),
    st.text(alphabet=st.sampled_from(FORM_CHARACTERS) | st.characters(codec="utf-8"), max_size=200).map(
        str.encode
    ),
    st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=6).map(
        lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode()
    ),
    _json_value().map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
)
ascii_secrets = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", min_size=8, max_size=64
)
# A Standard Webhooks secret is whsec_ + base64 of the key (strict base64: the processor requires it).
standard_secrets = st.binary(min_size=16, max_size=64).map(
    lambda key: "whsec_" + base64.b64encode(key).decode()
)


def _tampered(body: bytes) -> bytes:
    """The body with its last byte changed (or one byte added to an empty body)."""
    if not body:
        return b" "
    return body[:-1] + bytes([body[-1] ^ 0x01])


def _verify(scheme: str, secret: str, body: bytes, signature: str | None, **fields: str | None) -> Verdict:
    request = SignedRequest(
        body=body,
        signature=signature,
        timestamp=fields.get("timestamp"),
        delivery_id=fields.get("delivery_id"),
        received_at_ms=int(time.time() * 1000),
    )
    return verify(request, SourceConfig("library", scheme), lambda: [secret])


def _refuses(check: Callable[[], object], *errors: type[Exception]) -> bool:
    try:
        result = check()
    except errors:
        return True
    return result is False


# --- stripe ------------------------------------------------------------------------------------


@LIBRARY_SETTINGS
@given(body=bodies, secret=ascii_secrets.map(lambda s: "whsec_" + s))
@example(body=EMPTY_JSON, secret="whsec_test")
@example(body=LARGE_BODY, secret="whsec_test")
def test_stripe_library_signs_processor_verifies(body: bytes, secret: str) -> None:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret)
    assert _verify("stripe", secret, body, header) == Verdict(True)
    assert _verify("stripe", secret, _tampered(body), header).reason == "signature_mismatch"


@LIBRARY_SETTINGS
@given(body=bodies, secret=ascii_secrets.map(lambda s: "whsec_" + s))
@example(body=EMPTY_JSON, secret="whsec_test")
@example(body=LARGE_BODY, secret="whsec_test")
def test_our_signing_tool_signs_stripe_library_verifies(body: bytes, secret: str) -> None:
    header = sign("stripe", secret, body)["Stripe-Signature"]
    assert stripe.WebhookSignature.verify_header(body, header, secret, tolerance=300) is True
    assert _refuses(
        lambda: stripe.WebhookSignature.verify_header(_tampered(body), header, secret, tolerance=300),
        stripe.SignatureVerificationError,
        UnicodeDecodeError,
    )


def test_stripe_library_rejects_what_the_processor_rejects() -> None:
    """A signature made with another secret: both refuse."""
    header = stripe.WebhookSignature.generate_signature_header("{}", "whsec_other")
    assert _verify("stripe", "whsec_right", b"{}", header).reason == "signature_mismatch"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(b"{}", header, "whsec_right")


# --- slack -------------------------------------------------------------------------------------


@LIBRARY_SETTINGS
@given(body=bodies, secret=ascii_secrets)
@example(body=EMPTY_JSON, secret="8f742231b10e8888abcd99yyyzzz85a5")
@example(body=LARGE_BODY, secret="8f742231b10e8888abcd99yyyzzz85a5")
def test_slack_library_signs_processor_verifies(body: bytes, secret: str) -> None:
    timestamp = str(int(time.time()))
    signature = slack_sdk.signature.SignatureVerifier(secret).generate_signature(
        timestamp=timestamp, body=body
    )
    assert _verify("slack", secret, body, signature, timestamp=timestamp) == Verdict(True)
    tampered = _verify("slack", secret, _tampered(body), signature, timestamp=timestamp)
    assert tampered.reason == "signature_mismatch"


@LIBRARY_SETTINGS
@given(body=bodies, secret=ascii_secrets)
@example(body=EMPTY_JSON, secret="8f742231b10e8888abcd99yyyzzz85a5")
@example(body=LARGE_BODY, secret="8f742231b10e8888abcd99yyyzzz85a5")
def test_our_signing_tool_signs_slack_library_verifies(body: bytes, secret: str) -> None:
    headers = sign("slack", secret, body)
    verifier = slack_sdk.signature.SignatureVerifier(secret)
    assert verifier.is_valid_request(body, headers) is True
    assert _refuses(lambda: verifier.is_valid_request(_tampered(body), headers), UnicodeDecodeError)


# --- standard_webhooks: standardwebhooks and svix ---------------------------------------------

STANDARD_LIBRARIES = {
    "standardwebhooks": standardwebhooks.Webhook,
    "svix": svix.webhooks.Webhook,
}
# standardwebhooks parses the body as JSON unless told not to; svix never does.
STANDARD_VERIFY: dict[str, Callable[[object, bytes, dict[str, str]], object]] = {
    "standardwebhooks": lambda hook, body, headers: hook.verify(body, headers, json_parse=False),  # type: ignore[attr-defined]
    "svix": lambda hook, body, headers: hook.verify(body, headers),  # type: ignore[attr-defined]
}
STANDARD_ERRORS = (standardwebhooks.WebhookVerificationError, svix.webhooks.WebhookVerificationError)


@pytest.mark.parametrize("library", sorted(STANDARD_LIBRARIES))
@LIBRARY_SETTINGS
@given(body=bodies, secret=standard_secrets, msg_id=st.from_regex(r"msg_[A-Za-z0-9]{1,32}", fullmatch=True))
@example(
    body=EMPTY_JSON, secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek"
)
@example(body=LARGE_BODY, secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", msg_id="msg_large")
def test_standard_webhooks_library_signs_processor_verifies(
    library: str, body: bytes, secret: str, msg_id: str
) -> None:
    now = datetime.now(tz=UTC)
    signature = STANDARD_LIBRARIES[library](secret).sign(msg_id, now, body.decode())
    fields = {"timestamp": str(int(now.timestamp())), "delivery_id": msg_id}
    assert _verify("standard_webhooks", secret, body, signature, **fields) == Verdict(True)
    tampered = _verify("standard_webhooks", secret, _tampered(body), signature, **fields)
    assert tampered.reason == "signature_mismatch"


@pytest.mark.parametrize("library", sorted(STANDARD_LIBRARIES))
@LIBRARY_SETTINGS
@given(body=bodies, secret=standard_secrets, msg_id=st.from_regex(r"msg_[A-Za-z0-9]{1,32}", fullmatch=True))
@example(
    body=EMPTY_JSON, secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek"
)
@example(body=LARGE_BODY, secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", msg_id="msg_large")
def test_our_signing_tool_signs_standard_webhooks_library_verifies(
    library: str, body: bytes, secret: str, msg_id: str
) -> None:
    headers = sign("standard_webhooks", secret, body, msg_id=msg_id)
    webhook, check = STANDARD_LIBRARIES[library](secret), STANDARD_VERIFY[library]
    check(webhook, body, headers)  # raises on a mismatch
    assert _refuses(lambda: check(webhook, _tampered(body), headers), *STANDARD_ERRORS, UnicodeDecodeError)


def test_svix_header_names_carry_the_same_signature() -> None:
    """Svix sends svix-id / svix-timestamp / svix-signature: the same values under other names."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    headers = sign("standard_webhooks", secret, b'{"a":1}', msg_id="msg_1")
    svix_headers = {k.replace("webhook-", "svix-"): v for k, v in headers.items()}
    svix.webhooks.Webhook(secret).verify(b'{"a":1}', svix_headers)


def test_every_library_has_the_sign_and_verify_api() -> None:
    """The entry points the tests above rely on (a library upgrade that drops one fails here)."""
    assert callable(stripe.WebhookSignature.generate_signature_header)
    assert callable(stripe.WebhookSignature.verify_header)
    assert callable(slack_sdk.signature.SignatureVerifier.generate_signature)
    assert callable(slack_sdk.signature.SignatureVerifier.is_valid_request)
    for cls in STANDARD_LIBRARIES.values():
        assert callable(cls.sign) and callable(cls.verify)
