"""Example consumer of the webhook event topic: records each payment event once.

A template for a team's own consumer (examples/complete wires it as the `payments`
consumer: Stripe and billing events of type payment_intent.* and invoice.*). Copy it,
keep the three rules, replace `_amount` and what is stored:

1. **Idempotent by event_id.** Delivery is at least once: SNS, SQS retries and
   `webhookctl history replay` can all deliver an event again. The row is written with
   a condition, attribute_not_exists(event_id); a ConditionalCheckFailed means the event
   was handled before, which counts as success. If your consumer has a side effect
   outside this table (a charge, an email), key it by event_id too, or do it only after
   the conditional write succeeded.
2. **Report the records that failed, only those.** The event source mapping uses
   ReportBatchItemFailures: the handler returns {"batchItemFailures": [{"itemIdentifier":
   messageId}, ...]}. Those records are retried, and after the consumer's
   max_receive_count they move to its dead-letter queue (its dlq-messages alarm fires).
   The rest of the batch is done. Raising an exception would retry the whole batch.
3. **Read the envelope.** With raw delivery the SQS body is the envelope,
   schema_version 1 (docs/event-envelope.schema.json): the raw webhook body is under
   `body`, the parsed JSON under `json`. An envelope with body_omitted (over SNS's
   256 KiB) carries no body: fetch it from the history table by event_id. This example
   fails such records instead, so they wait in the DLQ.

A payment event whose body has no numeric amount (Stripe: data.object.amount or
data.amount; billing: data.amount) is a record this consumer cannot handle: reported as
failed, it ends in the DLQ after 3 receives.

Each row: event_id, source, event_type, amount, received_at, recorded_at; replay_id when
a replay delivered the event first; replay_ids, every replay that delivered it again.

Environment: TABLE_NAME, the `<name>-payments-seen` table (hash key event_id).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import ClientError

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

# Created once per execution environment, reused by every invocation.
_table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


class Unhandled(Exception):
    """A record this consumer cannot handle: report it, do not retry the batch."""


def _amount(envelope: dict[str, Any]) -> Decimal:
    body = envelope.get("json")
    if envelope.get("body_omitted"):
        raise Unhandled("body omitted for size: fetch it from history by event_id")
    data = body.get("data") if isinstance(body, dict) else None
    candidates = [data.get("amount")] if isinstance(data, dict) else []
    if envelope.get("source") == "stripe" and isinstance(data, dict) and isinstance(data.get("object"), dict):
        candidates.insert(0, data["object"].get("amount"))
    for value in candidates:
        # bool is an int in Python (`true` is no amount); 1e400 parses as inf.
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return Decimal(str(value))
    raise Unhandled("no numeric amount in the body")


def _record(envelope: dict[str, Any]) -> str:
    """Writes the event's row once. Returns what happened: recorded or already recorded."""
    event_id = envelope["event_id"]
    replay_id = envelope.get("replay_id")
    item: dict[str, Any] = {
        "event_id": event_id,
        "source": envelope["source"],
        "event_type": envelope["event_type"],
        "amount": _amount(envelope),
        "received_at": envelope["received_at"],
        "recorded_at": int(time.time() * 1000),
    }
    if replay_id:
        item["replay_id"] = replay_id
    try:
        _table.put_item(Item=item, ConditionExpression="attribute_not_exists(event_id)")
        return "recorded"
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    if replay_id:
        # A set: adding the same replay twice (a replay's own redelivery) changes nothing.
        _table.update_item(
            Key={"event_id": event_id},
            UpdateExpression="ADD replay_ids :r",
            ExpressionAttributeValues={":r": {replay_id}},
        )
    return "already recorded"


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        message_id = record["messageId"]
        try:
            envelope = json.loads(record["body"])
            if not isinstance(envelope, dict) or envelope.get("schema_version") != 1:
                raise Unhandled("not a schema_version 1 envelope")
            outcome = _record(envelope)
            LOG.info(
                json.dumps(
                    {
                        "event_id": envelope["event_id"],
                        "outcome": outcome,
                        "replay_id": envelope.get("replay_id"),
                    }
                )
            )
        except (Unhandled, ValueError, KeyError) as exc:
            LOG.warning(json.dumps({"message_id": message_id, "unhandled": str(exc)}))
            failures.append({"itemIdentifier": message_id})
        except ClientError as exc:
            # Throttling or an outage: retried, like any other failure, record by record.
            LOG.error(json.dumps({"message_id": message_id, "error": exc.response["Error"]["Code"]}))
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
