"""Timestamps in the API's one format: ISO 8601 UTC with milliseconds and ``Z``; and the
calendar of California, where a day or a month of ECM work begins and ends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

#: Medi-Cal's time zone: a status change's day and a reporting month are California's.
CALIFORNIA = ZoneInfo("America/Los_Angeles")


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_timestamp(moment: datetime | None = None) -> str:
    moment = moment or utc_now()
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def california_date(timestamp: str | None = None) -> date:
    """The California calendar day of an API timestamp (``iso_timestamp``), or of now."""
    moment = datetime.fromisoformat(timestamp) if timestamp else utc_now()
    return moment.astimezone(CALIFORNIA).date()
