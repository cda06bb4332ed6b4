"""Consumers end to end on an applied examples/complete: gateway -> processor -> topic -> queues.

Each webhook goes through the deployed gateway configuration (tests/harness/gateway.py) and
the real processor, run as the deployed function with its own event source mapping
(tests/harness/functions.py). SNS delivers to the three consumer queues with their own
filter policies and raw delivery (moto's fan-out, not emulated). The payments consumer's
example function (examples/complete/payments_consumer) runs as deployed, fed by its mapping.

- payments:      stripe + billing, payment_intent.* and invoice.*; a function, 3 receives
- repo-activity: github issues / pull_request whose body has action = opened; a queue
- audit:         everything; a queue

Local account only: the gateway, the processor and the consumer function run in-process
(moto runs no API or Lambda code), and the crash injection needs the processor in this
process. On a real account test_complete_apply drives the deployed pipeline itself.
One engine only (the first selected): what is checked here is the processor, SNS and
the consumer function, the same for either engine, and each apply costs minutes;
test_complete_apply reads every consumer resource back on both engines.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from webhook_processor.publisher import Publisher

from tests.apply import scenarios
from tests.harness import toolchain
from tests.harness.driver import LocalDriver, deployed_function, deployed_processor_environment
from tests.harness.functions import DeployedFunction, EventSourceMappings, deployed_python_function
from tools import webhookctl

pytestmark = [pytest.mark.apply, pytest.mark.xdist_group("apply-complete")]

FIRST_ENGINE = toolchain.selected_engines()[0]
AUDIT, REPO, PAYMENTS = "audit", "repo-activity", "payments"


# --------------------------------------------------------------------------- the function harness


HANDLER_SOURCE = """
import json, os

SEEN_AT_IMPORT = os.environ.get("MARK")


