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
        "github#d-1",
        WriteResult.STORED,
    )

    row = get_row("github#d-1")
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
        ("shopify", b'{"id":1}', {"msg_id": "wh-42", "event_type": "orders/create"}, "shopify#wh-42"),
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
    row = get_row("github#d-dup")
    assert row is not None
    assert row["request_id"] == "req-a" and row["receive_count"] == 1
    assert row["duplicate_count"] == 1
    assert row["duplicate_request_ids"] == {"req-b"}
    third = github_record(make_record, body, "d-dup", request_id="req-c")
    run(third, third)  # the same message twice in a row: counted once
    row = get_row("github#d-dup")
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
    real_row = get_row("github#d-real")
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
    bad_form = github_record(
        make_record, b"a=1&&b", "d-f", request_id="req-form", content_type="application/x-www-form-urlencoded"
    )
    unknown = make_record("nobody", b"{}", {}, request_id="req-unknown")
    no_source = make_record("open", b"{}", {}, request_id="req-nosource")
    no_source["messageAttributes"].pop("source")
    no_received = make_record("open", b"{}", {}, request_id="req-norecv")
    no_received["messageAttributes"].pop("received_at_ms")
    no_request = make_record("open", b"{}", {})
    no_request["messageAttributes"].pop("request_id")

    results = run(bad_json, bad_form, unknown, no_source, no_received, no_request).results
    assert [(r.status, r.reason, r.event_id) for r in results] == [
        ("invalid", "invalid_json", "github#request:req-json"),
        ("invalid", "invalid_form_body", "github#request:req-form"),
        ("invalid", "unknown_source", "nobody#request:req-unknown"),
        ("invalid", "missing_source", "_missing#request:req-nosource"),
        ("invalid", "missing_received_at", "open#request:req-norecv"),
        ("invalid", "missing_request_id", f"open#request:sqs:{no_request['messageId']}"),
    ]
    for outcome in results:
        row = get_row(outcome.event_id)  # type: ignore[arg-type]
        assert row is not None and row["status"] == "invalid" and row["reason"] == outcome.reason
    assert get_row("open#request:req-norecv")["received_at"] > 0  # type: ignore[index]  # SentTimestamp


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
    records = [github_record(make_record, b"{}", f"d-batch-{i}") for i in range(4)]
    client = handler._dynamodb()
    real_put = client.put_item

    def put_item(**kwargs: Any) -> Any:
        if kwargs["Item"]["event_id"]["S"] == "github#d-batch-2":
            raise error
        return real_put(**kwargs)

    monkeypatch.setattr(client, "put_item", put_item)
    result = run(*records)
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": records[2]["messageId"]}]}
    assert [r.status for r in result.results] == ["processed", "processed", "failed", "processed"]
    assert get_row("github#d-batch-2") is None
    for i in (0, 1, 3):
        assert get_row(f"github#d-batch-{i}") is not None
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
    assert keys == {"github#d-good"}


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
    run: Run, get_row: GetRow, make_record: MakeRecord
) -> None:
    records = [github_record(make_record, b"{}", f"d-late-{i}") for i in range(4)]
    result = run(*records, context=Context(60_000, 30_000, handler.SAFETY_MARGIN_MS - 1))
    assert [r.status for r in result.results] == ["processed", "processed", "failed", "failed"]
    assert result.failures == [records[2]["messageId"], records[3]["messageId"]]
    assert get_row("github#d-late-2") is None and get_row("github#d-late-3") is None
    assert run(*records, context=Context(100)).failures == [r["messageId"] for r in records]


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
        .get_item(TableName=account["TABLE_NAME"], Key={"event_id": {"S": "github#d-big"}})["Item"]
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
    row = get_row("github#d-huge")
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
    assert get_row("github#d-cold")["duplicate_count"] == 0  # type: ignore[index]
