"""The one Powertools logger, tracer and metrics. Log ids, counts and stages; never a row
value (PHI). Traces record no response or error text (responses hold patients); metrics
have only the import kind and the stage as dimensions."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = "ecm-imports"
logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)


def count_metric(name: str, value: float, **dimensions: str) -> None:
    """One EMF metric, flushed now, with its own dimensions (kind, stage: no PHI)."""
    emit_metric(name, MetricUnit.Count, value, **dimensions)


def emit_metric(name: str, unit: MetricUnit, value: float, **dimensions: str) -> None:
    with single_metric(name=name, unit=unit, value=value, namespace=SERVICE) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)
