"""The module's templates as the gateway runs them, without Terraform or moto's API Gateway.

For template tests and demos: the request template after Terraform's
templatefile() pass, the integration responses the contract declares, a
`GatewaySpec` wiring them to one queue, and a decoder for the SendMessage form.
End-to-end tests should read the deployed API instead (`LocalGateway(...)`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from tests.harness import vtl
from tests.harness.gateway import GatewaySpec, IntegrationResponse, Method

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"
DEFAULT_ACCOUNT = "123456789012"

# Per-scheme header defaults (docs/message-contract.md, "Ingestion").
SCHEME_HEADERS: dict[str, dict[str, str]] = {
    "stripe": {"signature_header": "Stripe-Signature"},
    "github": {
        "signature_header": "X-Hub-Signature-256",
        "delivery_id_header": "X-GitHub-Delivery",
        "event_type_header": "X-GitHub-Event",
    },
    "shopify": {
        "signature_header": "X-Shopify-Hmac-Sha256",
        "delivery_id_header": "X-Shopify-Webhook-Id",
        "event_type_header": "X-Shopify-Topic",
    },
    "slack": {"signature_header": "X-Slack-Signature", "timestamp_header": "X-Slack-Request-Timestamp"},
    "standard_webhooks": {
        "signature_header": "webhook-signature",
        "timestamp_header": "webhook-timestamp",
        "delivery_id_header": "webhook-id",
    },
    "none": {},
}
HEADER_VARIABLES = ("delivery_id_header", "signature_header", "timestamp_header", "event_type_header")

# (declared status, selection pattern, template file): api.tf's integration_responses and
# the contract's "Answers to senders". Every answer but the 2xx one is declared a 5xx, so
# a template that sets no status can never tell a sender to give up; the 4xx one is the
# 503 (integration responses are keyed by status, so the 5xx one is declared 500 and its
# template answers 503).
INTEGRATION_RESPONSES = (
    ("200", r"2\d{2}", "response_success.vtl"),
    ("503", r"4\d{2}", "response_client_error.vtl"),
    ("500", r"5\d{2}", "response_server_error.vtl"),
    ("502", None, "response_unmapped.vtl"),
)
FORM_CONTENT_TYPE = {"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"}
# A model that accepts any JSON value: the validator then rejects only malformed JSON.
ANY_JSON_SCHEMA: dict[str, Any] = {"$schema": "http://json-schema.org/draft-04/schema#", "title": "AnyJson"}


def request_template(source: str = "github", **headers: str) -> str:
    """templates/sqs_send_message.vtl after templatefile(), with the variables as api.tf
    passes them: header variables default to "" and are lower-cased (api.tf's lower())."""
    variables = dict.fromkeys(HEADER_VARIABLES, "")
    variables.update({name: value.lower() for name, value in headers.items()})
    return vtl.render_terraform_template(TEMPLATES / "sqs_send_message.vtl", source=source, **variables)


def response_template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def webhook_spec(
    queue_name: str,
    source: str = "github",
    scheme: str = "github",
    *,
    region: str = "us-east-1",
    account: str = DEFAULT_ACCOUNT,
    content_types: tuple[str, ...] = ("application/json", "application/x-www-form-urlencoded"),
) -> GatewaySpec:
    """POST /webhooks/<source> -> SQS `queue_name`, configured as the contract says."""
    template = request_template(source, **SCHEME_HEADERS[scheme])
    method = Method(
        integration_uri=f"arn:aws:apigateway:{region}:sqs:path/{account}/{queue_name}",
        request_templates=dict.fromkeys(content_types, template),
        passthrough_behavior="NEVER",
        integration_request_parameters=dict(FORM_CONTENT_TYPE),
        integration_responses=[
            IntegrationResponse(status, pattern, {"application/json": response_template(file)})
            for status, pattern, file in INTEGRATION_RESPONSES
        ],
        validate_request_body=True,
        request_models={"application/json": ANY_JSON_SCHEMA},
    )
    return GatewaySpec({f"/webhooks/{source}": {"POST": method}})


def decode_send_message(form: str) -> tuple[str, list[tuple[str, str, str]]]:
    """A SendMessage form -> (MessageBody, [(name, string value, data type), ...] in N order).

    Strict: raises ValueError unless the form is exactly Action, MessageBody, then
    Name/Value.StringValue/Value.DataType for N = 1, 2, ... in that order.
    """
    pairs = parse_qsl(form, keep_blank_values=True, strict_parsing=True, encoding="utf-8", errors="strict")
    keys = [key for key, _ in pairs]
    if keys[:2] != ["Action", "MessageBody"] or pairs[0][1] != "SendMessage":
        raise ValueError(f"not a SendMessage form: {keys[:2]}")
    attributes = []
    rest = pairs[2:]
    if len(rest) % 3:
        raise ValueError("incomplete message attribute")
    for i in range(0, len(rest), 3):
        n = i // 3 + 1
        expected = [
            f"MessageAttribute.{n}.{part}" for part in ("Name", "Value.StringValue", "Value.DataType")
        ]
        if [key for key, _ in rest[i : i + 3]] != expected:
            raise ValueError(f"attribute {n} is out of order: {rest[i : i + 3]}")
        attributes.append((rest[i][1], rest[i + 1][1], rest[i + 2][1]))
    return pairs[1][1], attributes
