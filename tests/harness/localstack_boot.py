"""LocalStack's entry point for the split account, run by LocalStack's own Python (3.13).

Imports nothing of this repository: it runs in the LocalStack venv of the tool cache.

Two changes to LocalStack. The first, for Lambda's control plane only: preparing a function version
downloads LocalStack's runtime-init binary and pulls a Docker image, which fails offline
and without Docker and leaves every function in state Failed, so Terraform's apply (which
waits for Active: https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html)
fails. Skipping the preparation lets CreateFunction reach Active; invoking a function would
still fail, and nothing invokes one: the module's event source mappings are applied
disabled (processor_enabled = false), and the tests run the deployed zip themselves.
"""

from localstack.runtime.main import main
from localstack.services.lambda_.invocation.docker_runtime_executor import DockerRuntimeExecutor


def _prepare_version(cls: type, function_version: object) -> None:
    """No runtime binary, no image: nothing is prepared, so nothing can fail offline."""


DockerRuntimeExecutor.prepare_version = classmethod(_prepare_version)  # type: ignore[assignment]

# The second change, the one tests/harness/moto_server.py makes to moto too (LocalStack's API
# Gateway keeps stages in its bundled moto): the aws provider sends a method setting of one
# method as `/~1webhooks~1github/POST/throttling/rateLimit`; AWS files it under
# `webhooks/github/POST`, which the provider reads back. moto splits the path at its third
# slash, so a nested resource path is lost and the read finds nothing: split off the
# two-part setting name instead.
from moto.apigateway.models import Stage  # noqa: E402

_SETTING_GROUPS = ("metrics", "logging", "throttling", "caching")
_original_apply = Stage.apply_operations


def _apply_operations(self: Stage, patch_operations: list) -> Stage:
    rest = []
    for op in patch_operations:
        parts = op.get("path", "").lstrip("/").split("/")
        if op.get("op") == "replace" and len(parts) >= 4 and parts[-2] in _SETTING_GROUPS:
            method_path = "/".join(parts[:-2]).replace("~1", "/").lstrip("/")
            self._patch_method_setting(method_path, "/".join(parts[-2:]), op["value"])
        else:
            rest.append(op)
    return _original_apply(self, rest)


Stage.apply_operations = _apply_operations  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
