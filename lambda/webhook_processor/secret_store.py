"""Webhook signing secrets from Secrets Manager, cached in memory for a TTL.

A secret's ``SecretString`` is one secret as a plain string, or a JSON array of strings (all
accepted, so secrets rotate without downtime). Any failure to get a usable value is
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


def parse_secret_string(value: str) -> tuple[str, ...]:
    """``"s3cret"`` -> ("s3cret",); ``'["new", "old"]'`` -> ("new", "old"). Raises ValueError."""
    stripped = value.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            if not all(isinstance(item, str) for item in parsed):
                raise ValueError("secret JSON array must hold only strings")
            secrets = tuple(item for item in parsed if item)
            if not secrets:
                raise ValueError("secret JSON array holds no non-empty string")
            return secrets
    if not value:
        raise ValueError("secret is empty")
    return (value,)


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
