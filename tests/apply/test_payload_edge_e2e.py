"""The S3 edge on an applied examples/complete, both engines (issue 14, part 2).

examples/complete has two sources with payload_store = "s3": monorepo (GitHub) and exports
(hmac_sha256, binary bodies). Their method, on the payloads API, writes each body into the
payload store with S3 PutObject, and the bucket's notification is the message on the main
queue. Here each request goes through the deployed gateway configuration (the local gateway,
tests/harness/gateway.py, which executes the S3 integration as documented) to moto's S3,
whose own notification reaches the queue; the processor then runs as the deployed function,
fed by its event source mapping (tests/harness/poller.py).

Read back first: the payloads API, the integration, the notification and the policies.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import uuid
from pathlib import Path

import pytest

from tests.apply import scenarios
from tests.harness.driver import LocalDriver, deployed_processor_environment
from tools import webhookctl

pytestmark = [pytest.mark.apply, pytest.mark.xdist_group("apply-complete")]

MB = 1_000_000
# API Gateway REST's payload quota: 10 MB (AWS, "Amazon API Gateway quotas").
GATEWAY_LIMIT_BYTES = 10 * 1024 * 1024


def _package(deployed) -> Path:
    return deployed.stack.local_path(deployed.outputs["processor_package_path"])


def _statements(document) -> list[dict]:
    if isinstance(document, str):
        document = json.loads(document)
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def test_payload_api_read_back(deployed, aws_account):
    apigw, out = aws_account.client("apigateway"), deployed.outputs
    api = apigw.get_rest_api(restApiId=out["payload_rest_api_id"])
    assert api["binaryMediaTypes"] == ["*/*"]
    assert api["name"] == f"{deployed.tf_vars['name']}-payloads"
    resources = {r["path"]: r for r in apigw.get_resources(restApiId=api["id"], limit=500)["items"]}
    assert {"/webhooks/monorepo", "/webhooks/exports"} <= set(resources)
    assert "/webhooks/github" not in resources  # queue sources stay on the queue API
    integration = apigw.get_integration(
        restApiId=api["id"], resourceId=resources["/webhooks/monorepo"]["id"], httpMethod="POST"
    )
    bucket = out["payload_bucket_name"]
    assert integration["type"] == "AWS" and integration["httpMethod"] == "PUT"
    assert integration["uri"].endswith(f":s3:path/{bucket}/ingest/monorepo/{{key}}")
    assert integration["credentials"] == out["api_gateway_role_arn"]
    params = integration["requestParameters"]
    assert params["integration.request.path.key"] == "context.requestId"
    assert (
        params["integration.request.header.x-amz-meta-signature"]
        == "method.request.header.X-Hub-Signature-256"
    )
    assert params["integration.request.header.x-amz-meta-received-at-ms"] == "context.requestTimeEpoch"
    assert out["webhook_urls"]["monorepo"] == f"{out['payload_stage_invoke_url']}/webhooks/monorepo"
    assert out["webhook_urls"]["github"].startswith(out["stage_invoke_url"])


def test_notification_and_policies_read_back(deployed, aws_account):
    s3, sqs, iam = (aws_account.client(name) for name in ("s3", "sqs", "iam"))
    out = deployed.outputs
    bucket = out["payload_bucket_name"]
    (queue,) = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    assert queue["QueueArn"] == out["queue_arn"]
    assert queue["Events"] == ["s3:ObjectCreated:*"]
    rules = queue["Filter"]["Key"]["FilterRules"]
    assert [(r["Name"].lower(), r["Value"]) for r in rules] == [("prefix", "ingest/")]

    policy = sqs.get_queue_attributes(QueueUrl=out["queue_url"], AttributeNames=["Policy"])["Attributes"][
        "Policy"
    ]
    by_sid = {s["Sid"]: s for s in _statements(policy)}
    allow = by_sid["AllowPayloadNotifications"]
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == out["payload_bucket_arn"]
    deny = by_sid["DenySendFromOthers"]
    assert deny["Condition"]["ArnNotEquals"]["aws:SourceArn"] == out["payload_bucket_arn"]

    role = out["api_gateway_role_arn"].rsplit("/", 1)[1]
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    store = next(s for s in _statements(document) if s.get("Sid") == "StorePayloads")
    arn = out["payload_bucket_arn"]
    resources = store["Resource"] if isinstance(store["Resource"], list) else [store["Resource"]]
    assert sorted(resources) == [f"{arn}/ingest/exports/*", f"{arn}/ingest/monorepo/*"]
    assert store["Action"] in ("s3:PutObject", ["s3:PutObject"])


@pytest.fixture(scope="module")
def edge(deployed, aws_account):
    out = deployed.outputs
    sm = aws_account.client("secretsmanager")
    for source in scenarios.PAYLOAD_SOURCES:
        sm.put_secret_value(SecretId=out["secret_arns"][source], SecretString=scenarios.SECRETS[source])
    if not aws_account.is_local:
        pytest.skip(
            "the S3 edge end to end drives the local gateway; a real account runs it through the URLs"
        )
    with deployed_processor_environment(
        aws_account, out["processor_function_name"], _package(deployed)
    ) as handler:
        driver = LocalDriver(aws_account, out, handler, package=_package(deployed))
        driver.settle()  # S3's test event, sent when the notification was configured
        yield driver


def _rows(aws_account, table: str) -> list[dict]:
    ddb, items, kwargs = aws_account.client("dynamodb"), [], {"TableName": table}
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _row(aws_account, out, request_id: str) -> dict:
    found = [r for r in _rows(aws_account, out["history_table_name"]) if r["request_id"]["S"] == request_id]
    assert len(found) == 1, found
    return found[0]


def _object(aws_account, ref: str) -> bytes:
    assert ref.startswith("s3://")
    bucket, _, key = ref[len("s3://") :].partition("/")
    return aws_account.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def _github_push(size: int) -> tuple[bytes, dict[str, str]]:
    delivery = scenarios.github_push(size)
    return delivery.body, delivery.headers


def _export(body: bytes) -> dict[str, str]:
    return scenarios.binary_export(body).headers


def _ingest_keys(aws_account, out) -> list[str]:
    pages = (
        aws_account.client("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=out["payload_bucket_name"], Prefix="ingest/")
    )
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def test_a_5_mb_github_push_is_verified_and_kept_byte_exact(deployed, aws_account, edge):
    out = deployed.outputs
    body, headers = _github_push(5 * MB)
    assert 5 * MB <= len(body) < GATEWAY_LIMIT_BYTES
    answer = edge.post("monorepo", body, headers)
    assert answer.status == 200, answer.body
    request_id = json.loads(answer.body)["request_id"]
    edge.settle()
    row = _row(aws_account, out, request_id)
    assert row["status"]["S"] == "processed", row.get("reason")
    assert row["event_type"]["S"] == "push"
    ref = row["body_ref"]["S"]
    assert ref == f"s3://{out['payload_bucket_name']}/ingest/monorepo/{request_id}"
    assert "body" not in row  # no truncated copy: the row points at the object
    stored = _object(aws_account, ref)
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(body).hexdigest() == row["body_sha256"]["S"]
    assert int(row["body_size"]["N"]) == len(body)


def test_a_body_that_is_not_utf8_is_verified_over_its_bytes(deployed, aws_account, edge, tmp_path):
    out = deployed.outputs
    body = b"PK\x03\x04" + os.urandom(64 * 1024) + b"\xff\xfe\x80 end"
    answer = edge.post("exports", body, _export(body))
    assert answer.status == 200, answer.body
    request_id = json.loads(answer.body)["request_id"]
    edge.settle()
    row = _row(aws_account, out, request_id)
    assert row["status"]["S"] == "processed", row.get("reason")
    assert _object(aws_account, row["body_ref"]["S"]) == body
    # The operator gets the exact bytes back.
    target = tmp_path / "export.bin"
    endpoint = ["--endpoint-url", aws_account.endpoint_url]
    argv = [
        *endpoint,
        "--region",
        aws_account.region,
        "history",
        "show",
        "--table",
        out["history_table_name"],
    ]
    printed = io.StringIO()
    code = webhookctl.main(
        [*argv, "--event-id", row["event_id"]["S"], "--body-out", str(target)], out=printed
    )
    assert code == 0, printed.getvalue()
    assert target.read_bytes() == body


def test_a_long_queue_source_body_is_kept_whole_in_the_store(deployed, aws_account, edge):
    """The queue path's own ceiling here is the queue's 256 KiB (hashicorp/aws 5.100 caps
    max_message_size at 262144, so the issue's 900 KB queue case cannot be applied with the
    tested provider); above the example's 64 KiB row limit the processor moves the body to
    bodies/<source>/<sha256> before the row (part 3)."""
    out = deployed.outputs
    payload = {"action": "opened", "number": 9, "pad": "é" * 100_000}
    delivery = scenarios.signed("github", payload, event_type="issues", msg_id=f"gh-{uuid.uuid4().hex}")
    assert 65536 < len(delivery.body) < 262144
    answer = edge.post("github", delivery.body, delivery.headers)
    assert answer.status == 200, answer.body
    edge.settle()
    row = _row(aws_account, out, json.loads(answer.body)["request_id"])
    assert row["status"]["S"] == "processed"
    assert "/bodies/github/" in row["body_ref"]["S"]
    assert _object(aws_account, row["body_ref"]["S"]) == delivery.body


def test_above_10_mb_is_refused_413_and_nothing_is_stored(deployed, aws_account, edge):
    out = deployed.outputs
    before = _ingest_keys(aws_account, out)
    body = b"{" + b" " * (11 * MB) + b"}"
    answer = edge.post("monorepo", body, {"Content-Type": "application/json"})
    assert answer.status == 413
    assert json.loads(answer.body)["error"] == "payload_too_large"
    assert _ingest_keys(aws_account, out) == before


def test_an_s3_failure_at_the_edge_is_503_and_nothing_is_recorded(deployed, aws_account, edge):
    out = deployed.outputs
    gateway = edge.payload_gateway
    body, headers = _github_push(10_000)
    before_rows = len(_rows(aws_account, out["history_table_name"]))
    before_keys = _ingest_keys(aws_account, out)
    for status in (500, 503, 403):  # an outage, throttling, a denied write: all retried by the sender
        gateway.s3_fault = lambda request, status=status: status
        try:
            answer = edge.post("monorepo", body, headers)
        finally:
            gateway.s3_fault = None
        assert answer.status == 503, (status, answer.body)
        assert json.loads(answer.body)["error"] == "service_unavailable"
    edge.settle()
    assert len(_rows(aws_account, out["history_table_name"])) == before_rows
    assert _ingest_keys(aws_account, out) == before_keys
    # The sender's retry, once S3 is back, is the one event.
    answer = edge.post("monorepo", body, headers)
    assert answer.status == 200
    edge.settle()
    assert _row(aws_account, out, json.loads(answer.body)["request_id"])["status"]["S"] == "processed"


def test_a_forged_large_body_is_rejected_and_kept_for_requeue(deployed, aws_account, edge):
    out = deployed.outputs
    body, headers = _github_push(400_000)
    forged = body.replace(b"refactor", b"refactoR", 1)
    answer = edge.post("monorepo", forged, headers)
    assert answer.status == 200
    edge.settle()
    row = _row(aws_account, out, json.loads(answer.body)["request_id"])
    assert row["status"]["S"] == "rejected"
    assert row["reason"]["S"] == "signature_mismatch"
    assert _object(aws_account, row["body_ref"]["S"]) == forged


def test_a_repeated_notification_is_a_counted_duplicate(deployed, aws_account, edge):
    """S3 delivers event notifications at least once (AWS, "Amazon S3 Event Notifications"):
    the same notification twice must stay one event."""
    out = deployed.outputs
    sqs = aws_account.client("sqs")
    body = b"\x00\x01 binary export " + os.urandom(1024)
    answer = edge.post("exports", body, _export(body))
    assert answer.status == 200
    request_id = json.loads(answer.body)["request_id"]
    message = sqs.receive_message(QueueUrl=out["queue_url"], MaxNumberOfMessages=1, WaitTimeSeconds=1)[
        "Messages"
    ][0]
    notification = message["Body"]
    assert request_id in notification.replace("%2F", "/")
    sqs.change_message_visibility(
        QueueUrl=out["queue_url"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    sqs.send_message(QueueUrl=out["queue_url"], MessageBody=notification)  # S3's redelivery
    edge.settle()
    row = _row(aws_account, out, request_id)  # exactly one row
    assert row["status"]["S"] == "processed"
    # An SQS or S3 redelivery of the same object, not a sender's retry: duplicate_count counts
    # the latter (each retry is its own object); the redelivery is counted in the metrics only.
    assert row.get("duplicate_count", {}).get("N", "0") == "0"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        attrs = sqs.get_queue_attributes(
            QueueUrl=out["dead_letter_queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
        )
        if attrs["Attributes"]["ApproximateNumberOfMessages"] == "0":
            break
        time.sleep(0.5)
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0"
