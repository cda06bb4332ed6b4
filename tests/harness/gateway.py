"""A local API Gateway (REST: AWS integrations to SQS and S3, Lambda proxy integrations) that runs the deployed configuration.

moto stores an API's resources, methods, integrations and integration responses
but cannot execute them (no VTL, no SQS or S3 call, no Lambda invocation).
`LocalGateway` reads that configuration back with boto3 and executes it the way
API Gateway documents:

  route -> request validation -> payload encoding (binary media types, content
  handling) -> request template by Content-Type (or 415 under passthrough NEVER)
  -> integration request parameters -> the AWS call (SQS: POST the form to SQS's
  query endpoint; S3: PUT the payload to the object the path override names)
  -> select the integration response by selection pattern on the service's
  status -> response template -> `$context.responseOverride.status`.

  An AWS_PROXY (Lambda proxy) method: route -> request validation -> the proxy
  event -> `lambda_invoker(function_arn, event)` -> the function's result mapped
  to the answer (module docstring, "Lambda proxy").

`GatewaySpec` is the same configuration as plain data, so templates can be tested
without moto's API Gateway (`LocalGateway.from_spec`).

Content types. Request templates and request models are selected by the request's
media type, compared case-insensitively: "The type and subtype tokens are
case-insensitive" (RFC 9110, section 8.3.1, "Media Type"). Its parameters
(`; charset=utf-8`) are dropped, from the request's Content-Type and from the keys
alike. That is one of two readings: AWS does not say whether API Gateway selects by
the exact Content-Type string (LocalStack does, and answers 415 to
`application/json; charset=utf-8` when only `application/json` is keyed) or by the
media type. The module keys every template and model by the base type and its
charset spellings (main.tf, `template_content_types`), so both readings select the
same template for what senders send. A media type in another case
(`Application/JSON`) is the remaining difference: 200 here, 415 on an exact-string
reader; refused, never lost, either way (docs/emulators.md, `media-type-case`).

Request body. A non-binary payload reaches templates as text decoded as UTF-8,
malformed bytes as U+FFFD. An empty payload reads as `{}` for `$input.body` and for
the request validator (LocalStack's AWS-recorded tests, PRs #7916 and #12413;
vtl.EMPTY_BODY). A request without Content-Length or Transfer-Encoding gets
`Content-Length: <body bytes>`, as an HTTP client sends it ("A user agent SHOULD
send Content-Length in a request when the method defines a meaning for enclosed
content and it is not sending Transfer-Encoding", RFC 9110, section 8.6); templates
see it among the headers. (LocalStack drops it before mapping; AWS does not say.)

Payload encoding (AWS, "Content type conversions in API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html):
the integration request payload depends on whether the request's Content-Type
matches the API's `binaryMediaTypes` and on the integration's `contentHandling`:

  - no match (or none set), unset or CONVERT_TO_TEXT: "UTF8-encoded string" (the
    bytes decoded as UTF-8, malformed ones as U+FFFD, and re-encoded);
  - no match, CONVERT_TO_BINARY: "Base64-decoded binary blob";
  - a match, unset or CONVERT_TO_BINARY: "Binary data", the bytes as received;
  - a match, CONVERT_TO_TEXT: "Base64-encoded string".

Matching (`binary_media_type_matches`): "You can use the wildcard character (*) to
cover multiple media types. For example, */* includes all content types" (*Working
with binary media types for REST APIs*,
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-content-encodings-examples.html):
`*/*` matches every Content-Type, `type/*` every subtype of `type`; otherwise the
media type must be equal (case-insensitive, parameters dropped, as above). A
request without Content-Type matches nothing (AWS: undocumented; LocalStack's
reading). A payload that is not valid base64 under CONVERT_TO_BINARY answers 500
"Internal server error" (AWS: undocumented; LocalStack's reading). Templates always
read the text decoding (`$input.body`); the table applies to what is sent.

Integration request parameters (AWS, *Parameter mapping source reference for REST
APIs in API Gateway*,
https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-parameter-mapping-sources.html):
`integration.request.{header,path,querystring}.<name>` from `'static value'`,
`method.request.header.<name>` (looked up case-insensitively, RFC 9110, 5.1: "Field
names are case-insensitive"; AWS does not say, and LocalStack's lookup is
case-sensitive), `method.request.querystring.<name>`, `method.request.path.<name>`,
`context.<name>` ("The name must be one of the supported context variables": the
same `$context` the templates get, dotted for nested ones such as
`context.identity.sourceIp`; numbers as their decimal text) and
`stageVariables.<name>`. A mapping whose source the request does not have (a header
it does not carry) is left out of the integration request (AWS: undocumented;
LocalStack leaves it out too). Other sources (`method.request.body`, multi-value)
raise NotImplementedError. `integration.request.path.<name>` fills `{name}` in the
integration URI, percent-encoded (LocalStack substitutes it raw; AWS: undocumented;
request ids need no encoding either way); a `{name}` left unfilled answers 500.

S3 (AWS, *Tutorial: Create a REST API as an Amazon S3 proxy* and *OpenAPI
definitions of the sample API as an Amazon S3 proxy*,
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-as-s3-proxy-export-swagger-with-extensions.html:
`"uri": "arn:aws:apigateway:us-west-2:s3:path/{bucket}/{object}"` with
`"integration.request.path.object": "method.request.path.item"` and
`"integration.request.header.Content-Type": "method.request.header.Content-Type"`):
`arn:<partition>:apigateway:<region>:s3:path/<bucket>/<key>` is a path-style request
`<integration http method> <s3 endpoint>/<bucket>/<key>` (PUT: PutObject), SigV4
signed for service "s3" with the mapped headers (moto routes on the credential
scope and ignores the signature). S3's status and body then select the integration
response exactly as SQS's do. `s3_fault` replaces the call, as `sqs_fault` does.

Response payload (the same AWS page, its second table): the method response payload
depends on whether the service's answer Content-Type matches binaryMediaTypes
("binary data"), whether the request's Accept does (only its first media type:
"API Gateway honors only the first Accept media type"), and the integration
response's contentHandling (`convert_response_payload`): a binary answer becomes a
base64 string under CONVERT_TO_TEXT, or when contentHandling is unset and Accept is
not binary, else stays bytes; a text answer stays text under CONVERT_TO_TEXT, or when
unset and Accept is not binary, else is base64-decoded (CONVERT_TO_BINARY, or unset
with a binary Accept). A response template given bytes answers 500 "Internal server
error": AWS does not document it; LocalStack's reading, from its AWS-validated tests
("responseTemplates VTL rendering actually needs the value to be a string",
localstack PR #12215). Under binaryMediaTypes `*/*` that is every request whose
Accept is set (`*/*`, `application/json`) unless the integration response says
CONVERT_TO_TEXT. The status API Gateway picks does not depend on the template
otherwise: the module declares every status on the integration responses.

Lambda proxy (AWS, *Set up Lambda proxy integrations in API Gateway*,
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html,
its sections "Input format of a Lambda function for proxy integration" and "Output
format of a Lambda function for proxy integration"). An integration of type AWS_PROXY
whose uri is `arn:<partition>:apigateway:<region>:lambda:path/2015-03-31/functions/
<function arn>/invocations` (`${stageVariables.x}` in it filled from the stage: *Use
Amazon API Gateway Stage Variables*, "in Lambda Function, type ${stageVariables.function}")
calls `lambda_invoker(function_arn, event)`, once ("API Gateway does not retry any
Lambda invocations", AWS Lambda Developer Guide, *Handling Lambda errors with an API
Gateway API*, https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html).
Method request validation (models, required parameters) runs first, as for every
method; request templates, passthrough behaviour and integration request parameters
do not apply ("API Gateway passes to the integrated Lambda function the raw request
as-is"). The event (`lambda_proxy_event`), as the input format and its example show:
resource, path, httpMethod, headers ("can only contain single-value headers": the last
value of a repeated one, by analogy with the example, whose queryStringParameters keeps
the last of `multivalueName=you&multivalueName=me`), multiValueHeaders (every value, in
order; `headers` may be given to `request` as (name, value) pairs to repeat one),
queryStringParameters, multiValueQueryStringParameters, pathParameters,
stageVariables, requestContext (the `$context` variables: requestId,
requestTimeEpoch, requestTime, identity with sourceIp and userAgent and the other
identity keys null, stage, resourcePath, httpMethod, path, apiId, accountId,
resourceId, protocol), body, isBase64Encoded. An
empty map and an empty body are null, and the event carries no Content-Length header
(LocalStack's AWS-recorded snapshots, test_apigateway_lambda.snapshot.json,
test_lambda_aws_proxy_integration: `"body": null`, `"queryStringParameters": null`,
`"stageVariables": null`, and a POST's headers without Content-Length). body is the
payload as text (UTF-8, malformed bytes as U+FFFD) with isBase64Encoded false, or,
when the request's Content-Type matches binaryMediaTypes ("a list of content types
that your API treats as binary data", *Binary media types for REST APIs*), its base64
with isBase64Encoded true ("A boolean flag to indicate if the applicable request
payload is Base64-encoded"). LocalStack instead base64-encodes a body exactly when it
is not valid UTF-8; the integration's contentHandling is not applied to a proxy
event (AWS: undocumented; LocalStack does not apply it either). The event is passed
through JSON, as Lambda receives it.

The result (`map_lambda_proxy_result`) must be a JSON object with only the keys
isBase64Encoded, statusCode, headers, multiValueHeaders and body; "If the function
output is of a different format, API Gateway returns a 502 Bad Gateway error
response". Details from LocalStack's AWS-recorded test_aws_proxy_response_payload_
format_validation: statusCode missing -> 200, "201" -> 201, "test" -> 502; an unknown
key -> 502; a result that is not an object -> 502; header values may be strings or
booleans (`true` -> "true"); a multiValueHeaders value that is not a list -> 502;
headers null -> none; no Content-Type from the function -> `application/json`; a
header in both maps is one header, the multiValueHeaders values first and its name's
casing kept, joined with ", " ("If the same key-value pair is specified in both, only
the values from multiValueHeaders will appear"). Harness choices (AWS: undocumented):
a body that is not a string, header values of another type and a status outside
100-599 -> 502. isBase64Encoded true decodes the body to bytes only when the request's
first Accept media type matches binaryMediaTypes ("API Gateway uses the first Accept
header from clients to determine if a response should return binary media", *Return
binary media from a Lambda proxy integration*); otherwise the base64 text is the
answer (AWS-recorded: `isBase64Encoded: true` without binary media types answers
"dGVzdC1kYXRh"). A body that is not base64 there answers 500 (LocalStack's reading).

Lambda errors ("If the Lambda API rejects the invocation request, API Gateway
returns a 500 error code. If the function runs but returns an error, or returns a
response in the wrong format, API Gateway returns a 502. In both cases, the body of
the response from API Gateway is {"message": "Internal server error"}", *Handling
Lambda errors with an API Gateway API*): no `lambda_invoker`, a `LambdaInvokeError`
raised by it (throttling, access denied), and an event over Lambda's 6 MB synchronous
payload quota (6291456 bytes, *Lambda quotas*) -> 500, the function not run; any
other exception (the function's error), a result that is not JSON-serialisable or
over 6 MB -> 502 (the DEFAULT_5XX gateway response: which one AWS uses is
undocumented). An integration httpMethod other than POST -> 500 (LocalStack's
AWS-recorded test_lambda_aws_proxy_integration_non_post_method). A call that raises
TimeoutError or takes longer than `integration_timeout_s` (29 s, "Integration
timeout" in *Amazon API Gateway quotas*) -> 504 "Endpoint request timed out"; its
effects (a message queued) stay, as the function runs on after API Gateway gives up.

Not emulated: authorizers, API keys/usage plans, resource policies (so
`allowed_cidrs` is unproven here: every source IP is let in), S3's own header rules
(metadata values must be US-ASCII for REST PUTs, the 2 KB metadata limit,
Content-MD5, checksums: moto stores what it gets), the integration's IAM role and
Lambda's resource policy (lambda:InvokeFunction for apigateway.amazonaws.com),
caching, throttling, integrations other than SQS and S3 path overrides and Lambda
proxy (S3 action-style URIs, Lambda non-proxy, HTTP, HTTP_PROXY, MOCK), integration
querystrings on SQS calls; for Lambda proxy: the headers CloudFront and API Gateway
add to the event (Host, Via, X-Forwarded-*, X-Amzn-Trace-Id, CloudFront-*),
requestContext keys beyond the `$context` above (domainName, deploymentId,
authorizer), asynchronous invocation (`X-Amz-Invocation-Type: Event`), response
streaming, and the function's own timeout and concurrency (the invoker is a plain
call).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import jsonschema
import requests

from tests.harness import vtl

# API Gateway REST limits (AWS "Amazon API Gateway quotas").
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
INTEGRATION_TIMEOUT_S = 29.0
# Lambda's synchronous invocation payload quota, request and response each (AWS "Lambda
# quotas": 6 MB; Lambda's refusal says "Request must be smaller than 6291456 bytes").
LAMBDA_MAX_SYNC_PAYLOAD_BYTES = 6291456

# SQS SendMessage rules moto 5.2.5 does not enforce (it accepts all of these):
# at most 10 message attributes, no empty attribute values, body characters
# limited to the XML 1.0 set, size in bytes of body + attribute names, types
# and values (moto counts body characters only), and a non-empty body.
SQS_MAX_ATTRIBUTES = 10
SQS_MIN_MAXIMUM_MESSAGE_SIZE = 1024
_SQS_INVALID_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

T = TypeVar("T")


@dataclass
class S3Request:
    """The S3 call an S3 path integration is about to make (what `s3_fault` is given)."""

    http_method: str  # the integration's httpMethod: PUT for PutObject
    bucket: str
    key: str  # the object key, decoded
    url: str  # <s3 endpoint>/<bucket>/<key, percent-encoded>[?<mapped querystring>]
    headers: dict[str, str]  # the mapped integration request headers (before signing)
    body: bytes


# What `request` takes as headers: a mapping, or (name, value) pairs (a name may repeat).
Headers = Mapping[str, str] | list[tuple[str, str]]

# The fault hooks: the rendered request -> None (make the call), a status, or
# (status, the service's answer body). SQS gets the SendMessage form, S3 an S3Request.
SqsFault = Callable[[str], int | tuple[int, str] | None]
S3Fault = Callable[[S3Request], int | tuple[int, str] | None]

# The Lambda proxy hook: (function ARN, the proxy event) -> what the function returned (the
# proxy result). Raise LambdaInvokeError for a refused invocation, anything else for a function
# error, TimeoutError for a call API Gateway gives up on.
LambdaInvoker = Callable[[str, dict[str, Any]], Any]

CONVERT_TO_TEXT = "CONVERT_TO_TEXT"
CONVERT_TO_BINARY = "CONVERT_TO_BINARY"
AWS_PROXY = "AWS_PROXY"


class LambdaInvokeError(Exception):
    """Raised by a `lambda_invoker` when Lambda's API refuses the invocation (throttling, access
    denied, function not found): API Gateway answers 500, the function does not run."""

    def __init__(self, code: str = "TooManyRequestsException", message: str = "Rate Exceeded.") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


# --------------------------------------------------------------------------- configuration


@dataclass
class IntegrationResponse:
    status_code: str
    selection_pattern: str | None = None  # None or "": the default response
    response_templates: dict[str, str] = field(default_factory=dict)
    response_parameters: dict[str, str] = field(default_factory=dict)
    content_handling: str | None = None  # None, CONVERT_TO_TEXT or CONVERT_TO_BINARY


@dataclass
class Method:
    # arn:aws:apigateway:REGION:sqs:path/ACCOUNT/QUEUE or arn:aws:apigateway:REGION:s3:path/BUCKET/KEY
    # (with {name} placeholders filled by integration.request.path.<name>): the kinds emulated.
    integration_uri: str
    request_templates: dict[str, str] = field(default_factory=dict)
    passthrough_behavior: str = "WHEN_NO_MATCH"
    integration_http_method: str = "POST"
    integration_request_parameters: dict[str, str] = field(default_factory=dict)
    integration_responses: list[IntegrationResponse] = field(default_factory=list)
    validate_request_body: bool = False
    validate_request_parameters: bool = False
    request_models: dict[str, dict[str, Any]] = field(default_factory=dict)  # content type -> schema
    request_parameters: dict[str, bool] = field(default_factory=dict)  # method.request.header.X -> required
    content_handling: str | None = None  # the integration's: None, CONVERT_TO_TEXT or CONVERT_TO_BINARY
    # AWS (SQS/S3 above) or AWS_PROXY: a Lambda proxy integration, integration_uri
    # arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations.
    integration_type: str = "AWS"


@dataclass
class GatewaySpec:
    """resources: resource path (`/webhooks/github`, `/webhooks/{source}`) -> HTTP method -> Method."""

    resources: dict[str, dict[str, Method]]
    rest_api_id: str = "local"
    stage_variables: dict[str, str] = field(default_factory=dict)
    # Customised gateway responses: response type -> (status code, application/json template).
    gateway_responses: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    # The REST API's binaryMediaTypes (`*/*`, `image/*`, `application/octet-stream`).
    binary_media_types: list[str] = field(default_factory=list)

    @classmethod
    def from_apigw(cls, client: Any, rest_api_id: str, stage_name: str | None = None) -> GatewaySpec:
        """Read a deployed REST API back through the API Gateway API (moto or AWS)."""
        variables: dict[str, str] = {}
        if stage_name is not None:
            variables = client.get_stage(restApiId=rest_api_id, stageName=stage_name).get("variables", {})
        resources: dict[str, dict[str, Method]] = {}
        pages = client.get_paginator("get_resources").paginate(restApiId=rest_api_id, embed=["methods"])
        for page in pages:
            for resource in page["items"]:
                methods = {}
                for http_method in resource.get("resourceMethods", {}):
                    method = _read_method(client, rest_api_id, resource["id"], http_method)
                    if method is not None:
                        methods[http_method] = method
                if methods:
                    resources[resource["path"]] = methods
        gateway_responses = {
            item["responseType"]: (
                item.get("statusCode"),
                item.get("responseTemplates", {}).get("application/json"),
            )
            for item in client.get_gateway_responses(restApiId=rest_api_id).get("items", [])
            if not item.get("defaultResponse", False)
        }
        binary_media_types = [
            _json_pointer_unescape(t)
            for t in client.get_rest_api(restApiId=rest_api_id).get("binaryMediaTypes") or []
            if t
        ]
        return cls(resources, rest_api_id, variables, gateway_responses, binary_media_types)


def _json_pointer_unescape(media_type: str) -> str:
    """binaryMediaTypes are edited with JSON-pointer patch paths (`/binaryMediaTypes/image~1png`);
    an API that returns one still escaped (no `/`) is read back as the media type it names."""
    if "/" in media_type or "~" not in media_type:
        return media_type
    return media_type.replace("~1", "/").replace("~0", "~")


def _read_method(client: Any, api: str, resource_id: str, http_method: str) -> Method | None:
    ids = {"restApiId": api, "resourceId": resource_id, "httpMethod": http_method}
    method = client.get_method(**ids)
    validate_body = validate_params = False
    if method.get("requestValidatorId"):
        validator = client.get_request_validator(
            restApiId=api, requestValidatorId=method["requestValidatorId"]
        )
        validate_body = bool(validator.get("validateRequestBody"))
        validate_params = bool(validator.get("validateRequestParameters"))
    models = {}
    for content_type, model_name in method.get("requestModels", {}).items():
        try:
            schema = client.get_model(restApiId=api, modelName=model_name)["schema"]
        except client.exceptions.NotFoundException:
            # Built-in "Empty" model (moto does not create it): AWS's schema is {"type": "object"}.
            schema = '{"type": "object"}' if model_name == "Empty" else "{}"
        models[content_type.lower()] = json.loads(schema)
    try:
        integration = client.get_integration(**ids)
    except client.exceptions.NotFoundException:
        return None  # no integration: API Gateway refuses to deploy such a method
    responses = []
    for status in sorted(integration.get("integrationResponses", {})):
        ir = client.get_integration_response(**ids, statusCode=status)
        responses.append(
            IntegrationResponse(
                status_code=status,
                selection_pattern=ir.get("selectionPattern"),
                response_templates=ir.get("responseTemplates") or {},
                response_parameters=ir.get("responseParameters") or {},
                content_handling=ir.get("contentHandling") or None,
            )
        )
    return Method(
        integration_uri=integration.get("uri", ""),
        request_templates=integration.get("requestTemplates") or {},
        passthrough_behavior=integration.get("passthroughBehavior", "WHEN_NO_MATCH"),
        integration_http_method=integration.get("httpMethod", "POST"),
        integration_request_parameters=integration.get("requestParameters") or {},
        integration_responses=responses,
        validate_request_body=validate_body,
        validate_request_parameters=validate_params,
        request_models=models,
        request_parameters=method.get("requestParameters") or {},
        content_handling=integration.get("contentHandling") or None,
        integration_type=integration.get("type") or "AWS",
    )


# --------------------------------------------------------------------------- results


@dataclass
class GatewayResponse:
    status: int
    body: str
    headers: dict[str, str]
    request_id: str = ""
    integration_status: int | None = None  # what SQS/S3 (or a fault hook) answered; None: never called
    integration_body: str | None = None
    integration_request: str | None = None  # SQS: the rendered request body (the SendMessage form)
    integration_payload: bytes | None = None  # the bytes sent to the service (SQS: the form, UTF-8)
    integration_headers: dict[str, str] | None = None  # the mapped integration request headers
    integration_url: str | None = None  # S3: the object URL called (SQS: None)
    # Lambda proxy: the function called and the event it was given (None: not invoked).
    lambda_function_arn: str | None = None
    lambda_event: dict[str, Any] | None = None
    body_bytes: bytes | None = None  # a binary answer's exact bytes (Lambda proxy, binary Accept)

    def json(self) -> Any:
        return json.loads(self.body)


def _gateway_error(status: int, message: str, error_type: str, request_id: str) -> GatewayResponse:
    """API Gateway's own answers (gateway responses): {"message": ...} and x-amzn-ErrorType."""
    headers = {
        "Content-Type": "application/json",
        "x-amzn-RequestId": request_id,
        "x-amzn-ErrorType": error_type,
    }
    return GatewayResponse(status, json.dumps({"message": message}), headers, request_id)


