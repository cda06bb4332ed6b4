"""Issue 12: one request matrix through two independent emulators of the edge.

LocalStack executes the REST API examples/complete deployed on it (its own VTL engine, its
own SQS); tests/harness/gateway.py executes the same API as deployed on moto
(`applied_complete`). For each request both answers are compared: the status, the answer's
JSON fields (request_id aside) and the queued message: its body bytes and every attribute
(request_id, received_at_ms and source_ip by presence and type only). A request where the
emulators are known to differ is marked `known_difference(<id>)`: the test then asserts that
they still differ, so a fix on either side is noticed, and docs/emulators.md#<id> says why.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.apply.scenarios import PARTNER_HMAC, SECRETS
from tests.harness import localstack
from tests.harness.poller import EventSourceMappingPoller, PollStats
from tests.reliability.deployed import AppliedStack
from tools.signing import sign

pytestmark = pytest.mark.xdist_group("applied-complete")

EMULATORS_DOC = Path(__file__).resolve().parents[2] / "docs" / "emulators.md"
VOLATILE_ATTRIBUTES = ("request_id", "received_at_ms", "source_ip")
JSON = "application/json"


@dataclass(frozen=True)
class Case:
    source: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    query: str = ""
    path: str | None = None  # default /webhooks/<source>


def signed(source: str, body: bytes, content_type: str | None = JSON, **extra: str) -> Case:
    """A delivery signed as the source's sender signs it (tools/signing.py)."""
    scheme = {"billing": "standard_webhooks", "partner": "hmac_sha256", "internal": "none"}.get(
        source, source
    )
    headers = {"Content-Type": content_type} if content_type else {}
    if scheme != "none":
        kwargs: dict[str, Any] = dict(PARTNER_HMAC) if source == "partner" else {}
        headers |= sign(scheme, SECRETS[source], body, timestamp=int(time.time()), msg_id="d-1", **kwargs)
        if source == "partner":
            headers["X-Partner-Delivery"] = "d-1"
    headers |= extra
    return Case(source, body, headers)


EVENT = b'{"id":"evt_1","type":"payment_intent.succeeded","data":{"amount":100}}'
FORM = b"payload=%7B%22action%22%3A%22opened%22%7D"


def build_cases() -> dict[str, Case]:
    """The matrix, signed now (the processor check needs timestamps within tolerance)."""
    return {
        # every scheme, signed
        **{
            f"signed-{s}": signed(s, EVENT)
            for s in ("stripe", "github", "shopify", "billing", "partner", "internal")
        },
        "signed-slack-form": signed(
            "slack", b"token=x&team_id=T1&event=%7B%7D", "application/x-www-form-urlencoded"
        ),
        "signed-github-form": signed("github", FORM, "application/x-www-form-urlencoded"),
        "internal-text": signed("internal", b"plain text, not JSON", "text/plain"),
        # charset and case variants of the content type
        "charset-stripe": signed("stripe", EVENT, "application/json; charset=utf-8"),
        "charset-nospace-upper": signed("github", EVENT, "application/json;charset=UTF-8"),
        "media-type-case": signed("github", EVENT, "Application/JSON"),
        "no-content-type": signed("internal", EVENT, None),
        # header-name case, and a query string naming a header
        "header-case-lower": Case(
            "github", EVENT, {k.lower(): v for k, v in signed("github", EVENT).headers.items()}
        ),
        "header-case-upper": Case(
            "github", EVENT, {k.upper(): v for k, v in signed("github", EVENT).headers.items()}
        ),
        "query-overrides-header": Case(
            "github", EVENT, signed("github", EVENT).headers, query="X-GitHub-Delivery=evil"
        ),
        # bodies the edge must refuse
        "malformed-json": signed("stripe", b'{"id": "evt_1",'),
        "unsupported-type": signed("stripe", b"<xml/>", "application/xml"),
        "empty-body": signed("internal", b""),
        "empty-object": signed("internal", b"{}"),
        "oversize": signed("internal", b'{"pad":"' + b"x" * 262_200 + b'"}'),
        "sqs-refused-nul": signed("internal", b'{"a":"\x00"}'),
        "sqs-refused-uffff": signed("internal", '{"a":"\uffff"}'.encode()),
        "non-utf8": signed("internal", b'{"a":"\xff\xfe"}'),
        # routing
        "unknown-path": Case("internal", EVENT, {"Content-Type": JSON}, path="/webhooks/nobody"),
        "wrong-method": Case("internal", EVENT, {"Content-Type": JSON}, method="PUT"),
    }


