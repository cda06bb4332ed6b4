"""Tests for tools/cost.py: the variables.tf/tfvars reader, the cost arithmetic and the CLI."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from tests.cost.cost_tool import load_cost_tool

REPO = Path(__file__).resolve().parents[2]
REAL_VARIABLES = REPO / "variables.tf"
REAL_PRICES = REPO / "pricing" / "aws-prices.json"


cost = load_cost_tool("webhook_ingest_cost_tool")

# A variables.tf with the module's defaults, written the awkward ways HCL allows, so the
# reader is tested on comments, heredocs, nested blocks, interpolation and one-liners.
FIXTURE_VARIABLES_TF = r"""
# processor_memory_size default = 999 in a comment must be ignored
variable "processor_memory_size" {
  description = <<-EOT
    Memory in MB. A heredoc may say default = 1 and contain } braces {.
  EOT
  type        = number
  default     = 256 // trailing comment
  validation {
    condition     = var.processor_memory_size >= 128 && var.processor_memory_size <= 10240
    error_message = "Between 128 and 10240 MB, got ${var.processor_memory_size} (\"quoted\" })."
  }
}

/* variable "processor_batch_size" { default = 7 } is commented out here
   and so is this line: default = 3 */
variable "processor_batch_size" {
  type    = number
  default = 10
}

variable "processor_timeout" { default = 30 }
variable "processor_batching_window_seconds" { default = 5 }

variable "processor_maximum_concurrency" {
  type    = number
  default = 20
}

variable "queue_max_receive_count" {
  default = 5
}

variable "log_retention_days" {
  type = number
  default = 30
}

variable "stage_throttling_rate_limit" {
  default = 100
}

variable "stage_throttling_burst_limit" {
  default = 200
}

variable "history_retention_days" {
  description = "Days kept; \"0\" = forever. Braces in strings: { } ${"nested"}"
  default     = 90
}

variable "create_access_logs" {
  type    = bool
  default = true
}

variable "create_event_topic" {
  type     = bool
  default  = true
  nullable = false
}

