"""Plan tests of the module's infrastructure guard rails (issue 9): whole numbers, the
processor's time budget, retention, alarm inputs, IAM names, queue policies and the
processor's configuration file."""

from __future__ import annotations

import json
import zipfile
from typing import Any

import pytest
import tftest

from tests.harness.driver import package_base64sha256
from tests.harness.stack import plan_values

pytestmark = pytest.mark.plan
FIXTURE = "tests/fixtures/module_root"
PREFIX = "module.webhooks."
LAMBDA_ENV_LIMIT = 4096  # bytes, all keys and values together (Lambda quotas)


def _folded(text: str) -> str:
    """Terraform wraps long messages: compare with whitespace folded."""
    return " ".join(text.split())


def _refused(stack_factory, tf_vars: dict[str, Any]) -> str:
    with pytest.raises(tftest.TerraformTestError) as excinfo:
        stack_factory(FIXTURE).plan(tf_vars=tf_vars)
    return _folded(" ".join(str(a) for a in excinfo.value.args))


def _read(plan: tftest.TerraformPlanOutput, address: str) -> dict[str, Any]:
    """What a data source will be read with (also when it is read at apply time)."""
    return plan.resource_changes[PREFIX + address]["change"]["after"]


def _statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["sid"]: s for s in document["statement"]}


def _env(values: dict[str, dict[str, Any]]) -> dict[str, str]:
    (environment,) = values[PREFIX + "aws_lambda_function.this[0]"]["environment"]
    return environment["variables"]


# Every numeric input that must be whole, with a fraction, and what its message says.
WHOLE_NUMBERS = {
    "history_retention_days": (1.5, "history_retention_days must be a whole number"),
    "history_rejected_retention_days": (1.5, "history_rejected_retention_days must be a whole number"),
    "history_invalid_body_bytes": (100.5, "history_invalid_body_bytes must be a whole number"),
    "history_max_stored_body_bytes": (2048.5, "history_max_stored_body_bytes must be a whole number"),
    "history_provisioned_capacity": ({"read": 5, "write": 2.5}, "must each be a whole number"),
    "processor_timeout": (30.5, "processor_timeout must be a whole number"),
    "processor_memory_size": (256.5, "processor_memory_size must be a whole number"),
    "processor_batch_size": (9.5, "processor_batch_size must be a whole number"),
    "processor_batching_window_seconds": (2.5, "processor_batching_window_seconds must be a whole number"),
    "processor_maximum_concurrency": (20.5, "processor_maximum_concurrency must be a whole number"),
    "queue_visibility_timeout_seconds": (
        200.5,
        "queue_visibility_timeout_seconds must be null or a whole number",
    ),
    "queue_message_retention_seconds": (3600.5, "queue_message_retention_seconds must be a whole number"),
    "queue_max_receive_count": (2.5, "queue_max_receive_count must be a whole number"),
    "queue_max_message_size": (4096.5, "queue_max_message_size must be a whole number"),
    "stage_throttling_burst_limit": (200.5, "stage_throttling_burst_limit must be a whole"),
    "secret_recovery_window_days": (
        7.5,
        "secret_recovery_window_days must be 0 (delete at once) or a whole number",
    ),
    "alarm_oldest_message_age_seconds": (900.5, "alarm_oldest_message_age_seconds must be a whole number"),
}


def test_history_retention_of_one_and_a_half_days_is_refused(stack_factory):
    """The issue's example: 1.5 passed validation and raised ConfigError in every batch."""
    message = _refused(stack_factory, {"history_retention_days": 1.5})
    assert "history_retention_days must be a whole number of days" in message


