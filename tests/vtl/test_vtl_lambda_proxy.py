"""Lambda proxy (AWS_PROXY) methods through the local gateway: the event, the answer, the errors.

A handshake source's method (issue 15) is an AWS_PROXY integration to its responder function.
The gateway builds the REST proxy event (format 1.0), calls the `lambda_invoker` it was given
(here plain Python functions) and maps the result as AWS documents (tests/harness/gateway.py,
module docstring, "Lambda proxy"; docs/emulators.md, "Lambda proxy").
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.harness.gateway import (
    LAMBDA_MAX_SYNC_PAYLOAD_BYTES,
    MAX_PAYLOAD_BYTES,
    GatewaySpec,
    LambdaInvokeError,
    LocalGateway,
    Method,
    map_lambda_proxy_result,
    parse_lambda_uri,
)
from tests.harness.webhook_spec import webhook_spec

REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:webhooks-responder-slack"
URI = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{FUNCTION_ARN}/invocations"
SLACK_HEADERS = {
    "Content-Type": "application/json",
    "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    "X-Slack-Request-Timestamp": "1531420618",
}
INTERNAL = {"message": "Internal server error"}


class Recorder:
    """A plain-function invoker: records each (function ARN, event), answers `result` (or calls it)."""

    def __init__(self, result: Any = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.result = {"statusCode": 200, "body": '{"ok":true}'} if result is None else result

    def __call__(self, function_arn: str, event: dict[str, Any]) -> Any:
        self.calls.append((function_arn, event))
        return self.result(event) if callable(self.result) else self.result

    @property
    def event(self) -> dict[str, Any]:
        [(_, event)] = self.calls
        return event


def proxy_method(**overrides: Any) -> Method:
    fields: dict[str, Any] = {"integration_uri": URI, "integration_type": "AWS_PROXY"}
    fields.update(overrides)
    return Method(**fields)


def proxy_gateway(
    invoker: Any,
    *,
    resource: str = "/webhooks/{source}",
    method: Method | None = None,
    **spec_fields: Any,
) -> LocalGateway:
    spec = GatewaySpec({resource: {"POST": method or proxy_method()}}, rest_api_id="abc123", **spec_fields)
    # No SQS or S3 call is made: the endpoint is never used.
    return LocalGateway.from_spec(spec, "http://127.0.0.1:1", stage_name="v1", lambda_invoker=invoker)


# --------------------------------------------------------------------------- the event


def test_event_has_the_documented_shape() -> None:
    invoker = Recorder()
    gateway = proxy_gateway(invoker, stage_variables={"tier": "prod"})
    body = b'{"type":"url_verification","challenge":"3eZbrw1aB"}'
    headers = [*SLACK_HEADERS.items(), ("X-Multi", "one"), ("X-Multi", "two"), ("User-Agent", "Slackbot 1.0")]

    response = gateway.request(
        "POST",
        "/webhooks/slack?a=1&a=2&b=",
        body,
        headers,
        source_ip="203.0.113.9",
        request_time_epoch_ms=1_700_000_000_123,
    )

    assert response.status == 200, response
    [(function_arn, event)] = invoker.calls
    assert function_arn == FUNCTION_ARN == response.lambda_function_arn
    assert event == response.lambda_event
    assert (event["resource"], event["path"], event["httpMethod"]) == (
        "/webhooks/{source}",
        "/webhooks/slack",
        "POST",
    )
    # Content-Length (which the gateway adds, as a client sends it) is not in the event.
    assert event["headers"] == {**SLACK_HEADERS, "X-Multi": "two", "User-Agent": "Slackbot 1.0"}
    assert event["multiValueHeaders"] == {
        **{k: [v] for k, v in SLACK_HEADERS.items()},
        "X-Multi": ["one", "two"],
        "User-Agent": ["Slackbot 1.0"],
    }
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["pathParameters"] == {"source": "slack"}
    assert event["stageVariables"] == {"tier": "prod"}
    assert (event["body"], event["isBase64Encoded"]) == (body.decode(), False)
    context = event["requestContext"]
    assert context["requestId"] == response.request_id
    assert context["requestTimeEpoch"] == 1_700_000_000_123
    assert context["requestTime"] == "14/Nov/2023:22:13:20 +0000"
    assert context["identity"]["sourceIp"] == "203.0.113.9"
    assert context["identity"]["userAgent"] == "Slackbot 1.0"
    assert context["identity"]["caller"] is None and context["identity"]["userArn"] is None
    assert (context["stage"], context["resourcePath"], context["httpMethod"], context["apiId"]) == (
        "v1",
        "/webhooks/{source}",
        "POST",
        "abc123",
    )
    assert context["path"] == "/v1/webhooks/slack"
    assert "responseOverride" not in context
    # The event reached the function through JSON, and the invocation payload is that JSON.
    assert json.loads(response.integration_payload or b"") == event


def test_empty_maps_and_an_empty_body_are_null() -> None:
    invoker = Recorder()
    gateway = proxy_gateway(invoker, resource="/webhooks/slack")

    gateway.post("/webhooks/slack", b"", {})

    event = invoker.event
    assert event["body"] is None and event["isBase64Encoded"] is False
    for key in (
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
    ):
        assert event[key] is None, key
    # The only header, Content-Length, is left out.
    assert event["headers"] is None and event["multiValueHeaders"] is None


def test_text_body_is_utf8_with_replacement_without_binary_media_types() -> None:
    invoker = Recorder()
    gateway = proxy_gateway(invoker)

    gateway.post("/webhooks/slack", b'{"x":"\xff"}', SLACK_HEADERS)

    assert (invoker.event["body"], invoker.event["isBase64Encoded"]) == ('{"x":"\ufffd"}', False)


@pytest.mark.parametrize(
    ("binary_media_types", "content_type", "binary"),
    [
        (["*/*"], "application/json", True),
        (["application/octet-stream"], "application/octet-stream", True),
        (["image/*"], "image/png", True),
        (["application/octet-stream"], "application/json", False),
        (["*/*"], None, False),  # no Content-Type matches nothing
    ],
)
def test_binary_media_types_make_the_body_base64(
    binary_media_types: list[str], content_type: str | None, binary: bool
) -> None:
    invoker = Recorder()
    gateway = proxy_gateway(invoker, binary_media_types=binary_media_types)
    body = bytes(range(256))

    gateway.post("/webhooks/slack", body, {"Content-Type": content_type} if content_type else {})

    event = invoker.event
    assert event["isBase64Encoded"] is binary
    if binary:
        assert base64.b64decode(event["body"]) == body
    else:
        assert event["body"] == body.decode("utf-8", errors="replace")


def test_stage_variables_in_the_function_arn() -> None:
    invoker = Recorder()
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/arn:aws:lambda:{REGION}:{ACCOUNT}:function:${{stageVariables.fn}}/invocations"
    gateway = proxy_gateway(
        invoker, method=proxy_method(integration_uri=uri), stage_variables={"fn": "responder"}
    )

    gateway.post("/webhooks/slack", b"{}", SLACK_HEADERS)

    assert invoker.calls[0][0] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:responder"
    assert parse_lambda_uri(URI) == FUNCTION_ARN
    with pytest.raises(NotImplementedError):
        parse_lambda_uri(f"arn:aws:apigateway:{REGION}:sqs:path/{ACCOUNT}/queue")


# --------------------------------------------------------------------------- the answer


def test_result_maps_to_the_answer() -> None:
    result = {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "X-Solo": "a", "X-Bool": True},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": '{"challenge":"3eZbrw1aB"}',
        "isBase64Encoded": False,
    }
    gateway = proxy_gateway(Recorder(result))

    response = gateway.post("/webhooks/slack", b"{}", SLACK_HEADERS)

    assert (response.status, response.json()) == (200, {"challenge": "3eZbrw1aB"})
    assert response.headers["Content-Type"] == "application/json"
    assert (response.headers["X-Solo"], response.headers["X-Bool"]) == ("a", "true")
    assert response.headers["Set-Cookie"] == "a=1, b=2"
    assert response.headers["x-amzn-RequestId"] == response.request_id
    assert (response.integration_status, json.loads(response.integration_body or "")) == (200, result)
    assert response.body_bytes is None


def test_status_and_content_type_defaults() -> None:
    """AWS-recorded: no statusCode -> 200, "201" -> 201, no Content-Type -> application/json."""
    for result, status in (({"headers": {"x": "y"}}, 200), ({"statusCode": "201"}, 201), ({}, 200)):
        response = proxy_gateway(Recorder(result)).post("/webhooks/slack", b"{}", SLACK_HEADERS)
        assert (response.status, response.body) == (status, ""), result
        assert response.headers["Content-Type"] == "application/json"
    text = proxy_gateway(
        Recorder({"statusCode": 415, "headers": {"content-type": "text/plain"}, "body": "no"})
    )
    response = text.post("/webhooks/slack", b"{}", SLACK_HEADERS)
    assert (response.status, response.body) == (415, "no")
    assert [k for k in response.headers if k.lower() == "content-type"] == ["content-type"]
    assert response.headers["content-type"] == "text/plain"


def test_headers_in_both_maps_merge_as_recorded() -> None:
    """AWS-recorded: multiValueHeaders values first, its name's casing kept, joined with ", "."""
    result = {
        "statusCode": 200,
        "multiValueHeaders": {"tesT-Multi": ["value-multi"], "same": ["v"]},
        "headers": {"test-multi": "value-solo", "same": "v"},
    }
    response = proxy_gateway(Recorder(result)).post("/webhooks/slack", b"{}", SLACK_HEADERS)

    assert response.headers["tesT-Multi"] == "value-multi, value-solo"
    assert "test-multi" not in response.headers
    assert response.headers["same"] == "v"  # "only the values from multiValueHeaders"