def handle(event, context):
    bodies = [r["body"] for r in event["Records"]]
    with open(os.environ["LOG_FILE"], "a") as log:
        log.write(json.dumps({
            "bodies": bodies,
            "mark": os.environ.get("MARK"),
            "import_mark": SEEN_AT_IMPORT,
            "table": os.environ.get("TABLE_NAME"),
            "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
            "remaining_ms": context.get_remaining_time_in_millis(),
        }) + "\\n")
    return {"batchItemFailures": [
        {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "fail"
    ]}
"""


def _zip(path: Path, source: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app/__init__.py", "")
        archive.writestr("app/main.py", source)
    return path


def _base64sha256(path: Path) -> str:
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def test_function_harness_runs_the_deployed_zip_as_its_mapping_says(aws_account, tmp_path, monkeypatch):
    """functions.py against Lambda's own read-back: batch size, partial failures, the
    mapping's state, the function's environment only, and the CodeSha256 check."""
    if not aws_account.is_local:
        pytest.skip("the harness stands in for Lambda on the local account only")
    name = f"harness-{uuid.uuid4().hex[:8]}"
    package = _zip(tmp_path / "fn.zip", HANDLER_SOURCE)
    log = tmp_path / "invocations.jsonl"
    iam, lam, sqs = (aws_account.client(s) for s in ("iam", "lambda", "sqs"))
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=name,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.main.handle",
        Code={"ZipFile": package.read_bytes()},
        Timeout=42,
        Environment={"Variables": {"MARK": "the function's", "LOG_FILE": str(log), "TABLE_NAME": "seen"}},
    )
    mapping = lam.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=queue_arn,
        BatchSize=2,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    # The test process's own variables never reach the function.
    monkeypatch.setenv("TABLE_NAME", "the processor's table")
    monkeypatch.setenv("MARK", "the test's")
    try:
        other = _zip(tmp_path / "other.zip", HANDLER_SOURCE + "\n# changed\n")
        with (
            pytest.raises(AssertionError, match="is not the zip"),
            deployed_python_function(aws_account, name, other),
        ):
            pass

        with deployed_python_function(aws_account, name, package) as function:
            assert function.config["CodeSha256"] == _base64sha256(package)
            mappings = function.mappings()
            for body in ("a", "b", "fail", "c", "d"):
                sqs.send_message(QueueUrl=queue, MessageBody=body)
            stats = mappings.drain()
            calls = [json.loads(line) for line in log.read_text().splitlines()]
            assert all(len(c["bodies"]) <= 2 for c in calls)  # BatchSize
            assert sorted(b for c in calls for b in c["bodies"] if b != "fail") == ["a", "b", "c", "d"]
            assert sum(c["bodies"].count("fail") for c in calls) == 2  # maxReceiveCount, then the DLQ
            assert {(c["mark"], c["import_mark"], c["table"], c["function"]) for c in calls} == {
                ("the function's", "the function's", "seen", name)
            }
            assert all(30_000 < c["remaining_ms"] <= 42_000 for c in calls)  # the function's Timeout
            assert stats.deleted == 4
            moved = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
            assert [m["Body"] for m in moved] == ["fail"]

            # Paused through the Lambda API: not polled, nothing lost; resumed: delivered.
            lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
            sqs.send_message(QueueUrl=queue, MessageBody="while paused")
            assert mappings.drain().received == 0
            attributes = sqs.get_queue_attributes(
                QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"]
            )
            assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"
            lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
            assert mappings.drain().deleted == 1
        # Its modules are forgotten once the harness exits: no clash with another function's.
        assert not [n for n in sys.modules if n == "app" or n.startswith("app.")]
    finally:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
        lam.delete_function(FunctionName=name)
        for url in (queue, dlq):
            sqs.delete_queue(QueueUrl=url)
        iam.delete_role(RoleName=name)


# --------------------------------------------------------------------------- the applied stack


@pytest.fixture(scope="module")
def stack(request, engine, aws_account):
    if not aws_account.is_local:
        pytest.skip("drives the local emulation (gateway, processor and consumer function in-process)")
    if engine.name != FIRST_ENGINE:
        pytest.skip(
            f"consumer end-to-end runs on {FIRST_ENGINE} only: it checks the processor, SNS and the "
            "consumer function, not the engine; test_complete_apply reads the consumers back on both"
        )
    return request.getfixturevalue("deployed")


@dataclass
class Pipeline:
    """Post webhooks through the gateway; settle runs every function until the queues are quiet."""

    account: Any
    name: str  # examples/complete's `name`
    outputs: dict[str, Any]
    driver: LocalDriver
    processor: EventSourceMappings
    payments: DeployedFunction
    payments_mappings: EventSourceMappings
    request_ids: dict[str, str] = field(default_factory=dict)

    def post(self, label: str, delivery: scenarios.Delivery) -> str:
        answer = self.driver.post(delivery.source, delivery.body, delivery.headers)
        assert answer.status == 200, f"{label}: {answer.status} {answer.body}"
        request_id = json.loads(answer.body)["request_id"]
        self.request_ids[label] = request_id
        return request_id

    def settle(self, max_rounds: int = 50) -> None:
        for _ in range(max_rounds):
            moved = self.processor.drain().received + self.payments_mappings.drain().received
            if moved == 0:
                return
        raise AssertionError("the functions kept receiving: a message is cycling")

    def consumer(self, name: str) -> dict[str, Any]:
        return self.outputs["consumers"][name]

    def take(self, name: str, *, dlq: bool = False) -> list[dict[str, Any]]:
        """Every message in a consumer's queue (or DLQ), deleted: the envelope and its attributes."""
        sqs = self.account.client("sqs")
        url = self.consumer(name)["dead_letter_queue_url" if dlq else "queue_url"]
        found = []
        while True:
            # WaitTimeSeconds 0: the consumer queues long-poll (20 s) by default.
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(
                    {
                        "envelope": json.loads(message["Body"]),
                        "attributes": {k: v["StringValue"] for k, v in message["MessageAttributes"].items()},
                        "receives": int(message["Attributes"]["ApproximateReceiveCount"]),
                    }
                )
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def waiting(self, name: str) -> int:
        attributes = self.account.client("sqs").get_queue_attributes(
            QueueUrl=self.consumer(name)["queue_url"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(v) for v in attributes.values())

    def rows(self) -> dict[str, dict[str, Any]]:
        return _scan(self.account, self.outputs["history_table_name"])

    def event_id(self, label: str) -> str:
        request_id = self.request_ids[label]
        (row,) = [
            r
            for r in self.rows().values()
            if r["request_id"]["S"] == request_id
            or request_id in r.get("duplicate_request_ids", {}).get("SS", [])
        ]
        return row["event_id"]["S"]

    def seen(self) -> dict[str, dict[str, Any]]:
        """The payments function's idempotency table: event_id -> row."""
        return _scan(self.account, self.outputs["payments_seen_table_name"])

    def ctl(self, *argv: str) -> tuple[int, str]:
        printed = io.StringIO()
        code = webhookctl.main(
            ["--endpoint-url", self.account.endpoint_url, "--region", self.account.region, *argv], out=printed
        )
        return code, printed.getvalue()

    def replay_json(self, *argv: str) -> tuple[int, str]:
        """`webhookctl --json history replay --table <the history table> argv...`."""
        return self.ctl("--json", "history", "replay", "--table", self.outputs["history_table_name"], *argv)


def _scan(account, table: str) -> dict[str, dict[str, Any]]:
    ddb = account.client("dynamodb")
    items, kwargs = [], {"TableName": table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return {i["event_id"]["S"]: i for i in items}
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture(scope="module")
def pipeline(stack, aws_account) -> Iterator[Pipeline]:
    out = stack.outputs
    assert set(out["consumers"]) == {PAYMENTS, REPO, AUDIT}
    sm = aws_account.client("secretsmanager")
    for source, secret in scenarios.SECRETS.items():
        sm.put_secret_value(SecretId=out["secret_arns"][source], SecretString=secret)
    processor_package = stack.stack.local_path(out["processor_package_path"])
    with (
        deployed_processor_environment(
            aws_account, out["processor_function_name"], processor_package
        ) as handler,
        deployed_python_function(
            aws_account, out["payments_function_name"], stack.stack.local_path(out["payments_package_path"])
        ) as payments,
    ):
        processor_config = deployed_function(aws_account, out["processor_function_name"], processor_package)
        driver = LocalDriver(aws_account, out, handler, package=processor_package)
        yield Pipeline(
            aws_account,
            stack.tf_vars["name"],
            out,
            driver,
            EventSourceMappings(aws_account, processor_config, handler.lambda_handler),
            payments,
            payments.mappings(),
        )


@pytest.fixture
def clean(pipeline: Pipeline) -> Pipeline:
    """Nothing left over from an earlier test in the queue-only consumers and the DLQs."""
    pipeline.settle()
    for name in (AUDIT, REPO):
        pipeline.take(name)
    for name in (AUDIT, REPO, PAYMENTS):
        pipeline.take(name, dlq=True)
    return pipeline


def _u() -> str:
    return uuid.uuid4().hex[:10]


def stripe(kind: str, amount: int | None = 4200, *, event_id: str | None = None) -> scenarios.Delivery:
    obj: dict[str, Any] = {"id": f"pi_{_u()}", "object": "payment_intent"}
    if amount is not None:
        obj["amount"] = amount
    return scenarios.signed(
        "stripe", {"id": event_id or f"evt_{_u()}", "type": kind, "data": {"object": obj}}, event_type=kind
    )


def billing(kind: str, amount: int | None = 990) -> scenarios.Delivery:
    data: dict[str, Any] = {"invoice": f"in_{_u()}"}
    if amount is not None:
        data["amount"] = amount
    return scenarios.signed("billing", {"type": kind, "data": data}, msg_id=f"msg_{_u()}")


def github(kind: str, action: str | None) -> scenarios.Delivery:
    body: dict[str, Any] = {"n": _u()}
    if action is not None:
        body["action"] = action
    return scenarios.signed("github", body, event_type=kind, msg_id=f"gh-{_u()}")


def _ids(messages: list[dict[str, Any]]) -> list[str]:
    return sorted(m["envelope"]["event_id"] for m in messages)


# --------------------------------------------------------------------------- (a) filters


def test_each_consumer_gets_exactly_the_events_its_filter_matches(clean: Pipeline):
    p, seen_before = clean, clean.seen()
    deliveries = {
        "payment": stripe("payment_intent.succeeded"),
        "charge": stripe("charge.refunded"),
        "invoice": billing("invoice.paid"),
        "billing-other": billing("subscription.renewed"),
        "issue-opened": github("issues", "opened"),
        "issue-closed": github("issues", "closed"),
        "pr-opened": github("pull_request", "opened"),
        "push-opened": github("push", "opened"),  # action matches, event type does not
        "shop": scenarios.signed(
            "shopify", {"id": 1, "n": _u()}, event_type="orders/create", msg_id=f"s-{_u()}"
        ),
        "internal": scenarios.signed("internal", {"type": "payment_intent.succeeded", "n": _u()}),
    }
    for label, delivery in deliveries.items():
        p.post(label, delivery)
    # Never published: a forgery (rejected) and the sender's retry of an event (a duplicate).
    p.post(
        "forged",
        scenarios.signed(
            "stripe", {"id": f"evt_{_u()}", "type": "payment_intent.succeeded", "amount": 1}, tamper=True
        ),
    )
    p.post("retry", deliveries["issue-opened"])
    p.settle()

    ids = {label: p.event_id(label) for label in deliveries}
    audit, repo = p.take(AUDIT), p.take(REPO)
    assert _ids(audit) == sorted(ids.values())  # every processed event, once
    assert _ids(repo) == sorted([ids["issue-opened"], ids["pr-opened"]])
    paid = set(p.seen()) - set(seen_before)
    assert paid == {ids["payment"], ids["invoice"]}  # stripe/billing and payment_intent.*/invoice.*
    assert p.waiting(PAYMENTS) == 0 and p.take(PAYMENTS, dlq=True) == []
    for message in audit:
        envelope, attributes = message["envelope"], message["attributes"]
        assert attributes == {k: envelope[k] for k in ("source", "event_type", "event_id", "scheme")}
        assert envelope["replay_id"] is None and envelope["body_omitted"] is False
    rows = p.rows()
    assert all("published_at" in rows[i] for i in ids.values())


# --------------------------------------------------------------------------- (b) a failing consumer


def test_a_failing_consumer_sends_its_events_to_its_own_dlq_and_no_one_else_waits(clean: Pipeline):
    p, seen_before = clean, clean.seen()
    p.post("no-amount", stripe("payment_intent.payment_failed", amount=None))
    p.post("paid", stripe("payment_intent.succeeded", amount=1999))
    p.post("invoice-no-amount", billing("invoice.created", amount=None))
    p.post("issue", github("issues", "opened"))
    p.settle()
    broken = {p.event_id("no-amount"), p.event_id("invoice-no-amount")}

    dead = p.take(PAYMENTS, dlq=True)
    assert _ids(dead) == sorted(broken)
    assert all(m["receives"] >= 3 for m in dead)  # max_receive_count = 3 deliveries first
    assert set(p.seen()) - set(seen_before) == {p.event_id("paid")}  # the rest of its batches went on
    assert p.waiting(PAYMENTS) == 0
    assert p.payments.errors == []  # reported per record, never a whole failed batch
    # The other consumers got everything as usual; ingestion never waited.
    assert _ids(p.take(AUDIT)) == sorted([*broken, p.event_id("paid"), p.event_id("issue")])
    assert _ids(p.take(REPO)) == [p.event_id("issue")]
    for name in (AUDIT, REPO):
        assert p.take(name, dlq=True) == []
    sqs = p.account.client("sqs")
    main_dlq = sqs.get_queue_attributes(
        QueueUrl=p.outputs["dead_letter_queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert main_dlq["ApproximateNumberOfMessages"] == "0"
    assert all(p.rows()[i]["status"]["S"] == "processed" for i in broken)


# --------------------------------------------------------------------------- (c) crash after the write


class Crash(Exception):
    """The invocation dies between the history write and the publish."""


def test_a_crash_between_the_history_write_and_the_publish_still_delivers(clean: Pipeline, monkeypatch):
    p = clean
    original = Publisher.publish
    crashed: list[dict[str, Any]] = []

    def publish(self, envelopes):
        if not crashed:
            # What the crash leaves behind: the rows written, none marked published.
            crashed.extend(p.rows()[e.event_id] for e in envelopes)
            raise Crash("killed before PublishBatch")
        return original(self, envelopes)

    monkeypatch.setattr(Publisher, "publish", publish)
    p.post("payment", stripe("payment_intent.succeeded", amount=500))
    p.post("issue", github("issues", "opened"))
    seen_before = p.seen()
    p.settle()

    ids = {p.event_id("payment"), p.event_id("issue")}
    assert {r["event_id"]["S"] for r in crashed} == ids
    assert all("published_at" not in r for r in crashed)
    assert any(isinstance(e, Crash) for e in p.processor.enabled()[0].errors)
    # The redelivery found the rows unpublished and published them.
    rows = p.rows()
    assert all("published_at" in rows[i] for i in ids)
    assert _ids(p.take(AUDIT)) == sorted(ids)
    assert _ids(p.take(REPO)) == [p.event_id("issue")]
    assert set(p.seen()) - set(seen_before) == {p.event_id("payment")}


# --------------------------------------------------------------------------- (e) replay


def test_replay_to_one_consumer_delivers_exactly_the_selected_events(clean: Pipeline):
    p = clean
    p.post("before", stripe("payment_intent.succeeded"))
    p.settle()
    time.sleep(0.01)
    since = _now_iso()
    time.sleep(0.01)
    inside = {
        "pay-1": stripe("payment_intent.created"),
        "pay-2": stripe("payment_intent.succeeded"),
        "invoice": billing("invoice.paid"),
        "issue": github("issues", "opened"),
        "lookalike": scenarios.signed("internal", {"type": "payment_intents.x", "n": _u()}),
    }
    for label, delivery in inside.items():
        p.post(label, delivery)
    p.settle()
    time.sleep(0.01)
    until = _now_iso()
    time.sleep(0.01)
    p.post("after", stripe("payment_intent.succeeded"))
    p.settle()
    for name in (AUDIT, REPO):
        p.take(name)  # what the events' own publishing delivered
    selected = sorted([p.event_id("pay-1"), p.event_id("pay-2")])
    others = [p.event_id(k) for k in ("before", "after", "invoice")]
    window = ["--since", since, "--until", until, "--event-type", "payment_intent.*"]

    # --dry-run: the count and a sample, nothing sent. --name: the queue <name>-payments is
    # looked up (GetQueueUrl) and the table is <name>-history.
    to_payments = ["history", "replay", "--name", p.name, "--consumer", PAYMENTS, *window]
    code, printed = p.ctl("--json", *to_payments, "--dry-run")
    assert code == 0, printed
    dry = json.loads(printed)
    assert dry["count"] == 2 and sorted(s["event_id"] for s in dry["sample"]) == selected
    assert p.waiting(PAYMENTS) == 0

    code, printed = p.ctl("--json", *to_payments)
    assert code == 0, printed
    report = json.loads(printed)
    assert report["replay_id"].startswith("rp-") and sorted(report["sent_event_ids"]) == selected
    p.settle()
    seen = p.seen()
    # The function got exactly those two (already recorded: it adds the replay's id).
    assert [seen[i]["replay_ids"]["SS"] for i in selected] == [[report["replay_id"]]] * 2
    assert all("replay_ids" not in seen[i] for i in others)
    # To that one consumer only.
    assert p.take(AUDIT) == [] and p.take(REPO) == []

    # The envelopes themselves, replayed into a queue nobody drains.
    code, printed = p.replay_json("--consumer", AUDIT, "--queue-url", p.consumer(AUDIT)["queue_url"], *window)
    assert code == 0, printed
    replay_id = json.loads(printed)["replay_id"]
    assert replay_id != report["replay_id"]
    replayed = p.take(AUDIT)
    assert _ids(replayed) == selected
    for message in replayed:
        envelope = message["envelope"]
        assert envelope["replay_id"] == replay_id
        assert message["attributes"] == {
            k: envelope[k] for k in ("source", "event_type", "event_id", "scheme")
        }
        assert envelope["event_type"].startswith("payment_intent.") and envelope["source"] == "stripe"
    assert p.take(REPO) == [] and p.waiting(PAYMENTS) == 0


def test_replay_to_the_topic_reaches_every_matching_consumer(clean: Pipeline):
    p = clean
    since = _now_iso()
    time.sleep(0.01)
    p.post("pay", stripe("payment_intent.succeeded"))
    p.post("issue", github("pull_request", "opened"))
    p.post("closed", github("issues", "closed"))
    p.settle()
    time.sleep(0.01)
    until = _now_iso()
    for name in (AUDIT, REPO):
        p.take(name)
    seen = p.seen()
    pay = p.event_id("pay")

    code, printed = p.replay_json(
        "--topic-arn", p.outputs["event_topic_arn"], "--since", since, "--until", until
    )
    assert code == 0, printed
    replay_id = json.loads(printed)["replay_id"]
    p.settle()
    audit, repo = p.take(AUDIT), p.take(REPO)
    assert _ids(audit) == sorted([pay, p.event_id("issue"), p.event_id("closed")])
    assert _ids(repo) == [p.event_id("issue")]  # its filter applied again: not the closed issue
    assert {m["envelope"]["replay_id"] for m in [*audit, *repo]} == {replay_id}
    # The payments function got it again and, idempotent by event_id, recorded nothing twice:
    # only the replay's id is added to the row.
    after = p.seen()
    assert set(after) == set(seen) and pay in seen
    assert after[pay]["replay_ids"]["SS"] == [replay_id] and "replay_ids" not in seen[pay]
    assert p.take(PAYMENTS, dlq=True) == []


# --------------------------------------------------------------------------- (d) pause and resume


def _mapping_states(p: Pipeline) -> list[str]:
    return [m["State"] for m in p.payments_mappings.read()]


def test_a_paused_consumer_keeps_its_events_and_gets_them_when_resumed(stack, clean: Pipeline):
    p = clean
    paused = {**stack.tf_vars, "payments_consumer_enabled": False}
    stack.stack.apply(tf_vars=paused)
    try:
        assert _mapping_states(p) == ["Disabled"]
        seen_before = p.seen()
        p.post("payment", stripe("payment_intent.succeeded", amount=700))
        p.post("invoice", billing("invoice.paid"))
        p.settle()
        ids = {p.event_id("payment"), p.event_id("invoice")}
        assert p.waiting(PAYMENTS) == 2  # kept in its queue
        assert set(p.seen()) == set(seen_before)
        assert _ids(p.take(AUDIT)) == sorted(ids)  # the others are not paused
    finally:
        stack.stack.apply(tf_vars=stack.tf_vars)
    assert _mapping_states(p) == ["Enabled"]
    p.settle()
    assert set(p.seen()) - set(seen_before) == ids
    assert p.waiting(PAYMENTS) == 0 and p.take(PAYMENTS, dlq=True) == []


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
