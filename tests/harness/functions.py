"""A deployed Python Lambda function run in-process, fed by its event source mappings.

moto stores functions and event source mappings but runs no code here (no Docker), so
this does Lambda's part the way tests/harness/driver.py does it for the processor:

- the code is the local zip Terraform's archive_file built, checked to be the zip the
  function runs (its base64 SHA-256 == the function's CodeSha256);
- the handler is the function's own Handler setting (``module.function``, resolved in the
  package root: https://docs.aws.amazon.com/lambda/latest/dg/python-handler.html);
- the environment is the function's Environment from GetFunctionConfiguration, plus the
  runtime's reserved variables
  (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime)
  and the account's SDK settings (the local endpoint), and nothing else of the test
  process's: two functions with the same variable name (TABLE_NAME) never see each other's;
- the context carries the function's Timeout and MemorySize.

Its SQS triggers are the event source mappings Lambda reports (ListEventSourceMappings),
read again before every poll so that a re-apply that pauses one is obeyed:

- ``State`` other than Enabled: not polled; the messages wait in the queue (Lambda "stops
  polling" a disabled mapping and resumes where it stopped:
  https://docs.aws.amazon.com/lambda/latest/dg/API_UpdateEventSourceMapping.html);
- ``BatchSize``: the most records per invocation
  (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html);
- ``FunctionResponseTypes`` with ReportBatchItemFailures: only the reported records are
  retried, else any failure retries the batch
  (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html); the
  receiving, deleting and retrying is tests/harness/poller.py's, shared with the processor;
- the queue's redrive policy moves a record to the DLQ after maxReceiveCount receives,
  which moto's SQS does itself (see poller.py).

Not emulated, because the outcomes under test do not depend on them: the batching window
and ScalingConfig.MaximumConcurrency (only when and how many invocations run at once;
here one at a time, as soon as a test polls). A mapping with FilterCriteria is refused
(Lambda would delete the records that do not match:
https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html), not ignored.
SNS -> SQS fan-out (filter policies, raw delivery) is moto's own, not emulated.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .account import Account
from .driver import deployed_function
from .environ import patched_environ
from .poller import EventSourceMappingPoller, Handler, LambdaContext, PollStats

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
# The process environment a function may see besides its own: what Python itself needs.
_PROCESS_VARIABLES = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
# Credentials of a real account: the function's role in Lambda, the tester's here.
_CREDENTIAL_VARIABLES = (
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


@dataclass
class DeployedFunction:
    """One function: its configuration, its unpacked code and its handler."""

    account: Account
    config: dict[str, Any]
    root: Path
    environment: dict[str, str]
    handler: Any = None
    invocations: int = 0
    errors: list[BaseException] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.config["FunctionName"])

    @property
    def arn(self) -> str:
        return str(self.config["FunctionArn"])

    def context(self) -> LambdaContext:
        return LambdaContext(
            self.name,
            float(self.config.get("Timeout", 3)),
            self.account.region,
            memory_limit_in_mb=int(self.config.get("MemorySize", 128)),
        )

    def mappings(self) -> EventSourceMappings:
        return EventSourceMappings(self.account, self.config, self.invoke)

    def invoke(self, event: dict[str, Any], context: Any = None) -> Any:
        """The handler's answer, run in the function's environment only."""
        self.invocations += 1
        with patched_environ(self.environment, replace=True):
            try:
                return self.handler(event, context or self.context())
            except Exception as exc:
                self.errors.append(exc)
                raise


def _environment_of(account: Account, config: dict[str, Any], root: Path) -> dict[str, str]:
    variables = {name: os.environ[name] for name in _PROCESS_VARIABLES if name in os.environ}
    if not account.is_local:
        variables.update({n: os.environ[n] for n in _CREDENTIAL_VARIABLES if n in os.environ})
    variables.update(account.sdk_env())
    name = str(config["FunctionName"])
    variables.update(
        {
            "AWS_REGION": account.region,
            "AWS_DEFAULT_REGION": account.region,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": str(config.get("Version", "$LATEST")),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.get("MemorySize", 128)),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.get('Runtime', 'python3')}",
            "LAMBDA_TASK_ROOT": str(root),
            "_HANDLER": str(config["Handler"]),
            "TZ": "UTC",
        }
    )
    variables.update(config.get("Environment", {}).get("Variables", {}))
    return variables


@contextmanager
def deployed_python_function(
    account: Account, function_name: str, package: Path
) -> Iterator[DeployedFunction]:
    """The function ``function_name`` as Lambda would run it, from ``package`` (its zip).

    Its modules are imported fresh from the unpacked zip and forgotten on exit, so two
    functions (or a test module) with a module of the same name do not mix.
    """
    config = deployed_function(account, function_name, package)  # checks CodeSha256
    if not str(config.get("Runtime", "")).startswith("python"):
        raise AssertionError(f"{function_name} runs {config.get('Runtime')}, not Python")
    module_name, _, attribute = str(config["Handler"]).rpartition(".")
    if not module_name:
        raise AssertionError(f"{function_name}: Handler {config['Handler']!r} is not module.function")
    with tempfile.TemporaryDirectory(prefix=f"lambda-{function_name}-") as unpacked:
        root = Path(unpacked)
        with zipfile.ZipFile(package) as archive:
            archive.extractall(root)
        function = DeployedFunction(account, config, root, _environment_of(account, config, root))
        top = module_name.split(".", 1)[0]
        shadowed = {n: m for n, m in sys.modules.items() if n == top or n.startswith(top + ".")}
        for name in shadowed:
            del sys.modules[name]
        sys.path.insert(0, str(root))
        try:
            # module-level code sees the function's env
            with patched_environ(function.environment, replace=True):
                module = importlib.import_module(module_name)
            function.handler = getattr(module, attribute)
            yield function
        finally:
            sys.path.remove(str(root))
            for name in [n for n, m in sys.modules.items() if _loaded_from(m, root)]:
                del sys.modules[name]
            sys.modules.update(shadowed)


def _loaded_from(module: Any, root: Path) -> bool:
    path = getattr(module, "__file__", None)
    return bool(path) and Path(path).resolve().is_relative_to(root.resolve())


class EventSourceMappings:
    """A function's SQS event source mappings, as Lambda reports them, each a local poller.

    ``invoke(event, context)`` runs the function: DeployedFunction.invoke, or the processor's
    handler inside driver.deployed_processor_environment.
    """

    def __init__(self, account: Account, config: dict[str, Any], invoke: Handler) -> None:
        self.config = config
        self.invoke = invoke
        self.lambda_client = account.client("lambda")
        self.sqs = account.client("sqs")
        self._pollers: dict[tuple[str, int, bool], EventSourceMappingPoller] = {}

    @property
    def function_name(self) -> str:
        return str(self.config["FunctionName"])

    def read(self) -> list[dict[str, Any]]:
        """The function's mappings from ListEventSourceMappings.

        Listed whole and matched on FunctionArn: moto 5.2.5 compares the FunctionName filter
        with the name or ARN exactly as the mapping was created with, AWS with either.
        """
        arn = self.config["FunctionArn"]
        found = []
        for page in self.lambda_client.get_paginator("list_event_source_mappings").paginate():
            found += [m for m in page["EventSourceMappings"] if m["FunctionArn"] == arn]
        return found

    def _poller(self, mapping: dict[str, Any]) -> EventSourceMappingPoller:
        if mapping.get("FilterCriteria"):
            raise NotImplementedError(
                f"mapping {mapping['UUID']} has FilterCriteria, which this harness does not emulate"
            )
        arn = str(mapping["EventSourceArn"])
        if arn.split(":")[2] != "sqs":
            raise NotImplementedError(f"mapping {mapping['UUID']}: only SQS sources are emulated ({arn})")
        report = REPORT_BATCH_ITEM_FAILURES in (mapping.get("FunctionResponseTypes") or [])
        key = (str(mapping["UUID"]), int(mapping["BatchSize"]), report)
        if key not in self._pollers:
            *_, account_id, queue_name = arn.split(":")
            url = self.sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account_id)["QueueUrl"]
            self._pollers[key] = EventSourceMappingPoller(
                self.sqs,
                url,
                self.invoke,
                batch_size=key[1],
                report_batch_item_failures=report,
                function_name=self.function_name,
                function_timeout_s=float(self.config.get("Timeout", 3)),
            )
        return self._pollers[key]

    def enabled(self) -> list[EventSourceMappingPoller]:
        """Pollers of the mappings whose State is Enabled right now."""
        mappings = self.read()
        if not mappings:
            raise AssertionError(f"{self.function_name} has no event source mapping")
        return [self._poller(m) for m in mappings if m.get("State") == "Enabled"]

    def poll_once(self) -> PollStats:
        total = PollStats()
        for poller in self.enabled():
            total.add(poller.poll_once())
        return total

    def drain(self, max_rounds: int = 100) -> PollStats:
        """Poll each enabled mapping until its queue is empty; disabled ones are left alone."""
        total = PollStats()
        for poller in self.enabled():
            total.add(poller.drain(max_rounds=max_rounds))
        return total


class PerInvocationFunctions:
    """A `lambda_invoker` for tests/harness/gateway.py: each call runs the deployed function
    named by the ARN, from its zip and with its own environment, in a fresh import (a cold
    start every time, which Lambda allows). Used for the responders of handshake sources
    (responder.tf), which API Gateway invokes synchronously through a Lambda proxy
    integration. `package` is the zip Terraform built; its hash is checked per function."""

    def __init__(self, account: Account, package: Path) -> None:
        self.account = account
        self.package = package
        self.invocations: dict[str, int] = {}

    def __call__(self, function_arn: str, event: dict[str, Any]) -> Any:
        # arn:aws:lambda:<region>:<account>:function:<name>
        name = function_arn.split(":function:", 1)[1].split(":", 1)[0]
        self.invocations[name] = self.invocations.get(name, 0) + 1
        with deployed_python_function(self.account, name, self.package) as function:
            return function.invoke(event)