@pytest.mark.parametrize(
    "result",
    [
        "justAString",
        None,
        [],
        {"statusCode": 200, "wrongValue": "value"},
        {"statusCode": "test"},
        {"statusCode": True},
        {"statusCode": 99},
        {"statusCode": 600},
        {"statusCode": 200, "multiValueHeaders": {"test-multi-invalid": "value1"}},
        {"statusCode": 200, "multiValueHeaders": ["x"]},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "headers": {"x": 1}},
        {"statusCode": 200, "body": {"challenge": "x"}},
        {"statusCode": 200, "isBase64Encoded": "yes"},
    ],
)
def test_malformed_result_is_502(result: Any) -> None:
    invoker = Recorder(lambda event: result)
    response = proxy_gateway(invoker).post("/webhooks/slack", b"{}", SLACK_HEADERS)

    assert (response.status, response.json()) == (502, INTERNAL), result
    assert response.headers["x-amzn-ErrorType"] == "InternalServerErrorException"
    assert len(invoker.calls) == 1


def test_binary_answer_only_for_a_binary_accept() -> None:
    data = bytes(range(256))
    result = {"statusCode": 200, "body": base64.b64encode(data).decode(), "isBase64Encoded": True}
    gateway = proxy_gateway(Recorder(result), binary_media_types=["image/png"])

    binary = gateway.post("/webhooks/slack", b"{}", {**SLACK_HEADERS, "Accept": "image/png, text/html"})
    assert binary.status == 200 and binary.body_bytes == data
    for accept in (None, "text/html, image/png", "application/json"):
        headers = {**SLACK_HEADERS, **({"Accept": accept} if accept else {})}
        text = gateway.post("/webhooks/slack", b"{}", headers)
        # Not a binary Accept (only the first media type counts): the base64 text is the answer.
        assert (text.status, text.body, text.body_bytes) == (200, result["body"], None), accept
    # AWS-recorded: without binary media types, isBase64Encoded true answers the base64 text.
    plain = proxy_gateway(Recorder(result)).post("/webhooks/slack", b"{}", {**SLACK_HEADERS, "Accept": "*/*"})
    assert plain.body == result["body"]


