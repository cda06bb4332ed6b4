"""`webhookctl history replay` against moto in-process: selection, envelopes, targets, safety.

The history rows are written by the real processor (handler.process_batch), so they carry
exactly the fields a deployed stack stores (received_day included). Every replayed envelope
is validated against docs/event-envelope.schema.json.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from webhook_processor import handler

from tools import webhookctl
from tools.signing import sign

from .support import SOURCES, TABLE_NAME, drain_queue
from .test_envelope import schema_validator

VALIDATOR = schema_validator()
GITHUB_SECRET = SOURCES["github"][1]
DAY = 86_400_000
# Three UTC days, each event at noon (and one just before midnight): the time range tests.
BASE = int(dt.datetime(2025, 3, 10, tzinfo=dt.UTC).timestamp() * 1000)
NAME = "webhooks-unit"


@dataclass
class Queue:
    url: str
    arn: str

    def drain(self) -> list[dict[str, Any]]:
        """Every message (body parsed and schema-checked, attributes as strings), deleted."""
        return [
            {
                "envelope": envelope,
                "text": message["Body"],
                "attributes": {
                    k: (v["DataType"], v["StringValue"])
                    for k, v in message.get("MessageAttributes", {}).items()
                },
            }
            for envelope, message in drain_queue(self.url, VALIDATOR.validate)
        ]


def make_queue(name: str) -> Queue:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Queue(url, arn)


def subscribe(topic_arn: str, queue: Queue, filter_policy: dict[str, Any] | None = None) -> None:
    attributes = {"RawMessageDelivery": "true"}
    if filter_policy is not None:
        attributes["FilterPolicy"] = json.dumps(filter_policy)
    boto3.client("sns").subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue.arn, Attributes=attributes
    )


@pytest.fixture
def history(account: dict[str, str]) -> None:
    """The moto account with the history table as dynamodb.tf declares it (both indexes)."""
    indexes = boto3.client("dynamodb").describe_table(TableName=TABLE_NAME)["Table"]["GlobalSecondaryIndexes"]
    assert {i["IndexName"] for i in indexes} == {"by_source", "by_received"}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Operations the CLI's clients make (service.Operation -> count)."""
    seen: Counter[str] = Counter()
    original = webhookctl._client

    def client(args: Any, service: str) -> Any:
        made = original(args, service)
        made.meta.events.register(
            "before-call",
            lambda model, **_: seen.update([f"{service}.{model.name}"]),
        )
        return made

    monkeypatch.setattr(webhookctl, "_client", client)
    return seen


