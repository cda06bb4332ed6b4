"""The reliability reconciliation's payload store check (tests/reliability/reconcile.py), on
hand-made rows: a body_ref row is checked by reading the object, never taken on trust."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from tests.reliability.deployed import SENDER_BY_NAME
from tests.reliability.reconcile import reconcile, s3_body_reader
from tests.reliability.stream import Planned, as_stream, plan_accepted, valid_delivery


def _accepted(count: int) -> tuple[Any, list[Planned]]:
    rng = random.Random(14)
    requests = [plan_accepted(valid_delivery(rng, SENDER_BY_NAME["github"])) for _ in range(count)]
    stream = as_stream(requests, seed=14)
    for i, request in enumerate(stream.requests):
        request.status, request.request_id = 200, f"req-{i}"
        request.response_body = json.dumps({"status": "accepted", "request_id": f"req-{i}"})
    return stream, requests


def _row(request: Planned, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": request.expected_event_id,
        "request_id": request.request_id,
        "source": "github",
        "status": "processed",
        "body_size": len(request.delivery.body),
        "body_sha256": hashlib.sha256(request.delivery.body).hexdigest(),
        "duplicate_count": 0,
        **extra,
    }


def _ref(n: int) -> str:
    return f"s3://payloads/bodies/github/{n:064x}"


def test_a_body_ref_row_is_checked_by_reading_the_object() -> None:
    stream, requests = _accepted(6)
    objects = {
        _ref(0): requests[0].delivery.body,  # the body sent: fine
        _ref(1): requests[1].delivery.body + b" ",  # not byte-exact
        _ref(5): requests[5].delivery.body,  # fine, but the row keeps a copy too
    }
    rows = [
        _row(requests[0], body_ref=_ref(0)),
        _row(requests[1], body_ref=_ref(1)),
        _row(requests[2], body_ref=_ref(2)),  # the object is missing
        _row(requests[3], body="{", body_truncated=True),  # kept truncated beside a store
        _row(requests[4], body=requests[4].delivery.body.decode(), body_truncated=False),  # fine
        _row(requests[5], body_ref=_ref(5), body="x", body_truncated=True),
    ]

    def read(ref: str) -> bytes:
        return objects[ref]  # KeyError: a missing object

    result = reconcile(stream, rows, [], left_in_queue=0, read_body=read)
    problems = {f.request_id: f.detail for f in result.findings if f.problem == "wrong ending"}
    assert set(problems) == {"req-1", "req-2", "req-3", "req-5"}, result.report()
    assert "not the body sent" in problems["req-1"]
    assert "cannot be read" in problems["req-2"]
    assert "kept truncated" in problems["req-3"]
    assert "a body copy too" in problems["req-5"]


def test_without_a_reader_a_body_ref_row_is_reported_unchecked() -> None:
    stream, requests = _accepted(2)
    rows = [_row(requests[0], body_ref=_ref(0)), _row(requests[1], body="{", body_truncated=True)]
    result = reconcile(stream, rows, [], left_in_queue=0)
    details = {f.request_id: f.detail for f in result.findings}
    # A truncated row is today's rule when there is no store: only the body_ref row is flagged.
    assert set(details) == {"req-0"} and "unchecked" in details["req-0"]


def test_the_s3_reader_reads_each_object_once() -> None:
    class FakeS3:
        def __init__(self) -> None:
            self.calls: list[tuple[str, str]] = []

        def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
            self.calls.append((Bucket, Key))

            class Body:
                @staticmethod
                def read() -> bytes:
                    return b"body"

            return {"Body": Body()}

    s3 = FakeS3()
    read = s3_body_reader(s3)
    assert read(_ref(7)) == b"body" and read(_ref(7)) == b"body"
    assert s3.calls == [("payloads", f"bodies/github/{7:064x}")]
