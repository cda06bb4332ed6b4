"""A root module under test, run with tftest on one engine against one account.

Each stack works on its own copy of the repository, so both engines (and
parallel tests) never share `.terraform/`, lock files or state.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tftest

from .account import Account
from .toolchain import Engine

REPO = Path(__file__).resolve().parents[2]
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".terraform",
    "*.tfstate*",
    ".terraform.lock.hcl",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
    "build",
    "*_override.tf.json",
)


@dataclass
class Stack:
    engine: Engine
    account: Account
    root: str  # path of the root module, relative to the repository
    workdir: Path
    timings: dict[str, float] = field(default_factory=dict)
    applied: bool = False

    def __post_init__(self) -> None:
        shutil.copytree(REPO, self.workdir, ignore=COPY_IGNORE, dirs_exist_ok=True)
        self.tfdir = self.workdir / self.root
        self.tf = tftest.TerraformTest(str(self.tfdir), binary=self.engine.binary, env=self.engine.env)

    def _timed(self, step: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.monotonic()
        try:
            return fn(*args, **kwargs)
        finally:
            self.timings[step] = self.timings.get(step, 0.0) + time.monotonic() - t0

    def init(self) -> str:
        override = self.account.write_provider_override(self.workdir)
        extra = [str(override)] if override else []
        # cleanup_on_exit=False: the fixture destroys first, then removes the whole copy.
        return self._timed("init", self.tf.setup, extra_files=extra, cleanup_on_exit=False)

    def plan(
        self, tf_vars: dict[str, Any] | None = None, targets: list[str] | None = None
    ) -> tftest.TerraformPlanOutput:
        """targets: plan only these addresses and what they depend on (-target)."""
        return self._timed("plan", self.tf.plan, output=True, tf_vars=hcl_vars(tf_vars), targets=targets)

    def apply(self, tf_vars: dict[str, Any] | None = None) -> str:
        self.applied = True
        return self._timed("apply", self.tf.apply, tf_vars=hcl_vars(tf_vars))

    def outputs(self) -> dict[str, Any]:
        out = self.tf.output()
        return {k: out[k] for k in out}

    def pending_changes(self, tf_vars: dict[str, Any] | None = None) -> list[str]:
        """Addresses a fresh plan would change (empty when the apply left no drift)."""
        plan = self._timed("replan", self.tf.plan, output=True, tf_vars=hcl_vars(tf_vars))
        return [
            f"{address}: {rc['change']['actions']}"
            for address, rc in (plan.resource_changes or {}).items()
            if rc["change"]["actions"] not in (["no-op"], ["read"])
        ]

    def destroy(self, tf_vars: dict[str, Any] | None = None) -> str:
        out = self._timed("destroy", self.tf.destroy, tf_vars=hcl_vars(tf_vars))
        self.applied = False
        return out

    def local_path(self, path: str) -> Path:
        """A path an output reports (such as processor_package_path), on this machine."""
        return Path(path) if Path(path).is_absolute() else self.tfdir / path

    def state_resources(self) -> list[str]:
        result = self.tf.execute_command("state", "list")
        return [line for line in result.out.splitlines() if line.strip()]

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """Any other CLI call (fmt, validate, providers lock) in the stack's root."""
        return subprocess.run(
            [self.engine.binary, *args], cwd=self.tfdir, env=self.engine.env, capture_output=True, text=True
        )

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def hcl_vars(tf_vars: dict[str, Any] | None) -> dict[str, Any] | None:
    """tftest writes `-var k=v` with str(v) for scalars: give it HCL spellings."""
    if tf_vars is None:
        return None
    spelled: dict[str, Any] = {}
    for key, value in tf_vars.items():
        if isinstance(value, bool):
            spelled[key] = "true" if value else "false"
        elif value is None:
            spelled[key] = "null"
        else:
            spelled[key] = value
    return spelled


def plan_values(plan: tftest.TerraformPlanOutput) -> dict[str, dict[str, Any]]:
    """address -> planned values for every resource, modules included."""
    found: dict[str, dict[str, Any]] = {}

    def walk(module: dict[str, Any]) -> None:
        for res in module.get("resources", []):
            found[res["address"]] = res.get("values", {})
        for child in module.get("child_modules", []):
            walk(child)

    walk(plan["planned_values"].get("root_module", {}))
    return found
