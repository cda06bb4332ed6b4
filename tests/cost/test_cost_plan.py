"""`make cost PLAN=plan.json`: settings read from a real saved plan of each example.

Each example is planned against the local (moto) account by the real engine
(`plan -out` + `show -json`), so the JSON is what a user's `terraform show -json` gives.
The settings read from it must equal the module's defaults (variables.tf, read with
python-hcl2) with the example's own arguments applied. The unit tests at the end use a
hand-made plan for the error cases.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from tests.cost.cost_tool import load_cost_tool
from tools import hcl_reader

REPO = Path(__file__).resolve().parents[2]


cost = load_cost_tool("webhook_ingest_cost_tool_plan")


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
    read = cost.load_plan_settings(plan)
    settings, origins = read.settings, read.origins
    assert read.instance == "module.webhooks"
    expected, overrides = _expected("minimal")
    assert overrides == {} and settings == expected
    # resolved from the planned resources, not re-derived from variables.tf
    assert "aws_lambda_function" in origins["processor_memory_size"]
    assert "aws_lambda_event_source_mapping" in origins["processor_batch_size"]
    assert "aws_api_gateway_method_settings" in origins["stage_throttling_rate_limit"]
    assert read.gsis is not None and sorted(read.gsis) == sorted(cost.detect_gsis(REPO) or ())
    assert len(read.gsis) == 2  # by_source and by_received
    assert read.consumers == []

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
    read = cost.load_plan_settings(plan)
    settings, origins = read.settings, read.origins
    expected, overrides = _expected("complete", queue_max_receive_count=7)
    assert overrides["queue_max_receive_count"] == 7  # module argument = var.queue_max_receive_count
    assert overrides["history_retention_days"] == 30
    assert settings == expected
    assert "var.queue_max_receive_count" in origins["queue_max_receive_count"]
    # The consumers are read from the module's planned consumer calls; the example's own
    # `consumers` argument says what they must be.
    got = {c.name: (c.filter_scope, c.has_function, c.batch_size) for c in read.consumers}
    assert got == _expected_consumers("complete")
    assert len(got) == 3  # payments (a function), repo-activity (a body filter), audit (none)
    assert settings.create_event_topic is True  # the module's default: the topic is planned
    assert "aws_sns_topic.events" in origins["create_event_topic"]
    # The sources and where each one's body goes: the example's `sources` argument refers to a
    # variable (allowed_cidrs), so they are read from the planned integrations.
    assert {s.name: s.payload_store for s in read.sources} == _expected_sources("complete")
    assert "s3" in {s.payload_store for s in read.sources}
    assert settings.create_payload_store is True
    assert "aws_s3_bucket.payloads" in origins["create_payload_store"]

    out = tmp_path / "cost.json"
    assert cost.main(["--plan", str(plan), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"Settings from the plan {plan} (module.webhooks)" in text
    assert f"history retention {expected.history_retention_days} d" in text
    s3_names = sorted(n for n, store in _expected_sources("complete").items() if store == "s3")
    assert f"  sources {', '.join(s3_names)}; queue sources: " in text
    fan = json.loads(out.read_text())["fan_out"]
    assert [c["name"] for c in fan["consumers"]] == [c.name for c in read.consumers]
    for name in got:
        assert f"  {name} (share 1 (default);" in text


def _expected_sources(example: str) -> dict[str, str]:
    """name -> payload_store ("queue" unless written), from the example's module call as written."""
    calls = [
        call
        for tf in sorted((REPO / "examples" / example).glob("*.tf"))
        for block in hcl_reader.to_python(tf.read_text()).get("module") or []
        for name, call in block.items()
        if name == "webhooks"
    ]
    (call,) = calls
    return {name: entry.get("payload_store", "queue") for name, entry in (call.get("sources") or {}).items()}


def _expected_consumers(example: str) -> dict[str, tuple[str, bool, int]]:
    """name -> (filter scope, has a function, batch size), from the `consumers` argument of the
    example's module call as written (python-hcl2; expressions are their "${...}" text)."""
    calls = [
        call
        for tf in sorted((REPO / "examples" / example).glob("*.tf"))
        for block in hcl_reader.to_python(tf.read_text()).get("module") or []
        for name, call in block.items()
        if name == "webhooks"
    ]
    (call,) = calls
    declared = call.get("consumers") or {}
    return {
        name: (
            cost._filter_scope(entry),
            entry.get("function_name") is not None,
            int(entry.get("batch_size", cost.DEFAULT_CONSUMER_BATCH)),
        )
        for name, entry in declared.items()
    }


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
    read = cost.load_plan_settings(plan)
    settings, origins = read.settings, read.origins
    assert settings.processor_memory_size == 512
    assert "module.hooks argument processor_memory_size" in origins["processor_memory_size"]
    assert settings.processor_maximum_concurrency == 2  # the module's default, from the plan
    assert "default of processor_maximum_concurrency" in origins["processor_maximum_concurrency"]
    assert read.gsis is None and read.instance == "module.hooks"
    # no planned instance, so no topic resource: nothing is published
    assert settings.create_event_topic is False and read.consumers == []


