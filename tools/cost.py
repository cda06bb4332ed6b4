#!/usr/bin/env python3
"""Cost per million webhooks, computed from the module's own settings (`make cost`).

Reads the module's defaults from variables.tf (or a tfvars file that overrides them),
the list prices from pricing/aws-prices.json, and prints, for payloads of 1, 10 and
100 KB, the cost of each component per million webhooks for:

* this module: REST API -> SQS (direct integration) -> Lambda (SQS batch) -> DynamoDB;
* alternative A: REST API -> a Lambda that sends to SQS (one invocation per request on
  the ingestion path) -> the same processing side;
* alternative B: HTTP API -> SQS-SendMessage integration -> the same processing side.

The processing side includes the event topic (create_event_topic): one PublishBatch share
per processed event and the `published_at` marker written on its history row. Then the
fan-out is priced per consumer: the SQS requests of its queue, its function's Lambda
requests, and SNS payload filtering for a body (MessageBody-scope) filter. Consumers come
from a var file's `consumers` map or, with --plan, from the module's `module.consumer`
calls; --consumer-share says which share of the events each one matches (default 1.0,
every event: an upper bound).

Then the S3 path (a source with payload_store = "s3"; its entry in the `sources` input of a
var file, or the module call's `sources` in a plan), per webhook at 10 KB, 1 MB and 5 MB
(--s3-payload-kb), next to the queue path where the queue can carry that size (413 above
queue_max_message_size): API Gateway writes the body to S3 (one PUT), S3's event
notification is the SQS message (~1 KB, not the body), and the processor reads the object
(one GET); the object is kept in S3 Standard for history_retention_days. The queue path
prices the payload store's writes (part 3: a body above history_max_stored_body_bytes is
PUT to S3 and the row points at it) wherever they happen.

variables.tf and tfvars files are read with python-hcl2 (through tools/hcl_reader.py).
With --plan, the settings come instead from `terraform show -json` of a saved plan of
your own root module: the resolved values of the module call's planned resources, or,
where a value is unknown until apply, the call's arguments and the module's defaults.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final, Literal, cast

if __package__ in (None, ""):  # run as `python tools/cost.py`, or loaded from its file by the tests
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import hcl_reader

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_VARIABLES: Final = REPO_ROOT / "variables.tf"
DEFAULT_PRICES: Final = REPO_ROOT / "pricing" / "aws-prices.json"

KIB: Final = 1024
GIB: Final = 1024**3
HOURS_PER_MONTH: Final = 730  # AWS bills GB-months over 730 hours
DAYS_PER_MONTH: Final = HOURS_PER_MONTH / 24
MILLION: Final = 1_000_000
DEFAULT_PAYLOADS_KB: Final = (1.0, 10.0, 100.0)

# Default processor duration: 120 ms for a batch of 10 (12 ms per webhook). Replace it
# with the `make bench` figure or the CloudWatch p50 of the processor's Duration metric.
DEFAULT_DURATION_MS_PER_BATCH_OF_10: Final = 120.0

# SQS ReceiveMessage returns, and DeleteMessageBatch takes, at most 10 messages.
SQS_MAX_MESSAGES_PER_CALL: Final = 10


class CostError(Exception):
    """A problem with the inputs; main() prints it and exits with status 2."""


# --------------------------------------------------------------------------------------
# Reading variables.tf and tfvars files: python-hcl2 parses, tools/hcl_reader.py walks.
# --------------------------------------------------------------------------------------

NonScalar = hcl_reader.NonScalar
Scalar = hcl_reader.Scalar
Value = hcl_reader.Value


def _parse_hcl(text: str, origin: str) -> hcl_reader.Block:
    try:
        return hcl_reader.parse(text, origin)
    except hcl_reader.HclError as exc:
        raise CostError(str(exc)) from None


NO_DEFAULT: Final = object()  # a variable declared without `default`


def parse_variable_defaults(text: str, origin: str = "variables.tf") -> dict[str, Value | object]:
    """Maps each `variable "NAME"` to its default (a scalar, NonScalar, or NO_DEFAULT)."""
    out: dict[str, Value | object] = {}
    for b in _parse_hcl(text, origin).blocks_of("variable"):
        if len(b.labels) != 1:
            raise CostError(f"{origin}:{b.line}: a variable block needs exactly one name label")
        name = b.labels[0]
        if name in out:
            raise CostError(f"{origin}:{b.line}: variable {name!r} is declared twice")
        default = b.attributes.get("default")
        out[name] = NO_DEFAULT if default is None else hcl_reader.attribute_value(default)
    return out


def parse_tfvars(text: str, origin: str = "terraform.tfvars") -> dict[str, Value]:
    """Reads `name = value` lines (HCL tfvars). Blocks are not allowed in tfvars."""
    root = _parse_hcl(text, origin)
    if root.blocks:
        raise CostError(f"{origin}:{root.blocks[0].line}: blocks are not allowed in a tfvars file")
    return {name: hcl_reader.attribute_value(attr) for name, attr in root.attributes.items()}


def parse_tfvars_json(text: str, origin: str = "terraform.tfvars.json") -> dict[str, Value]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CostError(f"{origin}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CostError(f"{origin}: a .tfvars.json file must hold one JSON object")
    out: dict[str, Value] = {}
    for key, value in data.items():
        if isinstance(value, dict | list):
            out[key] = NonScalar(json.dumps(value))
        else:
            out[key] = value
    return out


def read_var_file(path: Path) -> dict[str, Value]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CostError(f"cannot read var file {path}: {exc.strerror}") from exc
    if path.name.endswith(".json"):
        return parse_tfvars_json(text, str(path))
    return parse_tfvars(text, str(path))


# --------------------------------------------------------------------------------------
# Consumers: the `consumers` map of a var file, or the module's consumer calls in a plan
# --------------------------------------------------------------------------------------

FILTER_SCOPES: Final = ("none", "MessageAttributes", "MessageBody")
# modules/consumer's default batch_size; also what a queue without a function is assumed
# to be drained with (the team's own poller, 10 messages per ReceiveMessage).
DEFAULT_CONSUMER_BATCH: Final = 10


@dataclass(frozen=True)
class Consumer:
    """One consumer as the cost model sees it."""

    name: str
    # "none": no filter policy (every event); "MessageAttributes": sources/event_types only
    # (free); "MessageBody": a body_filter, so the whole policy is payload-based (billed).
    filter_scope: str
    has_function: bool
    batch_size: int
    enabled: bool
    origin: str
    share: float = 1.0  # of the published events, the fraction this consumer matches
    share_given: bool = False


def _filter_scope(entry: Mapping[str, Any]) -> str:
    """The scope modules/consumer gives the subscription (see its main.tf): a body filter makes
    the policy payload-based; sources or event types alone filter the message attributes."""
    if entry.get("body_filter"):
        return "MessageBody"
    if entry.get("sources") or entry.get("event_types"):
        return "MessageAttributes"
    return "none"


def parse_consumers(raw: Any, origin: str) -> list[Consumer]:
    """Consumers from the value of a `consumers` variable (a map of objects, as tfvars give it)."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise CostError(f"{origin}: consumers must be a map of consumer name to object, found {raw!r}")
    out: list[Consumer] = []
    for name, entry in raw.items():
        where = f"{origin}: consumers[{name!r}]"
        if not isinstance(entry, dict):
            raise CostError(f"{where} must be an object, found {entry!r}")
        for key in ("sources", "event_types"):
            if not isinstance(entry.get(key, []), list):
                raise CostError(f"{where}.{key} must be a list of strings, found {entry[key]!r}")
        if not isinstance(entry.get("body_filter", {}), dict):
            raise CostError(
                f"{where}.body_filter must be a map of field to list, found {entry['body_filter']!r}"
            )
        batch = _coerce(
            "batch_size",
            entry.get("batch_size", DEFAULT_CONSUMER_BATCH),
            _VarSpec("int", True, 1, 10000),
            where,
        )
        enabled = _coerce("enabled", entry.get("enabled", True), _VarSpec("bool", True), where)
        function = entry.get("function_name")
        out.append(
            Consumer(
                name=str(name),
                filter_scope=_filter_scope(entry),
                has_function=function is not None,
                batch_size=int(batch),
                enabled=bool(enabled),
                origin=origin,
            )
        )
    return out


def _var_file_data(path: Path) -> dict[str, Any]:
    """A .tfvars (python-hcl2) or .tfvars.json file as Python values; {} if it is not an object."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CostError(f"cannot read var file {path}: {exc.strerror}") from exc
    if path.name.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CostError(f"{path}: not valid JSON: {exc}") from exc
    else:
        try:
            data = hcl_reader.to_python(text, str(path))
        except hcl_reader.HclError as exc:
            raise CostError(str(exc)) from None
    return data if isinstance(data, dict) else {}


def read_var_file_consumers(path: Path) -> list[Consumer]:
    """The `consumers` map of a .tfvars (python-hcl2) or .tfvars.json file; [] if it sets none."""
    return parse_consumers(_var_file_data(path).get("consumers"), str(path))


# --------------------------------------------------------------------------------------
# Sources: where each one's body goes (payload_store: "queue", the default, or "s3")
# --------------------------------------------------------------------------------------

PAYLOAD_STORES: Final = ("queue", "s3")


@dataclass(frozen=True)
class Source:
    """One entry of the module's `sources` input, as the cost model sees it."""

    name: str
    payload_store: str  # "queue": the body is in the SQS message; "s3": API Gateway PUTs it to S3
    origin: str


def parse_sources(raw: Any, origin: str) -> list[Source]:
    """Sources from the value of a `sources` variable (a map of objects, as tfvars give it)."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise CostError(f"{origin}: sources must be a map of source name to object, found {raw!r}")
    out: list[Source] = []
    for name, entry in raw.items():
        where = f"{origin}: sources[{name!r}]"
        if not isinstance(entry, dict):
            raise CostError(f"{where} must be an object, found {entry!r}")
        store = entry.get("payload_store")
        if store is None:  # optional(string, "queue") in variables.tf
            store = "queue"
        if store not in PAYLOAD_STORES:
            raise CostError(f'{where}.payload_store must be "queue" or "s3", found {store!r}')
        out.append(Source(name=str(name), payload_store=str(store), origin=origin))
    return sorted(out, key=lambda s: s.name)


def read_var_file_sources(path: Path) -> list[Source]:
    """The `sources` map of a .tfvars or .tfvars.json file; [] if it sets none."""
    return parse_sources(_var_file_data(path).get("sources"), str(path))


_CONSUMER_CALL: Final = re.compile(r'\.module\.consumer\["(?P<name>[^"]+)"\]$')


def plan_consumers(instance: Mapping[str, Any], where: str) -> list[Consumer]:
    """The module instance's `module.consumer["NAME"]` children in planned_values: the
    subscription's filter policy scope, and the event source mapping when there is a function."""
    out: list[Consumer] = []
    prefix = str(instance.get("address", ""))
    for child in _child_modules(instance):
        address = str(child.get("address", ""))
        match = _CONSUMER_CALL.search(address)
        if match is None or address[: match.start()] != prefix:
            continue
        resources = [r for r in child.get("resources") or [] if r.get("mode", "managed") == "managed"]
        subscriptions = [r for r in resources if r.get("type") == "aws_sns_topic_subscription"]
        mappings = [r for r in resources if r.get("type") == "aws_lambda_event_source_mapping"]
        if not subscriptions:
            continue  # no subscription, nothing delivered
        values = subscriptions[0].get("values") or {}
        if not values.get("filter_policy"):
            scope = "none"
        else:  # SNS's default scope is MessageAttributes
            scope = values.get("filter_policy_scope") or "MessageAttributes"
        if mappings:
            esm = mappings[0].get("values") or {}
            batch = _coerce("batch_size", esm.get("batch_size"), _VarSpec("int", True, 1, 10000), address)
            enabled = esm.get("enabled")
            origin = f"{where}: {address} (subscription, event source mapping)"
        else:
            batch, enabled = DEFAULT_CONSUMER_BATCH, True
            origin = f"{where}: {address} (subscription; no function: drained {batch} at a time, assumed)"
        out.append(
            Consumer(
                name=match.group("name"),
                filter_scope=str(scope),
                has_function=bool(mappings),
                batch_size=int(batch),
                enabled=enabled is not False,
                origin=origin,
            )
        )
    return sorted(out, key=lambda c: c.name)


