"""Webhook signing secrets from Secrets Manager, cached in memory for a TTL.

A secret's ``SecretString`` is one secret as a plain string, a JSON string literal, a JSON
array of strings (all accepted, so secrets rotate without downtime) or a JSON object with the
one key ``secret`` (see ``parse_secret_string``). Any failure to get a usable value is
TRANSIENT: the record is retried and ends in the DLQ, it is never rejected for our mistake.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .errors import TransientError

logger = logging.getLogger(__name__)


# The one key a JSON object secret may hold (what the Secrets Manager console's key/value
# editor writes: {"secret": "whsec_..."}).
SECRET_OBJECT_KEY = "secret"
_JSON_OPENERS = ('"', "[", "{")


def _secret_list(value: object, where: str) -> tuple[str, ...]:
    """A string or a non-empty array of non-empty strings, each stripped. Raises ValueError."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where} must be a string or a non-empty array of strings")
    secrets = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"{where} must hold only non-empty strings")
        secrets.append(item.strip())
    return tuple(secrets)


def parse_secret_string(value: str) -> tuple[str, ...]:
    """The secrets a ``SecretString`` holds, after stripping surrounding whitespace.

    - a plain string: ``s3cret`` -> ("s3cret",)
    - a JSON string literal: ``"whsec_x"`` -> ("whsec_x",) (``--secret-string '"whsec_x"'``)
    - a JSON array of non-empty strings: ``["new", "old"]`` -> ("new", "old") (rotation)
    - a JSON object with the one key ``secret`` holding a string or such an array
      (the Secrets Manager console's key/value editor)

    Anything else (other keys, numbers, ``true``/``null``, empty, or text that starts like
    JSON but does not parse) raises ValueError: the caller makes it a transient
    ``secret_unusable``, so events wait in the queue instead of being rejected.
    """
    stripped = value.strip()
    if not stripped:
        raise ValueError("secret is empty")
    try:
        parsed = json.loads(stripped)
    except (ValueError, RecursionError):
        if stripped.startswith(_JSON_OPENERS):
            raise ValueError("secret looks like JSON but does not parse") from None
        return (stripped,)
    if isinstance(parsed, (str, list)):
        return _secret_list(parsed, "secret")
    if isinstance(parsed, dict):
        if set(parsed) != {SECRET_OBJECT_KEY}:
            raise ValueError(f'secret JSON object must have exactly one key "{SECRET_OBJECT_KEY}"')
        return _secret_list(parsed[SECRET_OBJECT_KEY], f'secret key "{SECRET_OBJECT_KEY}"')
    raise ValueError(f"secret JSON {type(parsed).__name__} is not a string, array or object")


class SecretStore:
    """GetSecretValue with a per-ARN TTL cache (per Lambda container)."""

    def __init__(
        self,
        client_factory: Callable[[], Any],
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client_factory = client_factory
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._lock = threading.Lock()

    def get(self, secret_arn: str) -> tuple[str, ...]:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(secret_arn)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        secrets = self._fetch(secret_arn)
        with self._lock:
            self._cache[secret_arn] = (now, secrets)
        return secrets

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def _fetch(self, secret_arn: str) -> tuple[str, ...]:
        try:
            response = self._client_factory().get_secret_value(SecretId=secret_arn)
        except Exception as exc:  # ClientError, BotoCoreError, timeouts: all retryable for us
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
            raise TransientError("secret_unavailable", f"GetSecretValue failed: {code}") from exc
        value = response.get("SecretString")
        if not isinstance(value, str):
            raise TransientError("secret_unusable", "secret has no SecretString")
        try:
            return parse_secret_string(value)
        except ValueError as exc:
            raise TransientError("secret_unusable", str(exc)) from None
