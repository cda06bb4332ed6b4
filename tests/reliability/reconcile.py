"""The reconciliation check: every request the client sent, its answer, and where it ended.

For each request: the answer must be the one the contract gives that input. A 2xx
request must be in exactly one place: a history row whose `request_id` is its request
id, or whose `duplicate_request_ids` holds it, or a DLQ message whose `request_id`
attribute is it, and that place must be the one the contract gives it (the processed
row of its event, a rejected/invalid row under `<source>#request:<request_id>` with the
expected reason, or the DLQ for a poison delivery). A non-2xx request must be nowhere.

A verified request whose body differs from the body its event's row holds must be in a
`conflict` row of its own (`<source>#request:<request_id>`, `conflict_of` = the event id,
listed in that row's `conflict_request_ids`), never counted as a duplicate; whichever body
arrived first owns the event row. A rejected row that `history requeue` recovered
(`superseded_by`) is not a place of its own: its request must be on the row it names, and
only requests planned to be rejected first may have one. A request whose source was removed
while it was queued must have failed transiently with `unknown_source` (ledger).

A row whose body is in the payload store (`body_ref`, issue 14) is checked by reading the
object (`read_body`, e.g. `s3_body_reader(s3)`): its SHA-256 must be that of the body sent.
With a reader given (the stack has a store), a processed, conflict or rejected row kept
truncated is a loss: the store exists so that history never keeps a partial verified body.

Sources with payload_store = "s3" (issue 14): their message is S3's notification, so a DLQ
message's request id is the one its object key names (`ingest/<source>/<request id>`). Each
2xx request of such a source has its own object (`ingest_keys`, listed after the run), whose
bytes are exactly the body sent; its row's `body_ref` names that object (a duplicate's row,
the first copy's); the row may keep the body inline only as the same text. A non-2xx request
has no object, and no object is left that no accepted request accounts for. S3's test event
(`{"Event": "s3:TestEvent"}`, sent when a notification configuration is put) is no webhook:
it must be ignored by the processor, so one in the DLQ is a finding, never a lost request.

Consumers (`reconcile_consumers`): every processed event reaches, at least once and under
its event id, every consumer whose filter policy (as applied: the `consumers` output) matches
it, and never a consumer whose policy does not; every consumer message is the envelope of a
processed event, agreeing with its history row. Copies beyond the first are allowed (delivery
to consumers is at least once) and counted.

Processed twice: a request id in two places; a row whose `duplicate_count` (or
`conflict_count`) differs from the ids it lists (beyond MAX_RECORDED_REQUEST_IDS only the
count grows) or whose own request id is among its duplicates; a request whose processed
write took effect twice, or an event stored as new twice (from the ledger the fault
injector keeps of the processor's results).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from webhook_processor import s3_pointer

from .deployed import OCTET_STREAM, Consumer, Delivered
from .faults import Ledger
from .filter_policy import matches
from .stream import LARGE_MIN_BYTES, Planned, Stream

MAX_LISTED = 60
# The processor records at most this many request ids per row (duplicates, conflicts).
MAX_RECORDED_REQUEST_IDS = 50
# Rows whose long bodies the processor keeps in the payload store (invalid rows keep a prefix).
STORED_WHOLE_STATUSES = ("processed", "conflict", "rejected")

# body_ref ("s3://bucket/key") -> the object's bytes; raises when it cannot be read.
BodyReader = Callable[[str], bytes]


def s3_body_reader(s3: Any) -> BodyReader:
    """A BodyReader over an S3 client (the account's). Each object is read once per reader."""
    seen: dict[str, bytes] = {}

    def read(ref: str) -> bytes:
        if ref not in seen:
            if not ref.startswith("s3://") or "/" not in ref[5:]:
                raise ValueError(f"not an s3:// URI: {ref!r}")
            bucket, key = ref[5:].split("/", 1)
            seen[ref] = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return seen[ref]

    return read


def _body_ref_problem(
    row: dict[str, Any], body_sha256: str, read_body: BodyReader | None, ingest_ref: str | None = None
) -> str | None:
    """None when the row's body is kept as the contract says: whole in the row, or in the
    payload store (body_ref) as the exact bytes sent. `ingest_ref`: an s3 source's request,
    whose row must name that object (and may keep the same text inline)."""
    ref = row.get("body_ref")
    if ingest_ref is not None:
        if ref != ingest_ref:
            return f"s3 source row has body_ref {ref!r}, expected its object {ingest_ref}"
        if row.get("body_truncated"):
            return f"s3 source row {ref} kept truncated"
        if row.get("body") is not None:
            text = row["body"]
            if not isinstance(text, str) or hashlib.sha256(text.encode("utf-8")).hexdigest() != body_sha256:
                return f"s3 source row {ref} keeps an inline body that is not the body sent"
    elif not ref:
        if read_body is not None and row.get("body_truncated") and row.get("status") in STORED_WHOLE_STATUSES:
            return f"{row.get('status')} row kept truncated ({row.get('body_size')} bytes) although a payload store exists"
        return None
    if ingest_ref is None and ("body" in row or "body_truncated" in row):
        return f"row has body_ref {ref} and a body copy too"
    if read_body is None:
        return f"row has body_ref {ref}, but no reader of the payload store was given: unchecked"
    try:
        data = read_body(str(ref))
    except Exception as exc:
        return f"body_ref {ref} cannot be read: {exc!r}"[:300]
    if hashlib.sha256(data).hexdigest() != body_sha256:
        return f"the object at body_ref {ref} is not the body sent (not byte-exact)"
    return None


@dataclass
class Finding:
    problem: str  # lost | processed twice | wrong answer | wrong ending | stored after non-2xx | ...
    request_id: str | None
    index: int | None
    detail: str

    def line(self) -> str:
        where = f"#{self.index}" if self.index is not None else "-"
        return f"  {self.problem:<22} {self.request_id or '-':<38} {where:>7}  {self.detail}"


@dataclass
class Reconciliation:
    seed: int
    summary: list[tuple[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    lost: int = 0
    processed_twice: int = 0
    lost_to_consumers: int = 0  # (consumer, event) pairs the consumer's filter matches, never delivered

    @property
    def ok(self) -> bool:
        return not self.findings

    def report(self) -> str:
        width = max(len(label) for label, _ in self.summary) if self.summary else 10
        lines = [f"reliability stream  seed={self.seed}"]
        # The count as it is now: the consumers' and the harness's findings come after reconcile().
        lines += [
            f"  {label:<{width}}  {len(self.findings) if label == 'unreconciled findings' else value}"
            for label, value in self.summary
        ]
        if self.findings:
            lines.append(f"UNRECONCILED: {len(self.findings)} finding(s) (seed={self.seed}):")
            lines += [finding.line() for finding in self.findings[:MAX_LISTED]]
            if len(self.findings) > MAX_LISTED:
                lines.append(f"  ... and {len(self.findings) - MAX_LISTED} more")
            lines.append(
                f"reproduce: RELIABILITY_SEED={self.seed} python -m pytest tests/reliability -k stream -s"
            )
        return "\n".join(lines)


def reconcile(
    stream: Stream,
    rows: list[dict[str, Any]],
    dlq_messages: list[dict[str, Any]],
    left_in_queue: int,
    ledger: Ledger | None = None,
    extra_summary: list[tuple[str, Any]] | None = None,
    read_body: BodyReader | None = None,
    payload_bucket: str | None = None,
    ingest_keys: list[str] | None = None,
) -> Reconciliation:
    """`payload_bucket` and `ingest_keys` (the objects under ingest/ after the run): the s3
    sources' objects are checked too (module docstring)."""
    result = Reconciliation(seed=stream.seed)
    findings = result.findings
    twice: set[str] = set()
    lost: set[str] = set()

    by_event_id = {str(row["event_id"]): row for row in rows}
    primary: dict[str, list[dict[str, Any]]] = defaultdict(list)
    superseded: dict[str, list[dict[str, Any]]] = defaultdict(list)
    duplicate_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row.get("superseded_by"):
            superseded[str(row.get("request_id"))].append(row)
        else:
            primary[str(row.get("request_id"))].append(row)
        for request_id in row.get("duplicate_request_ids") or ():
            duplicate_of[request_id].append(row)
    in_dlq: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for message in dlq_messages:
        attribute = message.get("MessageAttributes", {}).get("request_id", {})
        if "StringValue" in attribute:
            in_dlq[str(attribute["StringValue"])].append(message)
            continue
        notification = s3_pointer.parse_body(message.get("Body"))
        if notification is not None and notification.test_event:
            findings.append(
                Finding(
                    "test event in DLQ",
                    None,
                    None,
                    f"S3's test event {message.get('MessageId')} was not ignored",
                )
            )
            continue
        pointed = [
            s3_pointer.parse_ingest_key(p.key) for p in (notification.pointers if notification else ())
        ]
        for parsed in pointed or [None]:
            in_dlq[parsed[1] if parsed else "None"].append(message)

    accepted: dict[str, Planned] = {}
    for request in stream.requests:
        rid = request.request_id
        if request.status is None or rid is None:
            findings.append(Finding("not sent", rid, request.index, f"{request.kind}: no answer recorded"))
            continue
        if request.accepted:
            accepted[rid] = request
        if request.status not in request.expected_status:
            findings.append(
                Finding(
                    "wrong answer",
                    rid,
                    request.index,
                    f"{request.kind} {request.method} {request.path}: answered {request.status}, "
                    f"expected {sorted(request.expected_status)}: {request.response_body[:120]!r}",
                )
            )
        unclear = _unclear_answer(request)
        if unclear:
            findings.append(Finding("unclear answer", rid, request.index, unclear))
        if request.edge_fault is not None and not request.edge_fault_fired:
            findings.append(Finding("fault not injected", rid, request.index, "edge SQS fault never ran"))
        places = (
            [("row", row) for row in primary.get(rid, [])]
            + [("duplicate", row) for row in duplicate_of.get(rid, [])]
            + [("dlq", message) for message in in_dlq.get(rid, [])]
        )
        if not request.accepted:
            everywhere = places + [("superseded", row) for row in superseded.get(rid, [])]
            if everywhere:
                findings.append(
                    Finding(
                        "stored after non-2xx",
                        rid,
                        request.index,
                        f"answered {request.status} but found in {[p for p, _ in everywhere]}",
                    )
                )
            continue
        problem = _check_superseded(request, superseded.get(rid, []), by_event_id)
        if problem:
            findings.append(Finding("wrong ending", rid, request.index, problem))
        if request.orphaned and ledger is not None and "unknown_source" not in ledger.transient.get(rid, ()):
            findings.append(
                Finding(
                    "wrong ending",
                    rid,
                    request.index,
                    f"queued while its source was removed, but never failed as transient unknown_source "
                    f"(transient codes: {ledger.transient.get(rid, [])})",
                )
            )
        if not places:
            if _counted_beyond_cap(request, by_event_id, ledger):
                continue
            lost.add(rid)
            findings.append(Finding("lost", rid, request.index, f"{request.kind} to {request.path}: nowhere"))
            continue
        if len(places) > 1:
            twice.add(rid)
            where = ", ".join(_describe(kind, thing) for kind, thing in places)
            findings.append(Finding("processed twice", rid, request.index, f"found in {where}"))
            continue
        problem = _check_place(request, *places[0], by_event_id, read_body, payload_bucket)
        if problem:
            findings.append(Finding("wrong ending", rid, request.index, problem))

    if payload_bucket is not None and ingest_keys is not None:
        lost |= _check_objects(stream, accepted, ingest_keys, payload_bucket, read_body, findings)

    # Rows, duplicates, conflicts and DLQ messages that no accepted request accounts for.
    conflict_rows: dict[str, set[str]] = defaultdict(set)  # event id -> request ids of its conflict rows
    for row in rows:
        if row.get("status") == "conflict":
            conflict_rows[str(row.get("conflict_of"))].add(str(row.get("request_id")))
    for row in rows:
        rid = str(row.get("request_id"))
        event_id = str(row["event_id"])
        duplicates = set(row.get("duplicate_request_ids") or ())
        if rid not in accepted:
            findings.append(Finding("phantom row", rid, None, f"row {event_id} for no accepted request"))
        for extra in sorted(duplicates - set(accepted)):
            findings.append(Finding("phantom duplicate", extra, None, f"on row {event_id}"))
        count = int(row.get("duplicate_count") or 0)
        if not _count_matches(count, len(duplicates)):
            twice.add(event_id)
            findings.append(
                Finding(
                    "processed twice",
                    rid,
                    None,
                    f"row {event_id}: duplicate_count={count} but {len(duplicates)} duplicate request ids",
                )
            )
        if rid in duplicates:
            twice.add(rid)
            findings.append(
                Finding("processed twice", rid, None, f"row {event_id} lists itself as duplicate")
            )
        conflicts = set(row.get("conflict_request_ids") or ())
        conflict_count = int(row.get("conflict_count") or 0)
        if not _count_matches(conflict_count, len(conflicts)):
            twice.add(event_id)
            findings.append(
                Finding(
                    "processed twice",
                    rid,
                    None,
                    f"row {event_id}: conflict_count={conflict_count} but {len(conflicts)} conflict request ids",
                )
            )
        for extra in sorted(conflicts - conflict_rows.get(event_id, set())):
            findings.append(
                Finding("phantom conflict", extra, None, f"listed on row {event_id}, no conflict row of it")
            )
        if conflicts & duplicates:
            twice.add(event_id)
            findings.append(
                Finding(
                    "processed twice",
                    rid,
                    None,
                    f"row {event_id}: {sorted(conflicts & duplicates)} both duplicate and conflict",
                )
            )
        if row.get("status") == "conflict":
            first = by_event_id.get(str(row.get("conflict_of")))
            listed = set(first.get("conflict_request_ids") or ()) if first else set()
            if first is None:
                findings.append(
                    Finding(
                        "wrong ending", rid, None, f"conflict row {event_id}: no row {row.get('conflict_of')}"
                    )
                )
            elif rid not in listed and len(listed) < MAX_RECORDED_REQUEST_IDS:
                findings.append(
                    Finding(
                        "wrong ending",
                        rid,
                        None,
                        f"conflict row {event_id} not recorded on {row.get('conflict_of')} (conflict_request_ids)",
                    )
                )
        if row.get("superseded_by") and row.get("status") not in ("rejected", "invalid"):
            findings.append(
                Finding("wrong ending", rid, None, f"{row.get('status')} row {event_id} has superseded_by")
            )
    for rid, messages in in_dlq.items():
        if rid not in accepted:
            findings.append(Finding("phantom DLQ message", rid, None, f"{len(messages)} message(s)"))
    if left_in_queue:
        findings.append(Finding("left in queue", None, None, f"{left_in_queue} message(s) never settled"))

    if ledger is not None:
        for rid, outcomes in ledger.outcomes.items():
            # A request is processed once: one stored row, or one duplicate count. Its rejected
            # row (before a requeue) and redeliveries (no-ops) do not count, nor do conflicts: a
            # redelivered conflict answers "conflict" again, and the rows show whether it was
            # recorded twice (one conflict row per request id, conflict_count = the ids listed).
            effective = [
                f"{status}:{write}"
                for status, write in outcomes
                if status not in ("rejected", "invalid", "conflict")
                and write not in ("redelivery", "conflict")
            ]
            if len(effective) > 1:
                twice.add(rid)
                findings.append(
                    Finding("processed twice", rid, _index(accepted, rid), f"writes took effect {effective}")
                )
        for event_id, count in ledger.stored.items():
            if count > 1:
                twice.add(event_id)
                findings.append(
                    Finding("processed twice", None, None, f"event {event_id} stored new {count} times")
                )

    result.lost = len(lost)
    result.processed_twice = len(twice)
    result.summary = _summary(stream, rows, dlq_messages, left_in_queue, ledger, result, extra_summary)
    return result


def ingest_ref(bucket: str, request: Planned) -> str:
    """The object the payloads API writes for an s3 source's request."""
    return f"s3://{bucket}/{s3_pointer.ingest_key(request.source, str(request.request_id))}"


def _check_objects(
    stream: Stream,
    accepted: dict[str, Planned],
    keys: list[str],
    bucket: str,
    read_body: BodyReader | None,
    findings: list[Finding],
) -> set[str]:
    """Every accepted s3 request has its object, the bytes it sent; nothing else is stored.
    Returns the accepted requests without an object (lost at the edge)."""
    present = set(keys)
    lost: set[str] = set()
    for request in stream.requests:
        if request.request_id is None or not request.delivery.source.s3 or request.status is None:
            continue
        key = s3_pointer.ingest_key(request.source, request.request_id)
        if not request.accepted:
            if key in present:
                findings.append(
                    Finding("stored after non-2xx", request.request_id, request.index, f"object {key} exists")
                )
            continue
        if key not in present:
            lost.add(request.request_id)
            findings.append(
                Finding("lost", request.request_id, request.index, f"accepted, but no object {key}")
            )
            continue
        if read_body is None:
            continue
        try:
            data = read_body(f"s3://{bucket}/{key}")
        except Exception as exc:
            findings.append(
                Finding("wrong ending", request.request_id, request.index, f"{key}: {exc!r}"[:300])
            )
            continue
        if hashlib.sha256(data).hexdigest() != hashlib.sha256(request.delivery.payload()).hexdigest():
            findings.append(
                Finding(
                    "wrong ending",
                    request.request_id,
                    request.index,
                    f"object {key} ({len(data)} bytes) is not the body sent ({request.delivery.size()} bytes)",
                )
            )
    for key in sorted(present):
        parsed = s3_pointer.parse_ingest_key(key)
        if parsed is None or parsed[1] not in accepted:
            findings.append(Finding("phantom object", parsed[1] if parsed else None, None, f"{key}"))
    return lost


def s3_figures(stream: Stream) -> list[tuple[str, Any]]:
    """The s3 sources' share of the stream: requests, bytes, the largest, how many above 1 MB."""
    sent = [r for r in stream.requests if r.delivery.source.s3 and r.path == f"/webhooks/{r.source}"]
    if not sent:
        return []
    sizes = [r.delivery.size() for r in sent]
    accepted = [r.delivery.size() for r in sent if r.accepted]
    binary = 0
    for r in sent:
        if r.accepted and not r.delivery.huge_size:
            try:
                r.delivery.body.decode("utf-8")  # the padding (Delivery.pad_to) is random bytes
                binary += bool(r.delivery.pad_to) and r.delivery.content_type == OCTET_STREAM
            except UnicodeDecodeError:
                binary += 1
    return [
        ("s3 source requests (accepted)", f"{len(sent)} ({len(accepted)})"),
        (
            "  body bytes sent / accepted",
            f"{sum(sizes) / 1e6:.1f} MB / {sum(accepted) / 1e6:.1f} MB (largest accepted {max(accepted or [0])} B)",
        ),
        ("  accepted above 1 MB", sum(1 for n in accepted if n >= LARGE_MIN_BYTES)),
        ("  accepted above the queue's limit", sum(1 for n in accepted if n > stream.max_message_size)),
        ("  accepted not UTF-8", binary),
    ]


def _count_matches(count: int, listed: int) -> bool:
    """A row's count against the ids it lists: equal, or more once the list is full."""
    return count == listed or (listed == MAX_RECORDED_REQUEST_IDS and count > listed)


def _counted_beyond_cap(
    request: Planned, by_event_id: dict[str, dict[str, Any]], ledger: Ledger | None
) -> bool:
    """A duplicate past MAX_RECORDED_REQUEST_IDS is only counted: accounted for when the ledger saw it."""
    row = by_event_id.get(request.expected_event_id or "")
    if row is None or request.expected_end != "processed":
        return False
    full = len(row.get("duplicate_request_ids") or ()) == MAX_RECORDED_REQUEST_IDS
    saw = ledger is not None and ("processed", "duplicate") in ledger.outcomes.get(
        request.request_id or "", []
    )
    return full and int(row.get("duplicate_count") or 0) > MAX_RECORDED_REQUEST_IDS and saw


def _check_superseded(
    request: Planned, rows: list[dict[str, Any]], by_event_id: dict[str, dict[str, Any]]
) -> str | None:
    """A request rejected first and requeued: its rejected row names the event that holds it now."""
    if not request.rejected_first:
        if rows:
            return (
                f"row {rows[0]['event_id']} superseded by {rows[0].get('superseded_by')}, but never requeued"
            )
        return None
    if len(rows) != 1:
        return f"expected one superseded rejected row, found {len(rows)} (requeued and re-verified?)"
    row = rows[0]
    expected_key = f"{request.source}#request:{request.request_id}"
    problems = []
    if row["event_id"] != expected_key or row.get("status") != "rejected":
        problems.append(
            f"superseded row {row['event_id']} ({row.get('status')}), expected rejected {expected_key}"
        )
    if row.get("reason") != request.rejected_first:
        problems.append(f"rejected first for {row.get('reason')}, expected {request.rejected_first}")
    target = by_event_id.get(str(row.get("superseded_by")))
    holds = target is not None and (
        target.get("request_id") == request.request_id
        or request.request_id in (target.get("duplicate_request_ids") or ())
    )
    if not holds:
        problems.append(f"superseded_by {row.get('superseded_by')}, which does not hold this request")
    return "; ".join(problems) or None


def _unclear_answer(request: Planned) -> str | None:
    """Every answer is JSON naming the request; 2xx says accepted, anything else has a message."""
    try:
        document = json.loads(request.response_body)
    except ValueError:
        return f"answer {request.status} is not JSON: {request.response_body[:120]!r}"
    if not isinstance(document, dict):
        return f"answer {request.status} is not a JSON object"
    if request.accepted:
        if document != {"status": "accepted", "request_id": request.request_id}:
            return f"2xx answer {document}"
        return None
    if not document.get("message") or document.get("request_id", request.request_id) != request.request_id:
        return f"answer {request.status} without a message or with another request id: {document}"
    return None


def _index(accepted: dict[str, Planned], rid: str) -> int | None:
    request = accepted.get(rid)
    return request.index if request else None


def _describe(kind: str, thing: dict[str, Any]) -> str:
    if kind == "dlq":
        return f"DLQ message {thing.get('MessageId')}"
    return f"{kind} of row {thing.get('event_id')} ({thing.get('status')})"


def _check_place(
    request: Planned,
    kind: str,
    thing: dict[str, Any],
    by_event_id: dict[str, dict[str, Any]],
    read_body: BodyReader | None = None,
    payload_bucket: str | None = None,
) -> str | None:
    """None when the one place a 2xx request ended in is the place the contract gives it."""
    end = request.expected_end
    if end == "dlq":
        return None if kind == "dlq" else f"poison delivery ended in {_describe(kind, thing)}, not the DLQ"
    if kind == "dlq":
        return f"{request.kind} ended in the DLQ, expected {end} ({request.expected_reason or ''})"
    row = thing
    body_sha256 = hashlib.sha256(request.delivery.received()).hexdigest()
    request_key = f"{request.source}#request:{request.request_id}"
    problems = []
    if end == "processed":
        event = by_event_id.get(request.expected_event_id or "")
        if event is not None and event.get("body_sha256") != body_sha256:
            # Another body holds the event: this one must be a conflict row of its own.
            if (row.get("status"), row.get("event_id"), kind) != ("conflict", request_key, "row"):
                problems.append(
                    f"{kind} of {row.get('event_id')} ({row.get('status')}), but the event row holds another "
                    f"body: expected conflict row {request_key}"
                )
            elif row.get("conflict_of") != request.expected_event_id or row.get("reason") != "body_differs":
                problems.append(
                    f"conflict row: conflict_of {row.get('conflict_of')} reason {row.get('reason')}, "
                    f"expected {request.expected_event_id} body_differs"
                )
        else:
            if row.get("status") != end:
                problems.append(f"status {row.get('status')} ({row.get('reason')}), expected {end}")
            if row.get("event_id") != request.expected_event_id:
                problems.append(f"event_id {row.get('event_id')}, expected {request.expected_event_id}")
            if request.kind == "malformed_form" and kind == "row" and not row.get("parse_warning"):
                problems.append("a form body strict parsing refuses, but the row has no parse_warning")
    else:
        if row.get("status") != end:
            problems.append(f"status {row.get('status')} ({row.get('reason')}), expected {end}")
        if row.get("event_id") != request_key or kind != "row":
            problems.append(f"{kind} of {row.get('event_id')}, expected row {request_key}")
        if row.get("reason") != request.expected_reason:
            problems.append(f"reason {row.get('reason')}, expected {request.expected_reason}")
    if row.get("source") != request.source:
        problems.append(f"source {row.get('source')}, expected {request.source}")
    if row.get("body_sha256") != body_sha256:
        problems.append("body_sha256 differs from the body sent (not byte-exact)")
    elif kind == "row":  # a duplicate's row is checked by the request that wrote it
        own = ingest_ref(payload_bucket, request) if payload_bucket and request.delivery.source.s3 else None
        stored = _body_ref_problem(row, body_sha256, read_body, own)
        if stored:
            problems.append(stored)
    return "; ".join(problems) or None


def _summary(
    stream: Stream,
    rows: list[dict[str, Any]],
    dlq_messages: list[dict[str, Any]],
    left_in_queue: int,
    ledger: Ledger | None,
    result: Reconciliation,
    extra: list[tuple[str, Any]] | None,
) -> list[tuple[str, Any]]:
    answers = Counter(r.status for r in stream.requests)
    statuses = Counter(row.get("status") for row in rows)
    out: list[tuple[str, Any]] = [("requests sent", len(stream.requests))]
    out.append(("answered 2xx", sum(n for s, n in answers.items() if s is not None and 200 <= s < 300)))
    for status in sorted(s for s in answers if s is not None and not 200 <= s < 300):
        out.append((f"answered {status}", answers[status]))
    out.append(("history rows", len(rows)))
    for status in ("processed", "rejected", "invalid", "conflict"):
        out.append((f"  {status}", statuses.get(status, 0)))
        if status == "rejected":
            recovered = sum(1 for r in rows if r.get("status") == status and r.get("superseded_by"))
            out.append(("    of which superseded (requeued, now processed)", recovered))
    out.append(("  duplicate deliveries on rows", sum(int(r.get("duplicate_count") or 0) for r in rows)))
    out.append(("  conflicting bodies on rows", sum(int(r.get("conflict_count") or 0) for r in rows)))
    out.append(("DLQ messages", len(dlq_messages)))
    out.append(("left in queue", left_in_queue))
    out.append(("lost", result.lost))
    out.append(("processed twice", result.processed_twice))
    out.append(("unreconciled findings", len(result.findings)))
    kinds = stream.kinds()
    out.append(("request kinds", ", ".join(f"{k}={n}" for k, n in sorted(kinds.items()))))
    if ledger is not None:
        out.append(("invocations", ledger.invocations))
        out.append(
            ("faults injected", ", ".join(f"{k}={n}" for k, n in sorted(ledger.faults.items())) or "none")
        )
        redeliveries = Counter(w for writes in ledger.writes.values() for w in writes)
        out.append(("write results", ", ".join(f"{k}={n}" for k, n in sorted(redeliveries.items()))))
        transient = Counter(code for codes in ledger.transient.values() for code in codes)
        out.append(
            ("transient failures", ", ".join(f"{k}={n}" for k, n in sorted(transient.items())) or "none")
        )
    edge = sum(1 for r in stream.requests if r.edge_fault is not None and not r.delivery.source.s3)
    out.append(("edge SQS faults", edge))
    out.append(("edge S3 faults", sum(1 for r in stream.requests if r.edge_fault is not None) - edge))
    if ledger is not None:
        out.append(("S3 test events ignored", f"{ledger.s3_test_events} seen, {dict(ledger.ignored) or 0}"))
    out += s3_figures(stream)
    out += extra or []
    return out


# The SNS message attributes of every envelope (docs/event-envelope.schema.json).
ENVELOPE_ATTRIBUTES = ("source", "event_type", "event_id", "scheme")


def reconcile_consumers(
    result: Reconciliation,
    rows: list[dict[str, Any]],
    consumers: dict[str, Consumer],
    inbox: dict[str, list[Delivered]],
    schemes: dict[str, str],
    read_body: BodyReader | None = None,
) -> None:
    """Adds the consumers' findings and summary to `result` (see the module docstring)."""
    if not consumers:
        return
    findings = result.findings
    processed = {str(row["event_id"]): row for row in rows if row.get("status") == "processed"}
    received: dict[str, dict[str, list[Delivered]]] = {name: defaultdict(list) for name in consumers}
    any_copy: dict[str, Delivered] = {}
    for name, consumer in consumers.items():
        for message in inbox.get(name, []):
            event_id = message.attributes.get("event_id")
            problem = _check_consumer_message(consumer, message, processed, schemes)
            if problem:
                findings.append(Finding("wrong consumer message", event_id, None, f"{name}: {problem}"))
            if event_id:
                received[name][event_id].append(message)
                any_copy.setdefault(event_id, message)
    missing = 0
    for event_id, row in processed.items():
        attributes = _expected_attributes(row, schemes)
        copy = any_copy.get(event_id)
        body = copy.body if copy is not None else _reconstructed_envelope(row, attributes, read_body)
        for name, consumer in consumers.items():
            wanted = matches(consumer.filter_policy, consumer.filter_policy_scope, attributes, body)
            if wanted and event_id not in received[name]:
                missing += 1
                findings.append(
                    Finding(
                        "not delivered",
                        str(row.get("request_id")),
                        None,
                        f"event {event_id} ({row.get('source')} {row.get('event_type')}) never reached "
                        f"consumer {name}, whose filter matches it",
                    )
                )
    result.lost_to_consumers = missing
    result.summary.append(("processed events published to consumers", len(processed)))
    for name, consumer in consumers.items():
        messages = inbox.get(name, [])
        events = received[name]
        extra = sum(len(copies) - 1 for copies in events.values())
        in_dlq = sum(1 for m in messages if m.where == "dlq")
        policy = (
            json.dumps(consumer.filter_policy, separators=(",", ":")) if consumer.filter_policy else "all"
        )
        result.summary.append(
            (
                f"  consumer {name}",
                f"{len(events)} events in {len(messages)} messages ({extra} extra copies, {in_dlq} in its DLQ); "
                f"filter {policy} ({consumer.filter_policy_scope})",
            )
        )
    result.summary.append(("  not delivered to a matching consumer", missing))


def _expected_attributes(row: dict[str, Any], schemes: dict[str, str]) -> dict[str, str]:
    return {
        "source": str(row.get("source")),
        "event_type": str(row.get("event_type")),
        "event_id": str(row["event_id"]),
        "scheme": schemes.get(str(row.get("source")), "?"),
    }


def _reconstructed_envelope(
    row: dict[str, Any], attributes: dict[str, str], read_body: BodyReader | None = None
) -> str:
    """The fields a MessageBody filter can see, for an event no consumer got a copy of."""
    text: Any = row.get("body")
    if row.get("body_ref") and read_body is not None:
        try:
            text = read_body(str(row["body_ref"]))
        except Exception:
            text = None  # reported by reconcile() as unreadable
    try:
        parsed = json.loads(text if isinstance(text, (str, bytes)) else str(text))
    except ValueError:
        parsed = None
    return json.dumps({**attributes, "schema_version": 1, "json": parsed})


def _check_consumer_message(
    consumer: Consumer, message: Delivered, processed: dict[str, dict[str, Any]], schemes: dict[str, str]
) -> str | None:
    event_id = message.attributes.get("event_id")
    missing = [name for name in ENVELOPE_ATTRIBUTES if not message.attributes.get(name)]
    if missing:
        return f"message {message.message_id} lacks attributes {missing}"
    try:
        envelope = json.loads(message.body)
    except ValueError:
        return f"message {message.message_id} is not a JSON envelope: {message.body[:80]!r}"
    if not isinstance(envelope, dict) or envelope.get("schema_version") != 1:
        return f"message {message.message_id} is not a schema_version 1 envelope"
    if envelope.get("event_id") != event_id:
        return f"envelope event_id {envelope.get('event_id')} under attribute event_id {event_id}"
    row = processed.get(str(event_id))
    if row is None:
        return f"event {event_id} is not a processed history row (never to be published)"
    expected = _expected_attributes(row, schemes)
    problems = [
        f"{name} {where}={value!r}, history says {expected[name]!r}"
        for name in ENVELOPE_ATTRIBUTES
        for where, value in (("attribute", message.attributes.get(name)), ("envelope", envelope.get(name)))
        if value != expected[name]
    ]
    if envelope.get("body_ref") != row.get("body_ref"):
        problems.append(
            f"envelope body_ref {envelope.get('body_ref')!r}, history says {row.get('body_ref')!r}"
        )
    if row.get("body_ref"):
        # The row holds no copy: the envelope's body must hash to what the row describes.
        sent = envelope.get("body")
        if not envelope.get("body_omitted") and (
            not isinstance(sent, str)
            or hashlib.sha256(sent.encode("utf-8")).hexdigest() != row.get("body_sha256")
        ):
            problems.append("envelope body is not the body of its body_ref row (not byte-exact)")
    elif (
        not envelope.get("body_omitted")
        and not row.get("body_truncated")
        and envelope.get("body") != row.get("body")
    ):
        problems.append("envelope body differs from the history row's (not byte-exact)")
    if not matches(consumer.filter_policy, consumer.filter_policy_scope, message.attributes, message.body):
        problems.append("its filter policy does not match this event: SNS should not have delivered it")
    return "; ".join(problems) or None
