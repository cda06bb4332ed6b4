"""Plan tests of the dashboard and the alarms (issue 13), in one plan of tests/fixtures/module_probes.

The test that ties them to reality: every metric the planned dashboard_body and every planned
alarm (the metric-math ones too) refers to is either one the processor is shown to emit (the
unit test's EMF output: same namespace, name and dimension names) or an AWS metric with its real
name and dimension names, listed below with the AWS page each comes from. A typo fails it.

Also here: the metric-math expressions are evaluated (a small evaluator of the subset they use,
shared with tests/apply/test_observability.py), the silence alarms' periods, and every
`webhookctl` command an alarm description names is parsed by webhookctl's own parser.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import pytest
import tftest

from tests.harness.stack import plan_values, probe_vars
from tests.unit.test_metrics import emitted_shapes
from tools import webhookctl

pytestmark = [pytest.mark.plan, pytest.mark.xdist_group("plan-observability")]
PROBES = "tests/fixtures/module_probes"

# AWS metrics the module may refer to: namespace -> (metric names, dimension sets).
AWS_METRICS: dict[str, tuple[frozenset[str], tuple[frozenset[str], ...]]] = {
    # docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html
    # (REST APIs; method-level metrics need detailed metrics, which api.tf turns on).
    "AWS/ApiGateway": (
        frozenset(
            {
                "4XXError",
                "5XXError",
                "CacheHitCount",
                "CacheMissCount",
                "Count",
                "IntegrationLatency",
                "Latency",
            }
        ),
        (
            frozenset({"ApiName"}),
            frozenset({"ApiName", "Stage"}),
            frozenset({"ApiName", "Method", "Resource", "Stage"}),
        ),
    ),
    # docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
    "AWS/SQS": (
        frozenset(
            {
                "ApproximateAgeOfOldestMessage",
                "ApproximateNumberOfMessagesDelayed",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesVisible",
                "NumberOfEmptyReceives",
                "NumberOfDeduplicatedSentMessages",
                "NumberOfMessagesDeleted",
                "NumberOfMessagesReceived",
                "NumberOfMessagesSent",
                "SentMessageSize",
            }
        ),
        (frozenset({"QueueName"}),),
    ),
    # docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html (invocation, performance
    # and concurrency metrics) and .../monitoring-metrics-view.html (dimensions).
    "AWS/Lambda": (
        frozenset(
            {
                "Invocations",
                "Errors",
                "DeadLetterErrors",
                "DestinationDeliveryFailures",
                "Throttles",
                "Duration",
                "PostRuntimeExtensionsDuration",
                "IteratorAge",
                "ConcurrentExecutions",
                "ProvisionedConcurrentExecutions",
            }
        ),
        (
            frozenset({"FunctionName"}),
            frozenset({"FunctionName", "Resource"}),
            frozenset({"FunctionName", "ExecutedVersion"}),
        ),
    ),
}

SOURCES = {
    "stripe": {"scheme": "stripe", "alert_after_silence_seconds": 3600},
    "github": {"scheme": "github", "alert_after_silence_seconds": 600},
    "open": {"scheme": "none"},
}
OBSERVED = {"name": "obs", "sources": SOURCES, "consumers": {"audit": {}}}
PROBE_INPUTS = {"obs": OBSERVED, "obs-off": {"create_dashboard": False, "create_alarms": False}}


def at(probe: str, address: str) -> str:
    return f'module.webhooks["{probe}"].{address}'


@pytest.fixture(scope="module")
def plan(plan_stack) -> tftest.TerraformPlanOutput:
    return plan_stack(PROBES).plan(tf_vars=probe_vars(PROBE_INPUTS))


@pytest.fixture(scope="module")
def values(plan) -> dict[str, dict[str, Any]]:
    return plan_values(plan)


@pytest.fixture(scope="module")
def emitted() -> set[tuple[str, str, tuple[str, ...]]]:
    return emitted_shapes()


# --------------------------------------------------------------------------- metric references

Reference = tuple[str, str, frozenset[str], str]  # namespace, metric, dimension names, where

_SEARCH = re.compile(r"SEARCH\(\s*'\{([^}]*)\}([^']*)'\s*,\s*'([^']+)'")


def search_references(expression: str, where: str) -> list[Reference]:
    """SEARCH('{Namespace,Dim1,Dim2} MetricName="X" ...', 'Stat', period): the schema names the
    exact dimension set; the search must name its metric."""
    found = []
    for schema, terms, _stat in _SEARCH.findall(expression):
        namespace, *dims = [part.strip().strip('"') for part in schema.split(",")]
        names = re.findall(r'MetricName\s*=\s*"([^"]+)"', terms)
        assert len(names) == 1, f"{where}: a SEARCH without exactly one MetricName: {expression}"
        found.append((namespace, names[0], frozenset(dims), where))
    assert found or "SEARCH" not in expression, f"{where}: unparsed SEARCH {expression}"
    return found


def dashboard_references(body: dict[str, Any]) -> list[Reference]:
    found: list[Reference] = []
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        where = f"widget {widget['properties']['title']!r}"
        for row in widget["properties"]["metrics"]:
            if isinstance(row[0], dict):  # [{expression, id, label}]
                found += search_references(row[0]["expression"], where)
                continue
            names = [x for x in row if not isinstance(x, dict)]
            namespace, metric, *pairs = names
            assert len(pairs) % 2 == 0, f"{where}: dimension names and values do not pair up: {row}"
            found.append((namespace, metric, frozenset(pairs[0::2]), where))
    return found


def alarm_references(values: dict[str, dict[str, Any]], probe: str) -> list[Reference]:
    found: list[Reference] = []
    prefix = at(probe, "aws_cloudwatch_metric_alarm.")
    for address, alarm in values.items():
        if not address.startswith(prefix):
            continue
        if alarm.get("metric_name"):
            found.append((alarm["namespace"], alarm["metric_name"], frozenset(alarm["dimensions"]), address))
        for query in alarm.get("metric_query") or []:
            for metric in query.get("metric") or []:
                found.append(
                    (metric["namespace"], metric["metric_name"], frozenset(metric["dimensions"]), address)
                )
            if query.get("expression"):
                found += search_references(query["expression"], address)
    return found


def is_real(reference: Reference, emitted: set[tuple[str, str, tuple[str, ...]]]) -> bool:
    namespace, metric, dims, _ = reference
    if (namespace, metric, tuple(sorted(dims))) in emitted:
        return True
    names, dimension_sets = AWS_METRICS.get(namespace, (frozenset(), ()))
    return metric in names and dims in dimension_sets


def _dashboard(values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return json.loads(values[at("obs", "aws_cloudwatch_dashboard.this[0]")]["dashboard_body"])


def test_every_metric_of_the_dashboard_and_the_alarms_is_real(values, emitted):
    references = dashboard_references(_dashboard(values)) + alarm_references(values, "obs")
    assert len({r[3] for r in references}) > 20  # every widget and alarm was read
    unreal = [r for r in references if not is_real(r, emitted)]
    assert unreal == [], "\n".join(f"{w}: {ns} {m} {sorted(d)}" for ns, m, d, w in unreal)
    # The processor's own metrics are used at all (not only AWS's).
    assert {r[1] for r in references if r[0] == "WebhookIngest"} >= {
        "Webhooks",
        "EventAge",
        "Published",
        "BatchSize",
    }


def test_a_typo_is_caught(emitted):
    """The check above would fail on a misspelt name or a wrong dimension set."""
    assert not is_real(("WebhookIngest", "Webhook", frozenset({"Service", "Source", "Status"}), "x"), emitted)
    assert not is_real(("WebhookIngest", "Webhooks", frozenset({"Source", "Status"}), "x"), emitted)
    assert not is_real(
        ("AWS/SQS", "ApproximateNumberOfVisibleMessages", frozenset({"QueueName"}), "x"), emitted
    )
    assert not is_real(("AWS/ApiGateway", "4XXError", frozenset({"ApiName", "Resource"}), "x"), emitted)
    refs = search_references(
        "SEARCH('{WebhookIngest,Service,Source} MetricName=\"EventAges\"', 'p99', 300)", "x"
    )
    assert not is_real(refs[0], emitted)


def test_dashboard_rows_and_widgets(values):
    body = _dashboard(values)
    headings = [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"]
    assert [h.split(":")[0] for h in headings] == [
        "### Ingress",
        "### Queue",
        "### Processor",
        "### Consumers",
    ]
    metrics = [w for w in body["widgets"] if w["type"] == "metric"]
    assert all(w["properties"]["region"] == "us-east-1" for w in metrics)
    # No two widgets overlap on the 24-column grid.
    cells = [
        (x, y)
        for w in body["widgets"]
        for x in range(w["x"], w["x"] + w["width"])
        for y in range(w["y"], w["y"] + w["height"])
    ]
    assert len(cells) == len(set(cells)) and max(x for x, _ in cells) < 24
    ingress = next(w for w in metrics if w["properties"]["title"] == "Requests by source")
    assert sorted(row[7] for row in ingress["properties"]["metrics"]) == [
        f"/webhooks/{s}" for s in sorted(SOURCES)
    ]
    consumer = next(w for w in metrics if w["properties"]["title"] == "audit: queue and dead letters")
    assert [row[3] for row in consumer["properties"]["metrics"]] == ["obs-audit", "obs-audit-dlq"]
    assert values[at("obs", "aws_cloudwatch_dashboard.this[0]")]["dashboard_name"] == "obs-webhooks"


def test_create_dashboard_false_and_create_alarms_false_make_none(values):
    # The processor's log group stays: it holds the EMF lines, whatever these two flags say.
    made = [
        a
        for a in values
        if a.startswith(
            (at("obs-off", "aws_cloudwatch_dashboard."), at("obs-off", "aws_cloudwatch_metric_alarm."))
        )
    ]
    assert made == []
    assert at("obs-off", "aws_cloudwatch_log_group.processor[0]") in values


def _alarms(values: dict[str, dict[str, Any]], probe: str = "obs") -> dict[str, dict[str, Any]]:
    prefix = at(probe, "aws_cloudwatch_metric_alarm.")
    return {v["alarm_name"]: v for a, v in values.items() if a.startswith(prefix)}


def test_alarm_set(values):
    names = set(_alarms(values))
    expected = {
        f"obs-{n}"
        for n in (
            "dlq-messages",
            "queue-oldest-message-age",
            "processor-errors",
            "processor-throttles",
            "processor-duration",
            "api-5xx",
            "api-4xx-rate",
            "rejected-ratio-stripe",
            "rejected-ratio-github",  # none for `open`: an unsigned source is never rejected
            "silence-stripe",
            "silence-github",
        )
    }
    assert names == expected


def test_silence_alarms_treat_no_data_as_silence(values):
    alarms = _alarms(values)
    for source, period, periods in (("stripe", 3600, 1), ("github", 300, 2)):
        alarm = alarms[f"obs-silence-{source}"]
        assert (alarm["period"], alarm["evaluation_periods"]) == (period, periods)
        assert alarm["treat_missing_data"] == "breaching"
        assert (alarm["comparison_operator"], alarm["threshold"]) == ("LessThanThreshold", 1)
        assert alarm["dimensions"] == {"Service": "obs", "Source": source, "Status": "processed"}
        assert alarm["statistic"] == "Sum" and alarm["namespace"] == "WebhookIngest"


def test_duration_alarm_is_80_percent_of_the_timeout(values):
    alarm = _alarms(values)["obs-processor-duration"]
    assert (alarm["metric_name"], alarm["statistic"], alarm["threshold"]) == ("Duration", "Maximum", 24000)


# --------------------------------------------------------------------------- metric math


def math_queries(alarm: dict[str, Any]) -> tuple[str, dict[str, dict[str, Any]]]:
    """(the returned expression, metric queries by id) of a metric-math alarm, as planned (snake
    case) or as DescribeAlarms reads it back (Metrics, CamelCase)."""
    if "metric_query" in alarm:
        (returned,) = [q for q in alarm["metric_query"] if q.get("return_data")]
        metrics = {q["id"]: q["metric"][0] for q in alarm["metric_query"] if q.get("metric")}
        return returned["expression"], metrics
    (returned,) = [q for q in alarm["Metrics"] if q.get("ReturnData")]
    metrics = {
        q["Id"]: {
            "namespace": q["MetricStat"]["Metric"]["Namespace"],
            "metric_name": q["MetricStat"]["Metric"]["MetricName"],
            "dimensions": {d["Name"]: d["Value"] for d in q["MetricStat"]["Metric"]["Dimensions"]},
            "stat": q["MetricStat"]["Stat"],
            "period": q["MetricStat"]["Period"],
        }
        for q in alarm["Metrics"]
        if "MetricStat" in q
    }
    return returned["Expression"], metrics


_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|[-+*/(),<>]))")


def evaluate(expression: str, series: dict[str, float | None]) -> float | None:
    """One datapoint of a CloudWatch metric-math expression, for the subset the module uses:
    numbers, metric ids, + - * /, comparisons (1 or 0), IF(c, a, b) and FILL(m, value).
    A metric without a datapoint is None; arithmetic on None (or / 0) gives None, as metric
    math gives no datapoint (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
    using-metric-math.html: "Metric math syntax and functions")."""
    tokens: list[str] = []
    position = 0
    while position < len(expression.rstrip()):
        match = _TOKEN.match(expression, position)
        assert match, f"cannot read {expression[position:]!r}"
        tokens.append(next(g for g in match.groups() if g is not None))
        position = match.end()
    tokens.append("")

    def peek() -> str:
        return tokens[0]

    def take(expected: str | None = None) -> str:
        token = tokens.pop(0)
        assert expected is None or token == expected, f"expected {expected!r}, got {token!r}"
        return token

    def binary(left: float | None, op: str, right: float | None) -> float | None:
        if left is None or right is None:
            return None
        if op == "/":
            return None if right == 0 else left / right
        return {
            "+": lambda: left + right,
            "-": lambda: left - right,
            "*": lambda: left * right,
            ">=": lambda: float(left >= right),
            "<=": lambda: float(left <= right),
            ">": lambda: float(left > right),
            "<": lambda: float(left < right),
            "==": lambda: float(left == right),
            "!=": lambda: float(left != right),
        }[op]()

    def comparison() -> float | None:
        left = additive()
        while peek() in (">=", "<=", ">", "<", "==", "!="):
            op = take()
            left = binary(left, op, additive())
        return left

    def additive() -> float | None:
        left = term()
        while peek() in ("+", "-"):
            op = take()
            left = binary(left, op, term())
        return left

    def term() -> float | None:
        left = atom()
        while peek() in ("*", "/"):
            op = take()
            left = binary(left, op, atom())
        return left

    def atom() -> float | None:
        token = take()
        if token == "(":
            value = comparison()
            take(")")
            return value
        if re.fullmatch(r"\d+(?:\.\d+)?", token):
            return float(token)
        if token == "IF":
            take("(")
            condition = comparison()
            take(",")
            then = comparison()
            take(",")
            otherwise = comparison()
            take(")")
            return None if condition is None else (then if condition != 0 else otherwise)
        if token == "FILL":
            take("(")
            value = comparison()
            take(",")
            fill = comparison()
            take(")")
            return fill if value is None else value
        assert token in series, f"{token!r} is neither a function the evaluator knows nor a metric id"
        return series[token]

    value = comparison()
    assert take() == "", f"trailing input in {expression!r}"
    return value


def test_rejection_ratio_fires_on_a_wrong_secret_and_not_on_a_few_forgeries(values):
    alarm = _alarms(values)["obs-rejected-ratio-stripe"]
    expression, metrics = math_queries(alarm)
    assert set(metrics) == {"rejected", "processed", "duplicate", "invalid"}
    for query_id, metric in metrics.items():
        assert metric["dimensions"] == {"Service": "obs", "Source": "stripe", "Status": query_id}
        assert (metric["stat"], metric["period"]) == ("Sum", 300)
    threshold = alarm["threshold"]
    fires = evaluate(expression, {"rejected": 40, "processed": None, "duplicate": None, "invalid": None})
    assert fires is not None and fires > threshold  # every delivery rejected: a wrong secret
    few = evaluate(expression, {"rejected": 4, "processed": None, "duplicate": None, "invalid": None})
    assert few == 0  # under 5 rejections: forgeries, not a mistake
    mixed = evaluate(expression, {"rejected": 10, "processed": 90, "duplicate": 0, "invalid": None})
    assert mixed == pytest.approx(10) and mixed <= threshold
    quiet = evaluate(expression, {"rejected": None, "processed": None, "duplicate": None, "invalid": None})
    assert quiet == 0


def test_api_4xx_rate(values):
    alarm = _alarms(values)["obs-api-4xx-rate"]
    expression, metrics = math_queries(alarm)
    assert {q: m["metric_name"] for q, m in metrics.items()} == {"errors": "4XXError", "requests": "Count"}
    assert evaluate(expression, {"errors": 50, "requests": 100}) == 50 > alarm["threshold"]
    assert evaluate(expression, {"errors": 5, "requests": 10}) == 0  # too few requests to judge
    assert evaluate(expression, {"errors": None, "requests": None}) == 0


# --------------------------------------------------------------------------- runbooks

_COMMAND = re.compile(r"`python -m tools\.webhookctl ([^`]+)`")


def runbook_commands(description: str) -> list[list[str]]:
    """The webhookctl commands of a description, with <placeholders> filled in."""
    commands = []
    for text in _COMMAND.findall(description):
        text = re.sub(r"<[^>]+>", "2026-01-01", text)
        commands.append(shlex.split(text))
    return commands


def check_runbook(description: str) -> None:
    commands = runbook_commands(description)
    assert commands, f"no webhookctl command in {description!r}"
    parser = webhookctl.build_parser()
    for argv in commands:
        try:
            parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"webhookctl refuses {argv} (from {description!r})")


def test_every_known_description_names_a_webhookctl_command_it_accepts(values):
    descriptions = [a["alarm_description"] for a in _alarms(values).values() if a.get("alarm_description")]
    # Those naming a queue URL are known after apply only (tests/apply checks them).
    assert len(descriptions) >= 7
    for description in descriptions:
        check_runbook(description)


# --------------------------------------------------------------------------- refused inputs

REFUSED = {
    "silence-too-short": (
        {"sources": {"s": {"scheme": "stripe", "alert_after_silence_seconds": 60}}},
        "alert_after_silence_seconds must be null (no silence alarm) or a whole number of seconds between 300 and 86400",
    ),
    "silence-fraction": (
        {"sources": {"s": {"scheme": "stripe", "alert_after_silence_seconds": 600.5}}},
        "alert_after_silence_seconds must be null (no silence alarm) or a whole number of seconds between 300 and 86400",
    ),
    "rejected-percent-100": (
        {"alarm_rejected_percent": 100},
        "alarm_rejected_percent must be above 0 and below 100",
    ),
    "4xx-percent-0": ({"alarm_api_4xx_percent": 0}, "alarm_api_4xx_percent must be above 0 and below 100"),
}


def test_bad_observability_inputs_are_refused(plan_stack):
    probes = {case: inputs for case, (inputs, _) in REFUSED.items()}
    with pytest.raises(tftest.TerraformTestError) as excinfo:
        plan_stack(PROBES).plan(tf_vars=probe_vars(probes))
    stderr = " ".join(excinfo.value.args[1].split())
    for case in probes:
        message = REFUSED[case][1]
        # Both silence cases break the same rule of `sources`: one diagnostic per probe instance.
        expected = sum(1 for c in probes if REFUSED[c][1] == message)
        assert stderr.count(message) >= expected, case
