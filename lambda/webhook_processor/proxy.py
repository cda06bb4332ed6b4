"""API Gateway REST proxy integration (AWS_PROXY): the request event in, the answer out.

The event is version 1.0 ("Input format of a Lambda function for proxy integration", API
Gateway developer guide): ``body`` (a string, base64 when ``isBase64Encoded``), ``headers``
(each name as the client sent it, the last value of a repeated header), ``multiValueHeaders``
and ``requestContext`` (``requestId``, ``requestTimeEpoch`` in ms, ``identity.sourceIp``).
The answer is the "Output format": ``statusCode``, ``headers``, ``body``,
``isBase64Encoded``. Parsing never raises, whatever the event holds.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProxyRequest:
    # The body as text, as received; "" when the request had none (or it was not UTF-8).
    body: str
    # False when a base64 (binary) body was not UTF-8: it cannot be queued as the bytes sent.
    decodable: bool = True
    # Header name as sent -> value.
    headers: Mapping[str, str] = field(default_factory=dict)
    request_id: str = ""
    # $context.requestTimeEpoch; None when the event has none (never from API Gateway).
    received_at_ms: int | None = None
    source_ip: str = ""

    def header(self, name: str) -> str:
        """The value of header ``name``, matched case-insensitively (RFC 9110): the last one
        when the client sent it twice in different cases, "" when absent or ``name`` is ""."""
        return header_value(self.headers, name)


def header_value(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    found = ""
    if wanted:
        for key, value in headers.items():
            if key.lower() == wanted:
                found = value
    return found


def _headers(event: Mapping[str, Any]) -> dict[str, str]:
    """``headers``; a name only in ``multiValueHeaders`` (its last value) is added too."""
    found: dict[str, str] = {}
    multi = event.get("multiValueHeaders")
    if isinstance(multi, Mapping):
        for name, values in multi.items():
            if isinstance(name, str) and isinstance(values, list) and values and isinstance(values[-1], str):
                found[name] = values[-1]
    single = event.get("headers")
    if isinstance(single, Mapping):
        for name, value in single.items():
            if isinstance(name, str) and isinstance(value, str):
                found[name] = value
    return found


def _body(event: Mapping[str, Any]) -> tuple[str, bool]:
    body = event.get("body")
    if not isinstance(body, str):
        return "", True  # null: a request without a body
    if event.get("isBase64Encoded") is not True:
        return body, True
    try:
        return base64.b64decode(body, validate=True).decode("utf-8"), True
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return "", False


def _epoch_ms(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isdigit() and len(value) <= 16:
        return int(value)
    return None


def parse_event(event: Any) -> ProxyRequest:
    if not isinstance(event, Mapping):
        return ProxyRequest(body="")
    body, decodable = _body(event)
    context = event.get("requestContext")
    context = context if isinstance(context, Mapping) else {}
    identity = context.get("identity")
    identity = identity if isinstance(identity, Mapping) else {}
    request_id = context.get("requestId")
    source_ip = identity.get("sourceIp")
    return ProxyRequest(
        body=body,
        decodable=decodable,
        headers=_headers(event),
        request_id=request_id if isinstance(request_id, str) else "",
        received_at_ms=_epoch_ms(context.get("requestTimeEpoch")),
        source_ip=source_ip if isinstance(source_ip, str) else "",
    )


def response(status: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON answer, written compact like the request templates' answers."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
        "isBase64Encoded": False,
    }
