"""Signature verification over the raw body bytes, one verifier per scheme (GUIDE section 4).

Timestamps are checked against ``received_at_ms`` (when API Gateway received the request),
never against the processing time, so a queue backlog cannot turn real events into rejects.
Secrets are fetched lazily, only once the headers parse, so garbage never costs an API call.
Nothing here logs a secret or a signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .config import SourceConfig
from .errors import TransientError

logger = logging.getLogger(__name__)

SecretsProvider = Callable[[], Sequence[str]]

MISSING_SIGNATURE = "missing_signature"
MALFORMED_SIGNATURE = "malformed_signature"
SIGNATURE_MISMATCH = "signature_mismatch"
MISSING_TIMESTAMP = "missing_timestamp"
MALFORMED_TIMESTAMP = "malformed_timestamp"
STALE_TIMESTAMP = "stale_timestamp"
FUTURE_TIMESTAMP = "future_timestamp"
MISSING_DELIVERY_ID = "missing_delivery_id"

_DIGEST_SIZE = hashlib.sha256().digest_size
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_SECONDS = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class SignedRequest:
    body: bytes
    signature: str | None
    timestamp: str | None
    delivery_id: str | None
    received_at_ms: int


@dataclass(frozen=True)
class Verdict:
    valid: bool
    reason: str | None = None


VALID = Verdict(True)


def _reject(reason: str) -> Verdict:
    return Verdict(False, reason)


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _from_hex(value: str) -> bytes | None:
    value = value.strip()
    return bytes.fromhex(value) if _HEX_DIGEST.fullmatch(value) else None


def _from_base64(value: str) -> bytes | None:
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if len(decoded) == _DIGEST_SIZE else None


def _matches(keys: Iterable[bytes], message: bytes, candidates: Sequence[bytes]) -> bool:
    """True when any candidate equals the HMAC under any key (constant-time compares)."""
    for key in keys:
        expected = _hmac_sha256(key, message)
        for candidate in candidates:
            if hmac.compare_digest(expected, candidate):
                return True
    return False


def _utf8_keys(secrets: SecretsProvider) -> list[bytes]:
    return [secret.encode("utf-8") for secret in secrets()]


def standard_webhooks_key(secret: str) -> bytes | None:
    """The signing key: the part after ``whsec_``, base64-decoded strictly (None if it is not)."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key or None


def _standard_webhooks_keys(secrets: SecretsProvider) -> tuple[list[bytes], int]:
    """The usable keys, and how many secrets were not strict base64 after ``whsec_``."""
    keys = []
    unusable = 0
    for index, secret in enumerate(secrets()):
        key = standard_webhooks_key(secret)
        if key is None:
            unusable += 1
            logger.warning("secret is not base64 after whsec_", extra={"secret_index": index})
        else:
            keys.append(key)
    if not keys:
        # Our configuration is wrong, not the sender's request: retry (then DLQ), never reject.
        raise TransientError("secret_unusable", "no usable standard_webhooks secret")
    return keys, unusable


def _parse_timestamp(value: str | None) -> tuple[int | None, str | None]:
    if value is None or value == "":
        return None, MISSING_TIMESTAMP
    if not _SECONDS.fullmatch(value):
        return None, MALFORMED_TIMESTAMP
    return int(value), None


def check_timestamp(timestamp: int, received_at_ms: int, tolerance_seconds: int) -> str | None:
    """Reason when ``timestamp`` (s) is further than the tolerance from the receive time."""
    delta = timestamp - received_at_ms // 1000
    if delta < -tolerance_seconds:
        return STALE_TIMESTAMP
    if delta > tolerance_seconds:
        return FUTURE_TIMESTAMP
    return None


def _verify_stripe(req: SignedRequest, source: SourceConfig, secrets: SecretsProvider) -> Verdict:
    """``Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>]`` over ``{t}.{body}``; key = whsec_ as-is."""
    if not req.signature:
        return _reject(MISSING_SIGNATURE)
    raw_ts: str | None = None
    v1: list[str] = []
    for item in req.signature.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if name == "t" and raw_ts is None:
            raw_ts = value
        elif name == "v1":
            v1.append(value)
    candidates = [digest for value in v1 if (digest := _from_hex(value)) is not None]
    if not candidates:
        return _reject(MALFORMED_SIGNATURE)
    timestamp, problem = _parse_timestamp(raw_ts)
    if problem:
        return _reject(problem)
    message = f"{raw_ts}.".encode() + req.body
    if not _matches(_utf8_keys(secrets), message, candidates):
        return _reject(SIGNATURE_MISMATCH)
    assert timestamp is not None
    reason = check_timestamp(timestamp, req.received_at_ms, source.tolerance_seconds)
    return _reject(reason) if reason else VALID


def _verify_prefixed(
    req: SignedRequest,
    secrets: SecretsProvider,
    prefix: str,
    decode: Callable[[str], bytes | None],
) -> Verdict:
    """One signature of the raw body: ``<prefix><encoded HMAC>``."""
    if not req.signature:
        return _reject(MISSING_SIGNATURE)
    if not req.signature.startswith(prefix):
        return _reject(MALFORMED_SIGNATURE)
    candidate = decode(req.signature[len(prefix) :])
    if candidate is None:
        return _reject(MALFORMED_SIGNATURE)
    if not _matches(_utf8_keys(secrets), req.body, [candidate]):
        return _reject(SIGNATURE_MISMATCH)
    return VALID