# --------------------------------------------------------------------------- the gateway


class LocalGateway:
    """Executes a REST API's deployed config (one REST API: its methods may be SQS, S3 or Lambda proxy).

    `sqs_endpoint_url` is moto's endpoint (all services); `s3_endpoint_url` defaults to it.
    `lambda_invoker(function_arn, event) -> result` runs the Lambda proxy methods' functions.
    """

    def __init__(
        self,
        apigw_client: Any,
        sqs_endpoint_url: str,
        rest_api_id: str,
        stage_name: str,
        region: str = "us-east-1",
        *,
        s3_endpoint_url: str | None = None,
        lambda_invoker: LambdaInvoker | None = None,
    ) -> None:
        self._client = apigw_client
        self._setup(
            GatewaySpec.from_apigw(apigw_client, rest_api_id, stage_name),
            sqs_endpoint_url,
            stage_name,
            region,
            s3_endpoint_url,
            lambda_invoker,
        )

    @classmethod
    def from_spec(
        cls,
        spec: GatewaySpec,
        sqs_endpoint_url: str,
        stage_name: str = "test",
        region: str = "us-east-1",
        *,
        s3_endpoint_url: str | None = None,
        lambda_invoker: LambdaInvoker | None = None,
    ) -> LocalGateway:
        gateway = cls.__new__(cls)
        gateway._client = None
        gateway._setup(spec, sqs_endpoint_url, stage_name, region, s3_endpoint_url, lambda_invoker)
        return gateway

    def _setup(
        self,
        spec: GatewaySpec,
        sqs_endpoint_url: str,
        stage_name: str,
        region: str,
        s3_endpoint_url: str | None = None,
        lambda_invoker: LambdaInvoker | None = None,
    ) -> None:
        self.spec = spec
        self.sqs_endpoint_url = sqs_endpoint_url.rstrip("/")
        self.s3_endpoint_url = (s3_endpoint_url or sqs_endpoint_url).rstrip("/")
        self.stage_name = stage_name
        self.region = region
        # Called with the rendered form before each SQS call; a status (or (status, body))
        # replaces the real call, so SQS failures can be injected. None: call SQS.
        self.sqs_fault: SqsFault | None = None
        # The same for S3: called with the S3Request before each S3 call.
        self.s3_fault: S3Fault | None = None
        # Lambda proxy methods: (function ARN, event) -> the function's result (module docstring,
        # "Lambda proxy"). None: every Lambda proxy method answers 500, as when Lambda refuses.
        self.lambda_invoker: LambdaInvoker | None = lambda_invoker
        # API Gateway's integration timeout; a Lambda call that takes longer answers 504.
        self.integration_timeout_s = INTEGRATION_TIMEOUT_S
        # Apply the SendMessage checks AWS makes and moto does not (see SQS_* above).
        self.emulate_sqs_validation = True
        self._local = threading.local()
        self._sqs_client: Any = None

    def reload(self) -> None:
        """Re-read the deployed configuration (after a new apply/deployment)."""
        if self._client is None:
            raise RuntimeError("a gateway built from a GatewaySpec has nothing to reload")
        self.spec = GatewaySpec.from_apigw(self._client, self.spec.rest_api_id, self.stage_name)

    def _gateway_error(
        self, response_type: str, status: int, message: str, error_type: str, request_id: str
    ) -> GatewayResponse:
        """API Gateway's own answer of `response_type`, customised when the API defines it
        (aws_api_gateway_gateway_response), else falling back to DEFAULT_4XX/5XX, else built in."""
        family = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        custom = self.spec.gateway_responses.get(response_type) or self.spec.gateway_responses.get(family)
        built_in = _gateway_error(status, message, error_type, request_id)
        if custom is None:
            return built_in
        custom_status, template = custom
        body = built_in.body
        if template is not None:
            context = vtl.make_context(
                request_id=request_id, stage=self.stage_name, api_id=self.spec.rest_api_id
            )
            body = vtl.render(template, vtl.Input("", {}, {}, {}), context, self.spec.stage_variables)
        return GatewayResponse(int(custom_status or status), body, built_in.headers, request_id)

    # ------------------------------------------------------------------ request

    def post(
        self,
        path: str,
        body: bytes,
        headers: Headers | None = None,
        *,
        source_ip: str = "127.0.0.1",
        request_time_epoch_ms: int | None = None,
    ) -> GatewayResponse:
        return self.request(
            "POST", path, body, headers, source_ip=source_ip, request_time_epoch_ms=request_time_epoch_ms
        )

    def request(
        self,
        http_method: str,
        path: str,
        body: bytes,
        headers: Headers | None = None,
        *,
        source_ip: str = "127.0.0.1",
        request_time_epoch_ms: int | None = None,
    ) -> GatewayResponse:
        """`path` is the resource path (`/webhooks/github?x=1`), without the stage prefix.
        `headers`: a mapping, or (name, value) pairs to send a header more than once (templates
        and single-value maps see its last value)."""
        header_pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
        headers = dict(header_pairs)
        split = urlsplit(path)
        query_pairs = parse_qsl(split.query, keep_blank_values=True)
        query = dict(query_pairs)
        request_id = str(uuid.uuid4())

        route = self._route(split.path, http_method.upper())
        if route is None:
            # Unknown resource or method: API Gateway answers 403 MISSING_AUTHENTICATION_TOKEN.
            return self._gateway_error(
                "MISSING_AUTHENTICATION_TOKEN",
                403,
                "Missing Authentication Token",
                "MissingAuthenticationTokenException",
                request_id,
            )
        resource_path, path_params, method = route
        if len(body) > MAX_PAYLOAD_BYTES:
            return self._gateway_error(
                "REQUEST_TOO_LARGE", 413, "Request Too Long", "RequestTooLongException", request_id
            )

        if vtl.header_lookup(headers, "Content-Length") is None and (
            vtl.header_lookup(headers, "Transfer-Encoding") is None
        ):
            headers["Content-Length"] = str(len(body))  # what an HTTP client sends (RFC 9110, 8.6)

        context = vtl.make_context(
            request_id=request_id,
            request_time_epoch_ms=request_time_epoch_ms,
            source_ip=source_ip,
            user_agent=vtl.header_lookup(headers, "User-Agent") or "",
            stage=self.stage_name,
            resource_path=resource_path,
            path=split.path,
            http_method=http_method.upper(),
            api_id=self.spec.rest_api_id,
        )
        # A non-binary payload reaches templates as text decoded as UTF-8 (malformed bytes
        # become U+FFFD); an empty one reads as {} (vtl.EMPTY_BODY).
        text = body.decode("utf-8", errors="replace")
        vtl_input = vtl.Input(text, headers, query, path_params)
        # No Content-Type: API Gateway assumes application/json. Selection is by media type,
        # case-insensitive, parameters dropped (module docstring, "Content types").
        sent_content_type = vtl.header_lookup(headers, "Content-Type")
        content_type = media_type(sent_content_type or "application/json")

        invalid = self._validate(method, content_type, vtl_input.body, vtl_input, request_id)
        if invalid is not None:
            return invalid

        if method.integration_type == AWS_PROXY:
            event = lambda_proxy_event(
                resource_path,
                split.path,
                http_method.upper(),
                header_pairs,
                query_pairs,
                path_params,
                self.spec.stage_variables,
                context,
                body,
                binary_media_type_matches(sent_content_type, self.spec.binary_media_types),
            )
            return self._call_lambda_proxy(method, event, vtl.header_lookup(headers, "Accept"), request_id)

        # The integration request payload (module docstring, "Payload encoding").
        binary = binary_media_type_matches(sent_content_type, self.spec.binary_media_types)
        payload = convert_request_payload(body, binary, method.content_handling)
        if payload is None:  # CONVERT_TO_BINARY of a payload that is not base64
            return self._internal_error(request_id)

        templates = by_media_type(method.request_templates)
        integration_body: str | bytes
        if content_type in templates:
            integration_body = vtl.render(
                templates[content_type], vtl_input, context, self.spec.stage_variables
            )
        elif method.passthrough_behavior == "WHEN_NO_MATCH" or (
            method.passthrough_behavior == "WHEN_NO_TEMPLATES" and not templates
        ):
            integration_body = payload  # passthrough: the payload goes to the service unchanged
        else:
            return self._gateway_error(
                "UNSUPPORTED_MEDIA_TYPE",
                415,
                "Unsupported Media Type",
                "UnsupportedMediaTypeException",
                request_id,
            )

        mapped = self._integration_parameters(method, vtl_input, context)
        integration_headers = {"Content-Type": content_type}
        _merge_headers(integration_headers, mapped["header"])
        try:
            if integration_service(method.integration_uri) == "s3":
                data = integration_body if isinstance(integration_body, bytes) else integration_body.encode()
                s3_request = self._s3_request(method, data, integration_headers, mapped)
                if s3_request is None:  # a {name} in the URI that no mapping filled
                    return self._internal_error(request_id)
                status, service_body, service_type = self._call_s3(s3_request)
                response = self._map_response(
                    method,
                    status,
                    service_body,
                    context,
                    request_id,
                    accept=vtl.header_lookup(headers, "Accept"),
                    service_content_type=service_type,
                )
                response.integration_payload = s3_request.body
                response.integration_headers = s3_request.headers
                response.integration_url = s3_request.url
                return response
            form = (
                integration_body
                if isinstance(integration_body, str)
                else integration_body.decode("utf-8", errors="replace")
            )
            status, service_body = self._call_sqs(method, form, integration_headers)
        except requests.Timeout:
            return self._gateway_error(
                "INTEGRATION_TIMEOUT",
                504,
                "Endpoint request timed out",
                "InternalServerErrorException",
                request_id,
            )
        response = self._map_response(
            method, status, service_body, context, request_id, accept=vtl.header_lookup(headers, "Accept")
        )
        response.integration_request = form
        response.integration_payload = form.encode("utf-8")
        response.integration_headers = integration_headers
        return response

    def _internal_error(self, request_id: str) -> GatewayResponse:
        return self._gateway_error(
            "DEFAULT_5XX", 500, "Internal server error", "InternalServerErrorException", request_id
        )

    def _route(self, path: str, http_method: str) -> tuple[str, dict[str, str], Method] | None:
        """Most specific resource wins: literal segments over {param}, {param} over {proxy+}."""
        best: tuple[tuple[int, ...], str, dict[str, str], Method] | None = None
        for resource_path, methods in self.spec.resources.items():
            method = methods.get(http_method) or methods.get("ANY")
            matched = _match_path(resource_path, path) if method else None
            if matched is not None and method is not None:
                score, params = matched
                if best is None or score > best[0]:
                    best = (score, resource_path, params, method)
        return None if best is None else (best[1], best[2], best[3])

    def _validate(
        self, method: Method, content_type: str, text: str, vtl_input: vtl.Input, request_id: str
    ) -> GatewayResponse | None:
        if method.validate_request_parameters:
            params = vtl_input.params()
            missing = []
            for key, required in method.request_parameters.items():
                kind, _, name = key.removeprefix("method.request.").partition(".")
                if kind == "header":
                    found = vtl.header_lookup(params["header"], name)
                else:
                    found = params.get(kind, {}).get(name)
                if required and not found:
                    missing.append(name)
            if missing:
                message = f"Missing required request parameters: [{', '.join(missing)}]"
                return self._gateway_error(
                    "BAD_REQUEST_PARAMETERS", 400, message, "BadRequestException", request_id
                )
        if method.validate_request_body:
            # `text` is what $input.body reads: an empty payload is validated as {} (PR #7916).
            models = by_media_type(method.request_models)
            schema = models.get(content_type, models.get("$default"))
            if schema is not None:
                try:
                    jsonschema.validate(json.loads(text, parse_constant=_reject_constant), schema)
                except (ValueError, jsonschema.ValidationError):
                    return self._gateway_error(
                        "BAD_REQUEST_BODY", 400, "Invalid request body", "BadRequestException", request_id
                    )
        return None

    def _integration_parameters(
        self, method: Method, vtl_input: vtl.Input, context: Mapping[str, Any]
    ) -> dict[str, dict[str, str]]:
        """integration.request.{header,path,querystring}.X = a source (module docstring,
        "Integration request parameters"): {"header": {...}, "path": {...}, "querystring": {...}}.
        A source the request does not have leaves its target out."""
        mapped: dict[str, dict[str, str]] = {"header": {}, "path": {}, "querystring": {}}
        params = vtl_input.params()
        for target, source in method.integration_request_parameters.items():
            location, _, name = target.removeprefix("integration.request.").partition(".")
            if location not in mapped or not name:
                raise NotImplementedError(f"integration request parameter {target!r} is not emulated")
            value = _mapped_value(source, params, context, self.spec.stage_variables)
            if value is not None:
                mapped[location][name] = value
        return mapped

    # ------------------------------------------------------------------ Lambda proxy

    def _call_lambda_proxy(
        self, method: Method, event: dict[str, Any], accept: str | None, request_id: str
    ) -> GatewayResponse:
        """Invoke the function with the proxy event and map its result (module docstring,
        "Lambda proxy"): 500 when Lambda refuses, 502 for a function error or a malformed
        result, 504 past the integration timeout."""
        function_arn = parse_lambda_uri(method.integration_uri, self.spec.stage_variables)
        payload = json.dumps(event)
        if method.integration_http_method.upper() != "POST" or self.lambda_invoker is None:
            return self._internal_error(request_id)
        if len(payload.encode("utf-8")) > LAMBDA_MAX_SYNC_PAYLOAD_BYTES:
            # Lambda refuses the invocation (RequestEntityTooLargeException): API Gateway's 500.
            error = self._internal_error(request_id)
            error.lambda_function_arn = function_arn
            return error
        sent = json.loads(payload)  # what the function receives: the event through JSON
        started = time.monotonic()
        try:
            result = self.lambda_invoker(function_arn, sent)
        except LambdaInvokeError:
            outcome = self._internal_error(request_id)
        except TimeoutError:
            outcome = self._timeout(request_id)
        except Exception as exc:  # the function's error (Lambda: FunctionError "Unhandled")
            outcome = self._bad_gateway(request_id)
            outcome.integration_status = 200
            outcome.integration_body = json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__})
        else:
            outcome = self._lambda_proxy_answer(result, accept, request_id)
        if time.monotonic() - started > self.integration_timeout_s:
            # API Gateway stopped waiting first, whatever the function did or answered later.
            outcome = self._timeout(request_id)
        outcome.lambda_function_arn = function_arn
        outcome.lambda_event = sent
        outcome.integration_payload = payload.encode("utf-8")
        return outcome

    def _lambda_proxy_answer(self, result: Any, accept: str | None, request_id: str) -> GatewayResponse:
        try:
            raw = json.dumps(result)  # Lambda serialises the handler's return value
        except (TypeError, ValueError) as exc:  # Runtime.MarshalError: a function error
            error = self._bad_gateway(request_id)
            error.integration_status = 200
            error.integration_body = json.dumps(
                {"errorMessage": str(exc), "errorType": "Runtime.MarshalError"}
            )
            return error
        if len(raw.encode("utf-8")) > LAMBDA_MAX_SYNC_PAYLOAD_BYTES:
            error = self._bad_gateway(request_id)  # the response quota: a function error
            error.integration_status, error.integration_body = 200, raw
            return error
        mapped = map_lambda_proxy_result(
            json.loads(raw), binary_media_type_matches(_first_accept(accept), self.spec.binary_media_types)
        )
        if mapped is None:
            error = self._bad_gateway(request_id)  # "Malformed Lambda proxy response"
        elif mapped == "not base64":
            error = self._internal_error(request_id)
        else:
            status, headers, body = mapped
            _merge_headers(headers, {"x-amzn-RequestId": request_id})
            text = body if isinstance(body, str) else body.decode("utf-8", errors="replace")
            response = GatewayResponse(status, text, headers, request_id, 200, raw)
            response.body_bytes = body if isinstance(body, bytes) else None
            return response
        error.integration_status, error.integration_body = 200, raw
        return error

    def _bad_gateway(self, request_id: str) -> GatewayResponse:
        return self._gateway_error(
            "DEFAULT_5XX", 502, "Internal server error", "InternalServerErrorException", request_id
        )

    def _timeout(self, request_id: str) -> GatewayResponse:
        return self._gateway_error(
            "INTEGRATION_TIMEOUT",
            504,
            "Endpoint request timed out",
            "InternalServerErrorException",
            request_id,
        )

    # ------------------------------------------------------------------ SQS

    def _call_sqs(self, method: Method, form: str, headers: dict[str, str]) -> tuple[int, str]:
        region, account, queue = parse_sqs_uri(method.integration_uri)
        if self.sqs_fault is not None:
            fault = self.sqs_fault(form)
            if fault is not None:
                return fault if isinstance(fault, tuple) else (fault, sqs_error_body(fault))
        url = f"{self.sqs_endpoint_url}/{account}/{queue}"
        if self.emulate_sqs_validation:
            rejected = self._aws_send_message_checks(form, url)
            if rejected is not None:
                return rejected
        data = form.encode("utf-8")
        # API Gateway signs the call with the integration's role. moto ignores the
        # signature but routes by the credential scope, which must say "sqs".
        aws_request = botocore.awsrequest.AWSRequest(
            method=method.integration_http_method, url=url, data=data
        )
        for name, value in headers.items():
            aws_request.headers[name] = value
        credentials = botocore.credentials.Credentials("test", "test")
        botocore.auth.SigV4Auth(credentials, "sqs", region).add_auth(aws_request)
        response = self._session().request(
            method.integration_http_method,
            url,
            data=data,
            headers=dict(aws_request.headers.items()),
            timeout=INTEGRATION_TIMEOUT_S,
        )
        return response.status_code, response.text

    def _s3_request(
        self, method: Method, data: bytes, headers: dict[str, str], mapped: dict[str, dict[str, str]]
    ) -> S3Request | None:
        """The S3 call of an S3 path integration: <endpoint>/<bucket>/<key> (path style)."""
        _, bucket, key_template = parse_s3_uri(method.integration_uri)
        missing = False

        def fill(match: re.Match[str]) -> str:
            nonlocal missing
            value = mapped["path"].get(match.group(1))
            if value is None:
                missing = True
                return match.group(0)
            return quote(value, safe="")

        encoded_key = re.sub(r"\{([^{}]+)\}", fill, key_template)
        if missing:
            return None
        url = f"{self.s3_endpoint_url}/{bucket}/{encoded_key}"
        if mapped["querystring"]:
            url += "?" + urlencode(mapped["querystring"])
        return S3Request(method.integration_http_method, bucket, unquote(encoded_key), url, headers, data)

    def _call_s3(self, s3_request: S3Request) -> tuple[int, str, str | None]:
        """(status, body, the answer's Content-Type)."""
        if self.s3_fault is not None:
            fault = self.s3_fault(s3_request)
            if fault is not None:
                status, body = fault if isinstance(fault, tuple) else (fault, s3_error_body(fault))
                return status, body, "application/xml" if body else None
        # Signed with the integration's role, as for SQS; the scope must say "s3" for moto.
        aws_request = botocore.awsrequest.AWSRequest(
            method=s3_request.http_method, url=s3_request.url, data=s3_request.body
        )
        for name, value in s3_request.headers.items():
            aws_request.headers[name] = value
        credentials = botocore.credentials.Credentials("test", "test")
        botocore.auth.S3SigV4Auth(credentials, "s3", self.region).add_auth(aws_request)
        response = self._session().request(
            s3_request.http_method,
            s3_request.url,
            data=s3_request.body,
            headers=dict(aws_request.headers.items()),
            timeout=INTEGRATION_TIMEOUT_S,
        )
        return (
            response.status_code,
            response.content.decode("utf-8", errors="replace"),
            response.headers.get("Content-Type"),
        )

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _aws_send_message_checks(self, form: str, url: str) -> tuple[int, str] | None:
        """SendMessage validation AWS SQS does and moto 5.2.5 skips; error texts as AWS returns them."""
        params = dict(parse_qsl(form, keep_blank_values=True))
        if params.get("Action") != "SendMessage":
            return None
        body = params.get("MessageBody", "")
        if body == "":
            return 400, sqs_error_body(
                400, "MissingParameter", "The request must contain the parameter MessageBody."
            )
        indexes = sorted(
            {int(m.group(1)) for k in params if (m := re.match(r"MessageAttribute\.(\d+)\.", k))}
        )
        if len(indexes) > SQS_MAX_ATTRIBUTES:
            message = f"Number of message attributes [{len(indexes)}] exceeds the allowed maximum [10]."
            return 400, sqs_error_body(400, "InvalidParameterValue", message)
        size = len(body.encode("utf-8"))
        for n in indexes:
            name = params.get(f"MessageAttribute.{n}.Name", "")
            data_type = params.get(f"MessageAttribute.{n}.Value.DataType", "")
            value = params.get(f"MessageAttribute.{n}.Value.StringValue", "")
            if not name:
                message = "The request must contain non-empty message attribute name."
                return 400, sqs_error_body(400, "InvalidParameterValue", message)
            if not value:
                message = (
                    f"Message (user) attribute '{name}' must contain a non-empty value of type '{data_type}'."
                )
                return 400, sqs_error_body(400, "InvalidParameterValue", message)
            if data_type.split(".")[0] == "Number" and not re.fullmatch(
                r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value
            ):
                message = f"Could not cast message attribute '{name}' value to number."
                return 400, sqs_error_body(400, "InvalidParameterValue", message)
            size += len(name.encode()) + len(data_type.encode()) + len(value.encode("utf-8"))
        bad = _SQS_INVALID_CHAR.search(body)
        if bad is not None:
            message = (
                f"Invalid binary character '#x{ord(bad.group(0)):X}' was found in the message body, the set"
                " of allowed characters is #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF"
            )
            return 400, sqs_error_body(400, "InvalidMessageContents", message)
        if size > SQS_MIN_MAXIMUM_MESSAGE_SIZE:  # every queue accepts at least 1024 bytes
            maximum = self._maximum_message_size(url)
            if maximum is not None and size > maximum:
                reason = f"Message must be shorter than {maximum} bytes."
                message = f"One or more parameters are invalid. Reason: {reason}"
                return 400, sqs_error_body(400, "InvalidParameterValue", message)
        return None

    def _maximum_message_size(self, queue_url: str) -> int | None:
        """The queue's MaximumMessageSize, read on each call (tests change it)."""
        if self._sqs_client is None:
            self._sqs_client = boto3.client(
                "sqs",
                endpoint_url=self.sqs_endpoint_url,
                region_name=self.region,
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )
        sqs = self._sqs_client
        try:
            attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["MaximumMessageSize"])
        except sqs.exceptions.QueueDoesNotExist:
            return None  # the real call fails with NonExistentQueue
        return int(attributes["Attributes"]["MaximumMessageSize"])

    # ------------------------------------------------------------------ response

    def _map_response(
        self,
        method: Method,
        status: int,
        sqs_body: str,
        context: dict[str, Any],
        request_id: str,
        *,
        accept: str | None = None,
        service_content_type: str | None = None,
    ) -> GatewayResponse:
        """Selection patterns are Java regexes matched against the whole status code
        string (for AWS-service integrations); the response without one is the default.
        The body is converted per AWS's response table (module docstring, "Response
        payload") before the response template reads it."""
        selected = None
        default = None
        for candidate in method.integration_responses:
            if not candidate.selection_pattern:
                default = default or candidate
            elif re.fullmatch(candidate.selection_pattern, str(status)):
                selected = selected or candidate
        selected = selected or default
        if selected is None:
            # "No match for output mapping and no default output mapping specified"
            error = self._gateway_error(
                "DEFAULT_5XX", 500, "Internal server error", "InternalServerErrorException", request_id
            )
            error.integration_status, error.integration_body = status, sqs_body
            return error

        converted = convert_response_payload(
            sqs_body.encode("utf-8"),
            binary_media_type_matches(service_content_type, self.spec.binary_media_types),
            binary_media_type_matches(_first_accept(accept), self.spec.binary_media_types),
            selected.content_handling,
        )
        content_type = "application/json"
        templates = selected.response_templates
        if converted is None or (isinstance(converted, bytes) and templates):
            # CONVERT_TO_BINARY of a body that is not base64, or a template given binary data
            # (module docstring, "Response payload"): API Gateway's 500.
            error = self._internal_error(request_id)
            error.integration_status, error.integration_body = status, sqs_body
            return error
        # No template: the integration's body passes through.
        body = converted if isinstance(converted, str) else converted.decode("utf-8", errors="replace")
        if templates:
            content_type = "application/json" if "application/json" in templates else next(iter(templates))
            template = templates[content_type]
            body = (
                vtl.render(template, vtl.Input(body), context, self.spec.stage_variables) if template else ""
            )
        override = context["responseOverride"]
        final_status = int(override["status"]) if override.get("status") else int(selected.status_code)
        headers = {"Content-Type": content_type, "x-amzn-RequestId": request_id}
        for target, source in selected.response_parameters.items():
            if target.startswith("method.response.header.") and source.startswith("'"):
                headers[target.removeprefix("method.response.header.")] = source.strip("'")
        headers.update({str(k): str(v) for k, v in (override.get("header") or {}).items()})
        return GatewayResponse(final_status, body, headers, request_id, status, sqs_body)


