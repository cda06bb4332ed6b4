"""SNS subscription filter policies, evaluated independently of moto (which applies them).

The reconciliation needs its own answer to "should this consumer get this event?", from
the policy the apply wrote, so that a filter moto applied wrongly (or a policy the module
built wrongly for its declared sources/event_types/body_filter) shows as a finding.

Semantics, from "Amazon SNS subscription filter policies" and "Filter policy scope":
https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html
https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering-scope.html

- Every top-level key must match (AND); a key matches when any of its conditions does (OR).
- MessageAttributes scope: keys name message attributes (String values here); a missing
  attribute matches only `{"exists": false}`.
- MessageBody scope: the body must be a JSON object; keys are nested like the body, a
  nested policy object descends into the body object of that key, and a body value that
  is an array matches when any element does.
- Conditions: exact values (strings, numbers, true/false/null), `prefix`, `suffix`,
  `equals-ignore-case`, `anything-but` (values, or a `prefix`), `exists`, `numeric`.
  Anything else raises: the check must not silently pass on an operator it does not know.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping
from typing import Any

_MISSING = object()
_NUMERIC = {"=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def matches(policy: Mapping[str, Any] | None, scope: str, attributes: Mapping[str, str], body: str) -> bool:
    """Whether SNS delivers a message with these String attributes and this body."""
    if not policy:
        return True
    if scope == "MessageAttributes":
        return all(
            _key_matches(conditions, attributes.get(key, _MISSING)) for key, conditions in policy.items()
        )
    if scope != "MessageBody":
        raise ValueError(f"unknown filter policy scope {scope!r}")
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return isinstance(document, dict) and _object_matches(policy, document)


def _object_matches(policy: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
    for key, conditions in policy.items():
        if key.startswith("$"):
            raise NotImplementedError(f"filter policy operator {key!r} is not evaluated here")
        value = document.get(key, _MISSING)
        if isinstance(conditions, Mapping):
            if not isinstance(value, Mapping) or not _object_matches(conditions, value):
                return False
        elif not _key_matches(conditions, value):
            return False
    return True


def _key_matches(conditions: Any, value: Any) -> bool:
    if not isinstance(conditions, list):
        raise ValueError(f"filter policy conditions must be a list, got {conditions!r}")
    values = value if isinstance(value, list) else [value]
    return any(_condition_matches(condition, v) for condition in conditions for v in values)


def _condition_matches(condition: Any, value: Any) -> bool:
    if not isinstance(condition, Mapping):
        if value is _MISSING:
            return False
        if isinstance(condition, bool) or isinstance(value, bool):
            return condition is value
        if isinstance(condition, (int, float)) and isinstance(value, (int, float)):
            return float(condition) == float(value)
        return condition == value
    if len(condition) != 1:
        raise ValueError(f"a filter condition has one operator, got {condition!r}")
    ((name, argument),) = condition.items()
    if name == "exists":
        return (value is not _MISSING) is bool(argument)
    if value is _MISSING:
        return False
    if name == "prefix":
        return isinstance(value, str) and value.startswith(argument)
    if name == "suffix":
        return isinstance(value, str) and value.endswith(argument)
    if name == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(argument).lower()
    if name == "anything-but":
        if isinstance(argument, Mapping):
            return not _condition_matches(argument, value)
        excluded = argument if isinstance(argument, list) else [argument]
        return not any(_condition_matches(e, value) for e in excluded)
    if name == "numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return False
        try:
            number = float(value)
        except ValueError:
            return False
        pairs = list(zip(argument[::2], argument[1::2], strict=True))
        return all(_NUMERIC[op](number, float(bound)) for op, bound in pairs)
    raise NotImplementedError(f"filter condition {name!r} is not evaluated here")
