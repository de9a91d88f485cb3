"""Timestamps in the API's one format: ISO 8601 UTC with milliseconds and ``Z``; and the
calendar of California, where a day or a month of ECM work begins and ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

#: Medi-Cal's time zone: a status change's day and a reporting month are California's.
CALIFORNIA = ZoneInfo("America/Los_Angeles")


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_timestamp(moment: datetime | None = None) -> str:
    moment = moment or utc_now()
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


DATE_FORMAT = "must be a date in YYYY-MM-DD format"


def parse_iso_date(value: str) -> date:
    """A date written exactly YYYY-MM-DD (``fromisoformat`` also takes 20240115); a
    ValueError says the format."""
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValueError(DATE_FORMAT) from None
    if len(value) != 10:
        raise ValueError(DATE_FORMAT)
    return parsed


def request_date(value: str | None) -> str | None:
    """A request's date field: YYYY-MM-DD, from 1900 (a pydantic validator)."""
    if value is not None and parse_iso_date(value).year < 1900:
        raise ValueError(DATE_FORMAT)
    return value


def wait_for_final(
    read: Callable[[], dict[str, Any]], final: tuple[str, ...], seconds: float
) -> dict[str, Any]:
    """Read a record until its ``status`` is final or ``seconds`` pass (the synchronous
    window of an import or export request), backing off from 50 ms to 500 ms."""
    deadline = time.monotonic() + seconds
    delay = 0.05
    while True:
        record = read()
        if record["status"] in final or time.monotonic() >= deadline:
            return record
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def california_date(timestamp: str | None = None) -> date:
    """The California calendar day of an API timestamp (``iso_timestamp``), or of now."""
    moment = datetime.fromisoformat(timestamp) if timestamp else utc_now()
    return moment.astimezone(CALIFORNIA).date()
