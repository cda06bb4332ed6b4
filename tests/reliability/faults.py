"""Fault injection around the real processor, and the runner that drives a stream through it.

Faults, all injected from the test side (nothing in lambda/ is changed):

- DynamoDB throttling: a botocore ClientError (ProvisionedThroughputExceededException,
  sometimes ThrottlingException / InternalServerError) raised before PutItem/UpdateItem
  is sent (`before-parameter-build` hook on the processor's client).
- DynamoDB response lost: the write is applied, then the SDK sees a read timeout
  (`after-call` hook raising ReadTimeoutError).
- Secrets Manager failures: GetSecretValue raises; containers start cold (the secret
  cache is cleared) so the failures are actually met.
- Processor crash mid-batch: the function processes the first k records, then dies: the
  event source mapping retries the whole batch (k may be the whole batch: killed at its
  timeout after finishing).
- Timeout: the context's remaining time drops below the handler's safety margin after k
  records; the rest of the batch is handed back unstarted.
- Visibility timeout expiry: while an invocation runs, its messages become visible again
  and a second consumer receives and processes them too.
- Lost acknowledgement: a record processed fine is not deleted and comes back.
- Poison: a delivery whose body carries POISON_TOKEN fails on every attempt.
- Source removed (operator fault): a delivery whose body carries ORPHAN_TOKEN is handled, while
  `source_removed` is set, by a copy of the processor whose configuration lacks its source
  (what the processor sees when a source is removed while its messages are queued): a
  transient `unknown_source`, so it reaches the DLQ; `dlq replay` after the source is back
  (`source_removed = False`) processes it.
- Edge SQS failure: the gateway's `sqs_fault` hook answers 500/503/400/403/302 instead of SQS;
  for an s3 source the payloads API's `s3_fault` answers 500/503/403/400 instead of S3.
- Publish failure: PublishBatch to the event topic fails as a whole (throttling, KMS, an
  internal error): the publisher hands those records back to SQS, and the redelivery finds
  the row unpublished and publishes it.
- Crash before publish: the function dies after the history writes and before PublishBatch
  (the rows exist, unpublished): the whole batch comes back and its redelivery publishes.

Sources with payload_store = "s3": the message is S3's notification naming the object
`ingest/<source>/<request id>`, with no message attributes, so the request id comes from
the key, and the poison and orphan tokens (in the body, which the message does not carry)
are noted when the payloads API's PutObject is made (`StreamRunner`'s `s3_fault` hook sees
the key and the body before moto stores it and notifies). S3's test event is counted.

Retry budget: a fault that makes SQS deliver a message again is injected only while the
message's ApproximateReceiveCount is below maxReceiveCount, so any message but a poison
one succeeds by its last allowed receive. Without the budget, a message that is processed
and then redelivered maxReceiveCount times ends in history and in the DLQ
(test_faults.py shows that case on its own).
"""

from __future__ import annotations

import copy
import dataclasses
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError
from webhook_processor import handler, s3_pointer
from webhook_processor.errors import TransientError

from tests.harness.gateway import S3Request
from tests.harness.poller import EventSourceMappingPoller, LambdaContext

from .deployed import AppliedStack
from .stream import ORPHAN_TOKEN, POISON_TOKEN, Planned, Stream


class InjectedCrash(RuntimeError):
    """The function died mid-batch (injected)."""


class _CrashBeforePublish(BaseException):
    """Raised from the SNS client's hook: a BaseException, so neither the publisher nor the
    handler catches it, as nothing catches a process that dies. `invoke` turns it into an
    InjectedCrash for the poller."""