def ctl(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return webhookctl.main(["--region", "us-east-1", *argv], out=out), out.getvalue()


def replay(*argv: str) -> tuple[int, str]:
    """`history replay --table ...`; a --json among argv goes first (it is a global option)."""
    front = ["--json"] if "--json" in argv else []
    return ctl(*front, "history", "replay", "--table", TABLE_NAME, *(a for a in argv if a != "--json"))


def store(
    make_record: Callable[..., dict[str, Any]],
    body: dict[str, Any] | bytes,
    *,
    event_type: str,
    at_ms: int,
    source: str = "open",
    content_type: str = "application/json",
) -> str:
    """Process one delivery (a new row); its event id."""
    raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    if source == "github":
        assert GITHUB_SECRET is not None
        headers = sign("github", GITHUB_SECRET, raw, event_type=event_type)
    else:
        headers = {"X-Event-Type": event_type}
    record = make_record(source, raw, headers, received_at_ms=at_ms, content_type=content_type)
    result = handler.process_batch({"Records": [record]})
    (outcome,) = result.results
    assert outcome.status == "processed", outcome
    assert outcome.event_id is not None
    return outcome.event_id


@pytest.fixture
def seeded(history: None, make_record: Callable[..., dict[str, Any]]) -> dict[str, str]:
    """label -> event id: payment and invoice events over three days, plus github ones."""
    events = {
        "pay-d0": ("open", "payment_intent.succeeded", BASE + DAY // 2),
        "inv-d0": ("open", "invoice.paid", BASE + DAY // 2 + 1),
        "pay-d1": ("open", "payment_intent.created", BASE + DAY + DAY // 2),
        "charge-d1": ("open", "charge.refunded", BASE + DAY + DAY // 2 + 1),
        # payment_intent.* is the prefix "payment_intent.", as in the consumers' filter policies.
        "lookalike-d1": ("open", "payment_intents.x", BASE + DAY + DAY // 2 + 2),
        "pay-d1-late": ("open", "payment_intent.failed", BASE + 2 * DAY - 1),
        "pay-d2": ("open", "payment_intent.succeeded", BASE + 2 * DAY + DAY // 2),
        "gh-issues-d1": ("github", "issues", BASE + DAY + 10),
        "gh-push-d1": ("github", "push", BASE + DAY + 11),
    }
    return {
        label: store(make_record, {"label": label, "type": kind}, event_type=kind, at_ms=at, source=source)
        for label, (source, kind, at) in events.items()
    }


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()


def paced(queue: Queue) -> list[str]:
    """Replay argv: the seeded open events of all three days at 2/s, to consumer c's queue."""
    return [
        "--since",
        iso(BASE),
        "--until",
        iso(BASE + 3 * DAY),
        "--source",
        "open",
        "--rate",
        "2",
        "--consumer",
        "c",
        "--queue-url",
        queue.url,
    ]


# --- the envelope is the processor's ------------------------------------------------------------


def test_a_replayed_envelope_is_the_published_one_with_a_replay_id(
    history: None, make_record: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = boto3.client("sns").create_topic(Name=f"{NAME}-events")["TopicArn"]
    published, replayed = make_queue("published"), make_queue("replayed")
    subscribe(topic, published)
    monkeypatch.setenv("EVENT_TOPIC_ARN", topic)
    handler.reset()
    # Exact digits and odd characters: the envelope splices the received text in unchanged.
    body = '{"type":"invoice.paid","amount":1.10,"note":"caf\u00e9 \\u00e9","big":12345678901234567890}'
    event_id = store(make_record, body.encode(), event_type="invoice.paid", at_ms=BASE + 5)
    (original,) = published.drain()

    code, printed = replay("--event-id", event_id, "--consumer", "payments", "--queue-url", replayed.url)
    assert code == 0, printed
    replay_id = printed.splitlines()[0].removeprefix("replay_id ")
    assert replay_id.startswith("rp-")
    (again,) = replayed.drain()
    # Byte for byte what the processor published, but for the replay id.
    assert again["text"] == original["text"].replace('"replay_id":null', f'"replay_id":"{replay_id}"')
    assert original["envelope"]["replay_id"] is None and again["envelope"]["replay_id"] == replay_id
    # The attributes raw delivery gave the published copy, also on the direct send.
    assert again["attributes"] == original["attributes"]
    assert set(again["attributes"]) == {"source", "event_type", "event_id", "scheme"}
    assert again["envelope"]["body"].encode() == body.encode()


def test_republish_reaches_each_matching_subscription_through_its_filter(
    seeded: dict[str, str], calls: Counter[str]
) -> None:
    topic = boto3.client("sns").create_topic(Name=f"{NAME}-events")["TopicArn"]
    payments, github, every = make_queue("payments"), make_queue("github"), make_queue("every")
    subscribe(topic, payments, {"event_type": [{"prefix": "payment_intent."}, "invoice.paid"]})
    subscribe(topic, github, {"source": ["github"]})
    subscribe(topic, every)

    # --name resolves the topic <name>-events in the caller's account.
    code, printed = replay("--name", NAME, "--since", iso(BASE), "--until", iso(BASE + 3 * DAY))
    assert code == 0, printed
    assert f"sent 9 event(s) to topic {topic}" in printed
    ids = seeded
    got = {
        q: {m["envelope"]["event_id"] for m in queue.drain()}
        for q, queue in (("payments", payments), ("github", github), ("every", every))
    }
    assert got["payments"] == {ids[k] for k in ("pay-d0", "inv-d0", "pay-d1", "pay-d1-late", "pay-d2")}
    assert got["github"] == {ids["gh-issues-d1"], ids["gh-push-d1"]}
    assert got["every"] == set(ids.values())
    assert calls["sns.PublishBatch"] == 1  # 9 envelopes, one call
    assert calls["sns.Publish"] == 0


# --- selection: queries, never a scan ------------------------------------------------------------


def test_time_range_and_event_type_query_one_index_partition_per_day(
    seeded: dict[str, str], calls: Counter[str]
) -> None:
    queue = make_queue("payments-direct")
    code, printed = replay(
        "--since",
        iso(BASE + DAY),
        "--until",
        iso(BASE + 3 * DAY - DAY // 2),
        "--event-type",
        "payment_intent.*",
        "--event-type",
        "invoice.paid",
        "--consumer",
        "payments",
        "--queue-url",
        queue.url,
        "--json",
    )
    assert code == 0, printed
    report = json.loads(printed)
    wanted = [seeded["pay-d1"], seeded["pay-d1-late"]]  # pay-d2 is at noon: --until excludes it
    assert report["sent_event_ids"] == wanted  # oldest first
    delivered = queue.drain()
    assert [m["envelope"]["event_id"] for m in delivered] == wanted
    assert {m["envelope"]["replay_id"] for m in delivered} == {report["replay_id"]}
    assert calls["dynamodb.Scan"] == 0
    # 2025-03-11 and 2025-03-12, each its ten by_received buckets.
    assert calls["dynamodb.Query"] == 2 * webhookctl.RECEIVED_BUCKETS == 20
    assert calls["dynamodb.BatchGetItem"] == 1
    assert calls["dynamodb.GetItem"] == 0


def test_source_uses_the_by_source_index(seeded: dict[str, str], calls: Counter[str]) -> None:
    queue = make_queue("repo")
    code, printed = replay(
        "--source", "github", "--event-type", "issues", "--consumer", "repo", "--queue-url", queue.url
    )
    assert code == 0, printed
    assert [m["envelope"]["event_id"] for m in queue.drain()] == [seeded["gh-issues-d1"]]
    assert calls["dynamodb.Query"] == 1 and calls["dynamodb.Scan"] == 0


def test_status_filter_skips_rejected_rows(
    history: None, make_record: Callable[..., dict[str, Any]], calls: Counter[str]
) -> None:
    body = b'{"type":"push"}'
    forged = make_record(
        "github",
        body,
        {"X-Hub-Signature-256": "sha256=" + "0" * 64, "X-GitHub-Event": "push"},
        received_at_ms=BASE,
    )
    (rejected,) = handler.process_batch({"Records": [forged]}).results
    assert rejected.status == "rejected"
    good = store(make_record, {"type": "push", "n": 1}, event_type="push", at_ms=BASE + 1, source="github")
    queue = make_queue("gh")
    code, printed = replay("--source", "github", "--consumer", "gh", "--queue-url", queue.url)
    assert code == 0, printed
    assert [m["envelope"]["event_id"] for m in queue.drain()] == [good]
    # By key, a rejected row is refused with its status: only verified events reach consumers.
    code, printed = replay("--event-id", rejected.event_id, "--consumer", "gh", "--queue-url", queue.url)
    assert code == 1
    assert f"refused {rejected.event_id}: status is 'rejected', not 'processed'" in printed
    assert queue.drain() == []


def test_event_ids_are_read_in_one_batch_and_unknown_ones_refused(
    seeded: dict[str, str], calls: Counter[str]
) -> None:
    queue = make_queue("ids")
    code, printed = replay(
        "--event-id",
        seeded["pay-d2"],
        "--event-id",
        "open#sha256:nope",
        "--event-id",
        seeded["inv-d0"],
        "--consumer",
        "ids",
        "--queue-url",
        queue.url,
    )
    assert code == 1  # one refused
    assert "refused open#sha256:nope: no history row with this event_id" in printed
    assert [m["envelope"]["event_id"] for m in queue.drain()] == [seeded["pay-d2"], seeded["inv-d0"]]
    assert calls["dynamodb.BatchGetItem"] == 1 and calls["dynamodb.Query"] == 0


def test_consumer_queue_is_resolved_by_name(seeded: dict[str, str], calls: Counter[str]) -> None:
    queue = make_queue(f"{NAME}-audit")
    code, printed = replay("--name", NAME, "--consumer", "audit", "--event-id", seeded["charge-d1"])
    assert code == 0, printed
    assert f"to consumer audit ({queue.url})" in printed
    assert [m["envelope"]["event_id"] for m in queue.drain()] == [seeded["charge-d1"]]
    assert calls["sqs.GetQueueUrl"] == 1


# --- dry run, rate, logging ---------------------------------------------------------------------


def test_dry_run_counts_and_samples_and_sends_nothing(seeded: dict[str, str], calls: Counter[str]) -> None:
    queue = make_queue(f"{NAME}-payments")
    # --until bounds the days queried (ten queries a day; from 2025 up to now would be thousands).
    until = ("--until", iso(BASE + 3 * DAY))
    code, printed = replay(
        "--since",
        iso(BASE),
        *until,
        "--event-type",
        "payment_intent.*",
        "--sample",
        "2",
        "--consumer",
        "payments",
        "--dry-run",
        "--json",
    )
    assert code == 0, printed
    report = json.loads(printed)
    assert report["dry_run"] is True and report["count"] == 4
    assert [s["event_id"] for s in report["sample"]] == [seeded["pay-d0"], seeded["pay-d1"]]
    assert all(s["attributes"]["event_type"].startswith("payment_intent.") for s in report["sample"])
    assert queue.drain() == []
    assert calls["sqs.SendMessageBatch"] == 0 and calls["sns.PublishBatch"] == 0
    code, text = replay("--since", iso(BASE), *until, "--event-type", "payment_intent.*", "--dry-run")
    assert code == 0 and "would send 4 event(s) to the topic" in text
    assert seeded["pay-d0"] in text


def test_rate_caps_messages_per_second(
    seeded: dict[str, str], calls: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(webhookctl, "_monotonic", lambda: clock[0])
    monkeypatch.setattr(webhookctl, "_sleep", sleep)
    entries: list[int] = []
    queue = make_queue("paced")
    sqs_client = webhookctl._client

    def client(args: Any, service: str) -> Any:
        made = sqs_client(args, service)
        if service == "sqs":
            made.meta.events.register(
                "before-parameter-build.sqs.SendMessageBatch",
                lambda params, **_: entries.append(len(params["Entries"])),
            )
        return made

    monkeypatch.setattr(webhookctl, "_client", client)
    code, printed = replay(*paced(queue))
    assert code == 0, printed
    assert len(queue.drain()) == 7
    assert entries == [2, 2, 2, 1]  # never more than a second's worth in one call
    # 7 messages at 2/s: each call after the first waits 1 s.
    assert slept == [1.0, 1.0, 1.0]


def test_max_sends_at_most_that_many_oldest_first(seeded: dict[str, str]) -> None:
    queue = make_queue("capped")
    code, printed = replay(
        "--source",
        "open",
        "--since",
        iso(BASE),
        "--max",
        "3",
        "--consumer",
        "c",
        "--queue-url",
        queue.url,
        "--json",
    )
    assert code == 0, printed
    wanted = [seeded["pay-d0"], seeded["inv-d0"], seeded["pay-d1"]]
    assert json.loads(printed)["sent_event_ids"] == wanted
    assert [m["envelope"]["event_id"] for m in queue.drain()] == wanted


def test_the_replay_id_is_printed_and_logged(
    seeded: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    queue = make_queue("logged")
    with caplog.at_level(logging.INFO, logger="webhookctl.replay"):
        code, printed = replay("--event-id", seeded["pay-d0"], "--consumer", "x", "--queue-url", queue.url)
    assert code == 0
    replay_id = printed.splitlines()[0].removeprefix("replay_id ")
    messages = [r.getMessage() for r in caplog.records if r.name == "webhookctl.replay"]
    assert any(m.startswith(f"history replay {replay_id} started") for m in messages)
    assert any(m.startswith(f"history replay {replay_id} finished: 1 sent") for m in messages)
    (message,) = queue.drain()
    assert message["envelope"]["replay_id"] == replay_id
    # Each run has its own id.
    replay("--event-id", seeded["pay-d0"], "--consumer", "x", "--queue-url", queue.url)
    (second,) = queue.drain()
    assert second["envelope"]["replay_id"] not in (None, replay_id)


# --- interrupted or failing: nothing lost, running again re-delivers ------------------------------


def _table_items() -> dict[str, Any]:
    items = boto3.client("dynamodb").scan(TableName=TABLE_NAME, ConsistentRead=True)["Items"]
    return {i["event_id"]["S"]: i for i in items}


@pytest.fixture
def failing_send(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int, BaseException | None], None]]:
    """fail(after, exc): the send after `after` successful calls raises exc (None: no failure)."""
    original = webhookctl._Target.send
    state: dict[str, Any] = {"calls": 0, "after": None, "exc": None}

    def send(self: Any, envelopes: Any) -> list[str | None]:
        state["calls"] += 1
        if state["after"] is not None and state["calls"] > state["after"]:
            exc = state["exc"]
            state["after"] = None
            if isinstance(exc, KeyboardInterrupt):
                raise exc
            return [f"injected: {exc}"] * len(envelopes)
        return original(self, envelopes)

    monkeypatch.setattr(webhookctl._Target, "send", send)

    def fail(after: int, exc: BaseException | None) -> None:
        state.update(calls=0, after=after, exc=exc)

    yield fail


@pytest.mark.parametrize(
    ("failure", "exit_code"), [(KeyboardInterrupt(), 130), (RuntimeError("throttled"), 1)]
)
def test_a_stopped_replay_loses_nothing_and_running_again_redelivers(
    seeded: dict[str, str],
    failing_send: Callable[[int, BaseException | None], None],
    failure: BaseException,
    exit_code: int,
) -> None:
    queue = make_queue("resumable")
    before = _table_items()
    argv = paced(queue)
    failing_send(1, failure)  # the first call (2 events) goes, the second does not
    code, printed = replay(*argv)
    assert code == exit_code, printed
    assert "nothing is lost" in printed and "re-delivers every selected event" in printed
    first = queue.drain()
    assert [m["envelope"]["event_id"] for m in first] == [seeded["pay-d0"], seeded["inv-d0"]]
    resume = next(line for line in printed.splitlines() if "--since" in line)
    assert iso(BASE + DAY + DAY // 2).replace("+00:00", "") in resume.replace("+00:00", "")
    assert _table_items() == before  # replay never writes history

    failing_send(10, None)
    code, printed = replay(*argv)
    assert code == 0, printed
    again = queue.drain()
    opens = [k for k in seeded if not k.startswith("gh-")]
    assert sorted(m["envelope"]["event_id"] for m in again) == sorted(seeded[k] for k in opens)
    assert {m["envelope"]["replay_id"] for m in again}.isdisjoint({m["envelope"]["replay_id"] for m in first})


def test_a_failed_entry_stops_the_replay(seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """SQS answers a batch with a Failed entry: that event and the rest are not counted as sent."""
    queue = make_queue("half")
    original = webhookctl._Target.send

    def send(self: Any, envelopes: Any) -> list[str | None]:
        outcome = original(self, envelopes)
        return [*outcome[:-1], "InternalError: injected"] if len(envelopes) > 1 else outcome

    monkeypatch.setattr(webhookctl._Target, "send", send)
    code, printed = replay(
        "--source", "open", "--since", iso(BASE), "--consumer", "c", "--queue-url", queue.url, "--json"
    )
    assert code == 1
    report = json.loads(printed)
    assert report["error"]["error"] == "InternalError: injected"
    assert report["sent"] == 6 and report["error"]["event_id"] == seeded["pay-d2"]


# --- bodies the row no longer holds in full --------------------------------------------------------


def test_truncated_and_oversize_rows_are_sent_as_body_omitted_references(
    history: None, make_record: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    big = json.dumps({"type": "big", "data": "z" * 250_000}).encode()
    oversize = store(make_record, big, event_type="big", at_ms=BASE)
    monkeypatch.setenv("MAX_STORED_BODY_BYTES", "1000")
    handler.reset()
    cut = json.dumps({"type": "cut", "data": "y" * 5000}).encode()
    truncated = store(make_record, cut, event_type="cut", at_ms=BASE + 1)
    small = store(make_record, b'{"type":"small"}', event_type="small", at_ms=BASE + 2)
    queue = make_queue("refs")
    code, printed = replay(
        "--source", "open", "--since", iso(BASE), "--consumer", "c", "--queue-url", queue.url
    )
    assert code == 0, printed
    assert "2 as body_omitted references" in printed
    got = {m["envelope"]["event_id"]: m["envelope"] for m in queue.drain()}
    for event_id, raw in ((oversize, big), (truncated, cut)):
        envelope = got[event_id]
        assert (envelope["body"], envelope["json"], envelope["body_omitted"]) == (None, None, True)
        # The reference describes the full body, not the stored prefix.
        assert envelope["body_size"] == len(raw)
        assert envelope["body_sha256"] == hashlib.sha256(raw).hexdigest()
    assert got[small]["body_omitted"] is False and got[small]["json"] == {"type": "small"}


def test_a_text_body_has_no_json(history: None, make_record: Callable[..., dict[str, Any]]) -> None:
    event_id = store(make_record, b"plain words", event_type="note", at_ms=BASE, content_type="text/plain")
    queue = make_queue("text")
    assert replay("--event-id", event_id, "--consumer", "c", "--queue-url", queue.url)[0] == 0
    (message,) = queue.drain()
    assert (message["envelope"]["body"], message["envelope"]["json"]) == ("plain words", None)


# --- arguments --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        ([], "give --since"),
        (["--event-id", "x", "--source", "github"], "combine it only with --status"),
        (["--since", "2025-01-01", "--event-type", "pay*"], "not an event type or prefix pattern"),
        (["--since", "2025-01-01", "--event-type", "a.*.*"], "not an event type or prefix pattern"),
        (["--since", "2025-01-01", "--rate", "0"], "--rate must be above 0"),
        (["--since", "2025-01-01", "--status", "rejected"], "invalid choice: 'rejected'"),
        (["--since", "2025-01-02", "--until", "2025-01-01"], "--since must be before --until"),
        (["--since", "2025-01-01", "--consumer", "c"], "--consumer needs --queue-url or --name"),
        (["--since", "2025-01-01"], "republishing needs --topic-arn or --name"),
        (["--since", "2025-01-01", "--queue-url", "http://q"], "give --consumer too"),
    ],
)
def test_argument_mistakes_are_explained(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        webhookctl.main(["history", "replay", "--table", TABLE_NAME, *argv])
    assert exit_info.value.code == 2
    assert error in capsys.readouterr().err


def test_table_defaults_to_the_module_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        webhookctl.main(["history", "replay", "--since", "2025-01-01"])
    assert "give --table (or --name" in capsys.readouterr().err
    args = webhookctl.build_parser().parse_args(["history", "replay", "--name", "x", "--since", "2025-01-01"])
    webhookctl._check_replay(webhookctl.build_parser(), args)
    assert args.table == "x-history"


def test_the_buckets_queried_are_the_ones_the_processor_writes(seeded: dict[str, str]) -> None:
    rows = boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Items"]
    assert len(rows) == len(seeded)
    for row in rows:
        day = row["received_bucket"]["S"].split("#")[0]
        assert row["received_bucket"]["S"] in webhookctl.bucket_keys(day)
    # The seeded events spread over more than one bucket: the merge is what orders them.
    assert len({row["received_bucket"]["S"] for row in rows}) > 3


def test_received_days_cover_the_range_in_utc() -> None:
    start = BASE + DAY - 1  # 2025-03-10T23:59:59.999Z
    assert webhookctl.received_days(start, start + 2) == ["2025-03-10", "2025-03-11"]
    assert webhookctl.received_days(BASE, BASE + DAY) == ["2025-03-10"]  # --until is exclusive
    assert webhookctl.received_days(BASE, BASE + 3 * DAY + 1) == [
        "2025-03-10",
        "2025-03-11",
        "2025-03-12",
        "2025-03-13",
    ]
