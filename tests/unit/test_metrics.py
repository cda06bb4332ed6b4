"""The processor's metrics: EMF documents on stdout, checked against the EMF specification.

The structure checked (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
CloudWatch_Embedded_Metric_Format_Specification.html): a root object with ``_aws``; ``_aws`` has
``Timestamp`` (epoch milliseconds) and ``CloudWatchMetrics``, a list of directives; a directive
has ``Namespace`` (1-1024 characters), ``Dimensions`` (a list of dimension sets, each a list of at
most 30 names, each name a string member of the root) and ``Metrics`` (a list of at most 100
``{"Name", "Unit"}``, Unit one of CloudWatch's units); each metric's value is at the root, a
number or a list of at most 100 numbers.

``emitted_shapes`` runs every outcome through the real handler and returns what it emitted;
tests/plan/test_observability_plan.py checks the dashboard and the alarms against it.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterable
from contextlib import redirect_stdout
from typing import Any

import boto3
import pytest
from webhook_processor import handler, metrics

from tools.signing import sign

from .support import SOURCES, install_account, mocked_aws, record_for

Run = Callable[..., handler.BatchResult]

# CloudWatch's units (MetricDatum.Unit, CloudWatch API Reference).
UNITS = frozenset(
    [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ]
)
GITHUB_SECRET = SOURCES["github"][1]
assert GITHUB_SECRET is not None

Shape = tuple[str, str, tuple[str, ...]]  # namespace, metric name, dimension names (sorted)


def check_emf(doc: dict[str, Any]) -> list[Shape]:
    """Assert ``doc`` is a valid EMF document; return (namespace, metric, dimension set) of each
    metric it defines, for each of its dimension sets."""
    aws = doc["_aws"]
    assert isinstance(aws["Timestamp"], int) and aws["Timestamp"] > 1_600_000_000_000  # ms, not s
    directives = aws["CloudWatchMetrics"]
    assert isinstance(directives, list) and directives
    shapes: list[Shape] = []
    for directive in directives:
        namespace = directive["Namespace"]
        assert isinstance(namespace, str) and 1 <= len(namespace) <= 1024
        dimension_sets = directive["Dimensions"]
        assert isinstance(dimension_sets, list)
        for dims in dimension_sets:
            assert isinstance(dims, list) and len(dims) <= 30
            for name in dims:
                assert isinstance(doc.get(name), str) and doc[name], f"dimension {name} missing at the root"
        assert 1 <= len(directive["Metrics"]) <= 100
        for definition in directive["Metrics"]:
            name = definition["Name"]
            assert definition.get("Unit", "None") in UNITS
            value = doc[name]  # the value is at the root
            values = value if isinstance(value, list) else [value]
            assert values and len(values) <= metrics.MAX_VALUES
            assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
            shapes += [(namespace, name, tuple(sorted(dims))) for dims in dimension_sets]
    return shapes


def parse(stdout: str) -> list[dict[str, Any]]:
    """Every stdout line is one EMF document (one JSON object per line)."""
    lines = stdout.splitlines()
    return [json.loads(line) for line in lines]


def totals(docs: Iterable[dict[str, Any]], metric: str, **dims: str) -> float:
    """The sum of ``metric`` over the documents whose dimensions include ``dims``."""
    found = 0.0
    for doc in docs:
        if metric in doc and all(doc.get(k) == v for k, v in dims.items()):
            value = doc[metric]
            found += sum(value) if isinstance(value, list) else value
    return found


def _github(body: bytes, **kwargs: Any) -> dict[str, Any]:
    headers = sign("github", GITHUB_SECRET, body, msg_id="d-1", event_type="push")
    return record_for("github", body, headers, **kwargs)


def every_outcome() -> list[dict[str, Any]]:
    """One batch with each outcome: processed, duplicate, rejected, invalid, conflict, failed."""
    body = json.dumps({"t": time.time_ns()}).encode()
    forged = _github(body)
    forged["body"] = body.decode() + " "  # tampered after signing
    first = record_for("open", b'{"v":1}', {"X-Delivery-Id": f"same-{time.time_ns()}"})
    conflict = dict(first, body='{"v":2}', messageId="m-conflict")
    conflict["messageAttributes"] = dict(first["messageAttributes"])
    conflict["messageAttributes"]["request_id"] = {"stringValue": "req-other", "dataType": "String"}
    return [
        _github(body, received_at_ms=int(time.time() * 1000) - 2_000),
        _github(body),  # a new request, same body: duplicate
        forged,  # rejected, signature_mismatch
        _github(b'{"broken":'),  # invalid, invalid_json
        first,
        conflict,
        # failed: the secret does not exist (transient); signed, or it is rejected unsigned
        record_for("broken", b"{}", sign("github", "any", b"{}", msg_id="d-2", event_type="push")),
        record_for("nowhere", b"{}", {}),  # failed: unknown_source, counted as _other
    ]


def emitted_shapes() -> set[Shape]:
    """Every (namespace, metric, dimension set) the real handler emits over every outcome, with
    publishing on. Runs its own moto account (callable outside the unit tests' fixtures)."""
    with pytest.MonkeyPatch.context() as monkeypatch, mocked_aws():
        install_account(monkeypatch)
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "shapes-processor")
        monkeypatch.setenv("EVENT_TOPIC_ARN", boto3.client("sns").create_topic(Name="e")["TopicArn"])
        handler.reset()
        out = io.StringIO()
        try:
            with redirect_stdout(out):
                handler.process_batch({"Records": every_outcome()})
        finally:
            handler.reset()
    return {shape for doc in parse(out.getvalue()) for shape in check_emf(doc)}


