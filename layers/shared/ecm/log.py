"""The one Powertools logger, tracer and metrics. Log ids, counts and stages; never a row
value (PHI). Traces record no response or error text (responses hold patients); metrics
have only the import kind and the stage as dimensions."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

SERVICE = "ecm-imports"
logger = Logger(service=SERVICE)

_making = threading.Lock()


def __getattr__(name: str) -> Tracer:
    """``tracer``, made when a module first takes it from here (the handlers that trace, the
    import stages): a function that never traces (the authorizer, the public API, the
    schedules) does not load the X-Ray SDK at its cold start."""
    if name != "tracer":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _making:
        if "tracer" not in globals():
            # Cold start: loaded by the functions that trace only.
            from ecm.tracing import make_tracer  # noqa: PLC0415

            globals()["tracer"] = make_tracer(SERVICE)
    tracer: Tracer = globals()["tracer"]
    return tracer


def count_metric(name: str, value: float, **dimensions: str) -> None:
    """One EMF metric, flushed now, with its own dimensions (kind, stage: no PHI)."""
    emit_metric(name, MetricUnit.Count, value, **dimensions)


def emit_metric(name: str, unit: MetricUnit, value: float, **dimensions: str) -> None:
    with single_metric(name=name, unit=unit, value=value, namespace=SERVICE) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)
