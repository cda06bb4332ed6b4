"""`make demo`: the module end to end on the local account.

Applies examples/complete to a local moto account, prints the endpoints, pushes
sample webhooks through the deployed API configuration (one verified and one
rejected event per source kind, a duplicate, malformed JSON, an unsupported
content type, an oversized body), runs the processor over the queue, shows the
history table and the DLQ, then the fan-out: what each of the three consumers got
through the event topic, the payments consumer's function failing one event into its
own DLQ, and a replay from history to one consumer. Then it destroys everything
unless --keep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.apply import scenarios
from tests.harness import moto_server, toolchain
from tests.harness.account import LOCAL_REGION, Account
from tests.harness.driver import LocalDriver, deployed_processor_environment
from tests.harness.functions import deployed_python_function
from tests.harness.stack import Stack
from tools import webhookctl

WRONG_SECRETS = {s: "not-the-real-secret" for s in scenarios.SECRETS}
WRONG_SECRETS["billing"] = "whsec_" + "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy0x"


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def deliveries() -> list[tuple[scenarios.Delivery, str]]:
    """(delivery, what it shows) pairs, in sending order."""
    plan: list[tuple[scenarios.Delivery, str]] = []
    valid = scenarios.one_per_source()
    for d in valid:
        plan.append((d, f"verified {scenarios.SCHEMES[d.source]} event"))
    for d in valid:
        if d.source == "internal":
            continue
        bad = scenarios.signed(
            d.source,
            {"type": "forged.event", "id": f"evt_forged_{uuid.uuid4().hex[:6]}"},
            secret=WRONG_SECRETS[d.source],
        )
        plan.append((bad, "signed with the wrong secret"))
    tampered = scenarios.signed(
        "github", {"action": "deleted", "amount": 1}, event_type="repository", tamper=True
    )
    plan.append((tampered, "body changed by one byte after signing"))
    github = next(d for d in valid if d.source == "github")
    plan.append((github, "the same GitHub delivery again (a sender retry)"))
    plan.append(
        (
            scenarios.Delivery(
                "internal", b'{"invalid": json}', {"Content-Type": "application/json"}, "malformed"
            ),
            "malformed JSON",
        )
    )
    plan.append(
        (
            scenarios.Delivery("internal", b"<xml/>", {"Content-Type": "application/xml"}, "xml"),
            "unsupported content type",
        )
    )
    plan.append(
        (
            scenarios.Delivery(
                "internal", b'{"pad":"' + b"x" * 300_000 + b'"}', {"Content-Type": "application/json"}, "big"
            ),
            "body over the queue's size limit",
        )
    )
    # payload_store = "s3": the edge writes the body to the payload store, and S3 notifies the queue.
    plan.append((scenarios.github_push(3_000_000), "3 MB GitHub push, stored in S3 by the edge"))
    plan.append(
        (scenarios.binary_export(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64), "binary export (not UTF-8)")
    )
    plan.append(
        (
            scenarios.Delivery(
                "monorepo", b"x" * (11 * 1024 * 1024), {"Content-Type": "application/json"}, "huge"
            ),
            "11 MB, over API Gateway's 10 MB",
        )
    )
    return plan


def fan_out_deliveries() -> list[tuple[scenarios.Delivery, str]]:
    """Events for the consumers' filters: one each consumer should get, one that fails."""
    u = uuid.uuid4().hex[:8]
    return [
        (
            scenarios.signed("github", {"action": "opened", "issue": {"number": 12}}, event_type="issues"),
            "GitHub issue opened: repo-activity and audit",
        ),
        (
            scenarios.signed("github", {"action": "closed", "issue": {"number": 12}}, event_type="issues"),
            "GitHub issue closed: audit only (repo-activity wants opened)",
        ),
        (
            scenarios.signed(
                "stripe",
                {"id": f"evt_noamount_{u}", "type": "payment_intent.created", "data": {"object": {}}},
                event_type="payment_intent.created",
            ),
            "Stripe payment without an amount: the payments function fails it",
        ),
    ]


def take(sqs, url: str) -> list[dict]:
    """Every message in a queue, deleted (a consumer team draining it)."""
    found = []
    while messages := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
    ).get("Messages", []):
        for m in messages:
            found.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return found


