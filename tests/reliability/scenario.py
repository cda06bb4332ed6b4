"""Driving a stream (or a hand-written scenario) and checking it: shared by the tests."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tools import webhookctl

from .deployed import AppliedStack, serialize_calls
from .faults import FaultInjector, StreamRunner
from .reconcile import Finding, Reconciliation, reconcile, reconcile_consumers, s3_body_reader
from .stream import Stream, as_stream


@contextlib.contextmanager
def processing(stack: AppliedStack, injector: FaultInjector) -> Iterator[None]:
    """The in-process processor pointed at `stack`, with the injector's faults installed."""
    with stack.activate():
        injector.install()
        yield


def drive(stack: AppliedStack, injector: FaultInjector, stream: Stream, **options: Any) -> StreamRunner:
    """Send `stream` while pollers process; returns when the queue is drained. Inside `processing()`."""
    runner = StreamRunner(stack, injector, **options)
    runner.run(stream)
    return runner


def drain(stack: AppliedStack, injector: FaultInjector, **options: Any) -> StreamRunner:
    """Poll until the main queue is empty (after a replay, say). Inside `processing()`."""
    return drive(stack, injector, as_stream([]), **options)


def ctl(stack: AppliedStack, *argv: str) -> tuple[int, str]:
    """Run tools/webhookctl.py against the stack's account: (exit status, output)."""
    out = io.StringIO()
    code = webhookctl.main(["--endpoint-url", stack.endpoint_url, "--region", "us-east-1", *argv], out=out)
    return code, out.getvalue()


@dataclass
class Recovery:
    """What the operator did after the stream, for the summary and the check."""

    runners: list[StreamRunner] = field(default_factory=list)
    summary: list[tuple[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def recover_operator_faults(
    stack: AppliedStack,
    injector: FaultInjector,
    stream: Stream,
    *,
    mistyped_since_ms: int | None = None,
    **options: Any,
) -> Recovery:
    """The operator's fixes once the stream has drained, each followed by a drain. Inside `processing()`.

    1. The mistyped secret is corrected first (and the processor's cache has expired), so
       nothing replayed below meets the typo.
    2. Sources removed while their messages were queued are back: `dlq replay` (poison
       deliveries go round again and return to the DLQ).
    3. `history requeue` of the mistyped source's rows rejected since the typo
       (`mistyped_since_ms`; all of them without it).
    """
    recovery = Recovery()
    mistyped = sorted({request.source for request in stream.requests if request.rejected_first})
    for name in mistyped:
        stack.fix_secret(name)
    if mistyped:
        injector.forget_secrets()  # as if the cache's TTL had passed
    if any(request.orphaned for request in stream.requests):
        injector.source_removed = False
        code, out = ctl(stack, "dlq", "replay", "--dlq-url", stack.dlq_url, "--queue-url", stack.queue_url)
        if code != 0:
            recovery.problems.append(f"dlq replay exited {code}: {out[-300:]}")
        moved = re.search(r"replayed (\d+) message\(s\)\s*$", out)
        recovery.summary.append(
            ("dlq replay once the sources were back", moved.group(1) if moved else out[-80:])
        )
        recovery.runners.append(drain(stack, injector, **options))
    if mistyped:
        since = []
        if mistyped_since_ms is not None:
            moment = dt.datetime.fromtimestamp(mistyped_since_ms / 1000, dt.UTC)
            since = ["--since", moment.isoformat(timespec="milliseconds")]
        for name in mistyped:
            argv = ["history", "requeue", "--table", stack.table_name, "--source", name, *since]
            code, out = ctl(stack, *argv, "--queue-url", stack.queue_url)
            if code != 0:
                recovery.problems.append(f"history requeue --source {name} exited {code}: {out[-300:]}")
            last = out.strip().splitlines()[-1] if out.strip() else ""
            recovery.summary.append((f"history requeue --source {name} {' '.join(since)}".rstrip(), last))
        recovery.runners.append(drain(stack, injector, **options))
    return recovery


def check(
    stack: AppliedStack,
    stream: Stream,
    injector: FaultInjector | None,
    runners: list[StreamRunner] | None = None,
    extra: list[tuple[str, Any]] | None = None,
    recovery: Recovery | None = None,
) -> Reconciliation:
    """Read the account back and reconcile every request of `stream`."""
    rows = stack.scan_history()
    dlq = stack.peek_queue(stack.dlq_url)
    left = stack.queue_depth(stack.queue_url)
    summary = [*(extra or []), *(recovery.summary if recovery else [])]
    # Rows whose body went to the payload store are checked against the object itself.
    read_body = s3_body_reader(serialize_calls(stack.account.client("s3")))
    result = reconcile(
        stream,
        rows,
        dlq,
        left,
        injector.ledger if injector else None,
        summary,
        read_body=read_body,
        payload_bucket=stack.payload_bucket,
        ingest_keys=stack.ingest_keys() if stack.payload_bucket else None,
    )
    stack.collect_consumer_messages()
    schemes = {name: source.scheme for name, source in stack.sources.items()}
    reconcile_consumers(result, rows, stack.consumers, stack.inbox, schemes, read_body=read_body)
    for runner in [*(runners or []), *(recovery.runners if recovery else [])]:
        for error in runner.errors:
            result.findings.append(Finding("harness error", None, None, repr(error)[:300]))
    for problem in recovery.problems if recovery else []:
        result.findings.append(Finding("operator step failed", None, None, problem))
    return result
