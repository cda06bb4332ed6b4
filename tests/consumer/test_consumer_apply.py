"""tests/fixtures/consumer_root applied on each engine: two consumers of modules/consumer
read back, events routed through SNS by their filter policies, re-plan, destroy.

The tests run in file order on one applied stack per engine (the `deployed` fixture);
the last one destroys it and checks that nothing is left.

What the local account (moto) evaluates: SNS filter policies, both scopes
(MessageAttributes and MessageBody, nested `json.<field>` keys included), exact values
and `prefix` rules, and raw message delivery to SQS. What it does not: queue policies
(stored and read back, never enforced, so an SNS delivery the policy would refuse still
arrives), KMS, and the SNS subscription's own redrive (moto never fails a delivery).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.harness.stack import Stack

pytestmark = [pytest.mark.apply, pytest.mark.xdist_group("apply-consumer")]
FIXTURE = "tests/fixtures/consumer_root"
REPO = Path(__file__).resolve().parents[2]

FILTER_POLICIES = {
    "payments": (
        {"source": ["stripe"], "event_type": [{"prefix": "payment_intent."}, "charge.refunded"]},
        "MessageAttributes",
    ),
    "issues": (
        {"source": ["github"], "event_type": ["issues"], "json": {"action": ["opened", "reopened"]}},
        "MessageBody",
    ),
}


@dataclass
class Deployed:
    stack: Stack
    outputs: dict[str, Any]
    tf_vars: dict[str, Any]

    @property
    def name(self) -> str:
        return self.tf_vars["name"]

    def consumer(self, key: str) -> dict[str, Any]:
        return self.outputs["consumers"][key]


@contextmanager
def _applied(engine, aws_account, workdir: Path) -> Iterator[Deployed]:
    tf_vars = {"name": f"c{uuid.uuid4().hex[:8]}"}
    stack = Stack(engine, aws_account, FIXTURE, workdir)
    stack.init()
    try:
        stack.apply(tf_vars=tf_vars)
        yield Deployed(stack, stack.outputs(), tf_vars)
    finally:
        # Normally the last test destroyed it already and checked nothing is left.
        if stack.applied:
            stack.destroy(tf_vars=tf_vars)
        stack.cleanup()


@pytest.fixture(scope="module")
def deployed(engine, aws_account, session_stacks, tmp_path_factory) -> Deployed:
    """Applied once per engine for the session (tests/conftest.py SessionStacks), not per module
    instance: xdist may run other tests on this worker in between."""
    return session_stacks.get(
        (FIXTURE, engine.name),
        lambda: _applied(engine, aws_account, tmp_path_factory.mktemp(f"consumer-apply-{engine.name}")),
    )


def _statements(document: str | dict) -> list[dict]:
    if isinstance(document, str):
        document = json.loads(document)
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def test_subscriptions_read_back(deployed, aws_account):
    sns, topic = aws_account.client("sns"), deployed.outputs["topic_arn"]
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    by_endpoint = {s["Endpoint"]: s for s in subscriptions}
    assert sorted(by_endpoint) == sorted(deployed.consumer(k)["queue_arn"] for k in FILTER_POLICIES)
    for key, (policy, scope) in FILTER_POLICIES.items():
        consumer = deployed.consumer(key)
        subscription = by_endpoint[consumer["queue_arn"]]
        assert subscription["Protocol"] == "sqs"
        assert subscription["SubscriptionArn"] == consumer["subscription_arn"]
        attributes = sns.get_subscription_attributes(SubscriptionArn=consumer["subscription_arn"])[
            "Attributes"
        ]
        assert attributes["RawMessageDelivery"] == "true", key
        assert json.loads(attributes["FilterPolicy"]) == policy, key
        assert attributes["FilterPolicyScope"] == scope, key
        # Undeliverable events go to the consumer's DLQ rather than being dropped.
        assert json.loads(attributes["RedrivePolicy"]) == {
            "deadLetterTargetArn": consumer["dead_letter_queue_arn"]
        }, key


def test_queues_and_redrive_policies_read_back(deployed, aws_account):
    sqs = aws_account.client("sqs")
    for key in FILTER_POLICIES:
        consumer = deployed.consumer(key)
        queue = sqs.get_queue_attributes(QueueUrl=consumer["queue_url"], AttributeNames=["All"])["Attributes"]
        dlq = sqs.get_queue_attributes(QueueUrl=consumer["dead_letter_queue_url"], AttributeNames=["All"])[
            "Attributes"
        ]
        assert json.loads(queue["RedrivePolicy"]) == {
            "deadLetterTargetArn": consumer["dead_letter_queue_arn"],
            "maxReceiveCount": 5,
        }, key
        assert json.loads(dlq["RedriveAllowPolicy"]) == {
            "redrivePermission": "byQueue",
            "sourceQueueArns": [consumer["queue_arn"]],
        }, key
        assert queue["VisibilityTimeout"] == "180"
        assert queue["ReceiveMessageWaitTimeSeconds"] == "20"
        assert queue["MessageRetentionPeriod"] == dlq["MessageRetentionPeriod"] == "1209600"
        assert queue["SqsManagedSseEnabled"] == dlq["SqsManagedSseEnabled"] == "true"


def test_queue_policies_name_only_the_topic(deployed, aws_account):
    """SNS (from the topic, aws:SourceArn) is the only sender named; everyone else is
    denied SendMessage, and both queues deny plain HTTP. (The local account stores
    policies but does not enforce them: this reads them back.)"""
    sqs, topic = aws_account.client("sqs"), deployed.outputs["topic_arn"]
    for key in FILTER_POLICIES:
        consumer = deployed.consumer(key)
        for url, arn, sids in (
            (
                consumer["queue_url"],
                consumer["queue_arn"],
                {"AllowSendFromTopic", "DenySendFromOthers", "DenyInsecureTransport"},
            ),
            (
                consumer["dead_letter_queue_url"],
                consumer["dead_letter_queue_arn"],
                {"AllowUndeliverableFromTopic", "DenyInsecureTransport"},
            ),
        ):
            document = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"][
                "Policy"
            ]
            statements = {s["Sid"]: s for s in _statements(document)}
            assert set(statements) == sids, url
            named: set[str] = set()
            for statement in statements.values():
                assert _as_list(statement["Resource"]) == [arn]
                principal = statement["Principal"]
                assert principal in ("*", {"AWS": "*"}, {"Service": "sns.amazonaws.com"}), principal
                for operator, conditions in statement.get("Condition", {}).items():
                    for variable, values in conditions.items():
                        if variable == "aws:SourceArn":
                            named.update(_as_list(values))
                        else:
                            assert (operator, variable, _as_list(values)) == (
                                "Bool",
                                "aws:SecureTransport",
                                ["false"],
                            )
            assert named == {topic}, url
            allow = statements[
                "AllowSendFromTopic" if url == consumer["queue_url"] else "AllowUndeliverableFromTopic"
            ]
            assert allow["Effect"] == "Allow" and _as_list(allow["Action"]) == ["sqs:SendMessage"]
            assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": topic}}
            tls = statements["DenyInsecureTransport"]
            assert tls["Effect"] == "Deny" and _as_list(tls["Action"]) == ["sqs:*"]


def test_paused_consumer_mapping_and_role_policy(deployed, aws_account):
    lam, iam = aws_account.client("lambda"), aws_account.client("iam")
    payments, issues = deployed.consumer("payments"), deployed.consumer("issues")
    mappings = lam.list_event_source_mappings(EventSourceArn=payments["queue_arn"])["EventSourceMappings"]
    assert len(mappings) == 1
    mapping = mappings[0]
    assert mapping["UUID"] == payments["event_source_mapping_uuid"]
    assert mapping["FunctionArn"].endswith(f":function:{deployed.outputs['function_name']}")
    assert mapping["State"] == "Disabled"  # paused: the subscription stays, the mapping stops
    assert mapping["BatchSize"] == 5
    assert mapping.get("MaximumBatchingWindowInSeconds") in (0, None)  # moto returns None for 0
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert issues["event_source_mapping_uuid"] is None
    assert lam.list_event_source_mappings(EventSourceArn=issues["queue_arn"])["EventSourceMappings"] == []

    role = deployed.outputs["function_role_name"]
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == [f"consume-{deployed.name}-payments"]
    attached = iam.get_role_policy(RoleName=role, PolicyName=f"consume-{deployed.name}-payments")[
        "PolicyDocument"
    ]
    if isinstance(attached, str):
        attached = json.loads(attached)
    assert attached == json.loads(payments["consumer_policy_json"])
    (statement,) = _statements(attached)
    assert sorted(_as_list(statement["Action"])) == [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    ]
    assert _as_list(statement["Resource"]) == [payments["queue_arn"]]


def test_alarms_read_back(deployed, aws_account):
    cloudwatch = aws_account.client("cloudwatch")
    alarms = {
        a["AlarmName"]: a for a in cloudwatch.describe_alarms(AlarmNamePrefix=deployed.name)["MetricAlarms"]
    }
    for key in FILTER_POLICIES:
        consumer = deployed.consumer(key)
        names = consumer["alarm_names"]
        dlq = alarms[names["dlq_messages"]]
        assert dlq["MetricName"] == "ApproximateNumberOfMessagesVisible" and dlq["Threshold"] == 0
        assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": f"{deployed.name}-{key}-dlq"}]
        age = alarms[names["oldest_message_age"]]
        assert age["MetricName"] == "ApproximateAgeOfOldestMessage" and age["Threshold"] == 900
        assert age["Dimensions"] == [{"Name": "QueueName", "Value": f"{deployed.name}-{key}"}]
    assert len(alarms) == 4


def _envelope(source: str, event_type: str, body: Any, scheme: str | None = None) -> dict[str, Any]:
    """A schema_version 1 envelope as the processor publishes it (docs/event-envelope.schema.json)."""
    raw = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    event_id = f"{source}#{uuid.uuid4()}"
    return {
        "schema_version": 1,
        "event_id": event_id,
        "source": source,
        "scheme": scheme or source,
        "event_type": event_type,
        "delivery_id": event_id.split("#", 1)[1],
        "request_id": str(uuid.uuid4()),
        "received_at": "2025-01-07T10:00:00.000Z",
        "processed_at": "2025-01-07T10:00:00.250Z",
        "content_type": "application/json"
        if not isinstance(body, str)
        else "application/x-www-form-urlencoded",
        "body": raw,
        "json": None if isinstance(body, str) else body,
        "replay_id": None,
        "body_omitted": False,
        "body_size": len(raw.encode()),
        "body_sha256": hashlib.sha256(raw.encode()).hexdigest(),
    }


# (source, event_type, body, the consumers that must get it)
EVENTS = [
    ("stripe", "payment_intent.succeeded", {"type": "payment_intent.succeeded"}, {"payments"}),
    ("stripe", "payment_intent.payment_failed", {"type": "payment_intent.payment_failed"}, {"payments"}),
    ("stripe", "charge.refunded", {"type": "charge.refunded"}, {"payments"}),
    ("stripe", "charge.succeeded", {"type": "charge.succeeded"}, set()),
    # The prefix is "payment_intent.", dot included.
    ("stripe", "payment_intents.created", {"type": "payment_intents.created"}, set()),
    ("github", "payment_intent.succeeded", {"action": "opened"}, set()),  # wrong source for both
    ("github", "issues", {"action": "opened", "issue": {"number": 1}}, {"issues"}),
    ("github", "issues", {"action": "reopened", "issue": {"number": 1}}, {"issues"}),
    ("github", "issues", {"action": "closed", "issue": {"number": 1}}, set()),
    ("github", "pull_request", {"action": "opened"}, set()),
    ("github", "issues", "payload=%7B%22action%22%3A%22opened%22%7D", set()),  # form body: json is null
    ("stripe", "issues", {"action": "opened"}, set()),  # body filter, wrong source
]


def test_the_test_envelopes_follow_the_schema():
    """What this file publishes is what the processor would (no stack needed)."""
    import jsonschema

    schema = json.loads((REPO / "docs" / "event-envelope.schema.json").read_text())
    for source, event_type, body, _ in EVENTS:
        jsonschema.validate(_envelope(source, event_type, body), schema)


def _drain(sqs, url: str, expected: int, timeout: float) -> list[dict]:
    """Every message on the queue: waits up to `timeout` for `expected` of them (SNS
    delivers asynchronously in a real account), then once more for stragglers."""
    messages: list[dict] = []
    deadline = time.monotonic() + timeout
    while True:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=300,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        messages += batch
        if not batch and (len(messages) >= expected or time.monotonic() > deadline):
            return messages


def test_events_reach_exactly_the_matching_consumers(deployed, aws_account):
    """Published as the processor does (PublishBatch, four String attributes): each
    consumer gets exactly the events its filter policy matches, raw; the paused one
    keeps them in its queue."""
    sns, sqs = aws_account.client("sns"), aws_account.client("sqs")
    envelopes = [(_envelope(source, event_type, body), wanted) for source, event_type, body, wanted in EVENTS]
    for start in range(0, len(envelopes), 10):
        entries = []
        for index, (envelope, _) in enumerate(envelopes[start : start + 10]):
            entries.append(
                {
                    "Id": str(index),
                    "Message": json.dumps(envelope, separators=(",", ":")),
                    "MessageAttributes": {
                        name: {"DataType": "String", "StringValue": envelope[name]}
                        for name in ("source", "event_type", "event_id", "scheme")
                    },
                }
            )
        result = sns.publish_batch(TopicArn=deployed.outputs["topic_arn"], PublishBatchRequestEntries=entries)
        assert not result.get("Failed"), result["Failed"]
    published = {
        envelope["event_id"]: json.dumps(envelope, separators=(",", ":")) for envelope, _ in envelopes
    }
    timeout = 2 if aws_account.is_local else 30
    for key in FILTER_POLICIES:
        consumer = deployed.consumer(key)
        wanted = sorted(envelope["event_id"] for envelope, consumers in envelopes if key in consumers)
        messages = _drain(sqs, consumer["queue_url"], len(wanted), timeout)
        got = sorted(m["MessageAttributes"]["event_id"]["StringValue"] for m in messages)
        assert got == wanted, key
        for message in messages:
            # Raw delivery: the body is the envelope as published, the attributes are SQS attributes.
            event_id = message["MessageAttributes"]["event_id"]["StringValue"]
            assert message["Body"] == published[event_id]
            envelope = json.loads(message["Body"])
            assert {
                n: message["MessageAttributes"][n]["StringValue"] for n in ("source", "event_type", "scheme")
            } == {n: envelope[n] for n in ("source", "event_type", "scheme")}
        dlq = sqs.get_queue_attributes(
            QueueUrl=consumer["dead_letter_queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
        )
        assert dlq["Attributes"]["ApproximateNumberOfMessages"] == "0", key


def test_replan_is_clean(deployed):
    assert deployed.stack.pending_changes(tf_vars=deployed.tf_vars) == []


def test_destroy_leaves_nothing(deployed, aws_account):
    sqs, sns = aws_account.client("sqs"), aws_account.client("sns")
    lam, iam, cloudwatch = (
        aws_account.client("lambda"),
        aws_account.client("iam"),
        aws_account.client("cloudwatch"),
    )
    queue_arns = {
        deployed.consumer(k)[a] for k in FILTER_POLICIES for a in ("queue_arn", "dead_letter_queue_arn")
    }
    deployed.stack.destroy(tf_vars=deployed.tf_vars)
    assert deployed.stack.state_resources() == []
    assert sqs.list_queues(QueueNamePrefix=deployed.name).get("QueueUrls", []) == []
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert deployed.outputs["topic_arn"] not in topics
    subscriptions = sns.list_subscriptions()["Subscriptions"]
    assert [s for s in subscriptions if s["TopicArn"] == deployed.outputs["topic_arn"]] == []
    assert [s for s in subscriptions if s["Endpoint"] in queue_arns] == []
    mappings = lam.list_event_source_mappings()["EventSourceMappings"]
    assert [m for m in mappings if m["EventSourceArn"] in queue_arns] == []
    functions = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert deployed.outputs["function_name"] not in functions
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert deployed.outputs["function_role_name"] not in roles
    assert cloudwatch.describe_alarms(AlarmNamePrefix=deployed.name)["MetricAlarms"] == []
