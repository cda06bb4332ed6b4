"""Plan tests of modules/consumer: the fixture against its inventory, the filter policies
the module builds, standalone use given only a topic ARN, and every validation message.

A plan of the fixture takes 15-30 s here, nearly all of it per command (a consumer adds
little), so the cases share plans: each case is a consumer of the fixture's `probes` map,
and three plans per engine cover the file: the fixture with every accepted probe, every
validation, every precondition. Terraform reports every failed variable validation of one
plan (each naming its variable and value), but a failed validation stops the module's
resources, whose preconditions therefore get a plan of their own."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import pytest
import tftest
import yaml

from tests.consumer.conftest import filter_policy, folded, managed
from tests.harness.inventory import matches

pytestmark = [pytest.mark.plan, pytest.mark.xdist_group("plan-consumer")]
INVENTORY = Path(__file__).parent / "inventory.yaml"
OTHER_TEAMS_TOPIC = "arn:aws:sns:us-east-1:123456789012:webhooks-events"


def _probe(address: str, name: str = "p") -> str:
    return f'module.probe["{name}"].{address}'


def _read(plan: tftest.TerraformPlanOutput, address: str) -> dict[str, Any]:
    """What a data source will be read with (also when it is read at apply time)."""
    return plan.resource_changes[address]["change"]["after"]


def _statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["sid"]: s for s in document["statement"]}


def test_fixture_matches_inventory(accepted_plan):
    """The fixture's own consumers and function (the probes apart)."""
    inventory = yaml.safe_load(INVENTORY.read_text())
    plan = accepted_plan
    resources = {a: r for a, r in managed(plan).items() if not a.startswith("module.probe[")}
    counts = collections.Counter(r["type"] for r in resources.values())
    assert dict(counts) == inventory["counts"]
    for address, expected in inventory["values"].items():
        assert address in resources, f"{address} is not in the plan"
        values = resources[address]["values"]
        for key, want in expected.items():
            assert matches(want, values.get(key)), (
                f"{address}.{key}: planned {values.get(key)!r}, inventory says {want!r}"
            )
    for address, want in inventory["filter_policies"].items():
        assert filter_policy(resources[address]["values"]) == want, address
    for name in inventory["outputs"]:
        assert name in plan.outputs, f"output {name} is not planned"


# What each consumer's settings become: the subscription's filter policy and scope.
FILTERS = {
    "all": ({}, None, None),
    "sources_only": (
        {"sources": ["stripe", "github"]},
        {"source": ["stripe", "github"]},
        "MessageAttributes",
    ),
    "prefix_and_exact": (
        {"event_types": ["payment_intent.*", "invoice.paid", "charge.refunded"]},
        {"event_type": [{"prefix": "payment_intent."}, "invoice.paid", "charge.refunded"]},
        "MessageAttributes",
    ),
    "sources_and_types": (
        {
            "sources": ["stripe"],
            "event_types": ["payment_intent.*", "payment_intent.*"],
        },  # duplicates dropped
        {"source": ["stripe"], "event_type": [{"prefix": "payment_intent."}]},
        "MessageAttributes",
    ),
    "body_filter": (
        {
            "sources": ["github"],
            "event_types": ["issues", "pull_request.*"],
            "body_filter": {"action": ["opened", "reopened"], "ref_type": ["tag"]},
        },
        {
            "source": ["github"],
            "event_type": ["issues", {"prefix": "pull_request."}],
            "json": {"action": ["opened", "reopened"], "ref_type": ["tag"]},
        },
        "MessageBody",
    ),
    "body_filter_only": (
        {"body_filter": {"livemode": ["false"]}},
        {"json": {"livemode": ["false"]}},
        "MessageBody",
    ),
    # At SNS's limits, not over them: 5 keys; 3 x 5 x (2 x 5) = 150 combinations.
    "five_keys": (
        {"sources": ["github"], "event_types": ["issues"], "body_filter": {f: ["x"] for f in "abc"}},
        {"source": ["github"], "event_type": ["issues"], "json": {f: ["x"] for f in "abc"}},
        "MessageBody",
    ),
    "150_combinations": (
        {
            "sources": ["a", "b", "c"],
            "event_types": ["v", "w", "x", "y", "z"],
            "body_filter": {"n": ["1", "2", "3", "4", "5"]},
        },
        {
            "source": ["a", "b", "c"],
            "event_type": ["v", "w", "x", "y", "z"],
            "json": {"n": ["1", "2", "3", "4", "5"]},
        },
        "MessageBody",
    ),
}


