"""The dashboard and the alarms of the applied examples/complete, read back; and a burst of
bad-signature webhooks driving the rejection metric until the alarm's metric math would fire.

Uses the shared `deployed` stack (tests/apply/conftest.py); this module sorts before
test_teardown.py, which destroys it. Re-plan cleanliness is test_complete_apply.py's
test_replan_shows_no_drift (the dashboard and the alarms are part of that plan).
"""

from __future__ import annotations

import io
import json
import os
from contextlib import redirect_stdout
from typing import Any

import pytest

from tests.apply import scenarios
from tests.harness.driver import LocalDriver, deployed_processor_environment
from tests.plan.test_observability_plan import (
    check_runbook,
    dashboard_references,
    evaluate,
    is_real,
    math_queries,
)
from tests.unit.test_metrics import check_emf, emitted_shapes, parse

pytestmark = [pytest.mark.apply, pytest.mark.xdist_group("apply-complete")]


def _alarms(aws_account, names: list[str]) -> dict[str, dict[str, Any]]:
    cw = aws_account.client("cloudwatch")
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
        for alarm in cw.describe_alarms(AlarmNames=names[i : i + 100])["MetricAlarms"]:
            found[alarm["AlarmName"]] = alarm
    return found


def test_dashboard_read_back_refers_to_real_metrics(deployed, aws_account):
    out = deployed.outputs
    name = deployed.tf_vars["name"]
    assert out["dashboard_name"] == f"{name}-webhooks"
    assert out["dashboard_url"].endswith(f"?region={aws_account.region}#dashboards/dashboard/{name}-webhooks")
    body = json.loads(
        aws_account.client("cloudwatch").get_dashboard(DashboardName=f"{name}-webhooks")["DashboardBody"]
    )
    references = dashboard_references(body)
    emitted = emitted_shapes()
    assert [r for r in references if not is_real(r, emitted)] == []
    # Every source has its ingress line, every consumer its row.
    paths = {r[3] for r in references}
    assert paths  # widgets were read
    text = json.dumps(body)
    for source in out["webhook_urls"]:
        assert f'"/webhooks/{source}"' in text
    for consumer in out["consumers"].values():
        assert f'"{consumer["queue_name"]}"' in text and f'"{consumer["queue_name"]}-dlq"' in text
    assert {w["properties"]["region"] for w in body["widgets"] if w["type"] == "metric"} == {
        aws_account.region
    }


def test_alarms_read_back_with_runbooks(deployed, aws_account):
    out = deployed.outputs
    names = out["alarm_names"]
    alarms = _alarms(aws_account, list(names.values()))
    assert set(alarms) == set(names.values())
    for key in ("processor_duration", "api_4xx_rate"):
        assert key in names
    verified = [s for s in out["webhook_urls"] if s != "internal"]  # internal: scheme none
    assert sorted(k for k in names if k.startswith("rejected_ratio_")) == sorted(
        f"rejected_ratio_{s}" for s in verified
    )
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [out["sns_topic_arn"]] and alarm["OKActions"] == [
            out["sns_topic_arn"]
        ]
        check_runbook(alarm["AlarmDescription"])  # every command names real arguments
    # Queue URLs, known only after apply, are filled in.
    assert out["dead_letter_queue_url"] in alarms[names["dlq_messages"]]["AlarmDescription"]
    ratio = alarms[names["rejected_ratio_github"]]
    expression, metrics = math_queries(ratio)
    assert "FILL(rejected, 0)" in expression and set(metrics) == {
        "rejected",
        "processed",
        "duplicate",
        "invalid",
    }
    assert metrics["rejected"]["dimensions"] == {
        "Service": deployed.tf_vars["name"],
        "Source": "github",
        "Status": "rejected",
    }


def test_a_silent_sources_alarm_reads_back(deployed, aws_account):
    names = deployed.outputs["alarm_names"]
    silent = sorted(k for k in names if k.startswith("silence_"))
    assert silent == ["silence_stripe"]  # examples/complete: stripe's alert_after_silence_seconds = 3600
    for key in silent:
        alarm = _alarms(aws_account, [names[key]])[names[key]]
        assert alarm["TreatMissingData"] == "breaching"
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1.0)
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
            "WebhookIngest",
            "Webhooks",
            "Sum",
        )
        dims = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert dims == {
            "Service": deployed.tf_vars["name"],
            "Source": key[len("silence_") :],
            "Status": "processed",
        }
        assert alarm["Period"] * alarm["EvaluationPeriods"] >= 300


def _series(docs: list[dict[str, Any]], metric: dict[str, Any]) -> float | None:
    """The Sum a 5-minute period would hold: the EMF values whose namespace, metric name and
    exact dimension set match the query (None when there are none, as CloudWatch has no datapoint)."""
    total, seen = 0.0, False
    wanted = metric["dimensions"]
    for doc in docs:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            if directive["Namespace"] != metric["namespace"]:
                continue
            if sorted(wanted) not in [sorted(d) for d in directive["Dimensions"]]:
                continue
            if any(doc.get(k) != v for k, v in wanted.items()):
                continue
            for definition in directive["Metrics"]:
                if definition["Name"] == metric["metric_name"]:
                    value = doc[definition["Name"]]
                    total += sum(value) if isinstance(value, list) else value
                    seen = True
    return total if seen else None


def test_a_burst_of_bad_signatures_would_fire_the_rejection_alarm(deployed, aws_account, monkeypatch):
    if not aws_account.is_local:
        pytest.skip(
            "reads the processor's EMF output from this process: the local account runs it in-process"
        )
    out = deployed.outputs
    sm = aws_account.client("secretsmanager")
    sm.put_secret_value(SecretId=out["secret_arns"]["github"], SecretString=scenarios.SECRETS["github"])
    package = deployed.stack.local_path(out["processor_package_path"])
    captured = io.StringIO()
    with deployed_processor_environment(aws_account, out["processor_function_name"], package) as handler:
        # Lambda sets it at run time; the deployed configuration does not hold it.
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = out["processor_function_name"]
        driver = LocalDriver(aws_account, out, handler, package=package)
        # The stack is shared (tests/apply/conftest.py): whatever an earlier test left queued is
        # processed first, outside the capture, so the documents count this burst alone.
        with redirect_stdout(io.StringIO()):
            driver.settle()
        for i in range(12):
            # Signed with the wrong secret: accepted at the edge (200), rejected by the processor.
            delivery = scenarios.signed(
                "github", {"action": "opened", "burst": i}, event_type="issues", secret="wrong"
            )
            assert driver.post("github", delivery.body, delivery.headers).status == 200
        with redirect_stdout(captured):
            driver.settle()
    docs = parse(captured.getvalue())
    assert docs, "the processor wrote no EMF document"
    for doc in docs:
        check_emf(doc)
    alarm = _alarms(aws_account, [out["alarm_names"]["rejected_ratio_github"]])
    (ratio,) = alarm.values()
    expression, metrics = math_queries(ratio)
    series = {query_id: _series(docs, metric) for query_id, metric in metrics.items()}
    assert series["rejected"] == 12
    value = evaluate(expression, series)
    assert value is not None and value > ratio["Threshold"], (value, series)
