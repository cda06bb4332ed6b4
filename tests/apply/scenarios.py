"""Sample deliveries for examples/complete: one signed event per source kind, and its secrets.

Shared by the end-to-end tests and `make demo`.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field

from tools.signing import sign

SECRETS = {
    "stripe": "whsec_stripe_local_test_secret",
    "github": "github-local-test-secret",
    "shopify": "shpss_local_test_secret",
    "slack": "slack-local-signing-secret",
    "billing": "whsec_" + base64.b64encode(b"standard-webhooks-local-key-0001").decode(),
    "partner": "partner-local-test-secret",
    "monorepo": "github-monorepo-local-test-secret",
    "exports": "exports-local-test-secret",
}
SCHEMES = {
    "stripe": "stripe",
    "github": "github",
    "shopify": "shopify",
    "slack": "slack",
    "billing": "standard_webhooks",
    "partner": "hmac_sha256",
    "internal": "none",
    "monorepo": "github",
    "exports": "hmac_sha256",
}
PARTNER_HMAC = {"hmac_header": "X-Partner-Signature", "hmac_encoding": "base64", "hmac_prefix": "sha256="}
# The sources whose bodies the edge writes to the payload store (payload_store = "s3").
PAYLOAD_SOURCES = ("monorepo", "exports")
EXPORTS_HMAC = {"hmac_header": "X-Export-Signature", "hmac_encoding": "hex", "hmac_prefix": ""}


@dataclass
class Delivery:
    source: str
    body: bytes
    headers: dict[str, str]
    label: str
    expect_status: int = 200
    expect_outcome: str = "processed"  # processed | duplicate | rejected | invalid | dlq | none
    event_type: str | None = None
    notes: dict[str, str] = field(default_factory=dict)


def signed(
    source: str,
    payload: dict,
    *,
    event_type: str | None = None,
    msg_id: str | None = None,
    label: str = "valid",
    tamper: bool = False,
    secret: str | None = None,
) -> Delivery:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    scheme = SCHEMES[source]
    headers = {"Content-Type": "application/json"}
    if scheme != "none":
        extra = PARTNER_HMAC if source == "partner" else {}
        headers |= sign(
            scheme,
            secret or SECRETS[source],
            body,
            timestamp=int(time.time()),
            msg_id=msg_id,
            event_type=event_type,
            **extra,
        )
        if source == "partner":
            headers["X-Partner-Delivery"] = msg_id or str(uuid.uuid4())
            if event_type:
                headers["X-Partner-Event"] = event_type
    elif msg_id:
        headers["X-Request-Id"] = msg_id
    if tamper:
        # One byte changed after signing: what a forger or a re-serialising proxy does.
        body = body.replace(b'"amount":', b'"amount": ', 1) if b'"amount":' in body else body + b" "
    return Delivery(
        source,
        body,
        headers,
        label,
        event_type=event_type,
        expect_outcome="rejected" if tamper else "processed",
    )


def one_per_source() -> list[Delivery]:
    """A verified event for every source kind of examples/complete."""
    u = uuid.uuid4().hex[:10]
    return [
        signed(
            "stripe",
            {"id": f"evt_{u}", "type": "payment_intent.succeeded", "data": {"amount": 4200}},
            event_type="payment_intent.succeeded",
        ),
        signed(
            "github",
            {"action": "opened", "number": 7, "amount": 1},
            event_type="pull_request",
            msg_id=f"gh-{u}",
        ),
        signed(
            "shopify",
            {"id": 820982911946154508, "total_price": "12.50 €", "amount": 1},
            event_type="orders/create",
            msg_id=f"shop-{u}",
        ),
        signed("slack", {"type": "event_callback", "event_id": f"Ev{u}", "event": {"type": "app_mention"}}),
        signed(
            "billing",
            {"type": "invoice.paid", "data": {"amount": 990, "note": "a&b+c=d%e"}},
            msg_id=f"msg_{u}",
        ),
        signed(
            "partner",
            {"type": "shipment.created", "amount": 3},
            event_type="shipment.created",
            msg_id=f"p-{u}",
        ),
        signed("internal", {"type": "audit.tick", "at": u}),
    ]


def github_push(size: int, source: str = "monorepo") -> Delivery:
    """A GitHub push event of at least `size` bytes (a large monorepo's), signed for `source`."""
    commits: list[dict] = []
    total = 0
    while total < size:
        commit = {"id": uuid.uuid4().hex, "message": "refactor: " + "x" * 900, "added": ["src/a.py"]}
        commits.append(commit)
        total += len(json.dumps(commit, separators=(",", ":"))) + 1
    body = json.dumps({"ref": "refs/heads/main", "commits": commits}, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"} | sign(
        "github", SECRETS[source], body, msg_id=str(uuid.uuid4()), event_type="push"
    )
    return Delivery(source, body, headers, "push", event_type="push")


def binary_export(body: bytes) -> Delivery:
    """A partner export to `exports`: any bytes (here not UTF-8), HMAC-SHA256 hex signed."""
    headers = {"Content-Type": "application/octet-stream", "X-Export-Id": str(uuid.uuid4())}
    headers |= sign("hmac_sha256", SECRETS["exports"], body, **EXPORTS_HMAC)
    return Delivery("exports", body, headers, "binary")
