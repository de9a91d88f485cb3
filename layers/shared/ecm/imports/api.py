"""The HTTP side of imports, shared by every kind: receive a file, start its import, answer
201 when it finishes within the synchronous window (else 202), list, detail and the
failed rows' errors."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from ecm.api.params import parse_id
from ecm.aws_errors import is_retryable
from ecm.clock import wait_for_final
from ecm.errors import ApiError
from ecm.files.readers.detect import accepted_types
from ecm.files.sources import receive
from ecm.imports.corrections import load_corrections
from ecm.imports.records import (
    get_import_file,
    list_import_files,
)
from ecm.imports.row_errors import load_error_rows
from ecm.imports.schemas import CHANGE_NAMES, ImportSource
from ecm.imports.starting import register_file, start_import
from ecm.imports.uploads import expire_if_due
from ecm.imports.work_area import get_json, records_key
from ecm.kinds.registry import ALL_OR_NOTHING, VALID_ROWS, ImportKind, get_kind
from ecm.log import logger
from ecm.plans import check_plan_option
from ecm.settings import get_settings
from ecm.store import presigned_get
from ecm.webhooks import validate_webhook_url

Item = dict[str, Any]
FINAL = ("completed", "failed")


def check_import_request(kind: ImportKind, request: ImportSource) -> None:
    """What the body's model cannot say alone: the kind's formats, a reachable webhook."""
    if request.file_type and request.file_type.lower() not in accepted_types(kind.file_types):
        raise ApiError(
            422,
            f"{kind.body_key}.file_type must be one of: {', '.join(kind.file_types)}",
        )
    if request.webhook_url is not None:
        validate_webhook_url(request.webhook_url, field=f"{kind.body_key}.webhook_url")
    check_plan_option(request.plan, f"{kind.body_key}.plan", accepted=kind.takes_plan)


def wait_for_import(kind: ImportKind, file_id: int, seconds: float) -> Item:
    def read() -> Item:
        record = get_import_file(kind.name, file_id)
        assert record is not None
        return record

    return wait_for_final(read, FINAL, seconds)


def _skipped(record: Item) -> Item:
    """The rows a valid_rows import skipped, and why (none in all_or_nothing mode), and the
    columns it could not read, with what each may be."""
    return {
        "records_failed": int(record.get("records_failed") or 0),
        "errors": (record.get("errors") or []) if record.get("mode") == VALID_ROWS else [],
        "unmapped_columns": record.get("unmapped_columns") or [],
    }


def _changes(kind: ImportKind, record: Item) -> Item:
    """A MIF's changes against its plan's list, and the CSV naming each member (null for a
    file that names no plan, or one that has not ended)."""
    if not kind.takes_plan:
        return {}
    counts = record.get("changes")
    return {
        "changes": {name: int(counts.get(name) or 0) for name in CHANGE_NAMES}
        if counts is not None
        else None,
        "changes_file_url": _presigned_if(record.get("changes_file_key")),
    }


def import_result(kind: ImportKind, record: Item) -> tuple[int, Item]:
    """201 with the documented body, 422 with the errors, or 202 while it still runs."""
    failed_rows = int(record.get("records_failed") or 0)
    if record["status"] == "completed" and record.get("dry_run"):
        dry: Item = {
            "message": "Dry run: the file is valid; nothing was written"
            if not failed_rows
            else "Dry run: nothing was written; the failed rows would be skipped",
            "dry_run": True,
            kind.id_field: int(record["id"]),
            "would_create": int(record.get("would_create") or 0),
            "would_update": int(record.get("would_update") or 0),
            "warnings": record.get("warnings") or [],
            **_skipped(record),
            **_changes(kind, record),
        }
        return 200, dry
    if record["status"] == "completed":
        body: Item = {
            "message": kind.success_message,
            "imported_count": int(record["records_imported"]),
            "updated_count": int(record["updated_count"]),
            kind.id_field: int(record["id"]),
            "created_count": int(record["created_count"]),
            "warnings": record.get("warnings") or [],
            **_skipped(record),
            **_changes(kind, record),
        }
        return 201, body
    if record["status"] == "failed":
        raise ApiError(422, *(record.get("errors") or [record.get("import_errors") or "failed"]))
    return 202, {kind.id_field: int(record["id"]), "status": "processing"}


def create_import(kind_name: str, request: ImportSource, user_id: Any) -> tuple[int, Item]:
    started = time.monotonic()
    kind = get_kind(kind_name)
    check_import_request(kind, request)
    received = receive(kind.body_key, request.file, request.url, request.path)
    record = register_file(kind, received, request.file_type, user_id, request)
    logger.info(
        "import received",
        extra={"kind": kind.name, "file_id": record["id"], "source_type": received.source_type},
    )
    return run_import(kind, int(record["id"]), started)


def run_import(kind: ImportKind, file_id: int, started: float) -> tuple[int, Item]:
    """Start the file's import and answer as it ends, or 202 once the window has passed
    (``started``: when the request came, by ``time.monotonic``)."""
    start_import(kind, file_id)
    # The whole request, download included, must answer within API Gateway's 29 s.
    remaining = get_settings().sync_wait_seconds - (time.monotonic() - started)
    try:
        final = wait_for_import(kind, file_id, max(remaining, 0.5))
    except Exception as exc:
        if not is_retryable(exc):
            raise
        # The import runs: a 503 would have the client post the file again; it polls.
        return 202, {kind.id_field: file_id, "status": "processing"}
    return import_result(kind, final)


# --- reading back ------------------------------------------------------------------------


def _presigned(key: str) -> str:
    return presigned_get(key)


def _presigned_if(key: str | None) -> str | None:
    return _presigned(key) if key else None


def original_filename(record: Item) -> str | None:
    """The name the file came with (records from before it was kept apart: the name
    received, unless the file came inline, which had none)."""
    if "original_filename" in record:
        return record["original_filename"]  # type: ignore[no-any-return]
    return None if record.get("source_type") == "base64" else record.get("original_name")


def file_summary(kind: ImportKind, record: Item) -> Item:
    record = expire_if_due(record)
    summary: Item = {
        "id": int(record["id"]),
        "filename": record.get("filename"),
        "original_filename": original_filename(record),
        "file_type": record.get("file_type"),
        "source_type": record["source_type"],
        "plan": record.get("plan"),
        "records_imported": int(record.get("records_imported") or 0),
        "records_updated": int(record.get("records_updated") or 0),
        "created_count": int(record.get("created_count") or 0),
        "updated_count": int(record.get("updated_count") or 0),
        "import_errors": record.get("import_errors"),
        "status": record["status"],
        "stage": record.get("stage"),
        "queue_position": record.get("queue_position"),
        "rows_total": record.get("rows_total"),
        "rows_processed": int(record.get("rows_processed") or 0),
        "warnings": record.get("warnings") or [],
        "sheet_name": record.get("sheet_name"),
        "header_row": record.get("header_row"),
        "dry_run": bool(record.get("dry_run")),
        "mode": record.get("mode") or ALL_OR_NOTHING,
        "would_create": record.get("would_create"),
        "would_update": record.get("would_update"),
        "records_failed": int(record.get("records_failed") or 0),
        "unmapped_columns": record.get("unmapped_columns") or [],
        "result_file_url": _presigned_if(record.get("result_file_key")),
        "errors_file_url": _presigned_if(record.get("errors_file_key")),
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "file_url": (
            _presigned(record["s3_key"]) if record["status"] not in ("waiting", "expired") else None
        ),
        "expires_at": record.get("expires_at"),
        "corrected_from": _int_or_none(record.get("corrected_from")),
        **_changes(kind, record),
    }
    return summary


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def list_files(kind_name: str, page: int | None, per_page: int | None) -> Item:
    """Files are read by id, so a page costs its size whatever its number."""
    kind = get_kind(kind_name)
    page, per_page = page or 1, per_page or 25
    records, pagination = list_import_files(kind.name, page, per_page)
    return {kind.list_key: [file_summary(kind, r) for r in records], "pagination": pagination}


def parse_file_id(kind: ImportKind, raw: str) -> int:
    return parse_id(raw, kind.not_found)


def file_detail(kind_name: str, raw_id: str, page: int | None, per_page: int | None) -> Item:
    """The file and what it imported (frozen at import time), paged by records_page."""
    kind = get_kind(kind_name)
    record = get_import_file(kind.name, parse_file_id(kind, raw_id))
    if record is None:
        raise ApiError(404, kind.not_found)
    page, per_page = page or 1, per_page or 500
    detail = file_summary(kind, record)
    imported = _rows_written(record)
    detail[kind.records_key] = (
        _imported_records(kind, record, page, per_page) if record["status"] == "completed" else []
    )
    detail["corrections"] = [asdict(c) for c in load_corrections(record)]
    detail["records_pagination"] = {
        "current_page": page,
        "total_pages": -(-imported // per_page) if record["status"] == "completed" else 0,
        "total_count": imported if record["status"] == "completed" else 0,
        "per_page": per_page,
    }
    return {kind.detail_key: detail}


def file_errors(kind_name: str, raw_id: str) -> Item:
    """The failed rows' errors cell by cell, for correcting them in place."""
    kind = get_kind(kind_name)
    record = get_import_file(kind.name, parse_file_id(kind, raw_id))
    if record is None:
        raise ApiError(404, kind.not_found)
    return load_error_rows(record)


