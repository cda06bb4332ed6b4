"""`make lint`'s own checks fail where they should: tflint, the aws 6.x schema check, pre-commit.

Each check is run on a fixture that must fail it (and on a clean twin that must pass), so a
check that silently stopped checking is caught here, not in review.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import toolchain
from tools import hcl_reader, schema_check

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
TFLINT_CONFIG = REPO / ".tflint.hcl"


def _tool(name: str) -> Path:
    path = toolchain.cache_dir() / "bin" / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make tools`")
    return path


def _schema_path() -> Path:
    path = schema_check.default_schema_path()
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make tools` (it extracts the aws 6.x schema once)")
    return path


# --- tflint ----------------------------------------------------------------------------------


def _tflint(fixture: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(_tool("tflint")), f"--chdir={FIXTURES / fixture}", f"--config={TFLINT_CONFIG}", "--no-color"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_tflint_fails_on_an_unused_untyped_undocumented_variable() -> None:
    result = _tflint("tflint_unused")
    assert result.returncode != 0, result.stdout + result.stderr
    for rule in (
        "terraform_unused_declarations",
        "terraform_typed_variables",
        "terraform_documented_variables",
    ):
        assert rule in result.stdout, result.stdout


def test_tflint_passes_the_clean_twin() -> None:
    result = _tflint("tflint_clean")
    assert result.returncode == 0, result.stdout + result.stderr


def test_tflint_is_the_pinned_build_with_the_bundled_ruleset() -> None:
    versions = (REPO / "toolchain" / "versions.env").read_text()
    pinned = re.search(r"^TFLINT_VERSION=v(\S+)", versions, re.M)
    assert pinned is not None
    out = subprocess.run([str(_tool("tflint")), "--version"], capture_output=True, text=True).stdout
    assert f"TFLint version {pinned.group(1)}" in out
    assert re.search(r"ruleset\.terraform \(\S+-bundled\)", out), out


def test_tflint_config_uses_preset_all_and_justifies_every_disabled_rule() -> None:
    text = TFLINT_CONFIG.read_text()
    root = hcl_reader.parse(text, str(TFLINT_CONFIG))
    (plugin,) = [b for b in root.blocks_of("plugin") if b.labels == ["terraform"]]
    assert hcl_reader.attribute_value(plugin.attributes["preset"]) == "all"
    assert hcl_reader.attribute_value(plugin.attributes["enabled"]) is True
    assert "source" not in plugin.attributes  # the bundled ruleset: nothing downloaded
    lines = text.splitlines()
    for rule in root.blocks_of("rule"):
        if hcl_reader.attribute_value(rule.attributes["enabled"]) is False:
            above = lines[rule.line - 2] if rule.line >= 2 else ""
            assert above.lstrip().startswith("#"), (
                f"rule {rule.labels[0]} is disabled without a comment above it"
            )


def test_make_lint_runs_tflint_on_the_module_submodules_and_examples() -> None:
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "lint-tflint"], cwd=REPO, capture_output=True, text=True
    ).stdout
    dirs = ["."] + [
        str(p.relative_to(REPO))
        for base in ("modules", "examples")
        for p in sorted((REPO / base).iterdir())
        if p.is_dir()
    ]
    for d in dirs:
        assert re.search(rf"(^|\s){re.escape(d)}(\s|;)", dry), f"{d} is not linted: {dry}"


# --- the aws 6.x schema check ---------------------------------------------------------------


def _check(fixture: str, schema: Path | None = None) -> schema_check.Report:
    report, _ = schema_check.run_check(schema or _schema_path(), [FIXTURES / fixture])
    return report


def test_schema_check_fails_on_every_misspelling() -> None:
    report = _check("schema_misspelled")
    text = "\n".join(report.findings)
    expected = [
        r"main\.tf:3: aws_sqs_queue\.this has no argument 'nmae'",
        r"main\.tf:12: aws_dynamodb_table\.this\.attribute has no argument 'typ'",
        r"main\.tf:15: aws_dynamodb_table\.this has no nested block 'tll'",
        r"main\.tf:25: aws_dynamodb_table\.this\.point_in_time_recovery has no argument 'enabld'",
        r"aws_dynamodb_table\.this\.server_side_encryption is a nested block in the schema, set as an argument",
        r"aws_lambda_function\.this\.memory_size is an argument in the schema, written as a block",
        r"aws_sqs_queue_polcy\.this: no resource type 'aws_sqs_queue_polcy' in aws 6\.25\.0",
        r"data\.aws_regon\.current: no data type 'aws_regon' in aws 6\.25\.0",
    ]
    for pattern in expected:
        assert re.search(pattern, text), f"{pattern!r} not in:\n{text}"
    assert len(report.findings) == len(expected), text


def test_schema_check_passes_the_clean_fixture_and_counts_what_it_checked() -> None:
    report = _check("schema_clean")
    assert report.findings == []
    assert report.types_checked == 3  # provider "aws", data.aws_region, aws_dynamodb_table
    # provider: region + default_tags.tags; table: name, billing_mode, hash_key,
    # attribute.name/type, ttl content's attribute_name/enabled, lifecycle is meta
    assert report.arguments_checked == 9
    assert report.blocks_checked == 3  # default_tags, attribute, dynamic ttl
    assert report.skipped_types == {"terraform_data"}


def test_schema_check_cli_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    schema = str(_schema_path())
    assert schema_check.main(["--schema", schema, str(FIXTURES / "schema_misspelled")]) == 1
    assert "has no argument 'nmae'" in capsys.readouterr().err
    assert schema_check.main(["--schema", schema, str(FIXTURES / "schema_clean")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"9 arguments and 3 nested blocks checked, 0 finding", out), out


def test_a_deprecation_note_is_an_error(tmp_path: Path) -> None:
    schema: dict[str, Any] = {
        "format": schema_check.SCHEMA_FORMAT,
        "provider": "hashicorp/aws",
        "provider_version": "6.0.0-test",
        "source": "test",
        "provider_config": {
            "arguments": {"region": {}},
            "blocks": {"default_tags": {"arguments": {"tags": {}}, "blocks": {}}},
        },
        "resources": {
            "aws_dynamodb_table": {
                "arguments": {
                    "name": {},
                    "billing_mode": {"deprecated": "use something else"},
                    "hash_key": {},
                },
                "blocks": {
                    "attribute": {"arguments": {"name": {}, "type": {}}, "blocks": {}},
                    "ttl": {
                        "deprecated": "gone soon",
                        "arguments": {"attribute_name": {}, "enabled": {}},
                        "blocks": {},
                    },
                },
            }
        },
        "data_sources": {
            "aws_region": {"deprecated": "the whole data source", "arguments": {}, "blocks": {}}
        },
    }
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    text = "\n".join(_check("schema_clean", path).findings)
    assert "aws_dynamodb_table.this.billing_mode is deprecated: use something else" in text
    assert "aws_dynamodb_table.this.ttl (dynamic) is deprecated: gone soon" in text
    assert "data.aws_region.current: aws_region is deprecated: the whole data source" in text


def _assembly() -> dict[str, Any]:
    """A two-type jsii assembly shaped like cdktf's bindings."""
    base = "https://registry.terraform.io/providers/hashicorp/aws/6.25.0/docs"

    def link(page: str, anchor: str, kind: str = "resources") -> dict[str, str]:
        return {"summary": f"Docs at Terraform Registry: {{@link {base}/{kind}/{page}#{anchor} X#{anchor}}}."}

    def prop(name: str, docs: dict[str, str], type_: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"name": name, "docs": docs, "type": type_ or {"primitive": "string"}}

    def cls(fqn: str, base_cls: str, summary: str, config: str) -> dict[str, Any]:
        return {
            "kind": "class",
            "fqn": fqn,
            "base": base_cls,
            "docs": {"summary": summary},
            "initializer": {
                "parameters": [{"name": "scope"}, {"name": "id"}, {"name": "config", "type": {"fqn": config}}]
            },
        }

    p = "@cdktf/provider-aws"
    return {
        "name": p,
        "version": "21.22.1",
        "types": {
            f"{p}.queue.Queue": cls(
                f"{p}.queue.Queue",
                "cdktf.TerraformResource",
                f"Represents a {{@link {base}/resources/sqs_queue aws_sqs_queue}}.",
                f"{p}.queue.QueueConfig",
            ),
            f"{p}.queue.QueueConfig": {
                "kind": "interface",
                "datatype": True,
                "properties": [
                    prop("name", link("sqs_queue", "name")),
                    prop("kmsDataKeyReusePeriodSeconds", {"summary": "no link here"}),
                    prop("oldThing", {**link("sqs_queue", "old_thing"), "deprecated": "use new_thing"}),
                    prop(
                        "redrive",
                        {"summary": "redrive block.", "remarks": link("sqs_queue", "redrive")["summary"]},
                        {
                            "union": {
                                "types": [
                                    {"fqn": "cdktf.IResolvable"},
                                    {
                                        "collection": {
                                            "kind": "array",
                                            "elementtype": {"fqn": f"{p}.queue.QueueRedrive"},
                                        }
                                    },
                                ]
                            }
                        },
                    ),
                ],
            },
            f"{p}.queue.QueueRedrive": {
                "kind": "interface",
                "datatype": True,
                "properties": [
                    prop("maxReceiveCount", link("sqs_queue", "max_receive_count"), {"primitive": "number"})
                ],
            },
            f"{p}.dataAwsRegion.DataAwsRegion": cls(
                f"{p}.dataAwsRegion.DataAwsRegion",
                "cdktf.TerraformDataSource",
                f"Represents a {{@link {base}/data-sources/region aws_region}}.",
                f"{p}.dataAwsRegion.DataAwsRegionConfig",
            ),
            f"{p}.dataAwsRegion.DataAwsRegionConfig": {
                "kind": "interface",
                "datatype": True,
                "properties": [
                    prop(
                        "region",
                        {"summary": "Region where this resource will be managed. Deprecated: use x."},
                    )
                ],
            },
            f"{p}.provider.AwsProvider": cls(
                f"{p}.provider.AwsProvider",
                "cdktf.TerraformProvider",
                f"Represents a {{@link {base} aws}}.",
                f"{p}.provider.AwsProviderConfig",
            ),
            f"{p}.provider.AwsProviderConfig": {
                "kind": "interface",
                "datatype": True,
                "properties": [prop("region", {"summary": "AWS region."})],
            },
        },
    }


