"""The HTTP side of exports: check the request, record it, queue it, answer 201 when it is
done within the synchronous window (else 202), list and detail."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

from ecm.api.params import parse_id
from ecm.clients import client
from ecm.clock import california_date, parse_iso_date, wait_for_final
from ecm.errors import ApiError
from ecm.exports.kinds import get_export_kind
from ecm.exports.layouts import LayoutError, load_layout
from ecm.exports.records import (
    create_export_record,
    get_export_record,
    list_export_records,
    update_export_record,
)
from ecm.exports.rows import Period
from ecm.exports.schemas import ExportCreate
from ecm.log import logger
from ecm.settings import get_settings
from ecm.store import presigned_get

Item = dict[str, Any]
NOT_FOUND = "Export not found"
FINAL = ("completed", "failed")


def _period(text: str, today: date) -> Period:
    try:
        period = Period.of(text)
    except ValueError:
        raise ApiError(422, "export.period must be a month as YYYY-MM") from None
    if period.first > today:
        raise ApiError(422, "export.period can't be a month that has not begun")
    return period


def _production_date(text: str | None, period: Period, today: date) -> date:
    if text is None:
        return today
    try:
        produced = parse_iso_date(text)
    except ValueError as exc:
        raise ApiError(422, f"export.production_date {exc}") from None
    if produced < period.first or produced > today:
        raise ApiError(
            422, "export.production_date must be in or after the period, and not in the future"
        )
    return produced


def queue_export(export_id: int) -> None:
    """Hand the export to the export function (its queue delivers at least once)."""
    try:
        client("sqs").send_message(
            QueueUrl=get_settings().export_queue_url,
            MessageBody=json.dumps({"export_id": export_id}),
        )
    except Exception:
        update_export_record(export_id, status="failed", errors=["The export could not be queued"])
        raise


def start_export(request: ExportCreate, created_by: str) -> Item:
    """Check, record and queue an export; the record (status ``pending``)."""
    kind = get_export_kind(request.kind)
    today = california_date()
    period = _period(request.period, today)
    produced = _production_date(request.production_date, period, today)
    try:
        load_layout(kind.name, request.plan, kind.fields)  # a wrong layout is the asker's to fix
    except LayoutError as exc:
        raise ApiError(422, *(f"{exc.source}: {p}" for p in exc.problems)) from None
    record = create_export_record(
        kind=kind.name,
        plan=request.plan,
        period=request.period,
        format=request.format,
        production_date=produced.isoformat(),
        created_by=created_by,
    )
    queue_export(int(record["id"]))
    logger.info("export queued", extra={"export_id": record["id"], "kind": kind.name})
    return record


def create_export(request: ExportCreate, user_id: Any) -> tuple[int, Item]:
    started = time.monotonic()
    record = start_export(request, str(user_id))
    export_id = int(record["id"])
    remaining = get_settings().sync_wait_seconds - (time.monotonic() - started)
    record = wait_for_final(
        lambda: get_export_record(export_id) or record, FINAL, max(remaining, 0.0)
    )
    if record["status"] in FINAL:
        return 201, {"export_id": export_id, "status": record["status"]}
    return 202, {"export_id": export_id, "status": "processing"}


def export_summary(record: Item) -> Item:
    key = record.get("file_key") if record.get("status") == "completed" else None
    return {
        "id": int(record["id"]),
        "kind": record["kind"],
        "plan": record["plan"],
        "period": record["period"],
        "format": record["format"],
        "production_date": record["production_date"],
        "status": record["status"],
        "rows_processed": int(record.get("rows_processed") or 0),
        "row_count": record.get("row_count"),
        "skipped_count": record.get("skipped_count"),
        "file_name": record.get("file_name"),
        "file_key": key,
        "file_url": presigned_get(key) if key else None,
        "file_bytes": record.get("file_bytes"),
        "sha256": record.get("sha256"),
        "warnings": record.get("warnings") or [],
        "errors": record.get("errors") or [],
        "created_by": record.get("created_by"),
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
    }


def list_exports(page: int | None, per_page: int | None) -> Item:
    records, pagination = list_export_records(page or 1, per_page or 25)
    return {"exports": [export_summary(r) for r in records], "pagination": pagination}


def export_detail(raw_id: str) -> Item:
    record = get_export_record(parse_id(raw_id, NOT_FOUND))
    if record is None:
        raise ApiError(404, NOT_FOUND)
    skipped_key = record.get("skipped_file_key") if record.get("status") == "completed" else None
    return {
        "export": {
            **export_summary(record),
            "skipped": [
                {
                    "patient_id": int(s["patient_id"]),
                    "activity_id": int(s["activity_id"]) if s.get("activity_id") else None,
                    "reasons": list(s.get("reasons") or []),
                }
                for s in record.get("skipped") or []
            ],
            "skipped_file_url": presigned_get(skipped_key) if skipped_key else None,
        }
    }
