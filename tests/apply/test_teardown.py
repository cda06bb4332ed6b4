"""Last in the apply-complete group (collection order): destroy the shared examples/complete
stack of each engine and check that nothing of it is left in the account.

Its own module, after test_complete_apply.py and test_consumers_e2e.py, because both use
that one applied stack (tests/apply/conftest.py `deployed`)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.apply, pytest.mark.xdist_group("apply-complete")]


def test_destroy_leaves_nothing(deployed, aws_account):
    out = deployed.outputs
    s3, bucket = aws_account.client("s3"), out["payload_bucket_name"]
    # A body in the payload store, as the processor writes one: examples/complete sets
    # payload_store_force_destroy, so destroy empties the bucket and deletes it (AWS refuses
    # to delete a bucket that holds objects, BucketNotEmpty, which the default false keeps).
    s3.put_object(Bucket=bucket, Key="bodies/teardown/" + "0" * 64, Body=b'{"kept": "until destroy"}')
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] >= 1
    deployed.stack.destroy(tf_vars=deployed.tf_vars)
    assert deployed.stack.state_resources() == []
    name = deployed.tf_vars["name"]
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert not [b for b in buckets if b.startswith(name)], buckets  # the payload store, objects and all
    assert aws_account.client("sqs").list_queues(QueueNamePrefix=name).get("QueueUrls", []) == []
    tables = aws_account.client("dynamodb").list_tables()["TableNames"]
    assert not [t for t in tables if t.startswith(name)]  # history and payments-seen
    topics = [t["TopicArn"] for t in aws_account.client("sns").list_topics()["Topics"]]
    assert not [t for t in topics if t.rsplit(":", 1)[1].startswith(name)]  # alarms and events
    assert out["event_topic_arn"] not in topics
    assert out["payments_function_name"] not in [
        f["FunctionName"] for f in aws_account.client("lambda").list_functions()["Functions"]
    ]
    functions = aws_account.client("lambda").list_functions()["Functions"]
    assert out["processor_function_name"] not in [f["FunctionName"] for f in functions]
    apis = aws_account.client("apigateway").get_rest_apis()["items"]
    assert out["rest_api_id"] not in [a["id"] for a in apis]
    roles = [r["RoleName"] for r in aws_account.client("iam").list_roles()["Roles"]]
    assert not [r for r in roles if r.startswith(name)]
    cloudwatch = aws_account.client("cloudwatch")
    assert cloudwatch.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"] == []
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix=name)
    assert alarms["MetricAlarms"] == [] and alarms["CompositeAlarms"] == []
