"""The processor's configuration (and a responder's), parsed from the environment once per container."""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import ConfigError

SCHEMES = frozenset(
    {"stripe", "github", "shopify", "slack", "zoom", "standard_webhooks", "hmac_sha256", "none"}
)
HMAC_ENCODINGS = frozenset({"hex", "base64"})
# Where a source's deliveries arrive: SQS messages (the body in the message), or objects of
# the payload store that S3 event notifications name (s3_pointer; any bytes, up to 10 MB).
PAYLOAD_STORES = frozenset({"queue", "s3"})

DEFAULT_TOLERANCE_SECONDS = 300
DEFAULT_MAX_STORED_BODY_BYTES = 350_000
# A DynamoDB item is at most 400 KB; leave room for the other attributes.
MAX_STORED_BODY_BYTES_LIMIT = 380_000
DEFAULT_SECRET_CACHE_TTL_SECONDS = 300
# invalid rows keep this much of the body (plus body_size and body_sha256).
DEFAULT_INVALID_BODY_BYTES = 4096
# rejected rows expire after this many days (0: like every other row, HISTORY_RETENTION_DAYS).
DEFAULT_REJECTED_RETENTION_DAYS = 14

# Rows whose long bodies go to the payload store (invalid rows keep a prefix).
OFFLOADED_STATUSES = frozenset({"processed", "conflict", "rejected"})
# An S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens.
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

# The directory holding the webhook_processor package (LAMBDA_TASK_ROOT in Lambda): a relative
# WEBHOOK_SOURCES_FILE is read from there.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SourceConfig:
    name: str
    scheme: str
    secret_arn: str | None = None
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS
    hmac_encoding: str = "hex"
    hmac_prefix: str = ""
    payload_store: str = "queue"

    @property
    def s3(self) -> bool:
        """Whether the deliveries are payload store objects (``payload_store = "s3"``)."""
        return self.payload_store == "s3"

    @property
    def signed(self) -> bool:
        return self.scheme != "none"


@dataclass(frozen=True)
class Config:
    table_name: str
    sources: Mapping[str, SourceConfig]
    history_retention_days: int = 0
    max_stored_body_bytes: int = DEFAULT_MAX_STORED_BODY_BYTES
    secret_cache_ttl_seconds: int = DEFAULT_SECRET_CACHE_TTL_SECONDS
    log_level: str = "INFO"
    # The function's timeout (PROCESSOR_TIMEOUT_SECONDS); None when the env var is absent.
    processor_timeout_seconds: int | None = None
    invalid_body_bytes: int = DEFAULT_INVALID_BODY_BYTES
    rejected_retention_days: int = DEFAULT_REJECTED_RETENTION_DAYS
    # The SNS topic processed events are published to (EVENT_TOPIC_ARN); None: publishing off.
    event_topic_arn: str | None = None
    # The payload store's bucket (PAYLOAD_BUCKET); None: bodies too long for a row are kept
    # truncated, as before the store existed (an older deployment).
    payload_bucket: str | None = None

    def offloads(self, status: str, body_bytes: int) -> bool:
        """Whether a row of ``status`` keeps its body in the payload store instead: a body
        longer than MAX_STORED_BODY_BYTES, when there is a store. Invalid rows never (their
        prefix rule stays); rejected rows do, since a requeue needs the whole body."""
        return (
            self.payload_bucket is not None
            and status in OFFLOADED_STATUSES
            and body_bytes > self.max_stored_body_bytes
        )

    def retention_days(self, status: str) -> int:
        """Days a row of ``status`` is kept (0: no TTL). Rejected rows go sooner (D8)."""
        retention = self.history_retention_days
        rejected = self.rejected_retention_days
        if status == "rejected" and rejected > 0:
            return min(rejected, retention) if retention > 0 else rejected
        return retention

    def stored_body_bytes(self, status: str) -> int:
        """How much of the body a row of ``status`` keeps: invalid rows only a prefix."""
        if status == "invalid":
            return min(self.invalid_body_bytes, self.max_stored_body_bytes)
        return self.max_stored_body_bytes