def test_binary_answer_that_is_not_base64_is_500() -> None:
    result = {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True}
    gateway = proxy_gateway(Recorder(result), binary_media_types=["*/*"])

    response = gateway.post("/webhooks/slack", b"{}", {**SLACK_HEADERS, "Accept": "*/*"})

    assert (response.status, response.json()) == (500, INTERNAL)


@pytest.mark.parametrize(
    ("result", "accept_binary", "expected"),
    [
        ({"statusCode": 204}, False, (204, {"Content-Type": "application/json"}, "")),
        ({"body": "aGk=", "isBase64Encoded": True}, True, (200, {"Content-Type": "application/json"}, b"hi")),
        (
            {"body": "aGk=", "isBase64Encoded": True},
            False,
            (200, {"Content-Type": "application/json"}, "aGk="),
        ),
        ({"body": "aGk", "isBase64Encoded": True}, True, "not base64"),
        ({"statusCode": 200, "extra": 1}, False, None),
    ],
)
def test_map_lambda_proxy_result(result: Any, accept_binary: bool, expected: Any) -> None:
    assert map_lambda_proxy_result(result, accept_binary) == expected


# --------------------------------------------------------------------------- errors


def test_function_error_is_502_and_not_retried() -> None:
    def failing(event: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    invoker = Recorder(failing)
    response = proxy_gateway(invoker).post("/webhooks/slack", b"{}", SLACK_HEADERS)

    assert (response.status, response.json()) == (502, INTERNAL)
    assert json.loads(response.integration_body or "") == {
        "errorMessage": "boom",
        "errorType": "RuntimeError",
    }
    assert len(invoker.calls) == 1  # "API Gateway does not retry any Lambda invocations"


def test_result_that_is_not_json_is_502() -> None:
    response = proxy_gateway(Recorder(lambda event: {"statusCode": 200, "body": b"bytes"})).post(
        "/webhooks/slack", b"{}", SLACK_HEADERS
    )
    assert (response.status, response.json()) == (502, INTERNAL)


def test_refused_invocations_are_500() -> None:
    def throttled(function_arn: str, event: dict[str, Any]) -> Any:
        raise LambdaInvokeError("TooManyRequestsException", "Rate Exceeded.")

    for gateway in (proxy_gateway(throttled), proxy_gateway(None)):
        response = gateway.post("/webhooks/slack", b"{}", SLACK_HEADERS)
        assert (response.status, response.json()) == (500, INTERNAL)


def test_integration_method_other_than_post_is_500() -> None:
    invoker = Recorder()
    gateway = proxy_gateway(invoker, method=proxy_method(integration_http_method="GET"))

    response = gateway.post("/webhooks/slack", b"{}", SLACK_HEADERS)

    assert (response.status, response.json(), invoker.calls) == (500, INTERNAL, [])


def test_event_over_lambdas_payload_quota_is_500_without_a_call() -> None:
    invoker = Recorder()
    gateway = proxy_gateway(invoker)
    body = b"x" * LAMBDA_MAX_SYNC_PAYLOAD_BYTES  # under API Gateway's 10 MB, over Lambda's 6 MB event

    response = gateway.post("/webhooks/slack", body, SLACK_HEADERS)

    assert (response.status, response.json(), invoker.calls) == (500, INTERNAL, [])


def test_result_over_lambdas_payload_quota_is_502() -> None:
    big = {"statusCode": 200, "body": "x" * LAMBDA_MAX_SYNC_PAYLOAD_BYTES}
    response = proxy_gateway(Recorder(big)).post("/webhooks/slack", b"{}", SLACK_HEADERS)
    assert (response.status, response.json()) == (502, INTERNAL)


def test_timeouts_are_504_and_the_functions_effects_stay() -> None:
    done: list[str] = []

    def slow(event: dict[str, Any]) -> Any:
        time.sleep(0.2)
        done.append(event["requestContext"]["requestId"])  # e.g. the message it queued
        return {"statusCode": 200}

    gateway = proxy_gateway(Recorder(slow))
    gateway.integration_timeout_s = 0.05
    response = gateway.post("/webhooks/slack", b"{}", SLACK_HEADERS)
    assert (response.status, response.json()) == (504, {"message": "Endpoint request timed out"})
    assert done == [response.request_id]

    def timing_out(function_arn: str, event: dict[str, Any]) -> Any:
        raise TimeoutError

    response = proxy_gateway(timing_out).post("/webhooks/slack", b"{}", SLACK_HEADERS)
    assert response.status == 504


# --------------------------------------------------------------------------- the method request


def test_request_validation_runs_before_the_call() -> None:
    invoker = Recorder()
    method = proxy_method(
        validate_request_body=True,
        validate_request_parameters=True,
        request_models={"application/json": {"type": "object"}},
        request_parameters={"method.request.header.X-Slack-Signature": True},
    )
    gateway = proxy_gateway(
        invoker,
        method=method,
        gateway_responses={"BAD_REQUEST_BODY": ("400", '{"error":"invalid_body"}')},
    )

    not_json = gateway.post("/webhooks/slack", b"{not json", SLACK_HEADERS)
    assert (not_json.status, not_json.json()) == (400, {"error": "invalid_body"})
    unsigned = {k: v for k, v in SLACK_HEADERS.items() if k != "X-Slack-Signature"}
    missing = gateway.post("/webhooks/slack", b"{}", unsigned)
    assert missing.status == 400
    assert missing.json() == {"message": "Missing required request parameters: [X-Slack-Signature]"}
    too_large = gateway.post("/webhooks/slack", b"x" * (MAX_PAYLOAD_BYTES + 1), SLACK_HEADERS)
    assert too_large.status == 413
    assert invoker.calls == []

    assert gateway.post("/webhooks/slack", b"{}", SLACK_HEADERS).status == 200
    assert len(invoker.calls) == 1


def test_templates_and_passthrough_do_not_apply() -> None:
    """No 415 at the edge: the raw request reaches the function (it refuses what it must)."""
    invoker = Recorder()
    method = proxy_method(
        request_templates={"application/json": "#set($x = 1)"}, passthrough_behavior="NEVER"
    )
    gateway = proxy_gateway(invoker, method=method)

    response = gateway.post("/webhooks/slack", b"a=1", {"Content-Type": "text/plain"})

    assert response.status == 200
    assert invoker.event["body"] == "a=1"


def test_unknown_route_never_calls_the_function() -> None:
    invoker = Recorder()
    gateway = proxy_gateway(invoker, resource="/webhooks/slack")

    assert gateway.post("/webhooks/zoom", b"{}", SLACK_HEADERS).status == 403
    assert gateway.request("GET", "/webhooks/slack", b"", {}).status == 403
    assert invoker.calls == []


# --------------------------------------------------------------------------- a deployed API


def test_gateway_runs_a_deployed_lambda_proxy_method(apigw: Any, moto_url: str) -> None:
    api_id = apigw.create_rest_api(name=f"webhooks-{uuid.uuid4().hex[:8]}")["id"]
    root = next(r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    parent = apigw.create_resource(restApiId=api_id, parentId=root["id"], pathPart="webhooks")
    resource = apigw.create_resource(restApiId=api_id, parentId=parent["id"], pathPart="slack")
    ids = {"restApiId": api_id, "resourceId": resource["id"], "httpMethod": "POST"}
    apigw.put_method(**ids, authorizationType="NONE")
    apigw.put_integration(**ids, type="AWS_PROXY", integrationHttpMethod="POST", uri=URI)
    apigw.create_deployment(restApiId=api_id, stageName="v1")

    def responder(function_arn: str, event: dict[str, Any]) -> dict[str, Any]:
        challenge = json.loads(event["body"])["challenge"]
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"challenge": challenge}),
        }

    invoker: Callable[[str, dict[str, Any]], Any] = responder
    gateway = LocalGateway(apigw, moto_url, api_id, "v1", lambda_invoker=invoker)

    method = gateway.spec.resources["/webhooks/slack"]["POST"]
    assert (method.integration_type, method.integration_uri) == ("AWS_PROXY", URI)
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aB", "token": "t"}).encode()
    response = gateway.post("/webhooks/slack", body, SLACK_HEADERS)
    assert (response.status, response.json()) == (200, {"challenge": "3eZbrw1aB"})
    assert response.lambda_event is not None and response.lambda_event["requestContext"]["apiId"] == api_id