def _rows_written(record: Item) -> int:
    """Rows created or updated (``records_imported`` counts only new ones for some kinds)."""
    return int(record.get("created_count") or 0) + int(record.get("updated_count") or 0)


def _chunk_of(record: Item, position: int) -> tuple[int, int]:
    """Which plan chunk holds the n-th imported record, and where in it.

    Chunks hold ``chunk_rows`` records each, except when rows failed in valid_rows mode:
    then the plan stage recorded how many each chunk holds.
    """
    counts = record.get("records_per_chunk")
    if not counts:
        chunk_rows = int(record.get("chunk_rows") or get_settings().chunk_rows)
        return position // chunk_rows, position % chunk_rows
    for chunk, count in enumerate(counts):
        if position < int(count):
            return chunk, position
        position -= int(count)
    return len(counts), 0


def _imported_records(kind: ImportKind, record: Item, page: int, per_page: int) -> list[Item]:
    start = (page - 1) * per_page
    stop = min(start + per_page, _rows_written(record))
    out: list[Item] = []
    chunk, skip = _chunk_of(record, start)
    while start + len(out) < stop:
        snaps = get_json(records_key(kind.name, int(record["id"]), chunk), None)
        if snaps is None:
            break
        out.extend(snaps[skip : skip + (stop - start - len(out))])
        skip = 0
        chunk += 1
    return out
