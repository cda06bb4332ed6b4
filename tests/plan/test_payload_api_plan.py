"""Plan tests of the payloads API (issue 14, part 2): sources with payload_store = "s3" are
served by a second REST API whose method writes the raw body into the payload store with S3
PutObject, the scheme headers and the receive time mapped into object metadata, and whose
bucket notifies the main queue.

One plan of tests/fixtures/module_probes per engine. The bucket's name and ARN are known
after apply only, so the integration's URI, the IAM resources and the queue policy's bucket
condition are read back by tests/apply/test_complete_apply.py; here their shape is checked.
The refusals (an s3 source without the store, a wrong payload_store, content_types on an s3
source) are in test_infra_plan.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import tftest

from tests.harness.stack import plan_values, probe_vars

pytestmark = [pytest.mark.plan, pytest.mark.xdist_group("plan-payload-api")]
PROBES = "tests/fixtures/module_probes"

MIXED_SOURCES = {
    "github": {"scheme": "github"},
    "big": {
        "scheme": "github",
        "payload_store": "s3",
        "throttling_rate_limit": 5,
        "throttling_burst_limit": 10,
    },
    "bin": {
        "scheme": "hmac_sha256",
        "signature_header": "X-Sig",
        "delivery_id_header": "X-Id",
        "payload_store": "s3",
        "allowed_cidrs": ["192.0.2.0/24"],
    },
}
PROBE_INPUTS: dict[str, dict[str, Any]] = {
    "mixed": {"sources": MIXED_SOURCES},
    "s3-only": {"sources": {"big": {"scheme": "github", "payload_store": "s3"}}},
    "queue-only": {},  # every default: github, a queue source
    # Rows kept a week; an object of an s3 source may be the only copy of a body still in the
    # DLQ (14 days), so it is kept 14.
    "short-history": {
        "sources": {"big": {"scheme": "stripe", "payload_store": "s3"}},
        "history_retention_days": 7,
        "history_rejected_retention_days": 7,
    },
}
GITHUB_METADATA = {
    "integration.request.header.x-amz-meta-signature": "method.request.header.X-Hub-Signature-256",
    "integration.request.header.x-amz-meta-delivery-id": "method.request.header.X-GitHub-Delivery",
    "integration.request.header.x-amz-meta-event-type": "method.request.header.X-GitHub-Event",
}
EDGE_METADATA = {
    "integration.request.path.key": "context.requestId",
    "integration.request.header.Content-Type": "method.request.header.Content-Type",
    "integration.request.header.x-amz-meta-request-id": "context.requestId",
    "integration.request.header.x-amz-meta-received-at-ms": "context.requestTimeEpoch",
    "integration.request.header.x-amz-meta-source-ip": "context.identity.sourceIp",
}


def at(probe: str, address: str) -> str:
    return f'module.webhooks["{probe}"].{address}'


@pytest.fixture(scope="module")
def plan(plan_stack) -> tftest.TerraformPlanOutput:
    return plan_stack(PROBES).plan(tf_vars=probe_vars(PROBE_INPUTS))


@pytest.fixture(scope="module")
def values(plan) -> dict[str, dict[str, Any]]:
    return plan_values(plan)


def _statements(plan: tftest.TerraformPlanOutput, address: str) -> dict[str, tuple[dict, dict]]:
    change = plan.resource_changes[address]["change"]
    return {
        s["sid"]: (s, unknown)
        for s, unknown in zip(change["after"]["statement"], change["after_unknown"]["statement"], strict=True)
    }


def test_s3_sources_get_a_binary_api_of_their_own(values):
    api = values[at("mixed", "aws_api_gateway_rest_api.payloads[0]")]
    assert api["name"] == "mixed-payloads"
    # Every body passes as bytes: no media type is read as text on this API.
    assert api["binary_media_types"] == ["*/*"]
    assert api["endpoint_configuration"][0]["types"] == ["REGIONAL"]
    # Each source is on exactly one API.
    assert set(_keys(values, "mixed", "aws_api_gateway_resource.payloads")) == {"big", "bin"}
    assert set(_keys(values, "mixed", "aws_api_gateway_resource.source")) == {"github"}
    assert values[at("mixed", "aws_api_gateway_rest_api.this[0]")].get("binary_media_types") in (None, [])


def _keys(values: dict[str, Any], probe: str, address: str) -> list[str]:
    prefix = at(probe, address) + '["'
    return [a[len(prefix) : -2] for a in values if a.startswith(prefix)]


def test_only_s3_sources_make_no_queue_api_and_only_queue_sources_no_payloads_api(values):
    assert not [a for a in values if a.startswith(at("s3-only", "aws_api_gateway_")) and ".payloads" not in a]
    assert at("s3-only", "aws_api_gateway_stage.payloads[0]") in values
    assert not [a for a in values if a.startswith(at("queue-only", "aws_api_gateway_")) and ".payloads" in a]
    assert at("queue-only", "aws_s3_bucket_notification.payloads[0]") not in values
    assert at("queue-only", "aws_s3_bucket.payloads[0]") in values  # the store itself stays


def test_the_method_puts_the_raw_body_with_the_scheme_headers_as_metadata(values):
    integration = values[at("mixed", 'aws_api_gateway_integration.payloads["big"]')]
    assert integration["type"] == "AWS"
    assert integration["integration_http_method"] == "PUT"
    assert integration["passthrough_behavior"] == "WHEN_NO_MATCH"
    assert not integration.get("request_templates")  # the body is not rendered: it is the object
    assert not integration.get("content_handling")  # binary stays binary (binary_media_types)
    assert integration["request_parameters"] == EDGE_METADATA | GITHUB_METADATA | {
        "integration.request.header.x-amz-meta-source": "'big'"
    }
    custom = values[at("mixed", 'aws_api_gateway_integration.payloads["bin"]')]["request_parameters"]
    assert custom == EDGE_METADATA | {
        "integration.request.header.x-amz-meta-source": "'bin'",
        "integration.request.header.x-amz-meta-signature": "method.request.header.X-Sig",
        "integration.request.header.x-amz-meta-delivery-id": "method.request.header.X-Id",
    }
    method = values[at("mixed", 'aws_api_gateway_method.payloads["big"]')]
    assert method["request_parameters"] == {
        "method.request.header.Content-Type": False,
        "method.request.header.X-Hub-Signature-256": False,
        "method.request.header.X-GitHub-Delivery": False,
        "method.request.header.X-GitHub-Event": False,
    }
    assert method["authorization"] == "NONE" and method["http_method"] == "POST"


def test_the_stored_object_key_names_the_source_and_the_request(plan):
    """The URI names the bucket (known after apply) and the key ingest/<source>/{key}, where
    {key} is the request id (integration.request.path.key above)."""
    change = plan.resource_changes[at("mixed", 'aws_api_gateway_integration.payloads["bin"]')]["change"]
    assert change["after_unknown"]["uri"] is True
    assert change["after_unknown"]["credentials"] is True


def test_only_s3s_2xx_answers_200_and_everything_else_503(values):
    responses = {
        values[a]["selection_pattern"] or None: values[a]["status_code"]
        for a in values
        if a.startswith(at("mixed", 'aws_api_gateway_integration_response.payloads["big:'))
    }
    assert responses == {"2\\d{2}": "200", None: "503"}
    statuses = sorted(
        values[a]["status_code"]
        for a in values
        if a.startswith(at("mixed", 'aws_api_gateway_method_response.payloads["big:'))
    )
    assert statuses == ["200", "503"]
    success = values[at("mixed", 'aws_api_gateway_integration_response.payloads["big:success"]')]
    assert '"status":"accepted"' in success["response_templates"]["application/json"]
    # Every Accept matches */*: as text, so the templates render (payload_api.tf).
    handling = {
        values[a]["content_handling"]
        for a in values
        if a.startswith(at("mixed", "aws_api_gateway_integration_response.payloads["))
    }
    assert handling == {"CONVERT_TO_TEXT"}


def test_gateway_responses_are_the_queue_apis(values):
    def responses(name: str) -> dict[str, tuple]:
        prefix = at("mixed", f"aws_api_gateway_gateway_response.{name}")
        return {
            values[a]["response_type"]: (values[a]["status_code"], values[a]["response_templates"])
            for a in values
            if a.startswith(prefix + "[")
        }

    payloads = responses("payloads")
    assert payloads == responses("this")
    assert payloads["REQUEST_TOO_LARGE"][0] == "413"


def test_throttling_and_allowlists_follow_the_source(plan, values):
    settings = values[at("mixed", 'aws_api_gateway_method_settings.payloads_source["big"]')]
    assert settings["method_path"] == "webhooks/big/POST"
    assert settings["settings"][0]["throttling_rate_limit"] == 5
    assert settings["settings"][0]["throttling_burst_limit"] == 10
    statements = _statements(plan, at("mixed", "data.aws_iam_policy_document.payload_api[0]"))
    denies = [s for s, _ in statements.values() if s.get("effect") == "Deny"]
    assert len(denies) == 1
    assert denies[0]["condition"] == [
        {"test": "NotIpAddress", "variable": "aws:SourceIp", "values": ["192.0.2.0/24"]}
    ]
    assert at("mixed", "aws_api_gateway_rest_api_policy.payloads[0]") in values
    assert at("s3-only", "aws_api_gateway_rest_api_policy.payloads[0]") not in values


def test_the_bucket_notifies_the_main_queue_of_ingested_objects(plan, values):
    notification = values[at("mixed", "aws_s3_bucket_notification.payloads[0]")]
    (queue,) = notification["queue"]
    assert queue["events"] == ["s3:ObjectCreated:*"]
    assert queue["filter_prefix"] == "ingest/"
    assert not queue.get("filter_suffix")
    change = plan.resource_changes[at("mixed", "aws_s3_bucket_notification.payloads[0]")]["change"]
    assert change["after_unknown"]["queue"][0]["queue_arn"] is True


def test_the_api_role_puts_each_s3_sources_objects_and_the_processor_reads_them(plan):
    api = _statements(plan, at("mixed", "data.aws_iam_policy_document.apigateway[0]"))
    store, unknown = api["StorePayloads"]
    assert store["actions"] == ["s3:PutObject"]
    assert unknown["resources"] == [True, True]  # ingest/big/* and ingest/bin/*: one per s3 source
    assert "StorePayloads" not in _statements(
        plan, at("queue-only", "data.aws_iam_policy_document.apigateway[0]")
    )
    processor = _statements(plan, at("mixed", "data.aws_iam_policy_document.processor[0]"))
    read, unknown = processor["ReadIngestedPayloads"]
    assert read["actions"] == ["s3:GetObject"]
    assert unknown["resources"] == [True]
    assert "ReadIngestedPayloads" not in _statements(
        plan, at("queue-only", "data.aws_iam_policy_document.processor[0]")
    )


def test_the_queue_admits_the_buckets_notifications_and_still_denies_others(plan):
    statements = _statements(plan, at("mixed", "module.queue_policy[0].data.aws_iam_policy_document.this"))
    allow, _ = statements["AllowPayloadNotifications"]
    assert allow["actions"] == ["sqs:SendMessage"]
    assert allow["principals"] == [{"type": "Service", "identifiers": ["s3.amazonaws.com"]}]
    assert sorted((c["test"], c["variable"]) for c in allow["condition"]) == [
        ("ArnEquals", "aws:SourceArn"),
        ("StringEquals", "aws:SourceAccount"),
    ]
    deny, _ = statements["DenySendFromOthers"]
    assert sorted((c["test"], c["variable"]) for c in deny["condition"]) == [
        ("ArnNotEquals", "aws:PrincipalArn"),
        ("ArnNotEquals", "aws:SourceArn"),
    ]
    plain = _statements(plan, at("queue-only", "module.queue_policy[0].data.aws_iam_policy_document.this"))
    assert "AllowPayloadNotifications" not in plain
    assert [c["variable"] for c in plain["DenySendFromOthers"][0]["condition"]] == ["aws:PrincipalArn"]


def test_objects_outlive_the_dlq_when_s3_sources_exist(values):
    (rule,) = values[at("short-history", "aws_s3_bucket_lifecycle_configuration.payloads[0]")]["rule"]
    assert [e["days"] for e in rule["expiration"]] == [14]


def test_alarms_watch_each_api_that_exists(values):
    def alarm_names(probe: str) -> set[str]:
        prefix = at(probe, "aws_cloudwatch_metric_alarm.this[")
        return {a[len(prefix) + 1 : -2] for a in values if a.startswith(prefix)}

    assert {"api_5xx", "payload_api_5xx"} <= alarm_names("mixed")
    assert "api_5xx" not in alarm_names("s3-only") and "payload_api_5xx" in alarm_names("s3-only")
    assert "payload_api_5xx" not in alarm_names("queue-only")
    math = {a for a in values if a.startswith(at("s3-only", "aws_cloudwatch_metric_alarm.math["))}
    assert not [a for a in math if "api_4xx_rate" in a]