def _verify_github(req: SignedRequest, source: SourceConfig, secrets: SecretsProvider) -> Verdict:
    return _verify_prefixed(req, secrets, "sha256=", _from_hex)


def _verify_shopify(req: SignedRequest, source: SourceConfig, secrets: SecretsProvider) -> Verdict:
    return _verify_prefixed(req, secrets, "", _from_base64)


def _verify_hmac_sha256(req: SignedRequest, source: SourceConfig, secrets: SecretsProvider) -> Verdict:
    decode = _from_base64 if source.hmac_encoding == "base64" else _from_hex
    return _verify_prefixed(req, secrets, source.hmac_prefix, decode)


def _verify_v0(req: SignedRequest, source: SourceConfig, secrets: SecretsProvider) -> Verdict:
    """``v0=<hex HMAC-SHA256>`` over ``v0:{timestamp}:{body}``, the timestamp in seconds."""
    if not req.signature:
        return _reject(MISSING_SIGNATURE)
    timestamp, problem = _parse_timestamp(req.timestamp)
    if problem:
        return _reject(problem)
    if not req.signature.startswith("v0="):
        return _reject(MALFORMED_SIGNATURE)
    candidate = _from_hex(req.signature[3:])
    if candidate is None:
        return _reject(MALFORMED_SIGNATURE)
    message = f"v0:{req.timestamp}:".encode() + req.body
    if not _matches(_utf8_keys(secrets), message, [candidate]):
        return _reject(SIGNATURE_MISMATCH)
    assert timestamp is not None
    reason = check_timestamp(timestamp, req.received_at_ms, source.tolerance_seconds)
    return _reject(reason) if reason else VALID


def _verify_slack(req: SignedRequest, source: SourceConfig, secrets: SecretsProvider) -> Verdict:
    """``X-Slack-Signature`` over ``v0:{X-Slack-Request-Timestamp}:{body}``."""
    return _verify_v0(req, source, secrets)


def _verify_zoom(req: SignedRequest, source: SourceConfig, secrets: SecretsProvider) -> Verdict:
    """``x-zm-signature`` over ``v0:{x-zm-request-timestamp}:{body}``, keyed with the app's
    secret token: Zoom signs exactly as Slack does, only the header names differ."""
    return _verify_v0(req, source, secrets)


def _verify_standard_webhooks(req: SignedRequest, source: SourceConfig, secrets: SecretsProvider) -> Verdict:
    """``webhook-signature: v1,<b64> [v1,<b64> ...]`` over ``{webhook-id}.{webhook-timestamp}.{body}``."""
    if not req.signature:
        return _reject(MISSING_SIGNATURE)
    if not req.delivery_id:
        return _reject(MISSING_DELIVERY_ID)
    timestamp, problem = _parse_timestamp(req.timestamp)
    if problem:
        return _reject(problem)
    candidates = []
    for entry in req.signature.split():
        version, sep, value = entry.partition(",")
        if sep and version == "v1" and (digest := _from_base64(value)) is not None:
            candidates.append(digest)
    if not candidates:
        return _reject(MALFORMED_SIGNATURE)
    message = f"{req.delivery_id}.{req.timestamp}.".encode() + req.body
    keys, unusable = _standard_webhooks_keys(secrets)
    if not _matches(keys, message, candidates):
        if unusable:
            # The unusable secret may be the one it was signed with: never reject for that.
            raise TransientError("secret_unusable", f"{unusable} standard_webhooks secret(s) not base64")
        return _reject(SIGNATURE_MISMATCH)
    assert timestamp is not None
    reason = check_timestamp(timestamp, req.received_at_ms, source.tolerance_seconds)
    return _reject(reason) if reason else VALID


def _verify_none(req: SignedRequest, source: SourceConfig, secrets: SecretsProvider) -> Verdict:
    return VALID


_VERIFIERS: dict[str, Callable[[SignedRequest, SourceConfig, SecretsProvider], Verdict]] = {
    "stripe": _verify_stripe,
    "github": _verify_github,
    "shopify": _verify_shopify,
    "slack": _verify_slack,
    "zoom": _verify_zoom,
    "standard_webhooks": _verify_standard_webhooks,
    "hmac_sha256": _verify_hmac_sha256,
    "none": _verify_none,
}


def verify(request: SignedRequest, source: SourceConfig, secrets: SecretsProvider) -> Verdict:
    """Verify ``request`` for ``source``'s scheme. ``secrets()`` may raise TransientError."""
    return _VERIFIERS[source.scheme](request, source, secrets)


def signing_secret(request: SignedRequest, source: SourceConfig, secrets: Sequence[str]) -> str | None:
    """The one of ``secrets`` that ``request`` verifies under (None: none does).

    For answers that must be computed with the sender's own secret (Zoom's endpoint
    validation HMACs its plainToken with it): while secrets rotate, that is the one the
    signature was made with, whichever place it has in the list.
    """
    for secret in secrets:
        if verify(request, source, lambda secret=secret: (secret,)).valid:
            return secret
    return None
