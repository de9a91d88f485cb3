"""How every import stage runs: with the cyclic collector paused, its CPU logged, and any
unexpected exception turned into one whose message cannot quote a row (PHI): ``ServiceBusy``
when AWS was only busy (the state machine retries the stage), else ``StageFailed``."""

from __future__ import annotations

import contextlib
import functools
import gc
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ecm.aws_errors import error_name, is_retryable
from ecm.errors import (
    ApplyRunning,
    ConcurrentModification,
    FileFormatError,
    ImportRejected,
    InjectedFault,
    LockHeld,
    ServiceBusy,
    StageFailed,
)
from ecm.faults import LambdaCrashed, LambdaTimedOut, fault_point
from ecm.imports.stages.work import Item
from ecm.log import emit_metric, logger, tracer

SAFE_ERRORS = (
    ApplyRunning,
    LambdaCrashed,
    LambdaTimedOut,
    ConcurrentModification,
    FileFormatError,
    ImportRejected,
    InjectedFault,
    LockHeld,
)


class _StagesRunning:
    """How many stages of this process run with the cyclic collector paused."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0


_stages_running = _StagesRunning()


@contextlib.contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Run a stage without the cyclic garbage collector.

    A stage allocates millions of short-lived, acyclic objects (rows, plan entries, item
    bodies) that reference counting frees. With the collector on, the ones alive at a time
    (a chunk's rows and plan) trigger full collections that walk the whole heap: measured at
    15% of an import's CPU, twice the cost of turning a plan chunk into request bodies. Our
    stages make no reference cycles (``tests/unit/test_cycle_free.py``); what others make
    meanwhile is collected when the last running stage ends.
    """
    with _stages_running.lock:
        _stages_running.count += 1
        gc.disable()
    try:
        yield
    finally:
        with _stages_running.lock:
            _stages_running.count -= 1
            if not _stages_running.count:
                gc.enable()


def phi_safe(stage: Callable[[Item, Any], Item]) -> Callable[[Item, Any], Item]:
    """Wrap a stage handler so an unexpected exception leaves only its type in logs."""

    @functools.wraps(stage)
    def run(event: Item, context: Any) -> Item:
        started, cpu_started = time.perf_counter(), time.thread_time()
        chunk = event.get("chunk") if isinstance(event, dict) else None
        try:
            with cycle_collection_paused():
                fault_point(stage.__name__, "start", chunk)
                answer = stage(event, context)
                fault_point(stage.__name__, "end", chunk)
                return answer
        except SAFE_ERRORS:
            raise
        except Exception as exc:
            # Throttling, 5xx, a transaction conflict, a batch left unprocessed: retried by
            # the state machine (``ServiceBusy``), every stage being idempotent; anything
            # else rolls the import back. Either way only the error's code or type is kept.
            name = error_name(exc)
            retryable = is_retryable(exc)
            logger.error(
                "stage failed",
                extra={"stage": stage.__name__, "error_type": name, "retryable": retryable},
            )
            if retryable:
                raise ServiceBusy(f"{stage.__name__}: AWS busy ({name})") from None
            if name != type(exc).__name__:
                raise StageFailed(f"{stage.__name__}: AWS error {name}") from None
            raise StageFailed(f"{stage.__name__}: {name}") from None
        finally:
            # What each stage costs, for sizing memory and timeouts (and the benchmarks).
            seconds = time.perf_counter() - started
            logger.info(
                "stage finished",
                extra={
                    "stage": stage.__name__,
                    "seconds": round(seconds, 4),
                    "cpu_seconds": round(time.thread_time() - cpu_started, 4),
                },
            )
            emit_metric("StageSeconds", MetricUnit.Seconds, seconds, stage=stage.__name__)

    # The stage's answer is ids and counts, its errors our own words: no PHI in the trace.
    return tracer.capture_lambda_handler(run, capture_response=False, capture_error=False)