CASES = build_cases()


def _answer_fields(body: bytes) -> Any:
    try:
        answer = json.loads(body)
    except ValueError:
        return ("not JSON", body[:200])
    if isinstance(answer, dict):
        answer.pop("request_id", None)
    return answer


def _messages(stack: AppliedStack) -> list[tuple[bytes, dict[str, Any]]]:
    """What the request queued (received and deleted): body bytes and attributes."""
    found = []
    while batch := stack.sqs.receive_message(
        QueueUrl=stack.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
    ).get("Messages"):
        for message in batch:
            attributes: dict[str, Any] = {}
            for name, value in (message.get("MessageAttributes") or {}).items():
                attributes[name] = (
                    (value["DataType"], "<present>")
                    if name in VOLATILE_ATTRIBUTES
                    else (value["DataType"], value.get("StringValue"))
                )
            found.append((message["Body"].encode("utf-8"), attributes))
            stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def outcome(stack: AppliedStack, case: Case, via_localstack: bool) -> dict[str, Any]:
    path = (case.path or f"/webhooks/{case.source}") + (f"?{case.query}" if case.query else "")
    if via_localstack:
        url = stack.localstack.execute_api_url(
            stack.outputs["rest_api_id"], stack.outputs["stage_name"], path
        )  # type: ignore[attr-defined]
        status, body, _ = localstack.send(url, case.method, case.body, case.headers)
    else:
        answer = stack.gateway.request(case.method, path, case.body, case.headers)
        status, body = answer.status, answer.body.encode("utf-8")
    return {"status": status, "answer": _answer_fields(body), "queued": _messages(stack)}


def compare(
    localstack_complete: AppliedStack, applied_complete: AppliedStack, case: Case
) -> tuple[dict, dict]:
    return outcome(localstack_complete, case, True), outcome(applied_complete, case, False)


@pytest.fixture(scope="module")
def both(
    localstack_complete: AppliedStack, applied_complete: AppliedStack
) -> tuple[AppliedStack, AppliedStack]:
    for stack in (localstack_complete, applied_complete):
        _messages(stack)  # start from an empty main queue on both sides
    return localstack_complete, applied_complete


# case -> docs/emulators.md id. Each id's check asserts the difference's shape AND that the
# rest of the outcome agrees, so a marked case still compares everything it can.
KNOWN: dict[str, str] = {
    **dict.fromkeys(
        ("signed-slack-form", "signed-github-form", "internal-text", "unsupported-type"),
        "validation-non-json",
    ),
    **dict.fromkeys(
        ("malformed-json", "sqs-refused-nul", "unknown-path", "wrong-method"), "gateway-response-templates"
    ),
    "media-type-case": "media-type-case",
    "non-utf8": "non-utf8-body",
}


