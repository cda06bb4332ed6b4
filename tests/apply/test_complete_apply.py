"""examples/complete applied on each engine: read back, drive webhooks end to end, re-plan, destroy.

The tests run in file order on one applied stack per engine (the `deployed`
fixture, shared with test_consumers_e2e.py); test_teardown.py destroys it and
checks that nothing is left.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from tests.apply import scenarios
from tests.harness.driver import (
    LocalDriver,
    RealDriver,
    deployed_processor_environment,
    deployed_sources,
    package_base64sha256,
)
from tests.harness.vtl import render_terraform_template

pytestmark = [pytest.mark.apply, pytest.mark.xdist_group("apply-complete")]
REPO = Path(__file__).resolve().parents[2]


def _role_policies(iam, role_arn: str) -> list[dict]:
    role = role_arn.rsplit("/", 1)[1]
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    return [iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"] for n in names]


def _statements(document) -> list[dict]:
    if isinstance(document, str):
        document = json.loads(document)
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_queues_read_back(deployed, aws_account):
    sqs, out = aws_account.client("sqs"), deployed.outputs
    main = sqs.get_queue_attributes(QueueUrl=out["queue_url"], AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=out["dead_letter_queue_url"], AttributeNames=["All"])[
        "Attributes"
    ]
    assert json.loads(main["RedrivePolicy"]) == {
        "deadLetterTargetArn": out["dead_letter_queue_arn"],
        "maxReceiveCount": 3,
    }
    assert main["VisibilityTimeout"] == "180"  # 6 x the 30 s processor timeout
    assert main["SqsManagedSseEnabled"] == "true" and dlq["SqsManagedSseEnabled"] == "true"
    assert dlq["MessageRetentionPeriod"] == "1209600"
    assert json.loads(dlq["RedriveAllowPolicy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [out["queue_arn"]],
    }


def _package(deployed) -> Path:
    return deployed.stack.local_path(deployed.outputs["processor_package_path"])


def test_processor_and_mapping_read_back(deployed, aws_account):
    lam, out = aws_account.client("lambda"), deployed.outputs
    fn = lam.get_function_configuration(FunctionName=out["processor_function_name"])
    assert fn["Handler"] == "webhook_processor.handler.lambda_handler"
    assert fn["Runtime"] == "python3.13"
    assert fn["CodeSha256"] == out["processor_package_base64sha256"]
    assert package_base64sha256(_package(deployed)) == fn["CodeSha256"]  # the local zip is the deployed one
    env = fn["Environment"]["Variables"]
    assert env["TABLE_NAME"] == out["history_table_name"]
    # The source map is in the zip: the environment (4 KB at most) no longer grows with sources.
    assert "WEBHOOK_SOURCES" not in env
    assert env["WEBHOOK_SOURCES_FILE"] == "webhook_config/sources.json"
    assert env["PROCESSOR_TIMEOUT_SECONDS"] == "30"
    assert env["HISTORY_RETENTION_DAYS"] == "30"
    assert env["REJECTED_RETENTION_DAYS"] == "14"
    assert env["INVALID_BODY_BYTES"] == "4096"
    # examples/complete: bodies above 64 KiB go to the payload store, which the processor names.
    assert env["MAX_STORED_BODY_BYTES"] == "65536"
    assert env["PAYLOAD_BUCKET"] == out["payload_bucket_name"]
    assert env["EVENT_TOPIC_ARN"] == out["event_topic_arn"]  # publishing on, to the module's topic
    sources = deployed_sources(aws_account, out["processor_function_name"], _package(deployed))
    assert sorted(sources) == sorted(out["webhook_urls"])
    assert sources["internal"]["scheme"] == "none" and sources["internal"]["secret_arn"] is None
    assert sources["stripe"]["secret_arn"] == out["secret_arns"]["stripe"]
    # Listed by queue: moto filters FunctionName by ARN only.
    mappings = lam.list_event_source_mappings(EventSourceArn=out["queue_arn"])["EventSourceMappings"]
    assert len(mappings) == 1
    mapping = mappings[0]
    assert mapping["FunctionArn"] == fn["FunctionArn"]
    assert mapping["BatchSize"] == 10
    assert mapping["MaximumBatchingWindowInSeconds"] == 5
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 20}


def test_roles_are_named_per_region_under_the_path(deployed, aws_account):
    iam, name, region = aws_account.client("iam"), deployed.tf_vars["name"], aws_account.region
    for arn, suffix in (
        (deployed.outputs["processor_role_arn"], "processor"),
        (deployed.outputs["api_gateway_role_arn"], "apigw-sqs"),
    ):
        role = iam.get_role(RoleName=arn.rsplit("/", 1)[1])["Role"]
        assert role["RoleName"] == f"{name}-{region}-{suffix}"
        assert role["Path"] == "/webhooks/"
        assert role["Arn"] == arn and f":role/webhooks/{name}-{region}-{suffix}" in arn
        assert "PermissionsBoundary" not in role


def test_queue_policies_read_back(deployed, aws_account):
    """Only the API role and the replay principals may send; neither queue takes plain HTTP.
    (The local account stores policies but does not enforce them: this reads them back.)"""
    sqs, out = aws_account.client("sqs"), deployed.outputs
    senders = sorted([out["api_gateway_role_arn"], *deployed.tf_vars["replay_principal_arns"]])

    def policy(url: str) -> dict[str, dict]:
        document = json.loads(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
        )
        return {s["Sid"]: s for s in _statements(document)}

    main = policy(out["queue_url"])
    # AllowPayloadNotifications: examples/complete has s3 sources (test_payload_edge_e2e.py).
    assert set(main) == {
        "AllowSendFromApiAndReplay",
        "AllowPayloadNotifications",
        "DenySendFromOthers",
        "DenyInsecureTransport",
    }
    allow = main["AllowSendFromApiAndReplay"]
    assert allow["Effect"] == "Allow" and _as_list(allow["Action"]) == ["sqs:SendMessage"]
    assert sorted(_as_list(allow["Principal"]["AWS"])) == senders
    assert allow["Resource"] == out["queue_arn"]
    deny = main["DenySendFromOthers"]
    assert deny["Effect"] == "Deny" and _as_list(deny["Action"]) == ["sqs:SendMessage"]
    assert deny["Principal"] == "*"
    assert sorted(_as_list(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])) == senders
    for statements, arn in (
        (main, out["queue_arn"]),
        (policy(out["dead_letter_queue_url"]), out["dead_letter_queue_arn"]),
    ):
        tls = statements["DenyInsecureTransport"]
        assert tls["Effect"] == "Deny" and tls["Principal"] == "*" and _as_list(tls["Action"]) == ["sqs:*"]
        assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert tls["Resource"] == arn
    replay = policy(out["dead_letter_queue_url"])["AllowReplay"]
    assert sorted(_as_list(replay["Principal"]["AWS"])) == sorted(deployed.tf_vars["replay_principal_arns"])
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage"} <= set(_as_list(replay["Action"]))


def test_history_table_read_back(deployed, aws_account):
    ddb, name = aws_account.client("dynamodb"), deployed.outputs["history_table_name"]
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "event_id", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert sorted(indexes) == ["by_received", "by_source"]
    assert [k["AttributeName"] for k in indexes["by_source"]["KeySchema"]] == ["source", "received_at"]
    # Replay by receive time: ten keys per UTC day ("YYYY-MM-DD#n"), sorted by the receive time.
    by_received = indexes["by_received"]
    assert [(k["AttributeName"], k["KeyType"]) for k in by_received["KeySchema"]] == [
        ("received_bucket", "HASH"),
        ("received_at", "RANGE"),
    ]
    assert by_received["Projection"]["ProjectionType"] == "INCLUDE"
    assert sorted(by_received["Projection"]["NonKeyAttributes"]) == [
        "event_type",
        "reason",
        "request_id",
        "source",
        "status",
    ]
    assert {"AttributeName": "received_bucket", "AttributeType": "S"} in table["AttributeDefinitions"]
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at" and ttl["TimeToLiveStatus"] == "ENABLED"
    backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_iam_policies_are_least_privilege(deployed, aws_account):
    iam, out = aws_account.client("iam"), deployed.outputs
    own_arns = {out["queue_arn"], out["event_topic_arn"], *out["secret_arns"].values()}
    table_arn = aws_account.client("dynamodb").describe_table(TableName=out["history_table_name"])["Table"][
        "TableArn"
    ]
    own_arns.add(table_arn)
    bodies = f"{out['payload_bucket_arn']}/bodies/*"  # the payload store: its bodies only
    ingest = f"{out['payload_bucket_arn']}/ingest/*"  # what the s3 sources' edge wrote (read only)
    edge = {f"{out['payload_bucket_arn']}/ingest/{s}/*" for s in ("monorepo", "exports")}
    own_arns |= {bodies, ingest, *edge}
    for role_arn in (out["processor_role_arn"], out["api_gateway_role_arn"]):
        documents = _role_policies(iam, role_arn)
        assert documents, f"{role_arn} has no inline policy"
        for statement in (s for d in documents for s in _statements(d)):
            actions = _as_list(statement["Action"])
            assert all("*" not in a for a in actions), f"wildcard action in {statement}"
            for resource in _as_list(statement["Resource"]):
                assert resource in own_arns or resource.startswith("arn:aws:logs:"), (
                    f"{resource} is not the module's"
                )
                assert resource != "*"
    processor = [s for d in _role_policies(iam, out["processor_role_arn"]) for s in _statements(d)]
    secrets = next(s for s in processor if "secretsmanager:GetSecretValue" in _as_list(s["Action"]))
    assert sorted(_as_list(secrets["Resource"])) == sorted(out["secret_arns"].values())
    publish = [s for s in processor if "sns:Publish" in _as_list(s["Action"])]
    assert publish == [
        {
            "Sid": "PublishEvents",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": out["event_topic_arn"],
        }
    ]
    store = {s["Sid"]: s for s in processor if any(a.startswith("s3:") for a in _as_list(s["Action"]))}
    assert sorted(store) == ["ReadIngestedPayloads", "StorePayloads"], store
    assert sorted(_as_list(store["StorePayloads"]["Action"])) == ["s3:GetObject", "s3:PutObject"]
    assert _as_list(store["StorePayloads"]["Resource"]) == [bodies]
    assert _as_list(store["ReadIngestedPayloads"]["Action"]) == ["s3:GetObject"]  # never written
    assert _as_list(store["ReadIngestedPayloads"]["Resource"]) == [ingest]
    apigw = [s for d in _role_policies(iam, out["api_gateway_role_arn"]) for s in _statements(d)]
    assert apigw[0] == {
        "Sid": "SendToQueue",
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": out["queue_arn"],
    }
    # The payloads API's role part: PutObject under each s3 source's own prefix, nothing else.
    assert [s["Sid"] for s in apigw] == ["SendToQueue", "StorePayloads"]
    assert _as_list(apigw[1]["Action"]) == ["s3:PutObject"]
    assert sorted(_as_list(apigw[1]["Resource"])) == sorted(edge)


def test_payload_store_read_back(deployed, aws_account):
    """The bucket for long bodies: private (public access block, ACLs off), encrypted (SSE-S3:
    examples/complete has no kms_key_arn), unversioned, objects expiring with the history,
    and TLS only. (The local account stores the policy but does not enforce it.)"""
    s3, out = aws_account.client("s3"), deployed.outputs
    bucket = out["payload_bucket_name"]
    assert bucket.startswith(f"{deployed.tf_vars['name']}-payloads-") and len(bucket) <= 63
    assert out["payload_bucket_arn"] == f"arn:aws:s3:::{bucket}"
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert "KMSMasterKeyID" not in rule["ApplyServerSideEncryptionByDefault"]
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)  # never versioned
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["ID"] == "bodies" and rule["Status"] == "Enabled"
    assert rule["Expiration"] == {"Days": 30}  # history_retention_days = 30, rejected rows 14
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert rule.get("Filter", {}).get("Prefix", "") == "" and not rule.get("Prefix")  # the whole bucket
    (tls,) = _statements(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert tls["Sid"] == "DenyInsecureTransport" and tls["Effect"] == "Deny"
    assert tls["Principal"] == "*" and _as_list(tls["Action"]) == ["s3:*"]
    assert sorted(_as_list(tls["Resource"])) == [out["payload_bucket_arn"], f"{out['payload_bucket_arn']}/*"]
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_integration_template_is_the_file(deployed, aws_account):
    apigw, out = aws_account.client("apigateway"), deployed.outputs
    resources = apigw.get_resources(restApiId=out["rest_api_id"], limit=500)["items"]
    github = next(r for r in resources if r["path"] == "/webhooks/github")
    integration = apigw.get_integration(
        restApiId=out["rest_api_id"], resourceId=github["id"], httpMethod="POST"
    )
    expected = render_terraform_template(
        REPO / "templates" / "sqs_send_message.vtl",
        source="github",
        delivery_id_header="x-github-delivery",  # api.tf passes header names lower()ed
        signature_header="x-hub-signature-256",
        timestamp_header="",
        event_type_header="x-github-event",
    )
    # Every spelling of both media types senders use (main.tf charset_suffixes), one template.
    spellings = ("", "; charset=utf-8", ";charset=utf-8", "; charset=UTF-8", ";charset=UTF-8")
    media_types = ("application/json", "application/x-www-form-urlencoded")
    assert integration["requestTemplates"] == {f"{m}{s}": expected for m in media_types for s in spellings}
    assert integration["passthroughBehavior"] == "NEVER"
    catch_all = apigw.get_integration_response(
        restApiId=out["rest_api_id"], resourceId=github["id"], httpMethod="POST", statusCode="502"
    )
    assert not catch_all.get("selectionPattern")
    success = apigw.get_integration_response(
        restApiId=out["rest_api_id"], resourceId=github["id"], httpMethod="POST", statusCode="200"
    )
    assert success["selectionPattern"] == r"2\d{2}"
    client_error = apigw.get_integration_response(
        restApiId=out["rest_api_id"], resourceId=github["id"], httpMethod="POST", statusCode="503"
    )
    assert client_error["selectionPattern"] == r"4\d{2}"  # fail safe: an SQS 4xx is declared 503


def test_stage_writes_access_logs(deployed, aws_account):
    """examples/complete turns access logs on explicitly: they are off by default."""
    out = deployed.outputs
    stage = aws_account.client("apigateway").get_stage(
        restApiId=out["rest_api_id"], stageName=out["stage_name"]
    )
    group = f"/aws/apigateway/{deployed.tf_vars['name']}/access"
    assert stage["accessLogSettings"]["destinationArn"].endswith(f":log-group:{group}")
    assert json.loads(stage["accessLogSettings"]["format"])["requestId"] == "$context.requestId"
    groups = aws_account.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [group]


def test_alarms_watch_real_metrics(deployed, aws_account):
    cw, out = aws_account.client("cloudwatch"), deployed.outputs
    alarms = {
        a["AlarmName"]: a
        for a in cw.describe_alarms(AlarmNames=list(out["alarm_names"].values()))["MetricAlarms"]
    }
    assert len(alarms) == len(out["alarm_names"])  # every alarm the output names exists
    core = {"dlq_messages", "queue_oldest_message_age", "processor_errors", "processor_throttles", "api_5xx"}
    assert core <= set(out["alarm_names"])
    dlq = alarms[out["alarm_names"]["dlq_messages"]]
    assert dlq["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dlq["Dimensions"] == [
        {"Name": "QueueName", "Value": out["dead_letter_queue_arn"].rsplit(":", 1)[1]}
    ]
    assert dlq["AlarmActions"] == [out["sns_topic_arn"]]
    for key, consumer in out["consumers"].items():
        names = consumer["alarm_names"]
        found = {
            a["AlarmName"]: a for a in cw.describe_alarms(AlarmNames=list(names.values()))["MetricAlarms"]
        }
        assert len(found) == 2, key
        dlq_alarm, age = found[names["dlq_messages"]], found[names["oldest_message_age"]]
        assert dlq_alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert dlq_alarm["Dimensions"] == [
            {"Name": "QueueName", "Value": consumer["dead_letter_queue_arn"].rsplit(":", 1)[1]}
        ]
        assert age["MetricName"] == "ApproximateAgeOfOldestMessage" and age["Threshold"] == 900
        assert age["Dimensions"] == [{"Name": "QueueName", "Value": consumer["queue_name"]}]
        # The module's alarm topic (and so alarm_emails), like the module's own alarms.
        for alarm in (dlq_alarm, age):
            assert alarm["AlarmActions"] == [out["sns_topic_arn"]] and alarm["OKActions"] == [
                out["sns_topic_arn"]
            ]


# What examples/complete's consumers are (main.tf): filter policy, its scope, maxReceiveCount.
CONSUMERS = {
    "payments": (
        {
            "source": ["stripe", "billing"],
            "event_type": [{"prefix": "payment_intent."}, {"prefix": "invoice."}],
        },
        "MessageAttributes",
        3,
    ),
    "repo-activity": (
        {"source": ["github"], "event_type": ["issues", "pull_request"], "json": {"action": ["opened"]}},
        "MessageBody",
        5,
    ),
    "audit": (None, None, 5),  # every event: no filter policy at all
}


def test_event_topic_read_back(deployed, aws_account):
    out = deployed.outputs
    name = deployed.tf_vars["name"]
    assert out["event_topic_arn"].endswith(f":{name}-events")
    attributes = aws_account.client("sns").get_topic_attributes(TopicArn=out["event_topic_arn"])["Attributes"]
    assert attributes["KmsMasterKeyId"] == "alias/aws/sns"  # no kms_key_arn: the AWS managed SNS key


def test_consumer_subscriptions_read_back(deployed, aws_account):
    """Each consumer's queue is subscribed once, raw, with its filter policy and SNS's redrive."""
    sns, out = aws_account.client("sns"), deployed.outputs
    assert sorted(out["consumers"]) == sorted(CONSUMERS)
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=out["event_topic_arn"])["Subscriptions"]
    assert sorted(s["Endpoint"] for s in subscriptions) == sorted(
        c["queue_arn"] for c in out["consumers"].values()
    )
    for key, (policy, scope, _) in CONSUMERS.items():
        consumer = out["consumers"][key]
        assert set(consumer) == {
            "queue_url",
            "queue_arn",
            "queue_name",
            "dead_letter_queue_url",
            "dead_letter_queue_arn",
            "subscription_arn",
            "filter_policy",
            "filter_policy_scope",
            "consumer_policy_json",
            "event_source_mapping_uuid",
            "alarm_names",
        }
        assert consumer["queue_name"] == f"{deployed.tf_vars['name']}-{key}"
        attributes = sns.get_subscription_attributes(SubscriptionArn=consumer["subscription_arn"])[
            "Attributes"
        ]
        assert attributes["Protocol"] == "sqs" and attributes["Endpoint"] == consumer["queue_arn"]
        assert attributes["RawMessageDelivery"] == "true", key
        if policy is None:
            assert "FilterPolicy" not in attributes, key
        else:
            assert json.loads(attributes["FilterPolicy"]) == policy, key
            assert attributes["FilterPolicyScope"] == scope, key
            assert (
                json.loads(consumer["filter_policy"]) == policy and consumer["filter_policy_scope"] == scope
            )
        assert json.loads(attributes["RedrivePolicy"]) == {
            "deadLetterTargetArn": consumer["dead_letter_queue_arn"]
        }


def _queue_policy(sqs, url: str) -> dict[str, dict]:
    document = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    return {s["Sid"]: s for s in _statements(document)}


def test_consumer_queue_policies_name_the_topic_only(deployed, aws_account):
    """SNS may send to a consumer's queues only from the module's topic; the replay principals
    may send too; everyone else is denied, and so is plain HTTP. (Stored, not enforced, locally.)"""
    sqs, out = aws_account.client("sqs"), deployed.outputs
    topic, replayers = out["event_topic_arn"], sorted(deployed.tf_vars["replay_principal_arns"])
    for key, consumer in out["consumers"].items():
        queue = _queue_policy(sqs, consumer["queue_url"])
        assert set(queue) == {
            "AllowSendFromTopic",
            "AllowSendFromReplay",
            "DenySendFromOthers",
            "DenyInsecureTransport",
        }
        dlq = _queue_policy(sqs, consumer["dead_letter_queue_url"])
        assert set(dlq) == {"AllowUndeliverableFromTopic", "AllowReplay", "DenyInsecureTransport"}
        for statement, arn in (
            (queue["AllowSendFromTopic"], consumer["queue_arn"]),
            (dlq["AllowUndeliverableFromTopic"], consumer["dead_letter_queue_arn"]),
        ):
            assert statement["Effect"] == "Allow" and _as_list(statement["Action"]) == ["sqs:SendMessage"]
            assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
            assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": topic}}, key
            assert statement["Resource"] == arn
        assert sorted(_as_list(queue["AllowSendFromReplay"]["Principal"]["AWS"])) == replayers
        deny = queue["DenySendFromOthers"]
        assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
        assert deny["Condition"]["ArnNotEquals"]["aws:SourceArn"] == topic
        assert sorted(_as_list(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])) == replayers
        assert sorted(_as_list(dlq["AllowReplay"]["Principal"]["AWS"])) == replayers
        # The topic is the only SNS source named anywhere in either policy.
        text = json.dumps([queue, dlq])
        assert sorted(set(re.findall(r"arn:aws[a-z-]*:sns:[^\"]+", text))) == [topic], key
        for statements, arn in ((queue, consumer["queue_arn"]), (dlq, consumer["dead_letter_queue_arn"])):
            tls = statements["DenyInsecureTransport"]
            assert tls["Effect"] == "Deny" and _as_list(tls["Action"]) == ["sqs:*"] and tls["Resource"] == arn
            assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_consumer_redrive_policies_read_back(deployed, aws_account):
    sqs, out = aws_account.client("sqs"), deployed.outputs
    for key, (_, _, max_receive_count) in CONSUMERS.items():
        consumer = out["consumers"][key]
        queue = sqs.get_queue_attributes(QueueUrl=consumer["queue_url"], AttributeNames=["All"])["Attributes"]
        dlq = sqs.get_queue_attributes(QueueUrl=consumer["dead_letter_queue_url"], AttributeNames=["All"])[
            "Attributes"
        ]
        assert json.loads(queue["RedrivePolicy"]) == {
            "deadLetterTargetArn": consumer["dead_letter_queue_arn"],
            "maxReceiveCount": max_receive_count,
        }, key
        assert json.loads(dlq["RedriveAllowPolicy"]) == {
            "redrivePermission": "byQueue",
            "sourceQueueArns": [consumer["queue_arn"]],
        }, key
        assert queue["VisibilityTimeout"] == "180" and queue["MessageRetentionPeriod"] == "1209600"
        assert dlq["MessageRetentionPeriod"] == "1209600"
        assert queue["SqsManagedSseEnabled"] == "true" and dlq["SqsManagedSseEnabled"] == "true"


def test_payments_function_is_wired_to_its_queue(deployed, aws_account):
    """The example consumer: its code, its table, its mapping, and least privilege on its role."""
    lam, iam, out = aws_account.client("lambda"), aws_account.client("iam"), deployed.outputs
    payments = out["consumers"]["payments"]
    fn = lam.get_function_configuration(FunctionName=out["payments_function_name"])
    assert fn["Runtime"] == "python3.12" and fn["Handler"] == "handler.lambda_handler"
    assert fn["Environment"]["Variables"] == {"TABLE_NAME": out["payments_seen_table_name"]}
    package = deployed.stack.local_path(out["payments_package_path"])
    assert package_base64sha256(package) == fn["CodeSha256"]
    table = aws_account.client("dynamodb").describe_table(TableName=out["payments_seen_table_name"])["Table"]
    assert table["KeySchema"] == [{"AttributeName": "event_id", "KeyType": "HASH"}]
    mappings = lam.list_event_source_mappings(EventSourceArn=payments["queue_arn"])["EventSourceMappings"]
    assert [m["UUID"] for m in mappings] == [payments["event_source_mapping_uuid"]]
    (mapping,) = mappings
    assert mapping["FunctionArn"] == fn["FunctionArn"] and mapping["State"] == "Enabled"
    assert mapping["BatchSize"] == 10 and mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 10}
    for key in ("repo-activity", "audit"):  # no function: a queue another team drains
        assert out["consumers"][key]["event_source_mapping_uuid"] is None
        assert (
            lam.list_event_source_mappings(EventSourceArn=out["consumers"][key]["queue_arn"])[
                "EventSourceMappings"
            ]
            == []
        )
    statements = [s for d in _role_policies(iam, fn["Role"]) for s in _statements(d)]
    by_sid = {s["Sid"]: s for s in statements}
    assert sorted(by_sid) == ["ConsumeQueue", "RecordPayments", "WriteLogs"]
    assert by_sid["ConsumeQueue"]["Resource"] == payments["queue_arn"]  # the module's consume policy
    assert sorted(_as_list(by_sid["ConsumeQueue"]["Action"])) == [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    ]
    assert by_sid["RecordPayments"]["Resource"] == table["TableArn"]
    assert json.loads(payments["consumer_policy_json"])["Statement"][0]["Resource"] == payments["queue_arn"]


@pytest.fixture(scope="module")
def driver(deployed, aws_account):
    """The processor configured exactly as the deployed function, and a way to feed it."""
    out = deployed.outputs
    sm = aws_account.client("secretsmanager")
    for source, secret in scenarios.SECRETS.items():
        if source != "partner":  # partner's secret is written later: see the replay test
            sm.put_secret_value(SecretId=out["secret_arns"][source], SecretString=secret)
    with deployed_processor_environment(
        aws_account, out["processor_function_name"], _package(deployed)
    ) as handler:
        yield (
            LocalDriver(aws_account, out, handler, package=_package(deployed))
            if aws_account.is_local
            else RealDriver(aws_account, out)
        )


def _rows(aws_account, table: str) -> dict[str, dict]:
    ddb = aws_account.client("dynamodb")
    items, kwargs = [], {"TableName": table}
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return {i["event_id"]["S"]: i for i in items}


def _row_for(rows: dict[str, dict], request_id: str) -> list[dict]:
    return [
        r
        for r in rows.values()
        if r["request_id"]["S"] == request_id
        or request_id in r.get("duplicate_request_ids", {}).get("SS", [])
    ]


def _request_id(answer) -> str:
    return json.loads(answer.body)["request_id"]


def test_end_to_end_every_accepted_webhook_lands_once(deployed, aws_account, driver):
    out = deployed.outputs
    valid = [d for d in scenarios.one_per_source() if d.source != "partner"]
    github = next(d for d in valid if d.source == "github")
    tampered = scenarios.signed(
        "stripe", {"id": "evt_forged", "type": "charge.refunded", "amount": 1}, tamper=True
    )
    answers = {}
    for delivery in [*valid, tampered]:
        answer = driver.post(delivery.source, delivery.body, delivery.headers)
        assert answer.status == 200, f"{delivery.source}: {answer.status} {answer.body}"
        answers[_request_id(answer)] = delivery
    duplicate = driver.post("github", github.body, github.headers)  # the sender retried
    assert duplicate.status == 200
    driver.settle()

    rows = _rows(aws_account, out["history_table_name"])
    for request_id, delivery in answers.items():
        (row,) = _row_for(rows, request_id)
        assert row["status"]["S"] == delivery.expect_outcome, (delivery.source, row)
        assert row["body"]["S"].encode() == delivery.body  # byte-exact, never re-serialised
        if delivery.event_type:
            assert row["event_type"]["S"] == delivery.event_type
    (github_row,) = _row_for(rows, _request_id(duplicate))
    assert github_row["duplicate_count"]["N"] == "1"
    assert github_row["duplicate_request_ids"]["SS"] == [_request_id(duplicate)]
    forged = next(r for r in rows.values() if r["status"]["S"] == "rejected")
    assert forged["reason"]["S"] == "signature_mismatch"
    assert forged["event_id"]["S"].startswith("stripe#request:")  # a forgery never takes a real event's id
    assert len(rows) == len(answers)


@pytest.mark.parametrize(
    ("content_type", "body", "status", "error"),
    [
        ("application/json", b'{"invalid": json}', 400, "invalid_body"),  # the recipe's own example
        ("application/xml", b"<a/>", 415, "unsupported_media_type"),
        ("application/json", b'{"pad":"' + b"x" * 300_000 + b'"}', 413, "payload_too_large"),
    ],
    ids=["malformed-json", "unsupported-type", "oversize"],
)
def test_bad_input_is_answered_and_never_queued(
    deployed, aws_account, driver, content_type, body, status, error
):
    sqs = aws_account.client("sqs")
    answer = driver.post("internal", body, {"Content-Type": content_type})
    assert answer.status == status
    assert json.loads(answer.body)["error"] == error
    attrs = sqs.get_queue_attributes(
        QueueUrl=deployed.outputs["queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_poison_goes_to_dlq_and_replays_once(deployed, aws_account, driver):
    """partner's secret is not written yet: its event cannot be verified, is retried, and
    reaches the DLQ after maxReceiveCount. Once the operator writes the secret, a replay
    from the DLQ processes it exactly once."""
    from tools import webhookctl

    out, sqs = deployed.outputs, aws_account.client("sqs")
    delivery = next(d for d in scenarios.one_per_source() if d.source == "partner")
    answer = driver.post("partner", delivery.body, delivery.headers)
    assert answer.status == 200
    request_id = _request_id(answer)
    driver.settle()
    assert _row_for(_rows(aws_account, out["history_table_name"]), request_id) == []
    dlq = sqs.receive_message(
        QueueUrl=out["dead_letter_queue_url"],
        MessageAttributeNames=["All"],
        AttributeNames=["All"],
        VisibilityTimeout=0,
        MaxNumberOfMessages=10,
    )["Messages"]
    assert [m["MessageAttributes"]["request_id"]["StringValue"] for m in dlq] == [request_id]
    assert int(dlq[0]["Attributes"]["ApproximateReceiveCount"]) >= 3

    aws_account.client("secretsmanager").put_secret_value(
        SecretId=out["secret_arns"]["partner"], SecretString=scenarios.SECRETS["partner"]
    )
    # The operator's replay, through the CLI exactly as documented.
    endpoint = ["--endpoint-url", aws_account.endpoint_url] if aws_account.is_local else []
    printed = io.StringIO()
    argv = [
        *endpoint,
        "--region",
        aws_account.region,
        "dlq",
        "replay",
        "--dlq-url",
        out["dead_letter_queue_url"],
        "--queue-url",
        out["queue_url"],
    ]
    assert webhookctl.main(argv, out=printed) == 0
    assert "replayed 1 message(s)" in printed.getvalue()
    driver.settle()
    (row,) = _row_for(_rows(aws_account, out["history_table_name"]), request_id)
    assert row["status"]["S"] == "processed"
    attrs = sqs.get_queue_attributes(
        QueueUrl=out["dead_letter_queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_replan_shows_no_drift(deployed):
    assert deployed.stack.pending_changes(deployed.tf_vars) == []
