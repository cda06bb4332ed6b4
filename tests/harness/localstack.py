"""LocalStack core on 127.0.0.1, and an account split between it and a moto server.

LocalStack is the second, independent emulator of the edge (issue 12): its API Gateway
executes the deployed REST API itself (VTL, the SQS SendMessage call, integration-response
selection), so tests/localstack compares its answers and queued messages with
tests/harness/gateway.py's on moto. `make localstack` installs it into the tool cache
(toolchain/localstack.sh); nothing of it is in the repository.

It runs offline and without Docker as a process of its own (`python -m
localstack.runtime.main`), with an environment that keeps it on loopback and inside the
cache (see ENVIRONMENT). Each service the apply needs is sent either to LocalStack or to the
moto server through the aws provider's per-service `endpoints`
(https://registry.terraform.io/providers/hashicorp/aws/latest/docs/guides/custom-service-endpoints),
and the processor's boto3 clients the same way through service-specific endpoint variables
(AWS_ENDPOINT_URL_<SERVICE>:
https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

from .account import SERVICES, Account
from .moto_server import free_port
from .toolchain import cache_dir

# What toolchain/localstack.sh installs (keep the two in step).
LOCALSTACK_VERSION = "2026.3.0"

# The services LocalStack serves in the split account: the edge (API Gateway executes the
# integration, SQS holds what it queued), the IAM role API Gateway's integration names, and
# the rest of the control plane that works offline here. Lambda too: its control plane
# (CreateFunction, CreateEventSourceMapping) works without Docker, and an event source
# mapping must name a queue of the same emulator; no code runs there (processor_enabled =
# false, see tests/localstack/conftest.py). Everything else goes to the moto server:
# DynamoDB (LocalStack's needs DynamoDB Local, a Java download that fails offline).
LOCALSTACK_SERVICES = (
    "apigateway",
    "sqs",
    "iam",
    "sts",
    "lambda",
    "secretsmanager",
    "sns",
    "logs",
    "cloudwatch",
    "kms",
)
MOTO_SERVICES = tuple(s for s in SERVICES if s not in LOCALSTACK_SERVICES)

# `python -m localstack.runtime.main` with Lambda's runtime preparation skipped (its docstring says why).
BOOT = Path(__file__).with_name("localstack_boot.py")
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


def venv_python() -> Path:
    """LocalStack's interpreter in the tool cache (`make localstack` puts it there)."""
    python = cache_dir() / "localstack-venv" / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(f"{python} is missing: run `make localstack` (toolchain/localstack.sh)")
    return python


def environment(port: int, root: Path, services: tuple[str, ...]) -> dict[str, str]:
    """LocalStack's configuration (https://docs.localstack.cloud/references/configuration/),
    each setting there for a reason observed on this kind of machine."""
    return {
        # Listen on loopback only. The default server (twisted) ignores the host part and
        # binds 0.0.0.0; hypercorn honours it.
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "GATEWAY_SERVER": "hypercorn",
        # The host it writes into URLs it returns (queue URLs): this very port.
        "LOCALSTACK_HOST": f"127.0.0.1:{port}",
        # Without it, it believes it runs in its container and writes under /var/lib, /etc, /usr/lib.
        "OVERRIDE_IN_DOCKER": "0",
        "FILESYSTEM_ROOT": str(root / "fs"),
        "TMPDIR": str(root / "tmp"),
        # No DNS server (it would bind port 53), no analytics events, no certificate download.
        "DNS_ADDRESS": "0",
        "DISABLE_EVENTS": "1",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "SERVICES": ",".join(services),
        # One process, the services started when first called (the default).
        "EAGER_SERVICE_LOADING": "0",
    }


