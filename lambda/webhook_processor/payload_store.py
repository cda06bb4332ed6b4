"""The payload store: bodies too long for a history row, as S3 objects (docs/message-contract.md).

An object's key is ``bodies/<source>/<hex SHA-256 of the body>`` and its bytes are the body as
received. Content-addressed, so a redelivery or a duplicate rewrites the same bytes under the
same key: writing is idempotent and needs no read first. The processor writes the object
before the row that points at it (``body_ref = "s3://<bucket>/<key>"``): a crash in between
leaves an object and no row, and the SQS redelivery writes both.

The S3 client is made on first use: importing this module, or building a PayloadStore, does
no I/O (the cold start does not pay for a client most invocations never need).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, NamedTuple

from .errors import TransientError

KEY_PREFIX = "bodies/"
URI_SCHEME = "s3://"
# The object's Content-Type when the delivery had none.
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Longest Content-Type copied onto an object (the attribute is the sender's header).
MAX_CONTENT_TYPE_CHARS = 256
# The transient failure code (logs, metrics) of a PutObject that did not succeed.
PUT_FAILED = "payload_store_put_failed"


class BodyRef(NamedTuple):
    bucket: str
    key: str

    def uri(self) -> str:
        return f"{URI_SCHEME}{self.bucket}/{self.key}"


def object_key(source: str, body_sha256: str) -> str:
    """``bodies/<source>/<sha256 hex>``: the same body of the same source, the same key."""
    return f"{KEY_PREFIX}{source}/{body_sha256}"


def parse_body_ref(value: str) -> BodyRef:
    """``"s3://bucket/bodies/..."`` -> BodyRef. Raises ValueError for anything else."""
    if not isinstance(value, str) or not value.startswith(URI_SCHEME):
        raise ValueError(f"body_ref {value!r} is not an s3:// URI")
    bucket, _, key = value[len(URI_SCHEME) :].partition("/")
    if not bucket or not key.startswith(KEY_PREFIX):
        raise ValueError(f"body_ref {value!r} does not name a bucket and a {KEY_PREFIX}... key")
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
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
            raise TransientError(PUT_FAILED, f"PutObject {ref.uri()} failed: {code}") from exc
        return ref.uri()
