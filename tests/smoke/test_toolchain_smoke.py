"""The toolchain proof: real engines and providers apply, read back, re-plan clean, destroy."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile

import pytest

# `make smoke`: the first check of a new toolchain (a minimal root, 2 queues, a role, an
# archive). Not in `make test` (-m "not smoke"): tests/apply does all of it on examples/complete,
# on both engines, and this would add about 2.5 minutes.
pytestmark = [pytest.mark.apply, pytest.mark.smoke]


def test_apply_readback_replan_destroy(stack_factory, aws_account, unique_name):
    tf_vars = {"name": unique_name, "region": aws_account.region}
    stack = stack_factory("tests/smoke/fixture", tf_vars)
    stack.apply(tf_vars=tf_vars)
    out = stack.outputs()

    sqs = aws_account.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=out["queue_url"], AttributeNames=["All"])["Attributes"]
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": out["dlq_arn"], "maxReceiveCount": 3}
    assert attrs["SqsManagedSseEnabled"] == "true"
    dlq_url = sqs.get_queue_url(QueueName=f"{unique_name}-dlq")["QueueUrl"]
    dlq_attrs = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    assert dlq_attrs["MessageRetentionPeriod"] == "1209600"
    assert json.loads(dlq_attrs["RedriveAllowPolicy"])["sourceQueueArns"] == [attrs["QueueArn"]]

    role = aws_account.client("iam").get_role(RoleName=out["role_name"])["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }

    # The archive provider really zipped the file: its hash is the zip's own.
    zip_path = stack.tfdir / ".build" / "smoke.zip"
    digest = base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()
    assert digest == out["archive_sha256"]
    assert zipfile.ZipFile(zip_path).namelist() == ["main.tf"]

    assert stack.pending_changes(tf_vars) == []

    stack.destroy(tf_vars=tf_vars)
    assert stack.state_resources() == []
    queues = sqs.list_queues(QueueNamePrefix=unique_name).get("QueueUrls", [])
    assert queues == []
    roles = [r["RoleName"] for r in aws_account.client("iam").list_roles()["Roles"]]
    assert out["role_name"] not in roles
