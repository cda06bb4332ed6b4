"""One applied examples/complete per engine, shared by the apply and end-to-end tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.harness.stack import Stack


@dataclass
class Deployed:
    stack: Stack
    outputs: dict[str, Any]
    tf_vars: dict[str, Any]


def _caller_principal_arn(aws_account) -> str:
    """The IAM role or user behind the test's credentials (aws:PrincipalArn)."""
    arn = aws_account.client("sts").get_caller_identity()["Arn"]
    if ":assumed-role/" in arn:
        role = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        return aws_account.client("iam").get_role(RoleName=role)["Role"]["Arn"]
    return arn.replace(":sts::", ":iam::", 1)


@contextmanager
def _applied_complete(engine, aws_account, workdir: Path) -> Iterator[Deployed]:
    name = f"wh{uuid.uuid4().hex[:8]}"
    # An operator role for replay_principal_arns: the queue policies name it, so it
    # must exist (a real account refuses unknown principals). Not the module's: its
    # name does not start with `name`, which the destroy test checks.
    iam = aws_account.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    operator = iam.create_role(RoleName=f"replay-{name}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    replayers = [operator["Arn"]]
    if not aws_account.is_local:
        # A real account enforces the main queue's policy: the tests replay as themselves.
        replayers.append(_caller_principal_arn(aws_account))
    tf_vars = {
        "name": name,
        "region": aws_account.region,
        "replay_principal_arns": replayers,
        "secret_recovery_window_days": 0,  # the names are unique anyway; nothing to keep
    }
    stack = Stack(engine, aws_account, "examples/complete", workdir)
    stack.init()
    try:
        stack.apply(tf_vars=tf_vars)
        yield Deployed(stack, stack.outputs(), tf_vars)
    finally:
        # Normally test_teardown.py destroyed it already and checked nothing is left.
        try:
            if stack.applied:
                stack.destroy(tf_vars=tf_vars)
            stack.cleanup()
        finally:
            iam.delete_role(RoleName=operator["RoleName"])


@pytest.fixture(scope="module")
def deployed(engine, aws_account, session_stacks, tmp_path_factory) -> Deployed:
    """examples/complete applied once per engine for the session: test_complete_apply.py reads
    it back, test_consumers_e2e.py drives it, and test_teardown.py, last in collection order,
    destroys it. Shared, because each apply costs about two minutes and each destroy over one."""
    return session_stacks.get(
        ("examples/complete", engine.name),
        lambda: _applied_complete(engine, aws_account, tmp_path_factory.mktemp(f"complete-{engine.name}")),
    )