@dataclass(frozen=True)
class FaultRates:
    throttle: float = 0.0  # per DynamoDB write call
    lost_response: float = 0.0  # per successful DynamoDB write call
    secrets: float = 0.0  # per GetSecretValue call
    cold_start: float = 0.0  # per invocation: the secret cache starts empty
    crash: float = 0.0  # per invocation
    timeout: float = 0.0  # per invocation
    visibility: float = 0.0  # per invocation
    lost_ack: float = 0.0  # per record processed fine
    edge: float = 0.0  # per request that reaches SQS (planned by the stream generator)
    publish: float = 0.0  # per PublishBatch call: fails as a whole
    publish_crash: float = 0.0  # per PublishBatch call: the function dies instead

    @classmethod
    def from_rng(cls, rng: random.Random) -> FaultRates:
        return cls(
            throttle=round(rng.uniform(0.02, 0.15), 3),
            lost_response=round(rng.uniform(0.0, 0.05), 3),
            secrets=round(rng.uniform(0.05, 0.3), 3),
            cold_start=round(rng.uniform(0.1, 0.5), 3),
            crash=round(rng.uniform(0.02, 0.1), 3),
            timeout=round(rng.uniform(0.02, 0.1), 3),
            visibility=round(rng.uniform(0.0, 0.05), 3),
            lost_ack=round(rng.uniform(0.0, 0.05), 3),
            edge=round(rng.uniform(0.02, 0.08), 3),
            publish=round(rng.uniform(0.0, 0.08), 3),
            publish_crash=round(rng.uniform(0.0, 0.05), 3),
        )


def request_id_of(record: dict[str, Any]) -> str | None:
    attribute = (record.get("messageAttributes") or {}).get("request_id") or {}
    found = attribute.get("stringValue")
    if found is None:
        ids = pointer_request_ids(record)
        return ids[0] if ids else None
    return found


def pointer_request_ids(record: dict[str, Any]) -> list[str]:
    """The request ids of the objects an S3 notification names (in its records' order); []
    for a queue message or S3's test event."""
    notification = s3_pointer.parse_record(record)
    if notification is None:
        return []
    ids = []
    for pointer in notification.pointers:
        parsed = s3_pointer.parse_ingest_key(pointer.key)
        ids.append(parsed[1] if parsed else f"?{pointer.key}")
    return ids


def is_test_event(record: dict[str, Any]) -> bool:
    notification = s3_pointer.parse_record(record)
    return notification is not None and notification.test_event


def receive_count_of(record: dict[str, Any]) -> int:
    return int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))


@dataclass
class Ledger:
    """What the processor did, as seen from the test: attempts, write results, faults."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: Counter[str] = field(default_factory=Counter)
    invocations: int = 0
    attempts: Counter[str] = field(default_factory=Counter)  # request id -> records handled
    writes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # request id -> results
    # request id -> (record status, write result) of every record handled to the end
    outcomes: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    # request id -> the TransientError codes its attempts raised (retried by SQS)
    transient: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    stored: Counter[str] = field(default_factory=Counter)  # event id -> new rows written
    s3_test_events: int = 0  # S3's test event, handled (must be ignored: no row, no DLQ)
    ignored: Counter[str] = field(default_factory=Counter)  # "ignored" results by reason

    def fault(self, name: str) -> None:
        with self.lock:
            self.faults[name] += 1


class DeadlineContext:
    """A Lambda context whose remaining time falls below the handler's margin after `records` records."""

    def __init__(self, base: LambdaContext, records: int) -> None:
        self._base = base
        self._left = records
        for name in ("function_name", "function_version", "invoked_function_arn", "aws_request_id"):
            setattr(self, name, getattr(base, name))

    def get_remaining_time_in_millis(self) -> int:
        if self._left > 0:
            self._left -= 1
            return self._base.get_remaining_time_in_millis()
        return 0  # below any safety margin