def media_type(content_type: str) -> str:
    """`Application/JSON; charset=UTF-8` -> `application/json`: the type/subtype, lower-cased
    (RFC 9110, 8.3.1: "The type and subtype tokens are case-insensitive"), parameters dropped."""
    return content_type.split(";", 1)[0].strip().lower()


def by_media_type(by_content_type: Mapping[str, T]) -> dict[str, T]:
    """Templates or models keyed by Content-Type string -> keyed by media type. Keys that differ
    only in parameters collapse into one; a key without parameters wins."""
    found: dict[str, T] = {}
    for key in sorted(by_content_type, key=lambda k: ";" in k):
        found.setdefault(media_type(key), by_content_type[key])
    return found


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python accepts NaN/Infinity; API Gateway does not


def _match_path(resource_path: str, path: str) -> tuple[tuple[int, ...], dict[str, str]] | None:
    want = [s for s in resource_path.split("/") if s]
    have = [s for s in path.split("/") if s]
    params: dict[str, str] = {}
    score = []
    for i, segment in enumerate(want):
        if segment.startswith("{") and segment.endswith("+}"):
            if i >= len(have):
                return None
            params[segment[1:-2]] = "/".join(have[i:])
            score.append(0)
            return (*score, -1), params
        if i >= len(have):
            return None
        if segment.startswith("{") and segment.endswith("}"):
            params[segment[1:-1]] = have[i]
            score.append(1)
        elif segment == have[i]:
            score.append(2)
        else:
            return None
    return (tuple(score), params) if len(want) == len(have) else None


