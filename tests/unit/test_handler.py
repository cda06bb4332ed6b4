"""The handler end to end against moto: rows, duplicates, partial failures, limits, time."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from webhook_processor import handler
from webhook_processor.history import WriteResult

from tools.signing import sign

from .support import SOURCES

Run = Callable[..., handler.BatchResult]
GetRow = Callable[[str], "dict[str, Any] | None"]
MakeRecord = Callable[..., dict[str, Any]]

GITHUB_SECRET = SOURCES["github"][1]
assert GITHUB_SECRET is not None


def github_record(make_record: MakeRecord, body: bytes, delivery: str, **kwargs: Any) -> dict[str, Any]:
    headers = sign("github", GITHUB_SECRET, body, msg_id=delivery, event_type="push")
    return make_record("github", body, headers, **kwargs)


def gh_id(body: bytes) -> str:
    """GitHub's event id: the body hash (X-GitHub-Delivery is unsigned, no timestamp is signed)."""
    return f"github#sha256:{hashlib.sha256(body).hexdigest()}"


def numbered(index: int) -> bytes:
    return json.dumps({"n": index}).encode()


class Context:
    def __init__(self, *remaining_ms: int) -> None:
        self.remaining = list(remaining_ms)

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining.pop(0) if len(self.remaining) > 1 else self.remaining[0]


# --- the happy path -----------------------------------------------------------------------------


