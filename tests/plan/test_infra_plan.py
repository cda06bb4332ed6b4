"""Plan tests of the module's infrastructure guard rails (issue 9): whole numbers, the
processor's time budget, retention, alarm inputs, IAM names, queue policies and the
processor's configuration file; and every validation and precondition message of the
module's inputs (the sources' included).

A plan costs 10-30 s here, nearly all of it per command (the aws provider's schema is
loaded by `plan` and again by `show -json`), and a module instance adds about a second.
So the cases are probes of tests/fixtures/module_probes (one module instance each) in six
plans per engine: what must plan, the 100 sources (a targeted plan), every variable
validation, and the preconditions in three plans (see PRECONDITIONS).

Both engines report the failed validations of every module instance in one plan; OpenTofu
reports only the first failed validation block of each variable, so a probe breaks one
rule of `sources`. A failed validation stops the whole plan before any precondition is
checked, hence separate refusing plans. The messages do not name the instance, so each
case is found by its message and what the diagnostic shows of its value
(`var.name is "9starts-with-digit"`), and cases whose diagnostics read alike are counted."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
import tftest

from tests.harness.driver import package_base64sha256
from tests.harness.stack import plan_values, probe_vars

# One worker per engine plans this file: its cached plans are made once.
pytestmark = [pytest.mark.plan, pytest.mark.xdist_group("plan-infra")]
PROBES = "tests/fixtures/module_probes"
LAMBDA_ENV_LIMIT = 4096  # bytes, all keys and values together (Lambda quotas)
OPERATOR = "arn:aws:iam::123456789012:role/webhook-operator"
OPS_TOPIC = "arn:aws:sns:us-east-1:123456789012:ops"


def at(probe: str, address: str) -> str:
    """The address of a resource of one probe (module instance) of PROBES."""
    return f'module.webhooks["{probe}"].{address}'


def folded(text: str) -> str:
    """Terraform wraps long messages: compare with whitespace folded."""
    return " ".join(text.split())


def diagnostics(stack, probes: dict[str, dict[str, Any]]) -> list[str]:
    """Each error of a plan that must fail, folded (from stderr, which holds every one once)."""
    with pytest.raises(tftest.TerraformTestError) as excinfo:
        stack.plan(tf_vars=probe_vars(probes))
    _, stderr = excinfo.value.args
    found = [folded(block) for block in re.split(r"^Error: ", stderr, flags=re.M)[1:]]
    assert found, stderr
    return found


def check_refused(found: list[str], cases: dict[str, tuple], case: str) -> None:
    """The case's message is there, in a diagnostic that shows the case's value (`detail`).
    Where cases share both (`sources` is shown as "map of object with 1 element"), there is
    one such diagnostic for each of them."""
    _, message, detail = cases[case]
    fragments = [folded(f) for f in (message, detail) if f]
    matching = [d for d in found if all(f in d for f in fragments)]
    alike = sum(1 for _, m, d in cases.values() if (m, d) == (message, detail))
    assert len(matching) >= alike, (
        f"{case}: {len(matching)} diagnostic(s) say {fragments}, {alike} expected:\n" + "\n".join(found)
    )


def _read(plan: tftest.TerraformPlanOutput, address: str) -> dict[str, Any]:
    """What a data source will be read with (also when it is read at apply time)."""
    return plan.resource_changes[address]["change"]["after"]


def _statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["sid"]: s for s in document["statement"]}


def _env(values: dict[str, dict[str, Any]], probe: str) -> dict[str, str]:
    (environment,) = values[at(probe, "aws_lambda_function.this[0]")]["environment"]
    return environment["variables"]


################################################################################
# What must plan: one probe per case
################################################################################

# Inputs that keep the processor's environment known at plan time: the event topic's ARN and
# the payload store's name are known only after apply (tests/plan/test_payloads_plan.py and the
# apply tests read PAYLOAD_BUCKET).
NO_UNKNOWN_ENV = {"create_event_topic": False, "create_payload_store": False}

ACCEPTED: dict[str, dict[str, Any]] = {
    "defaults": {},
    # A fractional rate is fine: API Gateway's rate limit is a double.
    "fractional-rate": {
        "sources": {"sh": {"scheme": "shopify", "throttling_rate_limit": 0.5, "throttling_burst_limit": 10}},
        "stage_throttling_rate_limit": 12.5,
    },
    # The processor's environment is read at plan time: without the event topic and the
    # payload store (the topic's ARN and the bucket's name are known only after apply, which
    # makes the provider plan the whole map unknown).
    "timeout-20": {"processor_timeout": 20, "processor_batch_size": 1, **NO_UNKNOWN_ENV},
    "timeout-30": {"processor_timeout": 30, "processor_batch_size": 1, **NO_UNKNOWN_ENV},
    # Exactly what the batch message suggests: 31 records in 30 s, 100 records in 39 s.
    "batch-31": {"processor_batch_size": 31, "processor_batching_window_seconds": 1},
    "batch-100-in-39": {
        "processor_batch_size": 100,
        "processor_batching_window_seconds": 1,
        "processor_timeout": 39,
    },
    "storage": {
        "history_retention_days": 0,
        "history_rejected_retention_days": 7,
        "history_invalid_body_bytes": 1024,
        "secret_recovery_window_days": 0,
        **NO_UNKNOWN_ENV,
    },
    "own-alarm-topic": {"create_sns_topic": False, "sns_topic_arn": OPS_TOPIC},
    "no-alarms": {"create_alarms": False},
    "roles": {
        "role_path": "/team/webhooks/",
        "role_permissions_boundary": "arn:aws:iam::123456789012:policy/webhook-boundary",
    },
    "allowlist": {
        "sources": {
            "foo-bar": {"scheme": "none", "allowed_cidrs": ["192.0.2.0/24"]},
            "foo_bar": {"scheme": "none", "allowed_cidrs": ["198.51.100.0/24"]},
            "foobar": {"scheme": "none", "allowed_cidrs": ["203.0.113.0/24"]},
        }
    },
    "replay": {"replay_principal_arns": [OPERATOR]},
}


@pytest.fixture(scope="module")
def accepted(plan_stack) -> tftest.TerraformPlanOutput:
    return plan_stack(PROBES).plan(tf_vars=probe_vars(ACCEPTED))


@pytest.fixture(scope="module")
def accepted_values(accepted) -> dict[str, dict[str, Any]]:
    return plan_values(accepted)


def test_fractional_throttling_rate_is_accepted(accepted_values):
    (settings,) = accepted_values[at("fractional-rate", 'aws_api_gateway_method_settings.source["sh"]')][
        "settings"
    ]
    assert settings["throttling_rate_limit"] == 0.5 and settings["throttling_burst_limit"] == 10


@pytest.mark.parametrize("timeout", [20, 30])
def test_timeout_that_fits_plans_and_reaches_the_processor(accepted_values, timeout):
    probe = f"timeout-{timeout}"
    assert accepted_values[at(probe, "aws_lambda_function.this[0]")]["timeout"] == timeout
    assert _env(accepted_values, probe)["PROCESSOR_TIMEOUT_SECONDS"] == str(timeout)


def test_batch_suggestion_is_exact(accepted_values, precondition_plan):
    """Exactly what the message suggests plans: 31 records in 30 s, 100 records in 39 s;
    one record more than 31 in 30 s does not."""
    for probe, (batch, timeout) in {"batch-31": (31, 30), "batch-100-in-39": (100, 39)}.items():
        assert accepted_values[at(probe, "aws_lambda_function.this[0]")]["timeout"] == timeout
        mapping = accepted_values[at(probe, "aws_lambda_event_source_mapping.this[0]")]
        assert mapping["batch_size"] == batch
    check_refused(*_precondition_errors(precondition_plan, "batch-32"), "batch-32")


def test_storage_inputs_reach_the_processor(accepted_values):
    env = _env(accepted_values, "storage")
    assert env["PAYLOAD_BUCKET"] == ""  # create_payload_store = false: long bodies are kept truncated
    assert env["HISTORY_RETENTION_DAYS"] == "0"
    assert env["REJECTED_RETENTION_DAYS"] == "7"
    assert env["INVALID_BODY_BYTES"] == "1024"
    # Rows are kept forever, but rejected ones expire: the table's TTL stays on.
    assert accepted_values[at("storage", "aws_dynamodb_table.this[0]")]["ttl"] == [
        {"attribute_name": "expires_at", "enabled": True}
    ]
    secret = accepted_values[at("storage", 'aws_secretsmanager_secret.this["github"]')]
    assert secret["recovery_window_in_days"] == 0


def test_defaults_protect_history_and_keep_messages_as_long_as_the_dlq(accepted_values):
    assert (
        accepted_values[at("defaults", "aws_dynamodb_table.this[0]")]["deletion_protection_enabled"] is True
    )
    main = accepted_values[at("defaults", "aws_sqs_queue.this[0]")]["message_retention_seconds"]
    dlq = accepted_values[at("defaults", "aws_sqs_queue.dlq[0]")]["message_retention_seconds"]
    # SQS counts retention from the first enqueue, in the DLQ too: with equal retention a
    # message is recoverable for 14 days after receipt wherever it waits.
    assert main == dlq == 1209600


def test_history_stream_description_promises_no_exactly_once():
    from tests.plan.test_plan import REPO

    text = (REPO / "variables.tf").read_text(encoding="utf-8")
    block = text[text.index('variable "history_stream_enabled"') :].split("\n}\n", 1)[0]
    assert "exactly once" not in block
    assert "more than once" in block


def test_alarm_inputs_that_are_used_plan(accepted_values):
    """A topic of the caller's (create_sns_topic = false), and no alarms at all, both plan."""
    alarms = [
        a for a in accepted_values if a.startswith(at("own-alarm-topic", "aws_cloudwatch_metric_alarm."))
    ]
    assert alarms
    for address in alarms:
        assert accepted_values[address]["alarm_actions"] == [OPS_TOPIC], address
    assert not [a for a in accepted_values if a.startswith(at("own-alarm-topic", "aws_sns_topic.alarms"))]
    assert at("no-alarms", "aws_sqs_queue.dlq[0]") in accepted_values
    assert not [a for a in accepted_values if a.startswith(at("no-alarms", "aws_cloudwatch_metric_alarm."))]


