"""A mixed stream of webhook requests with the answer and the ending each one must get.

`generate(rng, size, sources)` plans every request up front from one `random.Random`,
so one seed reproduces the stream. Each `Planned` request knows what the contract says
must happen to it (`expected_status`, `expected_end`, `expected_reason`, and for
verified events the `expected_event_id` derived independently of the processor).

Signatures are computed when a delivery is first sent (timestamps must be fresh when
API Gateway receives them); every later request of the same `Delivery` (an exact
duplicate, a sender retry) reuses the very same headers and body.

Sources with payload_store = "s3" (issue 14) take any bytes up to API Gateway's 10 MB: their
valid deliveries get body sizes drawn up to 10 MB (a few above 1 MB per run: `LARGE_PER_1000`),
past the queue's limit too (what `oversize` means on the queue API is accepted there; its
`oversize` is above API Gateway's 10 MB, a 413, as many as `huge`), and exports sends binary
bodies that are not UTF-8 (at least one per stream). The payloads API has no validator: malformed
JSON, non-UTF-8 JSON and empty JSON bodies sent to an s3 source are stored, verified, and
recorded invalid (invalid_json); JSON scalars and content types the queue API refuses (415) are
processed. Invalid characters and the source removed while queued go to queue sources only.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tests.harness.strategies import TRICKY
from tools.signing import sign

from .deployed import OCTET_STREAM, SourceDef

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# The parameter spellings api.tf keys every media type's template and model by as well
# (Stripe sends `application/json; charset=utf-8`): each must be accepted like the bare type.
CHARSET_SPELLINGS = ("; charset=utf-8", ";charset=utf-8", "; charset=UTF-8", ";charset=UTF-8")
TEXT = "text/plain"
# API Gateway's own payload limit.
API_GATEWAY_MAX_BYTES = 10 * 1024 * 1024
# Present in the body of a delivery the fault injector fails on every attempt.
POISON_TOKEN = "reliability-poison-3f9c1e"
# Present in the body of a delivery whose source the processor does not know while it is queued
# (the source was removed from the processor's configuration, then put back).
ORPHAN_TOKEN = "reliability-orphan-7d21a4"
# docs/message-contract.md: schemes whose delivery id is an unsigned header and that sign no
# timestamp are keyed by the body's hash, so a captured request replayed under fresh delivery ids
# is a duplicate of the first row, never a new event.
BODY_HASH_SCHEMES = frozenset({"github", "shopify", "hmac_sha256"})
# Schemes whose event id is the sender's delivery id (so a different body under it is a conflict).
DELIVERY_ID_SCHEMES = frozenset({"stripe", "slack", "standard_webhooks", "none"})

# Kind -> weight in the mix. Every kind appears at least once in a stream of
# `len(KIND_WEIGHTS)` requests or more.
KIND_WEIGHTS: dict[str, float] = {
    "valid": 48,
    "duplicate": 9,  # an exact resend of an earlier delivery (new request, same headers and body)
    "forged": 3,  # a real delivery's ids and body with a signature under the wrong secret
    "bad_signature": 5,  # wrong secret, tampered body, missing or malformed signature
    "stale": 3,  # a valid signature over a timestamp outside the tolerance (past or future)
    "non_utf8": 1,  # bytes that are not UTF-8: U+FFFD in the template, refused with 400
    "malformed_json": 3,  # 400 at the edge (request validator)
    "json_scalar": 1,  # 400 at the edge: the model wants an object or an array
    "malformed_form": 2,  # form-urlencoded that strict parsing refuses: processed, with a parse warning
    "unsupported_type": 3,  # 415: no request template for that Content-Type
    "oversize": 2,  # 413: larger than the queue's MaximumMessageSize
    "huge": 0.05,  # 413: larger than API Gateway's 10 MB
    "empty_body": 1,  # 400
    "invalid_chars": 1,  # 400: characters SQS never accepts
    "unknown_path": 1,  # no such resource
    "poison": 1,  # a valid delivery whose processing fails on every attempt: DLQ
    # Operator faults (issue 9). Secrets written quoted or as a key/value object are the
    # stripe, slack and billing sources' own (deployed.SENDERS), so every delivery to them
    # covers that. A mistyped secret is the stream's tail (`generate`'s `mistyped`).
    "source_removed": 1,  # its source is missing from the processor's config: DLQ, replayed
    "conflict": 2,  # an earlier event's delivery id with a different body: a conflict row
    "fresh_delivery_id": 2,  # a captured github/shopify/hmac request resent under a new delivery id
}
EDGE_FAULTS = ((500, 503), (503, 503), (400, 503), (403, 503), (302, 502))  # (SQS answer, client answer)
# The payloads API answers 503 for anything but S3's 2xx (payload_api.tf's integration responses).
S3_EDGE_FAULTS = ((500, 503), (503, 503), (403, 503), (400, 503))  # (S3 answer, client answer)
# s3 sources: deliveries above 1 MB per 1000 requests (each up to 10 MB is built when sent).
LARGE_PER_1000 = 2
LARGE_MIN_BYTES = 1_000_000
SENDER_RETRY_CHANCE = 0.7  # a sender that got a 5xx delivers again
DUPLICATE_WINDOW = 200  # duplicates resend one of the last N deliveries (fresh timestamps)
TAIL_MISTYPED_SHARE = 0.25  # of the tail's requests go to the source whose secret is mistyped


def event_id_for(source: SourceDef, delivery_id: str | None, queued_body: bytes) -> str:
    """docs/message-contract.md: `<source>#<delivery_id>`, else `<source>#sha256:<hex>`.

    Always the body hash for the schemes whose delivery id is unsigned (BODY_HASH_SCHEMES).
    """
    if delivery_id and source.scheme not in BODY_HASH_SCHEMES:
        return f"{source.name}#{delivery_id}"
    return f"{source.name}#sha256:{hashlib.sha256(queued_body).hexdigest()}"


def queued_bytes(body: bytes) -> bytes:
    """What reaches SQS: API Gateway hands templates the payload decoded as UTF-8 (U+FFFD for bad bytes)."""
    return body.decode("utf-8", errors="replace").encode("utf-8")


def received_bytes(source: SourceDef, body: bytes) -> bytes:
    """The bytes the processor sees: queued_bytes for a queue source, the body itself for an
    s3 source (binary media types */*: the object is the body as sent)."""
    return body if source.s3 else queued_bytes(body)


@dataclass
class Delivery:
    """One delivery as its sender makes it: body, content type, ids and how it is signed."""

    source: SourceDef
    body: bytes
    content_type: str | None
    delivery_id: str | None = None  # the sender's id, header or body
    event_type: str | None = None
    # valid | wrong_secret | tampered | missing | malformed | stale | future | missing_timestamp
    # | missing_delivery_id
    signing: str = "valid"
    secret_index: int = 0  # which secret of a rotation pair signs
    huge_size: int = 0  # > 0: the body is this many bytes, built when sent
    pad_to: int = 0  # > 0: `body` padded to this many bytes when sent (s3 sources' large bodies)
    # A captured request resent: replay_of's very headers and body, under this delivery id.
    replay_of: Delivery | None = None
    _headers: dict[str, str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def payload(self) -> bytes:
        if self.huge_size:
            return b'{"pad":"' + b"x" * (self.huge_size - 10) + b'"}'
        if self.pad_to > len(self.body):
            return padded(self.body, self.content_type, self.pad_to)
        return self.body

    def size(self) -> int:
        return self.huge_size or max(self.pad_to, len(self.body))

    def received(self) -> bytes:
        """What the processor sees of this delivery (`received_bytes`)."""
        return received_bytes(self.source, self.payload())

    def headers(self) -> dict[str, str]:
        """The request headers, signed at first use and identical for every resend."""
        if self.replay_of is not None:
            captured = self.replay_of.headers()  # outside our lock: it takes the original's
            with self._lock:
                if self._headers is None:
                    captured[_delivery_id_header(self.source)] = self.delivery_id or ""
                    self._headers = captured
                return dict(self._headers)
        with self._lock:
            if self._headers is None:
                self._headers = self._build_headers(int(time.time()))
            return dict(self._headers)

    def _secret(self) -> str | None:
        secret = self.source.secret
        if secret and secret.startswith("["):
            return json.loads(secret)[self.secret_index]
        return secret

    def _build_headers(self, now: int) -> dict[str, str]:
        source = self.source
        headers: dict[str, str] = {}
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        if source.scheme == "none":
            if self.delivery_id:
                headers[source.delivery_id_header or "X-Delivery-Id"] = self.delivery_id
            if self.event_type:
                headers[source.event_type_header or "X-Event-Type"] = self.event_type
            return headers
        tolerance = source.timestamp_tolerance_seconds
        timestamp = now
        if self.signing == "stale":
            timestamp = now - tolerance - 120
        elif self.signing == "future":
            timestamp = now + tolerance + 120
        secret = self._secret()
        if self.signing == "wrong_secret":
            secret = "whsec_" + base64.b64encode(b"not the sender's secret").decode()
        body = self.payload()
        signed = sign(
            source.scheme,
            secret,
            body,
            timestamp=timestamp,
            msg_id=self.delivery_id,
            event_type=self.event_type,
            hmac_header=source.signature_header,
            hmac_encoding=source.signature_encoding,
            hmac_prefix=source.signature_prefix,
        )
        signature_header = _signature_header(source)
        if self.signing == "tampered":
            # Still well-formed for its content type, so only the signature check can catch it.
            self.body = body + {JSON: b"\n", FORM: b"&tampered=1"}.get(_media(self.content_type), b"!")
            self.pad_to = 0  # the padding is in the body now
        elif self.signing == "missing":
            signed.pop(signature_header)
            signed.pop("X-Hub-Signature", None)
        elif self.signing == "malformed":
            signed[signature_header] = _MALFORMED[source.scheme]
        elif self.signing == "missing_timestamp":
            signed.pop("X-Slack-Request-Timestamp", None)
            signed.pop("webhook-timestamp", None)
        elif self.signing == "missing_delivery_id":
            signed.pop("webhook-id", None)
        if source.scheme == "hmac_sha256":
            if self.delivery_id and source.delivery_id_header:
                signed[source.delivery_id_header] = self.delivery_id
            if self.event_type and source.event_type_header:
                signed[source.event_type_header] = self.event_type
        headers.update(signed)
        return headers


def _media(content_type: str | None) -> str:
    return (content_type or JSON).split(";")[0].strip().lower()


def padded(body: bytes, content_type: str | None, size: int) -> bytes:
    """`body` grown to exactly `size` bytes, still well-formed for its content type: a JSON
    object or array gets one more long string, a form one more field, an octet stream random
    bytes seeded by the body's hash (so the padding differs between deliveries), text spaces."""
    missing = size - len(body)
    media = _media(content_type)
    stripped = body.rstrip()
    if media == JSON and stripped[-1:] in (b"}", b"]") and missing >= 16:
        end = len(stripped) - 1
        filler = b',"bulk":"' if stripped[-1:] == b"}" else b',"'
        filler += b"x" * (missing - len(filler) - 1) + b'"'
        return body[:end] + filler + body[end:]
    if media == FORM and missing >= 8:
        return body + b"&bulk=" + b"x" * (missing - 6)
    seed = int.from_bytes(hashlib.sha256(body).digest()[:8], "big")
    if media == OCTET_STREAM:
        return body + random.Random(seed).randbytes(missing)
    return body + b" " * missing


_MALFORMED = {
    "stripe": "t=1700000000,v1=not-hex",
    "github": "sha1=0123456789abcdef",
    "shopify": "not base64 at all!",
    "slack": "v1=00",
    "standard_webhooks": "v2,AAAA",
    "hmac_sha256": "zz-not-a-mac",
}


def _delivery_id_header(source: SourceDef) -> str:
    return (
        {
            "github": "X-GitHub-Delivery",
            "shopify": "X-Shopify-Webhook-Id",
            "standard_webhooks": "webhook-id",
        }.get(source.scheme)
        or source.delivery_id_header
        or "X-Delivery-Id"
    )


def _signature_header(source: SourceDef) -> str:
    return (
        {
            "stripe": "Stripe-Signature",
            "github": "X-Hub-Signature-256",
            "shopify": "X-Shopify-Hmac-Sha256",
            "slack": "X-Slack-Signature",
            "standard_webhooks": "webhook-signature",
        }.get(source.scheme)
        or source.signature_header
        or ""
    )


def expected_rejection(source: SourceDef, signing: str) -> str | None:
    """The processor's reason for a delivery signed this way (signatures.py's order of checks)."""
    if source.scheme == "none" or signing == "valid":
        return None
    return {
        "wrong_secret": "signature_mismatch",
        "tampered": "signature_mismatch",
        "missing": "missing_signature",
        "malformed": "malformed_signature",
        "stale": "stale_timestamp",
        "future": "future_timestamp",
        "missing_timestamp": "missing_timestamp",
        "missing_delivery_id": "missing_delivery_id",
    }[signing]


@dataclass
class Planned:
    """One HTTP request of the stream, what it must get, and (after sending) what it got."""

    index: int
    kind: str
    path: str
    delivery: Delivery
    expected_status: frozenset[int]
    expected_end: str  # processed | rejected | invalid | dlq | none (nothing queued, nothing stored)
    expected_reason: str | None = None
    expected_event_id: str | None = None  # verified events: the row every copy must end in
    # The status the edge fault hook answers instead of the service: SQS's (sqs_fault), or
    # S3's for an s3 source (s3_fault).
    edge_fault: int | None = None
    method: str = "POST"
    # Operator faults: rejected for this reason first, then requeued (`history requeue`) and
    # processed, its rejected row superseded; or queued while its source was removed
    # (transient unknown_source, DLQ), then replayed (`dlq replay`) and processed.
    rejected_first: str | None = None
    orphaned: bool = False
    # What happened:
    status: int | None = None
    request_id: str | None = None
    response_body: str = ""
    edge_fault_fired: bool = False

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def source(self) -> str:
        return self.delivery.source.name


# --------------------------------------------------------------------------- bodies


def _text(rng: random.Random, max_pieces: int = 4) -> str:
    pieces = [rng.choice(TRICKY) for _ in range(rng.randint(0, max_pieces))]
    pieces.insert(rng.randint(0, len(pieces)), uuid.UUID(int=rng.getrandbits(128)).hex[:8])
    return "".join(pieces)


def _padding(rng: random.Random) -> str:
    """Mostly small bodies; some of a few KB (still well under the queue's limit)."""
    roll = rng.random()
    if roll < 0.85:
        return ""
    return "é" * rng.randint(100, 2000) if roll < 0.95 else "a" * rng.randint(2000, 6000)


def _json(document: Any, rng: random.Random) -> bytes:
    # Senders format JSON in different ways; the signature covers the exact bytes.
    if rng.random() < 0.5:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(document, ensure_ascii=rng.random() < 0.3, indent=rng.choice([None, 2]))
    return text.encode("utf-8")


def _new_id(rng: random.Random, prefix: str = "") -> str:
    return prefix + str(uuid.UUID(int=rng.getrandbits(128), version=4))


# Event types by scheme, some matching examples/complete's consumers' filters and some not
# (payments: stripe/billing payment_intent.* and invoice.*; repo-activity: github issues and
# pull_request whose body's action is "opened").
STRIPE_TYPES = ("invoice.paid", "payment_intent.succeeded", "payment_intent.created", "charge.refunded")
STANDARD_WEBHOOKS_TYPES = ("user.created", "invoice.paid", "invoice.payment_failed", "invoices.x")
GITHUB_TYPES = ("issues", "pull_request", "push", "ping")
GITHUB_ACTIONS = ("opened", "opened", "closed", "edited")
HEADER_TYPES = ("push", "orders/create", "invoice.paid", "ping", "custom.event")


def valid_delivery(rng: random.Random, source: SourceDef) -> Delivery:
    """A delivery the processor must record as processed."""
    scheme = source.scheme
    nonce = _new_id(rng)
    data = {"nonce": nonce, "note": _text(rng), "pad": _padding(rng), "amount": rng.randint(0, 10**6)}
    content_type: str | None = JSON
    delivery_id: str | None = None
    event_type: str | None = rng.choice(GITHUB_TYPES if scheme == "github" else HEADER_TYPES)
    body: bytes
    if scheme == "stripe":
        kind = rng.choice(STRIPE_TYPES)
        document: dict[str, Any] = {"object": "event", "type": kind, "data": {"object": data}}
        if rng.random() < 0.9:
            delivery_id = _new_id(rng, "evt_")
            document = {"id": delivery_id, **document}
        body, event_type = _json(document, rng), None
    elif scheme == "slack":
        if FORM in source.content_types and rng.random() < 0.4:
            content_type = FORM
            body = urlencode(
                {"command": "/deploy", "text": _text(rng), "trigger_id": nonce, "user_id": "U123"}
            ).encode()
        else:
            delivery_id = _new_id(rng, "Ev")
            body = _json(
                {"type": "event_callback", "event_id": delivery_id, "event": {"type": "message", **data}}, rng
            )
        event_type = None
    elif scheme == "standard_webhooks":
        delivery_id = _new_id(rng, "msg_")
        body = _json({"type": rng.choice(STANDARD_WEBHOOKS_TYPES), "data": data}, rng)
        event_type = None
    elif scheme in ("github", "shopify"):
        delivery_id = _new_id(rng)
        body = _json({"action": rng.choice(GITHUB_ACTIONS), "payload": data}, rng)
        if scheme == "github" and FORM in source.content_types and rng.random() < 0.3:
            # A hook left at GitHub's default content type: payload=<urlencoded JSON>.
            content_type, body = FORM, urlencode({"payload": body.decode("utf-8")}).encode()
    elif scheme == "hmac_sha256":
        if source.delivery_id_header:
            delivery_id = _new_id(rng)
        body = _json([data] if rng.random() < 0.2 else {"event": data}, rng)
        if not source.event_type_header:
            event_type = None
        if OCTET_STREAM in source.content_types and rng.random() < 0.4:
            content_type, body = OCTET_STREAM, binary_body(rng)
    else:  # none
        content_type = rng.choice([ct for ct in source.content_types])
        if source.delivery_id_header and rng.random() < 0.7:
            delivery_id = _new_id(rng, "d-")
        if not source.event_type_header:
            event_type = None
        if content_type == FORM:
            body = urlencode({"nonce": nonce, "note": _text(rng)}).encode()
        elif content_type == TEXT:
            body = f"plain text {nonce} {_text(rng)}".encode()
        else:
            body = _json({"event": data}, rng)
    if content_type in (JSON, FORM) and rng.random() < 0.1:
        content_type += rng.choice(CHARSET_SPELLINGS)
    elif content_type == JSON and rng.random() < 0.05:
        content_type = None  # no Content-Type: API Gateway assumes application/json
    return Delivery(
        source=source,
        body=body,
        content_type=content_type,
        delivery_id=delivery_id,
        event_type=event_type,
        secret_index=rng.randint(0, 1) if source.secret and source.secret.startswith("[") else 0,
    )


def binary_body(rng: random.Random, size: int = 0) -> bytes:
    """An export: bytes that are not UTF-8 (a zip's magic, bytes no UTF-8 text has, random
    bytes), unique per delivery, of `size` bytes or a few hundred."""
    head = b"PK\x03\x04" + rng.randbytes(16) + b"\xff\xfe\x80\xc3(" + _new_id(rng).encode()
    length = max(size, len(head) + rng.randint(0, 2000))
    return head + rng.randbytes(length - len(head))


def _expected_event_id(delivery: Delivery) -> str:
    return event_id_for(delivery.source, delivery.delivery_id, delivery.received())


def s3_body_size(rng: random.Random, max_message_size: int, large: bool) -> int:
    """A body size for an s3 source's delivery (0: as generated, mostly small). `large`: above
    1 MB, up to API Gateway's 10 MB (exactly 10 MB now and then)."""
    if large:
        if rng.random() < 0.25:
            return API_GATEWAY_MAX_BYTES
        return rng.randint(LARGE_MIN_BYTES, API_GATEWAY_MAX_BYTES)
    roll = rng.random()
    if roll < 0.7:
        return 0
    if roll < 0.9:
        return rng.randint(16 * 1024, max_message_size)  # what the queue path takes too
    return rng.randint(max_message_size + 1, LARGE_MIN_BYTES)  # what the queue path refuses (413)


def conflicting_delivery(rng: random.Random, original: Delivery) -> Delivery:
    """Another body under `original`'s delivery id, validly signed (a sender bug, or an edit)."""
    source = original.source
    did = original.delivery_id
    assert did and source.scheme in DELIVERY_ID_SCHEMES, "conflicts need a delivery-id keyed event"
    data = {"nonce": _new_id(rng), "note": _text(rng), "revision": rng.randint(2, 9)}
    if source.scheme == "stripe":
        body = _json({"id": did, "object": "event", "type": "invoice.paid", "data": {"object": data}}, rng)
    elif source.scheme == "slack":
        body = _json({"type": "event_callback", "event_id": did, "event": {"type": "message", **data}}, rng)
    elif source.scheme == "standard_webhooks":
        body = _json({"type": "user.updated", "data": data}, rng)
    else:
        body = _json({"event": data}, rng)
    return Delivery(source, body, JSON, did, original.event_type)


def fresh_delivery_id(rng: random.Random, original: Delivery) -> Delivery:
    """`original` captured and resent with a new delivery id header (its signature still verifies)."""
    assert original.source.scheme in BODY_HASH_SCHEMES
    return Delivery(
        original.source,
        original.body,
        original.content_type,
        _new_id(rng),
        original.event_type,
        pad_to=original.pad_to,
        replay_of=original,
    )


def orphan(delivery: Delivery) -> Delivery:
    """The delivery with ORPHAN_TOKEN in its body: its source is unknown to the processor while queued."""
    return _mark(delivery, "orphan", ORPHAN_TOKEN)


# --------------------------------------------------------------------------- the stream


def plan_accepted(delivery: Delivery, kind: str = "valid") -> Planned:
    """A request the edge accepts (200): recorded processed, or rejected for its signature."""
    reason = expected_rejection(delivery.source, delivery.signing)
    path = f"/webhooks/{delivery.source.name}"
    if reason:
        return Planned(0, kind, path, delivery, frozenset({200}), "rejected", reason)
    return Planned(
        0, kind, path, delivery, frozenset({200}), "processed", expected_event_id=_expected_event_id(delivery)
    )


def _accepted_invalid(delivery: Delivery, kind: str, reason: str) -> Planned:
    """An s3 source's delivery that the edge stores and the processor records invalid."""
    path = f"/webhooks/{delivery.source.name}"
    return Planned(0, kind, path, delivery, frozenset({200}), "invalid", reason)


def _mark(delivery: Delivery, key: str, token: str) -> Delivery:
    """`token` into the body, keeping it well-formed for its content type (before it is signed)."""
    if b'"nonce"' in delivery.body:
        delivery.body = delivery.body.replace(b'"nonce"', f'"{key}":"{token}","nonce"'.encode(), 1)
    elif _media(delivery.content_type) == FORM:
        delivery.body += f"&{key}={token}".encode()
    else:
        delivery.body += f" {token}".encode()
    assert token.encode() in delivery.body
    return delivery


def poison(delivery: Delivery) -> Delivery:
    """The delivery with POISON_TOKEN in its body: the fault injector fails it on every attempt."""
    return _mark(delivery, "poison", POISON_TOKEN)


def as_stream(requests: list[Planned], seed: int = 0, max_message_size: int = 262144) -> Stream:
    """Hand-written requests as a stream (indexes assigned), for targeted scenarios."""
    for index, request in enumerate(requests):
        request.index = index
    return Stream(seed=seed, requests=requests, max_message_size=max_message_size)


@dataclass
class Stream:
    seed: int
    requests: list[Planned]
    max_message_size: int
    # The source whose secret the operator mistypes before the tail (requests[tail_start:])
    # is sent, and fixes once it has drained.
    mistyped: str | None = None
    tail_start: int | None = None

    @property
    def head(self) -> Stream:
        split = len(self.requests) if self.tail_start is None else self.tail_start
        return dataclasses.replace(self, requests=self.requests[:split])

    @property
    def tail(self) -> Stream:
        split = len(self.requests) if self.tail_start is None else self.tail_start
        return dataclasses.replace(self, requests=self.requests[split:])

    def kinds(self) -> Counter[str]:
        return Counter(r.kind for r in self.requests)


def generate(
    rng: random.Random,
    size: int,
    sources: dict[str, SourceDef],
    *,
    seed: int,
    edge_fault_rate: float = 0.05,
    max_message_size: int = 16384,
    mistyped: str | None = None,
) -> Stream:
    """`size` requests (sender retries after an edge 5xx included).

    With `mistyped` (a signed source), the stream's tail (from `Stream.tail_start`, about a
    tenth of it) is sent after the operator wrote a wrong secret for that source. In the tail
    the source gets only `secret_fixed_later` deliveries and resends of its processed events:
    all valid, so all rejected first, then recovered by `history requeue` once the secret is
    fixed. Every other kind goes to the other sources, so each rejected row the requeue
    picks up is a real event.
    """
    if mistyped is not None and sources[mistyped].scheme == "none":
        raise ValueError("a mistyped secret needs a signed source")
    tail_from = size - max(4, size // 10) if mistyped else size + 1
    tail_start: int | None = None  # set when the tail begins

    def pools(exclude: str | None) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
        names = sorted(n for n in sources if n != exclude)
        signed = [n for n in names if sources[n].scheme != "none"]
        timestamped = [n for n in names if sources[n].scheme in ("stripe", "slack", "standard_webhooks")]
        form_sources = [n for n in names if FORM in sources[n].content_types]
        # The queue API's edge refusals (415, a model, invalid characters) and the source
        # removed while queued (a transient unknown_source) are the queue path's.
        queue_names = [n for n in names if not sources[n].s3]
        return names, signed, timestamped, form_sources, queue_names

    main_pools, tail_pools = pools(None), pools(mistyped)
    s3_names = sorted(n for n in sources if sources[n].s3)
    kinds = list(KIND_WEIGHTS)
    plan = rng.choices(kinds, weights=[KIND_WEIGHTS[k] for k in kinds], k=size)
    # Every kind at least once, wherever the stream is long enough: in place of "valid" slots
    # of the first half (forgeries and sender retries add requests, so the plan's tail may
    # not be reached).
    missing = [k for k in kinds if k not in plan[: size // 2]]
    free = [i for i, k in enumerate(plan[: size // 2]) if k == "valid"]
    for slot, kind in zip(rng.sample(free, min(len(free), len(missing))), missing, strict=False):
        plan[slot] = kind
    # At most one huge body per 1000 requests: each is 10 MB of memory while sent.
    huge_budget = max(1, size // 1000)
    # Above 10 MB to an s3 source (`oversize` there): as many; the rest are past the queue's limit.
    s3_oversize_budget = max(1, size // 1000)
    # s3 sources' bodies above 1 MB: LARGE_PER_1000 per 1000 requests (at least one), each the
    # next s3 delivery planned once the stream passes one of these positions.
    large_count = max(1, LARGE_PER_1000 * size // 1000)
    low = size // 20
    large_at = sorted(rng.sample(range(low, max(low + large_count, size * 19 // 20)), large_count))
    large_at = large_at if s3_names else []
    large_due = 0
    binary_due = True

    requests: list[Planned] = []
    recent: list[Planned] = []  # deliveries a duplicate may resend

    def add(request: Planned) -> None:
        request.index = len(requests)
        requests.append(request)
        if request.edge_fault is None and request.expected_end in ("processed", "rejected", "invalid"):
            recent.append(request)
            del recent[:-DUPLICATE_WINDOW]

    def settled_events(schemes: frozenset[str]) -> list[Planned]:
        """Recent processed deliveries of these schemes that no other operator fault touches."""
        return [
            r
            for r in recent
            if r.expected_end == "processed"
            and r.delivery.source.scheme in schemes
            and r.delivery.delivery_id
            and not (r.rejected_first or r.orphaned or r.delivery.huge_size)
            and r.delivery.size() < LARGE_MIN_BYTES
            and (r.delivery.source.scheme != "hmac_sha256" or r.delivery.source.delivery_id_header)
            and not (in_tail and r.source == mistyped)
        ]

    def sized(request: Planned) -> Planned:
        """An s3 source's accepted delivery with a body size drawn (one above 1 MB when due)."""
        nonlocal large_due, binary_due
        delivery = request.delivery
        if not delivery.source.s3 or request.expected_status != frozenset({200}) or delivery.huge_size:
            return request
        if delivery.replay_of is not None or delivery.signing == "tampered":
            return request  # their bytes are another delivery's, or fixed once signed
        if binary_due and OCTET_STREAM in delivery.source.content_types and request.kind == "valid":
            binary_due = False  # every stream has at least one export that is not UTF-8
            if delivery.content_type != OCTET_STREAM:
                delivery.body, delivery.content_type = binary_body(rng), OCTET_STREAM
                request.expected_event_id = _expected_event_id(delivery)
        target = s3_body_size(rng, max_message_size, large=large_due > 0)
        if target > len(delivery.body):
            large_due -= target >= LARGE_MIN_BYTES
            delivery.pad_to = target
            if request.expected_event_id is not None:
                request.expected_event_id = _expected_event_id(delivery)
        return request

    in_tail = False
    for kind in plan:
        if len(requests) >= size:
            break
        while large_at and len(requests) >= large_at[0]:
            large_at.pop(0)
            large_due += 1
        if not in_tail and len(requests) >= tail_from:
            in_tail, tail_start = True, len(requests)
            kind = "secret_fixed_later"  # at least one
        names, signed, timestamped, form_sources, queue_names = tail_pools if in_tail else main_pools
        if in_tail and rng.random() < TAIL_MISTYPED_SHARE:
            kind = "secret_fixed_later"
        if kind == "source_removed":
            names = queue_names
        source = sources[rng.choice(names)]
        if kind in ("huge", "non_utf8") and rng.random() < 0.5:
            # API Gateway's own limit, on the payloads API too; bytes that are not UTF-8, which
            # only the payloads API keeps as they are.
            source = sources[rng.choice([n for n in names if sources[n].s3] or names)]
        request: Planned
        if kind == "huge" and huge_budget <= 0:
            kind = "valid"
        conflict_candidates = settled_events(DELIVERY_ID_SCHEMES) if kind == "conflict" else []
        replay_candidates = settled_events(BODY_HASH_SCHEMES) if kind == "fresh_delivery_id" else []
        # In the tail the mistyped source's rejected events may be resent (rejected too, then
        # recovered as duplicates); its other endings may not: their reason could change.
        resendable = [
            r
            for r in recent
            if (not in_tail or r.source != mistyped or r.expected_end == "processed")
            and r.delivery.size() < LARGE_MIN_BYTES  # a large body is sent once (and its retry)
        ]
        if (
            kind == "valid"
            or (kind == "duplicate" and not resendable)
            or (kind == "conflict" and not conflict_candidates)
            or (kind == "fresh_delivery_id" and not replay_candidates)
        ):
            request = plan_accepted(valid_delivery(rng, source), "valid")
        elif kind == "duplicate":
            original = rng.choice(resendable)
            request = dataclasses.replace(original, kind="duplicate")
            if in_tail and original.source == mistyped:
                request.rejected_first = "signature_mismatch"
        elif kind == "secret_fixed_later":
            assert mistyped is not None
            request = plan_accepted(valid_delivery(rng, sources[mistyped]), kind)
            request.rejected_first = "signature_mismatch"
        elif kind == "source_removed":
            request = plan_accepted(orphan(valid_delivery(rng, source)), kind)
            request.orphaned = True
        elif kind == "conflict":
            original = rng.choice(conflict_candidates)
            request = plan_accepted(conflicting_delivery(rng, original.delivery), kind)
            assert request.expected_event_id == original.expected_event_id
        elif kind == "fresh_delivery_id":
            original = rng.choice(replay_candidates)
            request = plan_accepted(fresh_delivery_id(rng, original.delivery), kind)
            assert request.expected_event_id == original.expected_event_id
        elif kind == "forged":
            source = sources[rng.choice(signed)]
            real = valid_delivery(rng, source)
            # The real one first, then the forgery with the same ids and body.
            add(plan_accepted(real, "valid"))
            forged = Delivery(
                source, real.body, real.content_type, real.delivery_id, real.event_type, "wrong_secret"
            )
            request = plan_accepted(forged, "forged")
        elif kind == "bad_signature":
            source = sources[rng.choice(signed)]
            delivery = valid_delivery(rng, source)
            options = ["wrong_secret", "tampered", "missing", "malformed"]
            if source.scheme == "slack":
                options.append("missing_timestamp")
            if source.scheme == "standard_webhooks":
                options += ["missing_timestamp", "missing_delivery_id"]
            delivery.signing = rng.choice(options)
            request = plan_accepted(delivery, "bad_signature")
        elif kind == "stale":
            source = sources[rng.choice(timestamped)]
            delivery = valid_delivery(rng, source)
            delivery.signing = rng.choice(["stale", "stale", "future"])
            request = plan_accepted(delivery, "stale")
        elif kind == "non_utf8" and source.s3 and OCTET_STREAM in source.content_types:
            # An export's bytes, as they are: verified over the bytes and processed.
            delivery = valid_delivery(rng, source)
            delivery.body, delivery.content_type = binary_body(rng), OCTET_STREAM
            request = plan_accepted(delivery, kind)
        elif kind == "non_utf8":
            delivery = valid_delivery(rng, source)
            raw = b'{"bytes":"\xff\xfe\xc3(", "nonce":"' + _new_id(rng).encode() + b'"}'
            delivery.body, delivery.content_type = raw, JSON
            if source.s3:
                # The bytes reach the processor as sent: verified, then no JSON (RFC 8259 is UTF-8).
                request = _accepted_invalid(delivery, kind, "invalid_json")
            else:
                # API Gateway hands the template U+FFFD for the bad bytes, which could never verify:
                # the template refuses the body (400 invalid_body), so nothing is acknowledged.
                request = Planned(0, kind, f"/webhooks/{source.name}", delivery, frozenset({400}), "none")
        elif kind == "malformed_json":
            body = rng.choice(
                [b'{"a": ', b"{'a': 1}", b"NaN", b"[1, 2", b'{"a": 1}}', b"not json", b'{"a": "\x01"}']
            )
            delivery = valid_delivery(rng, source)
            delivery.body, delivery.content_type = body, JSON
            if source.s3:
                # No request validator on the payloads API: the processor finds it invalid.
                request = _accepted_invalid(delivery, kind, "invalid_json")
            else:
                request = Planned(0, kind, f"/webhooks/{source.name}", delivery, frozenset({400}), "none")
        elif kind == "json_scalar":
            delivery = valid_delivery(rng, source)
            delivery.body, delivery.content_type = rng.choice([b'"text"', b"42", b"true", b"null"]), JSON
            if source.s3:
                request = plan_accepted(delivery, kind)  # valid JSON: the processor takes it
            else:
                request = Planned(0, kind, f"/webhooks/{source.name}", delivery, frozenset({400}), "none")
        elif kind == "malformed_form":
            source = sources[rng.choice(form_sources)]
            delivery = valid_delivery(rng, source)
            nonce = _new_id(rng).encode()
            delivery.body = rng.choice([b"a=1&&b=" + nonce, b"no-equals-sign-" + nonce, b"x=%FF&n=" + nonce])
            delivery.content_type = FORM
            if source.scheme in ("stripe", "slack"):
                delivery.delivery_id = None  # their delivery id is in a JSON body: none in a form
            # Still the sender's event: processed (the row carries parse_warning).
            request = plan_accepted(delivery, kind)
        elif kind == "unsupported_type":
            delivery = valid_delivery(rng, source)
            unsupported = ["text/xml", "application/xml", "multipart/form-data; boundary=x", "text/html"]
            unsupported += [ct for ct in (FORM, TEXT) if ct not in source.content_types]
            delivery.content_type = rng.choice(unsupported)
            if source.s3:
                request = plan_accepted(delivery, kind)  # any Content-Type is stored, read as text
            else:
                request = Planned(0, kind, f"/webhooks/{source.name}", delivery, frozenset({415}), "none")
        elif kind == "oversize" and source.s3 and s3_oversize_budget > 0:
            # An s3 source's limit is API Gateway's 10 MB (413 from the payloads API too).
            s3_oversize_budget -= 1
            delivery = valid_delivery(rng, source)
            delivery.huge_size = API_GATEWAY_MAX_BYTES + rng.randint(1, 4000)
            request = Planned(0, kind, f"/webhooks/{source.name}", delivery, frozenset({413}), "none")
        elif kind == "oversize" and source.s3:
            # Past the queue's limit (413 on the queue API): the payloads API takes it.
            delivery = valid_delivery(rng, source)
            delivery.pad_to = max_message_size + rng.randint(1, 64 * 1024)
            request = plan_accepted(delivery, kind)
        elif kind == "oversize":
            delivery = valid_delivery(rng, source)
            delivery.body = _json({"pad": "x" * (max_message_size + rng.randint(1, 4000))}, rng)
            delivery.content_type = JSON
            request = Planned(0, kind, f"/webhooks/{source.name}", delivery, frozenset({413}), "none")
        elif kind == "huge":
            huge_budget -= 1
            delivery = valid_delivery(rng, source)
            delivery.content_type, delivery.huge_size = JSON, API_GATEWAY_MAX_BYTES + rng.randint(1, 1000)
            request = Planned(0, kind, f"/webhooks/{source.name}", delivery, frozenset({413}), "none")
        elif kind == "empty_body":
            delivery = valid_delivery(rng, source)
            delivery.body = b""
            if delivery.content_type is None or source.s3:
                delivery.content_type = JSON
            if source.s3:
                request = _accepted_invalid(delivery, kind, "invalid_json")  # stored, verified, no JSON
            else:
                request = Planned(0, kind, f"/webhooks/{source.name}", delivery, frozenset({400}), "none")
        elif kind == "invalid_chars":
            source = sources[rng.choice([n for n in form_sources if n in queue_names])]
            delivery = valid_delivery(rng, source)
            ct = rng.choice([ct for ct in source.content_types if ct != JSON])
            delivery.body, delivery.content_type = b"a=b\x00c&n=" + _new_id(rng).encode(), ct
            request = Planned(0, kind, f"/webhooks/{source.name}", delivery, frozenset({400}), "none")
        elif kind == "unknown_path":
            delivery = valid_delivery(rng, source)
            if rng.random() < 0.7:
                path, method = f"/webhooks/unknown-{rng.randint(0, 99)}", "POST"
            else:
                path, method = f"/webhooks/{source.name}", "GET"
            # 403 from the local gateway; the deployed API maps it to 404 (gateway response).
            request = Planned(0, kind, path, delivery, frozenset({403, 404}), "none", method=method)
        else:  # poison
            poisoned = [n for n in ("github", "monorepo") if n in names]
            delivery = poison(valid_delivery(rng, sources[rng.choice(poisoned)] if poisoned else source))
            request = Planned(
                0, "poison", f"/webhooks/{delivery.source.name}", delivery, frozenset({200}), "dlq"
            )

        if request.kind in ("valid", "bad_signature", "secret_fixed_later"):
            request = sized(request)
        # Edge fault: SQS fails the SendMessage (S3 the PutObject, for an s3 source); the sender
        # gets a 5xx and may deliver again.
        if (
            request.expected_status == frozenset({200})
            and request.kind != "poison"
            and rng.random() < edge_fault_rate
        ):
            sqs_status, answer = rng.choice(S3_EDGE_FAULTS if request.delivery.source.s3 else EDGE_FAULTS)
            faulted = Planned(
                0,
                request.kind,
                request.path,
                request.delivery,
                frozenset({answer}),
                "none",
                edge_fault=sqs_status,
            )
            add(faulted)
            if rng.random() < SENDER_RETRY_CHANCE and len(requests) < size:
                request.kind = "sender_retry" if request.kind == "valid" else request.kind
                add(request)
            continue
        add(request)
    return Stream(
        seed=seed,
        requests=requests[:size],
        max_message_size=max_message_size,
        mistyped=mistyped,
        tail_start=len(requests[:size]) if tail_start is None else tail_start,
    )