_INTEGRATION_URI = re.compile(r"arn:aws[a-z-]*:apigateway:([a-z0-9-]+):(sqs|s3):path/(.+)")


def integration_service(uri: str) -> str:
    """ "sqs" or "s3": the AWS service of an emulated path-override integration URI."""
    match = _INTEGRATION_URI.fullmatch(uri)
    if match is None:
        raise NotImplementedError(f"only SQS and S3 path integrations are emulated, not {uri!r}")
    return match.group(2)


def parse_sqs_uri(uri: str) -> tuple[str, str, str]:
    """arn:aws:apigateway:REGION:sqs:path/ACCOUNT/QUEUE -> (region, account, queue)."""
    match = re.fullmatch(r"arn:aws[a-z-]*:apigateway:([a-z0-9-]+):sqs:path/(\d{12})/([^/]+)", uri)
    if match is None:
        raise NotImplementedError(f"only SQS and S3 path integrations are emulated, not {uri!r}")
    return match.group(1), match.group(2), match.group(3)


def parse_s3_uri(uri: str) -> tuple[str, str, str]:
    """arn:aws:apigateway:REGION:s3:path/BUCKET/KEY -> (region, bucket, key with its {placeholders})."""
    match = re.fullmatch(r"arn:aws[a-z-]*:apigateway:([a-z0-9-]+):s3:path/([^/{}]+)/(.+)", uri)
    if match is None:
        raise NotImplementedError(
            f"only S3 path integrations naming bucket and key are emulated, not {uri!r}"
        )
    return match.group(1), match.group(2), match.group(3)


