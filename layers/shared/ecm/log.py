"""The one Powertools logger. Log ids, counts and stages; never a row value (PHI)."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="ecm-imports")
