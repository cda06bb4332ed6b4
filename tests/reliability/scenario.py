"""Driving a stream (or a hand-written scenario) and checking it: shared by the tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .faults import FaultInjector, StreamRunner
from .local_stack import LocalStack
from .reconcile import Finding, Reconciliation, reconcile
from .stream import Stream, as_stream


@contextlib.contextmanager
def processing(stack: LocalStack, injector: FaultInjector) -> Iterator[None]:
    """The in-process processor pointed at `stack`, with the injector's faults installed."""
    with stack.activate():
        injector.install()
        yield


def drive(stack: LocalStack, injector: FaultInjector, stream: Stream, **options: Any) -> StreamRunner:
    """Send `stream` while pollers process; returns when the queue is drained. Inside `processing()`."""
    runner = StreamRunner(stack, injector, **options)
    runner.run(stream)
    return runner


def drain(stack: LocalStack, injector: FaultInjector, **options: Any) -> StreamRunner:
    """Poll until the main queue is empty (after a replay, say). Inside `processing()`."""
    return drive(stack, injector, as_stream([]), **options)


def check(
    stack: LocalStack,
    stream: Stream,
    injector: FaultInjector | None,
    runners: list[StreamRunner] | None = None,
    extra: list[tuple[str, Any]] | None = None,
) -> Reconciliation:
    """Read the account back and reconcile every request of `stream`."""
    rows = stack.scan_history()
    dlq = stack.peek_queue(stack.dlq_url)
    left = stack.queue_depth(stack.queue_url)
    result = reconcile(stream, rows, dlq, left, injector.ledger if injector else None, extra)
    for runner in runners or []:
        for error in runner.errors:
            result.findings.append(Finding("harness error", None, None, repr(error)[:300]))
    return result
