"""Plan tests of the payload store (issue 14, part 1 and 4): the bucket's settings, the KMS or
SSE-S3 choice, the lifecycle that follows the history's retention, the processor's access
to bodies/ only, and create_payload_store = false.

One plan of tests/fixtures/module_probes per engine, one probe per case. The bucket's name
and ARN (bucket_prefix) are known only after apply, so what names them (PAYLOAD_BUCKET, the
IAM and bucket policy resources) is read back by tests/apply/test_complete_apply.py; the
refusals (queue_max_message_size above the row without the store) are in test_infra_plan.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import tftest

from tests.harness.stack import plan_values, probe_vars

pytestmark = [pytest.mark.plan, pytest.mark.xdist_group("plan-payloads")]
PROBES = "tests/fixtures/module_probes"
KEY = "arn:aws:kms:us-east-1:123456789012:key/0b0e6a5c-1111-2222-3333-444455556666"
LONG_NAME = "Webhooks-Partner-Exports-Europe-West-Pro"  # 40 characters, upper case too
BUCKET_SETTINGS = (
    "aws_s3_bucket.payloads[0]",
    "aws_s3_bucket_public_access_block.payloads[0]",
    "aws_s3_bucket_ownership_controls.payloads[0]",
    "aws_s3_bucket_server_side_encryption_configuration.payloads[0]",
    "aws_s3_bucket_versioning.payloads[0]",
    "aws_s3_bucket_lifecycle_configuration.payloads[0]",
    "aws_s3_bucket_policy.payloads[0]",
)

PROBE_INPUTS: dict[str, dict[str, Any]] = {
    "store": {},  # every default: the store is on
    # Without the topic, so GenerateDataKey is there for the bucket alone.
    "store-kms": {"kms_key_arn": KEY, "create_event_topic": False},
    "store-forever": {"history_retention_days": 0, "history_rejected_retention_days": 7},
    "store-rejected-only": {"history_retention_days": 20, "history_rejected_retention_days": 0},
    "store-force": {"payload_store_force_destroy": True},
    # With the store, a queue larger than a row is fine: long bodies go to the bucket. (The
    # row is made small: hashicorp/aws 5.100 caps the queue at 262144, 6.x at 1048576.)
    "store-big-queue": {"history_max_stored_body_bytes": 65536},
    # Without it, the largest queue a row still holds whole (the refusal's boundary); the
    # environment is known at plan time without the topic and the bucket.
    "store-off": {
        "create_payload_store": False,
        "history_max_stored_body_bytes": 262144,
        "create_event_topic": False,
        "kms_key_arn": KEY,
    },
    "long-name": {"name": LONG_NAME},
}


def at(probe: str, address: str) -> str:
    return f'module.webhooks["{probe}"].{address}'


@pytest.fixture(scope="module")
def plan(plan_stack) -> tftest.TerraformPlanOutput:
    return plan_stack(PROBES).plan(tf_vars=probe_vars(PROBE_INPUTS))


@pytest.fixture(scope="module")
def values(plan) -> dict[str, dict[str, Any]]:
    return plan_values(plan)


def _change(plan: tftest.TerraformPlanOutput, address: str) -> dict[str, Any]:
    return plan.resource_changes[address]["change"]


def _statements(plan: tftest.TerraformPlanOutput, address: str) -> dict[str, tuple[dict, dict]]:
    """sid -> (the statement as it will be read, which of its parts are known after apply only)."""
    change = _change(plan, address)
    return {
        s["sid"]: (s, unknown)
        for s, unknown in zip(change["after"]["statement"], change["after_unknown"]["statement"], strict=True)
    }


def test_bucket_is_private_owner_enforced_unversioned_and_kept_on_destroy(values):
    bucket = values[at("store", "aws_s3_bucket.payloads[0]")]
    assert bucket["bucket_prefix"] == "store-payloads-"
    assert bucket["force_destroy"] is False  # a bucket with bodies refuses a destroy
    assert values[at("store-force", "aws_s3_bucket.payloads[0]")]["force_destroy"] is True
    block = values[at("store", "aws_s3_bucket_public_access_block.payloads[0]")]
    assert {k: block[k] for k in block if k != "bucket"} == {
        "block_public_acls": True,
        "block_public_policy": True,
        "ignore_public_acls": True,
        "restrict_public_buckets": True,
    }
    ownership = values[at("store", "aws_s3_bucket_ownership_controls.payloads[0]")]
    assert ownership["rule"] == [{"object_ownership": "BucketOwnerEnforced"}]
    versioning = values[at("store", "aws_s3_bucket_versioning.payloads[0]")]
    assert versioning["versioning_configuration"][0]["status"] == "Disabled"


def test_bucket_name_is_a_lower_case_prefix_within_s3s_limit(values):
    prefix = values[at("long-name", "aws_s3_bucket.payloads[0]")]["bucket_prefix"]
    assert prefix == LONG_NAME.lower()[:27] + "-payloads-"
    assert len(prefix) == 37  # S3's most for bucket_prefix (the provider adds 26 characters: 63)


def test_encryption_is_the_customer_key_with_a_bucket_key_or_sse_s3(values):
    (kms,) = values[at("store-kms", "aws_s3_bucket_server_side_encryption_configuration.payloads[0]")]["rule"]
    assert kms["apply_server_side_encryption_by_default"] == [
        {"sse_algorithm": "aws:kms", "kms_master_key_id": KEY}
    ]
    assert kms["bucket_key_enabled"] is True
    (s3,) = values[at("store", "aws_s3_bucket_server_side_encryption_configuration.payloads[0]")]["rule"]
    (default,) = s3["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "AES256" and not default["kms_master_key_id"]
    assert not s3["bucket_key_enabled"]


@pytest.mark.parametrize(
    ("probe", "days"),
    [("store", 90), ("store-rejected-only", 20), ("store-forever", None)],
    ids=["history-90", "rejected-0-is-as-long", "history-forever"],
)
def test_objects_expire_with_the_longest_lived_row(values, probe, days):
    """One rule for the whole bucket (an empty filter, which the provider plans as prefix ""):
    objects expire with the longest row retention, never when rows are kept forever, and
    incomplete multipart uploads are aborted after a day in every case."""
    lifecycle = values[at(probe, "aws_s3_bucket_lifecycle_configuration.payloads[0]")]
    (rule,) = lifecycle["rule"]
    assert rule["id"] == "bodies" and rule["status"] == "Enabled"
    assert [f["prefix"] for f in rule["filter"]] == [""]
    assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 1}]
    assert [e["days"] for e in rule["expiration"]] == ([] if days is None else [days])


def test_bucket_policy_denies_every_request_without_tls(plan, values):
    assert at("store", "aws_s3_bucket_policy.payloads[0]") in values
    statements = _statements(plan, at("store", "data.aws_iam_policy_document.payloads[0]"))
    assert list(statements) == ["DenyInsecureTransport"]
    deny, unknown = statements["DenyInsecureTransport"]
    assert deny["effect"] == "Deny" and deny["actions"] == ["s3:*"]
    assert deny["principals"] == [{"type": "*", "identifiers": ["*"]}]
    assert deny["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]
    # The bucket and its objects: both ARNs are known once the bucket exists.
    assert unknown["resources"] == [True, True]


def test_processor_may_put_and_get_bodies_only(plan):
    """s3:PutObject and s3:GetObject, in one statement with one resource: <bucket>/bodies/*,
    which names the bucket's ARN and so is known after apply only (the apply test reads the
    stored policy). No other statement names an S3 action."""
    statements = _statements(plan, at("store", "data.aws_iam_policy_document.processor[0]"))
    store, unknown = statements["StorePayloads"]
    assert sorted(store["actions"]) == ["s3:GetObject", "s3:PutObject"]
    assert store.get("effect") in (None, "Allow")
    assert unknown["resources"] == [True]
    others = [a for sid, (s, _) in statements.items() if sid != "StorePayloads" for a in s["actions"]]
    assert not [a for a in others if a.startswith("s3:")]


def test_customer_key_lets_the_processor_write_and_read_bodies(plan):
    """Under kms_key_arn, PutObject needs kms:GenerateDataKey and GetObject kms:Decrypt, also
    when there is no event topic (which needs GenerateDataKey too)."""
    statements = _statements(plan, at("store-kms", "data.aws_iam_policy_document.processor[0]"))
    key, _ = statements["DecryptWithCustomerKey"]
    assert sorted(key["actions"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert key["resources"] == [KEY]
    assert "PublishEvents" not in statements


def test_without_the_store_nothing_is_created_and_long_bodies_are_truncated(plan, values):
    """create_payload_store = false: no bucket, no S3 permission, PAYLOAD_BUCKET empty (the
    processor keeps today's truncation), and the customer key only decrypts; a queue exactly
    as large as a row plans (one byte more is refused: test_infra_plan.py)."""
    assert not [a for a in values if a.startswith(at("store-off", "aws_s3_"))]
    assert all(at("store", address) in values for address in BUCKET_SETTINGS)
    (environment,) = values[at("store-off", "aws_lambda_function.this[0]")]["environment"]
    assert environment["variables"]["PAYLOAD_BUCKET"] == ""
    assert environment["variables"]["MAX_STORED_BODY_BYTES"] == "262144"
    assert values[at("store-off", "aws_sqs_queue.this[0]")]["max_message_size"] == 262144
    statements = _statements(plan, at("store-off", "data.aws_iam_policy_document.processor[0]"))
    assert "StorePayloads" not in statements
    assert statements["DecryptWithCustomerKey"][0]["actions"] == ["kms:Decrypt"]


def test_a_queue_above_the_row_plans_with_the_store(values):
    assert values[at("store-big-queue", "aws_sqs_queue.this[0]")]["max_message_size"] == 262144
    assert at("store-big-queue", "aws_lambda_function.this[0]") in values
    assert at("store-big-queue", "aws_s3_bucket.payloads[0]") in values