def test_every_whole_number_input_refuses_a_fraction(stack_factory):
    """One plan with a fraction in each of them: both engines report every failed variable
    (OpenTofu only the first failed validation of each, so `sources` gets a plan of its own
    per number it holds)."""
    tf_vars: dict[str, Any] = {name: value for name, (value, _) in WHOLE_NUMBERS.items()}
    tf_vars["sources"] = {"gh": {"scheme": "github", "timestamp_tolerance_seconds": 300.5}}
    message = _refused(stack_factory, tf_vars)
    expected = [m for _, m in WHOLE_NUMBERS.values()] + ["timestamp_tolerance_seconds must be a whole number"]
    missing = [m for m in expected if m not in message]
    assert not missing, f"no whole-number message for: {missing}"

    sources = {"sh": {"scheme": "shopify", "throttling_rate_limit": 0.5, "throttling_burst_limit": 10.5}}
    message = _refused(stack_factory, {"sources": sources})
    assert "throttling_burst_limit must be a whole number" in message
    # A fractional rate is fine: API Gateway's rate limit is a double.
    assert "throttling_rate_limit must be" not in message


def test_fractional_throttling_rate_is_accepted(stack_factory):
    sources = {"sh": {"scheme": "shopify", "throttling_rate_limit": 0.5, "throttling_burst_limit": 10}}
    values = plan_values(
        stack_factory(FIXTURE).plan(tf_vars={"sources": sources, "stage_throttling_rate_limit": 12.5})
    )
    (settings,) = values[PREFIX + 'aws_api_gateway_method_settings.source["sh"]']["settings"]
    assert settings["throttling_rate_limit"] == 0.5 and settings["throttling_burst_limit"] == 10


################################################################################
# The processor's time budget (item 4)
################################################################################


def test_short_timeout_is_refused_with_the_numbers(stack_factory):
    """5 s: one SDK call with its retries (3 x (1 s + 1 s)) needs more than the 4 s usable."""
    from webhook_processor.budget import sdk_budget

    message = _refused(stack_factory, {"processor_timeout": 5})
    assert "processor_timeout = 5 s is too short for one SDK call with its retries" in message
    assert "3 attempts x (1.00 s connect + 1.00 s read) = 6.0 s, but only 4.0 s (80 %)" in message
    # The shortest timeout it suggests is the processor's own rule (budget.py), not a guess.
    shortest = next(t for t in range(3, 901) if 0.8 * t >= sdk_budget(t).worst_case_seconds - 1e-9)
    assert f"Use processor_timeout >= {shortest}." in message
    assert shortest == 20


@pytest.mark.parametrize("timeout", [20, 30])
def test_timeout_that_fits_plans_and_reaches_the_processor(stack_factory, timeout):
    values = plan_values(
        stack_factory(FIXTURE).plan(tf_vars={"processor_timeout": timeout, "processor_batch_size": 1})
    )
    assert values[PREFIX + "aws_lambda_function.this[0]"]["timeout"] == timeout
    assert _env(values)["PROCESSOR_TIMEOUT_SECONDS"] == str(timeout)


def test_batch_that_cannot_finish_in_time_is_refused(stack_factory):
    """A batch's tail that is never started is handed back: each hand-back is a receive."""
    message = _refused(stack_factory, {"processor_batch_size": 100, "processor_batching_window_seconds": 1})
    assert "processor_batch_size = 100 does not fit processor_timeout = 30 s" in message
    assert (
        "the batch needs 30.9 s (one SDK call with all its retries, 21.0 s, plus 100 ms for each" in message
    )
    assert "counts toward queue_max_receive_count (5)" in message
    assert "Use processor_batch_size <= 31 or processor_timeout >= 39." in message
    # The SDK rule holds at 30 s, so its message is not repeated.
    assert "too short for one SDK call" not in message


def test_batch_suggestion_is_exact(stack_factory):
    """Exactly what the message suggests plans: 31 records in 30 s, 100 records in 39 s."""
    stack = stack_factory(FIXTURE)
    stack.plan(tf_vars={"processor_batch_size": 31, "processor_batching_window_seconds": 1})
    stack.plan(
        tf_vars={"processor_batch_size": 100, "processor_batching_window_seconds": 1, "processor_timeout": 39}
    )
    message = _refused(stack_factory, {"processor_batch_size": 32, "processor_batching_window_seconds": 1})
    assert "processor_batch_size = 32 does not fit" in message