################################################################################
# IAM names, path, boundary and policy Sids (item 11)
################################################################################


def test_roles_take_path_boundary_and_a_regional_name(accepted, accepted_values):
    for role in ("apigateway", "processor"):
        address = at("roles", f"aws_iam_role.{role}[0]")
        planned = accepted_values[address]
        assert planned["path"] == "/team/webhooks/"
        assert planned["permissions_boundary"] == ACCEPTED["roles"]["role_permissions_boundary"]
        # The name carries the region, read from the DLQ's ARN: known once the DLQ exists.
        assert accepted.resource_changes[address]["change"]["after_unknown"].get("name") is True


def test_allowlist_sids_are_unique_for_names_that_fold_alike(accepted):
    document = _read(accepted, at("allowlist", "data.aws_iam_policy_document.api[0]"))
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

QUEUE_POLICY = "module.queue_policy[0].data.aws_iam_policy_document.this"
DLQ_POLICY = "module.dlq_policy[0].data.aws_iam_policy_document.this"


def test_queue_policies_allow_only_the_api_and_replay_and_require_tls(accepted, accepted_values):
    assert at("replay", "aws_sqs_queue_policy.this[0]") in accepted_values
    assert at("replay", "aws_sqs_queue_policy.dlq[0]") in accepted_values
    main = _statements(_read(accepted, at("replay", QUEUE_POLICY)))
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
    dlq = _statements(_read(accepted, at("replay", DLQ_POLICY)))
    assert set(dlq) == {"AllowReplay", "DenyInsecureTransport"}
    assert dlq["AllowReplay"]["principals"] == [{"type": "AWS", "identifiers": [OPERATOR]}]
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage"} <= set(
        dlq["AllowReplay"]["actions"]
    )
    for statement in (tls, dlq["DenyInsecureTransport"]):
        assert statement["effect"] == "Deny" and statement["actions"] == ["sqs:*"]
        assert statement["condition"] == [
            {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
        ]


def test_dlq_policy_without_replay_principals_only_requires_tls(accepted):
    dlq = _statements(_read(accepted, at("defaults", DLQ_POLICY)))
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


def test_one_hundred_sources_keep_the_environment_far_below_4_kb(plan_stack):
    """WEBHOOK_SOURCES overflowed Lambda's 4 KB environment at about 15 sources; the source
    map is now webhook_config/sources.json in the zip, and the environment does not grow."""
    sources = _many_sources(100)
    stack = plan_stack(PROBES)
    # Only the function and what it needs: 100 sources' API resources add nothing here.
    # Without the event topic and the payload store, whose ARN and name (known after apply)
    # would leave the environment unknown at plan time; they add about 140 bytes once applied.
    plan = stack.plan(
        tf_vars=probe_vars({"many": {"sources": sources, **NO_UNKNOWN_ENV}}),
        targets=[at("many", "aws_lambda_function.this[0]")],
    )
    values = plan_values(plan)
    env = _env(values, "many")
    assert "WEBHOOK_SOURCES" not in env
    assert env["WEBHOOK_SOURCES_FILE"] == "webhook_config/sources.json"
    size = len(json.dumps(env, separators=(",", ":")).encode())  # keys, values and more
    assert size < LAMBDA_ENV_LIMIT / 8, f"environment is {size} bytes"

    # The zip written at plan time is what the function gets, and it carries all 100. (A
    # targeted plan has no root outputs: the function's own arguments name the zip.)
    function = values[at("many", "aws_lambda_function.this[0]")]
    package = stack.local_path(function["filename"])
    assert package_base64sha256(package) == function["source_code_hash"]
    with zipfile.ZipFile(package) as archive:
        packed = json.loads(archive.read("webhook_config/sources.json"))
    assert sorted(packed) == sorted(sources)
    assert packed["partner-008"] == {
        "scheme": "slack",
        "secret_arn": sources["partner-008"]["secret_arn"],
        "tolerance_seconds": 300,
        "hmac_encoding": "hex",
        "hmac_prefix": "",
        "payload_store": "queue",
    }


################################################################################
# Every variable validation: one plan, one probe per case
################################################################################

# Every numeric input that must be whole, with a fraction, and what its message says: all in
# one probe (both engines report every failed variable of an instance).
WHOLE_NUMBERS = {
    # The example: 1.5 passed validation and raised ConfigError in every batch.
    "history_retention_days": (1.5, "history_retention_days must be a whole number of days"),
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
ONE_SOURCE = "var.sources is map of object with 1 element"


def _shown(value: Any) -> str | None:
    """How a diagnostic shows a scalar variable's value; None for a collection."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _case(inputs: dict[str, Any], message: str, detail: str | None = None) -> tuple:
    """(inputs, message, detail): detail defaults to the value of the probe's only input."""
    if detail is None and len(inputs) == 1:
        ((name, value),) = inputs.items()
        shown = _shown(value)
        detail = f"var.{name} is {shown}" if shown else None
    return (inputs, message, detail)


VALIDATIONS: dict[str, tuple] = {
    f"fraction-{name}": (
        None,  # all in the "fractions" probe below
        message,
        f"var.{name} is {_shown(value)}" if _shown(value) else None,
    )
    for name, (value, message) in WHOLE_NUMBERS.items()
} | {
    "fraction-timestamp_tolerance_seconds": (
        None,
        "timestamp_tolerance_seconds must be a whole number",
        ONE_SOURCE,
    ),
    "fraction-throttling_burst_limit": (
        {
            "sources": {
                "sh": {"scheme": "shopify", "throttling_rate_limit": 0.5, "throttling_burst_limit": 10.5}
            }
        },
        "throttling_burst_limit must be a whole number",
        ONE_SOURCE,
    ),
    # The sources: one rule each (OpenTofu reports the first failed rule of a variable only).
    "bad-scheme": _case({"sources": {"gh": {"scheme": "githb"}}}, "scheme must be one of stripe", ONE_SOURCE),
    "hmac-no-header": _case(
        {"sources": {"p": {"scheme": "hmac_sha256"}}}, "needs signature_header", ONE_SOURCE
    ),
    "bad-key": _case(
        {"sources": {"Bad Key": {"scheme": "github"}}}, "Each sources key is a URL path segment", ONE_SOURCE
    ),
    "no-sources": _case({"sources": {}}, "at least one webhook sender", "var.sources is empty map of object"),
    "none-with-secret": _case(
        {"sources": {"o": {"scheme": "none", "secret_arn": "arn:aws:secretsmanager:us-east-1:1:secret:x"}}},
        "takes no secret_arn",
        ONE_SOURCE,
    ),
    "bad-content-type": _case(
        {"sources": {"g": {"scheme": "github", "content_types": ["application/xml"]}}},
        "content_types must be",
        ONE_SOURCE,
    ),
    "bad-content-type-with-charset": _case(
        {"sources": {"g": {"scheme": "github", "content_types": ["application/xml; charset=utf-8"]}}},
        "content_types must be",
        ONE_SOURCE,
    ),
    "empty-content-types": _case(
        {"sources": {"g": {"scheme": "github", "content_types": []}}}, "content_types must be", ONE_SOURCE
    ),
    "quote-in-header": _case(
        {"sources": {"g": {"scheme": "github", "delivery_id_header": "X-Id'"}}}, "Header names", ONE_SOURCE
    ),
    "negative-rate": _case(
        {"sources": {"g": {"scheme": "github", "throttling_rate_limit": -1, "throttling_burst_limit": 1}}},
        "throttling_rate_limit must be 0 or more",
        ONE_SOURCE,
    ),
    "bad-payload-store": _case(
        {"sources": {"g": {"scheme": "github", "payload_store": "dynamodb"}}},
        'payload_store must be "queue"',
        ONE_SOURCE,
    ),
    "s3-with-content-types": _case(
        {
            "sources": {
                "g": {"scheme": "github", "payload_store": "s3", "content_types": ["application/json"]}
            }
        },
        'content_types applies to queue sources only: a source with payload_store = "s3" keeps any body',
        ONE_SOURCE,
    ),
    "handshake-on-github": _case(
        {"sources": {"g": {"scheme": "github", "handshake": True}}},
        "handshake applies to the schemes whose providers check the endpoint before sending events, slack (url_verification) and zoom",
        ONE_SOURCE,
    ),
    "handshake-with-s3": _case(
        {"sources": {"z": {"scheme": "zoom", "handshake": True, "payload_store": "s3"}}},
        'A source with handshake = true must have payload_store = "queue"',
        ONE_SOURCE,
    ),
    # The other inputs.
    "bad-name": _case({"name": "9starts-with-digit"}, "name must start with a letter"),
    "kms-alias": _case({"kms_key_arn": "alias/mine"}, "kms_key_arn must be a KMS key ARN"),
    "invalid-prefix-too-big": _case(
        {"history_invalid_body_bytes": 400000},
        "history_invalid_body_bytes must be a whole number of bytes between 0 and 380000",
    ),
    "recovery-window-3": _case(
        {"secret_recovery_window_days": 3},
        "secret_recovery_window_days must be 0 (delete at once) or a whole number of days between 7 and 30",
    ),
    "topic-arn-malformed": _case({"sns_topic_arn": "ops"}, "sns_topic_arn must be an SNS topic ARN"),
    "role-path-no-slash": _case({"role_path": "webhooks"}, "role_path must start and end with '/'"),
    "role-path-empty-segment": _case({"role_path": "/a//b/"}, "role_path must start and end with '/'"),
    "boundary-not-arn": _case(
        {"role_permissions_boundary": "boundary"},
        "role_permissions_boundary must be an IAM managed policy ARN",
    ),
    "replay-root": _case(
        {"replay_principal_arns": ["arn:aws:iam::123456789012:root"]},
        "replay_principal_arns entries must be IAM role or user ARNs",
        "var.replay_principal_arns is list of string with 1 element",
    ),
}
FRACTIONS = {name: value for name, (value, _) in WHOLE_NUMBERS.items()} | {
    "sources": {"gh": {"scheme": "github", "timestamp_tolerance_seconds": 300.5}}
}


@pytest.fixture(scope="module")
def validation_errors(plan_stack) -> list[str]:
    probes = {case: inputs for case, (inputs, _, _) in VALIDATIONS.items() if inputs is not None}
    return diagnostics(plan_stack(PROBES), probes | {"fractions": FRACTIONS})


@pytest.mark.parametrize("case", list(VALIDATIONS))
def test_bad_input_is_refused_with_its_message(validation_errors, case):
    check_refused(validation_errors, VALIDATIONS, case)


def test_fractional_throttling_rate_is_not_refused(validation_errors):
    """fraction-throttling_burst_limit's source has throttling_rate_limit = 0.5 too: only
    negative-rate's -1 is refused for its rate (API Gateway's rate limit is a double)."""
    rate = [d for d in validation_errors if "throttling_rate_limit must be" in d]
    assert len(rate) == 1, rate


################################################################################
# Every precondition: three plans, one probe per case
################################################################################

# A resource's planning is one graph node for all module instances, and a failed
# precondition fails that node: whatever depends on the resource is then not planned, in
# any instance, so its own preconditions go unchecked. Hence one plan for each depth:
# the DLQ and the history table depend on no other resource; the main queue depends on
# the DLQ; the processor function on both queues and the table.
PRECONDITIONS: dict[str, tuple] = {
    "rejected-longer-than-history": (
        "dlq-and-table",
        {"history_retention_days": 7},  # default history_rejected_retention_days = 14
        "history_rejected_retention_days (14) must not exceed history_retention_days (7)",
        None,
    ),
    "emails-without-own-topic": (
        "dlq-and-table",
        {"create_sns_topic": False, "alarm_emails": ["oncall@example.com"]},
        "alarm_emails (oncall@example.com) would receive nothing: they are subscribed only to the module-created topic of the module's alarms, and create_sns_topic is false",
        None,
    ),
    "emails-without-alarms": (
        "dlq-and-table",
        {"create_alarms": False, "alarm_emails": ["team@example.com"]},
        "alarm_emails (team@example.com) would receive nothing",
        None,
    ),
    "topic-arn-ignored": (
        "dlq-and-table",
        {"sns_topic_arn": OPS_TOPIC},
        f"sns_topic_arn is set but create_sns_topic is true, so the alarms would notify the module's own topic and ignore {OPS_TOPIC}",
        None,
    ),
    # An s3 source writes to the payload store: without it, the plan stops (issue 14).
    "s3-source-without-store": (
        "dlq-and-table",
        {
            "create_payload_store": False,
            "sources": {"big": {"scheme": "github", "payload_store": "s3"}, "gh": {"scheme": "github"}},
        },
        'Sources big have payload_store = "s3", which writes their bodies into the payload store, but create_payload_store is false',
        None,
    ),
    "visibility-too-short": (
        "queue",
        {"queue_visibility_timeout_seconds": 60},
        "queue_visibility_timeout_seconds must be at least 6 x processor_timeout",
        "local.queue_visibility_timeout_seconds is 60",
    ),
    # The processor's time budget (item 4). 5 s: one SDK call with its retries
    # (3 x (1 s + 1 s)) needs more than the 4 s usable.
    "short-timeout": (
        "processor",
        {"processor_timeout": 5},
        "processor_timeout = 5 s is too short for one SDK call with its retries",
        None,
    ),
    # A batch's tail that is never started is handed back: each hand-back is a receive.
    "batch-100": (
        "processor",
        {"processor_batch_size": 100, "processor_batching_window_seconds": 1},
        "processor_batch_size = 100 does not fit processor_timeout = 30 s",
        None,
    ),
    "batch-32": (
        "processor",
        {"processor_batch_size": 32, "processor_batching_window_seconds": 1},
        "processor_batch_size = 32 does not fit",
        None,
    ),
    # Without the payload store, a queue that takes more than a row keeps (issue 14, part 4);
    # what is accepted is in tests/plan/test_payloads_plan.py. (A 1 MiB queue is not planned
    # here: hashicorp/aws 5.100 caps max_message_size at 262144; 6.x takes 1048576.)
    "store-off-queue-above-row": (
        "processor",
        {"create_payload_store": False, "history_max_stored_body_bytes": 100000},
        "create_payload_store is false and queue_max_message_size (262144) is above history_max_stored_body_bytes (100000)",
        None,
    ),
    "store-off-row-below-queue": (
        "processor",
        {"create_payload_store": False, "history_max_stored_body_bytes": 262143},
        "create_payload_store is false and queue_max_message_size (262144) is above history_max_stored_body_bytes (262143)",
        None,
    ),
}
PRECONDITION_PLANS = sorted({plan for plan, *_ in PRECONDITIONS.values()})


@pytest.fixture(scope="module")
def precondition_plan(plan_stack) -> Callable[[str], list[str]]:
    """The diagnostics of one of the PRECONDITION_PLANS (each planned once)."""
    found: dict[str, list[str]] = {}

    def get(plan: str) -> list[str]:
        if plan not in found:
            probes = {case: inputs for case, (p, inputs, _, _) in PRECONDITIONS.items() if p == plan}
            found[plan] = diagnostics(plan_stack(PROBES), probes)
        return found[plan]

    return get


def _precondition_errors(precondition_plan, case: str) -> tuple[list[str], dict[str, tuple]]:
    """The diagnostics of the case's plan, and the cases of that plan as check_refused takes them."""
    plan = PRECONDITIONS[case][0]
    cases = {c: (inputs, m, d) for c, (p, inputs, m, d) in PRECONDITIONS.items() if p == plan}
    return precondition_plan(plan), cases


@pytest.mark.parametrize("case", list(PRECONDITIONS))
def test_inconsistent_input_is_refused_with_its_message(precondition_plan, case):
    found, cases = _precondition_errors(precondition_plan, case)
    check_refused(found, cases, case)


@pytest.mark.parametrize("plan", PRECONDITION_PLANS)
def test_each_probe_is_refused_once_for_what_it_breaks(precondition_plan, plan):
    """Nothing else is refused: one failed precondition per probe (so none hides another's)."""
    found = precondition_plan(plan)
    assert len(found) == sum(1 for p, *_ in PRECONDITIONS.values() if p == plan), "\n".join(found)


def _one(found: list[str], fragment: str) -> str:
    (diagnostic,) = [d for d in found if fragment in d]
    return diagnostic


def test_short_timeout_is_refused_with_the_numbers(precondition_plan):
    from webhook_processor.budget import sdk_budget

    message = _one(precondition_plan("processor"), "processor_timeout = 5 s is too short")
    assert "3 attempts x (1.00 s connect + 1.00 s read) = 6.0 s, but only 4.0 s (80 %)" in message
    # The shortest timeout it suggests is the processor's own rule (budget.py), not a guess.
    shortest = next(t for t in range(3, 901) if 0.8 * t >= sdk_budget(t).worst_case_seconds - 1e-9)
    assert f"Use processor_timeout >= {shortest}." in message
    assert shortest == 20


def test_batch_that_cannot_finish_in_time_is_refused(precondition_plan):
    found = precondition_plan("processor")
    message = _one(found, "processor_batch_size = 100 does not fit processor_timeout = 30 s")
    assert (
        "the batch needs 30.9 s (one SDK call with all its retries, 21.0 s, plus 100 ms for each" in message
    )
    assert "counts toward queue_max_receive_count (5)" in message
    assert "Use processor_batch_size <= 31 or processor_timeout >= 39." in message
    # The SDK rule holds at 30 s, so its message is not repeated (short-timeout's is at 5 s).
    assert not [d for d in found if "processor_timeout = 30 s is too short" in d]


def test_queue_above_the_row_without_the_store_is_refused_with_both_numbers(precondition_plan):
    """The message says what would be lost and both ways out, with the probe's own numbers."""
    message = _one(precondition_plan("processor"), "history_max_stored_body_bytes (100000)")
    assert (
        "a verified body of up to 262144 bytes would be kept truncated to 100000 bytes. "
        "Set create_payload_store = true, or queue_max_message_size <= 100000." in message
    )
    message = _one(precondition_plan("processor"), "history_max_stored_body_bytes (262143)")
    assert "Set create_payload_store = true, or queue_max_message_size <= 262143." in message
