"""Plan tests of the event topic and the root module's `consumers` map (issue 10): the topic,
the processor's permission to publish, the history table's by_received index, each consumer
as the module wires it, and every message that refuses a consumer.

One initialised copy of tests/fixtures/module_root per engine serves every plan of this
file (init is the slow step): eight plans per engine. Cases share plans: both engines report
the failed validations of different variables of one plan together, and every failed
precondition of the resources they could plan. A failed variable validation stops what
depends on that variable, so root validations, root preconditions, the consumer module's
validations and its preconditions are separate plans.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import tftest

from tests.consumer.conftest import folded, managed
from tests.harness.stack import Stack

pytestmark = [pytest.mark.plan, pytest.mark.xdist_group("plan-consumers")]
FIXTURE = "tests/fixtures/module_root"
SOURCES = {
    "stripe": {"scheme": "stripe"},
    "github": {"scheme": "github"},
    "billing": {"scheme": "standard_webhooks"},
}
PREFIX = "module.webhooks."
KEY = "arn:aws:kms:us-east-1:123456789012:key/0b0e6a5c-1111-2222-3333-444455556666"
OPERATOR = "arn:aws:iam::123456789012:role/webhook-operator"
ALARMS = "arn:aws:sns:us-east-1:123456789012:team-alarms"


@pytest.fixture(scope="module")
def stack(engine, aws_account, tmp_path_factory) -> Iterator[Stack]:
    stack = Stack(engine, aws_account, FIXTURE, tmp_path_factory.mktemp(f"consumers-{engine.name}"))
    stack.init()
    try:
        yield stack
    finally:
        stack.cleanup()


def _plan(stack: Stack, tf_vars: dict[str, Any]) -> tftest.TerraformPlanOutput:
    """A plan with three sources, so that consumers can name them."""
    return stack.plan(tf_vars={"sources": SOURCES, **tf_vars})


def _refusal(stack: Stack, tf_vars: dict[str, Any]) -> str:
    with pytest.raises(tftest.TerraformTestError) as excinfo:
        _plan(stack, tf_vars)
    return folded(str(excinfo.value))


def _read(plan: tftest.TerraformPlanOutput, address: str) -> dict[str, Any]:
    """What a data source will be read with (also when it is read at apply time)."""
    return plan.resource_changes[PREFIX + address]["change"]["after"]


def _statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["sid"]: s for s in document["statement"]}


def _consumer(name: str, address: str) -> str:
    return f'{PREFIX}module.consumer["{name}"].{address}'


################################################################################
# A valid map: every setting of a consumer reaches its resources
################################################################################

CONSUMERS = {
    # Every setting away from its default, wired to a function, paused.
    "payments": {
        "sources": ["stripe", "billing"],
        "event_types": ["payment_intent.*", "invoice.paid"],
        "enabled": False,
        "function_name": "fixture-payments-fn",
        "function_role_name": "fixture-payments-role",
        "batch_size": 25,
        "batching_window_seconds": 2,
        "maximum_concurrency": 3,
        "max_receive_count": 2,
        "visibility_timeout_seconds": 300,
        "message_retention_seconds": 3600,
        "alarm_oldest_message_age_seconds": 120,
    },
    "repo-activity": {
        "sources": ["github"],
        "event_types": ["issues", "pull_request"],
        "body_filter": {"action": ["opened"]},
    },
    "audit": {},
}


@pytest.fixture(scope="module")
def keyed_plan(stack) -> tftest.TerraformPlanOutput:
    """A customer key, replay principals and the alarms on a topic of the caller's."""
    return _plan(
        stack,
        {
            "consumers": CONSUMERS,
            "kms_key_arn": KEY,
            "replay_principal_arns": [OPERATOR],
            "create_sns_topic": False,
            "sns_topic_arn": ALARMS,
            "tags": {"team": "platform"},
        },
    )


def test_event_topic_uses_the_customer_key(keyed_plan):
    topic = managed(keyed_plan)[PREFIX + "aws_sns_topic.events[0]"]["values"]
    assert topic["name"] == "fixture-events"
    assert topic["kms_master_key_id"] == KEY
    assert keyed_plan.outputs["event_topic_name"] == "fixture-events"