variable "sources" {
  type = map(object({
    scheme            = string
    tolerance_seconds = optional(number, 300)
  }))
  default = {
    github = { scheme = "github" }
  }
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "name" {
  type = string
}
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def variables_tf(tmp_path: Path) -> Path:
    return _write(tmp_path, "variables.tf", FIXTURE_VARIABLES_TF)


@pytest.fixture
def prices() -> object:
    """The brief's list prices, independent of the data file."""
    return cost.Prices(
        as_of="test",
        region="us-east-1",
        rest_request=3.50 / 1e6,
        http_request=1.00 / 1e6,
        http_increment_bytes=512 * 1024,
        sqs_request=0.40 / 1e6,
        sqs_chunk_bytes=64 * 1024,
        lambda_request=0.20 / 1e6,
        lambda_gb_second=0.0000166667,
        ddb_write_unit=0.625 / 1e6,
        ddb_storage_gb_month=0.25,
        logs_ingestion_gb=0.50,
        logs_storage_gb_month=0.03,
        sources={},
        sns_request=0.50 / 1e6,
        sns_chunk_bytes=64 * 1024,
        sns_payload_filter_gb=0.09,
        s3_put_request=0.005 / 1000,
        s3_get_request=0.0004 / 1000,
        s3_storage_gb_month=0.023,
    )


DEFAULTS = dict(
    processor_memory_size=256,
    processor_batch_size=10,
    processor_maximum_concurrency=20,
    stage_throttling_rate_limit=100.0,
    stage_throttling_burst_limit=200,
    log_retention_days=30,
    history_retention_days=90,
    create_access_logs=True,
    processor_timeout=30,
    processor_batching_window_seconds=5,
    queue_max_receive_count=5,
)


def _settings(**overrides: object) -> object:
    return cost.ModuleSettings(**{**DEFAULTS, **overrides})


# ---------------------------------------------------------------- variables.tf / tfvars


def test_parses_defaults_from_fixture_variables_tf(variables_tf: Path) -> None:
    defaults = cost.parse_variable_defaults(variables_tf.read_text(), str(variables_tf))
    assert defaults["processor_memory_size"] == 256
    assert defaults["processor_batch_size"] == 10
    assert defaults["processor_timeout"] == 30
    assert defaults["history_retention_days"] == 90
    assert defaults["create_access_logs"] is True
    assert isinstance(defaults["sources"], cost.NonScalar)
    assert isinstance(defaults["tags"], cost.NonScalar)
    assert defaults["name"] is cost.NO_DEFAULT


def test_load_settings_reads_every_module_default(variables_tf: Path) -> None:
    settings, origins = cost.load_settings(variables_tf)
    assert settings == _settings()
    assert set(origins.values()) == {str(variables_tf)}


def test_event_topic_input(variables_tf: Path, tmp_path: Path) -> None:
    off = _write(tmp_path, "off.tfvars", "create_event_topic = false\n")
    settings, origins = cost.load_settings(variables_tf, off)
    assert settings.create_event_topic is False and origins["create_event_topic"] == str(off)
    # a variables.tf without the input (before issue 10): the module's default, said so
    older = _write(
        tmp_path, "older.tf", FIXTURE_VARIABLES_TF.replace('variable "create_event_topic"', 'variable "x"')
    )
    settings, origins = cost.load_settings(older)
    assert settings.create_event_topic is True
    assert "assumed true" in origins["create_event_topic"]


def test_scalar_forms() -> None:
    text = """
variable "a" { default = -5 }
variable "b" { default = 1.5e3 }
variable "c" { default = "x\\"y\\u00e9" }
variable "d" { default = null }
variable "e" { default = false }
variable "f" { default = "${var.a}" }
variable "g" {
  default = [
    1,
    2,
  ]
}
"""
    d = cost.parse_variable_defaults(text)
    assert d["a"] == -5
    assert d["b"] == 1500.0
    assert d["c"] == 'x"y\u00e9'
    assert d["d"] is None
    assert d["e"] is False
    assert isinstance(d["f"], cost.NonScalar)  # interpolation is not a literal
    assert isinstance(d["g"], cost.NonScalar)


def test_missing_default_is_a_clear_error(tmp_path: Path) -> None:
    text = FIXTURE_VARIABLES_TF.replace("  default = 10\n", "")  # processor_batch_size
    path = _write(tmp_path, "variables.tf", text)
    with pytest.raises(cost.CostError) as info:
        cost.load_settings(path)
    message = str(info.value)
    assert "missing default" in message
    assert "processor_batch_size (is declared without a default)" in message
    assert "--var-file" in message


def test_undeclared_needed_variable_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "variables.tf", 'variable "processor_memory_size" { default = 256 }\n')
    with pytest.raises(cost.CostError, match=r"processor_batch_size \(is not declared\)"):
        cost.load_settings(path)


def test_missing_default_can_come_from_the_var_file(tmp_path: Path) -> None:
    text = FIXTURE_VARIABLES_TF.replace("  default = 10\n", "")
    path = _write(tmp_path, "variables.tf", text)
    var_file = _write(tmp_path, "x.tfvars", "processor_batch_size = 25\n")
    settings, origins = cost.load_settings(path, var_file)
    assert settings.processor_batch_size == 25
    assert origins["processor_batch_size"] == str(var_file)


def test_non_literal_default_is_rejected(tmp_path: Path) -> None:
    text = FIXTURE_VARIABLES_TF.replace("default = 20", "default = local.concurrency")
    path = _write(tmp_path, "variables.tf", text)
    with pytest.raises(cost.CostError, match=r"processor_maximum_concurrency .* must be a literal int"):
        cost.load_settings(path)