################################################################################
# Retention, storage of unverified rows, secrets, history defaults (items 8, 16)
################################################################################


def test_storage_inputs_reach_the_processor(stack_factory):
    values = plan_values(
        stack_factory(FIXTURE).plan(
            tf_vars={
                "history_retention_days": 0,
                "history_rejected_retention_days": 7,
                "history_invalid_body_bytes": 1024,
                "secret_recovery_window_days": 0,
            }
        )
    )
    env = _env(values)
    assert env["HISTORY_RETENTION_DAYS"] == "0"
    assert env["REJECTED_RETENTION_DAYS"] == "7"
    assert env["INVALID_BODY_BYTES"] == "1024"
    # Rows are kept forever, but rejected ones expire: the table's TTL stays on.
    assert values[PREFIX + "aws_dynamodb_table.this[0]"]["ttl"] == [
        {"attribute_name": "expires_at", "enabled": True}
    ]
    assert values[PREFIX + 'aws_secretsmanager_secret.this["github"]']["recovery_window_in_days"] == 0


def test_defaults_protect_history_and_keep_messages_as_long_as_the_dlq(stack_factory):
    values = plan_values(stack_factory(FIXTURE).plan())
    assert values[PREFIX + "aws_dynamodb_table.this[0]"]["deletion_protection_enabled"] is True
    main = values[PREFIX + "aws_sqs_queue.this[0]"]["message_retention_seconds"]
    dlq = values[PREFIX + "aws_sqs_queue.dlq[0]"]["message_retention_seconds"]
    # SQS counts retention from the first enqueue, in the DLQ too: with equal retention a
    # message is recoverable for 14 days after receipt wherever it waits.
    assert main == dlq == 1209600


def test_history_stream_description_promises_no_exactly_once():
    from tests.plan.test_plan import REPO

    text = (REPO / "variables.tf").read_text(encoding="utf-8")
    block = text[text.index('variable "history_stream_enabled"') :].split("\n}\n", 1)[0]
    assert "exactly once" not in block
    assert "more than once" in block


@pytest.mark.parametrize(
    ("tf_vars", "message"),
    [
        (
            {"history_retention_days": 7},  # default history_rejected_retention_days = 14
            "history_rejected_retention_days (14) must not exceed history_retention_days (7)",
        ),
        (
            {"history_invalid_body_bytes": 400000},
            "history_invalid_body_bytes must be a whole number of bytes between 0 and 380000",
        ),
        (
            {"secret_recovery_window_days": 3},
            "secret_recovery_window_days must be 0 (delete at once) or a whole number of days between 7 and 30",
        ),
        (
            {"create_sns_topic": False, "alarm_emails": ["oncall@example.com"]},
            "alarm_emails (oncall@example.com) would receive nothing: they are subscribed only to the module-created topic of the module's alarms, and create_sns_topic is false",
        ),
        (
            {"create_alarms": False, "alarm_emails": ["oncall@example.com"]},
            "alarm_emails (oncall@example.com) would receive nothing",
        ),
        (
            {"sns_topic_arn": "arn:aws:sns:us-east-1:123456789012:ops"},
            "sns_topic_arn is set but create_sns_topic is true, so the alarms would notify the module's own topic and ignore arn:aws:sns:us-east-1:123456789012:ops",
        ),
        ({"sns_topic_arn": "ops"}, "sns_topic_arn must be an SNS topic ARN"),
        ({"role_path": "webhooks"}, "role_path must start and end with '/'"),
        ({"role_path": "/a//b/"}, "role_path must start and end with '/'"),
        (
            {"role_permissions_boundary": "boundary"},
            "role_permissions_boundary must be an IAM managed policy ARN",
        ),
        (
            {"replay_principal_arns": ["arn:aws:iam::123456789012:root"]},
            "replay_principal_arns entries must be IAM role or user ARNs",
        ),
        (
            {
                "sources": {
                    "g": {"scheme": "github", "throttling_rate_limit": -1, "throttling_burst_limit": 1}
                }
            },
            "throttling_rate_limit must be 0 or more",
        ),
    ],
    ids=[
        "rejected-longer-than-history",
        "invalid-prefix-too-big",
        "recovery-window-3",
        "emails-without-own-topic",
        "emails-without-alarms",
        "topic-arn-ignored",
        "topic-arn-malformed",
        "role-path-no-slash",
        "role-path-empty-segment",
        "boundary-not-arn",
        "replay-root",
        "negative-rate",
    ],
)
def test_infra_input_is_refused_with_its_message(stack_factory, tf_vars, message):
    assert _folded(message) in _refused(stack_factory, tf_vars)


