"""`make cost PLAN=plan.json`: settings read from a real saved plan of each example.

Each example is planned against the local (moto) account by the real engine
(`plan -out` + `show -json`), so the JSON is what a user's `terraform show -json` gives.
The settings read from it must equal the module's defaults (variables.tf, read with
python-hcl2) with the example's own arguments applied. The unit tests at the end use a
hand-made plan for the error cases.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tools import hcl_reader

REPO = Path(__file__).resolve().parents[2]


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhook_ingest_cost_tool_plan", REPO / "tools" / "cost.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cost = _load_tool()


def _saved_plan_json(stack: Any, tmp_path: Path, *var_args: str) -> Path:
    planned = stack.run("plan", "-input=false", "-no-color", "-out=cost.tfplan", *var_args)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    shown = stack.run("show", "-json", "cost.tfplan")
    assert shown.returncode == 0, shown.stderr
    path = tmp_path / "plan.json"
    path.write_text(shown.stdout)
    return path


def _expected(example: str, **root_vars: Any) -> Any:
    """The module's defaults (variables.tf) with the example's module arguments applied, read
    from the example's own *.tf: a literal, or `var.X` (-var value, else the example's default)."""
    settings, _ = cost.load_settings(REPO / "variables.tf")
    blocks = [
        b
        for tf in sorted((REPO / "examples" / example).glob("*.tf"))
        for b in hcl_reader.parse_file(tf).blocks
    ]
    (call,) = [b for b in blocks if b.type == "module" and b.labels == ["webhooks"]]
    example_vars = {b.labels[0]: b for b in blocks if b.type == "variable"}
    overrides: dict[str, Any] = {}
    for name, spec in cost.VARIABLES.items():
        if name not in call.attributes:
            continue
        value = hcl_reader.attribute_value(call.attributes[name])
        if isinstance(value, hcl_reader.NonScalar) and value.text.startswith("var."):
            var = value.text[len("var.") :]
            value = root_vars.get(var, hcl_reader.attribute_value(example_vars[var].attributes["default"]))
        overrides[name] = cost._coerce(name, value, spec, example)
    return dataclasses.replace(settings, **overrides), overrides


@pytest.mark.plan
def test_plan_of_minimal_example_gives_the_module_defaults(stack_factory, tmp_path: Path) -> None:
    plan = _saved_plan_json(stack_factory("examples/minimal"), tmp_path)
    settings, origins, projection, instance = cost.load_plan_settings(plan)
    assert instance == "module.webhooks"
    expected, overrides = _expected("minimal")
    assert overrides == {} and settings == expected
    # resolved from the planned resources, not re-derived from variables.tf
    assert "aws_lambda_function" in origins["processor_memory_size"]
    assert "aws_lambda_event_source_mapping" in origins["processor_batch_size"]
    assert "aws_api_gateway_method_settings" in origins["stage_throttling_rate_limit"]
    assert projection == cost.detect_gsi_projection(REPO)

    out = tmp_path / "cost.json"
    assert cost.main(["--plan", str(plan), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["settings"] == dataclasses.asdict(settings)
    assert report["plan"] == {"file": str(plan), "module": "module.webhooks"}


@pytest.mark.plan
def test_plan_of_complete_example_applies_its_arguments_and_root_variables(
    stack_factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _saved_plan_json(stack_factory("examples/complete"), tmp_path, "-var=queue_max_receive_count=7")
    settings, origins, _, _ = cost.load_plan_settings(plan)
    expected, overrides = _expected("complete", queue_max_receive_count=7)
    assert overrides["queue_max_receive_count"] == 7  # module argument = var.queue_max_receive_count
    assert overrides["history_retention_days"] == 30
    assert settings == expected
    assert "var.queue_max_receive_count" in origins["queue_max_receive_count"]

    assert cost.main(["--plan", str(plan)]) == 0
    text = capsys.readouterr().out
    assert f"Settings from the plan {plan} (module.webhooks)" in text
    assert f"history retention {expected.history_retention_days} d" in text


# --- error cases on a hand-made plan ----------------------------------------------------------


def _plan(tmp_path: Path, calls: dict[str, Any], children: list[dict[str, Any]] | None = None) -> Path:
    variables = {
        name: {"default": False if spec.kind == "bool" else max(spec.minimum or 0, 1)}
        for name, spec in cost.VARIABLES.items()
    }
    data = {
        "planned_values": {"root_module": {"child_modules": children or []}},
        "configuration": {
            "root_module": {
                "module_calls": {
                    name: {"source": "../..", "expressions": exprs, "module": {"variables": variables}}
                    for name, exprs in calls.items()
                }
            }
        },
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    return path


def test_plan_settings_fall_back_to_arguments_and_defaults(tmp_path: Path) -> None:
    plan = _plan(tmp_path, {"hooks": {"processor_memory_size": {"constant_value": 512}}})
    settings, origins, projection, instance = cost.load_plan_settings(plan)
    assert settings.processor_memory_size == 512
    assert "module.hooks argument processor_memory_size" in origins["processor_memory_size"]
    assert settings.processor_maximum_concurrency == 2  # the module's default, from the plan
    assert "default of processor_maximum_concurrency" in origins["processor_maximum_concurrency"]
    assert projection is None and instance == "module.hooks"


def test_plan_with_two_calls_needs_module(tmp_path: Path) -> None:
    plan = _plan(tmp_path, {"a": {}, "b": {}})
    with pytest.raises(
        cost.CostError, match=r"called more than once \(module\.a, module\.b\); choose one with --module"
    ):
        cost.load_plan_settings(plan)
    _, _, _, instance = cost.load_plan_settings(plan, "module.b")
    assert instance == "module.b"


def test_plan_argument_that_is_not_known_is_named(tmp_path: Path) -> None:
    plan = _plan(tmp_path, {"hooks": {"processor_batch_size": {"references": ["local.batch"]}}})
    with pytest.raises(
        cost.CostError, match=r"processor_batch_size .* must be a literal int, found: local\.batch"
    ):
        cost.load_plan_settings(plan)


def test_plan_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "plan.bin"
    binary.write_bytes(b"PK\x03\x04 not json")
    assert cost.main(["--plan", str(binary)]) == 2
    assert "terraform show -json" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"planned_values": {}, "configuration": {"root_module": {}}}))
    assert cost.main(["--plan", str(other)]) == 2
    assert "calls no module with this module's inputs" in capsys.readouterr().err
    assert cost.main(["--plan", str(other), "--var-file", "x.tfvars"]) == 2
    assert "drop --var-file" in capsys.readouterr().err