def check_known(difference: str, ls_side: dict[str, Any], moto_side: dict[str, Any]) -> None:
    if difference == "gateway-response-templates":
        # Same status, nothing queued on either side; LocalStack answers API Gateway's own
        # {"message": ...} instead of the API's customised gateway response.
        assert ls_side["status"] == moto_side["status"] and ls_side["queued"] == moto_side["queued"] == []
        assert ls_side["answer"] != moto_side["answer"] and "message" in ls_side["answer"]
    else:
        # media-type-case, non-utf8-body, validation-non-json: LocalStack refuses (or fails)
        # where the harness answers otherwise; neither side may queue what the other refused.
        assert ls_side["status"] != moto_side["status"] and ls_side["queued"] == []


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case, id=name, marks=[pytest.mark.known_difference(KNOWN[name])] if name in KNOWN else []
        )
        for name, case in CASES.items()
    ],
)
def test_same_answer_and_message(
    both: tuple[AppliedStack, AppliedStack], case: Case, request: pytest.FixtureRequest
) -> None:
    ls_side, moto_side = compare(*both, case)
    marker = request.node.get_closest_marker("known_difference")
    if marker is None:
        assert ls_side == moto_side, f"LocalStack: {ls_side}\nharness:    {moto_side}"
        return
    difference = marker.args[0]
    assert ls_side != moto_side, (
        f"known difference {difference!r} is gone (both: {ls_side}): update docs/emulators.md and this mark"
    )
    check_known(difference, ls_side, moto_side)
    assert difference in EMULATORS_DOC.read_text(encoding="utf-8"), f"docs/emulators.md lacks {difference!r}"


# Decision 8: the suite must be able to fail. Each break is made to the API LocalStack runs
# (a scratch copy of the deployed config), redeployed, and must show up as a difference.
BREAKS = {
    "body-reserialised": ("request", "$util.urlEncode($input.body)", "$util.urlEncode($input.json('$'))"),
    "attribute-dropped": (
        "request",
        "#set($added = $attributes.add(['source', 'internal', 'String']))##",
        "##",
    ),
    "wrong-status": (
        "response",
        '{"status":"accepted"',
        '#set($context.responseOverride.status = 400){"status":"accepted"',
    ),
}


@pytest.mark.parametrize("kind", list(BREAKS))
def test_a_broken_template_is_a_difference(both: tuple[AppliedStack, AppliedStack], kind: str) -> None:
    ls_stack, moto_stack = both
    apigw = ls_stack.account.client("apigateway")
    api, stage = ls_stack.outputs["rest_api_id"], ls_stack.outputs["stage_name"]
    resource = next(
        r["id"]
        for r in apigw.get_resources(restApiId=api, limit=500)["items"]
        if r["path"] == "/webhooks/internal"
    )
    ids = {"restApiId": api, "resourceId": resource, "httpMethod": "POST"}
    where, old, new = BREAKS[kind]
    if where == "request":
        templates = apigw.get_integration(**ids)["requestTemplates"]
        original = templates[JSON]
        path, update = "/requestTemplates/application~1json", apigw.update_integration
        extra: dict[str, str] = {}
    else:
        original = apigw.get_integration_response(**ids, statusCode="200")["responseTemplates"][JSON]
        path, update = "/responseTemplates/application~1json", apigw.update_integration_response
        extra = {"statusCode": "200"}
    broken = original.replace(old, new)
    assert broken != original, f"{kind}: the deployed template no longer contains {old!r}"
    case = CASES["no-content-type"]  # a case on which the emulators agree (no header attributes)
    try:
        update(**ids, **extra, patchOperations=[{"op": "replace", "path": path, "value": broken}])
        apigw.create_deployment(restApiId=api, stageName=stage)
        ls_side, moto_side = compare(ls_stack, moto_stack, case)
        assert ls_side != moto_side, f"{kind}: the break went unnoticed: {ls_side}"
    finally:
        update(**ids, **extra, patchOperations=[{"op": "replace", "path": path, "value": original}])
        apigw.create_deployment(restApiId=api, stageName=stage)
    # Restored: the unbroken case agrees again.
    ls_side, moto_side = compare(ls_stack, moto_stack, case)
    assert ls_side == moto_side, f"{kind}: not restored: {ls_side} vs {moto_side}"


# --------------------------------------------------------------------------- the processor

