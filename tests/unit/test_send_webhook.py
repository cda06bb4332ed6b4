"""The operator sender tool: signing path without HTTP, and the CLI against a local server."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webhook_processor.config import SourceConfig
from webhook_processor.signatures import SignedRequest, verify

from tools.send_webhook import build_parser, main, prepare

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_700_000_000


def test_prepare_signs_like_the_provider() -> None:
    request = prepare(
        "http://x/webhooks/gh",
        "github",
        "It's a Secret to Everybody",
        b"Hello, World!",
        msg_id="d-1",
        event_type="push",
    )
    assert request.body == b"Hello, World!"
    assert request.headers["X-Hub-Signature-256"] == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )
    assert request.headers["X-GitHub-Delivery"] == "d-1" and request.headers["X-GitHub-Event"] == "push"
    assert request.headers["Content-Type"] == "application/json"


def test_unsigned_drops_only_the_signature() -> None:
    request = prepare(
        "http://x", "standard_webhooks", None, b"{}", unsigned=True, msg_id="msg_1", timestamp=NOW
    )
    assert "webhook-signature" not in request.headers
    assert request.headers["webhook-id"] == "msg_1" and request.headers["webhook-timestamp"] == str(NOW)
    generic = prepare("http://x", "hmac_sha256", None, b"{}", unsigned=True, hmac_header="X-Sig")
    assert "X-Sig" not in generic.headers


def test_tamper_breaks_the_signature_but_keeps_json_valid() -> None:
    request = prepare("http://x", "stripe", "whsec_k", b'{"id":"evt_1"}', tamper=True, timestamp=NOW)
    assert json.loads(request.body) == {"id": "evt_1"} and request.body != b'{"id":"evt_1"}'
    signed = SignedRequest(request.body, request.headers["Stripe-Signature"], None, None, NOW * 1000)
    assert verify(signed, SourceConfig("s", "stripe"), lambda: ["whsec_k"]).reason == "signature_mismatch"
    untampered = prepare("http://x", "stripe", "whsec_k", b'{"id":"evt_1"}', timestamp=NOW)
    signed = SignedRequest(untampered.body, untampered.headers["Stripe-Signature"], None, None, NOW * 1000)
    assert verify(signed, SourceConfig("s", "stripe"), lambda: ["whsec_k"]).valid


def test_extra_headers_and_validation() -> None:
    request = prepare(
        "http://x", "none", None, b"{}", extra_headers={"X-Delivery-Id": "abc"}, content_type="text/plain"
    )
    assert request.headers == {"Content-Type": "text/plain", "X-Delivery-Id": "abc"}
    with pytest.raises(ValueError):
        prepare("http://x", "github", None, b"{}")
    with pytest.raises(ValueError):
        prepare("http://x", "hmac_sha256", "s", b"{}")
    with pytest.raises(ValueError):
        prepare("http://x", "md5", "s", b"{}")


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Recorder.received.append((dict(self.headers.items()), body))
        status = 200 if self.path.endswith("/ok") else 415
        payload = json.dumps({"status": "accepted" if status == 200 else "unsupported"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Recorder.received = []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_cli_posts_and_prints_status_and_body(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = tmp_path / "event.json"
    payload.write_bytes(b'{"id":"evt_cli","type":"x"}')
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", "whsec_cli")
    argv = ["--url", f"{server}/webhooks/ok", "--scheme", "stripe", "--secret-env", "TEST_WEBHOOK_SECRET"]
    assert main([*argv, "--payload", str(payload), "--header", "X-Extra=1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "200" and json.loads(out[1]) == {"status": "accepted"}
    headers, body = _Recorder.received[-1]
    assert body == payload.read_bytes() and headers["X-Extra"] == "1"
    request = SignedRequest(
        body, headers["Stripe-Signature"], None, None, int(headers["Stripe-Signature"][2:12]) * 1000
    )
    assert verify(request, SourceConfig("s", "stripe"), lambda: ["whsec_cli"]).valid
    assert "whsec_cli" not in "".join(out)

    assert main([*argv[:1], f"{server}/webhooks/nope", *argv[2:], "--payload", str(payload)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == "415"


def test_cli_refuses_a_missing_secret_env(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    payload = tmp_path / "p.json"
    payload.write_bytes(b"{}")
    argv = ["--url", "http://127.0.0.1:9", "--scheme", "github", "--secret-env", "NO_SUCH_VAR_FOR_TEST"]
    assert main([*argv, "--payload", str(payload)]) == 2
    assert "NO_SUCH_VAR_FOR_TEST" in capsys.readouterr().err


def test_cli_help_runs_as_a_script() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "send_webhook.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--secret-env" in done.stdout and "--tamper" in done.stdout
    assert build_parser().parse_args(["--url", "u", "--scheme", "none", "--payload", "-"]).content_type == (
        "application/json"
    )