def test_hcl_tfvars_override(variables_tf: Path, tmp_path: Path) -> None:
    var_file = _write(
        tmp_path,
        "prod.tfvars",
        """
# production
processor_memory_size = 512
processor_batch_size  = "100"   # Terraform converts the string
create_access_logs    = false
sources = {
  github = { scheme = "github" }
}
tags = { team = "payments" }
""",
    )
    settings, origins = cost.load_settings(variables_tf, var_file)
    assert settings.processor_memory_size == 512
    assert settings.processor_batch_size == 100
    assert settings.create_access_logs is False
    assert settings.log_retention_days == 30  # not overridden
    assert origins["processor_memory_size"] == str(var_file)
    assert origins["log_retention_days"] == str(variables_tf)


def test_json_tfvars_override(variables_tf: Path, tmp_path: Path) -> None:
    var_file = _write(
        tmp_path,
        "prod.tfvars.json",
        json.dumps({"processor_batch_size": 50, "history_retention_days": 0, "tags": {"a": "b"}}),
    )
    settings, _ = cost.load_settings(variables_tf, var_file)
    assert settings.processor_batch_size == 50
    assert settings.history_retention_days == 0


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        ("processor_batch_size = 2.5", "whole number"),
        ("processor_batch_size = 0", "below the minimum"),
        ("processor_memory_size = true", "must be a number"),
        ("create_access_logs = 1", "true or false"),
        ("processor_memory_size = null", "is null"),
        ('name = "unterminated', "unterminated string"),
        ('block "x" {\n}', "blocks are not allowed"),
    ],
)
def test_bad_tfvars_values(variables_tf: Path, tmp_path: Path, line: str, pattern: str) -> None:
    var_file = _write(tmp_path, "bad.tfvars", line + "\n")
    with pytest.raises(cost.CostError, match=pattern):
        cost.load_settings(variables_tf, var_file)


def test_parse_errors_carry_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "variables.tf", 'variable "a" {\n  default = 1\n\nvariable "b" {\n')
    with pytest.raises(cost.CostError, match=r"variables\.tf:\d+: .*not closed"):
        cost.load_settings(path)


def test_real_variables_tf_parses() -> None:
    if not REAL_VARIABLES.exists():
        reason = f"{REAL_VARIABLES} does not exist yet (the module's variables are being written)"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    settings, _ = cost.load_settings(REAL_VARIABLES)
    assert 1 <= settings.processor_batch_size <= 10000
    assert 128 <= settings.processor_memory_size <= 10240


# ---------------------------------------------------------------- arithmetic


def test_sqs_chunks_by_payload_size() -> None:
    a = cost.Assumptions()
    chunk = 64 * 1024
    assert cost.sqs_send_requests(1024, a, chunk) == 1
    assert cost.sqs_send_requests(10 * 1024, a, chunk) == 1
    assert cost.sqs_send_requests(100 * 1024, a, chunk) == 2  # 100 KB = 2 chunks
    assert cost.sqs_send_requests(chunk - a.sqs_attribute_bytes, a, chunk) == 1
    assert cost.sqs_send_requests(chunk - a.sqs_attribute_bytes + 1, a, chunk) == 2
    # one receive of 10 x 1.4 KB = 1 chunk; of 10 x 10.4 KB = 2; of 10 x 100.4 KB = 16
    assert cost.sqs_receive_requests_per_message(1024, 10, a, chunk) == pytest.approx(0.1)
    assert cost.sqs_receive_requests_per_message(10 * 1024, 10, a, chunk) == pytest.approx(0.2)
    assert cost.sqs_receive_requests_per_message(100 * 1024, 10, a, chunk) == pytest.approx(1.6)
    # batch 25 = receives of 10 + 10 + 5, and 3 delete batches
    assert cost.sqs_receive_requests_per_message(1024, 25, a, chunk) == pytest.approx(3 / 25)
    assert cost.sqs_delete_requests_per_message(25) == pytest.approx(3 / 25)
    assert cost.sqs_delete_requests_per_message(1) == 1


