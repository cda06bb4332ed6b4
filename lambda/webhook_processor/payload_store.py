"""The payload store: bodies too long for a history row, as S3 objects (docs/message-contract.md).

An object's key is ``bodies/<source>/<hex SHA-256 of the body>`` and its bytes are the body as
received. Content-addressed, so a redelivery or a duplicate rewrites the same bytes under the
same key: writing is idempotent and needs no read first. The processor writes the object
before the row that points at it (``body_ref = "s3://<bucket>/<key>"``): a crash in between
leaves an object and no row, and the SQS redelivery writes both.

The S3 client is made on first use: importing this module, or building a PayloadStore, does
no I/O (the cold start does not pay for a client most invocations never need).

A ``payload_store = "s3"`` source's deliveries are objects too, written by API Gateway under
``ingest/<source>/<request id>`` (s3_pointer): ``get`` reads one, and its row's ``body_ref``
names it (no copy under ``bodies/``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .errors import TransientError
from .s3_pointer import INGEST_PREFIX

KEY_PREFIX = "bodies/"
URI_SCHEME = "s3://"
# The object's Content-Type when the delivery had none.
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Longest Content-Type copied onto an object (the attribute is the sender's header).
MAX_CONTENT_TYPE_CHARS = 256
# The transient failure code (logs, metrics) of a PutObject that did not succeed.
PUT_FAILED = "payload_store_put_failed"
# ... and of a GetObject (an S3 source's delivery): retried, then the DLQ keeps the pointer.
GET_FAILED = "payload_store_get_failed"
# The keys a body_ref may name: the processor's copies and API Gateway's deliveries.
REF_PREFIXES = (KEY_PREFIX, INGEST_PREFIX)


class BodyRef(NamedTuple):
    bucket: str
    key: str

    def uri(self) -> str:
        return f"{URI_SCHEME}{self.bucket}/{self.key}"


def object_key(source: str, body_sha256: str) -> str:
    """``bodies/<source>/<sha256 hex>``: the same body of the same source, the same key."""
    return f"{KEY_PREFIX}{source}/{body_sha256}"


def _error_code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__


class StoredObject(NamedTuple):
    uri: str  # s3://bucket/key
    body: bytes
    # User metadata, as GetObject returns it: lower-case names without "x-amz-meta-".
    metadata: Mapping[str, str]
    content_type: str | None


def parse_body_ref(value: str) -> BodyRef:
    """``"s3://bucket/bodies/..."`` or ``"s3://bucket/ingest/..."`` -> BodyRef. Raises
    ValueError for anything else."""
    if not isinstance(value, str) or not value.startswith(URI_SCHEME):
        raise ValueError(f"body_ref {value!r} is not an s3:// URI")
    bucket, _, key = value[len(URI_SCHEME) :].partition("/")
    if not bucket or not key.startswith(REF_PREFIXES):
        raise ValueError(
            f"body_ref {value!r} does not name a bucket and a {KEY_PREFIX}... or {INGEST_PREFIX}... key"
        )
    return BodyRef(bucket, key)


def object_content_type(content_type: str | None) -> str:
    """The delivery's Content-Type when it can be an HTTP header as is (printable ASCII, short),
    else DEFAULT_CONTENT_TYPE: an odd header must never turn every PutObject of a delivery
    into a failure, and so a retry loop into the DLQ."""
    if (
        content_type
        and len(content_type) <= MAX_CONTENT_TYPE_CHARS
        and content_type.isascii()
        and content_type.isprintable()
    ):
        return content_type
    return DEFAULT_CONTENT_TYPE


class PayloadStore:
    """PutObject of whole bodies into the module's bucket (``PAYLOAD_BUCKET``)."""

    def __init__(self, client_factory: Callable[[], Any], bucket: str) -> None:
        self._client_factory = client_factory
        self.bucket = bucket

    def put(self, source: str, raw: bytes, body_sha256: str, content_type: str | None) -> str:
        """Store ``raw`` and return its ``body_ref``. Any failure is a TransientError: the
        record is retried (then the DLQ), never recorded with a partial body."""
        ref = BodyRef(self.bucket, object_key(source, body_sha256))
        try:
            # ChecksumSHA256: S3 refuses the write unless the bytes it got hash to the row's
            # body_sha256, so an object is never a corrupted copy of what the row describes.
            self._client_factory().put_object(
                Bucket=ref.bucket,
                Key=ref.key,
                Body=raw,
                ContentType=object_content_type(content_type),
                ChecksumSHA256=base64.b64encode(bytes.fromhex(body_sha256)).decode("ascii"),
            )
        except Exception as exc:  # ClientError, BotoCoreError, timeouts: all retried
            raise TransientError(PUT_FAILED, f"PutObject {ref.uri()} failed: {_error_code(exc)}") from exc
        return ref.uri()

    def get(self, key: str) -> StoredObject:
        """The object ``key`` of the bucket: bytes, user metadata, Content-Type. Any failure
        (NoSuchKey, AccessDenied, KMS, a timeout while reading the body) is a TransientError:
        the record is retried, then the DLQ keeps the pointer (the object stays)."""
        ref = BodyRef(self.bucket, key)
        try:
            answer = self._client_factory().get_object(Bucket=ref.bucket, Key=ref.key)
            body = bytes(answer["Body"].read())
        except Exception as exc:
            raise TransientError(GET_FAILED, f"GetObject {ref.uri()} failed: {_error_code(exc)}") from exc
        metadata = answer.get("Metadata")
        content_type = answer.get("ContentType")
        return StoredObject(
            ref.uri(),
            body,
            {str(k).lower(): v for k, v in metadata.items()} if isinstance(metadata, Mapping) else {},
            content_type if isinstance(content_type, str) else None,
        )