def _resource(address: str, rtype: str, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "address": address,
        "mode": "managed",
        "type": rtype,
        "name": address.rsplit(".", 1)[-1].split("[", 1)[0],  # show -json gives the index apart
        "values": values,
    }


def test_plan_consumers_and_topic_from_planned_values(tmp_path: Path) -> None:
    """The shape `terraform show -json` gives a module instance with consumer calls: the
    subscription and event source mapping of each `module.consumer["NAME"]`."""
    base = "module.hooks"

    def consumer(name: str, policy: str | None, scope: str | None, batch: int | None) -> dict[str, Any]:
        prefix = f'{base}.module.consumer["{name}"]'
        resources = [
            _resource(f"{prefix}.aws_sqs_queue.this", "aws_sqs_queue", {}),
            _resource(
                f"{prefix}.aws_sns_topic_subscription.this",
                "aws_sns_topic_subscription",
                {"filter_policy": policy, "filter_policy_scope": scope, "raw_message_delivery": True},
            ),
        ]
        if batch is not None:
            resources.append(
                _resource(
                    f"{prefix}.aws_lambda_event_source_mapping.this[0]",
                    "aws_lambda_event_source_mapping",
                    {"batch_size": batch, "enabled": False},
                )
            )
        return {"address": prefix, "resources": resources}

    instance = {
        "address": base,
        "resources": [
            _resource(f"{base}.aws_sns_topic.events[0]", "aws_sns_topic", {"name": "x-events"}),
            _resource(
                f"{base}.aws_dynamodb_table.this[0]",
                "aws_dynamodb_table",
                {
                    "global_secondary_index": [
                        {"name": "by_received", "projection_type": "INCLUDE", "hash_key": "received_bucket"},
                        {"name": "by_source", "projection_type": "INCLUDE", "hash_key": "source"},
                    ]
                },
            ),
        ],
        "child_modules": [
            consumer("payments", '{"source":["stripe"]}', "MessageAttributes", 5),
            consumer("repo-activity", '{"json":{"action":["opened"]}}', "MessageBody", None),
            consumer("audit", None, None, None),
        ],
    }
    read = cost.load_plan_settings(_plan(tmp_path, {"hooks": {}}, [instance]))
    assert read.settings.create_event_topic is True
    assert "aws_sns_topic.events[0]" in read.origins["create_event_topic"]
    assert read.gsis == (("by_received", "INCLUDE", "received_bucket"), ("by_source", "INCLUDE", "source"))
    got = {c.name: (c.filter_scope, c.has_function, c.batch_size, c.enabled) for c in read.consumers}
    assert got == {
        "payments": ("MessageAttributes", True, 5, False),
        "repo-activity": ("MessageBody", False, 10, True),
        "audit": ("none", False, 10, True),
    }
    repo = next(c for c in read.consumers if c.name == "repo-activity")
    assert "no function: drained 10 at a time, assumed" in repo.origin

    out = tmp_path / "cost.json"
    argv = ["--plan", str(tmp_path / "plan.json"), "--consumer-share", "payments=0.5", "--json", str(out)]
    assert cost.main(argv) == 0
    fan = json.loads(out.read_text())["fan_out"]
    payments = next(c for c in fan["consumers"] if c["name"] == "payments")
    assert payments["results"][0]["components"]["sqs_send"] == pytest.approx(0.5 * 0.40)


def test_plan_consumers_without_topic_are_an_error(tmp_path: Path) -> None:
    instance = {
        "address": "module.hooks",
        "resources": [],
        "child_modules": [
            {
                "address": 'module.hooks.module.consumer["a"]',
                "resources": [
                    _resource(
                        'module.hooks.module.consumer["a"].aws_sns_topic_subscription.this',
                        "aws_sns_topic_subscription",
                        {"filter_policy": None},
                    )
                ],
            }
        ],
    }
    with pytest.raises(cost.CostError, match="has consumers but no event topic"):
        cost.load_plan_settings(_plan(tmp_path, {"hooks": {}}, [instance]))


def test_plan_with_two_calls_needs_module(tmp_path: Path) -> None:
    plan = _plan(tmp_path, {"a": {}, "b": {}})
    with pytest.raises(
        cost.CostError, match=r"called more than once \(module\.a, module\.b\); choose one with --module"
    ):
        cost.load_plan_settings(plan)
    assert cost.load_plan_settings(plan, "module.b").instance == "module.b"


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
