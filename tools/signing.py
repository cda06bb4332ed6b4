"""Sender-side webhook signing: the headers each provider sends, per its documented algorithm.

Written independently of the processor's verifier (``lambda/webhook_processor/signatures.py``)
so that tests built with it check the verifier against the providers' specifications, not
against itself. Stdlib only.

    >>> headers = sign("github", "It's a Secret to Everybody", b"Hello, World!", msg_id="d-1")
    >>> headers["X-Hub-Signature-256"]
    'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid

SCHEMES = ("stripe", "github", "shopify", "slack", "zoom", "standard_webhooks", "hmac_sha256", "none")


def _hmac_hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _hmac_b64(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


def standard_webhooks_key(secret: str) -> bytes:
    """Standard Webhooks: the signing key is the base64-decoded part after ``whsec_``."""
    return base64.b64decode(secret[len("whsec_") :] if secret.startswith("whsec_") else secret)


def sign(
    scheme: str,
    secret: str | None,
    body: bytes,
    *,
    timestamp: int | None = None,
    msg_id: str | None = None,
    event_type: str | None = None,
    hmac_header: str | None = None,
    hmac_encoding: str = "hex",
    hmac_prefix: str = "",
) -> dict[str, str]:
    """The HTTP headers ``scheme``'s provider sends with ``body`` (Content-Type excluded).

    ``timestamp`` (epoch seconds) defaults to now, ``msg_id`` (delivery id) to a fresh id,
    for the providers that send them. ``event_type`` becomes X-GitHub-Event / X-Shopify-Topic.
    ``hmac_*`` apply to the generic ``hmac_sha256`` scheme only.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    key = (secret or "").encode("utf-8")
    headers: dict[str, str] = {}

    if scheme == "stripe":
        # https://docs.stripe.com/webhooks#verify-manually: "{t}.{payload}", key = whsec_... as-is.
        headers["Stripe-Signature"] = f"t={ts},v1={_hmac_hex(key, ts.encode() + b'.' + body)}"
    elif scheme == "github":
        headers["X-GitHub-Delivery"] = msg_id or str(uuid.uuid4())
        if event_type:
            headers["X-GitHub-Event"] = event_type
        headers["X-Hub-Signature"] = "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest()
        headers["X-Hub-Signature-256"] = "sha256=" + _hmac_hex(key, body)
    elif scheme == "shopify":
        headers["X-Shopify-Webhook-Id"] = msg_id or str(uuid.uuid4())
        if event_type:
            headers["X-Shopify-Topic"] = event_type
        headers["X-Shopify-Hmac-Sha256"] = _hmac_b64(key, body)
    elif scheme == "slack":
        headers["X-Slack-Request-Timestamp"] = ts
        headers["X-Slack-Signature"] = "v0=" + _hmac_hex(key, b"v0:" + ts.encode() + b":" + body)
    elif scheme == "zoom":
        # developers.zoom.us, "Using webhooks" (Verify webhook events): "v0:{timestamp}:{body}",
        # keyed with the app's secret token.
        headers["x-zm-request-timestamp"] = ts
        headers["x-zm-signature"] = "v0=" + _hmac_hex(key, b"v0:" + ts.encode() + b":" + body)
    elif scheme == "standard_webhooks":
        webhook_id = msg_id or "msg_" + uuid.uuid4().hex
        signed = webhook_id.encode() + b"." + ts.encode() + b"." + body
        headers["webhook-id"] = webhook_id
        headers["webhook-timestamp"] = ts
        headers["webhook-signature"] = "v1," + _hmac_b64(standard_webhooks_key(secret or ""), signed)
    elif scheme == "hmac_sha256":
        if not hmac_header:
            raise ValueError("hmac_sha256 needs hmac_header (the signature header's name)")
        if hmac_encoding == "hex":
            encoded = _hmac_hex(key, body)
        elif hmac_encoding == "base64":
            encoded = _hmac_b64(key, body)
        else:
            raise ValueError("hmac_encoding must be 'hex' or 'base64'")
        headers[hmac_header] = hmac_prefix + encoded
    elif scheme != "none":
        raise ValueError(f"unknown scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
    return headers


# Headers that carry the signature (what --unsigned drops), per scheme.
SIGNATURE_HEADERS = {
    "stripe": ("Stripe-Signature",),
    "github": ("X-Hub-Signature", "X-Hub-Signature-256"),
    "shopify": ("X-Shopify-Hmac-Sha256",),
    "slack": ("X-Slack-Signature",),
    "zoom": ("x-zm-signature",),
    "standard_webhooks": ("webhook-signature",),
}


def zoom_encrypted_token(secret: str, plain_token: str) -> str:
    """What Zoom expects back for ``endpoint.url_validation``: hex HMAC-SHA256 of the
    ``plainToken``, keyed with the app's secret token (developers.zoom.us, "Using webhooks",
    Validate your webhook endpoint)."""
    return _hmac_hex(secret.encode("utf-8"), plain_token.encode("utf-8"))
