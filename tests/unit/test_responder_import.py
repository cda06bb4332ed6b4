"""Importing the responder is cheap: no network, no environment read, no client, and nothing of
the processor's (history, publishing, metrics, S3) comes with it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

GUARDED_IMPORT = """
import socket

def refuse(*args, **kwargs):
    raise AssertionError("network access at import time")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

import sys
import webhook_processor.responder as responder
assert callable(responder.lambda_handler)
# Nothing was built yet: configuration and clients are created on first use.
assert responder.get_responder.cache_info().currsize == 0
assert responder.get_responder_config.cache_info().currsize == 0
assert responder._sqs.cache_info().currsize == 0
assert responder._secretsmanager.cache_info().currsize == 0
# The processor's modules stay out of the responder's cold start.
loaded = {name for name in sys.modules if name.startswith("webhook_processor.")}
heavy = {"handler", "processor", "history", "envelope", "publisher", "metrics", "payload_store", "s3_pointer"}
assert not loaded & {"webhook_processor." + name for name in heavy}, sorted(loaded)
print("ok")
"""


def test_import_makes_no_network_call_reads_no_config_and_loads_no_processor() -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "WEBHOOK_", "QUEUE_", "SOURCE_"))
    }
    # A broken environment must not break the import (it is read on first invocation).
    env.update(
        {
            "WEBHOOK_SOURCES": "{not json",
            "WEBHOOK_SOURCES_FILE": "/nonexistent/sources.json",
            "CONTENT_TYPES": "not json",
            "SECRET_CACHE_TTL_SECONDS": "not a number",
            "PYTHONPATH": str(ROOT / "lambda"),
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", GUARDED_IMPORT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