def test_processed_row_has_every_contract_attribute(
    run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    body = '{"ref":"refs/heads/main","note":"caf\u00e9 \U0001f600"}'.encode()
    received = int(time.time() * 1000) - 5_000
    record = github_record(make_record, body, "d-1", received_at_ms=received, request_id="req-1")
    result = run(record)
    assert result.response() == {"batchItemFailures": []}
    (outcome,) = result.results
    assert (outcome.status, outcome.event_id, outcome.write) == (
        "processed",
        gh_id(body),
        WriteResult.STORED,
    )

    row = get_row(gh_id(body))
    assert row is not None
    assert row["source"] == "github" and row["scheme"] == "github"
    assert row["status"] == "processed" and "reason" not in row
    assert (row["request_id"], row["delivery_id"], row["event_type"]) == ("req-1", "d-1", "push")
    assert (row["content_type"], row["source_ip"]) == ("application/json", "203.0.113.10")
    assert row["received_at"] == received
    assert received < row["processed_at"] <= time.time() * 1000
    assert row["body"].encode() == body  # byte-exact, never re-serialised
    assert (row["body_size"], row["body_truncated"]) == (len(body), False)
    assert row["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert row["sqs_message_id"] == record["messageId"]
    assert (row["receive_count"], row["duplicate_count"]) == (1, 0)
    assert "duplicate_request_ids" not in row
    assert row["expires_at"] == received // 1000 + 30 * 86_400
    # Only rejected/invalid/conflict rows keep the message attributes; no replay, no warning.
    for absent in ("message_attributes", "replay_id", "parse_warning", "conflict_count", "superseded_by"):
        assert absent not in row


def test_lambda_handler_response_shape(run: Run, make_record: MakeRecord) -> None:
    record = github_record(make_record, b"{}", "d-2")
    broken = make_record("broken", b"{}", sign("github", "x", b"{}"))
    response = handler.lambda_handler({"Records": [record, broken]}, Context(60_000))
    assert response == {"batchItemFailures": [{"itemIdentifier": broken["messageId"]}]}


@pytest.mark.parametrize(
    ("source", "body", "sign_kwargs", "expected_key"),
    [
        ("stripe", b'{"id":"evt_42","type":"charge.succeeded"}', {}, "stripe#evt_42"),
        (
            "slack",
            b'{"event_id":"Ev42","type":"event_callback","event":{"type":"message"}}',
            {},
            "slack#Ev42",
        ),
        ("stdwh", b'{"type":"user.created"}', {"msg_id": "msg_42"}, "stdwh#msg_42"),
    ],
)
def test_event_ids_use_the_senders_delivery_id(
    run: Run,
    get_row: GetRow,
    make_record: MakeRecord,
    source: str,
    body: bytes,
    sign_kwargs: dict,
    expected_key: str,
) -> None:
    scheme, secret, _ = SOURCES[source]
    record = make_record(source, body, sign(scheme, secret, body, **sign_kwargs))
    (outcome,) = run(record).results
    assert (outcome.status, outcome.event_id) == ("processed", expected_key)
    assert get_row(expected_key)["delivery_id"] == expected_key.split("#", 1)[1]  # type: ignore[index]


@pytest.mark.parametrize(
    ("source", "sign_kwargs"),
    [
        ("github", {"event_type": "push"}),
        ("shopify", {"event_type": "orders/create"}),
        ("generic_hex", {"hmac_header": "X-Signature", "hmac_prefix": "sha256="}),
    ],
)
def test_a_captured_request_replayed_under_fresh_delivery_ids_is_a_duplicate(
    run: Run, get_row: GetRow, make_record: MakeRecord, source: str, sign_kwargs: dict
) -> None:
    """The delivery id of these schemes is an unsigned header and no timestamp is signed: a
    replay with a new id must not become a new processed event (it used to, every time)."""
    scheme, secret, _ = SOURCES[source]
    body = b'{"id":1,"action":"opened"}'
    headers = sign(scheme, secret, body, msg_id="wh-first", **sign_kwargs)
    records = [make_record(source, body, headers, request_id="req-first", delivery_id="wh-first")]
    records += [
        make_record(source, body, headers, request_id=f"req-replay-{i}", delivery_id=f"wh-fresh-{i}")
        for i in range(3)
    ]
    results = run(*records).results
    key = f"{source}#sha256:{hashlib.sha256(body).hexdigest()}"
    assert [(r.status, r.event_id) for r in results] == [("processed", key)] * 4
    assert [r.write for r in results] == [WriteResult.STORED] + [WriteResult.DUPLICATE] * 3
    row = get_row(key)
    assert row is not None and row["delivery_id"] == "wh-first"  # kept as an attribute
    assert row["duplicate_count"] == 3
    assert row["duplicate_request_ids"] == {f"req-replay-{i}" for i in range(3)}


def test_without_a_delivery_id_the_body_hash_is_the_event_id(
    run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    body = b'{"type":"ping"}'
    (outcome,) = run(make_record("open", body, {})).results
    assert outcome.event_id == f"open#sha256:{hashlib.sha256(body).hexdigest()}"
    row = get_row(outcome.event_id)
    assert row is not None and row["event_type"] == "ping" and "delivery_id" not in row


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("h\u00e9llo \u2603 \U0001f600".encode(), "text/plain; charset=utf-8"),
        ("\x00\x01\x7f\u0080\u00ff\ufffd".encode(), "application/octet-stream"),
        (b"", "text/plain"),
        (b"", None),
    ],
    ids=["unicode", "binary-looking", "empty", "empty-no-content-type"],
)
def test_unicode_binary_and_empty_bodies(
    run: Run, get_row: GetRow, make_record: MakeRecord, body: bytes, content_type: str | None
) -> None:
    record = github_record(make_record, body, f"d-{hashlib.md5(body).hexdigest()}", content_type=content_type)
    (outcome,) = run(record).results
    assert outcome.status == "processed"
    row = get_row(outcome.event_id)  # type: ignore[arg-type]
    assert row is not None and row["body"].encode() == body and row["body_size"] == len(body)


# --- duplicates ---------------------------------------------------------------------------------


def test_duplicate_delivery_and_sqs_redelivery(run: Run, get_row: GetRow, make_record: MakeRecord) -> None:
    body = b'{"action":"opened"}'
    first = github_record(make_record, body, "d-dup", request_id="req-a")
    retry = github_record(make_record, body, "d-dup", request_id="req-b")  # GitHub retried: new request
    assert run(first).results[0].write is WriteResult.STORED
    assert run(retry).results[0].write is WriteResult.DUPLICATE
    # SQS redelivers both messages (same request ids, e.g. after a visibility timeout): no-ops.
    again = [dict(retry, attributes={**retry["attributes"], "ApproximateReceiveCount": "2"}), first]
    assert [r.write for r in run(*again).results] == [WriteResult.REDELIVERY, WriteResult.REDELIVERY]
    row = get_row(gh_id(body))
    assert row is not None
    assert row["request_id"] == "req-a" and row["receive_count"] == 1
    assert row["duplicate_count"] == 1
    assert row["duplicate_request_ids"] == {"req-b"}
    third = github_record(make_record, body, "d-dup", request_id="req-c")
    run(third, third)  # the same message twice in a row: counted once
    row = get_row(gh_id(body))
    assert row["duplicate_count"] == 2 and row["duplicate_request_ids"] == {"req-b", "req-c"}  # type: ignore[index]


def test_duplicates_by_body_hash(run: Run, get_row: GetRow, make_record: MakeRecord) -> None:
    results = run(*(make_record("open", b'{"same":true}', {}) for _ in range(3))).results
    assert [r.write for r in results] == [WriteResult.STORED, WriteResult.DUPLICATE, WriteResult.DUPLICATE]
    assert get_row(results[0].event_id)["duplicate_count"] == 2  # type: ignore[arg-type,index]


# --- rejected and invalid -----------------------------------------------------------------------


def test_forged_request_is_rejected_under_its_request_id(
    run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    body = b'{"action":"opened"}'
    real = github_record(make_record, body, "d-real", request_id="req-real")
    forged = github_record(make_record, body + b" ", "d-real", request_id="req-forged")
    forged["body"] = body.decode() + "x"  # tampered after signing
    results = run(real, forged, forged).results
    assert [(r.status, r.reason) for r in results] == [
        ("processed", None),
        ("rejected", "signature_mismatch"),
        ("rejected", "signature_mismatch"),
    ]
    assert results[1].event_id == "github#request:req-forged"
    assert results[2].write is WriteResult.REDELIVERY
    real_row = get_row(gh_id(body))
    assert real_row is not None and real_row["duplicate_count"] == 0  # the forgery did not touch it
    rejected = get_row("github#request:req-forged")
    assert rejected is not None
    assert (rejected["status"], rejected["reason"], rejected["delivery_id"]) == (
        "rejected",
        "signature_mismatch",
        "d-real",
    )


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda r: r["messageAttributes"].pop("signature"), "missing_signature"),
        (
            lambda r: r["messageAttributes"]["signature"].update(stringValue="sha256=zz"),
            "malformed_signature",
        ),
    ],
)
def test_signature_problems_are_rejected(
    run: Run, get_row: GetRow, make_record: MakeRecord, mutate, reason
) -> None:
    record = github_record(make_record, b"{}", "d-x", request_id="req-x")
    mutate(record)
    (outcome,) = run(record).results
    assert (outcome.status, outcome.reason) == ("rejected", reason)
    assert get_row("github#request:req-x")["status"] == "rejected"  # type: ignore[index]