def test_dynamodb_write_units_include_truncation_and_gsi() -> None:
    a = cost.Assumptions()  # by_source and by_received, both INCLUDE (~230 B entries: 1 WRU each)
    assert cost.dynamodb_write_units(1024, a) == (2, 2)  # 1024 + 550 bytes -> 2 WRU
    assert cost.gsi_write_units(1024, a) == {"by_source": 1, "by_received": 1}
    assert cost.dynamodb_write_units(100 * 1024, a) == (101, 2)
    # stored body truncated at 350000 bytes: ceil(350550 / 1024) = 343
    assert cost.dynamodb_write_units(1024 * 1024, a) == (343, 2)
    all_projection = cost.Assumptions(ddb_gsis=(("by_source", "ALL", "source"),))
    assert cost.dynamodb_write_units(1024, all_projection) == (2, 2)
    keys_only = cost.Assumptions(ddb_gsis=(("by_source", "KEYS_ONLY", "source"),))
    assert cost.dynamodb_write_units(1024, keys_only) == (2, 1)
    assert cost.dynamodb_write_units(1024, cost.Assumptions(ddb_gsis=())) == (2, 0)


def test_published_at_marker_is_billed_on_the_larger_item() -> None:
    a = cost.Assumptions()
    # 1024 + 550 = 1574 B before, + 20 B of published_at = 1594 B after: 2 WRU, no index write
    assert cost.dynamodb_marker_write_units(1024, a) == (2, 0)
    # a 474 B body: the put writes 1024 B (1 WRU); the update is billed on 1044 B (2 WRU)
    assert cost.dynamodb_write_units(474, a)[0] == 1
    assert cost.dynamodb_marker_write_units(474, a) == (2, 0)
    assert cost.dynamodb_marker_write_units(100 * 1024, a) == (101, 0)
    # an ALL index projects published_at, so the update writes it too
    all_projection = cost.Assumptions(
        ddb_gsis=(("by_source", "ALL", "source"), ("by_received", "INCLUDE", "received_day"))
    )
    assert cost.dynamodb_marker_write_units(1024, all_projection) == (2, 2)


def test_envelope_size_by_hand() -> None:
    a = cost.Assumptions()
    # 600 B of fields + 1024 B body + 103 escapes (10 %, rounded up) + the 1024 B parsed JSON
    e = cost.envelope_size(1024, a)
    assert (e.message_bytes, e.size, e.body_omitted) == (600 + 1127 + 1024, 2751 + 140, False)
    not_json = cost.envelope_size(1024, cost.Assumptions(body_is_json=False))
    assert not_json.message_bytes == 600 + 1127
    assert cost.envelope_size(100 * 1024, a).size == 600 + 102400 + 10240 + 102400 + 140
    # over 256 KiB with its attributes: a reference, the fields and attributes only
    omitted = cost.envelope_size(130 * 1024, a)
    assert (omitted.message_bytes, omitted.size, omitted.body_omitted) == (600, 740, True)
    # the largest JSON body still sent whole: 600 + 2.1 x body (rounded up) + 140 <= 262144
    largest = max(b for b in range(124_000, 125_000) if not cost.envelope_size(b, a).body_omitted)
    assert 600 + largest + math.ceil(largest * 0.1) + largest + 140 <= 262_144
    assert cost.envelope_size(largest + 1, a).body_omitted


def test_sns_publish_requests_by_hand() -> None:
    chunk = 64 * 1024
    # 1 KB webhooks: 10 envelopes of 2891 B = 28910 B, one 64 KB chunk per PublishBatch of 10
    assert cost.sns_publish_requests_per_event(2891, 10, chunk) == pytest.approx(0.1)
    assert cost.sns_publish_requests_per_event(2891, 1, chunk) == 1  # batch 1: a call per event
    # batch 25: calls of 10, 10 and 5 entries, one chunk each
    assert cost.sns_publish_requests_per_event(2891, 25, chunk) == pytest.approx(3 / 25)
    # 10 KB webhooks: 10 x 22244 B = 222440 B in one call = 4 chunks
    assert cost.sns_publish_requests_per_event(22244, 10, chunk) == pytest.approx(0.4)
    # 30000 B envelopes: 8 fit in 256 KiB; calls of 8 (240000 B, 4 chunks) and 2 (60000 B, 1)
    assert cost.sns_publish_requests_per_event(30_000, 10, chunk) == pytest.approx(0.5)
    # 100 KB webhooks: one 215780 B envelope per call = 4 chunks
    assert cost.sns_publish_requests_per_event(215_780, 10, chunk) == 4


