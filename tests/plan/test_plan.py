"""Plan tests: both examples against small YAML inventories, and what the module plans for
its sources (request templates, content types, secrets, the package).

A plan costs 10-30 s here, nearly all of it per command, so the cases share plans: each
example is planned once, and the module's cases are instances (probes) of one plan of
tests/fixtures/module_probes; the package, which must be known at plan time, gets a plan
of its own, and the README's snippet a copy of its own. The guard rails (every validation
and precondition message) are in test_infra_plan.py."""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tftest
import yaml

from tests.harness.inventory import matches
from tests.harness.stack import module_variables, plan_values, probe_vars

# One worker per engine plans this file: its cached plans are made once.
pytestmark = [pytest.mark.plan, pytest.mark.xdist_group("plan-module")]
INVENTORIES = Path(__file__).parent / "inventories"
FIXTURE = "tests/fixtures/module_root"
PROBES = "tests/fixtures/module_probes"
REPO = Path(__file__).resolve().parents[2]


def at(probe: str, address: str) -> str:
    """The address of a resource of one probe (module instance) of PROBES."""
    return f'module.webhooks["{probe}"].{address}'


def check_inventory(plan: tftest.TerraformPlanOutput, inventory: dict[str, Any]) -> None:
    values = plan_values(plan)
    # By resource type, nested modules' (the consumers') included and data sources apart: the
    # index goes first, so keys with dots (email["oncall@example.com"]) do not split.
    counts = collections.Counter(
        re.sub(r"\[[^\]]*\]", "", address).split(".")[-2]
        for address in values
        if ".data." not in f".{address}"
    )
    for rtype, count in inventory.get("counts", {}).items():
        assert counts[rtype] == count, f"{rtype}: planned {counts[rtype]}, inventory says {count}"
    for address, expected in inventory.get("values", {}).items():
        assert address in values, f"{address} is not in the plan"
        for key, want in expected.items():
            got = values[address].get(key)
            assert matches(want, got), f"{address}.{key}: planned {got!r}, inventory says {want!r}"
    for name in inventory.get("outputs", []):
        assert name in plan.outputs, f"output {name} is not planned"


@pytest.fixture(scope="module")
def example_plan(plan_stack) -> Callable[[str], tftest.TerraformPlanOutput]:
    """Each example planned once, with its own defaults."""
    plans: dict[str, tftest.TerraformPlanOutput] = {}

    def get(example: str) -> tftest.TerraformPlanOutput:
        if example not in plans:
            plans[example] = plan_stack(f"examples/{example}").plan()
        return plans[example]

    return get


@pytest.mark.parametrize("example", ["minimal", "complete"])
def test_example_matches_inventory(example_plan, example):
    check_inventory(example_plan(example), yaml.safe_load((INVENTORIES / f"{example}.yaml").read_text()))


# The module's cases: probe name -> its inputs (the module's variables).
SCHEMES = {
    "gh": {"scheme": "github"},
    "sl": {"scheme": "slack"},
    "st": {"scheme": "stripe"},
    "sh": {"scheme": "shopify"},
    "sw": {"scheme": "standard_webhooks"},
    "hm": {"scheme": "hmac_sha256", "signature_header": "X-Sig"},
    "no": {"scheme": "none"},
    "own": {"scheme": "github", "content_types": ["application/json"]},
    # An entry that has parameters is kept as written; one without is expanded.
    "par": {"scheme": "none", "content_types": ["application/json; charset=utf-8", "text/plain"]},
}
ACCEPTED = {
    "schemes": {"sources": SCHEMES},
    "disabled": {"create": False},
    "paused": {"processor_enabled": False},
    "secrets": {
        "sources": {
            "gh": {"scheme": "github"},
            "own": {
                "scheme": "stripe",
                "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf",
            },
            "open": {"scheme": "none"},
        }
    },
}
# Sources whose secrets exist already, so the whole zip is known (and written) at plan time.
# A plan of its own: the package is read when the plan is made only if no secret the
# module creates is pending, in any probe (a data source that refers to a resource with
# changes waits for the apply, and it refers to every instance's secrets).
PACKAGE = {
    "package": {
        "sources": {
            "open": {"scheme": "none"},
            "gh": {
                "scheme": "github",
                "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:gh-AbCdEf",
            },
        }
    }
}


