"""`webhookctl stats` against moto in-process: counts by source, status and reason over a window.

The rows are written by the real processor (handler.process_batch), so they carry the index
keys a deployed stack stores (received_bucket, source, received_at).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from webhook_processor import handler

from tools import webhookctl
from tools.signing import sign

from .support import SOURCES, TABLE_NAME, record_for

GITHUB_SECRET = SOURCES["github"][1]
assert GITHUB_SECRET is not None
HOUR = 3_600_000
# Two UTC days apart: the window spans a day boundary (ten by_received queries per day).
BASE = int(dt.datetime(2025, 3, 10, 23, 30, tzinfo=dt.UTC).timestamp() * 1000)


def _github(body: bytes, received_at_ms: int, forged: bool = False) -> dict[str, Any]:
    headers = sign("github", GITHUB_SECRET, body, msg_id="d", event_type="push")
    record = record_for("github", body, headers, received_at_ms=received_at_ms)
    if forged:
        record["body"] += " "
    return record


@pytest.fixture
def rows(account: dict[str, str]) -> None:
    records = [
        _github(b'{"n":1}', BASE),
        _github(b'{"n":2}', BASE + HOUR),  # the next UTC day
        _github(b'{"n":3}', BASE + HOUR, forged=True),
        _github(b'{"n":4}', BASE + 2 * HOUR, forged=True),
        _github(b'{"broken":', BASE + HOUR),
        record_for("open", b'{"v":1}', {"X-Delivery-Id": "o-1"}, received_at_ms=BASE + HOUR),
        _github(b'{"n":9}', BASE - 5 * HOUR),  # before the window
    ]
    handler.process_batch({"Records": records})


def run(*argv: str) -> str:
    out = io.StringIO()
    assert webhookctl.main(list(argv), out) == 0
    return out.getvalue()


def window(since: int, until: int) -> list[str]:
    return ["--since", dt.datetime.fromtimestamp(since / 1000, dt.UTC).isoformat(), "--until",
            dt.datetime.fromtimestamp(until / 1000, dt.UTC).isoformat()]  # fmt: skip


def test_counts_every_source_over_days(rows: None) -> None:
    found = json.loads(run("--json", "stats", "--table", TABLE_NAME, *window(BASE - HOUR, BASE + 3 * HOUR)))
    counts = {(c["source"], c["status"], c["reason"]): c["count"] for c in found["counts"]}
    assert counts == {
        ("github", "processed", None): 2,
        ("github", "rejected", "signature_mismatch"): 2,
        ("github", "invalid", "invalid_json"): 1,
        ("open", "processed", None): 1,
    }


def test_one_source_and_a_narrower_window(rows: None) -> None:
    found = json.loads(
        run(
            "--json",
            "stats",
            "--table",
            TABLE_NAME,
            "--source",
            "github",
            *window(BASE + HOUR, BASE + 2 * HOUR),
        )
    )
    counts = {(c["status"], c["reason"]): c["count"] for c in found["counts"]}
    assert counts == {
        ("processed", None): 1,
        ("rejected", "signature_mismatch"): 1,
        ("invalid", "invalid_json"): 1,
    }


def test_table_output_shows_the_rejected_share(rows: None) -> None:
    text = run("stats", "--table", TABLE_NAME, *window(BASE - HOUR, BASE + 3 * HOUR))
    assert "SOURCE  STATUS" in text.splitlines()[1]
    assert "github: 5 row(s), 40 % rejected" in text
    assert "open: 1 row(s), 0 % rejected" in text


def test_an_empty_window_says_so(account: dict[str, str]) -> None:
    assert "no rows in this window" in run("stats", "--table", TABLE_NAME, "--since", "15m")


@pytest.mark.parametrize(
    ("text", "back_ms"), [("90s", 90_000), ("15m", 900_000), ("1h", HOUR), ("7d", 7 * 24 * HOUR)]
)
def test_relative_moments(monkeypatch: pytest.MonkeyPatch, text: str, back_ms: int) -> None:
    monkeypatch.setattr(webhookctl, "_now_ms", lambda: 10**13)
    assert webhookctl._parse_moment(text) == 10**13 - back_ms


def test_stats_needs_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        webhookctl.main(["stats", "--since", "1h"])
    assert "give --table" in capsys.readouterr().err