def test_alarm_inputs_that_are_used_plan(stack_factory):
    stack = stack_factory(FIXTURE)
    stack.plan(tf_vars={"create_sns_topic": False, "sns_topic_arn": "arn:aws:sns:us-east-1:123456789012:ops"})
    stack.plan(tf_vars={"create_alarms": False})


################################################################################
# IAM names, path, boundary and policy Sids (item 11)
################################################################################


def test_roles_take_path_boundary_and_a_regional_name(stack_factory):
    boundary = "arn:aws:iam::123456789012:policy/webhook-boundary"
    plan = stack_factory(FIXTURE).plan(
        tf_vars={"role_path": "/team/webhooks/", "role_permissions_boundary": boundary}
    )
    values = plan_values(plan)
    for role in ("apigateway", "processor"):
        planned = values[f"{PREFIX}aws_iam_role.{role}[0]"]
        assert planned["path"] == "/team/webhooks/"
        assert planned["permissions_boundary"] == boundary
        # The name carries the region, read from the DLQ's ARN: known once the DLQ exists.
        after_unknown = plan.resource_changes[f"{PREFIX}aws_iam_role.{role}[0]"]["change"]["after_unknown"]
        assert after_unknown.get("name") is True


def test_allowlist_sids_are_unique_for_names_that_fold_alike(stack_factory):
    sources = {
        "foo-bar": {"scheme": "none", "allowed_cidrs": ["192.0.2.0/24"]},
        "foo_bar": {"scheme": "none", "allowed_cidrs": ["198.51.100.0/24"]},
        "foobar": {"scheme": "none", "allowed_cidrs": ["203.0.113.0/24"]},
    }
    document = _read(
        stack_factory(FIXTURE).plan(tf_vars={"sources": sources}), "data.aws_iam_policy_document.api[0]"
    )
    sids = [s["sid"] for s in document["statement"]]
    assert len(sids) == len(set(sids)) == 4, sids
    allowlists = {
        s["sid"]: s["condition"][0]["values"] for s in document["statement"] if s["sid"] != "AllowInvoke"
    }
    assert sorted(map(tuple, allowlists.values())) == [
        ("192.0.2.0/24",),
        ("198.51.100.0/24",),
        ("203.0.113.0/24",),
    ]
    # Readable (the folded name) and unique (a hash of the exact key follows it).
    assert all(sid.startswith("AllowlistFoo") and sid.isalnum() for sid in allowlists), sorted(allowlists)


################################################################################
# Queue policies (item 12)
################################################################################


