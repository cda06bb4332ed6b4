"""Endpoint checks a provider makes before (Zoom: every 72 hours while) it sends events, and
the answers only code can give.

- Slack, ``url_verification`` (Events API, "Request URL configuration & verification"): a
  signed JSON body ``{"type": "url_verification", "challenge": ..., "token": ...}``; the
  answer echoes ``challenge``.
- Zoom, ``endpoint.url_validation`` (developers.zoom.us, "Using webhooks", "Validate your
  webhook endpoint"): a signed JSON body ``{"event": "endpoint.url_validation", "payload":
  {"plainToken": ...}, "event_ts": ...}``; the answer is ``plainToken`` and
  ``encryptedToken``, the hex HMAC-SHA256 of ``plainToken`` keyed with the secret token.

Recognising a check is cheap: a body that does not contain the marker is never parsed, so a
large event costs a substring search. The signature is verified by the caller
(signatures.verify) before anything is answered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SLACK_URL_VERIFICATION = "url_verification"
ZOOM_URL_VALIDATION = "endpoint.url_validation"
# scheme -> (the body field naming the request, its value for an endpoint check)
_MARKERS = {"slack": ("type", SLACK_URL_VERIFICATION), "zoom": ("event", ZOOM_URL_VALIDATION)}


@dataclass(frozen=True)
class Handshake:
    scheme: str
    # Slack's challenge, Zoom's plainToken; None when the check carries none (not a string).
    token: str | None


def _document(body: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def find(scheme: str, body: str) -> Handshake | None:
    """The endpoint check ``body`` is, for ``scheme``; None for any other request."""
    marker = _MARKERS.get(scheme)
    if marker is None or marker[1] not in body:
        return None
    field, value = marker
    document = _document(body)
    if not isinstance(document, Mapping) or document.get(field) != value:
        return None
    if scheme == "slack":
        token = document.get("challenge")
    else:
        payload = document.get("payload")
        token = payload.get("plainToken") if isinstance(payload, Mapping) else None
    return Handshake(scheme, token if isinstance(token, str) and token else None)


def encrypted_token(secret: str, plain_token: str) -> str:
    """Zoom's ``encryptedToken``: hex HMAC-SHA256 of ``plainToken`` with the secret token."""
    return hmac.new(secret.encode("utf-8"), plain_token.encode("utf-8"), hashlib.sha256).hexdigest()


def answer(handshake: Handshake, secret: str) -> dict[str, str]:
    """The 200 answer's JSON for a verified check that carries its token."""
    assert handshake.token is not None
    if handshake.scheme == "slack":
        return {"challenge": handshake.token}
    return {"plainToken": handshake.token, "encryptedToken": encrypted_token(secret, handshake.token)}
