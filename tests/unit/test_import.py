"""Importing the handler is cheap: no network, no environment read, no client call."""

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

import webhook_processor.handler as handler
assert callable(handler.lambda_handler)
# Nothing was built yet: configuration and clients are created on first use.
assert handler.get_processor.cache_info().currsize == 0
assert handler._dynamodb.cache_info().currsize == 0
assert handler._sdk_config.cache_info().currsize == 0
assert handler._sns.cache_info().currsize == 0
assert handler._s3.cache_info().currsize == 0
import sys
# The payload store's module is imported only once a PAYLOAD_BUCKET is configured.
assert "webhook_processor.payload_store" not in sys.modules
print("ok")
"""


def test_import_makes_no_network_call_and_reads_no_config() -> None:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "TABLE_", "WEBHOOK_"))
    }
    # A broken environment must not break the import (it is read on first invocation).
    env.update(
        {
            "WEBHOOK_SOURCES": "{not json",
            "WEBHOOK_SOURCES_FILE": "/nonexistent/sources.json",
            "PROCESSOR_TIMEOUT_SECONDS": "not a number",
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


def test_the_package_imports_only_stdlib_and_boto3() -> None:
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore", "webhook_processor"}
    for path in (ROOT / "lambda" / "webhook_processor").glob("*.py"):
        for line in path.read_text().splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] in ("import", "from") and not words[1].startswith("."):
                assert words[1].split(".")[0] in allowed, f"{path.name}: {line}"
