"""Plan tests of the responders (issue 15): a source with handshake = true (slack or zoom) gets a
Lambda proxy integration to a function of its own, which answers the provider's endpoint check
and queues every other request as the template would; and the zoom scheme.

One plan of tests/fixtures/module_probes per engine. The refusals (handshake on another scheme,
or with payload_store = "s3") are in test_infra_plan.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import tftest

from tests.harness.stack import plan_values, probe_vars

pytestmark = [pytest.mark.plan, pytest.mark.xdist_group("plan-handshake")]
PROBES = "tests/fixtures/module_probes"

PROBE_INPUTS: dict[str, dict[str, Any]] = {
    "hs": {
        "sources": {
            "slack-app": {"scheme": "slack", "handshake": True},
            "zoom": {"scheme": "zoom", "handshake": True, "timestamp_tolerance_seconds": 120},
            "zoom-plain": {"scheme": "zoom"},  # the scheme without a responder: the template path
            "github": {"scheme": "github"},
        },
    },
    "no-hs": {},
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


def test_handshake_sources_are_lambda_proxy_integrations(plan, values):
    for source in ("slack-app", "zoom"):
        integration = values[at("hs", f'aws_api_gateway_integration.this["{source}"]')]
        assert integration["type"] == "AWS_PROXY"
        assert integration["integration_http_method"] == "POST"
        assert not integration.get("request_templates")
        assert not integration.get("credentials")  # invoked under the function's resource policy
        change = plan.resource_changes[at("hs", f'aws_api_gateway_integration.this["{source}"]')]["change"]
        assert change["after_unknown"]["uri"] is True  # the function's invoke ARN
    for source in ("github", "zoom-plain"):
        integration = values[at("hs", f'aws_api_gateway_integration.this["{source}"]')]
        assert integration["type"] == "AWS" and integration["passthrough_behavior"] == "NEVER"


def test_the_function_answers_for_itself_so_there_are_no_integration_responses(values):
    responses = [a for a in values if a.startswith(at("hs", "aws_api_gateway_integration_response.this["))]
    sources = {a.rsplit('["', 1)[1].split(":", 1)[0] for a in responses}
    assert sources == {"github", "zoom-plain"}


def test_one_responder_per_handshake_source_on_the_processors_zip(plan, values):
    functions = {a: v for a, v in values.items() if a.startswith(at("hs", "aws_lambda_function.responder["))}
    assert sorted(functions) == [
        at("hs", 'aws_lambda_function.responder["slack-app"]'),
        at("hs", 'aws_lambda_function.responder["zoom"]'),
    ]
    processor = values[at("hs", "aws_lambda_function.this[0]")]
    zoom = functions[at("hs", 'aws_lambda_function.responder["zoom"]')]
    assert zoom["function_name"] == "hs-responder-zoom"
    assert zoom["handler"] == "webhook_processor.responder.lambda_handler"
    assert zoom["filename"] == processor["filename"]  # the same package: shared verification code
    assert zoom["runtime"] == processor["runtime"]
    assert zoom["timeout"] <= 29  # API Gateway's integration timeout
    # The environment names the queue's URL, known after apply only: test_complete_apply reads
    # it back (the header names, content types and source the function is given).
    change = plan.resource_changes[at("hs", 'aws_lambda_function.responder["zoom"]')]["change"]
    assert change["after_unknown"]["environment"] == [{"variables": True}]
    assert not [a for a in values if a.startswith(at("no-hs", "aws_lambda_function.responder"))]


def test_each_responder_may_send_to_the_queue_and_read_its_own_secret_only(plan, values):
    statements = _statements(plan, at("hs", 'data.aws_iam_policy_document.responder["zoom"]'))
    assert sorted(statements) == ["ReadSigningSecret", "SendToQueue", "WriteLogs"]
    send, unknown = statements["SendToQueue"]
    assert send["actions"] == ["sqs:SendMessage"] and unknown["resources"] == [True]
    secret, unknown = statements["ReadSigningSecret"]
    assert secret["actions"] == ["secretsmanager:GetSecretValue"]
    assert unknown["resources"] == [True]  # one ARN: the zoom source's secret
    actions = [a for s, _ in statements.values() for a in s["actions"]]
    assert "*" not in actions and not [a for a in actions if a.endswith(":*")]
    # <name>-<region>-resp-<source>: the region comes from the DLQ's ARN, known after apply
    # (iam.tf); test_complete_apply reads the names back.
    role = plan.resource_changes[at("hs", 'aws_iam_role.responder["zoom"]')]["change"]
    assert role["after_unknown"]["name"] is True
    permission = values[at("hs", 'aws_lambda_permission.responder["zoom"]')]
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    change = plan.resource_changes[at("hs", 'aws_lambda_permission.responder["zoom"]')]["change"]
    assert change["after_unknown"]["source_arn"] is True  # <execution arn>/*/POST/webhooks/zoom


def test_the_zoom_template_reads_zooms_headers(values):
    template = values[at("hs", 'aws_api_gateway_integration.this["zoom-plain"]')]["request_templates"][
        "application/json"
    ]
    assert "== 'x-zm-signature'" in template
    assert "== 'x-zm-request-timestamp'" in template


def test_the_processor_knows_zoom_and_its_tolerance(values):
    secrets = {a for a in values if a.startswith(at("hs", "aws_secretsmanager_secret.this["))}
    assert len(secrets) == 4  # every source verifies a signature


def test_a_failing_responder_alarms(values):
    prefix = at("hs", "aws_cloudwatch_metric_alarm.this[")
    alarms = {a[len(prefix) + 1 : -2]: v for a, v in values.items() if a.startswith(prefix)}
    assert {"responder_errors_slack-app", "responder_errors_zoom"} <= set(alarms)
    zoom = alarms["responder_errors_zoom"]
    assert zoom["namespace"] == "AWS/Lambda" and zoom["metric_name"] == "Errors"
    assert zoom["dimensions"] == {"FunctionName": "hs-responder-zoom"}
    assert "responder_errors_zoom-plain" not in alarms
