"""The history table exactly as dynamodb.tf declares it, for suites that build the account with boto3."""

from __future__ import annotations

from typing import Any

# Both indexes project what listing and replay selection read; replay then fetches the
# full rows (BatchGetItem). by_received has no `source` key, so it projects `source`.
_LISTED = ["status", "event_type", "request_id", "reason"]


def create_history_table(client: Any, name: str) -> None:
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "event_id", "AttributeType": "S"},
            {"AttributeName": "source", "AttributeType": "S"},
            {"AttributeName": "received_at", "AttributeType": "N"},
            {"AttributeName": "received_bucket", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_source",
                "KeySchema": [
                    {"AttributeName": "source", "KeyType": "HASH"},
                    {"AttributeName": "received_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": _LISTED},
            },
            {
                "IndexName": "by_received",
                "KeySchema": [
                    {"AttributeName": "received_bucket", "KeyType": "HASH"},
                    {"AttributeName": "received_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["source", *_LISTED]},
            },
        ],
    )