class FaultInjector:
    """Hooks the processor's clients and wraps its invocations."""

    def __init__(self, rates: FaultRates, rng: random.Random, max_receive_count: int) -> None:
        self.rates = rates
        self.max_receive_count = max_receive_count
        self.ledger = Ledger()
        self._rng = rng
        self._rng_lock = threading.Lock()
        self._local = threading.local()
        self.always_lose_ack: Callable[[dict[str, Any]], bool] = lambda record: False
        self.poison_enabled = True  # False: the poison fault is removed (the operator fixed the cause)
        self.source_removed = True  # False: the orphans' sources are back in the processor's config
        self._orphan_processors: dict[str, Any] = {}
        self.respect_budget = True  # False: faults ignore the retry budget (outages)
        self.crash_after: int | None = None  # fixed k for crashes and timeouts (None: random)
        # s3 sources: request ids whose object carries POISON_TOKEN / ORPHAN_TOKEN (`note_object`).
        self._poison_ids: set[str] = set()
        self._orphan_ids: set[str] = set()
        self._ids_lock = threading.Lock()

    # ------------------------------------------------------------------ decisions

    def chance(self, probability: float) -> bool:
        if probability <= 0:
            return False
        with self._rng_lock:
            return self._rng.random() < probability

    def randint(self, low: int, high: int) -> int:
        with self._rng_lock:
            return self._rng.randint(low, high)

    def _record(self) -> dict[str, Any] | None:
        return getattr(self._local, "record", None)

    def _has_budget(self, record: dict[str, Any] | None) -> bool:
        if record is None:
            return False
        return not self.respect_budget or receive_count_of(record) < self.max_receive_count

    def note_object(self, key: str, body: bytes) -> None:
        """The payloads API is about to write `body` as `key`: note its tokens by request id
        (an s3 source's message is the notification, which does not carry the body)."""
        parsed = s3_pointer.parse_ingest_key(key)
        if parsed is None:
            return
        with self._ids_lock:
            if POISON_TOKEN.encode() in body:
                self._poison_ids.add(parsed[1])
            if ORPHAN_TOKEN.encode() in body:
                self._orphan_ids.add(parsed[1])

    def _named(self, record: dict[str, Any], ids: set[str]) -> bool:
        with self._ids_lock:
            return bool(ids) and any(rid in ids for rid in pointer_request_ids(record))

    def is_poison(self, record: dict[str, Any] | None) -> bool:
        if not self.poison_enabled or record is None:
            return False
        return POISON_TOKEN in (record.get("body") or "") or self._named(record, self._poison_ids)

    def forget_secrets(self) -> None:
        """Empty the container's secret cache (what its TTL does after a secret is changed)."""
        self._processor.secrets.clear()

    def is_orphan(self, record: dict[str, Any]) -> bool:
        if not self.source_removed:
            return False
        return ORPHAN_TOKEN in (record.get("body") or "") or self._named(record, self._orphan_ids)

    def _processor_without(self, source: str) -> Any:
        """The container's processor, configured as if `source` had been removed from `sources`."""
        with self._rng_lock:
            found = self._orphan_processors.get(source)
            if found is None:
                found = copy.copy(self._processor)  # shares the history store and the secret cache
                config = found.config
                sources = {name: s for name, s in config.sources.items() if name != source}
                found.config = dataclasses.replace(config, sources=type(config.sources)(sources))
                self._orphan_processors[source] = found
            return found

    # ------------------------------------------------------------------ installation

    def install(self) -> None:
        """Call inside `AppliedStack.activate()`: hooks the clients the handler just created."""
        dynamodb = handler._dynamodb()
        secrets = handler._secretsmanager()
        ddb_id = dynamodb.meta.service_model.service_id.hyphenize()
        sm_id = secrets.meta.service_model.service_id.hyphenize()
        for operation in ("PutItem", "UpdateItem"):
            dynamodb.meta.events.register(f"before-parameter-build.{ddb_id}.{operation}", self._before_write)
            dynamodb.meta.events.register(f"after-call.{ddb_id}.{operation}", self._after_write)
        secrets.meta.events.register(f"before-parameter-build.{sm_id}.GetSecretValue", self._before_secret)

        processor = handler.get_processor()
        if processor.publisher is not None:
            sns = handler._sns()
            sns_id = sns.meta.service_model.service_id.hyphenize()
            sns.meta.events.register(f"before-parameter-build.{sns_id}.PublishBatch", self._before_publish)
        # The handler calls process_message: a queue message's one result, or one per object
        # an S3 notification names (S3's test event: one "ignored" result).
        original = processor.process_message
        unbound = type(processor).process_message

        def process_message(record: dict[str, Any]) -> Any:
            self._local.record = record
            pointer_ids = pointer_request_ids(record)
            request_ids = pointer_ids or [request_id_of(record) or ""]
            test_event = is_test_event(record)
            with self.ledger.lock:
                for request_id in request_ids:
                    self.ledger.attempts[request_id] += 1
                self.ledger.s3_test_events += test_event
            try:
                if self.is_orphan(record):
                    source = ((record.get("messageAttributes") or {}).get("source") or {}).get("stringValue")
                    if source is None and pointer_ids:
                        notification = s3_pointer.parse_record(record)
                        assert notification is not None
                        parsed = s3_pointer.parse_ingest_key(notification.pointers[0].key)
                        source = parsed[0] if parsed else None
                    results = unbound(self._processor_without(str(source)), record)
                else:
                    results = original(record)
            except TransientError as exc:
                with self.ledger.lock:
                    for request_id in request_ids:
                        self.ledger.transient[request_id].append(exc.code)
                raise
            finally:
                self._local.record = None
            with self.ledger.lock:
                for index, result in enumerate(results):
                    if result.status == "ignored":
                        self.ledger.ignored[str(result.reason)] += 1
                    request_id = request_ids[min(index, len(request_ids) - 1)]
                    if result.write is not None:
                        self.ledger.writes[request_id].append(result.write.value)
                        self.ledger.outcomes[request_id].append((str(result.status), result.write.value))
                        if (
                            result.write.value == "stored"
                            and result.event_id
                            and result.status == "processed"
                        ):
                            self.ledger.stored[result.event_id] += 1
            return results

        processor.process_message = process_message  # type: ignore[method-assign]
        self._processor = processor

    # ------------------------------------------------------------------ client hooks

    def _before_write(self, params: dict[str, Any], **_: Any) -> None:
        record = self._record()
        if self.is_poison(record):
            self.ledger.fault("poison_write_failed")
            raise _client_error("ProvisionedThroughputExceededException", "PutItem")
        if self._has_budget(record) and self.chance(self.rates.throttle):
            self.ledger.fault("dynamodb_throttled")
            with self._rng_lock:
                code = self._rng.choice(
                    ["ProvisionedThroughputExceededException"] * 4
                    + ["ThrottlingException", "InternalServerError"]
                )
            raise _client_error(code, "PutItem")

    def _after_write(self, http_response: Any, **kwargs: Any) -> None:
        if http_response.status_code >= 300:
            return
        if self._has_budget(self._record()) and self.chance(self.rates.lost_response):
            self.ledger.fault("dynamodb_response_lost")
            raise ReadTimeoutError(endpoint_url="dynamodb (injected: the write was applied)")

    def _before_secret(self, **_: Any) -> None:
        if self._has_budget(self._record()) and self.chance(self.rates.secrets):
            self.ledger.fault("secrets_manager_failed")
            with self._rng_lock:
                code = self._rng.choice(
                    ["InternalServiceError", "ThrottlingException", "AccessDeniedException"]
                )
            raise _client_error(code, "GetSecretValue")

    def _before_publish(self, **_: Any) -> None:
        # Publishing is per invocation, not per record: the budget is the batch's.
        if not getattr(self._local, "batch_has_budget", False):
            return
        if self.chance(self.rates.publish_crash):
            self.ledger.fault("crashed_before_publish")
            raise _CrashBeforePublish
        if self.chance(self.rates.publish):
            self.ledger.fault("publish_failed")
            with self._rng_lock:
                code = self._rng.choice(["Throttled", "KMSThrottling", "InternalError"])
            raise _client_error(code, "PublishBatch")

    # ------------------------------------------------------------------ the function

    def make_invoke(self, nested_poller: Callable[[], EventSourceMappingPoller]) -> Callable[..., Any]:
        """The function the pollers invoke: the real `lambda_handler` with faults around it."""

        def invoke(event: dict[str, Any], context: LambdaContext) -> Any:
            records = event["Records"]
            nested = getattr(self._local, "nested", False)
            with self.ledger.lock:
                self.ledger.invocations += 1
            if self.chance(self.rates.cold_start):
                self._processor.secrets.clear()
            mode, k = None, len(records)
            has_budget = all(self._has_budget(r) for r in records)
            if has_budget:
                roll = self._roll()
                fixed = None if self.crash_after is None else min(self.crash_after, len(records))
                if roll < self.rates.crash:
                    mode, k = "crash", self.randint(0, len(records)) if fixed is None else fixed
                elif roll < self.rates.crash + self.rates.timeout:
                    mode, k = "timeout", self.randint(0, len(records) - 1) if fixed is None else fixed
                elif roll < self.rates.crash + self.rates.timeout + self.rates.visibility and not nested:
                    mode = "visibility"
            if mode == "visibility":
                self.ledger.fault("visibility_timeout_expired")
                poller = nested_poller()
                poller.sqs.change_message_visibility_batch(
                    QueueUrl=poller.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": 0}
                        for i, r in enumerate(records)
                    ],
                )
                self._local.nested = True
                try:
                    poller.poll_once()  # a second consumer gets the messages meanwhile
                finally:
                    self._local.nested = False
            if mode == "crash":
                self.ledger.fault("processor_crashed")
                if k:
                    handler.lambda_handler({"Records": records[:k]}, context)
                raise InjectedCrash(f"injected crash after {k} of {len(records)} records")
            run_context: Any = context
            if mode == "timeout":
                self.ledger.fault("processor_timed_out")
                run_context = DeadlineContext(context, k)
            outer_budget = getattr(self._local, "batch_has_budget", False)
            self._local.batch_has_budget = has_budget
            try:
                result = handler.lambda_handler(event, run_context)
            except _CrashBeforePublish:
                raise InjectedCrash(f"injected crash before publishing ({len(records)} records)") from None
            finally:
                self._local.batch_has_budget = outer_budget
            failures = [f["itemIdentifier"] for f in result["batchItemFailures"]]
            for record in records:
                if record["messageId"] in failures:
                    continue
                if self.always_lose_ack(record) or (
                    self._has_budget(record) and self.chance(self.rates.lost_ack)
                ):
                    self.ledger.fault("ack_lost")
                    failures.append(record["messageId"])
            return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}

        return invoke

    def _roll(self) -> float:
        with self._rng_lock:
            return self._rng.random()


