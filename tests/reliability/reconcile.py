"""The reconciliation check: every request the client sent, its answer, and where it ended.

For each request: the answer must be the one the contract gives that input. A 2xx
request must be in exactly one place: a history row whose `request_id` is its request
id, or whose `duplicate_request_ids` holds it, or a DLQ message whose `request_id`
attribute is it, and that place must be the one the contract gives it (the processed
row of its event, a rejected/invalid row under `<source>#request:<request_id>` with the
expected reason, or the DLQ for a poison delivery). A non-2xx request must be nowhere.

Processed twice: a request id in two places; a row whose `duplicate_count` differs from
`len(duplicate_request_ids)` or whose own request id is among its duplicates; a request
whose write took effect twice, or an event stored as new twice (from the ledger the
fault injector keeps of the processor's write results).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from .faults import Ledger
from .stream import Planned, Stream, queued_bytes

MAX_LISTED = 60


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

    @property
    def ok(self) -> bool:
        return not self.findings

    def report(self) -> str:
        width = max(len(label) for label, _ in self.summary) if self.summary else 10
        lines = [f"reliability stream  seed={self.seed}"]
        lines += [f"  {label:<{width}}  {value}" for label, value in self.summary]
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
) -> Reconciliation:
    result = Reconciliation(seed=stream.seed)
    findings = result.findings
    twice: set[str] = set()
    lost: set[str] = set()

    primary: dict[str, list[dict[str, Any]]] = defaultdict(list)
    duplicate_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        primary[str(row.get("request_id"))].append(row)
        for request_id in row.get("duplicate_request_ids") or ():
            duplicate_of[request_id].append(row)
    in_dlq: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for message in dlq_messages:
        attribute = message.get("MessageAttributes", {}).get("request_id", {})
        in_dlq[str(attribute.get("StringValue"))].append(message)

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
            if places:
                findings.append(
                    Finding(
                        "stored after non-2xx",
                        rid,
                        request.index,
                        f"answered {request.status} but found in {[p for p, _ in places]}",
                    )
                )
            continue
        if not places:
            lost.add(rid)
            findings.append(Finding("lost", rid, request.index, f"{request.kind} to {request.path}: nowhere"))
            continue
        if len(places) > 1:
            twice.add(rid)
            where = ", ".join(_describe(kind, thing) for kind, thing in places)
            findings.append(Finding("processed twice", rid, request.index, f"found in {where}"))
            continue
        problem = _check_place(request, *places[0])
        if problem:
            findings.append(Finding("wrong ending", rid, request.index, problem))

    # Rows, duplicates and DLQ messages that no accepted request accounts for.
    for row in rows:
        rid = str(row.get("request_id"))
        duplicates = set(row.get("duplicate_request_ids") or ())
        if rid not in accepted:
            findings.append(
                Finding("phantom row", rid, None, f"row {row['event_id']} for no accepted request")
            )
        for extra in sorted(duplicates - set(accepted)):
            findings.append(Finding("phantom duplicate", extra, None, f"on row {row['event_id']}"))
        count = int(row.get("duplicate_count") or 0)
        if count != len(duplicates):
            twice.add(row["event_id"])
            findings.append(
                Finding(
                    "processed twice",
                    rid,
                    None,
                    f"row {row['event_id']}: duplicate_count={count} but {len(duplicates)} duplicate request ids",
                )
            )
        if rid in duplicates:
            twice.add(rid)
            findings.append(
                Finding("processed twice", rid, None, f"row {row['event_id']} lists itself as duplicate")
            )
    for rid, messages in in_dlq.items():
        if rid not in accepted:
            findings.append(Finding("phantom DLQ message", rid, None, f"{len(messages)} message(s)"))
    if left_in_queue:
        findings.append(Finding("left in queue", None, None, f"{left_in_queue} message(s) never settled"))

    if ledger is not None:
        for rid, writes in ledger.writes.items():
            effective = [w for w in writes if w in ("stored", "duplicate")]
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


def _check_place(request: Planned, kind: str, thing: dict[str, Any]) -> str | None:
    """None when the one place a 2xx request ended in is the place the contract gives it."""
    end = request.expected_end
    if end == "dlq":
        return None if kind == "dlq" else f"poison delivery ended in {_describe(kind, thing)}, not the DLQ"
    if kind == "dlq":
        return f"{request.kind} ended in the DLQ, expected {end} ({request.expected_reason or ''})"
    row = thing
    body = queued_bytes(request.delivery.payload())
    problems = []
    if row.get("status") != end:
        problems.append(f"status {row.get('status')} ({row.get('reason')}), expected {end}")
    if end == "processed":
        if row.get("event_id") != request.expected_event_id:
            problems.append(f"event_id {row.get('event_id')}, expected {request.expected_event_id}")
    else:
        expected_id = f"{request.source}#request:{request.request_id}"
        if row.get("event_id") != expected_id or kind != "row":
            problems.append(f"{kind} of {row.get('event_id')}, expected row {expected_id}")
        if row.get("reason") != request.expected_reason:
            problems.append(f"reason {row.get('reason')}, expected {request.expected_reason}")
    if row.get("source") != request.source:
        problems.append(f"source {row.get('source')}, expected {request.source}")
    if row.get("body_sha256") != hashlib.sha256(body).hexdigest():
        problems.append("body_sha256 differs from the body sent (not byte-exact)")
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
    for status in ("processed", "rejected", "invalid"):
        out.append((f"  {status}", statuses.get(status, 0)))
    out.append(("  duplicate deliveries on rows", sum(int(r.get("duplicate_count") or 0) for r in rows)))
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
    edge = sum(1 for r in stream.requests if r.edge_fault is not None)
    out.append(("edge SQS faults", edge))
    out += extra or []
    return out