@pytest.fixture(scope="module")
def accepted(plan_stack) -> tftest.TerraformPlanOutput:
    return plan_stack(PROBES).plan(tf_vars=probe_vars(ACCEPTED))


# Every media type is keyed with these suffixes (main.tf, charset_suffixes): under either reading
# of API Gateway's selection rule (the exact string, or the media type) they select one template.
CHARSET_SUFFIXES = ("", "; charset=utf-8", ";charset=utf-8", "; charset=UTF-8", ";charset=UTF-8")
JSON_KEYS = {f"application/json{suffix}" for suffix in CHARSET_SUFFIXES}
FORM_KEYS = {f"application/x-www-form-urlencoded{suffix}" for suffix in CHARSET_SUFFIXES}
TEXT_KEYS = {f"text/plain{suffix}" for suffix in CHARSET_SUFFIXES}


def test_request_template_forwards_raw_body_and_scheme_headers(example_plan):
    values = plan_values(example_plan("complete"))
    github = values['module.webhooks.aws_api_gateway_integration.this["github"]']["request_templates"]
    # examples/complete leaves github's and slack's content_types unset: the scheme defaults.
    assert set(github) == JSON_KEYS | FORM_KEYS
    assert len(set(github.values())) == 1  # one template, whatever the spelling
    slack = values['module.webhooks.aws_api_gateway_integration.this["slack"]']["request_templates"]
    assert set(slack) == JSON_KEYS | FORM_KEYS
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


def test_default_content_types_follow_the_scheme(accepted):
    """content_types unset: what each provider sends (GitHub form hooks, Slack commands)."""
    values = plan_values(accepted)
    form = JSON_KEYS | FORM_KEYS
    par = {"application/json; charset=utf-8"} | TEXT_KEYS
    expected = {"gh": form, "sl": form, "own": JSON_KEYS, "par": par}
    for name in SCHEMES:
        integration = values[at("schemes", f'aws_api_gateway_integration.this["{name}"]')]
        assert set(integration["request_templates"]) == expected.get(name, JSON_KEYS), name
        # Every JSON spelling, and only those, is validated against the JSON model.
        json_keys = {"application/json; charset=utf-8"} if name == "par" else JSON_KEYS
        method = values[at("schemes", f'aws_api_gateway_method.this["{name}"]')]
        assert method["request_models"] == dict.fromkeys(json_keys, "WebhookJsonBody"), name


def test_processor_enabled_pauses_only_the_trigger(accepted):
    """processor_enabled = false: the trigger is planned disabled; the API, queue and function stay."""
    values = plan_values(accepted)
    mapping = "aws_lambda_event_source_mapping.this[0]"
    assert values[at("paused", mapping)]["enabled"] is False
    assert values[at("schemes", mapping)]["enabled"] is True  # the default
    for address in (
        "aws_lambda_function.this[0]",
        "aws_sqs_queue.this[0]",
        'aws_api_gateway_integration.this["github"]',
    ):
        assert at("paused", address) in values, address


# The method responses api.tf declares for each source (what a sender can be answered).
METHOD_STATUSES = ("200", "400", "413", "500", "502", "503")


