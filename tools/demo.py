"""`make demo`: the module end to end on the local account.

Applies examples/complete to a local moto account, prints the endpoints, pushes
sample webhooks through the deployed API configuration (one verified and one
rejected event per source kind, a duplicate, malformed JSON, an unsupported
content type, an oversized body), runs the processor over the queue, shows the
history table and the DLQ, then destroys everything unless --keep.
"""

from __future__ import annotations

import argparse
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
from tests.harness.stack import Stack

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
    return plan


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
            driver = LocalDriver(account, out, handler)
            step("sending webhooks through the deployed API configuration")
            sent = []
            for delivery, what in deliveries():
                answer = driver.post(delivery.source, delivery.body, delivery.headers)
                body = json.loads(answer.body)
                sent.append(
                    [delivery.source, what, str(answer.status), body.get("error", body.get("status", ""))]
                )
            print(table(sent, ["source", "sent", "answer", "detail"]))

            step("running the processor over the queue (the Lambda SQS trigger, locally)")
            stats = driver.poller.drain(max_rounds=200)
            print(
                f"{stats.invocations} invocations, {stats.received} records, {stats.deleted} done, "
                f"{stats.retried} retried"
            )

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


if __name__ == "__main__":
    sys.exit(main())