_LAMBDA_URI = re.compile(
    r"arn:aws[a-z-]*:apigateway:([a-z0-9-]+):lambda:path/2015-03-31/functions/(.+)/invocations"
)


def parse_lambda_uri(uri: str, stage_variables: Mapping[str, str] | None = None) -> str:
    """arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations ->
    FUNCTION_ARN, `${stageVariables.name}` filled from the stage."""
    match = _LAMBDA_URI.fullmatch(uri)
    if match is None:
        raise NotImplementedError(
            f"only Lambda function invocation URIs are emulated for AWS_PROXY, not {uri!r}"
        )
    variables = stage_variables or {}
    return re.sub(
        r"\$\{stageVariables\.([A-Za-z0-9_]+)\}", lambda m: variables.get(m.group(1), ""), match.group(2)
    )


def lambda_proxy_event(
    resource_path: str,
    path: str,
    http_method: str,
    header_pairs: list[tuple[str, str]],
    query_pairs: list[tuple[str, str]],
    path_params: Mapping[str, str],
    stage_variables: Mapping[str, str],
    context: Mapping[str, Any],
    body: bytes,
    binary: bool,
) -> dict[str, Any]:
    """The REST proxy event (format 1.0) for one request (module docstring, "Lambda proxy")."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in header_pairs:
        if name.lower() == "content-length":
            continue  # not in the event (AWS-recorded)
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in query_pairs:
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    identity = {
        key: None
        for key in (
            "cognitoIdentityPoolId",
            "accountId",
            "cognitoIdentityId",
            "caller",
            "principalOrgId",
            "accessKey",
            "cognitoAuthenticationType",
            "cognitoAuthenticationProvider",
            "userArn",
            "user",
        )
    }
    identity.update(context["identity"])  # the keys of LocalStack's AWS-recorded event
    request_context = {k: v for k, v in context.items() if k not in ("responseOverride", "identity")}
    request_context["identity"] = identity
    if not body:
        text = None
    elif binary:
        text = base64.b64encode(body).decode("ascii")
    else:
        text = body.decode("utf-8", errors="replace")
    return {
        "resource": resource_path,
        "path": path,
        "httpMethod": http_method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_params) or None,
        "stageVariables": dict(stage_variables) or None,
        "requestContext": request_context,
        "body": text,
        "isBase64Encoded": bool(body) and binary,
    }


_LAMBDA_RESULT_KEYS = {"isBase64Encoded", "statusCode", "headers", "multiValueHeaders", "body"}


def map_lambda_proxy_result(
    result: Any, accept_binary: bool
) -> tuple[int, dict[str, str], str | bytes] | str | None:
    """A Lambda proxy result -> (status, headers, body: str, or bytes when binary) per the output
    format (module docstring, "Lambda proxy"). None: malformed (502); "not base64": a binary
    answer whose body does not decode (500)."""
    if not isinstance(result, dict) or not set(result) <= _LAMBDA_RESULT_KEYS:
        return None
    status_code = result.get("statusCode")
    if status_code is None:
        status = 200
    elif isinstance(status_code, bool) or not isinstance(status_code, int | str):
        return None
    else:
        try:
            status = int(status_code)
        except ValueError:
            return None
    if not 100 <= status <= 599:
        return None

    def header_value(value: Any) -> str | None:
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else None

    single = result.get("headers")
    multi = result.get("multiValueHeaders")
    if single is not None and not isinstance(single, dict):
        return None
    if multi is not None and (
        not isinstance(multi, dict) or not all(isinstance(v, list) for v in multi.values())
    ):
        return None
    merged: dict[str, list[str]] = {}
    for name, value in (single or {}).items():
        text = header_value(value)
        if text is None:
            return None
        merged[name] = [text]
    for name, values in (multi or {}).items():
        texts = [header_value(v) for v in values]
        if any(t is None for t in texts):
            return None
        same = [k for k in merged if k.lower() == name.lower()]
        extra = [v for k in same for v in merged.pop(k) if v not in texts]
        merged[name] = [t for t in texts if t is not None] + extra
    headers = {"Content-Type": "application/json"}
    _merge_headers(headers, {name: ", ".join(values) for name, values in merged.items()})

    body = result.get("body")
    if body is not None and not isinstance(body, str):
        return None
    is_base64 = result.get("isBase64Encoded")
    if is_base64 is not None and not isinstance(is_base64, bool):
        return None
    text = body or ""
    if is_base64 and accept_binary:
        try:
            return status, headers, base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return "not base64"
    return status, headers, text


def binary_media_type_matches(content_type: str | None, binary_media_types: list[str]) -> bool:
    """Whether a request's Content-Type is one of the API's binaryMediaTypes: `*/*` matches every
    type, `type/*` every subtype of type, anything else the same media type (module docstring)."""
    if not content_type or not binary_media_types:
        return False
    wanted_type, _, wanted_subtype = media_type(content_type).partition("/")
    for pattern in binary_media_types:
        kind, _, subtype = media_type(pattern).partition("/")
        if (kind, subtype) == ("*", "*"):
            return True
        if kind == wanted_type and subtype in ("*", wanted_subtype):
            return True
    return False


def convert_request_payload(body: bytes, binary: bool, content_handling: str | None) -> bytes | str | None:
    """The integration request payload per AWS's table (module docstring, "Payload encoding"):
    bytes for a binary payload, str for a text one; None: CONVERT_TO_BINARY of non-base64 text."""
    if binary:
        if content_handling == CONVERT_TO_TEXT:
            return base64.b64encode(body).decode("ascii")  # "Base64-encoded string"
        return body  # "Binary data"
    text = body.decode("utf-8", errors="replace")  # "UTF8-encoded string"
    if content_handling == CONVERT_TO_BINARY:
        try:
            return base64.b64decode(text, validate=True)  # "Base64-decoded binary blob"
        except (binascii.Error, ValueError):
            return None
    return text


def convert_response_payload(
    body: bytes, payload_binary: bool, accept_binary: bool, content_handling: str | None
) -> bytes | str | None:
    """The method response payload per AWS's response table (module docstring, "Response payload"):
    str for text, bytes for binary; None: a base64 decoding that fails."""
    to_text = content_handling == CONVERT_TO_TEXT or (content_handling is None and not accept_binary)
    if payload_binary:
        return base64.b64encode(body).decode("ascii") if to_text else body
    text = body.decode("utf-8", errors="replace")
    if to_text:
        return text
    try:
        return base64.b64decode(text, validate=True)  # "Base64-decoded blob"
    except (binascii.Error, ValueError):
        return None


def _first_accept(accept: str | None) -> str | None:
    """ "API Gateway honors only the first Accept media type" (a list: `a/b, c/d;q=0.8`)."""
    return accept.split(",", 1)[0].strip() or None if accept else None


def _mapped_value(
    source: str, params: Mapping[str, Any], context: Mapping[str, Any], stage_variables: Mapping[str, str]
) -> str | None:
    """The value of one integration request parameter source; None: the request has none."""
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    source = source.removeprefix("$")  # `$context.x` / `$stageVariables.x` (the OpenAPI spelling)
    kind, _, name = source.removeprefix("method.request.").partition(".")
    if source.startswith("method.request.") and kind == "header":
        return vtl.header_lookup(params["header"], name)
    if source.startswith("method.request.") and kind in ("querystring", "path"):
        return params[kind].get(name)
    if source.startswith("context."):
        value: Any = context
        for part in source.removeprefix("context.").split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | str):
            return str(value)
        raise NotImplementedError(f"context variable {source!r} is not a single value")
    if source.startswith("stageVariables."):
        return stage_variables.get(source.removeprefix("stageVariables."))
    raise NotImplementedError(f"integration request parameter source {source!r} is not emulated")


def _merge_headers(headers: dict[str, str], extra: Mapping[str, str]) -> None:
    """headers.update(extra), a name in another case replacing the one there (RFC 9110, 5.1)."""
    for name, value in extra.items():
        for existing in [k for k in headers if k.lower() == name.lower()]:
            del headers[existing]
        headers[name] = value


_FAULT_ERRORS = {
    400: ("Sender", "RequestThrottled", "The request was denied due to request throttling."),
    403: ("Sender", "AccessDenied", "Access to the resource is denied."),
    500: ("Receiver", "InternalError", "We encountered an internal error. Please try again."),
    503: ("Receiver", "ServiceUnavailable", "Service is unable to handle request."),
}


def sqs_error_body(status: int, code: str | None = None, message: str | None = None) -> str:
    """An SQS query-protocol answer for `status` (an error document, or a SendMessageResponse for 2xx)."""
    request_id = str(uuid.uuid4())
    if 200 <= status < 300 and code is None:
        return (
            '<SendMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><SendMessageResult>'
            f"<MessageId>{uuid.uuid4()}</MessageId></SendMessageResult>"
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></SendMessageResponse>"
        )
    kind, default_code, default_message = _FAULT_ERRORS.get(
        status, ("Receiver" if status >= 500 else "Sender", "UnknownError", f"HTTP {status}")
    )
    return (
        '<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">'
        f"<Error><Type>{kind}</Type><Code>{code or default_code}</Code>"
        f"<Message>{_xml_escape(message or default_message)}</Message><Detail/></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )


_S3_FAULT_ERRORS = {
    400: ("InvalidRequest", "Invalid Request"),
    403: ("AccessDenied", "Access Denied"),
    404: ("NoSuchBucket", "The specified bucket does not exist"),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
}


def s3_error_body(status: int, code: str | None = None, message: str | None = None) -> str:
    """An S3 REST answer for `status`: an S3 error document, or "" (PutObject's 2xx body is empty)."""
    if 200 <= status < 300 and code is None:
        return ""
    default_code, default_message = _S3_FAULT_ERRORS.get(status, ("UnknownError", f"HTTP {status}"))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code or default_code}</Code><Message>{_xml_escape(message or default_message)}</Message>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId><HostId>local</HostId></Error>"
    )


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