# The cases both emulators queue. The real processor runs on each side's queue (LocalStack's
# SQS on one, moto's on the other), and the history rows must be equal.
QUEUED_ON_BOTH = (
    "signed-stripe",
    "signed-github",
    "signed-shopify",
    "signed-billing",
    "signed-partner",
    "signed-internal",
    "charset-stripe",
    "charset-nospace-upper",
    "no-content-type",
    "header-case-lower",
    "header-case-upper",
    "query-overrides-header",
    "empty-object",
)
# Row fields that differ between any two runs: ids and clocks of the request, the message and
# the write. Compared by presence only; every other field must be equal.
VOLATILE_ROW_FIELDS = frozenset(
    {
        "request_id",
        "received_at",
        "processed_at",
        "published_at",
        "expires_at",
        "received_day",
        "received_bucket",
        "source_ip",
        "sqs_message_id",
        "duplicate_request_ids",
    }
)


def comparable_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = []
    for row in rows:
        comparable: dict[str, Any] = {}
        for name, value in row.items():
            if name in VOLATILE_ROW_FIELDS:
                comparable[name] = "<present>"
            elif name == "message_attributes":
                comparable[name] = {
                    k: "<present>" if k in VOLATILE_ATTRIBUTES else v for k, v in value.items()
                }
            elif name == "event_id" and "#request:" in value:
                # Rejected and invalid rows are keyed by the request id (docs/message-contract.md).
                comparable[name] = value.split("#request:")[0] + "#request:<id>"
            else:
                comparable[name] = value
        result.append(comparable)
    return sorted(result, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def process_queue(stack: AppliedStack) -> PollStats:
    """The deployed processor's trigger, in-process (tests/harness/poller.py), on this side's
    queue: its environment and sources file are the deployed function's (AppliedStack.activate)."""
    with stack.activate():
        from webhook_processor import handler

        poller = EventSourceMappingPoller(
            stack.sqs, stack.queue_url, handler.lambda_handler, function_name=stack.function_name
        )
        stats = poller.drain(max_rounds=20)
    assert not poller.errors, f"the processor raised: {poller.errors!r}"
    return stats


def test_the_processor_records_the_same_rows_from_both_emulators(
    both: tuple[AppliedStack, AppliedStack],
) -> None:
    for stack in both:
        stack.clear()
    cases = build_cases()  # signed now, so every timestamp is within its source's tolerance
    for name in QUEUED_ON_BOTH:
        # One case at a time through both sides, each queue processed before the next: the
        # order of duplicates (which delivery wrote a row first) is the same on both.
        for side, stack, via_localstack in (
            ("localstack", both[0], True),
            ("harness", both[1], False),
        ):
            path = f"/webhooks/{cases[name].source}" + (f"?{cases[name].query}" if cases[name].query else "")
            if via_localstack:
                url = stack.localstack.execute_api_url(  # type: ignore[attr-defined]
                    stack.outputs["rest_api_id"], stack.outputs["stage_name"], path
                )
                status = localstack.send(url, "POST", cases[name].body, cases[name].headers)[0]
            else:
                status = stack.gateway.request("POST", path, cases[name].body, cases[name].headers).status
            assert status == 200, f"{name}: {side} answered {status}"
            stats = process_queue(stack)
            assert (stats.received, stats.deleted, stats.retried) == (1, 1, 0), f"{name} on {side}: {stats}"
    ls_rows = comparable_rows(both[0].scan_history())
    moto_rows = comparable_rows(both[1].scan_history())
    assert ls_rows == moto_rows
    # The check is only as strong as what it compares: every signed source verified, not
    # rejected for a signature attribute one side lost.
    statuses = {(r["source"], r["status"]) for r in moto_rows}
    for source in ("stripe", "github", "shopify", "billing", "partner", "internal"):
        assert (source, "processed") in statuses, f"{source}: {sorted(statuses)}"
    assert not {s for _, s in statuses} - {"processed"}, sorted(statuses)
    duplicates = sum(r.get("duplicate_count", 0) for r in moto_rows)
    assert len(moto_rows) + duplicates == len(QUEUED_ON_BOTH), moto_rows
    both[0].clear()
