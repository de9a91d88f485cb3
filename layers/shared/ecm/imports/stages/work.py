"""What the stages share: the import's work area in S3 (rows, plan chunks, manifest), the
tables a plan writes, the file record, result files and webhook events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecm.errors import FileFormatError
from ecm.imports.records import get_import_file
from ecm.imports.results import SKIPPED, RowOutcomes, RowResult, write_result_files
from ecm.kinds.registry import ImportKind
from ecm.log import logger
from ecm.models import Authorization, Patient, PatientKey, TableModel
from ecm.webhooks import publish_import_event

Item = dict[str, Any]
#: The tables a plan writes, by the name plan entries give them (``entry["t"]``).
PLANNED_MODELS: dict[str, type[TableModel]] = {
    "patients": Patient,
    "keys": PatientKey,
    "authorizations": Authorization,
}


TABLE_KEYS = {"patients": "id", "keys": "key", "authorizations": "auth_no"}


def planned_table(logical: str) -> str:
    return str(PLANNED_MODELS[logical].Meta.table_name)


def load_file(kind: str, file_id: int) -> Item:
    record = get_import_file(kind, file_id)
    if record is None:
        raise FileFormatError(f"import file {kind}#{file_id} does not exist")
    return record


NOT_IMPORTED = RowResult(
    SKIPPED, None, "not imported: other rows of the file are invalid (all-or-nothing import)"
)


ROLLED_BACK = RowResult(
    SKIPPED, None, "not imported: the import failed and was rolled back; nothing was kept"
)


def write_results(
    kind: ImportKind,
    file_id: int,
    failures: dict[int, list[str]],
    planned: Callable[[], list[list[Any]]] | None,
    note: str,
    default: RowResult,
) -> None:
    """The result and errors CSVs. A failure here costs the files, never the import.

    ``planned`` loads the plan's outcomes once the original file is open: opening an XLSX
    peaks ~65 MB above what the sheet then keeps, and 100,000 outcomes hold ~23 MB.
    """
    record = load_file(kind.name, file_id)
    if not record.get("file_type"):
        return
    try:
        write_result_files(
            kind.name,
            kind.result_id_column,
            record,
            lambda: RowOutcomes(failures, planned() if planned else None, note, default),
        )
    except Exception as exc:
        logger.error(
            "result files not written",
            extra={"kind": kind.name, "file_id": file_id, "error_type": type(exc).__name__},
        )


def announce(kind_name: str, file_id: int, event_type: str) -> None:
    """Tell the import's webhook (if any) where the import stands; never fails the import."""
    record = get_import_file(kind_name, file_id)
    if record is not None:
        publish_import_event(kind_name, record, event_type)


def failure_messages(failures: dict[int, list[str]]) -> list[str]:
    return [f"Row {row}: {reason}" for row in sorted(failures) for reason in failures[row]]


def lock_holder(kind: str, file_id: int) -> str:
    return f"{kind}#{file_id}"


#: ApplyFunction's timeout in template.yaml: no apply chunk runs longer (a test keeps both).
APPLY_SECONDS = 120
#: What a file record's stage says once its rollback has begun: apply chunks stop.
ROLLING_BACK = ("rolling_back", "rolled_back")


#: The meta items that say an apply chunk runs start with this.
APPLYING_PREFIX = "applying#"


def applying_key(kind: str, file_id: int, chunk: int) -> str:
    """The meta item that says an apply chunk runs (its rollback waits until it ends)."""
    return f"{APPLYING_PREFIX}{kind}#{file_id}#{chunk}"
