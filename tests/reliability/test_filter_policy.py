"""The reconciliation's own reading of SNS filter policies (filter_policy.py), on the policies
the consumer module builds and on the edges AWS documents:
https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html
"""

from __future__ import annotations

import json

import pytest

from .filter_policy import matches

PAYMENTS = {
    "source": ["stripe", "billing"],
    "event_type": [{"prefix": "payment_intent."}, {"prefix": "invoice."}],
}
REPO_ACTIVITY = {
    "source": ["github"],
    "event_type": ["issues", "pull_request"],
    "json": {"action": ["opened"]},
}


def _attributes(source: str, event_type: str) -> dict[str, str]:
    return {"source": source, "event_type": event_type, "event_id": f"{source}#x", "scheme": source}


@pytest.mark.parametrize(
    ("source", "event_type", "expected"),
    [
        ("stripe", "payment_intent.succeeded", True),
        ("billing", "invoice.paid", True),
        ("stripe", "charge.refunded", False),
        ("github", "invoice.paid", False),
        ("billing", "invoices.x", False),  # the prefix is "invoice." with its dot
        ("stripe", "payment_intent", False),
    ],
)
def test_message_attributes_scope(source: str, event_type: str, expected: bool) -> None:
    assert matches(PAYMENTS, "MessageAttributes", _attributes(source, event_type), "{}") is expected


def test_message_body_scope_descends_into_the_envelope() -> None:
    def envelope(event_type: str, parsed: object) -> str:
        return json.dumps({"source": "github", "event_type": event_type, "json": parsed})

    assert matches(REPO_ACTIVITY, "MessageBody", {}, envelope("issues", {"action": "opened"}))
    assert not matches(REPO_ACTIVITY, "MessageBody", {}, envelope("issues", {"action": "closed"}))
    assert not matches(REPO_ACTIVITY, "MessageBody", {}, envelope("push", {"action": "opened"}))
    # A form-encoded body has no parsed JSON: json is null, so a body filter cannot match.
    assert not matches(REPO_ACTIVITY, "MessageBody", {}, envelope("issues", None))
    # An array in the body matches when any element does.
    assert matches({"json": {"tags": ["b"]}}, "MessageBody", {}, json.dumps({"json": {"tags": ["a", "b"]}}))
    assert not matches(REPO_ACTIVITY, "MessageBody", {}, "not json")


def test_operators() -> None:
    attributes = _attributes("stripe", "invoice.paid")
    assert matches({"event_type": [{"anything-but": ["ping"]}]}, "MessageAttributes", attributes, "")
    assert not matches(
        {"event_type": [{"anything-but": {"prefix": "invoice."}}]}, "MessageAttributes", attributes, ""
    )
    assert matches({"replay_id": [{"exists": False}]}, "MessageAttributes", attributes, "")
    assert not matches({"replay_id": [{"exists": True}]}, "MessageAttributes", attributes, "")
    assert not matches({"replay_id": [{"anything-but": "x"}]}, "MessageAttributes", attributes, "")
    assert matches({"event_type": [{"suffix": ".paid"}]}, "MessageAttributes", attributes, "")
    assert matches({"source": [{"equals-ignore-case": "STRIPE"}]}, "MessageAttributes", attributes, "")
    body = json.dumps({"json": {"amount": 4200}})
    assert matches({"json": {"amount": [{"numeric": [">", 0, "<=", 4200]}]}}, "MessageBody", {}, body)
    assert not matches({"json": {"amount": [{"numeric": ["<", 100]}]}}, "MessageBody", {}, body)
    assert matches(None, "MessageAttributes", {}, "") and matches({}, "MessageBody", {}, "x")
    with pytest.raises(NotImplementedError):
        matches({"source": [{"cidr": "10.0.0.0/8"}]}, "MessageAttributes", attributes, "")
    with pytest.raises(NotImplementedError):
        matches({"$or": [{"source": ["stripe"]}]}, "MessageBody", {}, "{}")
