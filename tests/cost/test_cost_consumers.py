"""tools/cost.py's fan-out: each consumer's cost from figures checked by hand, the consumers
of a var file (HCL and JSON), --consumer-share, and the report's fan-out section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cost.cost_tool import load_cost_tool

REPO = Path(__file__).resolve().parents[2]


cost = load_cost_tool("webhook_ingest_cost_tool_consumers")
GIB = 2**30

# Consumers like examples/complete's: payments with a function and attribute filters,
# repo-activity with a body filter, audit with no filter at all (here paused).
COMPLETE_LIKE_TFVARS = """
consumers = {
  payments = {
    sources           = ["stripe", "billing"]
    event_types       = ["payment_intent.*", "invoice.*"]
    max_receive_count = 3
    function_name     = "webhooks-payments"
    batch_size        = 5
  }
  "repo-activity" = {
    sources     = ["github"]
    event_types = ["issues", "pull_request"]
    body_filter = { action = ["opened"] }
  }
  audit = {
    enabled = false
  }
}
processor_batch_size = 10
"""


@pytest.fixture
def prices() -> object:
    return cost.load_prices(REPO / "pricing" / "aws-prices.json")


def _consumer(**overrides: object) -> object:
    values = dict(
        name="c",
        filter_scope="MessageAttributes",
        has_function=True,
        batch_size=10,
        enabled=True,
        origin="test",
    )
    return cost.Consumer(**{**values, **overrides})


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- arithmetic


def test_attribute_filtered_function_consumer_at_1_kb(prices: object) -> None:
    r = cost.compute_consumer(1024, _consumer(), prices)
    # envelope 2891 B: one SendMessage chunk; 10 of them in one receive (28910 B) and one delete
    assert r.components["sqs_send"] == pytest.approx(0.40)
    assert r.components["sqs_receive_delete"] == pytest.approx((0.1 + 0.1) * 0.40)
    assert r.components["lambda_requests"] == pytest.approx(0.20 / 10)
    assert r.components["sns_payload_filtering"] == 0  # attribute filters are free
    assert r.total == pytest.approx(0.50)
    assert r.quantities["envelope_bytes"] == 2891


def test_body_filter_is_charged_on_every_published_message(prices: object) -> None:
    body = cost.compute_consumer(1024, _consumer(filter_scope="MessageBody", has_function=False), prices)
    scanned = 2751 * 1e6 / GIB * 0.09  # the envelope's JSON text, not its attributes
    assert body.components["sns_payload_filtering"] == pytest.approx(scanned)
    assert body.components["lambda_requests"] == 0
    # matching 10 % of the events cuts the queue's requests, not the scanning
    tenth = cost.compute_consumer(
        1024, _consumer(filter_scope="MessageBody", has_function=False, share=0.1), prices
    )
    assert tenth.components["sns_payload_filtering"] == pytest.approx(scanned)
    assert tenth.components["sqs_send"] == pytest.approx(0.04)
    assert tenth.components["sqs_receive_delete"] == pytest.approx(0.1 * 0.08)


def test_large_envelopes_and_small_batches(prices: object) -> None:
    # 100 KB: a 215780 B envelope is 4 SendMessage chunks; a receive of 10 is 2157800 B = 33 chunks
    r = cost.compute_consumer(100 * 1024, _consumer(filter_scope="none", has_function=False), prices)
    assert r.quantities["sqs_send_requests"] == 4
    assert r.quantities["sqs_receive_requests"] == pytest.approx(3.3)
    assert r.components["sqs_receive_delete"] == pytest.approx((3.3 + 0.1) * 0.40)
    # batch 5: a receive and a delete per 5 messages, a Lambda request per 5
    small = cost.compute_consumer(1024, _consumer(batch_size=5), prices)
    assert small.components["sqs_receive_delete"] == pytest.approx((0.2 + 0.2) * 0.40)
    assert small.components["lambda_requests"] == pytest.approx(0.20 / 5)
    # a body too large for SNS is published as a reference: 740 B, whatever the body
    ref = cost.compute_consumer(200 * 1024, _consumer(filter_scope="MessageBody"), prices)
    assert ref.quantities["envelope_bytes"] == 740
    assert ref.components["sns_payload_filtering"] == pytest.approx(600 * 1e6 / GIB * 0.09)


# ---------------------------------------------------------------- consumers from a var file


def test_complete_like_consumers_from_hcl_var_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "complete.tfvars", COMPLETE_LIKE_TFVARS)
    consumers = {c.name: c for c in cost.read_var_file_consumers(path)}
    assert list(consumers) == ["payments", "repo-activity", "audit"]
    payments, repo, audit = consumers["payments"], consumers["repo-activity"], consumers["audit"]
    assert (payments.filter_scope, payments.has_function, payments.batch_size) == (
        "MessageAttributes",
        True,
        5,
    )
    assert (repo.filter_scope, repo.has_function, repo.batch_size) == ("MessageBody", False, 10)
    assert (audit.filter_scope, audit.enabled) == ("none", False)
    assert all(c.share == 1.0 and not c.share_given for c in consumers.values())


def test_consumers_from_json_var_file(tmp_path: Path) -> None:
    data = {"consumers": {"a": {"event_types": ["issues"]}, "b": {"body_filter": {"x": ["1"]}}}}
    path = _write(tmp_path, "x.tfvars.json", json.dumps(data))
    assert [(c.name, c.filter_scope) for c in cost.read_var_file_consumers(path)] == [
        ("a", "MessageAttributes"),
        ("b", "MessageBody"),
    ]
    assert cost.read_var_file_consumers(_write(tmp_path, "none.tfvars", "processor_batch_size = 5\n")) == []


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ('consumers = ["a"]', "must be a map"),
        ("consumers = { a = 1 }", r"consumers\['a'\] must be an object"),
        ("consumers = { a = { batch_size = 0 } }", "below the minimum"),
        ('consumers = { a = { sources = "github" } }', r"sources must be a list"),
        ('consumers = { a = { enabled = "maybe" } }', "true or false"),
    ],
)
def test_bad_consumers_are_named(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(cost.CostError, match=pattern):
        cost.read_var_file_consumers(_write(tmp_path, "bad.tfvars", text + "\n"))


def test_shares_apply_by_name_and_unknown_names_are_errors() -> None:
    consumers = [_consumer(name="a"), _consumer(name="b")]
    shared = cost.apply_shares(consumers, {"b": 0.25})
    assert [(c.name, c.share, c.share_given) for c in shared] == [("a", 1.0, False), ("b", 0.25, True)]
    with pytest.raises(cost.CostError, match=r"names zed, not a consumer .*\(consumers: a, b\)"):
        cost.apply_shares(consumers, {"zed": 0.5})


# ---------------------------------------------------------------- CLI and report


def test_cli_prices_each_consumer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "complete.tfvars", COMPLETE_LIKE_TFVARS)
    out = tmp_path / "cost.json"
    argv = ["--var-file", str(path), "--consumer-share", "payments=0.3", "repo-activity=0.05"]
    assert cost.main([*argv, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    report = json.loads(out.read_text())
    fan = report["fan_out"]
    assert fan["event_topic"] is True
    by_name = {c["name"]: c for c in fan["consumers"]}
    assert by_name["payments"]["share"] == 0.3 and by_name["payments"]["share_source"] == "--consumer-share"
    assert by_name["audit"]["share"] == 1.0 and "upper bound" in by_name["audit"]["share_source"]
    one_kb = by_name["payments"]["results"][0]
    # share 0.3 of: 1 send, 1/5 receive + 1/5 delete (batch 5), 1/5 Lambda request
    assert one_kb["components"]["sqs_send"] == pytest.approx(0.3 * 0.40)
    assert one_kb["components"]["sqs_receive_delete"] == pytest.approx(0.3 * 0.4 * 0.40)
    assert one_kb["components"]["lambda_requests"] == pytest.approx(0.3 * 0.20 / 5)
    for i, totals in enumerate(fan["totals"]):
        consumers = sum(c["results"][i]["total"] for c in fan["consumers"])
        assert totals["consumers"] == pytest.approx(consumers, abs=1e-5)
        assert totals["module"] == pytest.approx(report["results"][i]["designs"]["module"]["total"])
        assert totals["module_and_consumers"] == pytest.approx(totals["module"] + consumers, abs=1e-5)
    for needle in (
        "payments (share 0.3;",
        "repo-activity (share 0.05;",
        "audit (share 1 (default);",
        "paused",
    ):
        assert needle in text
    assert f"{fan['totals'][0]['module_and_consumers']:,.4f}" in text


def test_default_variables_price_only_the_topic(capsys: pytest.CaptureFixture[str]) -> None:
    assert cost.main([]) == 0
    text = capsys.readouterr().out
    assert "Fan-out: no consumers" in text
    assert "SNS publish (event topic)" in text and "DynamoDB published_at marker" in text


@pytest.mark.parametrize("share", ["payments", "payments=1.5", "payments=x", "=0.5"])
def test_bad_share_option_exits_2(share: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cost.main(["--consumer-share", share])
    assert info.value.code == 2
    assert "--consumer-share" in capsys.readouterr().err


def test_consumers_without_topic_are_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "x.tfvars", COMPLETE_LIKE_TFVARS + "create_event_topic = false\n")
    assert cost.main(["--var-file", str(path)]) == 2
    assert "need the event topic: create_event_topic is false" in capsys.readouterr().err
    no_topic = _write(tmp_path, "y.tfvars", "create_event_topic = false\n")
    assert cost.main(["--var-file", str(no_topic)]) == 0
    text = capsys.readouterr().out
    assert "Fan-out: none (create_event_topic = false" in text
    assert "event topic off" in text


def test_unknown_share_name_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "complete.tfvars", COMPLETE_LIKE_TFVARS)
    assert cost.main(["--var-file", str(path), "--consumer-share", "billing=0.5"]) == 2
    assert "billing, not a consumer" in capsys.readouterr().err