def test_queue_policies_allow_only_the_api_and_replay_and_require_tls(stack_factory):
    operator = "arn:aws:iam::123456789012:role/webhook-operator"
    plan = stack_factory(FIXTURE).plan(tf_vars={"replay_principal_arns": [operator]})
    values = plan_values(plan)
    assert (
        PREFIX + "aws_sqs_queue_policy.this[0]" in values and PREFIX + "aws_sqs_queue_policy.dlq[0]" in values
    )
    main = _statements(_read(plan, "data.aws_iam_policy_document.queue[0]"))
    assert set(main) == {"AllowSendFromApiAndReplay", "DenySendFromOthers", "DenyInsecureTransport"}
    allow, deny, tls = (
        main["AllowSendFromApiAndReplay"],
        main["DenySendFromOthers"],
        main["DenyInsecureTransport"],
    )
    assert allow.get("effect") in (None, "Allow") and allow["actions"] == [
        "sqs:SendMessage"
    ]  # Allow is the default
    # Who may send includes the API role, whose ARN is known only after apply (the apply
    # test reads the stored policy back); the operator's is in the DLQ's policy below.
    (principals,) = allow["principals"]
    assert principals["type"] == "AWS"
    assert deny["effect"] == "Deny" and deny["actions"] == ["sqs:SendMessage"]
    assert deny["principals"] == [{"type": "*", "identifiers": ["*"]}]
    (condition,) = deny["condition"]
    assert condition["test"] == "ArnNotEquals" and condition["variable"] == "aws:PrincipalArn"
    dlq = _statements(_read(plan, "data.aws_iam_policy_document.dlq[0]"))
    assert set(dlq) == {"AllowReplay", "DenyInsecureTransport"}
    assert dlq["AllowReplay"]["principals"] == [{"type": "AWS", "identifiers": [operator]}]
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage"} <= set(
        dlq["AllowReplay"]["actions"]
    )
    for statement in (tls, dlq["DenyInsecureTransport"]):
        assert statement["effect"] == "Deny" and statement["actions"] == ["sqs:*"]
        assert statement["condition"] == [
            {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
        ]


def test_dlq_policy_without_replay_principals_only_requires_tls(stack_factory):
    dlq = _statements(_read(stack_factory(FIXTURE).plan(), "data.aws_iam_policy_document.dlq[0]"))
    assert set(dlq) == {"DenyInsecureTransport"}


################################################################################
# The processor's configuration travels in the zip (item 15)
################################################################################


def _many_sources(count: int) -> dict[str, dict[str, Any]]:
    schemes = ["github", "stripe", "shopify", "slack", "standard_webhooks"]
    return {
        f"partner-{i:03d}": {
            "scheme": schemes[i % len(schemes)],
            "secret_arn": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:webhooks/partner-{i:03d}-AbCdEf",
        }
        for i in range(count)
    }


def test_one_hundred_sources_keep_the_environment_far_below_4_kb(stack_factory):
    """WEBHOOK_SOURCES overflowed Lambda's 4 KB environment at about 15 sources; the source
    map is now webhook_config/sources.json in the zip, and the environment does not grow."""
    sources = _many_sources(100)
    stack = stack_factory(FIXTURE)
    # Only the function and what it needs: 100 sources' API resources add nothing here.
    plan = stack.plan(tf_vars={"sources": sources}, targets=[PREFIX + "aws_lambda_function.this[0]"])
    env = _env(plan_values(plan))
    assert "WEBHOOK_SOURCES" not in env
    assert env["WEBHOOK_SOURCES_FILE"] == "webhook_config/sources.json"
    size = len(json.dumps(env, separators=(",", ":")).encode())  # keys, values and more
    assert size < LAMBDA_ENV_LIMIT / 8, f"environment is {size} bytes"

    # The zip written at plan time is what the function gets, and it carries all 100.
    package = stack.local_path(plan.outputs["processor_package_path"])
    assert package_base64sha256(package) == plan.outputs["processor_package_base64sha256"]
    with zipfile.ZipFile(package) as archive:
        packed = json.loads(archive.read("webhook_config/sources.json"))
    assert sorted(packed) == sorted(sources)
    assert packed["partner-008"] == {
        "scheme": "slack",
        "secret_arn": sources["partner-008"]["secret_arn"],
        "tolerance_seconds": 300,
        "hmac_encoding": "hex",
        "hmac_prefix": "",
    }
