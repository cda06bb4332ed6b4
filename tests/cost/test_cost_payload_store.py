"""tools/cost.py and the payload store: the S3 path (a source with payload_store = "s3") at 10 KB,
1 MB and 5 MB next to the queue path (413 above queue_max_message_size), and the part-3 store
writes of queue-path bodies above history_max_stored_body_bytes.

Every figure is computed here by hand from pricing/aws-prices.json, read as plain JSON (not with
the tool's load_prices), and from the sizes the tool documents (a ~1200 B S3 notification, a
~160 B body_ref, ~550 B of other row attributes, two INCLUDE index entries of ~230 B ...).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.cost.cost_tool import load_cost_tool

REPO = Path(__file__).resolve().parents[2]
PRICES_FILE = REPO / "pricing" / "aws-prices.json"

cost = load_cost_tool("webhook_ingest_cost_tool_payload_store")

KIB = 1024
MIB = 1024 * 1024
GIB = 2**30
MONTH_DAYS = 730 / 24
N = 1_000_000

# The brief's settings: batch 10, 256 MB, 120 ms per batch, 90 d history, 30 d logs, no access logs.
SETTINGS = dict(
    processor_memory_size=256,
    processor_batch_size=10,
    processor_maximum_concurrency=20,
    stage_throttling_rate_limit=100.0,
    stage_throttling_burst_limit=200,
    log_retention_days=30,
    history_retention_days=90,
    create_access_logs=False,
)

# One source of each kind, as a user's terraform.tfvars has them.
TWO_SOURCES_TFVARS = """
sources = {
  github = { scheme = "github" }
  bulk = {
    scheme           = "hmac_sha256"
    signature_header = "X-Signature"
    payload_store    = "s3"
  }
}
processor_memory_size  = 256
processor_batch_size   = 10
history_retention_days = 90
log_retention_days     = 30
create_access_logs     = false
"""


def _usd(key: str) -> float:
    """USD per unit of one entry of the prices file, read as plain JSON."""
    entry = json.loads(PRICES_FILE.read_text())["prices"][key]
    return entry["usd"] / entry["per"]


PUT = _usd("s3_standard_put_request")
GET = _usd("s3_standard_get_request")
S3_GB_MONTH = _usd("s3_standard_storage_gb_month")
REST = _usd("apigateway_rest_request")
SQS = _usd("sqs_standard_request")
LAMBDA_REQ = _usd("lambda_request")
GB_S = _usd("lambda_gb_second_x86")
WRU = _usd("dynamodb_on_demand_write_request_unit")
DDB_GB_MONTH = _usd("dynamodb_storage_gb_month")
LOGS_IN = _usd("cloudwatch_logs_ingestion_gb")
LOGS_GB_MONTH = _usd("cloudwatch_logs_storage_gb_month")
SNS = _usd("sns_standard_request")


@pytest.fixture
def prices() -> Any:
    return cost.load_prices(PRICES_FILE)


def _settings(**overrides: object) -> Any:
    return cost.ModuleSettings(**{**SETTINGS, **overrides})


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _hand_s3(body: int, history_days: int = 90) -> dict[str, float]:
    """The S3 path per million webhooks of ``body`` bytes, by hand (batch 10, 256 MB, 120 ms)."""
    months = history_days / MONTH_DAYS if history_days else 1.0
    # the row: body_ref always (~160 B), the body inline too up to 350000 B, + ~550 B of others
    row = (body if body <= 350_000 else 0) + 160 + 550
    # the envelope: 600 B of fields + body + 10 % escapes + the parsed JSON + 140 B of attributes,
    # or, above 256 KiB, the fields and attributes only (body_omitted)
    envelope = 600 + body + math.ceil(body / 10) + body + 140
    if envelope > 262_144:
        envelope = 600 + 140
    # PublishBatch of 10 envelopes: each started 64 KB of the call is one SNS request
    publish_per_event = math.ceil(10 * envelope / 65536) / 10
    log_bytes = 700 / 10 + 480
    return {
        "api_gateway": REST * N,
        "s3_put": PUT * N,
        # the ~1200 B notification: 1 send; 10 of them per receive (12000 B: one 64 KB chunk) and
        # per delete batch
        "sqs_requests": (1 + 0.1 + 0.1) * SQS * N,
        "lambda_requests": LAMBDA_REQ * N / 10,
        "lambda_compute": 0.120 * 256 / 1024 / 10 * GB_S * N,
        "s3_get": GET * N,
        # the put: ceil(row / 1 KB) + one WRU per INCLUDE index entry (2 of ~230 B)
        "dynamodb_writes": (math.ceil(row / 1024) + 2) * WRU * N,
        # published_at (+20 B): billed on the larger item, no index write
        "dynamodb_marker": math.ceil((row + 20) / 1024) * WRU * N,
        "sns_publish": publish_per_event * SNS * N,
        # item + 2 index entries + 100 B of overhead for each of the 3
        "dynamodb_storage": (row + 20 + 2 * 230 + 3 * 100) * N / GIB * months * DDB_GB_MONTH,
        "s3_storage": body * N / GIB * months * S3_GB_MONTH,
        "logs_ingestion": log_bytes * N / GIB * LOGS_IN,
        "logs_storage": log_bytes * N / GIB * (30 / MONTH_DAYS) * LOGS_GB_MONTH,
    }


def _hand_queue_10kb() -> dict[str, float]:
    """The queue path at 10 KB by hand: the body is the SQS message (+ ~400 B of attributes)."""
    body = 10 * KIB
    row = body + 550
    months = 90 / MONTH_DAYS
    log_bytes = 700 / 10 + 480
    return {
        "api_gateway": REST * N,
        # 1 send (10640 B, one chunk); a receive of 10 x 10640 B = 2 chunks, per 10 messages
        "sqs_requests": (1 + 0.2 + 0.1) * SQS * N,
        "lambda_requests": LAMBDA_REQ * N / 10,
        "lambda_compute": 0.120 * 256 / 1024 / 10 * GB_S * N,
        "dynamodb_writes": (math.ceil(row / 1024) + 2) * WRU * N,
        "dynamodb_marker": math.ceil((row + 20) / 1024) * WRU * N,
        # 10 envelopes of 22244 B = 222440 B in one PublishBatch: 4 chunks
        "sns_publish": 0.4 * SNS * N,
        "dynamodb_storage": (row + 20 + 2 * 230 + 3 * 100) * N / GIB * months * DDB_GB_MONTH,
        "logs_ingestion": log_bytes * N / GIB * LOGS_IN,
        "logs_storage": log_bytes * N / GIB * (30 / MONTH_DAYS) * LOGS_GB_MONTH,
    }


# ---------------------------------------------------------------- prices file


def test_prices_file_has_the_s3_list_prices() -> None:
    data = json.loads(PRICES_FILE.read_text())
    assert data["as_of"] and data["region"] == "us-east-1"
    for key in ("s3_standard_put_request", "s3_standard_get_request", "s3_standard_storage_gb_month"):
        entry = data["prices"][key]
        assert entry["source"] == "https://aws.amazon.com/s3/pricing/", key
        assert entry["unit"] and entry["tier"], key
    # us-east-1 list prices: PUT $0.005 per 1,000, GET $0.0004 per 1,000, $0.023 per GB-month
    assert math.isclose(PUT, 0.005 / 1000)
    assert math.isclose(GET, 0.0004 / 1000)
    assert math.isclose(S3_GB_MONTH, 0.023)
    p = cost.load_prices(PRICES_FILE)
    assert (p.s3_put_request, p.s3_get_request, p.s3_storage_gb_month) == pytest.approx(
        (PUT, GET, S3_GB_MONTH)
    )


def test_prices_file_without_an_s3_price_is_an_error(tmp_path: Path) -> None:
    data = json.loads(PRICES_FILE.read_text())
    del data["prices"]["s3_standard_get_request"]
    path = _write(tmp_path, "prices.json", json.dumps(data))
    with pytest.raises(cost.CostError, match='price "s3_standard_get_request" is missing'):
        cost.load_prices(path)


# ---------------------------------------------------------------- the S3 path by hand


@pytest.mark.parametrize("body", [10 * KIB, 1 * MIB, 5 * MIB], ids=["10KB", "1MB", "5MB"])
def test_s3_path_components_by_hand(prices: Any, body: int) -> None:
    r = cost.compute_s3(body, _settings(), prices, duration_ms=120)
    want = _hand_s3(body)
    assert r.s3 is not None
    got = {k: v for k, v in r.s3.items() if k in want}
    assert got == pytest.approx(want)
    assert set(r.s3) == set(want)  # nothing else is priced
    assert sum(r.s3.values()) == pytest.approx(sum(want.values()))
    q = r.s3_quantities
    assert (q["s3_put_requests"], q["s3_get_requests"], q["sqs_send_requests"]) == (1, 1, 1)
    assert q["sqs_message_bytes"] == 1200  # the notification, not the body
    assert q["row_body_bytes"] == (body + 160 if body <= 350_000 else 160)
    assert q["s3_stored_bytes"] == body


def test_s3_path_totals_by_hand(prices: Any) -> None:
    """The three totals, spelled out (USD per million webhooks)."""
    months = 90 / MONTH_DAYS
    fixed = REST * N + PUT * N + 1.2 * SQS * N + LAMBDA_REQ * N / 10 + 0.003 * GB_S * N + GET * N
    logs = 550 * N / GIB * (LOGS_IN + 30 / MONTH_DAYS * LOGS_GB_MONTH)
    ten_kb = (
        fixed
        + (11 + 2) * WRU * N  # ceil((10240 + 160 + 550) / 1024) = 11, + 2 index entries
        + 11 * WRU * N  # the marker on 10970 B
        + 0.4 * SNS * N  # 10 x 22244 B: 4 chunks per PublishBatch of 10
        + 11730 * N / GIB * months * DDB_GB_MONTH  # 10970 + 460 + 300 B
        + 10240 * N / GIB * months * S3_GB_MONTH
        + logs
    )
    large = [
        fixed
        + (1 + 2) * WRU * N  # 160 + 550 B: 1 WRU
        + 1 * WRU * N
        + 0.1 * SNS * N  # 740 B envelopes (body omitted): 1 chunk per 10
        + 1490 * N / GIB * months * DDB_GB_MONTH  # 730 + 460 + 300 B
        + size * N / GIB * months * S3_GB_MONTH
        + logs
        for size in (MIB, 5 * MIB)
    ]
    totals = [sum(cost.compute_s3(b, _settings(), prices, 120).s3.values()) for b in (10 * KIB, MIB, 5 * MIB)]
    assert totals == pytest.approx([ten_kb, *large])
    # the list prices as of the file: about $33.65, $79.76 and $345.60 per million
    assert totals == pytest.approx([33.6514, 79.7575, 345.5966], abs=1e-3)


def test_queue_path_beside_it_and_413(prices: Any) -> None:
    ten = cost.compute_s3(10 * KIB, _settings(), prices, 120)
    assert ten.queue is not None
    want = _hand_queue_10kb()
    assert {k: ten.queue[k] for k in want} == pytest.approx(want)
    # no payload store write at 10 KB, no GET
    assert ten.queue["s3_put"] == 0 and ten.queue["s3_storage"] == 0 and "s3_get" not in ten.queue
    # 1 MB and 5 MB exceed the queue's 262144 B (and even its largest, 1048576 B, with attributes)
    for body in (MIB, 5 * MIB):
        assert cost.compute_s3(body, _settings(), prices, 120).queue is None
        assert cost.compute_s3(body, _settings(queue_max_message_size=1048576), prices, 120).queue is None
    # the boundary: body + ~400 B of message attributes <= queue_max_message_size
    s = _settings()
    a = cost.Assumptions()
    assert cost.queue_carries(262_144 - 400, s, a) and not cost.queue_carries(262_144 - 399, s, a)
    # above API Gateway's 10 MB: 413 on both paths
    over = cost.compute_s3(10 * MIB + 1, s, prices, 120)
    assert over.s3 is None and over.queue is None
    assert cost.compute_s3(10 * MIB, s, prices, 120).s3 is not None


def test_rows_kept_forever_price_one_month_of_s3(prices: Any) -> None:
    r = cost.compute_s3(MIB, _settings(history_retention_days=0), prices, 120)
    want = _hand_s3(MIB, history_days=0)
    assert r.s3["s3_storage"] == pytest.approx(MIB * N / GIB * 1.0 * S3_GB_MONTH)  # $22.46 per month
    assert r.s3["s3_storage"] == pytest.approx(want["s3_storage"])
    assert r.s3_quantities["s3_storage_months"] == 1.0
    notes = " ".join(cost._notes(_settings(history_retention_days=0), cost.Assumptions(), 120, False))
    assert "history_retention_days = 0: no expiration), so the figure is PER MONTH" in notes


def test_kms_key_changes_only_the_note(prices: Any) -> None:
    with_key = _settings(kms_key_arn=True)
    assert cost.compute_s3(MIB, with_key, prices, 120).s3 == pytest.approx(
        cost.compute_s3(MIB, _settings(), prices, 120).s3
    )
    notes = " ".join(cost._notes(with_key, cost.Assumptions(), 120, False))
    assert "S3 Bucket Key" in notes and "KMS requests ~0 per webhook" in notes
    assert "SSE-S3 (no kms_key_arn): no KMS requests" in " ".join(
        cost._notes(_settings(), cost.Assumptions(), 120, False)
    )


# ---------------------------------------------------------------- part 3: the queue path's store writes


def test_queue_body_above_the_row_limit_is_one_put_and_s3_storage(prices: Any) -> None:
    """examples/complete: history_max_stored_body_bytes = 65536, so a 100 KB body goes to S3."""
    body = 100 * KIB
    r = cost.compute(body, _settings(history_max_stored_body_bytes=65536), prices, 120)
    m = r.designs["module"]
    months = 90 / MONTH_DAYS
    assert m["s3_put"] == pytest.approx(PUT * N)  # $5.00
    assert m["s3_storage"] == pytest.approx(body * N / GIB * months * S3_GB_MONTH)
    # the row keeps a ~160 B body_ref instead of the body: 160 + 550 B = 1 WRU, + 2 index entries
    assert m["dynamodb_writes"] == pytest.approx((1 + 2) * WRU * N)
    assert m["dynamodb_marker"] == pytest.approx(1 * WRU * N)
    assert m["dynamodb_storage"] == pytest.approx((730 + 460 + 300) * N / GIB * months * DDB_GB_MONTH)
    assert r.quantities["payload_store_puts"] == 1 and r.quantities["row_body_bytes"] == 160
    # the same processing side for the alternatives
    assert r.designs["alt_b_http_api"]["s3_put"] == pytest.approx(PUT * N)
    # the SQS message still carries the body: 2 sends of 64 KB, 16 chunks per receive of 10
    assert m["sqs_requests"] == pytest.approx((2 + 1.6 + 0.1) * SQS * N)

    # without the store the body is kept truncated at the limit: ceil((65536 + 550) / 1024) = 65
    off = cost.compute(
        body, _settings(history_max_stored_body_bytes=65536, create_payload_store=False), prices, 120
    )
    assert off.designs["module"]["s3_put"] == 0 and off.designs["module"]["s3_storage"] == 0
    assert off.designs["module"]["dynamodb_writes"] == pytest.approx((65 + 2) * WRU * N)
    # at the limit itself the body stays in the row
    at = cost.compute(65536, _settings(history_max_stored_body_bytes=65536), prices, 120)
    assert at.designs["module"]["s3_put"] == 0
    assert at.designs["module"]["dynamodb_writes"] == pytest.approx((math.ceil(66086 / 1024) + 2) * WRU * N)


def test_s3_source_row_keeps_the_body_up_to_the_limit(prices: Any) -> None:
    s = _settings(history_max_stored_body_bytes=65536)
    inline = cost.compute_s3(65536, s, prices, 120)
    ref_only = cost.compute_s3(65537, s, prices, 120)
    assert inline.s3_quantities["row_body_bytes"] == 65536 + 160
    assert ref_only.s3_quantities["row_body_bytes"] == 160
    assert inline.s3["dynamodb_writes"] == pytest.approx(
        (math.ceil((65536 + 160 + 550) / 1024) + 2) * WRU * N
    )
    assert ref_only.s3["dynamodb_writes"] == pytest.approx(3 * WRU * N)
    # the S3 path never makes a second (bodies/) PUT: one PUT, at the edge
    assert ref_only.s3["s3_put"] == pytest.approx(PUT * N)
    assert ref_only.s3_quantities["payload_store_puts"] == 0


# ---------------------------------------------------------------- sources and the CLI


def test_sources_from_hcl_and_json_var_files(tmp_path: Path) -> None:
    hcl = _write(tmp_path, "two.tfvars", TWO_SOURCES_TFVARS)
    got = {s.name: s.payload_store for s in cost.read_var_file_sources(hcl)}
    assert got == {"bulk": "s3", "github": "queue"}  # payload_store defaults to "queue"
    as_json = _write(
        tmp_path,
        "two.tfvars.json",
        json.dumps(
            {"sources": {"github": {"scheme": "github"}, "bulk": {"scheme": "none", "payload_store": "s3"}}}
        ),
    )
    assert {s.name: s.payload_store for s in cost.read_var_file_sources(as_json)} == got
    assert cost.read_var_file_sources(_write(tmp_path, "none.tfvars", "processor_batch_size = 5\n")) == []


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            'sources = { a = { scheme = "none", payload_store = "dynamodb" } }',
            r'payload_store must be "queue" or "s3"',
        ),
        ('sources = { a = "github" }', r"sources\['a'\] must be an object"),
        ('sources = ["a"]', "sources must be a map"),
    ],
)
def test_bad_sources_are_named(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(cost.CostError, match=pattern):
        cost.read_var_file_sources(_write(tmp_path, "bad.tfvars", text + "\n"))


def test_cli_prints_the_s3_table_for_a_var_file_with_both_kinds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    var_file = _write(tmp_path, "two.tfvars", TWO_SOURCES_TFVARS)
    out = tmp_path / "cost.json"
    assert cost.main(["--var-file", str(var_file), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert 'S3 path (payload_store = "s3"' in text
    assert "  sources bulk; queue sources: github" in text
    assert "10 KB" in text and "1 MB" in text and "5 MB" in text
    report = json.loads(out.read_text())
    assert [(s["name"], s["payload_store"]) for s in report["sources"]] == [
        ("bulk", "s3"),
        ("github", "queue"),
    ]
    rows = report["s3_path"]["results"]
    assert [r["payload_bytes"] for r in rows] == [10 * KIB, MIB, 5 * MIB]
    for r in rows:
        want = _hand_s3(r["payload_bytes"])
        assert r["s3"]["total"] == pytest.approx(sum(want.values()), abs=1e-5)
        assert r["s3"]["components"] == pytest.approx(want, abs=1e-6)
        assert f"{r['s3']['total']:,.4f}" in text  # the table shows the JSON's figures
    assert rows[0]["queue"]["total"] == pytest.approx(sum(_hand_queue_10kb().values()), abs=1e-5)
    assert rows[1]["queue"] == {"status": 413} and rows[2]["queue"] == {"status": 413}
    total_line = next(line for line in text.splitlines() if line.startswith("  Total") and "413" in line)
    assert total_line.split()[1:] == [
        f"{rows[0]['s3']['total']:,.4f}",
        f"{rows[0]['queue']['total']:,.4f}",
        f"{rows[1]['s3']['total']:,.4f}",
        "413",
        f"{rows[2]['s3']['total']:,.4f}",
        "413",
    ]
    assert "5 MB s3: 1 PUT + 1 GET" in text and "object 5,242,880 B for 2.96 months; queue: 413" in text


def test_cli_s3_sizes_and_the_store_requirement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    var_file = _write(tmp_path, "two.tfvars", TWO_SOURCES_TFVARS)
    out = tmp_path / "cost.json"
    assert cost.main(["--var-file", str(var_file), "--s3-payload-kb", "64", "20480", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    rows = json.loads(out.read_text())["s3_path"]["results"]
    assert [r["payload_kb"] for r in rows] == [64, 20480]
    assert rows[1]["s3"] == {"status": 413} and "20 MB: above API Gateway's 10 MB: 413 on both paths" in text
    no_store = _write(tmp_path, "nostore.tfvars", TWO_SOURCES_TFVARS + "create_payload_store = false\n")
    assert cost.main(["--var-file", str(no_store)]) == 2
    err = capsys.readouterr().err
    assert 'payload_store = "s3" (bulk) need the payload store: create_payload_store is false' in err


def test_cli_without_sources_still_prices_the_s3_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert cost.main([]) == 0
    text = capsys.readouterr().out
    assert "no sources read" in text and "S3 Standard storage (90 d)" in text


def test_main_table_shows_the_store_write_and_413(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    var_file = _write(tmp_path, "big.tfvars", "history_max_stored_body_bytes = 65536\n")
    assert cost.main(["--var-file", str(var_file), "--payload-kb", "10", "100", "300"]) == 0
    text = capsys.readouterr().out
    ten, hundred, three_hundred = text.split("\nPayload ")[1:4]
    put_line = next(line for line in hundred.splitlines() if "Payload store PUT" in line)
    assert put_line.split()[-3:] == [f"{PUT * N:,.4f}"] * 3
    assert "1 PUT to the payload store, the row keeps body_ref (160 B)" in hundred
    assert "Payload store PUT" in ten and "1 PUT to the payload store" not in ten
    assert "above queue_max_message_size (262144 B" in three_hundred and "answers 413" in three_hundred
    assert "answers 413" not in hundred


# ---------------------------------------------------------------- --plan


def _plan_with(
    tmp_path: Path, expressions: dict[str, Any], resources: list[dict[str, Any]], root_vars=None
) -> Path:
    variables = {
        name: {"default": False if spec.kind == "bool" else max(spec.minimum or 0, 1)}
        for name, spec in cost.VARIABLES.items()
        if spec.kind != "set"
    }
    data = {
        "variables": root_vars or {},
        "planned_values": {
            "root_module": {"child_modules": [{"address": "module.hooks", "resources": resources}]}
        },
        "configuration": {
            "root_module": {
                "module_calls": {
                    "hooks": {
                        "source": "../..",
                        "expressions": expressions,
                        "module": {"variables": variables},
                    }
                }
            }
        },
    }
    return _write(tmp_path, "plan.json", json.dumps(data))


def _resource(address: str, rtype: str, values: dict[str, Any], index: Any = None) -> dict[str, Any]:
    r = {
        "address": address,
        "mode": "managed",
        "type": rtype,
        "name": address.rsplit(".", 1)[-1].split("[", 1)[0],
        "values": values,
    }
    if index is not None:
        r["index"] = index
    return r


def test_plan_sources_from_the_argument_or_a_root_variable(tmp_path: Path) -> None:
    literal = {"github": {"scheme": "github"}, "bulk": {"scheme": "none", "payload_store": "s3"}}
    read = cost.load_plan_settings(_plan_with(tmp_path, {"sources": {"constant_value": literal}}, []))
    assert {s.name: s.payload_store for s in read.sources} == {"bulk": "s3", "github": "queue"}
    assert "module.hooks argument sources" in read.sources_origin
    by_var = _plan_with(
        tmp_path, {"sources": {"references": ["var.sources"]}}, [], {"sources": {"value": literal}}
    )
    read = cost.load_plan_settings(by_var)
    assert {s.name: s.payload_store for s in read.sources} == {"bulk": "s3", "github": "queue"}
    assert "= var.sources" in read.sources_origin


def test_plan_sources_from_the_s3_integrations_and_store_settings(tmp_path: Path) -> None:
    """A `sources` built from locals: the planned integrations say, a PUT to S3 (s3) or a POST to
    SQS (queue), keyed by the source's name."""
    base = "module.hooks"
    resources = [
        _resource(f"{base}.aws_s3_bucket.payloads[0]", "aws_s3_bucket", {"force_destroy": False}, 0),
        _resource(
            f'{base}.aws_api_gateway_integration.payloads["bulk"]',
            "aws_api_gateway_integration",
            {"type": "AWS", "integration_http_method": "PUT"},
            "bulk",
        ),
        _resource(
            f'{base}.aws_api_gateway_integration.webhook["github"]',
            "aws_api_gateway_integration",
            {"type": "AWS", "integration_http_method": "POST"},
            "github",
        ),
        _resource(
            f"{base}.aws_lambda_function.processor",
            "aws_lambda_function",
            {"environment": [{"variables": {"MAX_STORED_BODY_BYTES": "65536"}}]},
        ),
        _resource(f"{base}.aws_sqs_queue.main", "aws_sqs_queue", {"max_message_size": 1048576}),
    ]
    plan = _plan_with(tmp_path, {"sources": {"references": ["local.sources"]}}, resources)
    read = cost.load_plan_settings(plan)
    assert [(s.name, s.payload_store) for s in read.sources] == [("bulk", "s3"), ("github", "queue")]
    assert "API Gateway integrations" in read.sources_origin
    s = read.settings
    assert (
        s.create_payload_store is True and "aws_s3_bucket.payloads[0]" in read.origins["create_payload_store"]
    )
    assert s.history_max_stored_body_bytes == 65536 and s.queue_max_message_size == 1048576
    assert s.kms_key_arn is False  # not set: the module's default (null)
    # no bucket planned: no store
    no_bucket = _plan_with(tmp_path, {"kms_key_arn": {"references": ["aws_kms_key.this.arn"]}}, resources[1:])
    read = cost.load_plan_settings(no_bucket)
    assert read.settings.create_payload_store is False and read.settings.kms_key_arn is True