def _client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} (injected)"}}, operation)


# --------------------------------------------------------------------------- the runner


@dataclass
class RunStats:
    wall_s: float = 0.0
    send_s: float = 0.0
    poll_rounds: int = 0
    received: int = 0
    handler_errors: int = 0


class StreamRunner:
    """Sends a stream through the local gateway while pollers feed the processor, then drains."""

    def __init__(
        self,
        stack: AppliedStack,
        injector: FaultInjector,
        *,
        batch_size: int = 10,
        senders: int = 2,
        pollers: int = 2,
        time_limit_s: float = 600.0,
        wave: int = 60,
        overlap: bool = True,
    ) -> None:
        self.wave = wave  # requests sent between backlog checks
        self.overlap = overlap  # False: send everything first, then poll (deterministic batches)
        self.stack = stack
        self.injector = injector
        self.batch_size = batch_size
        self.senders = senders
        self.pollers = pollers
        self.time_limit_s = time_limit_s
        self._local = threading.local()
        self._nested: dict[int, EventSourceMappingPoller] = {}
        self.errors: list[BaseException] = []
        self.stats = RunStats()
        self._stats_lock = threading.Lock()

    def _wait_for_backlog_below(self, limit: int, deadline: float) -> None:
        """Flow control: moto's SQS costs O(messages in the queue) per call, so keep it short."""
        while time.monotonic() < deadline and self.stack.queue_depth(self.stack.queue_url) >= limit:
            time.sleep(0.05)

    def _poller(self) -> EventSourceMappingPoller:
        invoke = self.injector.make_invoke(self._nested_poller)
        return EventSourceMappingPoller(
            self.stack.consumer_sqs, self.stack.queue_url, invoke, self.batch_size, function_timeout_s=30.0
        )

    def _nested_poller(self) -> EventSourceMappingPoller:
        key = threading.get_ident()
        if key not in self._nested:
            self._nested[key] = self._poller()
        return self._nested[key]

    def _edge_fault(self, form: str) -> int | None:
        planned = getattr(self._local, "planned", None)
        if planned is None or planned.edge_fault is None:
            return None
        planned.edge_fault_fired = True
        return planned.edge_fault

    def _s3_edge(self, s3_request: S3Request) -> int | None:
        """The payloads API's PutObject is about to be made: its planned fault, else the object
        noted for the injector (its tokens) before moto stores it and notifies the queue."""
        fault = self._edge_fault("")
        if fault is None:
            self.injector.note_object(s3_request.key, s3_request.body)
        return fault

    def send(self, planned: Planned) -> None:
        delivery = planned.delivery
        headers = delivery.headers()  # first: signing may alter a tampered body
        body = delivery.payload()
        self._local.planned = planned
        try:
            gateway = self.stack.gateway_for(planned.path)
            response = gateway.request(planned.method, planned.path, body, headers)
        finally:
            self._local.planned = None
        planned.status = response.status
        planned.request_id = response.request_id
        planned.response_body = response.body[:2000]

    def run(self, stream: Stream) -> RunStats:
        """Call inside `stack.activate()` after `injector.install()`."""
        started = time.monotonic()
        deadline = started + self.time_limit_s
        self.stack.gateway.sqs_fault = self._edge_fault
        if self.stack.payload_gateway is not None:
            self.stack.payload_gateway.s3_fault = self._s3_edge
        sending_done = threading.Event()

        def poll_loop() -> None:
            poller = self._poller()
            try:
                while time.monotonic() < deadline:
                    stats = poller.poll_once()
                    with self._stats_lock:
                        self.stats.poll_rounds += 1
                        self.stats.received += stats.received
                        self.stats.handler_errors += stats.handler_errors
                    if stats.received:
                        continue
                    if sending_done.is_set() and self.stack.queue_depth(self.stack.queue_url) == 0:
                        return
                    time.sleep(0.05)
            except BaseException as exc:
                self.errors.append(exc)
            finally:
                self.errors.extend(e for e in poller.errors if not isinstance(e, InjectedCrash))

        polling_done = threading.Event()

        def consume_loop() -> None:
            """The consumers' teams drain their queues while the stream runs (every call takes
            the moto lock the pollers need: once a second is enough to keep the queues short)."""
            try:
                while not polling_done.wait(1.0):
                    self.stack.collect_consumer_messages(dead_letters=False)
                self.stack.collect_consumer_messages()
            except BaseException as exc:
                self.errors.append(exc)

        consumers = threading.Thread(target=consume_loop, name="consumers")
        consumers.start()
        threads = [threading.Thread(target=poll_loop, name=f"poller-{i}") for i in range(self.pollers)]
        if self.overlap:
            for thread in threads:
                thread.start()
        try:
            with ThreadPoolExecutor(self.senders, thread_name_prefix="sender") as pool:
                for start in range(0, len(stream.requests), self.wave):
                    if self.overlap:
                        self._wait_for_backlog_below(self.wave // 2, deadline)
                    for _ in pool.map(self.send, stream.requests[start : start + self.wave]):
                        pass
        finally:
            self.stats.send_s = time.monotonic() - started
            sending_done.set()
            for thread in threads:
                if not self.overlap:
                    thread.start()
                thread.join()
            polling_done.set()
            consumers.join()
            self.stack.gateway.sqs_fault = None
            if self.stack.payload_gateway is not None:
                self.stack.payload_gateway.s3_fault = None
        for nested in self._nested.values():
            self.errors.extend(e for e in nested.errors if not isinstance(e, InjectedCrash))
        self.stats.wall_s = time.monotonic() - started
        if time.monotonic() >= deadline:
            self.errors.append(TimeoutError(f"stream not drained within {self.time_limit_s:.0f} s"))
        return self.stats