@dataclass
class LocalStack:
    """A LocalStack process (its own process group) and the URL every service answers on."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    root: Path | None = None  # its FILESYSTEM_ROOT and TMPDIR, removed by stop()
    started_s: float = 0.0  # seconds from spawn to ready

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def execute_api_url(self, rest_api_id: str, stage: str, path: str) -> str:
        """LocalStack's invoke URL for a REST API stage (no DNS needed)."""
        return f"{self.url}/_aws/execute-api/{rest_api_id}/{stage}{path}"

    def rss_mb(self) -> float | None:
        """Resident memory of the process group's leader, for the suite's figures."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None

    def stop(self) -> None:
        """SIGTERM to the whole group (it may have started helpers), SIGKILL if it lingers."""
        if self.process.poll() is None:
            self._terminate()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def _terminate(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        except ProcessLookupError:
            pass


def start(services: tuple[str, ...] = LOCALSTACK_SERVICES, root: Path | None = None) -> LocalStack:
    """Start LocalStack on a free loopback port and wait until it reports READY."""
    python = venv_python()
    port = free_port()
    root = root or cache_dir() / "localstack-run" / str(port)
    for sub in ("fs", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    log_dir = cache_dir() / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"localstack-{port}.log"
    # Only what a process needs from ours: no AWS_* settings or credentials leak in.
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ")}
    t0 = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            # -P: the script's folder (tests/harness, which has a localstack.py) stays off sys.path.
            [str(python), "-P", str(BOOT)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**base, **environment(port, root, services)},
            cwd=root,
            start_new_session=True,  # its own process group: stop() signals all of it
        )
    stack = LocalStack(process, port, log_path, root)
    deadline = t0 + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"LocalStack exited with {process.returncode}; see {log_path}")
        try:
            # {"completed": true} once its READY stage ran (the "Ready." line in the log).
            with urllib.request.urlopen(f"{stack.url}/_localstack/init/ready", timeout=2) as answer:
                if json.load(answer).get("completed") is True:
                    stack.started_s = time.monotonic() - t0
                    return stack
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    stack.stop()
    raise RuntimeError(f"LocalStack was not ready within {READY_TIMEOUT_S:.0f} s; see {log_path}")


@dataclass
class SplitAccount(Account):
    """One local account whose services live on two emulators: `endpoints` maps each service
    to its URL (LocalStack or moto). `endpoint_url` (the LocalStack URL) serves any other."""

    endpoints: Mapping[str, str] = field(default_factory=dict)

    def url_of(self, service: str) -> str:
        assert self.endpoint_url is not None
        return self.endpoints.get(service, self.endpoint_url)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.url_of(service),
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def sdk_env(self) -> dict[str, str]:
        env = super().sdk_env()
        for service in SERVICES:
            env[f"AWS_ENDPOINT_URL_{service.upper()}"] = self.url_of(service)
        return env

    def write_provider_override(self, directory: Path) -> Path | None:
        path = super().write_provider_override(directory)
        assert path is not None
        override = json.loads(path.read_text())
        override["provider"]["aws"]["endpoints"] = [{s: self.url_of(s) for s in SERVICES}]
        path.write_text(json.dumps(override, indent=2))
        return path


def split_account(localstack_url: str, moto_url: str, region: str) -> SplitAccount:
    endpoints = {s: localstack_url for s in LOCALSTACK_SERVICES} | {s: moto_url for s in MOTO_SERVICES}
    return SplitAccount(localstack_url, region, endpoints)


def send(url: str, method: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes, dict[str, str]]:
    """One HTTP request exactly as given: header names keep their case, and no Content-Type
    is added (urllib would add a form type to any body). Returns status, body, headers."""
    split = urlsplit(url)
    connection = http.client.HTTPConnection(split.hostname or "127.0.0.1", split.port, timeout=60)
    try:
        target = split.path + (f"?{split.query}" if split.query else "")
        connection.request(method, target, body=body, headers=dict(headers))
        answer = connection.getresponse()
        return answer.status, answer.read(), dict(answer.getheaders())
    finally:
        connection.close()