@pytest.fixture(scope="module")
def filters_plan(accepted_plan) -> tftest.TerraformPlanOutput:
    return accepted_plan


@pytest.mark.parametrize("case", list(FILTERS))
def test_filter_policy(filters_plan, case):
    _, policy, scope = FILTERS[case]
    key = case.replace("_", "-")
    subscription = managed(filters_plan)[_probe("aws_sns_topic_subscription.this", key)]["values"]
    assert filter_policy(subscription) == policy
    assert subscription.get("filter_policy_scope") == scope
    assert subscription["raw_message_delivery"] is True
    output = filters_plan.outputs["probe_filters"][key]
    assert output["filter_policy_scope"] == scope
    assert (json.loads(output["filter_policy"]) if output["filter_policy"] else None) == policy


def test_alarms_can_be_left_out(filters_plan):
    resources = managed(filters_plan)
    assert _probe('aws_cloudwatch_metric_alarm.this["dlq_messages"]', "all") in resources
    assert not [a for a in resources if a.startswith('module.probe["no-alarms"].aws_cloudwatch_metric_alarm')]
    assert filters_plan.outputs["probe_filters"]["no-alarms"]["alarm_names"] == {}
    assert filters_plan.outputs["probe_filters"]["all"]["alarm_names"] == {
        "dlq_messages": "consumers-all-dlq-messages",
        "oldest_message_age": "consumers-all-oldest-message-age",
    }


KEY = "arn:aws:kms:us-east-1:123456789012:key/0b0e6a5c-1111-2222-3333-444455556666"
OPERATOR = "arn:aws:iam::123456789012:role/webhook-operator"
ALARMS = "arn:aws:sns:us-east-1:123456789012:webhooks-alarms"


@pytest.fixture(scope="module")
def settings_plan(accepted_plan) -> tftest.TerraformPlanOutput:
    return accepted_plan


def _settings_probes() -> dict[str, dict[str, Any]]:
    return {
        # Another team's configuration: a plain topic ARN, no function, no role.
        "standalone": {"name": "orders", "topic_arn": OTHER_TEAMS_TOPIC},
        "keyed": {
            "kms_key_arn": KEY,
            "replay_principal_arns": [OPERATOR],
            "sns_topic_arn": ALARMS,
            "function_role_name": "orders-worker",
            "alarm_oldest_message_age_seconds": 300,
        },
        # A function and its role, every scaling setting at its default.
        "wired": {"function_name": "consumers-payments", "function_role_name": "consumers-consumer-fn"},
    }


@pytest.fixture(scope="module")
def accepted_plan(consumer_stack) -> tftest.TerraformPlanOutput:
    """The fixture with every probe that must plan: FILTERS, no-alarms and the settings."""
    probes = {name.replace("_", "-"): settings for name, (settings, _, _) in FILTERS.items()}
    probes["no-alarms"] = {"create_alarms": False}
    assert not set(probes) & set(_settings_probes())
    return consumer_stack.plan(tf_vars={"probes": probes | _settings_probes()})