def depth(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the stack and the local account until Ctrl-C"
    )
    parser.add_argument("--engine", choices=toolchain.ENGINE_NAMES, default="terraform")
    args = parser.parse_args(argv)

    t0 = time.monotonic()
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    step("starting the local AWS account (moto server)")
    server = moto_server.start()
    account = Account(server.url, LOCAL_REGION)
    print(f"account endpoint: {server.url}")
    workdir = Path(tempfile.mkdtemp(prefix="webhook-demo-"))
    stack = Stack(toolchain.engine(args.engine), account, "examples/complete", workdir)
    tf_vars = {
        "name": f"demo{uuid.uuid4().hex[:6]}",
        "region": account.region,
        "secret_recovery_window_days": 0,
    }
    try:
        step(f"{args.engine} init + apply examples/complete (SQS creation waits ~25 s per queue)")
        stack.init()
        stack.apply(tf_vars=tf_vars)
        out = stack.outputs()
        print(f"applied in {stack.timings['apply']:.0f} s")
        step("endpoints")
        for source, url in out["webhook_urls"].items():
            print(f"  {source:9} {scenarios.SCHEMES[source]:18} POST {url}")

        step("writing each source's signing secret to Secrets Manager (never into Terraform)")
        sm = account.client("secretsmanager")
        for source, secret in scenarios.SECRETS.items():
            sm.put_secret_value(SecretId=out["secret_arns"][source], SecretString=secret)
        # The processor runs as deployed: its environment, and the source map from the zip
        # whose hash Lambda reports (checked).
        package = stack.local_path(out["processor_package_path"])
        with deployed_processor_environment(account, out["processor_function_name"], package) as handler:
            driver = LocalDriver(account, out, handler, package=package)
            step("sending webhooks through the deployed API configuration")
            sent = []
            for delivery, what in deliveries():
                answer = driver.post(delivery.source, delivery.body, delivery.headers)
                body = json.loads(answer.body)
                sent.append(
                    [delivery.source, what, str(answer.status), body.get("error", body.get("status", ""))]
                )
            print(table(sent, ["source", "sent", "answer", "detail"]))

            for delivery, what in fan_out_deliveries():
                answer = driver.post(delivery.source, delivery.body, delivery.headers)
                print(f"  {delivery.source:9} {what}: {answer.status}")

            step("running the processor over the queue (the Lambda SQS trigger, locally)")
            stats = driver.poller.drain(max_rounds=200)
            print(
                f"{stats.invocations} invocations, {stats.received} records, {stats.deleted} done, "
                f"{stats.retried} retried"
            )
            fan_out(account, out, stack, started, tf_vars["name"])

        step("history table")
        ddb = account.client("dynamodb")
        items = ddb.scan(TableName=out["history_table_name"])["Items"]
        rows = sorted(
            [
                [
                    i["source"]["S"],
                    i["status"]["S"],
                    i.get("reason", {}).get("S", ""),
                    i.get("event_type", {}).get("S", ""),
                    i.get("duplicate_count", {}).get("N", "0"),
                    i["event_id"]["S"][:44],
                ]
                for i in items
            ],
            key=lambda r: (r[0], r[1]),
        )
        print(table(rows, ["source", "status", "reason", "event type", "dups", "event id"]))
        dlq = account.client("sqs").get_queue_attributes(
            QueueUrl=out["dead_letter_queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
        )
        print(f"\nDLQ messages: {dlq['Attributes']['ApproximateNumberOfMessages']}")

        if args.keep:
            step("kept: the stack and the account stay up until Ctrl-C")
            print(f"AWS_ENDPOINT_URL={server.url} aws dynamodb scan --table-name {out['history_table_name']}")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        step(f"{args.engine} destroy")
        stack.destroy(tf_vars=tf_vars)
        print(f"destroyed; {len(stack.state_resources())} resources left in state")
    finally:
        if stack.applied:
            stack.destroy(tf_vars=tf_vars)
        stack.cleanup()
        server.stop()
    print(f"\ndemo finished in {time.monotonic() - t0:.0f} s")
    return 0


def fan_out(account: Account, out: dict, stack: Stack, started: dt.datetime, name: str) -> None:
    """The consumers: what the topic delivered to each, the failing one's DLQ, a replay."""
    sqs = account.client("sqs")
    consumers = out["consumers"]
    step("fan-out: the payments consumer's function runs over its queue (its SQS trigger, locally)")
    package = stack.local_path(out["payments_package_path"])
    with deployed_python_function(account, out["payments_function_name"], package) as payments:
        mappings = payments.mappings()
        for _ in range(20):  # each round is one receive; a failing record comes back until the DLQ
            if mappings.drain().received == 0:
                break
    print(f"{payments.invocations} invocations of {out['payments_function_name']}")
    seen = account.client("dynamodb").scan(TableName=out["payments_seen_table_name"])["Items"]
    rows = [[i["source"]["S"], i["event_type"]["S"], i.get("amount", {}).get("N", "")] for i in seen]
    print("recorded by the payments function (idempotent by event_id):")
    print(table(sorted(rows), ["source", "event type", "amount"]))

    step("fan-out: what each consumer got (filter policy from the subscription)")
    rows, received = [], {}
    for consumer_name, consumer in sorted(consumers.items()):
        queued = [] if consumer_name == "payments" else take(sqs, consumer["queue_url"])
        received[consumer_name] = sorted(f"{e['source']}:{e['event_type']}" for e in queued)
        rows.append(
            [
                consumer_name,
                consumer["filter_policy"] or "(none: every event)",
                "its function" if consumer_name == "payments" else str(len(queued)),
                str(depth(sqs, consumer["dead_letter_queue_url"])),
            ]
        )
    print(table(rows, ["consumer", "filter policy", "events", "DLQ"]))
    for consumer_name, types in received.items():
        if types:
            print(f"  {consumer_name}: {', '.join(types)}")

    step("the failing consumer's DLQ: the event its function could not handle; the others are unaffected")
    failed = take(sqs, consumers["payments"]["dead_letter_queue_url"])
    for envelope in failed:
        print(f"  {envelope['event_id']}  {envelope['event_type']}  body {envelope['body']}")

    step("replay from history to one consumer: audit, payment_intent.* since the demo started")
    args = ["--endpoint-url", account.endpoint_url, "--region", account.region]
    argv = ["history", "replay", "--name", name, "--consumer", "audit"]
    argv += ["--event-type", "payment_intent.*", "--since", started.isoformat()]
    printed = io.StringIO()
    code = webhookctl.main([*args, *argv], out=printed)
    print(f"$ webhookctl {' '.join(argv)}\n{printed.getvalue().rstrip()}\n(exit {code})")
    for envelope in take(sqs, consumers["audit"]["queue_url"]):
        print(
            f"  audit got {envelope['event_id']} {envelope['event_type']} replay_id {envelope['replay_id']}"
        )


if __name__ == "__main__":
    sys.exit(main())