def apply_shares(consumers: Sequence[Consumer], shares: Mapping[str, float]) -> list[Consumer]:
    unknown = sorted(set(shares) - {c.name for c in consumers})
    if unknown:
        known = ", ".join(c.name for c in consumers) or "none"
        raise CostError(
            f"--consumer-share names {', '.join(unknown)}, not a consumer of this configuration "
            f"(consumers: {known})"
        )
    return [
        dataclasses.replace(c, share=shares[c.name], share_given=True) if c.name in shares else c
        for c in consumers
    ]


# --------------------------------------------------------------------------------------
# Module settings
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _VarSpec:
    # "set": whether the input has a value at all (kms_key_arn: an ARN, a reference, or null)
    kind: Literal["int", "number", "bool", "set"]
    required: bool
    minimum: float | None = None
    maximum: float | None = None


# The module inputs this tool reads. `required` ones are used in the figures; the others
# are only shown. A required one must have a default in variables.tf or be in --var-file.
VARIABLES: Final[Mapping[str, _VarSpec]] = {
    "processor_memory_size": _VarSpec("int", True, 128, 10240),
    "processor_batch_size": _VarSpec("int", True, 1, 10000),
    "processor_maximum_concurrency": _VarSpec("int", True, 2, 1000),
    "stage_throttling_rate_limit": _VarSpec("number", True, 0, None),
    "stage_throttling_burst_limit": _VarSpec("int", True, 0, None),
    "log_retention_days": _VarSpec("int", True, 0, None),
    "history_retention_days": _VarSpec("int", True, 0, None),
    "create_access_logs": _VarSpec("bool", True),
    "processor_timeout": _VarSpec("int", False, 1, 900),
    "processor_batching_window_seconds": _VarSpec("int", False, 0, 300),
    "queue_max_receive_count": _VarSpec("int", False, 1, None),
    "create_event_topic": _VarSpec("bool", False),
    "history_max_stored_body_bytes": _VarSpec("int", False, 1024, 380000),
    "queue_max_message_size": _VarSpec("int", False, 1024, 1048576),
    "create_payload_store": _VarSpec("bool", False),
    "kms_key_arn": _VarSpec("set", False),
}


@dataclass(frozen=True)
class ModuleSettings:
    processor_memory_size: int
    processor_batch_size: int
    processor_maximum_concurrency: int
    stage_throttling_rate_limit: float
    stage_throttling_burst_limit: int
    log_retention_days: int
    history_retention_days: int
    create_access_logs: bool
    processor_timeout: int | None = None
    processor_batching_window_seconds: int | None = None
    queue_max_receive_count: int | None = None
    # The module's default: the processor publishes every processed event to the topic.
    create_event_topic: bool = True
    # The module's defaults (variables.tf) for the inputs added with the payload store.
    history_max_stored_body_bytes: int = 350_000
    queue_max_message_size: int = 262_144
    create_payload_store: bool = True
    kms_key_arn: bool = False  # set (a customer managed key), not its value


def _coerce(name: str, value: Value, spec: _VarSpec, origin: str) -> int | float | bool:
    where = f"{name} (from {origin})"
    if spec.kind == "set":
        return value is not None
    if isinstance(value, NonScalar):
        raise CostError(f"{where} must be a literal {spec.kind}, found: {value.text}")
    if value is None:
        raise CostError(f"{where} is null; this tool needs a value")
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        raise CostError(f"{where} must be true or false, found {value!r}")
    number: float
    if isinstance(value, bool):
        raise CostError(f"{where} must be a number, found {value!r}")
    if isinstance(value, int | float):
        number = value
    else:
        try:
            number = float(value)
        except ValueError:
            raise CostError(f"{where} must be a number, found {value!r}") from None
    if spec.minimum is not None and number < spec.minimum:
        raise CostError(f"{where} = {number:g} is below the minimum {spec.minimum:g}")
    if spec.maximum is not None and number > spec.maximum:
        raise CostError(f"{where} = {number:g} is above the maximum {spec.maximum:g}")
    if spec.kind == "int":
        if number != int(number):
            raise CostError(f"{where} must be a whole number, found {number:g}")
        return int(number)
    return float(number)


def load_settings(
    variables_path: Path, var_file: Path | None = None
) -> tuple[ModuleSettings, dict[str, str]]:
    """The module's settings, and where each came from (variables.tf or the var file)."""
    try:
        text = variables_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CostError(f"cannot read the module's variables from {variables_path}: {exc.strerror}") from exc
    defaults = parse_variable_defaults(text, str(variables_path))
    overrides = read_var_file(var_file) if var_file is not None else {}
    values: dict[str, int | float | bool] = {}
    origins: dict[str, str] = {}
    missing: list[str] = []
    for name, spec in VARIABLES.items():
        if name in overrides:
            raw: Value | object = overrides[name]
            origin = str(var_file)
        else:
            raw = defaults.get(name, NO_DEFAULT)
            origin = str(variables_path)
        if raw is NO_DEFAULT:
            if spec.required:
                declared = "is declared without a default" if name in defaults else "is not declared"
                missing.append(f"{name} ({declared})")
            continue
        values[name] = _coerce(name, cast(Value, raw), spec, origin)
        origins[name] = origin
    if missing:
        hint = "; set them in a tfvars file passed with --var-file" if var_file is None else ""
        raise CostError(
            f"{variables_path}: missing default for needed variable(s): {', '.join(missing)}{hint}"
        )
    origins.setdefault(
        "create_event_topic", f"no value in {variables_path}: assumed true, the module's default"
    )
    return ModuleSettings(**values), origins  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# --plan: the settings of a user's root module, from `terraform show -json` of a saved plan
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Planned:
    """Where a setting is in the module's planned resources: the first resource of `rtype`
    whose values pass `select`, then `path` into its values."""

    rtype: str
    path: tuple[str | int, ...]
    select: tuple[str, Any] | None = None  # (attribute, value) or (attribute, "prefix*")


PLANNED_SETTINGS: Final[Mapping[str, _Planned]] = {
    "processor_memory_size": _Planned("aws_lambda_function", ("memory_size",)),
    "processor_timeout": _Planned("aws_lambda_function", ("timeout",)),
    "history_retention_days": _Planned(
        "aws_lambda_function", ("environment", 0, "variables", "HISTORY_RETENTION_DAYS")
    ),
    "processor_batch_size": _Planned("aws_lambda_event_source_mapping", ("batch_size",)),
    "processor_batching_window_seconds": _Planned(
        "aws_lambda_event_source_mapping", ("maximum_batching_window_in_seconds",)
    ),
    "processor_maximum_concurrency": _Planned(
        "aws_lambda_event_source_mapping", ("scaling_config", 0, "maximum_concurrency")
    ),
    "log_retention_days": _Planned(
        "aws_cloudwatch_log_group", ("retention_in_days",), ("name", "/aws/lambda/*")
    ),
    "stage_throttling_rate_limit": _Planned(
        "aws_api_gateway_method_settings", ("settings", 0, "throttling_rate_limit"), ("method_path", "*/*")
    ),
    "stage_throttling_burst_limit": _Planned(
        "aws_api_gateway_method_settings", ("settings", 0, "throttling_burst_limit"), ("method_path", "*/*")
    ),
    "history_max_stored_body_bytes": _Planned(
        "aws_lambda_function", ("environment", 0, "variables", "MAX_STORED_BODY_BYTES")
    ),
    "queue_max_message_size": _Planned("aws_sqs_queue", ("max_message_size",)),
}


def _dig(value: Any, path: Sequence[str | int]) -> Any:
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or len(value) <= step:
                return None
        elif not isinstance(value, dict) or step not in value:
            return None
        value = value[step]
    return value


def _selected(values: Mapping[str, Any], select: tuple[str, Any] | None) -> bool:
    if select is None:
        return True
    key, want = select
    got = values.get(key)
    if isinstance(want, str) and want.endswith("*") and want != "*/*":
        return isinstance(got, str) and got.startswith(want[:-1])
    return got == want


@dataclass(frozen=True)
class _PlanCall:
    address: str  # module.NAME[.module.NAME...]
    config: Mapping[str, Any]  # the call's entry in configuration.*.module_calls


def _module_calls(module: Mapping[str, Any], prefix: str = "") -> Iterator[_PlanCall]:
    for name, call in (module.get("module_calls") or {}).items():
        address = f"{prefix}module.{name}"
        yield _PlanCall(address, call)
        yield from _module_calls(call.get("module") or {}, address + ".")


