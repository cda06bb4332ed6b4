"""A local Lambda SQS event source mapping (ESM): receive, invoke the handler, delete or retry.

moto stores event source mappings but cannot run Lambda code here (no Docker),
so this does the ESM's job in-process, following "Using Lambda with Amazon SQS"
(https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, its event format:
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#example-standard-queue-message-event)
and "Handling errors for an SQS event source"
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html):

- receive up to `batch_size` messages with all system and message attributes;
- invoke `handler({"Records": [...]}, context)` with Lambda-format records;
- success: delete the batch. With ReportBatchItemFailures, delete all but the
  reported `batchItemFailures`. A handler exception, or an invalid failure
  report, fails the whole batch;
- failed messages stay in the queue and come back after the visibility timeout:
  simulated at once with ChangeMessageVisibility(0).

DLQ: moto 5.2.5 applies the RedrivePolicy itself, as SQS does: a ReceiveMessage
that finds a message already received `maxReceiveCount` times moves it to the
dead-letter queue instead of returning it (moto/sqs/models.py receive_message).
So the poller does not move messages itself; it only keeps receiving.

tests/harness/functions.py builds pollers from event source mappings as the Lambda API
reports them (state, batch size, function response types), for any deployed function.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]


class LambdaContext:
    """The parts of the Lambda context object a handler uses."""

    def __init__(
        self, function_name: str, timeout_s: float, region: str, memory_limit_in_mb: int = 256
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class PollStats:
    rounds: int = 0
    invocations: int = 0
    received: int = 0
    deleted: int = 0  # processed successfully and deleted
    retried: int = 0  # failed and made visible again
    handler_errors: int = 0  # invocations that raised
    message_ids: list[str] = field(default_factory=list)  # every message id received, in order

    def add(self, other: PollStats) -> None:
        self.rounds += other.rounds
        self.invocations += other.invocations
        self.received += other.received
        self.deleted += other.deleted
        self.retried += other.retried
        self.handler_errors += other.handler_errors
        self.message_ids.extend(other.message_ids)


class EventSourceMappingPoller:
    def __init__(
        self,
        sqs_client: Any,
        queue_url: str,
        handler: Handler,
        batch_size: int = 10,
        *,
        report_batch_item_failures: bool = True,
        function_name: str = "webhook-processor",
        function_timeout_s: float = 30.0,
    ) -> None:
        if not 1 <= batch_size <= 10_000:
            raise ValueError("batch_size must be 1-10000 (an ESM's limit)")
        self.sqs = sqs_client
        self.queue_url = queue_url
        self.handler = handler
        self.batch_size = batch_size
        self.report_batch_item_failures = report_batch_item_failures
        self.function_name = function_name
        self.function_timeout_s = function_timeout_s
        self.region: str = sqs_client.meta.region_name
        attributes = sqs_client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        self.queue_arn: str = attributes["Attributes"]["QueueArn"]
        self.errors: list[BaseException] = []  # exceptions the handler raised, for test diagnostics

    def poll_once(self) -> PollStats:
        """One ESM poll: receive up to batch_size messages, one invocation, settle them."""
        stats = PollStats(rounds=1)
        messages = self._receive()
        if not messages:
            return stats
        stats.received = len(messages)
        stats.message_ids = [m["MessageId"] for m in messages]
        event = {"Records": [self._record(m) for m in messages]}
        context = LambdaContext(self.function_name, self.function_timeout_s, self.region)
        stats.invocations = 1
        try:
            result = self.handler(event, context)
        except Exception as exc:  # the function failed: the whole batch is retried
            self.errors.append(exc)
            stats.handler_errors = 1
            failed = {m["MessageId"] for m in messages}
        else:
            failed = self._failed_ids(result, {m["MessageId"] for m in messages})
        done = [m for m in messages if m["MessageId"] not in failed]
        retry = [m for m in messages if m["MessageId"] in failed]
        for chunk in _chunks(done, 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        for chunk in _chunks(retry, 10):
            # Stands in for the visibility timeout expiring.
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )
        stats.deleted, stats.retried = len(done), len(retry)
        return stats

    def drain(self, max_rounds: int = 100) -> PollStats:
        """Poll until the queue is empty (nothing visible, in flight or delayed) or max_rounds."""
        total = PollStats()
        for _ in range(max_rounds):
            stats = self.poll_once()
            total.add(stats)
            if stats.received == 0 and self.approximate_count() == 0:
                break
        return total

    def approximate_count(self) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        names.append("ApproximateNumberOfMessagesDelayed")
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=names)[
            "Attributes"
        ]
        return sum(int(attributes.get(name, 0)) for name in names)

    # ------------------------------------------------------------------ internals

    def _receive(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < self.batch_size:  # ReceiveMessage returns at most 10
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            batch = response.get("Messages", [])
            if not batch:
                break
            messages.extend(batch)
        return messages

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        """The SQS message as a Lambda event record (AWS "Example standard queue message event")."""
        attributes = {}
        for name, value in message.get("MessageAttributes", {}).items():
            attribute: dict[str, Any] = {
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            if "StringValue" in value:
                attribute["stringValue"] = value["StringValue"]
            if "BinaryValue" in value:
                attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
            attributes[name] = attribute
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": attributes,
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    def _failed_ids(self, result: Any, batch_ids: set[str]) -> set[str]:
        """Which messages failed, from the handler's return value.

        Without ReportBatchItemFailures the return value is ignored. With it: None, {},
        or an empty/null batchItemFailures is full success; a failure entry whose
        itemIdentifier is missing, empty or not in the batch (or a malformed
        response) makes Lambda treat the whole batch as failed.
        """
        if not self.report_batch_item_failures or not result:
            return set()
        if not isinstance(result, dict):
            return set(batch_ids)
        failures = result.get("batchItemFailures")
        if not failures:
            return set()
        if not isinstance(failures, list):
            return set(batch_ids)
        failed = set()
        for failure in failures:
            item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not isinstance(item, str) or item not in batch_ids:
                return set(batch_ids)
            failed.add(item)
        return failed


def _chunks(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