def _int_env(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _opt(entry: Mapping[str, Any], key: str, default: Any) -> Any:
    """Terraform's jsonencode() writes unset optional() attributes as null: treat as absent."""
    value = entry.get(key)
    return default if value is None else value


def parse_source(name: str, entry: Any) -> SourceConfig:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"WEBHOOK_SOURCES[{name!r}] must be an object")
    scheme = entry.get("scheme")
    if scheme not in SCHEMES:
        raise ConfigError(f"WEBHOOK_SOURCES[{name!r}].scheme must be one of {sorted(SCHEMES)}")
    secret_arn = entry.get("secret_arn") or None
    if secret_arn is not None and not isinstance(secret_arn, str):
        raise ConfigError(f"WEBHOOK_SOURCES[{name!r}].secret_arn must be a string or null")
    tolerance = _opt(entry, "tolerance_seconds", DEFAULT_TOLERANCE_SECONDS)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance < 0:
        raise ConfigError(f"WEBHOOK_SOURCES[{name!r}].tolerance_seconds must be a non-negative integer")
    encoding = _opt(entry, "hmac_encoding", "hex")
    if encoding not in HMAC_ENCODINGS:
        raise ConfigError(f"WEBHOOK_SOURCES[{name!r}].hmac_encoding must be 'hex' or 'base64'")
    prefix = _opt(entry, "hmac_prefix", "")
    if not isinstance(prefix, str):
        raise ConfigError(f"WEBHOOK_SOURCES[{name!r}].hmac_prefix must be a string")
    store = _opt(entry, "payload_store", "queue")
    if store not in PAYLOAD_STORES:
        raise ConfigError(f"WEBHOOK_SOURCES[{name!r}].payload_store must be 'queue' or 's3'")
    return SourceConfig(
        name=name,
        scheme=scheme,
        secret_arn=secret_arn,
        tolerance_seconds=tolerance,
        hmac_encoding=encoding,
        hmac_prefix=prefix,
        payload_store=store,
    )


def sources_file_path(value: str) -> Path:
    """WEBHOOK_SOURCES_FILE as a path: relative ones are read from the package root."""
    return PACKAGE_ROOT / value


def _raw_sources(environ: Mapping[str, str]) -> Any:
    """The source map: WEBHOOK_SOURCES (inline JSON) when set, else WEBHOOK_SOURCES_FILE."""
    inline = environ.get("WEBHOOK_SOURCES", "").strip()
    file_name = environ.get("WEBHOOK_SOURCES_FILE", "").strip()
    if inline or not file_name:
        try:
            raw = json.loads(inline or "{}")
        except ValueError as exc:
            raise ConfigError(f"WEBHOOK_SOURCES is not valid JSON: {exc}") from None
        if not isinstance(raw, Mapping):
            raise ConfigError("WEBHOOK_SOURCES must be a JSON object")
        return raw
    path = sources_file_path(file_name)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"WEBHOOK_SOURCES_FILE {str(path)!r} cannot be read: {exc.strerror or exc}"
        ) from None
    except ValueError as exc:  # includes UnicodeDecodeError
        raise ConfigError(f"WEBHOOK_SOURCES_FILE {str(path)!r} is not valid JSON: {exc}") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"WEBHOOK_SOURCES_FILE {str(path)!r} must hold a JSON object")
    return raw


def _topic_arn(environ: Mapping[str, str]) -> str | None:
    value = environ.get("EVENT_TOPIC_ARN", "").strip()
    if not value:
        return None
    parts = value.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not parts[3] or not parts[5]:
        raise ConfigError(f"EVENT_TOPIC_ARN must be an SNS topic ARN, got {value!r}")
    return value


def _bucket(environ: Mapping[str, str]) -> str | None:
    value = environ.get("PAYLOAD_BUCKET", "").strip()
    if not value:
        return None
    if not _BUCKET_NAME.fullmatch(value):
        raise ConfigError(f"PAYLOAD_BUCKET must be an S3 bucket name, got {value!r}")
    return value