def test_one_kb_module_components_by_hand(prices: object) -> None:
    r = cost.compute(1024, _settings(), prices, duration_ms=120)
    m = r.designs["module"]
    assert m["api_gateway"] == pytest.approx(3.50)
    assert m["sqs_requests"] == pytest.approx((1 + 0.1 + 0.1) * 0.40)  # 0.48
    assert m["lambda_requests"] == pytest.approx(0.20 / 10)
    # 0.120 s x 0.25 GB / 10 = 0.003 GB-s per webhook
    assert r.quantities["processor_gb_seconds"] == pytest.approx(0.003)
    assert m["lambda_compute"] == pytest.approx(0.003 * 0.0000166667 * 1e6)
    assert m["dynamodb_writes"] == pytest.approx((2 + 2) * 0.625)  # the put and 2 GSI entries
    assert m["dynamodb_marker"] == pytest.approx(2 * 0.625)  # published_at: the item's 2 WRU
    assert m["sns_publish"] == pytest.approx(0.1 * 0.50)  # 1/10 of a one-chunk PublishBatch
    assert r.quantities["envelope_bytes"] == 2891
    stored = 1024 + 550 + 20 + 2 * 230 + 3 * 100
    months = 90 / (730 / 24)
    assert m["dynamodb_storage"] == pytest.approx(stored * 1e6 / 2**30 * months * 0.25)
    log_bytes = 700 / 10 + 480 + 450
    assert r.quantities["log_bytes"] == pytest.approx(log_bytes)
    assert m["logs_ingestion"] == pytest.approx(log_bytes * 1e6 / 2**30 * 0.50)
    assert m["logs_storage"] == pytest.approx(log_bytes * 1e6 / 2**30 * (30 / (730 / 24)) * 0.03)
    assert m["ingest_lambda_requests"] == 0 and m["ingest_lambda_compute"] == 0
    assert r.total("module") == pytest.approx(sum(m.values()))


def test_hundred_kb_components_by_hand(prices: object) -> None:
    r = cost.compute(100 * 1024, _settings(), prices, duration_ms=120)
    m = r.designs["module"]
    assert r.quantities["sqs_send_requests"] == 2
    assert m["sqs_requests"] == pytest.approx((2 + 1.6 + 0.1) * 0.40)  # 1.48
    assert m["dynamodb_writes"] == pytest.approx((101 + 2) * 0.625)
    assert m["dynamodb_marker"] == pytest.approx(101 * 0.625)
    assert m["sns_publish"] == pytest.approx(4 * 0.50)  # a 215780 B envelope: 4 chunks per event
    assert r.designs["alt_b_http_api"]["api_gateway"] == pytest.approx(1.00)  # < 512 KB


def test_http_api_meters_512_kb_increments(prices: object) -> None:
    r = cost.compute(600 * 1024, _settings(), prices, duration_ms=120)
    assert r.quantities["http_api_metered_requests"] == 2
    assert r.designs["alt_b_http_api"]["api_gateway"] == pytest.approx(2.00)
    assert r.designs["module"]["api_gateway"] == pytest.approx(3.50)  # REST is not size-metered


def test_lambda_duration_is_billed_per_started_ms(prices: object) -> None:
    a = cost.compute(1024, _settings(), prices, duration_ms=119.2)
    b = cost.compute(1024, _settings(), prices, duration_ms=120)
    assert a.designs["module"]["lambda_compute"] == pytest.approx(b.designs["module"]["lambda_compute"])


