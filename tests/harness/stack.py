"""A root module under test, run with tftest on one engine against one account.

Each stack works on its own copy of the repository, so both engines (and
parallel tests) never share `.terraform/`, lock files or state.
"""

from __future__ import annotations

import re
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
    # A copy shared by many tests (the plan_stack fixture): they may plan it, never apply it.
    plan_only: bool = False

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
        # In the root only: a provider block in the module's own directory would make it a
        # legacy module, which a root cannot call with for_each (tests/fixtures/module_probes).
        self.account.write_provider_override(self.tfdir)
        # cleanup_on_exit=False: the fixture destroys first, then removes the whole copy.
        return self._timed("init", self.tf.setup, cleanup_on_exit=False)

    def plan(
        self, tf_vars: dict[str, Any] | None = None, targets: list[str] | None = None
    ) -> tftest.TerraformPlanOutput:
        """targets: plan only these addresses and what they depend on (-target)."""
        return self._timed("plan", self.tf.plan, output=True, tf_vars=hcl_vars(tf_vars), targets=targets)

    def apply(self, tf_vars: dict[str, Any] | None = None) -> str:
        if self.plan_only:
            raise RuntimeError(f"{self.root} is a shared plan-only copy: apply a stack of its own")
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


def module_variables() -> list[str]:
    """The names of the root module's variables (variables.tf)."""
    return re.findall(r'^variable "([^"]+)"', (REPO / "variables.tf").read_text(encoding="utf-8"), re.M)


def probe_vars(probes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """tf_vars for tests/fixtures/module_probes: one module instance per probe, its attributes
    the module's inputs. The fixture would ignore a misspelt input (try() falls back to null,
    the default), so every attribute must name a variable of the module."""
    known = set(module_variables())
    unknown = {name: sorted(set(probe) - known) for name, probe in probes.items() if set(probe) - known}
    if unknown:
        raise ValueError(f"probes set inputs the module does not have: {unknown}")
    return {"probes": probes}


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
