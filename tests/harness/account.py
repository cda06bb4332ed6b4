"""The AWS account a suite runs against: the local moto server (default) or a real one.

WEBHOOK_INGEST_TARGET=aws points the very same suites at a real account: the
only difference is that no endpoint override is written and boto3 uses the
default credential chain. It is never on by default.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

# Every service the module and its tests call. A service missing here would be
# sent to real AWS, which fails fast on a machine with no internet.
SERVICES = (
    "apigateway",
    "cloudwatch",
    "dynamodb",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "secretsmanager",
    "sns",
    "sqs",
    "sts",
)
LOCAL_REGION = "us-east-1"


def target() -> str:
    value = os.environ.get("WEBHOOK_INGEST_TARGET", "local")
    if value not in ("local", "aws"):
        raise ValueError(f"WEBHOOK_INGEST_TARGET must be 'local' or 'aws', not {value!r}")
    return value


@dataclass
class Account:
    endpoint_url: str | None  # None: a real account
    region: str

    @property
    def is_local(self) -> bool:
        return self.endpoint_url is not None

    def client(self, service: str) -> Any:
        if self.endpoint_url is None:
            return boto3.client(service, region_name=self.region)
        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            # Every bucket under the one local endpoint (as the provider's s3_use_path_style).
            config=Config(s3={"addressing_style": "path"}) if service == "s3" else None,
        )

    def sdk_env(self) -> dict[str, str]:
        """Environment for code (the processor) that builds its own boto3 clients."""
        if self.endpoint_url is None:
            return {"AWS_DEFAULT_REGION": self.region}
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }

    def write_provider_override(self, directory: Path) -> Path | None:
        """Point the aws provider at the local account (an override file), or do nothing."""
        if self.endpoint_url is None:
            return None
        override = {
            "provider": {
                "aws": {
                    "region": self.region,
                    "access_key": "test",
                    "secret_key": "test",
                    "skip_credentials_validation": True,
                    "skip_metadata_api_check": True,
                    "skip_region_validation": True,
                    # moto serves every bucket under its one endpoint: bucket.127.0.0.1 does not resolve.
                    "s3_use_path_style": True,
                    "endpoints": [{s: self.endpoint_url for s in SERVICES}],
                }
            }
        }
        path = directory / "local_account_override.tf.json"
        path.write_text(json.dumps(override, indent=2))
        return path


def real_account() -> Account:
    return Account(None, os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")))