def test_alternative_a_adds_a_lambda_per_request(prices: object) -> None:
    a = cost.Assumptions()
    r = cost.compute(1024, _settings(), prices, duration_ms=120, a=a)
    alt = r.designs["alt_a_rest_lambda"]
    assert alt["ingest_lambda_requests"] == pytest.approx(0.20)
    gb_s = 25 / 1000 * 128 / 1024
    assert alt["ingest_lambda_compute"] == pytest.approx(gb_s * 0.0000166667 * 1e6)
    for key in ("api_gateway", "sqs_requests", "lambda_requests", "dynamodb_writes"):
        assert alt[key] == pytest.approx(r.designs["module"][key])
    assert alt["logs_ingestion"] > r.designs["module"]["logs_ingestion"]


@pytest.mark.parametrize("kb", [1, 10, 100])
def test_module_is_cheaper_than_alternative_a(prices: object, kb: int) -> None:
    r = cost.compute(kb * 1024, _settings(), prices, duration_ms=120)
    assert r.total("module") < r.total("alt_a_rest_lambda")
    assert r.total("alt_b_http_api") == pytest.approx(r.total("module") - 2.50)


def test_tfvars_override_changes_the_result(variables_tf: Path, tmp_path: Path, prices: object) -> None:
    base, _ = cost.load_settings(variables_tf)
    var_file = _write(tmp_path, "big.tfvars", "processor_memory_size = 512\nprocessor_batch_size = 100\n")
    big, _ = cost.load_settings(variables_tf, var_file)
    r0 = cost.compute(1024, base, prices, duration_ms=120)
    r1 = cost.compute(1024, big, prices, duration_ms=120)
    # same measured duration per batch, 10x the batch, 2x the memory: GB-s per webhook / 5
    assert r1.designs["module"]["lambda_compute"] == pytest.approx(r0.designs["module"]["lambda_compute"] / 5)
    assert r1.designs["module"]["lambda_requests"] == pytest.approx(0.002)
    assert r1.total("module") < r0.total("module")


def test_default_duration_scales_with_batch_size() -> None:
    assert cost.default_duration_ms(10) == 120
    assert cost.default_duration_ms(100) == 1200


def test_no_ttl_and_no_access_logs(prices: object) -> None:
    r = cost.compute(1024, _settings(history_retention_days=0, create_access_logs=False), prices, 120)
    assert r.quantities["log_bytes"] == pytest.approx(70 + 480)
    stored = 1024 + 550 + 20 + 2 * 230 + 300
    assert r.designs["module"]["dynamodb_storage"] == pytest.approx(stored * 1e6 / 2**30 * 0.25)  # per month


def test_no_topic_drops_the_publish_and_the_marker(prices: object) -> None:
    on = cost.compute(1024, _settings(), prices, 120)
    off = cost.compute(1024, _settings(create_event_topic=False), prices, 120)
    assert off.designs["module"]["sns_publish"] == 0 and off.designs["module"]["dynamodb_marker"] == 0
    assert off.quantities["sns_publish_requests"] == 0 and off.quantities["envelope_bytes"] == 0
    saved = 0.1 * 0.50 + 2 * 0.625 + 20 * 1e6 / 2**30 * (90 / (730 / 24)) * 0.25
    assert on.total("module") - off.total("module") == pytest.approx(saved)