def test_invalid_deliveries(run: Run, get_row: GetRow, make_record: MakeRecord) -> None:
    bad_json = github_record(make_record, b'{"broken":', "d-j", request_id="req-json")
    no_source = make_record("open", b"{}", {}, request_id="req-nosource")
    no_source["messageAttributes"].pop("source")
    no_received = make_record("open", b"{}", {}, request_id="req-norecv")
    no_received["messageAttributes"].pop("received_at_ms")
    no_request = make_record("open", b"{}", {})
    no_request["messageAttributes"].pop("request_id")

    results = run(bad_json, no_source, no_received, no_request).results
    assert [(r.status, r.reason, r.event_id) for r in results] == [
        ("invalid", "invalid_json", "github#request:req-json"),
        ("invalid", "missing_source", "_missing#request:req-nosource"),  # not from our template
        ("invalid", "missing_received_at", "open#request:req-norecv"),
        ("invalid", "missing_request_id", f"open#request:sqs:{no_request['messageId']}"),
    ]
    for outcome in results:
        row = get_row(outcome.event_id)  # type: ignore[arg-type]
        assert row is not None and row["status"] == "invalid" and row["reason"] == outcome.reason
    assert get_row("open#request:req-norecv")["received_at"] > 0  # type: ignore[index]  # SentTimestamp


def test_unknown_source_is_transient_and_writes_nothing(
    run: Run, table: Any, make_record: MakeRecord
) -> None:
    """The template writes the source: an unknown one is our configuration lagging, so the
    message waits (then the DLQ) until the processor knows it. It used to be dropped invalid."""
    unknown = make_record("nobody", b"{}", {}, request_id="req-unknown")
    good = make_record("open", b"{}", {})
    result = run(unknown, good)
    assert result.failures == [unknown["messageId"]]
    assert [(r.status, r.reason) for r in result.results] == [
        ("failed", "unknown_source"),
        ("processed", None),
    ]
    assert "nobody#request:req-unknown" not in {item["event_id"] for item in table.scan()["Items"]}