def test_standalone_with_only_a_topic_arn(settings_plan):
    """The queue policy lets only that topic send (and denies everyone else, and plain HTTP)."""
    plan = settings_plan
    probe = {a: r for a, r in managed(plan).items() if a.startswith('module.probe["standalone"].')}
    assert sorted(r["type"] for r in probe.values()) == sorted(
        [
            "aws_sqs_queue",
            "aws_sqs_queue",
            "aws_sqs_queue_policy",
            "aws_sqs_queue_policy",
            "aws_sqs_queue_redrive_allow_policy",
            "aws_sns_topic_subscription",
            "aws_cloudwatch_metric_alarm",
            "aws_cloudwatch_metric_alarm",
        ]
    )
    subscription = probe[_probe("aws_sns_topic_subscription.this", "standalone")]["values"]
    assert subscription["topic_arn"] == OTHER_TEAMS_TOPIC
    assert subscription["protocol"] == "sqs"
    assert probe[_probe("aws_sqs_queue.this", "standalone")]["values"]["name"] == "orders"
    assert probe[_probe("aws_sqs_queue.dlq", "standalone")]["values"]["name"] == "orders-dlq"
    queue = _statements(
        _read(plan, _probe("module.queue_policy.data.aws_iam_policy_document.this", "standalone"))
    )
    assert sorted(queue) == ["AllowSendFromTopic", "DenyInsecureTransport", "DenySendFromOthers"]
    allow = queue["AllowSendFromTopic"]
    assert allow["actions"] == ["sqs:SendMessage"]
    assert allow["principals"] == [{"type": "Service", "identifiers": ["sns.amazonaws.com"]}]
    assert allow["condition"] == [
        {"test": "ArnEquals", "variable": "aws:SourceArn", "values": [OTHER_TEAMS_TOPIC]}
    ]
    deny = queue["DenySendFromOthers"]
    assert deny["effect"] == "Deny" and deny["actions"] == ["sqs:SendMessage"]
    assert deny["principals"] == [{"type": "*", "identifiers": ["*"]}]
    assert deny["condition"] == [
        {"test": "ArnNotEquals", "variable": "aws:SourceArn", "values": [OTHER_TEAMS_TOPIC]}
    ]
    tls = queue["DenyInsecureTransport"]
    assert tls["effect"] == "Deny" and tls["actions"] == ["sqs:*"]
    assert tls["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]
    dlq = _statements(
        _read(plan, _probe("module.dlq_policy.data.aws_iam_policy_document.this", "standalone"))
    )
    assert sorted(dlq) == ["AllowUndeliverableFromTopic", "DenyInsecureTransport"]
    consumer = _statements(_read(plan, _probe("data.aws_iam_policy_document.consumer", "standalone")))
    assert sorted(consumer) == ["ConsumeQueue"]
    assert sorted(consumer["ConsumeQueue"]["actions"]) == [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    ]


def test_customer_key_replay_principals_and_alarm_topic(settings_plan):
    plan = settings_plan
    resources = managed(plan)
    for queue in ("aws_sqs_queue.this", "aws_sqs_queue.dlq"):
        values = resources[_probe(queue, "keyed")]["values"]
        assert values["kms_master_key_id"] == KEY
        assert values["kms_data_key_reuse_period_seconds"] == 300
        assert values.get("sqs_managed_sse_enabled") in (None, False)
    consumer = _statements(_read(plan, _probe("data.aws_iam_policy_document.consumer", "keyed")))
    assert consumer["DecryptMessages"]["actions"] == ["kms:Decrypt"]
    assert consumer["DecryptMessages"]["resources"] == [KEY]
    policy = resources[_probe("aws_iam_role_policy.consumer[0]", "keyed")]["values"]
    assert policy["role"] == "orders-worker" and policy["name"] == "consume-consumers-keyed"
    assert _probe("aws_lambda_event_source_mapping.this[0]", "keyed") not in resources  # no function_name
    queue = _statements(_read(plan, _probe("module.queue_policy.data.aws_iam_policy_document.this", "keyed")))
    assert queue["AllowSendFromReplay"]["principals"] == [{"type": "AWS", "identifiers": [OPERATOR]}]
    assert {"test": "ArnNotEquals", "variable": "aws:PrincipalArn", "values": [OPERATOR]} in queue[
        "DenySendFromOthers"
    ]["condition"]
    dlq = _statements(_read(plan, _probe("module.dlq_policy.data.aws_iam_policy_document.this", "keyed")))
    assert dlq["AllowReplay"]["principals"] == [{"type": "AWS", "identifiers": [OPERATOR]}]
    for alarm_key in ("dlq_messages", "oldest_message_age"):
        alarm = resources[_probe(f'aws_cloudwatch_metric_alarm.this["{alarm_key}"]', "keyed")]["values"]
        assert alarm["alarm_actions"] == [ALARMS] and alarm["ok_actions"] == [ALARMS]
    age = resources[_probe('aws_cloudwatch_metric_alarm.this["oldest_message_age"]', "keyed")]["values"]
    assert age["threshold"] == 300


def test_function_wiring_defaults(settings_plan):
    resources = managed(settings_plan)
    mapping = resources[_probe("aws_lambda_event_source_mapping.this[0]", "wired")]["values"]
    assert mapping["enabled"] is True
    assert mapping["function_name"] == "consumers-payments"
    assert mapping["batch_size"] == 10
    assert mapping["maximum_batching_window_in_seconds"] == 0
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["scaling_config"] == [{"maximum_concurrency": 10}]
    policy = resources[_probe("aws_iam_role_policy.consumer[0]", "wired")]["values"]
    assert policy["role"] == "consumers-consumer-fn" and policy["name"] == "consume-consumers-wired"
    consumer = _statements(_read(settings_plan, _probe("data.aws_iam_policy_document.consumer", "wired")))
    assert sorted(consumer) == ["ConsumeQueue"]  # no key: no kms:Decrypt


# Variable validations, all refused by one plan: (settings, message, what Terraform
# shows of the value). Every input that must be whole, with a fraction and out of range.
NUMBERS = {
    "batch_size": ((9.5, 0, 10001), "batch_size must be a whole number between 1 and 10000."),
    "batching_window_seconds": (
        (2.5, -1, 301),
        "batching_window_seconds must be a whole number of seconds between 0 and 300.",
    ),
    "maximum_concurrency": (
        (2.5, 1, 1001),
        "maximum_concurrency must be a whole number between 2 and 1000 (the SQS trigger's limits).",
    ),
    "max_receive_count": ((1.5, 0, 1001), "max_receive_count must be a whole number between 1 and 1000."),
    "visibility_timeout_seconds": (
        (30.5, -1, 43201),
        "visibility_timeout_seconds must be a whole number of seconds between 0 and 43200 (12 hours).",
    ),
    "message_retention_seconds": (
        (3600.5, 59, 1209601),
        "message_retention_seconds must be a whole number of seconds between 60 and 1209600 (14 days).",
    ),
    "alarm_oldest_message_age_seconds": (
        (1.5, 0, 1209601),
        "alarm_oldest_message_age_seconds must be a whole number of seconds between 1 and 1209600",
    ),
}
VALIDATIONS = {
    f"{name}={value}": ({name: value}, message, f"var.{name} is {value}")
    for name, (bad_values, message) in NUMBERS.items()
    for value in bad_values
} | {
    "bad-patterns": (
        {"event_types": ["payment_intent.*", "payment_*", "*", "a.*.b", ".*", "pay ment", "invoice.paid"]},
        'Each event_types entry must be an exact event type (payment_intent.succeeded) or a prefix pattern with a single trailing ".*" (payment_intent.*)',
        # The message names exactly the refused entries.
        'Refused: "payment_*", "*", "a.*.b", ".*", "pay ment". Leave event_types empty for every event type.',
    ),
    "bad-source": (
        {"sources": ["stripe", "Stripe"]},
        "Each sources entry is a source name as the webhook module's sources map keys it",
        'refused: "Stripe". Leave sources empty for every source.',
    ),
    "nested-body-field": (
        {"body_filter": {"data.object.status": ["paid"], "action": ["x"]}},
        "body_filter keys are top-level JSON field names",
        'nested paths such as data.object.status are not supported). Refused: "data.object.status".',
    ),
    "empty-body-values": (
        {"body_filter": {"action": [], "ref": ["x"]}},
        "Each body_filter field needs at least one accepted value (drop the field to accept any); empty: action.",
        "var.body_filter is map of list of string with 2 elements",
    ),
    "bad-name": (
        {"name": "has space"},
        "name must hold 1-76 letters, digits, '-' or '_'",
        'var.name is "has space"',
    ),
    "long-name": (
        {"name": "q" * 77},
        "name must hold 1-76 letters, digits, '-' or '_'",
        f'var.name is "{"q" * 77}"',
    ),
    "fifo-topic": (
        {"topic_arn": OTHER_TEAMS_TOPIC + ".fifo"},
        "topic_arn must be a standard SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME); FIFO topics (.fifo) are not supported",
        f'var.topic_arn is "{OTHER_TEAMS_TOPIC}.fifo"',
    ),
    "topic-name": (
        {"topic_arn": "webhooks-events"},
        "topic_arn must be a standard SNS topic ARN",
        'var.topic_arn is "webhooks-events"',
    ),
    "kms-alias": (
        {"kms_key_arn": "alias/aws/sqs"},
        "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), not an alias.",
        'var.kms_key_arn is "alias/aws/sqs"',
    ),
    "role-arn": (
        {"function_role_name": "arn:aws:iam::123456789012:role/fn"},
        "function_role_name must be an IAM role name (1-64 letters, digits or +=,.@_-), not an ARN.",
        'var.function_role_name is "arn:aws:iam::123456789012:role/fn"',
    ),
    "bad-function": (
        {"function_name": "my function"},
        "function_name must be a Lambda function name or ARN (optionally with :ALIAS or :VERSION).",
        'var.function_name is "my function"',
    ),
    "bad-alarm-topic": (
        {"sns_topic_arn": "alarms"},
        "sns_topic_arn must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME).",
        'var.sns_topic_arn is "alarms"',
    ),
    "bad-replay-principal": (
        {"replay_principal_arns": ["operator"]},
        "replay_principal_arns must be IAM role or user ARNs (arn:aws:iam::ACCOUNT:role/NAME).",
        "var.replay_principal_arns is list of string with 1 element",
    ),
}

# Preconditions: the filter SNS would refuse, and a mapping rule.
PRECONDITIONS = {
    "too-many-keys": (
        {"sources": ["github"], "event_types": ["issues"], "body_filter": {f: ["x"] for f in "abcd"}},
        "The filter policy would have 6 keys (source, event_type, json.a, json.b, json.c, json.d); SNS accepts at most 5 per subscription.",
    ),
    "too-many-combinations": (
        {"sources": ["a", "b", "c", "d"], "event_types": [f"t{i}" for i in range(40)]},
        "The filter policy would have 160 combinations of values (4 x 40: the number of sources x event_types",
    ),
    "too-many-body-combinations": (
        {
            "sources": ["a", "b"],
            "event_types": ["w", "x", "y", "z"],
            "body_filter": {"action": [str(i) for i in range(10)]},
        },
        "The filter policy would have 160 combinations of values (2 x 4 x 20: the number of sources x event_types x 2 x the values of each body_filter field",
    ),
    "big-batch-no-window": (
        {"function_name": "consumers-payments", "batch_size": 20, "batching_window_seconds": 0},
        "batch_size 20 (above 10) needs batching_window_seconds > 0 (an SQS trigger rule).",
    ),
}


def _refusal(stack, cases: dict[str, tuple]) -> str:
    probes = {f"v{i}": case[0] for i, case in enumerate(cases.values())}
    with pytest.raises(tftest.TerraformTestError) as excinfo:
        stack.plan(tf_vars={"probes": probes})
    return folded(str(excinfo.value))


@pytest.fixture(scope="module")
def validation_errors(consumer_stack) -> str:
    return _refusal(consumer_stack, VALIDATIONS)


@pytest.fixture(scope="module")
def precondition_errors(consumer_stack) -> str:
    return _refusal(consumer_stack, PRECONDITIONS)


@pytest.mark.parametrize("case", list(VALIDATIONS))
def test_bad_input_is_refused_with_its_message(validation_errors, case):
    _, message, detail = VALIDATIONS[case]
    assert folded(message) in validation_errors
    assert folded(detail) in validation_errors


@pytest.mark.parametrize("case", list(PRECONDITIONS))
def test_filter_sns_would_refuse_is_refused(precondition_errors, case):
    _, message = PRECONDITIONS[case]
    assert folded(message) in precondition_errors
