"""The processor's CloudWatch metrics, as Embedded Metric Format (EMF) log lines: no API calls.

Written against the published specification ("Specification: Embedded metric format",
docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
each document is one JSON object on one line with an ``_aws`` block (``Timestamp`` in epoch
milliseconds and ``CloudWatchMetrics``, a list of directives of ``Namespace``, ``Dimensions``
(a list of dimension sets, each at most 30 names) and ``Metrics`` (``Name``, ``Unit``)), and every
dimension and metric value at the root. A metric value is a number or a list of at most 100
numbers. Lambda sends whatever the function writes to stdout to its log group, and CloudWatch
Logs extracts the metrics from it ("Using the embedded metric format with Lambda"), so the
documents go straight to stdout rather than through ``logging``: the runtime's JSON formatter
would wrap them.

The counts of one invocation are aggregated: one document per (source, status, reason) seen, one
per source for event age and publishing, one for the batch size. That is a few lines per batch
rather than one per record, and every dimension combination is a billed custom metric, so the
sets are few and their values bounded: sources are the configured ones (anything else counts as
``_other``), statuses and reasons are the processor's own constants.

``WEBHOOK_METRICS=off`` turns emission off (tools/bench.py measures both ways).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, TextIO

NAMESPACE = "WebhookIngest"
# Dimension names. Service is the module's `name` (every deployment in an account shares the
# namespace); Source the path segment; Status the outcome below; Reason why it was not processed.
SERVICE, SOURCE, STATUS, REASON = "Service", "Source", "Status", "Reason"

# Metric names.
WEBHOOKS = "Webhooks"  # one per record handled, by outcome
EVENT_AGE = "EventAge"  # processed_at - received_at of each record, ms
PUBLISHED = "Published"  # events handed to the event topic (accepted by SNS)
BATCH_SIZE = "BatchSize"  # records per invocation

# Outcome statuses (the Status dimension). processed: a new row; duplicate: the event was stored
# already (a sender's retry, or SQS redelivering); rejected: signature refused; invalid: the body
# or the message broke the contract; conflict: same event id, another body; failed: a transient
# failure handed back to SQS for a retry (it will be counted again when it is retried); ignored:
# a message acknowledged with nothing to record (S3's test event, reason s3_test_event).
STATUSES = ("processed", "duplicate", "rejected", "invalid", "conflict", "failed", "ignored")
# Statuses whose reason is a dimension too (processed and duplicate have none).
WITH_REASON = frozenset({"rejected", "invalid", "conflict", "failed", "ignored"})
OTHER_SOURCE = "_other"
MAX_VALUES = 100  # EMF: values of one metric in one document

# What the processor emits: metric -> (unit, dimension sets). tests/plan checks the dashboard and
# the alarms against this, and tests/unit checks the emitted documents against it.
METRICS: Mapping[str, tuple[str, tuple[tuple[str, ...], ...]]] = {
    WEBHOOKS: ("Count", ((SERVICE, SOURCE, STATUS), (SERVICE, SOURCE, STATUS, REASON))),
    EVENT_AGE: ("Milliseconds", ((SERVICE, SOURCE),)),
    PUBLISHED: ("Count", ((SERVICE, SOURCE),)),
    BATCH_SIZE: ("Count", ((SERVICE,),)),
}

_FUNCTION_SUFFIX = "-processor"  # main.tf: processor_function_name = "<name>-processor"


def service_name(environ: Mapping[str, str] | None = None) -> str:
    """The module's ``name``, from the function's name (Lambda sets AWS_LAMBDA_FUNCTION_NAME)."""
    env = os.environ if environ is None else environ
    function = env.get("AWS_LAMBDA_FUNCTION_NAME") or "webhook-ingest"
    return function[: -len(_FUNCTION_SUFFIX)] if function.endswith(_FUNCTION_SUFFIX) else function


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("WEBHOOK_METRICS", "on").lower() not in ("off", "0", "false")


def record_source(record: Any) -> str | None:
    """The source attribute of a raw SQS record, for a record the processor could not handle."""
    try:
        value = record["messageAttributes"]["source"]["stringValue"]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


class BatchMetrics:
    """The metrics of one invocation; ``emit`` writes them as EMF documents."""

    def __init__(
        self,
        service: str,
        sources: Collection[str],
        out: TextIO | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self._sources = sources
        self._out = out
        self._clock = clock
        self.size = 0
        self.counts: dict[tuple[str, str, str | None], int] = {}
        self.ages: dict[str, list[int]] = {}
        self.published: dict[str, int] = {}

    def _source(self, source: str | None) -> str:
        return source if source in self._sources else OTHER_SOURCE

    def outcome(
        self, source: str | None, status: str, reason: str | None = None, age_ms: int | None = None
    ) -> None:
        key = (self._source(source), status, reason if status in WITH_REASON else None)
        self.counts[key] = self.counts.get(key, 0) + 1
        if age_ms is not None:
            self.ages.setdefault(key[0], []).append(max(0, age_ms))

    def publish(self, source: str | None) -> None:
        name = self._source(source)
        self.published[name] = self.published.get(name, 0) + 1

    def documents(self) -> list[dict[str, Any]]:
        stamp = int(self._clock() * 1000)

        def document(
            metrics: list[tuple[str, Any]], dims: dict[str, str], sets: list[list[str]]
        ) -> dict[str, Any]:
            directive = {
                "Namespace": NAMESPACE,
                "Dimensions": sets,
                "Metrics": [{"Name": name, "Unit": METRICS[name][0]} for name, _ in metrics],
            }
            return {"_aws": {"Timestamp": stamp, "CloudWatchMetrics": [directive]}, **dims, **dict(metrics)}

        docs = [document([(BATCH_SIZE, self.size)], {SERVICE: self.service}, [[SERVICE]])]
        for (source, status, reason), count in self.counts.items():
            dims = {SERVICE: self.service, SOURCE: source, STATUS: status}
            sets = [[SERVICE, SOURCE, STATUS]]
            if reason is not None:
                dims[REASON] = reason
                sets.append([SERVICE, SOURCE, STATUS, REASON])
            docs.append(document([(WEBHOOKS, count)], dims, sets))
        for source in sorted(set(self.ages) | set(self.published)):
            ages = self.ages.get(source, [])
            dims = {SERVICE: self.service, SOURCE: source}
            first: list[tuple[str, Any]] = (
                [(PUBLISHED, self.published[source])] if source in self.published else []
            )
            # At most MAX_VALUES values of a metric per document: a big batch takes several.
            chunks = [ages[i : i + MAX_VALUES] for i in range(0, len(ages), MAX_VALUES)] or [[]]
            for i, chunk in enumerate(chunks):
                metrics = (first if i == 0 else []) + ([(EVENT_AGE, chunk)] if chunk else [])
                docs.append(document(metrics, dims, [[SERVICE, SOURCE]]))
        return docs

    def emit(self) -> None:
        out = self._out or sys.stdout
        out.write("".join(json.dumps(d, separators=(",", ":")) + "\n" for d in self.documents()))
        out.flush()