def test_extract_keeps_arguments_blocks_and_deprecation_notes() -> None:
    schema = schema_check.extract_from_assembly(_assembly())
    assert schema["provider_version"] == "6.25.0"
    queue = schema["resources"]["aws_sqs_queue"]
    assert set(queue["arguments"]) == {"name", "kms_data_key_reuse_period_seconds", "old_thing"}
    assert queue["arguments"]["old_thing"] == {"deprecated": "use new_thing"}
    assert queue["blocks"] == {"redrive": {"arguments": {"max_receive_count": {}}, "blocks": {}}}
    region = schema["data_sources"]["aws_region"]["arguments"]["region"]
    assert "Deprecated: use x." in region["deprecated"]
    assert set(schema["provider_config"]["arguments"]) == {"region"}


def test_the_cached_schema_is_aws_6_and_knows_the_6_0_removals() -> None:
    schema = schema_check.load_schema(_schema_path())
    assert schema["provider_version"].startswith("6.")
    assert "cdktf-cdktf-provider-aws" in schema["source"] or "@cdktf/provider-aws" in schema["source"]
    lambda_function = schema["resources"]["aws_lambda_function"]
    assert {"memory_size", "timeout", "region"} <= set(lambda_function["arguments"])  # region: new in 6.0
    assert "logging_config" in lambda_function["blocks"]
    # Removed in 6.0: aws_api_gateway_deployment's stage arguments (the stage is its own resource).
    deployment = schema["resources"]["aws_api_gateway_deployment"]
    assert not {"stage_name", "stage_description"} & set(deployment["arguments"])
    assert "canary_settings" not in deployment["blocks"]


# --- pre-commit ------------------------------------------------------------------------------


def _lint_steps() -> list[str]:
    makefile = (REPO / "Makefile").read_text()
    match = re.search(r"^LINT_STEPS\s*:=\s*(.+)$", makefile, re.M)
    assert match, "the Makefile has no LINT_STEPS"
    return match.group(1).split()


def test_pre_commit_config_is_valid() -> None:
    result = subprocess.run(
        [
            str(toolchain.cache_dir() / "venv" / "bin" / "pre-commit"),
            "validate-config",
            ".pre-commit-config.yaml",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_pre_commit_hooks_call_exactly_the_make_lint_steps() -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert all(repo["repo"] == "local" for repo in config["repos"])
    targets = []
    for hook in hooks:
        assert hook["language"] == "system" and hook["pass_filenames"] is False, hook["id"]
        words = hook["entry"].split()
        assert words[0] == "make", hook["entry"]
        targets.append(words[-1])
    assert targets == _lint_steps()
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^lint: .*\n\t@\$\(MAKE\) --no-print-directory \$\(LINT_STEPS\)$", makefile, re.M)
    for target in targets:
        assert re.search(rf"^{target}:", makefile, re.M), f"no make target {target}"