def test_processor_may_publish_to_the_topic_only(keyed_plan):
    statements = _statements(_read(keyed_plan, "data.aws_iam_policy_document.processor[0]"))
    publish = statements["PublishEvents"]
    assert publish["actions"] == ["sns:Publish"]  # PublishBatch is authorised by sns:Publish
    # The topic's ARN, known after apply (the apply test reads it back): one resource, not "*".
    assert publish["resources"] == [None]
    assert [s for s in statements.values() if "sns:Publish" in s["actions"]] == [publish]
    # SNS needs both from a publisher to a topic under a customer key.
    assert sorted(statements["DecryptWithCustomerKey"]["actions"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statements["DecryptWithCustomerKey"]["resources"] == [KEY]


def test_each_consumer_is_a_module_named_after_it(keyed_plan):
    resources = managed(keyed_plan)
    for name in CONSUMERS:
        queue = resources[_consumer(name, "aws_sqs_queue.this")]["values"]
        dlq = resources[_consumer(name, "aws_sqs_queue.dlq")]["values"]
        assert queue["name"] == f"fixture-{name}" and dlq["name"] == f"fixture-{name}-dlq"
        for values in (queue, dlq):
            assert values["kms_master_key_id"] == KEY  # the module's key reaches the consumers
            assert values["tags"] == {"team": "platform"}
        subscription = resources[_consumer(name, "aws_sns_topic_subscription.this")]["values"]
        assert subscription["protocol"] == "sqs" and subscription["raw_message_delivery"] is True
    queue = resources[_consumer("payments", "aws_sqs_queue.this")]["values"]
    assert queue["visibility_timeout_seconds"] == 300
    assert queue["message_retention_seconds"] == 3600
    assert resources[_consumer("audit", "aws_sqs_queue.this")]["values"]["visibility_timeout_seconds"] == 180


def test_filter_policies_follow_the_settings(keyed_plan):
    filters = keyed_plan.outputs["consumer_filters"]
    assert json.loads(filters["payments"]["filter_policy"]) == {
        "source": ["stripe", "billing"],
        "event_type": [{"prefix": "payment_intent."}, "invoice.paid"],
    }
    assert filters["payments"]["filter_policy_scope"] == "MessageAttributes"
    assert json.loads(filters["repo-activity"]["filter_policy"]) == {
        "source": ["github"],
        "event_type": ["issues", "pull_request"],
        "json": {"action": ["opened"]},
    }
    assert filters["repo-activity"]["filter_policy_scope"] == "MessageBody"
    assert filters["audit"]["filter_policy"] is None and filters["audit"]["filter_policy_scope"] is None
    resources = managed(keyed_plan)
    for name, expected in filters.items():
        subscription = resources[_consumer(name, "aws_sns_topic_subscription.this")]["values"]
        assert subscription.get("filter_policy") == expected["filter_policy"], name


def test_function_settings_reach_the_mapping(keyed_plan):
    resources = managed(keyed_plan)
    mapping = resources[_consumer("payments", "aws_lambda_event_source_mapping.this[0]")]["values"]
    assert mapping["function_name"] == "fixture-payments-fn"
    assert mapping["enabled"] is False  # paused: the events wait in the queue
    assert mapping["batch_size"] == 25
    assert mapping["maximum_batching_window_in_seconds"] == 2
    assert mapping["scaling_config"] == [{"maximum_concurrency": 3}]
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    policy = resources[_consumer("payments", "aws_iam_role_policy.consumer[0]")]["values"]
    assert policy["role"] == "fixture-payments-role" and policy["name"] == "consume-fixture-payments"
    # Without function_name: no mapping, no role policy (the outputs give the queue and the policy).
    for name in ("repo-activity", "audit"):
        assert not [a for a in resources if a.startswith(_consumer(name, "aws_lambda_event_source_mapping"))]
        assert not [a for a in resources if a.startswith(_consumer(name, "aws_iam_role_policy"))]


def test_consumer_queue_policies_admit_the_topic_and_the_replay_principals(keyed_plan):
    for name in CONSUMERS:
        queue = _statements(
            _read(
                keyed_plan, f'module.consumer["{name}"].module.queue_policy.data.aws_iam_policy_document.this'
            )
        )
        assert sorted(queue) == [
            "AllowSendFromReplay",
            "AllowSendFromTopic",
            "DenyInsecureTransport",
            "DenySendFromOthers",
        ], name
        # The topic's ARN is known after apply: the condition is on aws:SourceArn, for SNS only.
        assert queue["AllowSendFromTopic"]["principals"] == [
            {"type": "Service", "identifiers": ["sns.amazonaws.com"]}
        ]
        assert [c["variable"] for c in queue["AllowSendFromTopic"]["condition"]] == ["aws:SourceArn"]
        assert queue["AllowSendFromReplay"]["principals"] == [{"type": "AWS", "identifiers": [OPERATOR]}]
        deny = queue["DenySendFromOthers"]
        assert deny["effect"] == "Deny" and deny["actions"] == ["sqs:SendMessage"]
        assert {c["variable"] for c in deny["condition"]} == {"aws:SourceArn", "aws:PrincipalArn"}
        dlq = _statements(
            _read(
                keyed_plan, f'module.consumer["{name}"].module.dlq_policy.data.aws_iam_policy_document.this'
            )
        )
        assert sorted(dlq) == ["AllowReplay", "AllowUndeliverableFromTopic", "DenyInsecureTransport"], name
        assert dlq["AllowReplay"]["principals"] == [{"type": "AWS", "identifiers": [OPERATOR]}]
        for statement in (queue["DenyInsecureTransport"], dlq["DenyInsecureTransport"]):
            assert statement["condition"] == [
                {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
            ]
        consumer = _statements(
            _read(keyed_plan, f'module.consumer["{name}"].data.aws_iam_policy_document.consumer')
        )
        assert consumer["DecryptMessages"]["resources"] == [KEY]


def test_consumer_alarms_notify_the_module_alarm_topic(keyed_plan):
    resources = managed(keyed_plan)
    filters = keyed_plan.outputs["consumer_filters"]
    for name in CONSUMERS:
        assert filters[name]["alarm_names"] == {
            "dlq_messages": f"fixture-{name}-dlq-messages",
            "oldest_message_age": f"fixture-{name}-oldest-message-age",
        }
        for key in ("dlq_messages", "oldest_message_age"):
            alarm = resources[_consumer(name, f'aws_cloudwatch_metric_alarm.this["{key}"]')]["values"]
            assert alarm["alarm_actions"] == [ALARMS] and alarm["ok_actions"] == [ALARMS], (name, key)
    dlq = resources[_consumer("payments", 'aws_cloudwatch_metric_alarm.this["dlq_messages"]')]["values"]
    assert dlq["dimensions"] == {"QueueName": "fixture-payments-dlq"}
    age = resources[_consumer("payments", 'aws_cloudwatch_metric_alarm.this["oldest_message_age"]')]["values"]
    assert age["dimensions"] == {"QueueName": "fixture-payments"} and age["threshold"] == 120


@pytest.fixture(scope="module")
def plain_plan(stack) -> tftest.TerraformPlanOutput:
    """No customer key, the module's own alarm topic, alarms off: what the defaults give."""
    return _plan(stack, {"consumers": {"audit": {}}, "create_alarms": False})


def test_without_a_key_the_topic_uses_the_aws_managed_sns_key(plain_plan):
    topic = managed(plain_plan)[PREFIX + "aws_sns_topic.events[0]"]["values"]
    assert topic["kms_master_key_id"] == "alias/aws/sns"
    statements = _statements(_read(plain_plan, "data.aws_iam_policy_document.processor[0]"))
    assert "PublishEvents" in statements
    assert "DecryptWithCustomerKey" not in statements  # the AWS managed key's policy admits the account
    for queue in ("aws_sqs_queue.this", "aws_sqs_queue.dlq"):
        values = managed(plain_plan)[_consumer("audit", queue)]["values"]
        assert values["sqs_managed_sse_enabled"] is True  # SNS delivers to SSE-SQS queues under either key


def test_create_alarms_false_leaves_out_the_consumer_alarms_too(plain_plan):
    resources = managed(plain_plan)
    assert not [a for a in resources if ".aws_cloudwatch_metric_alarm." in a]
    assert plain_plan.outputs["consumer_filters"]["audit"]["alarm_names"] == {}


@pytest.fixture(scope="module")
def no_topic_plan(stack) -> tftest.TerraformPlanOutput:
    # Without the payload store too: its bucket's name, known after apply, would leave the
    # processor's environment unknown (and its writes need kms:GenerateDataKey as well:
    # tests/plan/test_payloads_plan.py).
    return _plan(stack, {"create_event_topic": False, "create_payload_store": False, "kms_key_arn": KEY})


def test_without_the_topic_the_processor_publishes_nothing(no_topic_plan):
    resources = managed(no_topic_plan)
    assert PREFIX + "aws_sns_topic.events[0]" not in resources
    (environment,) = resources[PREFIX + "aws_lambda_function.this[0]"]["values"]["environment"]
    assert environment["variables"]["EVENT_TOPIC_ARN"] == ""  # publishing off
    statements = _statements(_read(no_topic_plan, "data.aws_iam_policy_document.processor[0]"))
    assert "PublishEvents" not in statements
    assert statements["DecryptWithCustomerKey"]["actions"] == ["kms:Decrypt"]
    assert no_topic_plan.outputs["event_topic_arn"] is None
    assert no_topic_plan.outputs["event_topic_name"] is None
    assert no_topic_plan.outputs["consumers"] == {}


def test_history_table_has_the_by_received_index_the_harness_mirrors(no_topic_plan):
    """tests/harness/history_table.py builds the table for boto3 suites: same keys and indexes."""
    from tests.harness.history_table import create_history_table

    class Recorder:
        def create_table(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

    recorder = Recorder()
    create_history_table(recorder, "t")
    mirror = recorder.kwargs
    table = managed(no_topic_plan)[PREFIX + "aws_dynamodb_table.this[0]"]["values"]
    assert sorted((a["name"], a["type"]) for a in table["attribute"]) == sorted(
        (a["AttributeName"], a["AttributeType"]) for a in mirror["AttributeDefinitions"]
    )
    planned = {
        i["name"]: (i["hash_key"], i["range_key"], i["projection_type"], sorted(i["non_key_attributes"]))
        for i in table["global_secondary_index"]
    }
    mirrored = {
        i["IndexName"]: (
            *(k["AttributeName"] for k in i["KeySchema"]),
            i["Projection"]["ProjectionType"],
            sorted(i["Projection"]["NonKeyAttributes"]),
        )
        for i in mirror["GlobalSecondaryIndexes"]
    }
    assert planned == mirrored
    assert planned["by_received"] == (
        "received_bucket",
        "received_at",
        "INCLUDE",
        ["event_type", "reason", "request_id", "source", "status"],
    )


################################################################################
# Refusals: each message, with what it names
################################################################################


# OpenTofu reports only the first failed validation rule of a variable (Terraform all of
# them), so each rule of `consumers` gets a plan of its own.
@pytest.fixture(scope="module")
def name_errors(stack) -> str:
    return _refusal(stack, {"consumers": {"Bad Key": {}, "ok": {}, "UPPER": {}}})


@pytest.fixture(scope="module")
def pattern_errors(stack) -> str:
    return _refusal(
        stack,
        {
            "consumers": {
                "ok": {"event_types": ["payment_*", "invoice.paid", "a.*.b", "pay ment"]},
                "two": {"event_types": ["*", "payment_intent.*"]},
            }
        },
    )


def test_a_bad_consumer_name_is_refused(name_errors):
    assert (
        folded(
            "Each consumers key is a consumer name: lower-case letters, digits, '-' or '_', starting with a "
            "letter or digit (it names the consumer's queues and alarms, <name>-<key>). "
            'Refused: "Bad Key", "UPPER".'
        )
        in name_errors
    )


def test_a_bad_event_type_pattern_is_refused_naming_its_consumer(pattern_errors):
    assert (
        folded(
            "Each consumer's event_types entry must be an exact event type (payment_intent.succeeded) or a "
            "prefix pattern with a single trailing \".*\" (payment_intent.*). No other '*', no whitespace, no "
            'empty entry, at most 256 characters. Refused: consumers["ok"] "payment_*", consumers["ok"] '
            '"a.*.b", consumers["ok"] "pay ment", consumers["two"] "*".'
        )
        in pattern_errors
    )


@pytest.fixture(scope="module")
def precondition_errors(stack) -> str:
    """The cross-input rules (preconditions on the DLQ), reported together."""
    return _refusal(
        stack,
        {
            "create_event_topic": False,
            "consumers": {
                "a": {"sources": ["strpe", "github"]},
                "b": {"sources": ["Stripe"]},
                "k" * 69: {},  # fixture-<69>-dlq: 81 characters
                "k" * 68: {},  # 80: fits
            },
        },
    )


def test_consumers_without_the_event_topic_are_refused(precondition_errors):
    assert (
        folded(
            f"consumers (a, b, {'k' * 68}, {'k' * 69}) subscribe to the event topic, but create_event_topic is "
            "false, so there is none and the processor publishes nothing. Set create_event_topic = true, or "
            "drop consumers."
        )
        in precondition_errors
    )


def test_an_unknown_source_is_refused_naming_the_known_ones(precondition_errors):
    assert (
        folded(
            "consumers name sources that are not keys of sources, so they would never receive an event: "
            'consumers["a"] "strpe"; consumers["b"] "Stripe". Known sources: billing, github, stripe. '
            "Leave a consumer's sources empty for every source."
        )
        in precondition_errors
    )


def test_a_consumer_name_too_long_for_sqs_is_refused(precondition_errors):
    assert (
        folded(
            f'The consumer queue names <name>-<key>-dlq of consumers["{"k" * 69}"] (81 characters) exceed '
            'SQS\'s 80 characters. With name = "fixture" a consumer key may have at most 68 characters.'
        )
        in precondition_errors
    )
    assert f'consumers["{"k" * 68}"] (80' not in precondition_errors


@pytest.fixture(scope="module")
def module_validation_errors(stack) -> str:
    """What the consumer module's own validations refuse, through the root map."""
    return _refusal(
        stack,
        {
            "consumers": {
                "nested": {"body_filter": {"data.object.status": ["paid"]}},
                "empty": {"body_filter": {"action": []}},
                "fraction": {"batch_size": 20.5},
                "concurrency": {"maximum_concurrency": 1},
                "receives": {"max_receive_count": 0},
                "retention": {"message_retention_seconds": 30},
                "function": {"function_name": "my function"},
            }
        },
    )


@pytest.mark.parametrize(
    "message",
    [
        'nested paths such as data.object.status are not supported). Refused: "data.object.status".',
        "Each body_filter field needs at least one accepted value (drop the field to accept any); empty: action.",
        "batch_size must be a whole number between 1 and 10000.",
        "maximum_concurrency must be a whole number between 2 and 1000 (the SQS trigger's limits).",
        "max_receive_count must be a whole number between 1 and 1000.",
        "message_retention_seconds must be a whole number of seconds between 60 and 1209600 (14 days).",
        "function_name must be a Lambda function name or ARN (optionally with :ALIAS or :VERSION).",
    ],
    ids=[
        "nested-body-field",
        "empty-body-values",
        "batch-fraction",
        "concurrency",
        "receives",
        "retention",
        "function",
    ],
)
def test_consumer_settings_the_module_refuses(module_validation_errors, message):
    assert folded(message) in module_validation_errors


@pytest.fixture(scope="module")
def module_precondition_errors(stack) -> str:
    """What SNS or Lambda would refuse, and a pause with nothing to pause, through the root map."""
    return _refusal(
        stack,
        {
            "consumers": {
                "paused": {"enabled": False},
                "keys": {
                    "sources": ["github"],
                    "event_types": ["issues"],
                    "body_filter": {f: ["x"] for f in "abcd"},
                },
                "wide": {
                    "sources": ["stripe", "github", "billing"],
                    "event_types": [f"t{i}" for i in range(51)],
                },
                "batch": {"function_name": "fixture-fn", "batch_size": 20},
            }
        },
    )


@pytest.mark.parametrize(
    "message",
    [
        "enabled = false pauses the consumer's function (its event source mapping), but fixture-paused has "
        "no function_name, so there is nothing to pause: its queue keeps receiving events either way.",
        "The filter policy would have 6 keys (source, event_type, json.a, json.b, json.c, json.d); SNS "
        "accepts at most 5 per subscription.",
        "The filter policy would have 153 combinations of values (3 x 51: the number of sources x event_types",
        "batch_size 20 (above 10) needs batching_window_seconds > 0 (an SQS trigger rule).",
    ],
    ids=["pause-without-function", "too-many-keys", "too-many-combinations", "batch-without-window"],
)
def test_what_sns_or_lambda_would_refuse_is_refused(module_precondition_errors, message):
    assert folded(message) in module_precondition_errors
