"""Export records: created when asked, updated by the export as it runs, read by the API.

Ids come from the counter item (id 0), as import files' do, so a page of the list is one
BatchGetItem of known ids and ``total_count`` is the counter.
"""

from __future__ import annotations

from typing import Any

from ecm.clock import iso_timestamp
from ecm.models import ExportRecord
from ecm.models.access import as_model, get, newest_first_page, next_record_id, set_attributes
from ecm.models.exports import EXPORTS

Item = dict[str, Any]


def create_export_record(**fields: Any) -> Item:
    now = iso_timestamp()
    record: Item = {
        "scope": EXPORTS,
        "id": next_record_id(ExportRecord, EXPORTS),
        "status": "pending",
        "rows_processed": 0,
        "warnings": [],
        "errors": [],
        "created_at": now,
        "updated_at": now,
        **fields,
    }
    as_model(ExportRecord, record).save(condition=ExportRecord.id.does_not_exist())
    return record


def get_export_record(export_id: int) -> Item | None:
    return get(ExportRecord, EXPORTS, export_id) if export_id > 0 else None


def update_export_record(export_id: int, **fields: Any) -> None:
    """Set the given attributes (None removes one)."""
    set_attributes(ExportRecord(EXPORTS, export_id), **{**fields, "updated_at": iso_timestamp()})


def list_export_records(page: int, per_page: int) -> tuple[list[Item], dict[str, int]]:
    return newest_first_page(ExportRecord, EXPORTS, page, per_page)
