"""Import-file records: one per imported file, per kind, with dense integer ids.

Ids come from a counter item (id 0) in the same partition, so a page of the list is a
BatchGetItem of known ids and ``total_count`` is the counter: no scan, whatever the size.
"""

from __future__ import annotations

from typing import Any

from ecm.clock import iso_timestamp, utc_now
from ecm.files.readers import HeaderAt
from ecm.imports.work_area import original_key
from ecm.models import ImportFile
from ecm.models.access import as_model, get, newest_first_page, next_record_id, set_attributes

Item = dict[str, Any]
MAX_ERRORS_SHOWN = 100


def generated_filename(kind: str, file_type: str, created: str) -> str:
    """``mif_20241124_120530.csv`` from the record's creation time."""
    stamp = created[:19].replace("-", "").replace(":", "").replace("T", "_")
    return f"{kind}_{stamp}.{file_type}"


def create_import_file(kind: str, source_type: str, original_name: str, **extra: Any) -> Item:
    file_id = next_record_id(ImportFile, kind)
    now = iso_timestamp()
    record: Item = {
        "kind": kind,
        "id": file_id,
        "original_name": original_name,
        "source_type": source_type,
        "status": "pending",
        "stage": "received",
        "file_type": None,
        "records_imported": 0,
        "records_updated": 0,
        "created_count": 0,
        "updated_count": 0,
        "rows_total": None,
        "rows_processed": 0,
        "import_errors": None,
        "errors": [],
        "warnings": [],
        "s3_key": original_key(kind, file_id, original_name),
        "counters_before": {},
        "counters_after": {},
        "counted": {},
        "created_at": now,
        "updated_at": now,
        **extra,
    }
    as_model(ImportFile, record).save(condition=ImportFile.id.does_not_exist())
    return record


def get_import_file(kind: str, file_id: int) -> Item | None:
    if file_id <= 0:
        return None
    return get(ImportFile, kind, file_id)


def update_import_file(kind: str, file_id: int, **fields: Any) -> None:
    """Set the given attributes (None removes one); each stage sets only its own."""
    set_attributes(ImportFile(kind, file_id), **{**fields, "updated_at": iso_timestamp()})


def add_rows_processed(kind: str, file_id: int, rows: int) -> None:
    """Apply chunks run in parallel: an atomic ADD, never a read-modify-write."""
    ImportFile(kind, file_id).update(
        actions=[ImportFile.rows_processed.add(rows), ImportFile.updated_at.set(iso_timestamp())]
    )


def summarize_errors(errors: list[str], noun: str = "error") -> list[str]:
    """The first 100 messages and a line saying how many more there are: a file record must
    stay far below DynamoDB's 400 KB item limit whatever the file holds."""
    if len(errors) <= MAX_ERRORS_SHOWN:
        return list(errors)
    extra = len(errors) - MAX_ERRORS_SHOWN
    return [*errors[:MAX_ERRORS_SHOWN], f"... and {extra} more {noun}{'s' if extra > 1 else ''}"]


def mark_failed(kind: str, file_id: int, errors: list[str], **fields: Any) -> None:
    shown = summarize_errors(errors)
    update_import_file(
        kind,
        file_id,
        status="failed",
        errors=shown,
        import_errors="\n".join(shown),
        failed_at=iso_timestamp(utc_now()),
        **fields,
    )


def list_import_files(kind: str, page: int, per_page: int) -> tuple[list[Item], dict[str, int]]:
    return newest_first_page(ImportFile, kind, page, per_page)


def header_fields(header: list[HeaderAt]) -> Item:
    """Where the import took the header row from, as the file record keeps it."""
    if not header:
        return {}
    at = header[0]
    return {"sheet_name": at.sheet_name, "header_row": at.row, "header_delimiter": at.delimiter}


def header_at(record: Item) -> HeaderAt | None:
    """The header a file record says its import used (result files read from it)."""
    if not record.get("header_row"):
        return None
    return HeaderAt(
        record.get("sheet_name"), int(record["header_row"]), record.get("header_delimiter")
    )
