"""Plan tests: both examples against small YAML inventories, and the module's guard rails."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import pytest
import tftest
import yaml

from tests.harness.inventory import matches
from tests.harness.stack import plan_values

pytestmark = pytest.mark.plan
INVENTORIES = Path(__file__).parent / "inventories"
FIXTURE = "tests/fixtures/module_root"
REPO = Path(__file__).resolve().parents[2]


def check_inventory(plan: tftest.TerraformPlanOutput, inventory: dict[str, Any]) -> None:
    values = plan_values(plan)
    counts = collections.Counter(address.split("[")[0].split(".")[-2] for address in values)
    for rtype, count in inventory.get("counts", {}).items():
        assert counts[rtype] == count, f"{rtype}: planned {counts[rtype]}, inventory says {count}"
    for address, expected in inventory.get("values", {}).items():
        assert address in values, f"{address} is not in the plan"
        for key, want in expected.items():
            got = values[address].get(key)
            assert matches(want, got), f"{address}.{key}: planned {got!r}, inventory says {want!r}"
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
    # examples/complete leaves github's and slack's content_types unset: the scheme defaults.
    assert set(github) == {"application/json", "application/x-www-form-urlencoded"}
    slack = values['module.webhooks.aws_api_gateway_integration.this["slack"]']["request_templates"]
    assert set(slack) == {"application/json", "application/x-www-form-urlencoded"}
    template = github["application/json"]
    code = "\n".join(line for line in template.splitlines() if not line.startswith("##"))
    assert "$util.urlEncode($input.body)" in code
    assert "$input.json(" not in code
    # Headers only, by lower-cased name: never $input.params(name), which reads the query string first.
    assert "#foreach($name in $header.keySet())" in code
    assert "$input.params('" not in code
    assert "$lowerName == 'x-hub-signature-256'" in code
    assert "$lowerName == 'x-github-delivery'" in code
    stripe = values['module.webhooks.aws_api_gateway_integration.this["stripe"]']["request_templates"]
    assert "'stripe-signature'" in stripe["application/json"]
    assert "x-github" not in stripe["application/json"].lower()
    partner = values['module.webhooks.aws_api_gateway_integration.this["partner"]']["request_templates"]
    assert "$lowerName == 'x-partner-delivery'" in partner["application/json"]  # configured names too


def test_default_content_types_follow_the_scheme(stack_factory):
    """content_types unset: what each provider sends (GitHub form hooks, Slack commands)."""
    sources = {
        "gh": {"scheme": "github"},
        "sl": {"scheme": "slack"},
        "st": {"scheme": "stripe"},
        "sh": {"scheme": "shopify"},
        "sw": {"scheme": "standard_webhooks"},
        "hm": {"scheme": "hmac_sha256", "signature_header": "X-Sig"},
        "no": {"scheme": "none"},
        "own": {"scheme": "github", "content_types": ["application/json"]},
    }
    values = plan_values(stack_factory(FIXTURE).plan(tf_vars={"sources": sources}))
    form = {"application/json", "application/x-www-form-urlencoded"}
    expected = {"gh": form, "sl": form, "own": {"application/json"}}
    for name in sources:
        integration = values[f'module.webhooks.aws_api_gateway_integration.this["{name}"]']
        assert set(integration["request_templates"]) == expected.get(name, {"application/json"}), name
        method = values[f'module.webhooks.aws_api_gateway_method.this["{name}"]']
        assert method["request_models"] == {"application/json": "WebhookJsonBody"}, name


def test_mirrors_of_api_tf_match_the_plan(stack_factory):
    """The harness's GatewaySpec (webhook_spec) and the reliability stack (local_stack) build the
    API of api.tf by hand: same method statuses, integration responses and request templates."""
    from tests.harness import webhook_spec
    from tests.reliability import local_stack

    sources = {"gh": {"scheme": "github"}, "hm": {"scheme": "hmac_sha256", "signature_header": "X-Sig"}}
    values = plan_values(stack_factory(FIXTURE).plan(tf_vars={"sources": sources}))
    prefix = "module.webhooks.aws_api_gateway_"
    statuses = sorted(
        v["status_code"] for a, v in values.items() if a.startswith(f'{prefix}method_response.this["gh:')
    )
    assert statuses == sorted(local_stack.METHOD_STATUSES)
    planned = sorted(
        (v["status_code"], v["selection_pattern"], v["response_templates"]["application/json"])
        for a, v in values.items()
        if a.startswith(f'{prefix}integration_response.this["gh:')
    )
    for mirror in (webhook_spec.INTEGRATION_RESPONSES, local_stack.INTEGRATION_RESPONSES):
        assert planned == sorted(
            (status, pattern, webhook_spec.response_template(file)) for status, pattern, file in mirror
        )
    templates = values[f'{prefix}integration.this["gh"]']["request_templates"]
    assert templates["application/json"] == webhook_spec.request_template(
        "gh", **webhook_spec.SCHEME_HEADERS["github"]
    )
    github = local_stack.SourceDef("gh", "github")
    assert templates["application/json"] == local_stack.request_template(
        github, local_stack.scheme_headers_from_main_tf()
    )
    assert set(templates) == set(github.content_types)
    hmac = local_stack.SourceDef("hm", "hmac_sha256", signature_header="X-Sig")
    assert values[f'{prefix}integration.this["hm"]']["request_templates"]["application/json"] == (
        local_stack.request_template(hmac, local_stack.scheme_headers_from_main_tf())
    )


def test_readme_access_log_role_snippet_plans(stack_factory):
    """The one-time regional role the README shows for create_access_logs plans as written."""
    import re

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Access logs") :]
    snippet = re.search(r"```hcl\n(.*?)```", section, re.S).group(1)
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in snippet
    stack = stack_factory(FIXTURE)
    (stack.tfdir / "readme_access_logs.tf").write_text(snippet, encoding="utf-8")
    values = plan_values(stack.plan())
    attachment = values["aws_iam_role_policy_attachment.apigateway_cloudwatch"]
    assert attachment["policy_arn"].endswith(":policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
    assert "aws_api_gateway_account.this" in values
    trust = json.loads(values["aws_iam_role.apigateway_cloudwatch"]["assume_role_policy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "apigateway.amazonaws.com"}


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
        ({"sources": {"g": {"scheme": "github", "content_types": []}}}, "content_types must be"),
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
        "empty-content-types",
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
    """`make package` builds the code the module deploys: the deployed zip is that zip's
    files, byte for byte, plus webhook_config/sources.json (the per-source configuration)."""
    import re
    import subprocess
    import zipfile

    from tests.harness.driver import package_base64sha256

    stack = stack_factory(FIXTURE)
    # Sources whose secrets exist already, so the whole zip is known (and written) at plan time.
    sources = {
        "open": {"scheme": "none"},
        "gh": {
            "scheme": "github",
            "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:gh-AbCdEf",
        },
    }
    plan = stack.plan(tf_vars={"sources": sources})
    # In the stack's copy of the repository: the very sources the plan packed.
    result = subprocess.run(
        ["bash", "toolchain/package.sh"],
        cwd=stack.workdir,
        env=engine.env,
        capture_output=True,
        text=True,
        check=True,
    )
    printed = re.search(r"base64sha256 of the code \(`make package`\): (\S+)", result.stdout).group(1)
    assert printed == plan.outputs["processor_code_base64sha256"]
    assert re.search(r"size: +\d+ bytes, \d+ files", result.stdout)
    built = Path(re.search(r"package: (\S+)", result.stdout).group(1))
    deployed = stack.local_path(plan.outputs["processor_package_path"])
    assert package_base64sha256(deployed) == plan.outputs["processor_package_base64sha256"]
    with zipfile.ZipFile(built) as code, zipfile.ZipFile(deployed) as package:
        assert sorted(package.namelist()) == sorted([*code.namelist(), "webhook_config/sources.json"])
        for name in code.namelist():
            assert package.read(name) == code.read(name), name
        assert sorted(json.loads(package.read("webhook_config/sources.json"))) == ["gh", "open"]
