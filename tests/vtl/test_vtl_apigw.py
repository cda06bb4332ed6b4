"""The local gateway on a REST API deployed to moto's API Gateway, then the ESM poller on the queue."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.harness.gateway import LocalGateway
from tests.harness.poller import EventSourceMappingPoller
from tests.harness.webhook_spec import (
    INTEGRATION_RESPONSES,
    SCHEME_HEADERS,
    request_template,
    response_template,
)

ACCOUNT = "123456789012"
HEADERS = {
    "Content-Type": "application/json",
    "X-GitHub-Delivery": "d-1",
    "X-Hub-Signature-256": "sha256=00",
    "X-GitHub-Event": "push",
}


def deploy_webhook_api(apigw: Any, queue_name: str, stage: str = "v1") -> str:
    """What the module's Terraform creates for one `github` source, made with boto3."""
    api = apigw.create_rest_api(name=f"webhooks-{queue_name}", endpointConfiguration={"types": ["REGIONAL"]})
    api_id = api["id"]
    root = next(r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    parent = apigw.create_resource(restApiId=api_id, parentId=root["id"], pathPart="webhooks")
    resource = apigw.create_resource(restApiId=api_id, parentId=parent["id"], pathPart="github")
    apigw.create_model(
        restApiId=api_id,
        name="AnyJson",
        contentType="application/json",
        schema=json.dumps({"$schema": "http://json-schema.org/draft-04/schema#", "title": "AnyJson"}),
    )
    validator = apigw.create_request_validator(
        restApiId=api_id, name="body", validateRequestBody=True, validateRequestParameters=False
    )
    ids = {"restApiId": api_id, "resourceId": resource["id"], "httpMethod": "POST"}
    apigw.put_method(
        **ids,
        authorizationType="NONE",
        requestValidatorId=validator["id"],
        requestModels={"application/json": "AnyJson"},
    )
    template = request_template("github", **SCHEME_HEADERS["github"])
    apigw.put_integration(
        **ids,
        type="AWS",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:us-east-1:sqs:path/{ACCOUNT}/{queue_name}",
        credentials=f"arn:aws:iam::{ACCOUNT}:role/apigw-sqs",
        requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
        requestTemplates={"application/json": template, "application/x-www-form-urlencoded": template},
        passthroughBehavior="NEVER",
    )
    for status, pattern, file in INTEGRATION_RESPONSES:
        apigw.put_method_response(**ids, statusCode=status)
        apigw.put_integration_response(
            **ids,
            statusCode=status,
            responseTemplates={"application/json": response_template(file)},
            **({"selectionPattern": pattern} if pattern else {}),
        )
    apigw.create_deployment(restApiId=api_id, stageName=stage)
    return api_id


def test_gateway_runs_the_deployed_config(
    apigw: Any,
    moto_url: str,
    sqs: Any,
    make_queue: Callable[..., tuple[str, str]],
    receive_all: Callable[[str], list[dict[str, Any]]],
) -> None:
    name, url = make_queue()
    gateway = LocalGateway(apigw, moto_url, deploy_webhook_api(apigw, name), "v1")

    method = gateway.spec.resources["/webhooks/github"]["POST"]
    assert method.passthrough_behavior == "NEVER" and method.validate_request_body
    assert {r.selection_pattern for r in method.integration_responses} == {
        r"2\d{2}",
        r"4\d{2}",
        r"5\d{2}",
        None,
    }

    ok = gateway.post("/webhooks/github", b'{"a": "b&c"}', HEADERS)
    assert (ok.status, ok.json()) == (200, {"status": "accepted", "request_id": ok.request_id})
    assert gateway.post("/webhooks/github", b"x", {"Content-Type": "text/plain"}).status == 415
    assert gateway.post("/webhooks/github", b"{", HEADERS).status == 400
    gateway.sqs_fault = lambda form: 500
    assert gateway.post("/webhooks/github", b"{}", HEADERS).status == 503
    gateway.sqs_fault = lambda form: 403
    assert gateway.post("/webhooks/github", b"{}", HEADERS).status == 503
    gateway.sqs_fault = lambda form: 302
    assert gateway.post("/webhooks/github", b"{}", HEADERS).status == 502
    gateway.sqs_fault = None

    [message] = receive_all(url)
    assert message["Body"] == '{"a": "b&c"}'
    assert message["MessageAttributes"]["delivery_id"]["StringValue"] == "d-1"
    assert message["MessageAttributes"]["request_id"]["StringValue"] == ok.request_id


def test_gateway_to_poller_to_handler_with_dlq(
    apigw: Any, moto_url: str, sqs: Any, make_queue: Callable[..., tuple[str, str]]
) -> None:
    """Accepted deliveries reach the handler as Lambda SQS records; a poison one ends in the DLQ."""
    name, url = make_queue(max_receive_count=3)
    gateway = LocalGateway(apigw, moto_url, deploy_webhook_api(apigw, name), "v1")
    for i in range(4):
        assert gateway.post("/webhooks/github", json.dumps({"n": i}).encode(), HEADERS).status == 200
    assert gateway.post("/webhooks/github", b'{"poison": true}', HEADERS).status == 200

    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        assert 0 < context.get_remaining_time_in_millis() <= 30_000
        seen.extend(event["Records"])
        failures = [r for r in event["Records"] if "poison" in r["body"]]
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in failures]}

    stats = EventSourceMappingPoller(sqs, url, handler, batch_size=10).drain(max_rounds=20)

    assert sorted(r["body"] for r in seen if "poison" not in r["body"]) == [
        json.dumps({"n": i}) for i in range(4)
    ]
    poison = [r for r in seen if "poison" in r["body"]]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in poison] == ["1", "2", "3"]
    assert (stats.deleted, stats.retried) == (4, 3)
    record = seen[0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(f":{name}")
    assert record["messageAttributes"]["source"] == {
        "stringValue": "github",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["received_at_ms"]["dataType"] == "Number"
    dlq = sqs.get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"]
    [dead] = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert dead["Body"] == '{"poison": true}'
