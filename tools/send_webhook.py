"""Send a signed (or deliberately unsigned / tampered) webhook to the ingest endpoint.

    WEBHOOK_SECRET=whsec_... python tools/send_webhook.py \\
        --url https://<api>.execute-api.<region>.amazonaws.com/<stage>/webhooks/stripe \\
        --scheme stripe --secret-env WEBHOOK_SECRET --payload event.json

The secret is read from the environment variable named by --secret-env, never from argv
(argv is visible to other users and lands in shell history). Importable: ``prepare()``
builds the request without any HTTP, ``send()`` posts it.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

try:
    from tools.signing import SCHEMES, SIGNATURE_HEADERS, sign
except ImportError:  # run as a script: python tools/send_webhook.py
    from signing import SCHEMES, SIGNATURE_HEADERS, sign  # type: ignore[no-redef]


@dataclass(frozen=True)
class PreparedRequest:
    url: str
    headers: dict[str, str]
    body: bytes


def prepare(
    url: str,
    scheme: str,
    secret: str | None,
    body: bytes,
    *,
    content_type: str = "application/json",
    event_type: str | None = None,
    msg_id: str | None = None,
    timestamp: int | None = None,
    unsigned: bool = False,
    tamper: bool = False,
    extra_headers: Mapping[str, str] | None = None,
    hmac_header: str | None = None,
    hmac_encoding: str = "hex",
    hmac_prefix: str = "",
) -> PreparedRequest:
    """Sign ``body`` as ``scheme``'s provider would; no network.

    ``unsigned`` drops the signature header(s) but keeps delivery id / timestamp / event type.
    ``tamper`` appends one space to the body after signing: it stays valid JSON (so API
    Gateway accepts it) but the signature no longer matches, and the processor must reject it.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
    if scheme == "hmac_sha256" and not hmac_header:
        raise ValueError("--scheme hmac_sha256 needs --hmac-header")
    if scheme != "none" and not unsigned and not secret:
        raise ValueError(f"scheme {scheme} needs a secret (see --secret-env)")
    headers = sign(
        scheme,
        secret or "",
        body,
        timestamp=timestamp,
        msg_id=msg_id,
        event_type=event_type,
        hmac_header=hmac_header,
        hmac_encoding=hmac_encoding,
        hmac_prefix=hmac_prefix,
    )
    if unsigned:
        dropped = set(SIGNATURE_HEADERS.get(scheme, ())) | ({hmac_header} if hmac_header else set())
        headers = {name: value for name, value in headers.items() if name not in dropped}
    headers["Content-Type"] = content_type
    headers.update(extra_headers or {})
    return PreparedRequest(url, headers, body + b" " if tamper else body)


def send(request: PreparedRequest, timeout: float = 30.0) -> tuple[int, str]:
    """POST the request; returns (HTTP status, response body). HTTP errors are returned too."""
    http_request = urllib.request.Request(
        request.url, data=request.body, headers=request.headers, method="POST"
    )
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _header(value: str) -> tuple[str, str]:
    name, sep, content = value.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected K=V, got {value!r}")
    return name.strip(), content


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="send_webhook.py",
        description="POST a webhook signed like a real provider would (or unsigned / tampered).",
    )
    parser.add_argument("--url", required=True, help="endpoint, e.g. <invoke_url>/webhooks/<source>")
    parser.add_argument("--scheme", required=True, choices=SCHEMES, help="signature scheme of the source")
    parser.add_argument(
        "--secret-env",
        metavar="VAR",
        help="name of the environment variable holding the signing secret (never pass it in argv)",
    )
    parser.add_argument(
        "--payload", required=True, metavar="FILE", help="body file, sent byte-exact ('-' = stdin)"
    )
    parser.add_argument("--content-type", default="application/json", help="default: %(default)s")
    parser.add_argument("--event-type", help="X-GitHub-Event / X-Shopify-Topic value")
    parser.add_argument("--msg-id", help="delivery id (X-GitHub-Delivery, X-Shopify-Webhook-Id, webhook-id)")
    parser.add_argument("--timestamp", type=int, help="signed timestamp, epoch seconds (default: now)")
    parser.add_argument("--unsigned", action="store_true", help="leave the signature header(s) out")
    parser.add_argument("--tamper", action="store_true", help="change the body by one byte after signing")
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        type=_header,
        metavar="K=V",
        help="extra header (repeatable)",
    )
    parser.add_argument("--hmac-header", help="hmac_sha256: the signature header's name")
    parser.add_argument("--hmac-encoding", choices=("hex", "base64"), default="hex", help="hmac_sha256 only")
    parser.add_argument("--hmac-prefix", default="", help="hmac_sha256 only, e.g. 'sha256='")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds (default: %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    secret = None
    if args.secret_env:
        secret = os.environ.get(args.secret_env)
        if not secret:
            print(f"error: environment variable {args.secret_env} is not set or empty", file=sys.stderr)
            return 2
    if args.payload == "-":
        body = sys.stdin.buffer.read()
    else:
        with open(args.payload, "rb") as handle:
            body = handle.read()
    try:
        request = prepare(
            args.url,
            args.scheme,
            secret,
            body,
            content_type=args.content_type,
            event_type=args.event_type,
            msg_id=args.msg_id,
            timestamp=args.timestamp,
            unsigned=args.unsigned,
            tamper=args.tamper,
            extra_headers=dict(args.header),
            hmac_header=args.hmac_header,
            hmac_encoding=args.hmac_encoding,
            hmac_prefix=args.hmac_prefix,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        status, response_body = send(request, timeout=args.timeout)
    except (urllib.error.URLError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(status)
    print(response_body)
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
