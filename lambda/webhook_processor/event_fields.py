"""Event id and event type of a delivery, per scheme (docs/message-contract.md)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from .validation import ParsedBody

UNKNOWN_EVENT_TYPE = "unknown"
# DynamoDB allows 2048 bytes for a partition key; ids longer than this are hashed.
MAX_KEY_PART_BYTES = 512
MAX_EVENT_TYPE_CHARS = 256


def key_part(value: str) -> str:
    """``value`` itself, or ``sha256-id:<hex>`` when too long for a key."""
    encoded = value.encode("utf-8")
    if len(encoded) <= MAX_KEY_PART_BYTES:
        return value
    return "sha256-id:" + hashlib.sha256(encoded).hexdigest()


def body_delivery_id(scheme: str, parsed: ParsedBody | None) -> str | None:
    """The sender's delivery id carried in the body: Stripe ``id``, Slack ``event_id``.

    Zoom documents none (its ``event_ts`` is a time, not unique), so a Zoom event's id is the
    body hash: a retry, the same body, is a duplicate."""
    document = parsed.document if parsed is not None else None
    if not isinstance(document, Mapping):
        return None
    name = {"stripe": "id", "slack": "event_id"}.get(scheme)
    value = document.get(name) if name else None
    return value if isinstance(value, str) and value else None


def delivery_id(scheme: str, header_delivery_id: str | None, parsed: ParsedBody | None) -> str | None:
    """Header delivery id first (X-GitHub-Delivery, webhook-id, ...), else the body's."""
    return header_delivery_id or body_delivery_id(scheme, parsed)


# Schemes whose delivery id is an unsigned header and that sign no timestamp: anyone holding
# one captured request can replay it under fresh delivery ids, so their event id is always the
# body hash (the delivery id is kept as an attribute only).
BODY_HASH_SCHEMES = frozenset({"github", "shopify", "hmac_sha256"})


def event_id(source: str, delivery: str | None, raw_body: bytes) -> str:
    """``<source>#<delivery_id>``, else ``<source>#sha256:<hex of the raw body>``."""
    if delivery:
        return f"{key_part(source)}#{key_part(delivery)}"
    return f"{key_part(source)}#sha256:{hashlib.sha256(raw_body).hexdigest()}"


def scheme_event_id(scheme: str, source: str, delivery: str | None, raw_body: bytes) -> str:
    """The event id of a verified delivery: the body hash for ``BODY_HASH_SCHEMES``, else
    the (signed, or body-carried) delivery id when there is one, else the body hash."""
    return event_id(source, None if scheme in BODY_HASH_SCHEMES else delivery, raw_body)


def request_event_id(source: str, request_id: str) -> str:
    """Key of a rejected or invalid delivery: it can never take a real event's id."""
    return f"{key_part(source)}#request:{key_part(request_id)}"


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value[:MAX_EVENT_TYPE_CHARS]
    return None


def _body_type(document: Any) -> str | None:
    return _str(document.get("type")) if isinstance(document, Mapping) else None


def _slack_type(parsed: ParsedBody | None) -> str | None:
    if parsed is None:
        return None
    if parsed.kind == "form":
        payload = parsed.form.get("payload")
        if payload is not None:
            try:
                return _body_type(json.loads(payload))
            except (ValueError, RecursionError):
                return None
        return "slash_command" if parsed.form.get("command") else None
    document = parsed.document
    if not isinstance(document, Mapping):
        return None
    inner = document.get("event")
    return (_body_type(inner) if isinstance(inner, Mapping) else None) or _body_type(document)


def _zoom_type(document: Any) -> str | None:
    # Zoom's notifications name their event in ``event`` ("meeting.started"); none has ``type``.
    return _str(document.get("event")) if isinstance(document, Mapping) else None


def event_type(scheme: str, header_event_type: str | None, parsed: ParsedBody | None) -> str:
    """The event type, per scheme; ``"unknown"`` when there is none."""
    document = parsed.document if parsed is not None else None
    if scheme in ("stripe", "standard_webhooks"):
        found = _body_type(document)
    elif scheme == "zoom":
        found = _zoom_type(document)
    elif scheme in ("github", "shopify"):
        found = _str(header_event_type)
    elif scheme == "slack":
        found = _slack_type(parsed)
    else:  # hmac_sha256, none (and unknown sources)
        found = _str(header_event_type) or _body_type(document)
    return found or UNKNOWN_EVENT_TYPE