def _child_modules(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for child in module.get("child_modules") or []:
        yield child
        yield from _child_modules(child)


def _instance_matches(instance: str, call: str) -> bool:
    """module.a[0].module.b["x"] is an instance of module.a.module.b."""
    stripped = ".".join(part.split("[", 1)[0] for part in instance.split("."))
    return stripped == call


def read_plan(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CostError(f"cannot read the plan from {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise CostError(
            f"{path}: not JSON. Pass `terraform show -json PLANFILE > plan.json`, not the binary plan"
        ) from exc
    if not isinstance(data, dict) or "configuration" not in data or "planned_values" not in data:
        raise CostError(f"{path}: not the JSON of a saved plan (no planned_values/configuration)")
    return data


@dataclass(frozen=True)
class PlanSettings:
    """What --plan reads for this module's call."""

    settings: ModuleSettings
    origins: dict[str, str]  # setting -> where it came from
    gsis: tuple[tuple[str, str, str], ...] | None  # (name, projection, hash key) of each history GSI
    instance: str  # the module instance's address
    consumers: list[Consumer]
    sources: list[Source] = dataclasses.field(default_factory=list)
    sources_origin: str = ""  # where the sources were read, or why they could not be


# A source's planned integration: the queue path's method sends to SQS by a POST, an s3
# source's method writes to S3 by a PUT (both type AWS, one per source, keyed by its name).
_INTEGRATION_STORES: Final = {"POST": "queue", "PUT": "s3"}


def plan_integration_sources(resources: Sequence[Mapping[str, Any]], where: str) -> list[Source]:
    """The sources the planned API Gateway integrations serve, when the call's `sources` argument
    cannot be read (it refers to locals or to several variables): each source's method has one
    AWS integration, keyed by the source's name, a POST to SQS (queue) or a PUT to S3 (s3)."""
    out: dict[str, Source] = {}
    for r in resources:
        values = r.get("values") or {}
        store = _INTEGRATION_STORES.get(str(values.get("integration_http_method")))
        if (
            r.get("type") == "aws_api_gateway_integration"
            and values.get("type") == "AWS"
            and store is not None
            and isinstance(r.get("index"), str)
        ):
            name = str(r["index"])
            out[name] = Source(name, store, f"{where}: {r.get('address')}")
    return [out[name] for name in sorted(out)]


def load_plan_settings(plan_path: Path, module_address: str | None = None) -> PlanSettings:
    """The settings, history indexes and consumers of this module's call in the plan."""
    plan = read_plan(plan_path)
    needed = {name for name, spec in VARIABLES.items() if spec.required}
    root_config = (plan.get("configuration") or {}).get("root_module") or {}
    calls = [
        c
        for c in _module_calls(root_config)
        if needed <= set((c.config.get("module") or {}).get("variables") or {})
    ]
    root_values = (plan.get("planned_values") or {}).get("root_module") or {}
    instances = list(_child_modules(root_values))
    if module_address is not None:
        chosen = [
            c for c in calls if c.address == module_address or _instance_matches(module_address, c.address)
        ]
        if not chosen:
            found = ", ".join(c.address for c in calls) or "none"
            raise CostError(
                f"{plan_path}: {module_address} is not a call of this module (calls found: {found})"
            )
    else:
        chosen = calls
    if not chosen:
        raise CostError(f"{plan_path}: the plan calls no module with this module's inputs")
    if len(chosen) > 1:
        found = ", ".join(c.address for c in chosen)
        raise CostError(
            f"{plan_path}: the module is called more than once ({found}); choose one with --module"
        )
    call = chosen[0]
    if module_address and "[" in module_address:
        matching = [m for m in instances if m.get("address") == module_address]
    else:
        matching = [m for m in instances if _instance_matches(str(m.get("address", "")), call.address)]
    if len(matching) > 1:
        found = ", ".join(str(m.get("address")) for m in matching)
        raise CostError(
            f"{plan_path}: {call.address} has several instances ({found}); choose one with --module"
        )
    resources = [
        r
        for r in (matching[0].get("resources") or [] if matching else [])
        if r.get("mode", "managed") == "managed"
    ]
    instance = str(matching[0].get("address")) if matching else call.address
    where = f"{plan_path}"

    def planned(name: str) -> tuple[Any, str] | None:
        spec = PLANNED_SETTINGS.get(name)
        if spec is None:
            return None
        for r in resources:
            values = r.get("values") or {}
            if r.get("type") == spec.rtype and _selected(values, spec.select):
                value = _dig(values, spec.path)
                if value is not None:
                    return value, f"{where}: {r.get('address')} {'.'.join(map(str, spec.path))}"
        return None

    def configured(name: str) -> tuple[Any, str] | None:
        expr = (call.config.get("expressions") or {}).get(name)
        if isinstance(expr, dict):
            if "constant_value" in expr:
                return expr["constant_value"], f"{where}: {call.address} argument {name}"
            refs = expr.get("references") or []
            root_vars = plan.get("variables") or {}
            if (
                "." not in call.address.removeprefix("module.")
                and len(refs) == 1
                and refs[0].startswith("var.")
            ):
                var = refs[0][len("var.") :]
                if var in root_vars and "value" in root_vars[var]:
                    return root_vars[var]["value"], f"{where}: {call.address} argument {name} = var.{var}"
            if refs:
                return NonScalar(", ".join(refs)), f"{where}: {call.address} argument {name}"
            return None
        variable = ((call.config.get("module") or {}).get("variables") or {}).get(name) or {}
        if "default" in variable:
            return variable["default"], f"{where}: {call.address} default of {name}"
        return None

    values: dict[str, int | float | bool] = {}
    origins: dict[str, str] = {}
    missing: list[str] = []
    for name, spec in VARIABLES.items():
        found = planned(name)
        if name == "create_event_topic":
            # The topic's presence, not the input: a module without one publishes nothing.
            topics = [r for r in resources if r.get("type") == "aws_sns_topic" and r.get("name") == "events"]
            found = (
                (True, f"{where}: {topics[0].get('address')}")
                if topics
                else (False, f"{where}: no aws_sns_topic.events in {instance}")
            )
        if name == "create_payload_store" and matching:
            # The bucket's presence, as for the topic: the input is ANDed with `create`.
            buckets = [
                r for r in resources if r.get("type") == "aws_s3_bucket" and r.get("name") == "payloads"
            ]
            found = (
                (True, f"{where}: {buckets[0].get('address')}")
                if buckets
                else (False, f"{where}: no aws_s3_bucket.payloads in {instance}")
            )
        if found is None and name == "create_access_logs":
            stages = [r for r in resources if r.get("type") == "aws_api_gateway_stage"]
            if stages:
                settings = (stages[0].get("values") or {}).get("access_log_settings")
                found = bool(settings), f"{where}: {stages[0].get('address')} access_log_settings"
        if found is None:
            found = configured(name)
        if found is None:
            if spec.required:
                missing.append(name)
            continue
        raw, origin = found
        if isinstance(raw, dict | list):
            raw = NonScalar(json.dumps(raw))
        values[name] = _coerce(name, raw, spec, origin)
        origins[name] = origin
    if missing:
        raise CostError(f"{plan_path}: {instance}: no value found for {', '.join(missing)}")
    tables = [r for r in resources if r.get("type") == "aws_dynamodb_table"]
    gsis = (
        tuple(
            (str(gsi.get("name")), str(gsi.get("projection_type") or "ALL"), str(gsi.get("hash_key")))
            for gsi in (tables[0].get("values") or {}).get("global_secondary_index") or []
        )
        if len(tables) == 1
        else None
    )
    consumers = plan_consumers(matching[0], str(plan_path)) if matching else []
    settings = ModuleSettings(**values)  # type: ignore[arg-type]
    if consumers and not settings.create_event_topic:
        raise CostError(f"{plan_path}: {instance} has consumers but no event topic")
    configured_sources = configured("sources")
    if configured_sources is not None and isinstance(configured_sources[0], dict):
        sources_origin = configured_sources[1]
        sources = parse_sources(configured_sources[0], sources_origin)
    else:
        sources = plan_integration_sources(resources, where)
        sources_origin = (
            f"{where}: {instance}'s API Gateway integrations (the argument sources is not a literal): "
            "a PUT to S3 is an s3 source, a POST to SQS a queue source"
        )
    return PlanSettings(settings, origins, gsis, instance, consumers, sources, sources_origin)


# --------------------------------------------------------------------------------------
# Prices and assumptions
# --------------------------------------------------------------------------------------

_PRICE_KEYS: Final = (
    "apigateway_rest_request",
    "apigateway_http_request",
    "sqs_standard_request",
    "lambda_request",
    "lambda_gb_second_x86",
    "dynamodb_on_demand_write_request_unit",
    "dynamodb_storage_gb_month",
    "cloudwatch_logs_ingestion_gb",
    "cloudwatch_logs_storage_gb_month",
    "sns_standard_request",
    "sns_payload_filtering_gb",
    "s3_standard_put_request",
    "s3_standard_get_request",
    "s3_standard_storage_gb_month",
)


@dataclass(frozen=True)
class Prices:
    """Unit prices in USD (per request, per GB-second, per GB ...)."""

    as_of: str
    region: str
    rest_request: float
    http_request: float
    http_increment_bytes: int
    sqs_request: float
    sqs_chunk_bytes: int
    lambda_request: float
    lambda_gb_second: float
    ddb_write_unit: float
    ddb_storage_gb_month: float
    logs_ingestion_gb: float
    logs_storage_gb_month: float
    sources: dict[str, str]
    sns_request: float  # per request; each started sns_chunk_bytes of a publish is one
    sns_chunk_bytes: int
    sns_payload_filter_gb: float  # per GB of payload a MessageBody-scope filter scans
    s3_put_request: float  # per PutObject (Tier 1), whatever the object's size
    s3_get_request: float  # per GetObject (Tier 2)
    s3_storage_gb_month: float  # S3 Standard, first 50 TB


def load_prices(path: Path) -> Prices:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CostError(f"cannot read prices from {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise CostError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("prices"), dict):
        raise CostError(f'{path}: expected an object with "as_of", "region" and "prices"')
    for key in ("as_of", "region"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise CostError(f'{path}: "{key}" must be a non-empty string')
    unit: dict[str, float] = {}
    sources: dict[str, str] = {}
    entries: dict[str, Any] = data["prices"]
    for key in _PRICE_KEYS:
        entry = entries.get(key)
        if not isinstance(entry, dict):
            raise CostError(f'{path}: price "{key}" is missing')
        usd, per, source = entry.get("usd"), entry.get("per"), entry.get("source")
        if not isinstance(usd, int | float) or isinstance(usd, bool) or usd < 0:
            raise CostError(f'{path}: price "{key}": "usd" must be a number >= 0')
        if not isinstance(per, int | float) or isinstance(per, bool) or per <= 0:
            raise CostError(f'{path}: price "{key}": "per" must be a number > 0')
        if not isinstance(source, str) or not source.startswith("https://aws.amazon.com/"):
            raise CostError(f'{path}: price "{key}": "source" must be an https://aws.amazon.com/ URL')
        unit[key] = usd / per
        sources[key] = source

    def increment(key: str) -> int:
        value = entries[key].get("increment_bytes")
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise CostError(f'{path}: price "{key}": "increment_bytes" must be a whole number > 0')
        return value

    return Prices(
        as_of=data["as_of"],
        region=data["region"],
        rest_request=unit["apigateway_rest_request"],
        http_request=unit["apigateway_http_request"],
        http_increment_bytes=increment("apigateway_http_request"),
        sqs_request=unit["sqs_standard_request"],
        sqs_chunk_bytes=increment("sqs_standard_request"),
        lambda_request=unit["lambda_request"],
        lambda_gb_second=unit["lambda_gb_second_x86"],
        ddb_write_unit=unit["dynamodb_on_demand_write_request_unit"],
        ddb_storage_gb_month=unit["dynamodb_storage_gb_month"],
        logs_ingestion_gb=unit["cloudwatch_logs_ingestion_gb"],
        logs_storage_gb_month=unit["cloudwatch_logs_storage_gb_month"],
        sources=sources,
        sns_request=unit["sns_standard_request"],
        sns_chunk_bytes=increment("sns_standard_request"),
        sns_payload_filter_gb=unit["sns_payload_filtering_gb"],
        s3_put_request=unit["s3_standard_put_request"],
        s3_get_request=unit["s3_standard_get_request"],
        s3_storage_gb_month=unit["s3_standard_storage_gb_month"],
    )


@dataclass(frozen=True)
class Assumptions:
    """Sizes and rates that are not module inputs. Each is an estimate; see the notes."""

    # SQS message = body + the message attributes the VTL template sets (up to 9 names,
    # types and values: request id, timestamps, signature, ...), which count toward its
    # size; about 330 bytes for a GitHub delivery, more for long signature headers.
    sqs_attribute_bytes: int = 400
    # History item = stored body + the ~21 other attributes (names count too: event_id,
    # request_id, delivery_id, body_sha256, sqs_message_id, received_day, ...): about
    # 520-570 bytes (`make bench` reads 1 KB-body rows back at 1,530-1,670 bytes, the
    # published_at marker included).
    ddb_item_overhead_bytes: int = 550
    # The marker the processor sets once the event is published: "published_at" and a
    # 13-digit number.
    ddb_published_at_bytes: int = 20
    # The processor truncates the stored body to MAX_STORED_BODY_BYTES (default 350000), or,
    # with the payload store, moves a longer body to S3. compute() sets both from the settings
    # (history_max_stored_body_bytes, create_payload_store); the defaults are those of a
    # module without the store.
    max_stored_body_bytes: int = 350_000
    payload_store: bool = False
    # A row whose body is in S3 keeps, instead of it, body_ref: "s3://<bucket, up to 63>/
    # bodies/<source>/<64 hex>" or ".../ingest/<source>/<request id>" and its name.
    body_ref_bytes: int = 160
    # The body came through the S3 path (payload_store = "s3"): the row always has body_ref,
    # and the body inline as well up to max_stored_body_bytes. compute_s3() sets it.
    s3_source: bool = False
    # The S3 event notification (one ObjectCreated record: event name and time, bucket, key,
    # size, eTag, sequencer, request ids...), the SQS message body of the S3 path. No
    # message attributes.
    s3_notification_bytes: int = 1200
    # The history table's GSIs (name, projection, hash key), as dynamodb.tf has them since
    # issue 10; replaced by what the module's *.tf or the plan say when they can be read.
    ddb_gsis: tuple[tuple[str, str, str], ...] = (
        ("by_source", "INCLUDE", "source"),
        ("by_received", "INCLUDE", "received_day"),
    )
    # The processor spreads a day's rows over this many `received_bucket` keys
    # (webhook_processor.envelope.RECEIVED_BUCKETS), for an index keyed on it.
    received_buckets: int = 10
    # A keys-only entry: event_id, the index's hash and range keys.
    ddb_gsi_entry_bytes: int = 120
    # An INCLUDE entry: the keys plus source, status, event_type, request_id (reason is
    # only on rejected rows): about 180-215 bytes.
    ddb_gsi_include_entry_bytes: int = 230
    # DynamoDB adds 100 bytes of indexing overhead per item and per index entry.
    ddb_storage_overhead_bytes: int = 100
    # Processor logs (JSON log format): platform start/report lines per invocation, and
    # the one "webhook processed" JSON line per webhook (~475 bytes; the body is not logged).
    lambda_log_bytes_per_invocation: int = 700
    lambda_log_bytes_per_record: int = 480
    # One JSON API Gateway access-log line per request, when create_access_logs = true.
    access_log_bytes_per_request: int = 450
    # Alternative A's ingestion Lambda: warm, one SendMessage call, minimal memory, and
    # only the platform log lines (start/report) per invocation.
    ingest_lambda_memory_mb: int = 128
    ingest_lambda_duration_ms: float = 25.0
    ingest_lambda_log_bytes: int = 700
    # The envelope (docs/event-envelope.schema.json): its fields other than body and json
    # (ids, times, content type, sha256 ...) take about 530-600 bytes.
    envelope_fields_bytes: int = 600
    # `body` is the raw body as a JSON string: each '"' and '\' of a JSON body gains a
    # backslash, about one byte in ten for compact JSON.
    envelope_escape_ratio: float = 0.10
    # `json` repeats the body when it parses as JSON (webhooks almost always do).
    body_is_json: bool = True
    # The 4 String message attributes (source, event_type, event_id, scheme): names, the
    # type "String" and values, counted in the message's size by SNS and by SQS.
    sns_attribute_bytes: int = 140


# --------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------

DESIGNS: Final = {
    "module": "this module",
    "alt_a_rest_lambda": "alt A: REST+Lambda",
    "alt_b_http_api": "alt B: HTTP API",
}

COMPONENTS: Final = {
    "api_gateway": "API Gateway requests",
    "ingest_lambda_requests": "Ingest Lambda requests (A)",
    "ingest_lambda_compute": "Ingest Lambda GB-seconds (A)",
    "sqs_requests": "SQS requests",
    "lambda_requests": "Processor Lambda requests",
    "lambda_compute": "Processor Lambda GB-seconds",
    "dynamodb_writes": "DynamoDB writes",
    "dynamodb_marker": "DynamoDB published_at marker",
    "sns_publish": "SNS publish (event topic)",
    "dynamodb_storage": "DynamoDB storage",
    "s3_put": "Payload store PUT (body > row limit)",
    "s3_storage": "Payload store S3 storage",
    "logs_ingestion": "CloudWatch Logs ingestion",
    "logs_storage": "CloudWatch Logs storage",
}
TOPIC_COMPONENTS: Final = ("dynamodb_marker", "sns_publish")
STORE_COMPONENTS: Final = ("s3_put", "s3_storage")  # part 3: only for a body above the row's limit

CONSUMER_COMPONENTS: Final = {
    "sqs_send": "SQS SendMessage (SNS delivery)",
    "sqs_receive_delete": "SQS ReceiveMessage + DeleteMessageBatch",
    "lambda_requests": "Lambda requests (function)",
    "sns_payload_filtering": "SNS payload filtering (body filter)",
}

# SNS: one message, or one PublishBatch call, carries at most 256 KiB, attributes included;
# a PublishBatch call at most 10 entries (https://docs.aws.amazon.com/sns/latest/dg/sns-batch-api-actions.html).
SNS_MAX_MESSAGE_BYTES: Final = 262_144
SNS_MAX_BATCH_ENTRIES: Final = 10


def _receive_requests_per_message(message_bytes: int, batch: int, chunk: int) -> float:
    """ReceiveMessage requests per message: each call returns <= 10 messages, billed by 64 KB."""
    full, rest = divmod(batch, SQS_MAX_MESSAGES_PER_CALL)
    chunks = full * math.ceil(SQS_MAX_MESSAGES_PER_CALL * message_bytes / chunk)
    if rest:
        chunks += math.ceil(rest * message_bytes / chunk)
    return chunks / batch


def sqs_send_requests(body_bytes: int, a: Assumptions, chunk: int) -> int:
    """SendMessage requests billed for one webhook: one per started 64 KB chunk."""
    return math.ceil((body_bytes + a.sqs_attribute_bytes) / chunk)


def sqs_receive_requests_per_message(body_bytes: int, batch: int, a: Assumptions, chunk: int) -> float:
    """ReceiveMessage requests per webhook: each call returns <= 10 messages, billed by 64 KB."""
    return _receive_requests_per_message(body_bytes + a.sqs_attribute_bytes, batch, chunk)


def sqs_delete_requests_per_message(batch: int) -> float:
    """DeleteMessageBatch requests per message (<= 10 receipt handles, well under 64 KB)."""
    return math.ceil(batch / SQS_MAX_MESSAGES_PER_CALL) / batch


def row_body_bytes(body_bytes: int, a: Assumptions) -> int:
    """Bytes a history row spends on the body: the body itself up to max_stored_body_bytes; above
    it, body_ref alone with the payload store, else the truncated body. An s3 source's row always
    has body_ref, and the body inline too when it fits."""
    fits = body_bytes <= a.max_stored_body_bytes
    if a.s3_source:
        return (body_bytes if fits else 0) + a.body_ref_bytes
    if fits:
        return body_bytes
    return a.body_ref_bytes if a.payload_store else a.max_stored_body_bytes


def body_offloaded(body_bytes: int, a: Assumptions) -> bool:
    """Part 3: the processor PUTs a queue-path body longer than max_stored_body_bytes to the
    payload store (bodies/<source>/<sha256>) and the row points at it."""
    return a.payload_store and not a.s3_source and body_bytes > a.max_stored_body_bytes


def _stored_item_bytes(body_bytes: int, a: Assumptions) -> int:
    return row_body_bytes(body_bytes, a) + a.ddb_item_overhead_bytes


def with_settings(a: Assumptions, s: ModuleSettings) -> Assumptions:
    """The assumptions with the row's body limit and the payload store of the settings."""
    return dataclasses.replace(
        a, max_stored_body_bytes=s.history_max_stored_body_bytes, payload_store=s.create_payload_store
    )


def _gsi_entry_bytes(projection: str, item_bytes: int, a: Assumptions) -> int:
    kind = projection.upper()
    if kind == "ALL":
        return item_bytes
    if kind == "INCLUDE":
        return a.ddb_gsi_include_entry_bytes
    return a.ddb_gsi_entry_bytes


def gsi_write_units(body_bytes: int, a: Assumptions) -> dict[str, int]:
    """WRU of each GSI's entry for the put of one webhook."""
    item = _stored_item_bytes(body_bytes, a)
    return {name: math.ceil(_gsi_entry_bytes(proj, item, a) / KIB) for name, proj, _key in a.ddb_gsis}


def dynamodb_write_units(body_bytes: int, a: Assumptions) -> tuple[int, int]:
    """(table WRU, GSI WRU over all indexes) for the one conditional put per webhook."""
    table = math.ceil(_stored_item_bytes(body_bytes, a) / KIB)
    return table, sum(gsi_write_units(body_bytes, a).values())


def dynamodb_marker_write_units(body_bytes: int, a: Assumptions) -> tuple[int, int]:
    """(table WRU, GSI WRU) of the `published_at` UpdateItem. DynamoDB bills an update by the
    larger of the item's size before and after it (https://docs.aws.amazon.com/amazondynamodb/
    latest/developerguide/read-write-operations.html), so about as many WRU as the put. An index
    is written only when the update changes one of its keys or projected attributes
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html): published_at is
    neither for KEYS_ONLY and INCLUDE indexes, but is projected by ALL."""
    after = _stored_item_bytes(body_bytes, a) + a.ddb_published_at_bytes
    gsi = sum(math.ceil(after / KIB) for _name, proj, _key in a.ddb_gsis if proj.upper() == "ALL")
    return math.ceil(after / KIB), gsi


def dynamodb_stored_bytes(body_bytes: int, a: Assumptions, published: bool = False) -> int:
    item = _stored_item_bytes(body_bytes, a) + (a.ddb_published_at_bytes if published else 0)
    entries = [_gsi_entry_bytes(proj, item, a) for _name, proj, _key in a.ddb_gsis]
    return item + sum(entries) + (1 + len(entries)) * a.ddb_storage_overhead_bytes


@dataclass(frozen=True)
class EnvelopeSize:
    message_bytes: int  # the envelope's JSON text: what a body filter scans
    size: int  # message + attributes: what SNS and SQS bill by (64 KB chunks)
    body_omitted: bool


def envelope_size(body_bytes: int, a: Assumptions) -> EnvelopeSize:
    """The published message of a webhook of ``body_bytes``: fields + body as an escaped JSON
    string + the parsed JSON again (JSON bodies); over 256 KiB, a reference without the body."""
    body_string = body_bytes + math.ceil(body_bytes * a.envelope_escape_ratio)
    message = a.envelope_fields_bytes + body_string + (body_bytes if a.body_is_json else 0)
    if message + a.sns_attribute_bytes <= SNS_MAX_MESSAGE_BYTES:
        return EnvelopeSize(message, message + a.sns_attribute_bytes, False)
    return EnvelopeSize(a.envelope_fields_bytes, a.envelope_fields_bytes + a.sns_attribute_bytes, True)


def sns_publish_requests_per_event(size: int, batch: int, chunk: int) -> float:
    """SNS requests per published event. The processor publishes a batch's events in PublishBatch
    calls of <= min(batch, 10) entries and <= 256 KiB, and each started 64 KB chunk of a call's
    aggregate payload is billed as one request (https://aws.amazon.com/sns/pricing/)."""
    per_call = max(1, min(SNS_MAX_BATCH_ENTRIES, batch, SNS_MAX_MESSAGE_BYTES // size))
    full, rest = divmod(batch, per_call)
    requests = full * math.ceil(per_call * size / chunk)
    if rest:
        requests += math.ceil(rest * size / chunk)
    return requests / batch


# payloads.tf: with s3 sources no object expires before the DLQ's 14 days.
S3_SOURCE_MIN_OBJECT_DAYS = 14


def retention_months(days: int) -> float:
    """Months of storage for a retention in days; 0 (never expire) is shown per month."""
    return days / DAYS_PER_MONTH if days > 0 else 1.0


def default_duration_ms(batch_size: int) -> float:
    return DEFAULT_DURATION_MS_PER_BATCH_OF_10 * batch_size / 10


@dataclass(frozen=True)
class SizeResult:
    payload_kb: float
    payload_bytes: int
    quantities: dict[str, float]
    designs: dict[str, dict[str, float]]  # design -> component -> USD per million

    def total(self, design: str) -> float:
        return sum(self.designs[design].values())


def compute(
    payload_bytes: int,
    s: ModuleSettings,
    p: Prices,
    duration_ms: float,
    a: Assumptions = Assumptions(),
) -> SizeResult:
    batch = s.processor_batch_size
    n = MILLION
    a = with_settings(a, s)

    send = sqs_send_requests(payload_bytes, a, p.sqs_chunk_bytes)
    receive = sqs_receive_requests_per_message(payload_bytes, batch, a, p.sqs_chunk_bytes)
    delete = sqs_delete_requests_per_message(batch)
    sqs = (send + receive + delete) * p.sqs_request * n

    billed_ms = math.ceil(duration_ms)
    gb_s = billed_ms / 1000 * s.processor_memory_size / 1024 / batch
    lambda_requests = p.lambda_request * n / batch
    lambda_compute = gb_s * p.lambda_gb_second * n

    wru_table, wru_gsi = dynamodb_write_units(payload_bytes, a)
    ddb_writes = (wru_table + wru_gsi) * p.ddb_write_unit * n
    topic = s.create_event_topic
    envelope = envelope_size(payload_bytes, a)
    publish = sns_publish_requests_per_event(envelope.size, batch, p.sns_chunk_bytes) if topic else 0.0
    marker_table, marker_gsi = dynamodb_marker_write_units(payload_bytes, a) if topic else (0, 0)
    stored = dynamodb_stored_bytes(payload_bytes, a, published=topic)
    ddb_storage = stored * n / GIB * retention_months(s.history_retention_days) * p.ddb_storage_gb_month
    # Part 3: a body above the row's limit is one PutObject and lives in S3 as long as the row.
    offloaded = body_offloaded(payload_bytes, a)
    s3_stored = payload_bytes if offloaded else 0
    s3_storage = s3_stored * n / GIB * retention_months(s.history_retention_days) * p.s3_storage_gb_month

    access_log = a.access_log_bytes_per_request if s.create_access_logs else 0
    processing_log = a.lambda_log_bytes_per_invocation / batch + a.lambda_log_bytes_per_record
    log_months = retention_months(s.log_retention_days)

    def logs(bytes_per_webhook: float) -> tuple[float, float]:
        gib = bytes_per_webhook * n / GIB
        return gib * p.logs_ingestion_gb, gib * log_months * p.logs_storage_gb_month

    processing = {
        "sqs_requests": sqs,
        "lambda_requests": lambda_requests,
        "lambda_compute": lambda_compute,
        "dynamodb_writes": ddb_writes,
        "dynamodb_marker": (marker_table + marker_gsi) * p.ddb_write_unit * n,
        "sns_publish": publish * p.sns_request * n,
        "dynamodb_storage": ddb_storage,
        "s3_put": (1 if offloaded else 0) * p.s3_put_request * n,
        "s3_storage": s3_storage,
    }
    zero_ingest = {"ingest_lambda_requests": 0.0, "ingest_lambda_compute": 0.0}

    module_logs = logs(access_log + processing_log)
    module = {
        "api_gateway": p.rest_request * n,
        **zero_ingest,
        **processing,
        "logs_ingestion": module_logs[0],
        "logs_storage": module_logs[1],
    }

    ingest_gb_s = math.ceil(a.ingest_lambda_duration_ms) / 1000 * a.ingest_lambda_memory_mb / 1024
    alt_a_logs = logs(access_log + processing_log + a.ingest_lambda_log_bytes)
    alt_a = {
        "api_gateway": p.rest_request * n,
        "ingest_lambda_requests": p.lambda_request * n,
        "ingest_lambda_compute": ingest_gb_s * p.lambda_gb_second * n,
        **processing,
        "logs_ingestion": alt_a_logs[0],
        "logs_storage": alt_a_logs[1],
    }

    http_units = max(1, math.ceil(payload_bytes / p.http_increment_bytes))
    alt_b = {**module, "api_gateway": http_units * p.http_request * n}

    quantities = {
        "sqs_send_requests": float(send),
        "sqs_receive_requests": receive,
        "sqs_delete_requests": delete,
        "sqs_requests": send + receive + delete,
        "processor_invocations": 1 / batch,
        "processor_billed_ms_per_batch": float(billed_ms),
        "processor_gb_seconds": gb_s,
        "dynamodb_table_wru": float(wru_table),
        "dynamodb_gsi_wru": float(wru_gsi),
        "dynamodb_marker_wru": float(marker_table + marker_gsi),
        "dynamodb_stored_bytes": float(stored),
        "row_body_bytes": float(row_body_bytes(payload_bytes, a)),
        "payload_store_puts": float(offloaded),
        "s3_stored_bytes": float(s3_stored),
        "envelope_bytes": float(envelope.size) if topic else 0.0,
        "envelope_body_omitted": float(envelope.body_omitted) if topic else 0.0,
        "sns_publish_requests": publish,
        "log_bytes": access_log + processing_log,
        "log_bytes_alt_a": access_log + processing_log + a.ingest_lambda_log_bytes,
        "http_api_metered_requests": float(http_units),
    }
    return SizeResult(
        payload_kb=payload_bytes / KIB,
        payload_bytes=payload_bytes,
        quantities=quantities,
        designs={"module": module, "alt_a_rest_lambda": alt_a, "alt_b_http_api": alt_b},
    )


# API Gateway's largest request payload (REST APIs: 10 MB, not adjustable): the module's
# gateway response answers 413 above it, whichever path the source takes.
APIGW_MAX_PAYLOAD_BYTES: Final = 10 * 1024 * 1024
DEFAULT_S3_PAYLOADS_KB: Final = (10.0, 1024.0, 5120.0)
# S3's request rate per partitioned prefix (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
# optimizing-performance.html): at least 3,500 PUT/COPY/POST/DELETE and 5,500 GET/HEAD a second.
S3_PREFIX_PUT_RPS: Final = 3_500
S3_PREFIX_GET_RPS: Final = 5_500

S3_COMPONENTS: Final = {
    "api_gateway": "API Gateway requests",
    "s3_put": "S3 PUT (edge; queue: payload store)",
    "sqs_requests": "SQS requests",
    "lambda_requests": "Processor Lambda requests",
    "lambda_compute": "Processor Lambda GB-seconds",
    "s3_get": "S3 GET (processor reads the object)",
    "dynamodb_writes": "DynamoDB writes",
    "dynamodb_marker": "DynamoDB published_at marker",
    "sns_publish": "SNS publish (event topic)",
    "dynamodb_storage": "DynamoDB storage",
    "s3_storage": "S3 Standard storage",
    "logs_ingestion": "CloudWatch Logs ingestion",
    "logs_storage": "CloudWatch Logs storage",
}


def queue_carries(payload_bytes: int, s: ModuleSettings, a: Assumptions) -> bool:
    """Whether the queue path takes a body: the SQS message (body + the attributes the template
    sets) within queue_max_message_size; above it the module answers 413."""
    return payload_bytes + a.sqs_attribute_bytes <= s.queue_max_message_size


@dataclass(frozen=True)
class S3PathResult:
    """One body size: the S3 path (payload_store = "s3") and the queue path side by side."""

    payload_kb: float
    payload_bytes: int
    s3: dict[str, float] | None  # component -> USD per million; None: 413 (above 10 MB)
    s3_quantities: dict[str, float]
    queue: dict[str, float] | None  # the module's queue path (compute()); None: 413


def compute_s3(
    payload_bytes: int,
    s: ModuleSettings,
    p: Prices,
    duration_ms: float,
    a: Assumptions = Assumptions(),
) -> S3PathResult:
    """The S3 path per million webhooks of ``payload_bytes``: API Gateway PUTs the body to
    ingest/<source>/<request id> (one Tier-1 request; into S3 is free), S3 sends its event
    notification to the main queue (one ~1 KB SQS message, received and deleted in the
    processor's batches like a queue-path message), the processor GETs the object (one Tier-2
    request; same-region transfer is free, its time is in the measured duration), then records,
    publishes and logs as on the queue path. The object stays in S3 Standard for
    history_retention_days (the bucket's expiration; one month when rows are kept forever).
    The row keeps body_ref, and the body inline too up to history_max_stored_body_bytes."""
    n = MILLION
    batch = s.processor_batch_size
    queue = compute(payload_bytes, s, p, duration_ms, a) if queue_carries(payload_bytes, s, a) else None
    queue_components = queue.designs["module"] if queue is not None else None
    if payload_bytes > APIGW_MAX_PAYLOAD_BYTES:
        return S3PathResult(payload_bytes / KIB, payload_bytes, None, {}, queue_components)
    side = compute(payload_bytes, s, p, duration_ms, dataclasses.replace(a, s3_source=True))
    chunk = p.sqs_chunk_bytes
    send = math.ceil(a.s3_notification_bytes / chunk)
    receive = _receive_requests_per_message(a.s3_notification_bytes, batch, chunk)
    delete = sqs_delete_requests_per_message(batch)
    # With s3 sources the bucket keeps objects at least S3_SOURCE_MIN_OBJECT_DAYS (payloads.tf): an
    # object may be the only copy of a body whose message is still queued or in the DLQ.
    days = s.history_retention_days and max(s.history_retention_days, S3_SOURCE_MIN_OBJECT_DAYS)
    months = retention_months(days)
    components = {
        **side.designs["module"],
        "s3_put": p.s3_put_request * n,
        "sqs_requests": (send + receive + delete) * p.sqs_request * n,
        "s3_get": p.s3_get_request * n,
        "s3_storage": payload_bytes * n / GIB * months * p.s3_storage_gb_month,
    }
    quantities = {
        **side.quantities,
        "s3_put_requests": 1.0,
        "s3_get_requests": 1.0,
        "sqs_message_bytes": float(a.s3_notification_bytes),
        "sqs_send_requests": float(send),
        "sqs_receive_requests": receive,
        "sqs_delete_requests": delete,
        "sqs_requests": send + receive + delete,
        "s3_stored_bytes": float(payload_bytes),
        "s3_storage_months": months,
        "payload_store_puts": 0.0,
    }
    for key in ("ingest_lambda_requests", "ingest_lambda_compute"):
        components.pop(key, None)
    return S3PathResult(payload_bytes / KIB, payload_bytes, components, quantities, queue_components)


@dataclass(frozen=True)
class ConsumerResult:
    quantities: dict[str, float]  # per webhook received by the module
    components: dict[str, float]  # USD per million webhooks received by the module

    @property
    def total(self) -> float:
        return sum(self.components.values())


def compute_consumer(
    payload_bytes: int, c: Consumer, p: Prices, a: Assumptions = Assumptions()
) -> ConsumerResult:
    """One consumer's fan-out cost, per million webhooks the module receives (all published).

    SNS charges nothing to deliver to SQS; each delivery is an SQS SendMessage billed to SQS by
    64 KB chunks (raw delivery: the envelope is the SQS body, the SNS attributes its message
    attributes). A MessageBody-scope filter is charged per GB of payload scanned for every message
    published to the topic, matching or not; attribute filters are free
    (https://aws.amazon.com/sns/pricing/). The function's own duration is the team's: excluded.
    """
    n = MILLION
    envelope = envelope_size(payload_bytes, a)
    sends = math.ceil(envelope.size / p.sqs_chunk_bytes)
    receives = _receive_requests_per_message(envelope.size, c.batch_size, p.sqs_chunk_bytes)
    deletes = sqs_delete_requests_per_message(c.batch_size)
    invocations = 1 / c.batch_size if c.has_function else 0.0
    scanned = envelope.message_bytes if c.filter_scope == "MessageBody" else 0
    quantities = {
        "deliveries": c.share,
        "sqs_send_requests": c.share * sends,
        "sqs_receive_requests": c.share * receives,
        "sqs_delete_requests": c.share * deletes,
        "lambda_invocations": c.share * invocations,
        "filter_scanned_bytes": float(scanned),
        "envelope_bytes": float(envelope.size),
    }
    components = {
        "sqs_send": c.share * sends * p.sqs_request * n,
        "sqs_receive_delete": c.share * (receives + deletes) * p.sqs_request * n,
        "lambda_requests": c.share * invocations * p.lambda_request * n,
        "sns_payload_filtering": scanned * n / GIB * p.sns_payload_filter_gb,
    }
    return ConsumerResult(quantities, components)


def processor_throughput(s: ModuleSettings, duration_ms: float) -> float:
    """Webhooks per second the processor sustains at maximum_concurrency."""
    return s.processor_maximum_concurrency * s.processor_batch_size / (duration_ms / 1000)


# AWS default limits used in the capacity summary (docs/capacity.md explains each).
APIGW_ACCOUNT_RPS: Final = 10_000  # per account and region, across all APIs
DDB_NEW_TABLE_WRU: Final = 4_000  # a new on-demand table, before it has scaled
DDB_TABLE_QUOTA_WRU: Final = 40_000  # per-table default quota
DDB_PARTITION_WRU: Final = 1_000  # one partition: one GSI hash key value at a time


def _gsi_key_limit(hash_key: str, a: Assumptions) -> tuple[str, int]:
    """(what one hash key value gathers, how many keys share that load) for a GSI's hash key
    (docs/capacity.md): all of one source's rows, or all of a day's rows, on one or N keys."""
    if hash_key == "source":
        return "per source", 1
    if hash_key == "received_day":
        return "all sources, one key per UTC day", 1
    if hash_key == "received_bucket":
        return f"all sources, {a.received_buckets} keys per UTC day", a.received_buckets
    return f"per {hash_key} value", 1


def capacity_limits(
    payload_bytes: int, s: ModuleSettings, duration_ms: float, a: Assumptions
) -> dict[str, float]:
    """Webhooks per second at which each limit binds (per source where noted), lowest first."""
    a = with_settings(a, s)
    wru_table, _ = dynamodb_write_units(payload_bytes, a)
    if s.create_event_topic:
        wru_table += dynamodb_marker_write_units(payload_bytes, a)[0]
    limits = {
        "stage throttle (per source)": s.stage_throttling_rate_limit,
        "processor": processor_throughput(s, duration_ms),
        "new DynamoDB table": DDB_NEW_TABLE_WRU / wru_table,
        "API Gateway account": float(APIGW_ACCOUNT_RPS),
        "DynamoDB table quota": DDB_TABLE_QUOTA_WRU / wru_table,
    }
    keys = {name: hash_key for name, _proj, hash_key in a.ddb_gsis}
    for name, wru in gsi_write_units(payload_bytes, a).items():
        scope, spread = _gsi_key_limit(keys[name], a)
        limits[f"GSI {name} ({scope})"] = spread * DDB_PARTITION_WRU / wru
    return dict(sorted(limits.items(), key=lambda kv: kv[1]))


_EACH_VALUE: Final = re.compile(r"^\$\{global_secondary_index\.value\.(\w+)\}$")


def _gsis_of_table(table: Mapping[str, Any]) -> list[tuple[str, str, str]] | None:
    """(name, projection, hash key) of a python-hcl2 aws_dynamodb_table's indexes: plain blocks,
    and `dynamic "global_secondary_index"` over a literal map or list; None when not literal."""
    found: list[tuple[str, str, str]] = []
    for block in table.get("global_secondary_index") or []:
        found.append(
            (str(block.get("name")), str(block.get("projection_type", "ALL")), str(block.get("hash_key")))
        )
    for dynamic in table.get("dynamic") or []:
        spec = dynamic.get("global_secondary_index")
        if spec is None:
            continue
        for_each = spec.get("for_each")
        content = (spec.get("content") or [{}])[0]
        projection = content.get("projection_type", "ALL")
        if not isinstance(for_each, dict | list) or str(projection).startswith("${"):
            return None
        items = for_each.items() if isinstance(for_each, dict) else [(str(x), x) for x in for_each]
        for name, each in items:
            hash_key = str(content.get("hash_key"))
            field = _EACH_VALUE.match(hash_key)
            if field is not None:  # hash_key = global_secondary_index.value.<field>
                hash_key = str(each.get(field.group(1))) if isinstance(each, dict) else "?"
            elif hash_key.startswith("${"):
                hash_key = "?"
            found.append((name, str(projection), hash_key))
    return found


def detect_gsis(module_dir: Path) -> tuple[tuple[str, str, str], ...] | None:
    """The history table's indexes, (name, projection, hash key), from the module's *.tf files:
    the one aws_dynamodb_table's `global_secondary_index` blocks, plain or dynamic over a literal."""
    tables: list[Mapping[str, Any]] = []
    for tf in sorted(module_dir.glob("*.tf")):
        try:
            data = hcl_reader.to_python(tf.read_text(encoding="utf-8"), str(tf))
        except (OSError, hcl_reader.HclError):
            continue
        for resource in data.get("resource") or []:
            tables += list((resource.get("aws_dynamodb_table") or {}).values())
    if len(tables) != 1:
        return None
    found = _gsis_of_table(tables[0])
    return tuple(found) if found is not None else None


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def _gsi_text(a: Assumptions) -> str:
    if not a.ddb_gsis:
        return "no GSI"
    return ", ".join(f"{name} ({proj}, hash key {key})" for name, proj, key in a.ddb_gsis)


def _notes(s: ModuleSettings, a: Assumptions, duration_ms: float, duration_given: bool) -> list[str]:
    a = with_settings(a, s)
    dur = (
        f"{duration_ms:g} ms per batch (--duration-ms)"
        if duration_given
        else f"{duration_ms:g} ms per batch of {s.processor_batch_size} (default: "
        f"{DEFAULT_DURATION_MS_PER_BATCH_OF_10:g} ms per batch of 10, scaled linearly; replace it with "
        "the `make bench` figure or the CloudWatch p50 Duration via --duration-ms)"
    )
    hist = (
        f"kept {s.history_retention_days} days (history_retention_days)"
        if s.history_retention_days
        else "history_retention_days = 0: no TTL, so the figure is PER MONTH, for as long as items are kept"
    )
    logs = (
        f"kept {s.log_retention_days} days (log_retention_days), counted uncompressed: an upper bound"
        if s.log_retention_days
        else "log_retention_days = 0: never expire, so the figure is PER MONTH"
    )
    topic = (
        [
            "Event topic (create_event_topic = true): the processor publishes each processed event once, "
            f"in PublishBatch calls of <= min(batch size, {SNS_MAX_BATCH_ENTRIES}) envelopes and <= 256 KiB; "
            "each 64 KB chunk of a call's aggregate payload is one SNS request. Envelope = "
            f"~{a.envelope_fields_bytes} B of fields + the body as an escaped JSON string "
            f"(+{a.envelope_escape_ratio:.0%}) + the parsed JSON again"
            + (" (bodies assumed JSON)" if a.body_is_json else " (bodies assumed not JSON)")
            + f" + ~{a.sns_attribute_bytes} B of message attributes; over 256 KiB it is a reference "
            "without the body (body_omitted). Then one published_at UpdateItem per event, billed by the "
            "larger of the item before and after (so about the put's WRU), with no index write unless an "
            "index projects ALL. Every webhook is counted as a new processed event: rejected, invalid and "
            "duplicate deliveries publish nothing, so these two lines are an upper bound.",
            "Fan-out, per consumer: SNS does not charge deliveries to SQS; each is an SQS SendMessage "
            "(64 KB chunks, raw delivery: envelope + attributes). The queue is read with ReceiveMessage + "
            "DeleteMessageBatch in batches of the consumer's batch_size (a queue without a function "
            f"is assumed drained {DEFAULT_CONSUMER_BATCH} at a time); a consumer with a function adds one "
            "Lambda request per batch. Its function's duration (GB-seconds) is the owning team's and "
            "is excluded, and its DLQ costs nothing while nothing fails. A body filter (MessageBody "
            "scope) is charged per GB of payload scanned, for every message published to the topic, "
            "matching or not; attribute filters are free. share = fraction of the events a consumer "
            "matches (--consumer-share NAME=F); 1.0 by default, every event: an upper bound. A paused "
            "consumer (enabled = false) is priced as if delivering: its events wait and arrive on resume.",
        ]
        if s.create_event_topic
        else ["create_event_topic = false: no topic, nothing is published and no row is marked."]
    )
    return [
        f"Processor duration: {dur}; measure it at the payload size you care about.",
        "Lambda GB-seconds = ceil(duration ms) / 1000 x memory MB / 1024 / batch size; "
        "Lambda requests = 1 / batch size per webhook. Full batches assumed (at low traffic the "
        "batching window closes batches early, so there are more, smaller invocations).",
        "SQS requests = SendMessage + ReceiveMessage + DeleteMessageBatch. Every 64 KB chunk of a "
        f"request's payload is billed as one request; a message is the body plus ~{a.sqs_attribute_bytes} "
        "bytes of message attributes. A receive returns <= 10 messages and is billed by the chunks of "
        "all of them; a delete batch covers 10 messages. Idle long polls of the event source mapping "
        "(a fixed few hundred thousand a month) and retries are not included.",
        "API Gateway: REST API $3.50 per million (first 333 M/month), not metered by size; HTTP API "
        "metered per started 512 KB of request. Data transfer out is not included.",
        "DynamoDB: one conditional put per webhook; write units = ceil(item KB) with item = stored body "
        f"(up to history_max_stored_body_bytes = {s.history_max_stored_body_bytes}: above it "
        + (
            f"the body goes to the payload store and the row keeps a ~{a.body_ref_bytes} B body_ref"
            if s.create_payload_store
            else "it is truncated, create_payload_store = false"
        )
        + f") + ~{a.ddb_item_overhead_bytes} "
        f"bytes of other attributes, plus one entry in each GSI: {_gsi_text(a)}. "
        f"Duplicates (an extra update) are not counted. Storage: {hist}.",
        "Payload store (part 3, create_payload_store = true): a queue-path body above "
        "history_max_stored_body_bytes is one S3 PutObject (Tier 1, any size; transfer into S3 is free) "
        "and is kept in S3 Standard as long as the row ("
        + (
            f"{s.history_retention_days} d, the bucket's expiration"
            if s.history_retention_days
            else "history_retention_days = 0: kept forever, so the figure is PER MONTH"
        )
        + "); it is read back only by webhookctl (not counted).",
        'S3 path (payload_store = "s3"): API Gateway PUTs the body to ingest/<source>/<request id> '
        "(one Tier-1 request, up to API Gateway's 10 MB; the same REST API request price). S3 sends "
        f"its event notification (~{a.s3_notification_bytes} B, no attributes) to the main queue: one "
        "SendMessage, received and deleted in the processor's batches as on the queue path. The processor "
        "GETs the object (one Tier-2 request; S3 to Lambda in the same region transfers free, and the "
        "GET's time is part of the processor's duration: measure --duration-ms at that size). The row "
        "keeps body_ref, and the body inline as well up to history_max_stored_body_bytes (UTF-8 bodies "
        "assumed); the envelope carries the body under the same 256 KiB rule as the queue path. The "
        "object stays in S3 Standard for "
        + (
            f"{s.history_retention_days} d (history_retention_days: the bucket's expiration; S3 removes "
            "it at the next midnight UTC after, up to a day more)"
            if s.history_retention_days
            else "ever (history_retention_days = 0: no expiration), so the figure is PER MONTH"
        )
        + ". Each delivery is its own object (key = request id), a redelivered duplicate too. The "
        "s3:TestEvent S3 sends once per notification configuration is not counted. Encryption: "
        + (
            "kms_key_arn is set, and the bucket uses an S3 Bucket Key, so S3 asks KMS for a data key "
            "per bucket key, not per PUT or GET: KMS requests ~0 per webhook, not counted."
            if s.kms_key_arn
            else "SSE-S3 (no kms_key_arn): no KMS requests."
        ),
        *topic,
        f"CloudWatch Logs: ~{a.lambda_log_bytes_per_invocation} B per processor invocation + "
        f"~{a.lambda_log_bytes_per_record} B per webhook"
        + (
            f" + a ~{a.access_log_bytes_per_request} B access-log line per request"
            if s.create_access_logs
            else ""
        )
        + f"; alt A adds ~{a.ingest_lambda_log_bytes} B per request. Storage {logs}.",
        f"Alt A: the ingestion Lambda runs once per request ({a.ingest_lambda_memory_mb} MB, "
        f"~{a.ingest_lambda_duration_ms:g} ms warm) and needs concurrency = request rate x its duration; "
        "cold starts add latency on the sender's path.",
        "Alt B (HTTP API) lacks, compared with the REST API: request validation (models), VTL mapping "
        "templates (no body transform or templated error answers), usage plans / API keys (per-client "
        "throttling; per-route throttling exists), resource policies, AWS WAF and private endpoints.",
        "Not included: the free tiers, fixed monthly costs (alarms, dashboard, Secrets Manager secrets, "
        "cached GetSecretValue calls), KMS requests if a customer key is used (DynamoDB, SNS and SQS "
        "encryption), and PITR/backups.",
    ]


def _fan_out(
    consumers: Sequence[Consumer],
    results: Sequence[SizeResult],
    prices: Prices,
    assumptions: Assumptions,
    create_event_topic: bool,
) -> dict[str, Any]:
    entries = []
    per_size_total = [0.0] * len(results)
    for c in consumers:
        rows = []
        for index, r in enumerate(results):
            cr = compute_consumer(r.payload_bytes, c, prices, assumptions)
            per_size_total[index] += cr.total
            rows.append(
                {
                    "payload_kb": r.payload_kb,
                    "quantities_per_webhook": {k: round(v, 9) for k, v in cr.quantities.items()},
                    "components": {k: round(v, 6) for k, v in cr.components.items()},
                    "total": round(cr.total, 6),
                }
            )
        entries.append(
            {
                "name": c.name,
                "share": c.share,
                "share_source": "--consumer-share"
                if c.share_given
                else "default (every event: an upper bound)",
                "filter_scope": c.filter_scope,
                "has_function": c.has_function,
                "batch_size": c.batch_size,
                "enabled": c.enabled,
                "origin": c.origin,
                "results": rows,
            }
        )
    return {
        "event_topic": create_event_topic,
        "consumers": entries,
        "totals": [
            {
                "payload_kb": r.payload_kb,
                "consumers": round(per_size_total[i], 6),
                "module": round(r.total("module"), 6),
                "module_and_consumers": round(r.total("module") + per_size_total[i], 6),
            }
            for i, r in enumerate(results)
        ],
    }


def build_report(
    settings: ModuleSettings,
    origins: Mapping[str, str],
    prices: Prices,
    prices_path: Path,
    duration_ms: float,
    duration_given: bool,
    payloads_kb: Sequence[float] = DEFAULT_PAYLOADS_KB,
    assumptions: Assumptions = Assumptions(),
    gsi_source: str = "assumed",
    consumers: Sequence[Consumer] = (),
    sources: Sequence[Source] = (),
    sources_origin: str = "",
    s3_payloads_kb: Sequence[float] = DEFAULT_S3_PAYLOADS_KB,
) -> dict[str, Any]:
    if consumers and not settings.create_event_topic:
        names = ", ".join(c.name for c in consumers)
        raise CostError(f"consumers ({names}) need the event topic: create_event_topic is false")
    s3_names = [src.name for src in sources if src.payload_store == "s3"]
    if s3_names and not settings.create_payload_store:
        raise CostError(
            f'sources with payload_store = "s3" ({", ".join(s3_names)}) need the payload store: '
            "create_payload_store is false"
        )
    results = [compute(round(kb * KIB), settings, prices, duration_ms, assumptions) for kb in payloads_kb]
    return {
        "unit": "USD per million webhooks",
        "as_of": prices.as_of,
        "region": prices.region,
        "prices_file": str(prices_path),
        "price_sources": prices.sources,
        "settings": asdict(settings),
        "settings_sources": dict(origins),
        "duration_ms_per_batch": duration_ms,
        "duration_source": "--duration-ms" if duration_given else "default",
        "assumptions": {**asdict(assumptions), "ddb_gsis_source": gsi_source},
        "results": [
            {
                "payload_kb": r.payload_kb,
                "payload_bytes": r.payload_bytes,
                "quantities_per_webhook": {k: round(v, 9) for k, v in r.quantities.items()},
                "designs": {
                    d: {
                        "label": DESIGNS[d],
                        "components": {k: round(v, 6) for k, v in comps.items()},
                        "total": round(r.total(d), 6),
                    }
                    for d, comps in r.designs.items()
                },
            }
            for r in results
        ],
        "fan_out": _fan_out(consumers, results, prices, assumptions, settings.create_event_topic),
        "sources": [asdict(src) for src in sources],
        "sources_origin": sources_origin,
        "s3_path": _s3_path(settings, prices, duration_ms, assumptions, s3_payloads_kb),
        "capacity": [
            {
                "payload_kb": r.payload_kb,
                "webhooks_per_second": {
                    k: round(v, 3)
                    for k, v in capacity_limits(r.payload_bytes, settings, duration_ms, assumptions).items()
                },
            }
            for r in results
        ],
        "notes": _notes(settings, assumptions, duration_ms, duration_given),
    }


def _s3_path(
    s: ModuleSettings, p: Prices, duration_ms: float, a: Assumptions, payloads_kb: Sequence[float]
) -> dict[str, Any]:
    def side(components: Mapping[str, float] | None) -> dict[str, Any]:
        if components is None:
            return {"status": 413}
        return {
            "components": {k: round(v, 6) for k, v in components.items()},
            "total": round(sum(components.values()), 6),
        }

    rows = []
    for kb in payloads_kb:
        r = compute_s3(round(kb * KIB), s, p, duration_ms, a)
        rows.append(
            {
                "payload_kb": r.payload_kb,
                "payload_bytes": r.payload_bytes,
                "s3": {
                    **side(r.s3),
                    "quantities_per_webhook": {k: round(v, 9) for k, v in r.s3_quantities.items()},
                }
                if r.s3 is not None
                else side(None),
                "queue": side(r.queue),
            }
        )
    return {
        "retention_days": s.history_retention_days,
        "storage_months": retention_months(s.history_retention_days),
        "kms_key_arn": s.kms_key_arn,
        "queue_max_message_size": s.queue_max_message_size,
        "results": rows,
    }


def _retention_label(days: int) -> str:
    return f" ({days} d)" if days > 0 else " (per month)"


def _money(v: float) -> str:
    return f"{v:,.4f}"


_SCOPE_TEXT: Final = {
    "none": "no filter (every event)",
    "MessageAttributes": "attribute filter",
    "MessageBody": "body filter (MessageBody scope)",
}


def _render_fan_out(report: Mapping[str, Any], width_label: int, width_col: int) -> list[str]:
    fan = report["fan_out"]
    if not fan["event_topic"]:
        return ["Fan-out: none (create_event_topic = false: no topic, nothing is published).", ""]
    if not fan["consumers"]:
        return [
            "Fan-out: no consumers (a var file's `consumers` map, or --plan of a configuration with "
            "consumers, prices them here).",
            "",
        ]
    sizes = [r["payload_kb"] for r in report["results"]]
    header = "".join(f"{format(kb, 'g') + ' KB':>{width_col}}" for kb in sizes)
    lines = [
        "Fan-out per consumer, USD per million webhooks received "
        "(SNS -> the consumer's SQS queue, raw delivery; docs/capacity.md):",
        f"{'':<{width_label}}{header}",
    ]
    for c in fan["consumers"]:
        share = f"share {c['share']:g}" + ("" if c["share_source"] == "--consumer-share" else " (default)")
        function = (
            f"function, batch {c['batch_size']}"
            if c["has_function"]
            else f"no function, batch {c['batch_size']}"
        )
        paused = "; paused" if not c["enabled"] else ""
        lines.append(
            f"  {c['name']} ({share}; {_SCOPE_TEXT.get(c['filter_scope'], c['filter_scope'])}; {function}{paused})"
        )
        for key, label in CONSUMER_COMPONENTS.items():
            applies = (key != "lambda_requests" or c["has_function"]) and (
                key != "sns_payload_filtering" or c["filter_scope"] == "MessageBody"
            )
            cells = "".join(
                f"{(_money(r['components'][key]) if applies else '-'):>{width_col}}" for r in c["results"]
            )
            lines.append(f"    {label:<{width_label - 4}}{cells}")
        cells = "".join(f"{_money(r['total']):>{width_col}}" for r in c["results"])
        lines.append(f"    {'Total':<{width_label - 4}}{cells}")
    for key, label in (
        ("consumers", "All consumers"),
        ("module", "This module (above)"),
        ("module_and_consumers", "This module + fan-out"),
    ):
        cells = "".join(f"{_money(t[key]):>{width_col}}" for t in fan["totals"])
        lines.append(f"  {label:<{width_label - 2}}{cells}")
    lines.append("")
    return lines


def _size_label(kb: float) -> str:
    return f"{kb / 1024:g} MB" if kb >= 1024 else f"{kb:g} KB"


def _render_s3_path(report: Mapping[str, Any], width_label: int) -> list[str]:
    s = report["settings"]
    s3 = report["s3_path"]
    sources = report["sources"]
    s3_names = [src["name"] for src in sources if src["payload_store"] == "s3"]
    queue_names = [src["name"] for src in sources if src["payload_store"] == "queue"]
    if s3_names:
        who = f"sources {', '.join(s3_names)}" + (
            f"; queue sources: {', '.join(queue_names)}" if queue_names else ""
        )
    elif sources:
        who = f'no source has payload_store = "s3" (queue sources: {", ".join(queue_names)}): priced for one switched to it'
    else:
        who = 'no sources read (a var file\'s `sources`, or --plan, lists them): priced for a source with payload_store = "s3"'
    if sources and report.get("sources_origin"):
        who += f" (from {report['sources_origin']})"
    width = 12
    lines = [
        'S3 path (payload_store = "s3": API Gateway PUTs the body to S3, the event notification is the '
        "SQS message, the processor GETs the object), USD per million webhooks, next to the queue path:",
        f"  {who}",
        f"{'':<{width_label}}"
        + "".join(f"{_size_label(r['payload_kb']):>{2 * width}}" for r in s3["results"]),
        f"{'':<{width_label}}" + "".join(f"{'s3':>{width}}{'queue':>{width}}" for _ in s3["results"]),
    ]
    months = s3["storage_months"]
    for key, label in S3_COMPONENTS.items():
        if key in ("dynamodb_storage", "s3_storage"):
            label += _retention_label(s["history_retention_days"])
        elif key == "logs_storage":
            label += _retention_label(s["log_retention_days"])
        cells = []
        for r in s3["results"]:
            for path in ("s3", "queue"):
                side = r[path]
                if "status" in side:
                    cells.append(f"{side['status']:>{width}}")
                    continue
                v = side["components"].get(key)
                applies = v is not None and not (key in TOPIC_COMPONENTS and not s["create_event_topic"])
                if path == "queue" and key in STORE_COMPONENTS and not v:
                    applies = False
                cells.append(f"{(_money(v) if applies else '-'):>{width}}")
        lines.append(f"  {label:<{width_label - 2}}{''.join(cells)}")
    cells = "".join(
        f"{(_money(r[path]['total']) if 'total' in r[path] else str(r[path]['status'])):>{width}}"
        for r in s3["results"]
        for path in ("s3", "queue")
    )
    lines.append(f"  {'Total':<{width_label - 2}}{cells}")
    for r in s3["results"]:
        if "status" in r["s3"]:
            lines.append(f"  {_size_label(r['payload_kb'])}: above API Gateway's 10 MB: 413 on both paths")
            continue
        q = r["s3"]["quantities_per_webhook"]
        inline = (
            "inline + body_ref"
            if q["row_body_bytes"] > report["assumptions"]["body_ref_bytes"]
            else "body_ref only"
        )
        lines.append(
            f"  {_size_label(r['payload_kb'])} s3: 1 PUT + 1 GET; SQS: the ~{q['sqs_message_bytes']:g} B "
            f"notification, {q['sqs_send_requests']:g} send + {q['sqs_receive_requests']:.3g} receive + "
            f"{q['sqs_delete_requests']:.3g} delete; row body {q['row_body_bytes']:g} B ({inline}); "
            f"object {int(q['s3_stored_bytes']):,} B for {months:.3g} month{'' if months == 1 else 's'}"
            + (" (history_retention_days = 0: kept forever, PER MONTH)" if not s3["retention_days"] else "")
            + ("; queue: 413" if "status" in r["queue"] else "")
        )
    lines.append(
        f"  Capacity: S3 takes at least {S3_PREFIX_PUT_RPS:,} PUT/s (and {S3_PREFIX_GET_RPS:,} GET/s) per prefix, "
        "ingest/<source>/ being one per source, and scales up beyond; during a scale-up it may answer 503 "
        "SlowDown, which the edge returns as 503 for the sender to retry."
    )
    lines.append("")
    return lines


def render_text(report: Mapping[str, Any]) -> str:
    s = report["settings"]
    width_label, width_col = 42, 21
    lines = [
        f"Cost per million webhooks, {report['region']}, list prices as of {report['as_of']} "
        f"({report['prices_file']})",
        f"Settings: batch {s['processor_batch_size']}, memory {s['processor_memory_size']} MB, "
        f"processor {report['duration_ms_per_batch']:g} ms per batch ({report['duration_source']}), "
        f"access logs {'on' if s['create_access_logs'] else 'off'}, "
        f"log retention {s['log_retention_days']} d, history retention {s['history_retention_days']} d, "
        f"event topic {'on' if s['create_event_topic'] else 'off'}",
    ]
    if report.get("plan"):
        lines.append(f"Settings from the plan {report['plan']['file']} ({report['plan']['module']})")
    lines.append("")
    header = "".join(f"{DESIGNS[d]:>{width_col}}" for d in DESIGNS)
    for r in report["results"]:
        q = r["quantities_per_webhook"]
        lines.append(f"{'Payload ' + format(r['payload_kb'], 'g') + ' KB':<{width_label}}{header}")
        for key, label in COMPONENTS.items():
            if key in ("dynamodb_storage", "s3_storage"):
                label += _retention_label(s["history_retention_days"])
            elif key == "logs_storage":
                label += _retention_label(s["log_retention_days"])
            cells = []
            for d in DESIGNS:
                v = r["designs"][d]["components"][key]
                applies = (
                    not (key.startswith("ingest_") and d != "alt_a_rest_lambda")
                    and not (key in TOPIC_COMPONENTS and not s["create_event_topic"])
                    and not (key in STORE_COMPONENTS and not q["payload_store_puts"])
                )
                cells.append(f"{(_money(v) if applies else '-'):>{width_col}}")
            lines.append(f"  {label:<{width_label - 2}}{''.join(cells)}")
        totals = [r["designs"][d]["total"] for d in DESIGNS]
        lines.append(f"  {'Total':<{width_label - 2}}" + "".join(f"{_money(t):>{width_col}}" for t in totals))
        base = totals[0]
        diffs = [""] + [f"{t - base:+,.4f} ({(t - base) / base:+.1%})" for t in totals[1:]]
        lines.append(f"  {'vs this module':<{width_label - 2}}" + "".join(f"{x:>{width_col}}" for x in diffs))
        topic = (
            f"; SNS {q['sns_publish_requests']:.3g} publish requests (envelope {q['envelope_bytes']:g} B"
            + (", body omitted" if q["envelope_body_omitted"] else "")
            + f") + {q['dynamodb_marker_wru']:g} marker WRU"
            if s["create_event_topic"]
            else ""
        )
        lines.append(
            f"  per webhook: SQS {q['sqs_send_requests']:g} send + {q['sqs_receive_requests']:.3g} receive"
            f" + {q['sqs_delete_requests']:.3g} delete; DynamoDB {q['dynamodb_table_wru']:g} WRU"
            f" + {q['dynamodb_gsi_wru']:g} GSI WRU{topic}; {q['processor_gb_seconds']:.4g} GB-s;"
            f" {q['log_bytes']:g} B of logs"
            + (
                f"; body > history_max_stored_body_bytes ({s['history_max_stored_body_bytes']} B): "
                f"1 PUT to the payload store, the row keeps body_ref ({q['row_body_bytes']:g} B)"
                if q["payload_store_puts"]
                else ""
            )
        )
        if r["payload_bytes"] + report["assumptions"]["sqs_attribute_bytes"] > s["queue_max_message_size"]:
            lines.append(
                f"  above queue_max_message_size ({s['queue_max_message_size']} B with the message "
                'attributes): the queue path answers 413, priced here as if it took it; a payload_store = "s3" '
                "source carries it (S3 path below)"
            )
        lines.append("")
    lines += _render_fan_out(report, width_label, width_col)
    lines += _render_s3_path(report, width_label)
    lines.append("Capacity: webhooks/s at which each limit binds, lowest first (docs/capacity.md):")
    for c in report["capacity"]:
        limits = ", ".join(f"{k} {v:,.0f}" for k, v in c["webhooks_per_second"].items())
        lines.append(f"  {c['payload_kb']:g} KB: {limits}")
    lines += ["", "Notes:"]
    lines += [f"  - {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return value


def _share(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=FRACTION, e.g. payments=0.3: {text!r}")
    try:
        share = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r} in {text!r}") from None
    if not math.isfinite(share) or not 0 <= share <= 1:
        raise argparse.ArgumentTypeError(f"a share is between 0 and 1: {text!r}")
    return name, share


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tools/cost.py",
        description="Cost per million webhooks for this module and two alternative designs, from the "
        "module's defaults (variables.tf), a tfvars file, or a saved plan of your own configuration "
        "(--plan), and the dated prices in pricing/aws-prices.json.",
        epilog="Processor duration: pass the measured duration of one processor invocation (one batch "
        "of processor_batch_size webhooks) with --duration-ms, from `make bench` or the p50 of the "
        "function's CloudWatch Duration metric. Without it the tool assumes "
        f"{DEFAULT_DURATION_MS_PER_BATCH_OF_10:g} ms per batch of 10, scaled linearly with the batch size.",
    )
    parser.add_argument(
        "--var-file", metavar="FILE", type=Path, help="a .tfvars or .tfvars.json file overriding the defaults"
    )
    parser.add_argument(
        "--plan",
        metavar="PLAN.json",
        type=Path,
        help="read the settings from `terraform show -json` of a saved plan of your own root module "
        "(the module call's planned resources, its arguments and the module's defaults) instead of "
        "variables.tf; not with --var-file",
    )
    parser.add_argument(
        "--module",
        metavar="ADDRESS",
        help="with --plan: the module call to read (e.g. module.webhooks), when the plan has several",
    )
    parser.add_argument(
        "--duration-ms",
        metavar="N",
        type=_positive,
        help="measured processor duration per batch, in ms "
        f"(default: {DEFAULT_DURATION_MS_PER_BATCH_OF_10:g} ms x batch size / 10)",
    )
    parser.add_argument(
        "--consumer-share",
        metavar="NAME=F",
        type=_share,
        nargs="+",
        action="extend",
        default=[],
        help="the fraction (0-1) of the events consumer NAME matches, e.g. payments=0.3 "
        "(default 1.0 for each consumer: every event, an upper bound)",
    )
    parser.add_argument("--json", metavar="OUT", type=Path, help="also write the figures as JSON to OUT")
    parser.add_argument(
        "--payload-kb",
        metavar="KB",
        type=_positive,
        nargs="+",
        default=list(DEFAULT_PAYLOADS_KB),
        help="payload sizes in KB (1 KB = 1024 bytes; default: 1 10 100)",
    )
    parser.add_argument(
        "--s3-payload-kb",
        metavar="KB",
        type=_positive,
        nargs="+",
        default=list(DEFAULT_S3_PAYLOADS_KB),
        help='body sizes in KB of the S3 path table (payload_store = "s3"; default: 10 1024 5120, '
        "i.e. 10 KB, 1 MB and 5 MB)",
    )
    parser.add_argument(
        "--variables",
        metavar="FILE",
        type=Path,
        default=DEFAULT_VARIABLES,
        help="the module's variables.tf (default: %(default)s)",
    )
    parser.add_argument(
        "--prices",
        metavar="FILE",
        type=Path,
        default=DEFAULT_PRICES,
        help="prices file (default: %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        instance = None
        if args.plan is not None:
            if args.var_file is not None:
                raise CostError("--plan already holds the resolved settings: drop --var-file")
            planned = load_plan_settings(args.plan, args.module)
            settings, origins, detected = planned.settings, planned.origins, planned.gsis
            consumers, instance, gsi_source = planned.consumers, planned.instance, "the plan"
            sources, sources_origin = planned.sources, planned.sources_origin
        else:
            if args.module is not None:
                raise CostError("--module only applies with --plan")
            settings, origins = load_settings(args.variables, args.var_file)
            consumers = read_var_file_consumers(args.var_file) if args.var_file is not None else []
            sources = read_var_file_sources(args.var_file) if args.var_file is not None else []
            sources_origin = str(args.var_file) if args.var_file is not None else "none (no --var-file)"
            detected = detect_gsis(args.variables.parent)
            gsi_source = "module *.tf"
        consumers = apply_shares(consumers, dict(args.consumer_share))
        prices = load_prices(args.prices)
        assumptions = Assumptions(ddb_gsis=detected) if detected is not None else Assumptions()
        duration = args.duration_ms or default_duration_ms(settings.processor_batch_size)
        report = build_report(
            settings,
            origins,
            prices,
            args.prices,
            duration,
            args.duration_ms is not None,
            args.payload_kb,
            assumptions,
            gsi_source if detected is not None else "assumed",
            consumers,
            sources,
            sources_origin,
            args.s3_payload_kb,
        )
        if instance is not None:
            report["plan"] = {"file": str(args.plan), "module": instance}
    except CostError as exc:
        print(f"cost: error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render_text(report))
    if args.json is not None:
        try:
            args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"cost: error: cannot write {args.json}: {exc.strerror}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