def test_mirrors_of_api_tf_match_the_plan(accepted):
    """The harness's GatewaySpec (webhook_spec) builds the API of api.tf by hand, for the
    template tests and demos: same integration responses and request templates. (The
    reliability suite's own copy, local_stack, is gone: it now reads the deployed API.)"""
    from tests.harness import webhook_spec

    # The "schemes" probe's gh and hm: github, and hmac_sha256 with signature_header X-Sig.
    values = plan_values(accepted)
    prefix = at("schemes", "aws_api_gateway_")
    statuses = sorted(
        v["status_code"] for a, v in values.items() if a.startswith(f'{prefix}method_response.this["gh:')
    )
    assert statuses == sorted(METHOD_STATUSES)
    planned = sorted(
        (v["status_code"], v["selection_pattern"], v["response_templates"]["application/json"])
        for a, v in values.items()
        if a.startswith(f'{prefix}integration_response.this["gh:')
    )
    assert planned == sorted(
        (status, pattern, webhook_spec.response_template(file))
        for status, pattern, file in webhook_spec.INTEGRATION_RESPONSES
    )
    templates = values[f'{prefix}integration.this["gh"]']["request_templates"]
    assert templates["application/json"] == webhook_spec.request_template(
        "gh", **webhook_spec.SCHEME_HEADERS["github"]
    )
    assert set(templates) == JSON_KEYS | FORM_KEYS
    assert values[f'{prefix}integration.this["hm"]']["request_templates"]["application/json"] == (
        webhook_spec.request_template("hm", signature_header="X-Sig")
    )


def test_readme_access_log_role_snippet_plans(stack_factory):
    """The one-time regional role the README shows for create_access_logs plans as written
    (beside the module, in a copy of its own: the test writes the snippet into it)."""
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


def test_disabled_module_plans_nothing(accepted):
    values = plan_values(accepted)
    # The probes' addresses are what the filter expects (else it would hold for any plan).
    assert any(a.startswith(at("schemes", "aws_")) for a in values)
    managed = [a for a in values if a.startswith(at("disabled", "")) and ".data." not in a]
    assert managed == []


def test_secret_per_verified_source_only(accepted):
    values = plan_values(accepted)
    secrets = sorted(a for a in values if a.startswith(at("secrets", "aws_secretsmanager_secret.")))
    assert secrets == [at("secrets", 'aws_secretsmanager_secret.this["gh"]')]


PACKAGE_OUTPUTS = ("processor_package_path", "processor_package_base64sha256", "processor_code_base64sha256")


def test_make_package_builds_the_zip_the_module_deploys(plan_stack, engine):
    """`make package` builds the code the module deploys: the deployed zip is that zip's
    files, byte for byte, plus webhook_config/sources.json (the per-source configuration)."""
    import subprocess
    import zipfile

    from tests.harness.driver import package_base64sha256

    stack = plan_stack(PROBES)
    plan = stack.plan(tf_vars=probe_vars(PACKAGE))
    planned = {name: plan.outputs[name]["package"] for name in PACKAGE_OUTPUTS}
    # In the shared copy of the repository: the very sources the plan packed. package.sh
    # writes only build/ and tools/package/ there, which no plan of the copy reads.
    result = subprocess.run(
        ["bash", "toolchain/package.sh"],
        cwd=stack.workdir,
        env=engine.env,
        capture_output=True,
        text=True,
        check=True,
    )
    printed = re.search(r"base64sha256 of the code \(`make package`\): (\S+)", result.stdout).group(1)
    assert printed == planned["processor_code_base64sha256"]
    assert re.search(r"size: +\d+ bytes, \d+ files", result.stdout)
    built = Path(re.search(r"package: (\S+)", result.stdout).group(1))
    deployed = stack.local_path(planned["processor_package_path"])
    assert package_base64sha256(deployed) == planned["processor_package_base64sha256"]
    with zipfile.ZipFile(built) as code, zipfile.ZipFile(deployed) as package:
        assert sorted(package.namelist()) == sorted([*code.namelist(), "webhook_config/sources.json"])
        for name in code.namelist():
            assert package.read(name) == code.read(name), name
        assert sorted(json.loads(package.read("webhook_config/sources.json"))) == ["gh", "open"]


def test_probes_fixture_passes_every_module_variable():
    """tests/fixtures/module_probes hands each probe's attributes to the module by name: a
    variable it leaves out could not be set by a probe, and a probe setting it would plan
    the default without a word."""
    names = module_variables()
    fixture = (REPO / PROBES / "main.tf").read_text()
    passed = re.findall(r"^  (\w+) += try\(each\.value\.(\w+),", fixture, re.M)
    assert all(arg == attr for arg, attr in passed), passed
    assert sorted(arg for arg, _ in passed) == sorted(names)
