"""`make bench`'s measurement functions, at tiny sizes: sane structures, no timing assertions."""

from __future__ import annotations

import json

import pytest

from tools import bench


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and value > 0


def test_processor_overhead_measures_both_sides_in_one_run() -> None:
    result = bench.measure_processor(batch_sizes=(1, 12), records_per_point=2, min_reps=2, body_bytes=300)

    assert result["body_bytes"] == 300
    rows = result["results"]
    assert [(r["case"], r["batch_size"]) for r in rows] == [
        (case, size) for size in (1, 12) for case in bench.CASES
    ]
    for row in rows:
        assert row["reps"] == 2
        assert row["records"] == 2 * row["batch_size"]
        for key in ("handler_us_per_record", "baseline_us_per_record", "ratio", "paired_ratio_median"):
            assert _positive(row[key]), (row, key)
        # The ratio is computed from the two medians of this very run.
        expected = row["handler_us_per_record"] / row["baseline_us_per_record"]
        assert row["ratio"] == pytest.approx(expected, rel=0.02, abs=0.002)
        # SNS calls are counted on the clients, not assumed: new events take one PublishBatch
        # per 10 (12 records: calls of 10 and 2) on both sides; duplicates of published rows none.
        published = row["case"] != "duplicates"
        calls = -(-row["batch_size"] // 10) if published else 0
        assert row["sns_calls_per_batch"] == row["sns_calls_per_batch_min"] == calls, row
        assert row["baseline_sns_calls_per_batch"] == calls, row
        assert row["sns_calls_by_operation"] == ({"PublishBatch": float(calls)} if published else {}), row
        assert row["publish_entries_per_call_max"] == (min(row["batch_size"], 10) if published else 0)
    # The baseline writes rows of the processor's shape and size.
    for case in bench.CASES:
        items = result["items"][case]
        assert items["same_attributes"], case
        assert items["handler_item_bytes"] == items["baseline_item_bytes"], case
    json.dumps(result)


def test_profile_breaks_down_both_sides() -> None:
    result = bench.profile_processor(size=2, reps=2, body_bytes=300)
    for side in ("handler", "baseline"):
        assert _positive(result[side]["total_us_per_record"])
        assert result[side]["self_time_us_per_record_by_package"]
    assert (
        "AWS client calls (DynamoDB, SNS; botocore + moto)" in result["handler"]["cumulative_us_per_record"]
    )


def test_cold_start_compares_fresh_interpreters() -> None:
    result = bench.measure_cold_start(runs=2, importtime_runs=1)

    assert result["runs"] == 2
    for variant in ("handler", "handler_as_deployed", "boto3_only"):
        figures = result[variant]
        assert _positive(figures["import_ms"])
        assert figures["import_and_init_ms"] >= figures["import_ms"]
        assert figures["process_wall_ms"] >= figures["import_and_init_ms"]
    expected = result["handler"]["import_and_init_ms"] / result["boto3_only"]["import_and_init_ms"]
    assert result["ratio"] == pytest.approx(expected, rel=0.01)
    assert result["importtime_top_self_us"]
    beyond = {m["module"] for m in result["importtime_beyond_boto3"]["top"]}
    assert "webhook_processor.handler" in beyond
    json.dumps(result)


def test_report_renders_and_checks_targets() -> None:
    report = {
        "date": "2025-01-01T00:00:00+00:00",
        "machine": bench.machine(),
        "processor": {
            "body_bytes": 1024,
            "lambda_json_logging": True,
            "items": {},
            "results": [
                {
                    "case": "verified",
                    "batch_size": 10,
                    "reps": 1,
                    "handler_us_per_record": 2.0,
                    "baseline_us_per_record": 1.0,
                    "ratio": 2.0,
                    "paired_ratio_median": 2.0,
                    "sns_calls_per_batch": 2,
                    "baseline_sns_calls_per_batch": 1,
                    "sns_calls_by_operation": {"PublishBatch": 2.0},
                },
                {
                    "case": "unsigned",
                    "batch_size": 100,
                    "reps": 1,
                    "handler_us_per_record": 1.0,
                    "baseline_us_per_record": 1.0,
                    "ratio": 1.0,
                    "paired_ratio_median": 1.0,
                    "sns_calls_per_batch": 10,
                    "baseline_sns_calls_per_batch": 10,
                    "sns_calls_by_operation": {"PublishBatch": 10.0},
                },
            ],
        },
    }
    report["targets"] = bench.targets(report)
    assert report["targets"]["processor overhead, verified, batch 10"]["met"] is False
    # 2 calls for a batch of 10 misses; 10 calls for a batch of 100 is 1 per 10 events
    sns = report["targets"]["SNS calls per 10 new events (batches of 10 and more)"]
    assert sns["value"] == 2.0 and sns["met"] is False
    text = bench.render(report)
    assert "verified" in text and "MISSED" in text and "operations seen: PublishBatch" in text
