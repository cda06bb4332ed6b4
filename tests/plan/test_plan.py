"""Plan tests: both examples against small YAML inventories, and the module's guard rails."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest
import tftest
import yaml

from tests.harness.stack import plan_values

pytestmark = pytest.mark.plan
INVENTORIES = Path(__file__).parent / "inventories"
FIXTURE = "tests/fixtures/module_root"
REPO = Path(__file__).resolve().parents[2]


def _matches(expected: Any, actual: Any) -> bool:
    """Inventory values are a subset: dicts compare by the keys they list."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _matches(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(_matches(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return expected == actual


def check_inventory(plan: tftest.TerraformPlanOutput, inventory: dict[str, Any]) -> None:
    values = plan_values(plan)
    counts = collections.Counter(address.split("[")[0].split(".")[-2] for address in values)
    for rtype, count in inventory.get("counts", {}).items():
        assert counts[rtype] == count, f"{rtype}: planned {counts[rtype]}, inventory says {count}"
    for address, expected in inventory.get("values", {}).items():
        assert address in values, f"{address} is not in the plan"
        for key, want in expected.items():
            got = values[address].get(key)
            assert _matches(want, got), f"{address}.{key}: planned {got!r}, inventory says {want!r}"
    for name in inventory.get("outputs", []):
        assert name in plan.outputs, f"output {name} is not planned"


@pytest.mark.parametrize("example", ["minimal", "complete"])
def test_example_matches_inventory(stack_factory, example):
    stack = stack_factory(f"examples/{example}")
    plan = stack.plan()
    check_inventory(plan, yaml.safe_load((INVENTORIES / f"{example}.yaml").read_text()))


def test_request_template_forwards_raw_body_and_scheme_headers(stack_factory):
    values = plan_values(stack_factory("examples/complete").plan())
    github = values['module.webhooks.aws_api_gateway_integration.this["github"]']["request_templates"]
    assert set(github) == {"application/json", "application/x-www-form-urlencoded"}
    template = github["application/json"]
    code = "\n".join(line for line in template.splitlines() if not line.startswith("##"))
    assert "$util.urlEncode($input.body)" in code
    assert "$input.json(" not in code
    assert "$input.params('X-Hub-Signature-256')" in template
    assert "$input.params('X-GitHub-Delivery')" in template
    stripe = values['module.webhooks.aws_api_gateway_integration.this["stripe"]']["request_templates"]
    assert "Stripe-Signature" in stripe["application/json"]
    assert "X-GitHub" not in stripe["application/json"]


def test_disabled_module_plans_nothing(stack_factory):
    plan = stack_factory(FIXTURE).plan(tf_vars={"create": False})
    managed = [a for a in plan_values(plan) if ".data." not in a and not a.startswith("data.")]
    assert managed == []


def test_secret_per_verified_source_only(stack_factory):
    sources = {
        "gh": {"scheme": "github"},
        "own": {
            "scheme": "stripe",
            "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf",
        },
        "open": {"scheme": "none"},
    }
    values = plan_values(stack_factory(FIXTURE).plan(tf_vars={"sources": sources}))
    secrets = sorted(a for a in values if ".aws_secretsmanager_secret." in a)
    assert secrets == ['module.webhooks.aws_secretsmanager_secret.this["gh"]']


@pytest.mark.parametrize(
    ("tf_vars", "message"),
    [
        ({"sources": {"gh": {"scheme": "githb"}}}, "scheme must be one of stripe"),
        ({"sources": {"p": {"scheme": "hmac_sha256"}}}, "needs signature_header"),
        ({"sources": {"Bad Key": {"scheme": "github"}}}, "Each sources key is a URL path segment"),
        ({"sources": {}}, "at least one webhook sender"),
        (
            {
                "sources": {
                    "o": {"scheme": "none", "secret_arn": "arn:aws:secretsmanager:us-east-1:1:secret:x"}
                }
            },
            "takes no secret_arn",
        ),
        (
            {"sources": {"g": {"scheme": "github", "content_types": ["application/xml"]}}},
            "content_types must be",
        ),
        ({"sources": {"g": {"scheme": "github", "delivery_id_header": "X-Id'"}}}, "Header names"),
        ({"name": "9starts-with-digit"}, "name must start with a letter"),
        ({"kms_key_arn": "alias/mine"}, "kms_key_arn must be a KMS key ARN"),
        ({"queue_visibility_timeout_seconds": 60}, "at least 6 x processor_timeout"),
    ],
    ids=[
        "bad-scheme",
        "hmac-no-header",
        "bad-key",
        "no-sources",
        "none-with-secret",
        "bad-content-type",
        "quote-in-header",
        "bad-name",
        "kms-alias",
        "visibility-too-short",
    ],
)
def test_bad_input_is_refused_with_its_message(stack_factory, tf_vars, message):
    stack = stack_factory(FIXTURE)
    with pytest.raises(tftest.TerraformTestError) as excinfo:
        stack.plan(tf_vars=tf_vars)
    # Terraform wraps long messages; compare with whitespace folded.
    assert " ".join(message.split()) in " ".join(str(excinfo.value).split())


@pytest.mark.xdist_group("package")  # package.sh works in the repository's own tools/package
def test_make_package_builds_the_zip_the_module_deploys(stack_factory, engine):
    import re
    import subprocess

    plan = stack_factory(FIXTURE).plan()
    deployed_hash = plan.outputs["processor_package_base64sha256"]
    result = subprocess.run(
        ["bash", "toolchain/package.sh"], cwd=REPO, env=engine.env, capture_output=True, text=True, check=True
    )
    printed = re.search(r"base64sha256 \(the Lambda source_code_hash\): (\S+)", result.stdout).group(1)
    assert printed == deployed_hash
    assert re.search(r"size: +\d+ bytes, \d+ files", result.stdout)