def load_config(environ: Mapping[str, str]) -> Config:
    """Parse and validate the environment. Raises ConfigError."""
    table_name = environ.get("TABLE_NAME", "").strip()
    if not table_name:
        raise ConfigError("TABLE_NAME is not set")
    raw_sources = _raw_sources(environ)
    sources = {name: parse_source(name, entry) for name, entry in raw_sources.items()}
    bucket = _bucket(environ)
    s3_sources = sorted(name for name, source in sources.items() if source.s3)
    if s3_sources and bucket is None:
        # Their deliveries are objects of that bucket: without it none could be read.
        raise ConfigError(f"PAYLOAD_BUCKET is not set, yet sources {s3_sources} have payload_store 's3'")
    timeout = _int_env(environ, "PROCESSOR_TIMEOUT_SECONDS", 0, minimum=1) or None
    max_body = min(
        _int_env(environ, "MAX_STORED_BODY_BYTES", DEFAULT_MAX_STORED_BODY_BYTES),
        MAX_STORED_BODY_BYTES_LIMIT,
    )
    return Config(
        table_name=table_name,
        sources=MappingProxyType(sources),
        history_retention_days=_int_env(environ, "HISTORY_RETENTION_DAYS", 0),
        max_stored_body_bytes=max_body,
        secret_cache_ttl_seconds=_int_env(
            environ, "SECRET_CACHE_TTL_SECONDS", DEFAULT_SECRET_CACHE_TTL_SECONDS
        ),
        log_level=(environ.get("LOG_LEVEL", "") or "INFO").strip().upper(),
        processor_timeout_seconds=timeout,
        invalid_body_bytes=_int_env(environ, "INVALID_BODY_BYTES", DEFAULT_INVALID_BODY_BYTES),
        rejected_retention_days=_int_env(environ, "REJECTED_RETENTION_DAYS", DEFAULT_REJECTED_RETENTION_DAYS),
        event_topic_arn=_topic_arn(environ),
        payload_bucket=bucket,
    )


@functools.cache
def get_config() -> Config:
    """The configuration of this container, read on first use (never at import)."""
    return load_config(os.environ)


# --- a handshake source's responder (responder.py) ------------------------------------------


@dataclass(frozen=True)
class HeaderNames:
    """The headers the request template reads for a source, lower-cased, "" for none: the
    values api.tf's templatefile() gets (request_template_bodies), which responder.tf passes
    to the source's responder."""

    signature: str = ""
    timestamp: str = ""
    delivery_id: str = ""
    event_type: str = ""


@dataclass(frozen=True)
class ResponderConfig:
    """A responder's environment: its one source (from the processor's source map), the
    queue, and what the request template would read and accept for that source."""

    queue_url: str
    source: SourceConfig
    headers: HeaderNames = HeaderNames()
    # The media types the source accepts, lower-case without parameters (CONTENT_TYPES).
    content_types: frozenset[str] = frozenset({"application/json"})
    secret_cache_ttl_seconds: int = DEFAULT_SECRET_CACHE_TTL_SECONDS
    log_level: str = "INFO"


def _content_types(environ: Mapping[str, str]) -> frozenset[str]:
    raw = environ.get("CONTENT_TYPES", "").strip()
    if not raw:
        return frozenset({"application/json"})  # every scheme's default (main.tf)
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"CONTENT_TYPES must be a JSON array of media types, got {raw!r}")
    return frozenset(v.split(";", 1)[0].strip().lower() for v in value)


def load_responder_config(environ: Mapping[str, str]) -> ResponderConfig:
    """Parse and validate a responder's environment. Raises ConfigError."""
    queue_url = environ.get("QUEUE_URL", "").strip()
    if not queue_url:
        raise ConfigError("QUEUE_URL is not set")
    name = environ.get("SOURCE_NAME", "").strip()
    if not name:
        raise ConfigError("SOURCE_NAME is not set")
    raw_sources = _raw_sources(environ)
    if name not in raw_sources:
        raise ConfigError(f"SOURCE_NAME {name!r} is not in the source map")
    # Only its own entry is parsed: another source's mistake is the processor's to report.
    source = parse_source(name, raw_sources[name])
    return ResponderConfig(
        queue_url=queue_url,
        source=source,
        headers=HeaderNames(
            signature=environ.get("SIGNATURE_HEADER", "").strip().lower(),
            timestamp=environ.get("TIMESTAMP_HEADER", "").strip().lower(),
            delivery_id=environ.get("DELIVERY_ID_HEADER", "").strip().lower(),
            event_type=environ.get("EVENT_TYPE_HEADER", "").strip().lower(),
        ),
        content_types=_content_types(environ),
        secret_cache_ttl_seconds=_int_env(
            environ, "SECRET_CACHE_TTL_SECONDS", DEFAULT_SECRET_CACHE_TTL_SECONDS
        ),
        log_level=(environ.get("LOG_LEVEL", "") or "INFO").strip().upper(),
    )


@functools.cache
def get_responder_config() -> ResponderConfig:
    """A responder's configuration, read on first use (never at import)."""
    return load_responder_config(os.environ)