def test_processor_throughput_and_binding_limit(prices: object) -> None:
    s = _settings()
    assert cost.processor_throughput(s, 120) == pytest.approx(20 * 10 / 0.12)
    report = cost.build_report(s, {}, prices, REAL_PRICES, 120, False)
    one_kb, _, hundred_kb = (c["webhooks_per_second"] for c in report["capacity"])
    assert next(iter(one_kb)) == "stage throttle (per source)"  # binds first at 1 KB: 100 rps
    assert one_kb["processor"] == pytest.approx(1666.667, abs=1e-3)
    # the table takes the put and the marker: 2 + 2 WRU per webhook at 1 KB
    assert one_kb["new DynamoDB table"] == pytest.approx(4000 / 4)
    # by_received's hash key is the UTC day: every source's webhooks share one key
    assert one_kb["GSI by_received (all sources, one key per UTC day)"] == pytest.approx(1000)
    assert one_kb["GSI by_source (per source)"] == pytest.approx(1000)
    # at 100 KB (101 + 101 WRU per webhook) a new table binds before the stage throttle
    assert next(iter(hundred_kb)) == "new DynamoDB table"
    assert hundred_kb["new DynamoDB table"] == pytest.approx(4000 / 202, abs=1e-3)
    assert hundred_kb["DynamoDB table quota"] == pytest.approx(40000 / 202, abs=1e-3)
    no_topic = cost.build_report(_settings(create_event_topic=False), {}, prices, REAL_PRICES, 120, False)
    assert no_topic["capacity"][0]["webhooks_per_second"]["new DynamoDB table"] == pytest.approx(2000)


# ---------------------------------------------------------------- prices file and CLI


def test_prices_file_is_dated_and_sourced() -> None:
    data = json.loads(REAL_PRICES.read_text())
    assert data["as_of"] == "2026-11"
    assert data["region"] == "us-east-1"
    for key, entry in data["prices"].items():
        assert entry["source"].startswith("https://aws.amazon.com/"), key
        assert entry["unit"], key
    p = cost.load_prices(REAL_PRICES)
    assert p.rest_request * 1e6 == pytest.approx(3.50)
    assert p.http_request * 1e6 == pytest.approx(1.00)
    assert p.sqs_request * 1e6 == pytest.approx(0.40)
    assert p.lambda_request * 1e6 == pytest.approx(0.20)
    assert p.lambda_gb_second == pytest.approx(0.0000166667)
    assert p.ddb_write_unit * 1e6 == pytest.approx(0.625)
    assert p.logs_ingestion_gb == pytest.approx(0.50)
    assert p.sqs_chunk_bytes == 65536 and p.http_increment_bytes == 524288
    assert p.sns_request * 1e6 == pytest.approx(0.50) and p.sns_chunk_bytes == 65536
    assert p.sns_payload_filter_gb == pytest.approx(0.09)
    for key in ("sns_standard_request", "sns_payload_filtering_gb"):
        assert data["prices"][key]["source"] == "https://aws.amazon.com/sns/pricing/"
        assert data["prices"][key]["per"] > 0 and data["prices"][key]["usd"] > 0


def test_prices_file_missing_entry_is_an_error(tmp_path: Path) -> None:
    data = json.loads(REAL_PRICES.read_text())
    del data["prices"]["lambda_request"]
    path = _write(tmp_path, "prices.json", json.dumps(data))
    with pytest.raises(cost.CostError, match='price "lambda_request" is missing'):
        cost.load_prices(path)


