"""Lambda entry point of a handshake source: ``webhook_processor.responder.lambda_handler``.

One function per source with ``handshake = true`` (responder.tf), behind that source's method
as an API Gateway REST proxy integration. Slack and Zoom check the endpoint synchronously
(handshake.py) and expect answers a request template cannot compute, so this function:

- answers a verified endpoint check (signatures.verify with the source's secret, cached by
  SecretStore: the processor's code, not a copy) with 200 and what the provider expects; a
  forged or stale one with 401; neither is queued;
- sends every other request to the queue with exactly the message the request template makes
  (queue_message.py), and answers 200 only once SQS accepted it: a failed send is 503
  (413 / 400 for what SQS refuses for good), never 200.

Its answers are the template path's (JSON with the request id). Importing this module does
no I/O and reads no environment: configuration and clients are created on first use, and
nothing of the processor's (history, publishing, metrics) is imported, so the cold start
is boto3's.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from . import handshake, logs, proxy, queue_message
from .budget import SdkBudget
from .config import ResponderConfig, get_responder_config
from .errors import TransientError
from .secret_store import SecretStore
from .signatures import SignedRequest, signing_secret, verify
from .validation import media_type

logger = logging.getLogger(__name__)

# The sender is waiting (API Gateway allows an integration 29 s; Zoom wants its answer within
# 3 s), and the function's timeout is 10 s: two short attempts per call, so a slow SQS or
# Secrets Manager is a 503 the sender retries, not a function timeout.
SDK_BUDGET = SdkBudget(connect_timeout=1.0, read_timeout=2.0, max_attempts=2)

# A request without Content-Type is read as JSON, as API Gateway does.
DEFAULT_MEDIA_TYPE = "application/json"

# error -> message, the texts of the template path's answers (templates/*.vtl, api.tf
# gateway_responses) for the same outcomes.
MESSAGES = {
    queue_message.EMPTY_BODY: "The request body is empty.",
    queue_message.INVALID_BODY: "The request body contains characters that cannot be queued.",
    queue_message.PAYLOAD_TOO_LARGE: "The request body is larger than the queue accepts.",
    queue_message.SERVICE_UNAVAILABLE: "The queue is temporarily unavailable; retry later.",
    "unsupported_media_type": "This endpoint does not accept that Content-Type.",
    "unauthorized": "The request signature could not be verified.",
}
NO_TOKEN = "The endpoint check carries no token to answer."


def _error(
    status: int, error: str, request: proxy.ProxyRequest, message: str | None = None
) -> dict[str, Any]:
    return proxy.response(
        status,
        {"error": error, "message": message or MESSAGES[error], "request_id": request.request_id},
    )


class Responder:
    def __init__(
        self,
        config: ResponderConfig,
        sqs: Callable[[], Any],
        secrets: SecretStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._sqs = sqs
        self.secrets = secrets
        self._clock = clock

    def handle(self, event: Any) -> dict[str, Any]:
        """The proxy answer to one request."""
        request = proxy.parse_event(event)
        media = media_type(request.header("content-type")) or DEFAULT_MEDIA_TYPE
        if media not in self.config.content_types:
            # A proxy integration has no templates to refuse the type at the edge (415 there).
            return _error(415, "unsupported_media_type", request)
        problem = queue_message.body_problem(request)
        if problem is not None:
            return _error(400, problem, request)
        check = handshake.find(self.config.source.scheme, request.body)
        if check is not None:
            return self._answer(request, check)
        return self._enqueue(request)

    def _secrets(self) -> tuple[str, ...]:
        arn = self.config.source.secret_arn
        if not arn:
            raise TransientError(
                "secret_not_configured", f"source {self.config.source.name!r} has no secret_arn"
            )
        return self.secrets.get(arn)

    def _answer(self, request: proxy.ProxyRequest, check: handshake.Handshake) -> dict[str, Any]:
        source = self.config.source
        names = self.config.headers
        signed = SignedRequest(
            body=request.body.encode("utf-8"),
            signature=request.header(names.signature) or None,
            timestamp=request.header(names.timestamp) or None,
            delivery_id=request.header(names.delivery_id) or None,
            received_at_ms=(
                request.received_at_ms if request.received_at_ms is not None else int(self._clock() * 1000)
            ),
        )
        fields: dict[str, Any] = {
            "source": source.name,
            "scheme": source.scheme,
            "request_id": request.request_id,
        }
        try:
            # The secret is fetched only once the signature headers parse (signatures.py).
            verdict = verify(signed, source, self._secrets)
            secret = signing_secret(signed, source, self._secrets()) if verdict.valid else None
        except TransientError as exc:
            logger.error(
                "endpoint check not answered: secret unavailable", extra={**fields, "error_code": exc.code}
            )
            return _error(503, queue_message.SERVICE_UNAVAILABLE, request)
        if not verdict.valid or secret is None:
            logger.warning("endpoint check refused", extra={**fields, "reason": verdict.reason})
            return _error(401, "unauthorized", request)
        if check.token is None:
            logger.warning("endpoint check without a token", extra=fields)
            return _error(400, queue_message.INVALID_BODY, request, NO_TOKEN)
        logger.info("endpoint check answered", extra=fields)
        return proxy.response(200, handshake.answer(check, secret))

    def _enqueue(self, request: proxy.ProxyRequest) -> dict[str, Any]:
        params = queue_message.send_message_request(
            self.config.queue_url, self.config.source.name, request, self.config.headers
        )
        try:
            sent = self._sqs().send_message(**params)
        except Exception as exc:
            # ClientError, BotoCoreError, timeouts: 503 unless SQS refused it for good. A read
            # timeout may have queued it after all: the sender's retry is then a counted duplicate.
            status, error = queue_message.refusal(exc)
            log = logger.warning if status < 500 else logger.error
            log(
                "webhook not queued",
                extra={
                    "source": self.config.source.name,
                    "request_id": request.request_id,
                    "error_code": queue_message.error_code(exc),
                },
            )
            return _error(status, error, request)
        logger.info(
            "webhook queued",
            extra={
                "source": self.config.source.name,
                "request_id": request.request_id,
                "sqs_message_id": sent.get("MessageId") if isinstance(sent, Mapping) else None,
            },
        )
        return proxy.response(200, {"status": "accepted", "request_id": request.request_id})


def _boto_config() -> BotoConfig:
    return BotoConfig(
        connect_timeout=SDK_BUDGET.connect_timeout,
        read_timeout=SDK_BUDGET.read_timeout,
        # total_max_attempts counts the first try; botocore's max_attempts would add one more.
        retries={"mode": "standard", "total_max_attempts": SDK_BUDGET.max_attempts},
    )


@functools.cache
def _sqs() -> Any:
    return boto3.client("sqs", config=_boto_config())


@functools.cache
def _secretsmanager() -> Any:
    # Made at the first endpoint check: a container that only queues never creates it.
    return boto3.client("secretsmanager", config=_boto_config())


@functools.cache
def get_responder() -> Responder:
    """The container's responder, built on first use from the environment."""
    config = get_responder_config()
    logs.configure(config.log_level)
    return Responder(config, _sqs, SecretStore(_secretsmanager, config.secret_cache_ttl_seconds))


def reset() -> None:
    """Forget configuration, clients and cached secrets (tests, or after changing the env)."""
    get_responder_config.cache_clear()
    get_responder.cache_clear()
    _sqs.cache_clear()
    _secretsmanager.cache_clear()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # A configuration error raises: the invocation fails (API Gateway answers 502, the
    # responder's Errors alarm fires), rather than answering as if the sender were wrong.
    return get_responder().handle(event)
