"""A local API Gateway (REST, AWS-service integrations to SQS and S3) that runs the deployed configuration.

moto stores an API's resources, methods, integrations and integration responses
but cannot execute them (no VTL, no SQS or S3 call). `LocalGateway` reads that
configuration back with boto3 and executes it the way API Gateway documents:

  route -> request validation -> payload encoding (binary media types, content
  handling) -> request template by Content-Type (or 415 under passthrough NEVER)
  -> integration request parameters -> the AWS call (SQS: POST the form to SQS's
  query endpoint; S3: PUT the payload to the object the path override names)
  -> select the integration response by selection pattern on the service's
  status -> response template -> `$context.responseOverride.status`.

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

Not emulated: authorizers, API keys/usage plans, resource policies (so
`allowed_cidrs` is unproven here: every source IP is let in), S3's own header rules
(metadata values must be US-ASCII for REST PUTs, the 2 KB metadata limit,
Content-MD5, checksums: moto stores what it gets), the integration's IAM role,
caching, throttling, integrations other than SQS and S3 path overrides (S3
action-style URIs, Lambda, HTTP, MOCK), integration querystrings on SQS calls.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
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


# The fault hooks: the rendered request -> None (make the call), a status, or
# (status, the service's answer body). SQS gets the SendMessage form, S3 an S3Request.
SqsFault = Callable[[str], int | tuple[int, str] | None]
S3Fault = Callable[[S3Request], int | tuple[int, str] | None]

CONVERT_TO_TEXT = "CONVERT_TO_TEXT"
CONVERT_TO_BINARY = "CONVERT_TO_BINARY"


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
    """Executes a REST API's deployed config (one REST API: its methods may be SQS, S3 or both).

    `sqs_endpoint_url` is moto's endpoint (all services); `s3_endpoint_url` defaults to it.
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
    ) -> None:
        self._client = apigw_client
        self._setup(
            GatewaySpec.from_apigw(apigw_client, rest_api_id, stage_name),
            sqs_endpoint_url,
            stage_name,
            region,
            s3_endpoint_url,
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
    ) -> LocalGateway:
        gateway = cls.__new__(cls)
        gateway._client = None
        gateway._setup(spec, sqs_endpoint_url, stage_name, region, s3_endpoint_url)
        return gateway

    def _setup(
        self,
        spec: GatewaySpec,
        sqs_endpoint_url: str,
        stage_name: str,
        region: str,
        s3_endpoint_url: str | None = None,
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
        headers: Mapping[str, str] | None = None,
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
        headers: Mapping[str, str] | None = None,
        *,
        source_ip: str = "127.0.0.1",
        request_time_epoch_ms: int | None = None,
    ) -> GatewayResponse:
        """`path` is the resource path (`/webhooks/github?x=1`), without the stage prefix."""
        headers = dict(headers or {})
        split = urlsplit(path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
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
