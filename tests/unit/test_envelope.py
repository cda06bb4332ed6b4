"""The envelope builder and PublishBatch packing, without AWS (docs/event-envelope.schema.json)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from webhook_processor.envelope import (
    MAX_MESSAGE_BYTES,
    SCHEMA_VERSION,
    Envelope,
    build_envelope,
    iso_utc,
    utc_day,
)
from webhook_processor.publisher import MAX_BATCH_ENTRIES, batches

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "event-envelope.schema.json"


def schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def envelope_for(body: str, *, json_body: bool = True, **overrides: Any) -> Envelope:
    raw = body.encode()
    fields: dict[str, Any] = {
        "event_id": "open#sha256:" + hashlib.sha256(raw).hexdigest(),
        "source": "open",
        "scheme": "none",
        "event_type": "push",
        "delivery_id": None,
        "request_id": "req-1",
        "received_at_ms": 1_772_409_599_999,
        "processed_at_ms": 1_772_409_600_123,
        "content_type": "application/json",
        "body": body,
        "json_text": body if json_body else None,
        "replay_id": None,
        "body_size": len(raw),
        "body_sha256": hashlib.sha256(raw).hexdigest(),
    }
    fields.update(overrides)
    return build_envelope(**fields)


def test_the_schema_is_valid_draft_2020_12_and_matches_an_envelope() -> None:
    validator = schema_validator()
    envelope = envelope_for('{"a":1}')
    document = json.loads(envelope.message)
    validator.validate(document)
    assert document == {
        "schema_version": SCHEMA_VERSION,
        "event_id": envelope.event_id,
        "source": "open",
        "scheme": "none",
        "event_type": "push",
        "delivery_id": None,
        "request_id": "req-1",
        "received_at": "2026-03-01T23:59:59.999Z",
        "processed_at": "2026-03-02T00:00:00.123Z",
        "content_type": "application/json",
        "replay_id": None,
        "body_size": 7,
        "body_sha256": hashlib.sha256(b'{"a":1}').hexdigest(),
        "body_ref": None,
        "body_omitted": False,
        "body": '{"a":1}',
        "json": {"a": 1},
    }
    assert dict(envelope.attributes) == {
        "source": "open",
        "event_type": "push",
        "event_id": envelope.event_id,
        "scheme": "none",
    }


def test_the_schema_refuses_what_is_not_an_envelope() -> None:
    validator = schema_validator()
    good = json.loads(envelope_for("{}").message)
    for broken in (
        {**good, "schema_version": 2},
        {**good, "received_at": "2026-03-01T23:59:59Z"},
        {**good, "body_omitted": True},  # the body must be null then
        {**good, "body": None},  # and present otherwise
        {**good, "extra": 1},
        {k: v for k, v in good.items() if k != "replay_id"},
    ):
        assert not validator.is_valid(broken), broken


def test_times_are_iso_utc_with_milliseconds_and_the_day_is_utc() -> None:
    assert iso_utc(0) == "1970-01-01T00:00:00.000Z"
    assert iso_utc(1_772_409_599_999) == "2026-03-01T23:59:59.999Z"
    assert utc_day(1_772_409_599_999) == "2026-03-01"
    assert utc_day(1_772_409_600_000) == "2026-03-02"


def test_numbers_keep_their_digits_because_the_json_text_is_spliced_in() -> None:
    body = '{"amount": 12345678901234567890.10, "big": 1e400, "n": [1.0, -0]}'
    document = json.loads(envelope_for(body).message)
    assert document["body"] == body
    assert document["json"] == json.loads(body)
    assert '"json":' + body in envelope_for(body).message


def test_characters_sqs_refuses_and_lone_surrogates_are_escaped() -> None:
    body = '{"text":"a\ufffeb","escaped":"\\ud800"}'  # raw U+FFFE; an escaped lone surrogate
    envelope = envelope_for(body, event_type="\ud800type")
    envelope.message.encode("utf-8")  # encodable
    assert "\ufffe" not in envelope.message
    document = json.loads(envelope.message)
    assert document["body"] == body and document["body"].encode() == body.encode()
    assert document["json"] == {"text": "a\ufffeb", "escaped": "\ud800"}
    assert document["event_type"] == "\ud800type"
    assert envelope.attributes["event_type"] == "\ufffdtype"


def test_unicode_stays_utf8_and_is_counted_in_bytes() -> None:
    body = '{"name":"caf\u00e9 \U0001f600"}'
    envelope = envelope_for(body)
    assert "caf\u00e9 \U0001f600" in envelope.message  # not \u escapes
    attributes = sum(len(k) + len("String") + len(v.encode()) for k, v in envelope.attributes.items())
    assert envelope.size == len(envelope.message.encode()) + attributes


def test_the_reference_fallback_is_exactly_at_the_sns_limit() -> None:
    probe = envelope_for("x" * 100_000, json_body=False)  # body_size has as many digits as below
    room = MAX_MESSAGE_BYTES - (probe.size - 100_000)  # the body size that fills the limit exactly
    fits = envelope_for("x" * room, json_body=False)
    assert (fits.size, fits.body_omitted) == (MAX_MESSAGE_BYTES, False)
    over = envelope_for("x" * (room + 1), json_body=False)
    assert over.body_omitted and over.size < 4096
    document = json.loads(over.message)
    assert (document["body"], document["json"], document["body_omitted"]) == (None, None, True)
    assert document["body_size"] == room + 1
    schema_validator().validate(document)


def test_a_250_kb_body_becomes_a_reference() -> None:
    body = json.dumps({"data": "y" * 250_000})
    envelope = envelope_for(body)
    assert envelope.body_omitted
    document = json.loads(envelope.message)
    assert document["body_size"] == len(body.encode())
    assert document["body_sha256"] == hashlib.sha256(body.encode()).hexdigest()
    schema_validator().validate(document)


def _sized(size: int) -> Envelope:
    return Envelope("e", "m", {}, size, False)


@pytest.mark.parametrize(
    ("count", "expected"), [(0, []), (1, [1]), (10, [10]), (11, [10, 1]), (25, [10, 10, 5])]
)
def test_batches_hold_at_most_ten_entries(count: int, expected: list[int]) -> None:
    assert [len(r) for r in batches([_sized(1000)] * count)] == expected


def test_batches_hold_at_most_256_kib_in_all() -> None:
    third = MAX_MESSAGE_BYTES // 3
    sizes = [third, third, third, 10, MAX_MESSAGE_BYTES, 10]
    ranges = list(batches([_sized(s) for s in sizes]))
    assert [list(r) for r in ranges] == [[0, 1, 2], [3], [4], [5]]
    for r in ranges:
        assert len(r) <= MAX_BATCH_ENTRIES
        assert sum(sizes[i] for i in r) <= MAX_MESSAGE_BYTES