@pytest.fixture
def emf(account: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run a batch; returns the EMF documents it wrote (publishing on, as deployed)."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "shop-processor")
    monkeypatch.setenv("EVENT_TOPIC_ARN", boto3.client("sns").create_topic(Name="events")["TopicArn"])
    handler.reset()

    def go(*records: dict[str, Any]) -> list[dict[str, Any]]:
        capsys.readouterr()
        handler.process_batch({"Records": list(records)})
        docs = parse(capsys.readouterr().out)
        for doc in docs:
            check_emf(doc)
        return docs

    return go


def test_every_outcome_is_counted_by_source_status_and_reason(emf: Run) -> None:
    docs = emf(*every_outcome())
    assert {d["Service"] for d in docs} == {"shop"}  # the module's name, from the function's
    counted = {
        (d["Source"], d["Status"], d.get("Reason")): d["Webhooks"] for d in docs if metrics.WEBHOOKS in d
    }
    assert counted == {
        ("github", "processed", None): 1,
        ("github", "duplicate", None): 1,
        ("github", "rejected", "signature_mismatch"): 1,
        ("github", "invalid", "invalid_json"): 1,
        ("open", "processed", None): 1,
        ("open", "conflict", "body_differs"): 1,
        ("broken", "failed", "secret_unavailable"): 1,
        ("_other", "failed", "unknown_source"): 1,  # never the raw value: bounded dimensions
    }
    assert totals(docs, metrics.BATCH_SIZE) == 8
    assert totals(docs, metrics.PUBLISHED, Source="github") == 1
    assert totals(docs, metrics.PUBLISHED, Source="open") == 1


def test_dimension_sets_are_the_documented_ones(emf: Run) -> None:
    docs = emf(*every_outcome())
    for doc in docs:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == metrics.NAMESPACE
            for definition in directive["Metrics"]:
                unit, sets = metrics.METRICS[definition["Name"]]
                assert definition["Unit"] == unit
                assert all(tuple(dims) in sets for dims in directive["Dimensions"])
    reasons = [d for d in docs if "Reason" in d]
    assert reasons and all(
        ["Service", "Source", "Status", "Reason"] in d["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        for d in reasons
    )
    # Processed and duplicate carry no Reason dimension (no billed metric per empty reason).
    assert all("Reason" not in d for d in docs if d.get("Status") in ("processed", "duplicate"))


def test_event_age_is_processed_minus_received(emf: Run) -> None:
    now = int(time.time() * 1000)
    docs = emf(
        _github(b'{"a":1}', received_at_ms=now - 60_000), _github(b'{"a":2}', received_at_ms=now - 1_000)
    )
    (age_doc,) = [d for d in docs if metrics.EVENT_AGE in d]
    ages = sorted(age_doc["EventAge"])
    assert 60_000 <= ages[1] < 70_000 and 1_000 <= ages[0] < 10_000
    assert age_doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Service", "Source"]]


def test_a_rejection_burst_counts_every_rejection(emf: Run) -> None:
    records = []
    for i in range(25):
        record = _github(json.dumps({"i": i}).encode())
        record["body"] += " "
        records.append(record)
    docs = emf(*records)
    assert totals(docs, "Webhooks", Source="github", Status="rejected") == 25
    assert totals(docs, "Webhooks", Source="github", Status="processed") == 0


def test_more_than_100_ages_are_split_across_documents() -> None:
    recorder = metrics.BatchMetrics("svc", {"a"}, clock=lambda: 1_700_000_000.0)
    for i in range(250):
        recorder.outcome("a", "processed", age_ms=i)
    recorder.publish("a")
    docs = recorder.documents()
    ages = [d for d in docs if "EventAge" in d]
    assert [len(d["EventAge"]) for d in ages] == [100, 100, 50]
    assert totals(docs, "EventAge") == sum(range(250))
    assert totals(docs, "Published") == 1  # once, not once per chunk
    assert all(d["_aws"]["Timestamp"] == 1_700_000_000_000 for d in docs)
    for doc in docs:
        check_emf(doc)


def test_metrics_off_writes_nothing(
    run: Run, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WEBHOOK_METRICS", "off")
    capsys.readouterr()
    run(_github(b'{"x":1}'))
    assert capsys.readouterr().out == ""


def test_a_metrics_failure_never_fails_the_batch(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: metrics.BatchMetrics) -> None:
        raise OSError("stdout closed")

    monkeypatch.setattr(metrics.BatchMetrics, "emit", broken)
    result = run(_github(b'{"x":2}'))
    assert result.response() == {"batchItemFailures": []}


def test_a_configuration_failure_is_counted_as_failed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TABLE_NAME", raising=False)  # the processor cannot be configured
    handler.reset()
    capsys.readouterr()
    handler.process_batch({"Records": [record_for("github", b"{}", {})]})
    docs = parse(capsys.readouterr().out)
    assert totals(docs, "Webhooks", Status="failed", Reason="configuration") == 1


@pytest.mark.parametrize(
    ("function", "service"),
    [("shop-processor", "shop"), ("custom", "custom"), (None, "webhook-ingest")],
)
def test_service_is_the_module_name(function: str | None, service: str) -> None:
    env = {} if function is None else {"AWS_LAMBDA_FUNCTION_NAME": function}
    assert metrics.service_name(env) == service


def test_emitted_shapes_cover_every_documented_metric() -> None:
    shapes = emitted_shapes()
    documented = {
        (metrics.NAMESPACE, name, tuple(sorted(dims)))
        for name, (_unit, sets) in metrics.METRICS.items()
        for dims in sets
    }
    assert shapes == documented