def test_cli_prints_table_and_writes_json(
    variables_tf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cost.json"
    assert cost.main(["--variables", str(variables_tf), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    for needle in ("Payload 1 KB", "Payload 10 KB", "Payload 100 KB", "this module", "alt A", "alt B"):
        assert needle in text
    report = json.loads(out.read_text())
    assert [r["payload_kb"] for r in report["results"]] == [1, 10, 100]
    assert report["duration_ms_per_batch"] == 120 and report["duration_source"] == "default"
    one_kb = report["results"][0]["designs"]
    assert one_kb["module"]["total"] < one_kb["alt_a_rest_lambda"]["total"]
    total = f"{one_kb['module']['total']:,.4f}"
    assert total in text  # the table and the JSON show the same figures
    for r in report["results"]:
        for design in r["designs"].values():
            assert design["total"] == pytest.approx(sum(design["components"].values()), abs=1e-5)


def test_cli_duration_and_var_file(variables_tf: Path, tmp_path: Path) -> None:
    var_file = _write(tmp_path, "x.tfvars.json", json.dumps({"processor_memory_size": 1024}))
    out = tmp_path / "cost.json"
    argv = ["--variables", str(variables_tf), "--var-file", str(var_file), "--duration-ms", "300"]
    assert cost.main([*argv, "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["settings"]["processor_memory_size"] == 1024
    assert report["duration_source"] == "--duration-ms"
    gb_s = report["results"][0]["quantities_per_webhook"]["processor_gb_seconds"]
    assert gb_s == pytest.approx(0.300 * 1.0 / 10)


def test_cli_missing_default_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "variables.tf", 'variable "processor_memory_size" {\n  type = number\n}\n')
    assert cost.main(["--variables", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cost: error: ")
    assert "processor_memory_size (is declared without a default)" in err


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cost.main(["--help"])
    assert info.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--var-file" in help_text and "--duration-ms" in help_text and "make bench" in help_text


def test_gsis_detected_from_module_tf(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    _write(
        plain,
        "dynamodb.tf",
        'resource "aws_dynamodb_table" "this" {\n'
        '  global_secondary_index {\n    name = "by_source"\n    hash_key = "source"\n'
        '    projection_type = "ALL"\n  }\n}\n',
    )
    assert cost.detect_gsis(plain) == (("by_source", "ALL", "source"),)
    # dynamodb.tf's own form: one dynamic block over a literal map of indexes
    dynamic = tmp_path / "dynamic"
    dynamic.mkdir()
    _write(
        dynamic,
        "dynamodb.tf",
        """
resource "aws_dynamodb_table" "this" {
  dynamic "global_secondary_index" {
    for_each = {
      by_source   = { hash_key = "source" }
      by_received = { hash_key = "received_day" }
    }
    content {
      name            = global_secondary_index.key
      hash_key        = global_secondary_index.value.hash_key
      projection_type = "INCLUDE"
    }
  }
  dynamic "ttl" {
    for_each = var.ttl ? [1] : []
    content {
      attribute_name = "expires_at"
    }
  }
}
""",
    )
    assert cost.detect_gsis(dynamic) == (
        ("by_source", "INCLUDE", "source"),
        ("by_received", "INCLUDE", "received_day"),
    )
    # indexes from a variable cannot be read statically: the tool falls back to its assumption
    _write(
        dynamic,
        "dynamodb.tf",
        (dynamic / "dynamodb.tf").read_text().replace("for_each = {", "for_each = var.gsis\n    x = {"),
    )
    assert cost.detect_gsis(dynamic) is None
    assert cost.detect_gsis(tmp_path / "nowhere") is None
    assert math.isclose(cost.retention_months(0), 1.0)


def test_real_module_gsis_are_read() -> None:
    gsis = cost.detect_gsis(REPO)
    assert gsis is not None, "dynamodb.tf's indexes could not be read"
    assert ("by_source", "INCLUDE", "source") in gsis
    assert {name for name, _proj, _key in gsis} == {"by_source", "by_received"}


def test_gsi_capacity_follows_the_hash_key(prices: object) -> None:
    """One key takes ~1,000 WRU/s: a day key gathers every source's rows, a bucketed day key
    spreads them over received_buckets keys."""

    def limits(hash_key: str) -> dict[str, float]:
        a = cost.Assumptions(ddb_gsis=(("by_received", "INCLUDE", hash_key),))
        return cost.capacity_limits(1024, _settings(), 120, a)

    assert limits("received_day")["GSI by_received (all sources, one key per UTC day)"] == 1000
    assert limits("received_bucket")["GSI by_received (all sources, 10 keys per UTC day)"] == 10_000
    assert limits("tenant")["GSI by_received (per tenant value)"] == 1000


def test_received_buckets_match_the_processor() -> None:
    sys.path.insert(0, str(REPO / "lambda"))
    try:
        from webhook_processor import envelope
    finally:
        sys.path.remove(str(REPO / "lambda"))
    buckets = getattr(envelope, "RECEIVED_BUCKETS", None)
    if buckets is None:
        reason = "the processor writes no received_bucket (one by_received key per day)"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    assert cost.Assumptions().received_buckets == buckets