def test_sqs_and_lambda_proxy_methods_on_one_api(
    moto_url: str,
    sqs: Any,
    make_queue: Callable[..., tuple[str, str]],
    receive_all: Callable[[str], list[dict[str, Any]]],
) -> None:
    """A github source stays queue-first; a slack handshake source's function queues what it gets."""
    name, queue_url = make_queue()
    spec = webhook_spec(name, "github", "github")

    def responder(function_arn: str, event: dict[str, Any]) -> dict[str, Any]:
        sqs.send_message(QueueUrl=queue_url, MessageBody=event["body"])
        return {"statusCode": 200, "body": json.dumps({"status": "accepted"})}

    spec.resources["/webhooks/slack"] = {"POST": proxy_method()}
    gateway = LocalGateway.from_spec(spec, moto_url, lambda_invoker=responder)

    github = gateway.post("/webhooks/github", b'{"zen":"x"}', {"Content-Type": "application/json"})
    slack = gateway.post("/webhooks/slack", b'{"type":"event_callback"}', SLACK_HEADERS)

    assert (github.status, github.lambda_event) == (200, None)
    assert github.integration_request is not None and "Action=SendMessage" in github.integration_request
    assert (slack.status, slack.json()) == (200, {"status": "accepted"})
    bodies = sorted(m["Body"] for m in receive_all(queue_url))
    assert bodies == ['{"type":"event_callback"}', '{"zen":"x"}']
