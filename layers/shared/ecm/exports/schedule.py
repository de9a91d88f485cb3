"""The monthly schedule: on the first of the month, each configured plan's RTF and OTF of
the month that just ended, queued as if an admin had asked for them.

EventBridge delivers a scheduled event at least once: each (event, plan, kind) starts one
export (Powertools idempotency, in the table the inbox uses).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    IdempotencyConfig,
    idempotent_function,
)

from ecm.clients import idempotency_store
from ecm.clock import california_date
from ecm.errors import ApiError
from ecm.exports.api import start_export
from ecm.exports.schemas import ExportCreate
from ecm.log import logger
from ecm.settings import get_settings

SCHEDULE_USER = "schedule"
IDEMPOTENCY_DAYS = 40

config = IdempotencyConfig(
    event_key_jmespath="[event_id, plan, kind, period]",
    expires_after_seconds=IDEMPOTENCY_DAYS * 86400,
    raise_on_no_idempotency_key=True,
)


def previous_month(today: date) -> str:
    return f"{today.replace(day=1) - timedelta(days=1):%Y-%m}"


def _start_once(job: dict[str, str]) -> int:
    @idempotent_function(
        data_keyword_argument="job",
        persistence_store=idempotency_store(),
        config=config,
    )
    def start(job: dict[str, str]) -> int:
        request = ExportCreate.model_validate(
            {
                "kind": job["kind"],
                "plan": job["plan"],
                "period": job["period"],
                "format": get_settings().export_schedule_format,
            }
        )
        return int(start_export(request, SCHEDULE_USER)["id"])

    return int(start(job=job))


def handle_schedule_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Queue last month's files of every configured plan; a plan whose layout is refused is
    reported and skipped, the others still go."""
    config.register_lambda_context(context)
    today = california_date(event.get("time") or None)
    period = previous_month(today)
    queued: list[int] = []
    refused: list[dict[str, Any]] = []
    for plan in get_settings().export_schedule_plans:
        for kind in ("rtf", "otf"):
            job = {
                "event_id": str(event.get("id", "")),
                "plan": plan,
                "kind": kind,
                "period": period,
            }
            try:
                queued.append(_start_once(job))
            except ApiError as exc:
                refused.append({"plan": plan, "kind": kind, "errors": exc.messages})
                logger.warning("scheduled export refused", extra={"plan": plan, "kind": kind})
    return {"period": period, "queued": queued, "refused": refused}
