"""The SQS message of one request, as ``templates/sqs_send_message.vtl`` makes it, and what
SQS's refusal of it means for the sender (the template's integration responses).

Both paths into the queue (the request template, and a handshake source's responder) must
feed the processor identically: the same body, the same attributes with the same values
(docs/message-contract.md, "The SQS message"). tests/unit/test_responder.py renders the
template for the same requests and compares attribute by attribute.
"""

from __future__ import annotations

import re
from typing import Any

from . import contract
from .config import HeaderNames
from .proxy import ProxyRequest

# Characters SQS accepts in a message body (SendMessage API reference): #x9 | #xA | #xD |
# #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF. Checked here so the answer is AWS's
# (400 invalid_body) even where an emulator queues the rest.
_SQS_TEXT = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
# What API Gateway makes of bytes that are not UTF-8 in a text payload: such a body is no
# longer what the sender signed, so the template refuses it, and so does the responder.
REPLACEMENT_CHARACTER = "\ufffd"

# Reasons a request is refused before any SendMessage, and SQS refusals the sender caused.
EMPTY_BODY = "empty_body"
INVALID_BODY = "invalid_body"
PAYLOAD_TOO_LARGE = "payload_too_large"
SERVICE_UNAVAILABLE = "service_unavailable"


def body_problem(request: ProxyRequest) -> str | None:
    """Why the body can never be queued (the sender's 400), or None."""
    if not request.decodable:
        return INVALID_BODY
    if request.body == "":
        return EMPTY_BODY
    if REPLACEMENT_CHARACTER in request.body or not _SQS_TEXT.fullmatch(request.body):
        return INVALID_BODY
    return None


def send_message_request(
    queue_url: str, source: str, request: ProxyRequest, names: HeaderNames
) -> dict[str, Any]:
    """SendMessage's parameters: the raw body and the template's nine attributes, the empty
    ones left out (SQS refuses an empty value)."""
    received_at = "" if request.received_at_ms is None else str(request.received_at_ms)
    values = (
        (contract.SOURCE, source),
        (contract.REQUEST_ID, request.request_id),
        (contract.RECEIVED_AT_MS, received_at),
        (contract.SOURCE_IP, request.source_ip),
        (contract.CONTENT_TYPE, request.header("content-type")),
        (contract.DELIVERY_ID, request.header(names.delivery_id)),
        (contract.SIGNATURE, request.header(names.signature)),
        (contract.SIGNATURE_TIMESTAMP, request.header(names.timestamp)),
        (contract.EVENT_TYPE, request.header(names.event_type)),
    )
    attributes = {
        name: {
            "DataType": "Number" if name in contract.NUMBER_ATTRIBUTES else "String",
            "StringValue": value,
        }
        for name, value in values
        if value != ""
    }
    return {"QueueUrl": queue_url, "MessageBody": request.body, "MessageAttributes": attributes}


def _error_details(error: Exception) -> tuple[int | None, str, str]:
    """(HTTP status, code, message) of an SDK error; (None, "", "") when it had no answer
    (timeouts and connection errors carry ``response = None``, or none at all)."""
    response = getattr(error, "response", None)
    response = response if isinstance(response, dict) else {}
    info = response.get("Error")
    info = info if isinstance(info, dict) else {}
    metadata = response.get("ResponseMetadata")
    status = metadata.get("HTTPStatusCode") if isinstance(metadata, dict) else None
    return (
        status if isinstance(status, int) else None,
        str(info.get("Code") or ""),
        str(info.get("Message") or ""),
    )


def error_code(error: Exception) -> str:
    """For the logs: SQS's error code, else the exception's type."""
    return _error_details(error)[1] or type(error).__name__


def refusal(error: Exception) -> tuple[int, str]:
    """The sender's answer to a failed SendMessage, as the template's 4xx/5xx responses map
    SQS's errors: 413 for a message larger than the queue allows, 400 for contents SQS never
    accepts; everything else (throttling, KMS, access denied, 5xx, timeouts, an error this
    does not know) 503, so the sender retries and nothing is lost."""
    status, code, message = _error_details(error)
    text = f"{code} {message}"
    if status is not None and 400 <= status < 500:
        if "must be shorter than" in text:
            return 413, PAYLOAD_TOO_LARGE
        if "InvalidMessageContents" in text:
            return 400, INVALID_BODY
        if "must contain the parameter MessageBody" in text:
            return 400, EMPTY_BODY
    return 503, SERVICE_UNAVAILABLE