def test_a_source_added_later_processes_the_retried_message(
    make_record: MakeRecord, get_row: GetRow, monkeypatch: pytest.MonkeyPatch, account: dict[str, str]
) -> None:
    record = make_record("late", b'{"type":"x"}', {}, request_id="req-late")
    assert handler.process_batch({"Records": [record]}).failures == [record["messageId"]]
    sources = json.loads(account["WEBHOOK_SOURCES"])
    sources["late"] = {"scheme": "none"}
    monkeypatch.setenv("WEBHOOK_SOURCES", json.dumps(sources))
    handler.reset()
    (outcome,) = handler.process_batch({"Records": [record]}).results
    assert outcome.status == "processed"
    assert get_row(outcome.event_id)["request_id"] == "req-late"  # type: ignore[arg-type,index]


def test_a_verified_form_body_strict_parsing_refuses_is_processed_with_a_warning(
    run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    body = b"payload=%7B%22type%22%3A%22block_actions%22%7D&&text=%ff"
    record = github_record(
        make_record, body, "d-f", request_id="req-form", content_type="application/x-www-form-urlencoded"
    )
    (outcome,) = run(record).results
    assert (outcome.status, outcome.event_id) == ("processed", gh_id(body))
    row = get_row(gh_id(body))
    assert row is not None and row["parse_warning"] == "invalid_form_body"
    assert row["body"].encode() == body and row["body_truncated"] is False
    strict = github_record(make_record, b"a=1&b=2", "d-ok", content_type="application/x-www-form-urlencoded")
    (ok,) = run(strict).results
    assert "parse_warning" not in get_row(ok.event_id)  # type: ignore[arg-type,operator]


# --- what rejected and invalid rows keep, and for how long --------------------------------------


def test_rejected_rows_keep_the_message_attributes_full_body_and_expire_sooner(
    run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    scheme, secret, _ = SOURCES["stdwh"]
    body = json.dumps({"type": "user.created", "pad": "x" * 6000}).encode()
    received = int(time.time() * 1000)
    headers = sign(scheme, secret, body, msg_id="msg_stale", timestamp=received // 1000 - 3600)
    record = make_record("stdwh", body, headers, request_id="req-stale", received_at_ms=received)
    (outcome,) = run(record).results
    assert (outcome.status, outcome.reason) == ("rejected", "stale_timestamp")
    row = get_row("stdwh#request:req-stale")
    assert row is not None
    expected = {name: value["stringValue"] for name, value in record["messageAttributes"].items()}
    assert row["message_attributes"] == expected
    attributes = row["message_attributes"]
    # What re-verification needs (HMAC outputs, not secrets).
    assert attributes["signature"] == headers["webhook-signature"]
    assert attributes["signature_timestamp"] == headers["webhook-timestamp"]
    assert attributes["delivery_id"] == "msg_stale"
    assert attributes["received_at_ms"] == str(received)
    # A rejection may be our mistake (a mistyped secret): the whole body stays, for 14 days.
    assert row["body"].encode() == body and row["body_truncated"] is False
    assert row["expires_at"] == received // 1000 + 14 * 86_400


def test_invalid_rows_keep_a_prefix_of_the_body(
    make_record: MakeRecord, get_row: GetRow, monkeypatch: pytest.MonkeyPatch, account: dict[str, str]
) -> None:
    body = ('{"broken": "' + "\u00e9" * 3000).encode()  # 6 KB, not JSON
    record = make_record("open", body, {}, request_id="req-inv")
    (outcome,) = handler.process_batch({"Records": [record]}).results
    assert (outcome.status, outcome.reason) == ("invalid", "invalid_json")
    row = get_row("open#request:req-inv")
    assert row is not None
    stored = row["body"].encode()
    assert len(stored) <= 4096 and len(stored) >= 4094 and body.startswith(stored)
    assert (row["body_truncated"], row["body_size"]) == (True, len(body))
    assert row["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert row["expires_at"] == record_received(record) // 1000 + 30 * 86_400  # normal retention
    assert row["message_attributes"]["request_id"] == "req-inv"

    monkeypatch.setenv("INVALID_BODY_BYTES", "10")
    monkeypatch.setenv("REJECTED_RETENTION_DAYS", "2")
    handler.reset()
    small = make_record("open", b"[1, 2, 3, oops]", {}, request_id="req-inv-2")
    forged = github_record(make_record, b"{}", "d-forged", request_id="req-forged")
    forged["body"] = "{ }"
    handler.process_batch({"Records": [small, forged]})
    assert get_row("open#request:req-inv-2")["body"] == "[1, 2, 3, "  # type: ignore[index]
    rejected = get_row("github#request:req-forged")
    assert rejected is not None and rejected["expires_at"] == record_received(forged) // 1000 + 2 * 86_400


def record_received(record: dict[str, Any]) -> int:
    return int(record["messageAttributes"]["received_at_ms"]["stringValue"])


def test_undecodable_body_is_invalid(run: Run, get_row: GetRow, make_record: MakeRecord) -> None:
    record = make_record("open", b"{}", {}, request_id="req-sur", content_type="text/plain")
    record["body"] = "bad \ud800 surrogate"
    (outcome,) = run(record).results
    assert (outcome.status, outcome.reason) == ("invalid", "undecodable_body")
    assert get_row("open#request:req-sur")["body"] == "bad ? surrogate"  # type: ignore[index]


# --- time: tolerance against receive time, never processing time -------------------------------


@pytest.mark.parametrize("source", ["stripe", "slack", "stdwh"])
def test_backlog_does_not_cause_rejections(
    run: Run, get_row: GetRow, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    scheme, secret, _ = SOURCES[source]
    received_ms = int(time.time() * 1000)
    body = b'{"id":"evt_backlog","event_id":"Ev_backlog","type":"x"}'
    record = make_record(
        source,
        body,
        sign(scheme, secret, body, timestamp=received_ms // 1000 - 10),
        received_at_ms=received_ms,
    )
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)  # processed one hour later
    (outcome,) = run(record).results
    assert outcome.status == "processed", outcome.reason
    assert get_row(outcome.event_id)["processed_at"] >= received_ms + 3_600_000  # type: ignore[arg-type,index]


@pytest.mark.parametrize(("offset", "reason"), [(-61, "stale_timestamp"), (61, "future_timestamp")])
def test_stale_and_future_against_receive_time(
    run: Run, make_record: MakeRecord, offset: int, reason: str
) -> None:
    received_ms = int(time.time() * 1000) - 7 * 86_400_000  # a week-old message
    body = b'{"id":"evt_t","type":"x"}'
    headers = sign("stripe", SOURCES["strict"][1], body, timestamp=received_ms // 1000 + offset)
    (outcome,) = run(make_record("strict", body, headers, received_at_ms=received_ms)).results
    assert (outcome.status, outcome.reason) == ("rejected", reason)


# --- transient failures: only the failing record is retried -------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem"),
        ClientError({"Error": {"Code": "ThrottlingException"}}, "PutItem"),
        ClientError({"Error": {"Code": "InternalServerError"}}, "PutItem"),
        ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
        ConnectTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
        RuntimeError("unexpected"),
    ],
    ids=["throughput", "throttling", "5xx", "read-timeout", "connect-timeout", "unexpected"],
)
def test_one_throttled_record_among_good_ones(
    run: Run, get_row: GetRow, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    records = [github_record(make_record, numbered(i), f"d-batch-{i}") for i in range(4)]
    client = handler._dynamodb()
    real_put = client.put_item

    def put_item(**kwargs: Any) -> Any:
        if kwargs["Item"]["event_id"]["S"] == gh_id(numbered(2)):
            raise error
        return real_put(**kwargs)

    monkeypatch.setattr(client, "put_item", put_item)
    result = run(*records)
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": records[2]["messageId"]}]}
    assert [r.status for r in result.results] == ["processed", "processed", "failed", "processed"]
    assert get_row(gh_id(numbered(2))) is None
    for i in (0, 1, 3):
        assert get_row(gh_id(numbered(i))) is not None
    # The retry succeeds once DynamoDB recovers.
    monkeypatch.setattr(client, "put_item", real_put)
    assert run(records[2]).results[0].write is WriteResult.STORED


def test_secrets_failure_is_transient_and_writes_nothing(
    run: Run, table: Any, make_record: MakeRecord
) -> None:
    broken = make_record(
        "broken", b"{}", sign("github", "whatever", b"{}", msg_id="d-broken"), request_id="req-broken"
    )
    good = github_record(make_record, b"{}", "d-good")
    result = run(broken, good)
    assert result.failures == [broken["messageId"]]
    assert result.results[0].reason == "secret_unavailable"
    keys = {item["event_id"] for item in table.scan()["Items"]}
    assert keys == {gh_id(b"{}")}


def test_secret_is_fetched_once_per_ttl(run: Run, make_record: MakeRecord) -> None:
    client = handler._secretsmanager()
    calls: list[str] = []
    client.meta.events.register(
        "before-parameter-build.secrets-manager.GetSecretValue",
        lambda params, **_: calls.append(params["SecretId"]),
    )
    first = run(*(github_record(make_record, b"{}", f"d-ttl-{i}") for i in range(5)))
    assert [r.status for r in first.results] == ["processed"] * 5
    run(github_record(make_record, b"{}", "d-ttl-5"))
    assert len(calls) == 1


def test_signed_source_without_secret_arn_is_transient(
    make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch, account: dict[str, str]
) -> None:
    sources = json.loads(account["WEBHOOK_SOURCES"])
    sources["github"]["secret_arn"] = None
    monkeypatch.setenv("WEBHOOK_SOURCES", json.dumps(sources))
    handler.reset()
    record = github_record(make_record, b"{}", "d-noarn")
    result = handler.process_batch({"Records": [record]})
    assert result.failures == [record["messageId"]]
    assert result.results[0].reason == "secret_not_configured"


def test_broken_configuration_fails_the_whole_batch(
    make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch, account: dict[str, str]
) -> None:
    monkeypatch.setenv("WEBHOOK_SOURCES", "{broken")
    handler.reset()
    records = [make_record("open", b"{}", {}) for _ in range(3)]
    response = handler.lambda_handler({"Records": records}, None)
    assert response == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}


def test_low_remaining_time_returns_unstarted_records(
    run: Run, get_row: GetRow, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [github_record(make_record, numbered(i), f"d-late-{i}") for i in range(4)]
    result = run(*records, context=Context(60_000, 30_000, handler.SAFETY_MARGIN_MS - 1))
    assert [r.status for r in result.results] == ["processed", "processed", "failed", "failed"]
    assert result.failures == [records[2]["messageId"], records[3]["messageId"]]
    assert get_row(gh_id(numbered(2))) is None and get_row(gh_id(numbered(3))) is None
    monkeypatch.setenv("PROCESSOR_TIMEOUT_SECONDS", "30")  # margin 5 s
    handler.reset()
    assert run(*records, context=Context(100)).failures == [r["messageId"] for r in records]


@pytest.mark.parametrize("timeout_s", [3, 5])
def test_a_short_timeout_still_processes_records(
    run: Run, get_row: GetRow, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch, timeout_s: int
) -> None:
    """With a fixed 5 s margin, a function of 5 s or less handed every record back untried."""
    monkeypatch.setenv("PROCESSOR_TIMEOUT_SECONDS", str(timeout_s))
    handler.reset()
    margin = timeout_s * 200  # 20 %
    records = [github_record(make_record, numbered(i), f"d-short-{i}") for i in range(3)]
    context = Context(timeout_s * 1000 - 50, margin + 1, margin - 1)
    result = run(*records, context=context)
    assert [r.status for r in result.results] == ["processed", "processed", "failed"]
    assert [r.reason for r in result.results] == [None, None, "deadline"]
    assert get_row(gh_id(numbered(1))) is not None


def test_without_the_timeout_env_the_margin_follows_the_time_left_at_start(
    run: Run, make_record: MakeRecord
) -> None:
    records = [github_record(make_record, numbered(i), f"d-fallback-{i}") for i in range(2)]
    result = run(*records, context=Context(4_000, 799))  # 20 % of 4 s = 800 ms
    assert [r.status for r in result.results] == ["processed", "failed"]


def test_sdk_clients_get_timeouts_derived_from_the_function_timeout(
    monkeypatch: pytest.MonkeyPatch, account: dict[str, str]
) -> None:
    monkeypatch.setenv("PROCESSOR_TIMEOUT_SECONDS", "6")
    handler.reset()
    for client in (handler._dynamodb(), handler._secretsmanager()):
        config = client.meta.config
        assert (config.connect_timeout, config.read_timeout) == (1.0, 1.0)
        assert config.retries["total_max_attempts"] == 3 and config.retries["mode"] == "standard"
    monkeypatch.delenv("PROCESSOR_TIMEOUT_SECONDS")
    handler.reset()
    config = handler._dynamodb().meta.config
    assert (config.connect_timeout, config.read_timeout) == (2, 5)


def test_garbage_event_shapes(run: Run) -> None:
    assert handler.process_batch({}).response() == {"batchItemFailures": []}
    assert handler.process_batch(None).response() == {"batchItemFailures": []}
    assert handler.process_batch({"Records": "nope"}).response() == {"batchItemFailures": []}


# --- size limits and TTL ------------------------------------------------------------------------


def test_large_body_is_stored_truncated_on_a_utf8_boundary(
    make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch, account: dict[str, str]
) -> None:
    monkeypatch.setenv("MAX_STORED_BODY_BYTES", "100")
    handler.reset()
    body = ("\u00e9" * 30 + "\U0001f600" * 30).encode()  # 2-byte then 4-byte characters
    record = github_record(make_record, body, "d-big", content_type="text/plain")
    (outcome,) = handler.process_batch({"Records": [record]}).results
    assert outcome.status == "processed"  # a big body is still verified over all its bytes
    row = (
        handler.get_processor()
        .history._client_factory()
        .get_item(TableName=account["TABLE_NAME"], Key={"event_id": {"S": gh_id(body)}})["Item"]
    )
    stored = row["body"]["S"].encode()
    assert len(stored) <= 100 and body.startswith(stored) and len(stored) == 60 + 40
    assert row["body_size"]["N"] == str(len(body))
    assert row["body_sha256"]["S"] == hashlib.sha256(body).hexdigest()
    assert row["body_truncated"]["BOOL"] is True


def test_body_over_the_dynamodb_item_limit_is_processed(
    run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    # The naive recipe stored the whole body and failed forever on anything over 400 KB.
    body = json.dumps({"type": "big", "blob": "\u00e9x" * 200_000}).encode()  # ~600 KB
    (outcome,) = run(github_record(make_record, body, "d-huge")).results
    assert outcome.status == "processed"
    row = get_row(gh_id(body))
    assert row is not None and row["body_truncated"] is True and row["body_size"] == len(body)
    assert len(row["body"].encode()) <= 350_000


def test_no_ttl_when_retention_is_zero(
    make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch, account: dict
) -> None:
    monkeypatch.setenv("HISTORY_RETENTION_DAYS", "0")
    handler.reset()
    (outcome,) = handler.process_batch({"Records": [make_record("open", b"{}", {})]}).results
    client = handler._dynamodb()
    item = client.get_item(TableName=account["TABLE_NAME"], Key={"event_id": {"S": outcome.event_id}})["Item"]
    assert "expires_at" not in item


# --- logging --------------------------------------------------------------------------------------


def test_logs_never_contain_secrets_or_signatures(
    run: Run, make_record: MakeRecord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="webhook_processor")
    body = b'{"id":"evt_log","type":"x"}'
    stripe_headers = sign("stripe", SOURCES["stripe"][1], body)
    github_headers = sign("github", GITHUB_SECRET, body, msg_id="d-log")
    tampered = make_record("github", body + b" ", github_headers)
    run(
        make_record("stripe", body, stripe_headers),
        make_record("github", body, github_headers),
        tampered,
        make_record("broken", body, github_headers),
    )
    assert caplog.records
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    secrets = [s for _, s, _ in SOURCES.values() if s]
    signatures = [
        stripe_headers["Stripe-Signature"].split("v1=")[1],
        github_headers["X-Hub-Signature-256"][7:],
    ]
    for needle in secrets + signatures:
        assert needle not in logged
    assert "signature_mismatch" in logged and "secret_unavailable" in logged


def test_reprocessing_in_a_fresh_container_is_idempotent(make_record: MakeRecord, get_row: GetRow) -> None:
    record = github_record(make_record, b"{}", "d-cold")
    handler.process_batch({"Records": [record]})
    handler.reset()  # a new container: no cached config, clients or secrets
    assert handler.process_batch({"Records": [record]}).results[0].write is WriteResult.REDELIVERY
    assert get_row(gh_id(b"{}"))["duplicate_count"] == 0  # type: ignore[index]
