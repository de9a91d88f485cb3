"""Validate: read the file once, validate every row, store the valid rows in chunks. No lock,
no patient data: what the rows say, not what they change."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

from ecm.clients import client
from ecm.errors import FileFormatError, ImportRejected
from ecm.files.fields import FieldMap
from ecm.files.kept import KEPT, RECORD_KEY
from ecm.files.readers import WORKBOOK_TYPES, HeaderAt, RecordStream, detect_file_type, read_records
from ecm.files.suggestions import unmapped_columns
from ecm.imports.records import (
    generated_filename,
    header_fields,
    mark_failed,
    summarize_errors,
    update_import_file,
)
from ecm.imports.results import ROW_PREFIX, save_failures
from ecm.imports.stages.work import NOT_IMPORTED, Item, announce, load_file, write_results
from ecm.imports.work_area import put_json, rows_key
from ecm.kinds.registry import VALID_ROWS, ImportKind, get_kind
from ecm.log import count_metric, logger
from ecm.plans.records import plan_columns
from ecm.settings import get_settings

TYPED_CELL_TYPES = WORKBOOK_TYPES


def _duplicate_errors(
    kind: ImportKind, seen: dict[str, int], row_number: int, record: Item
) -> list[str]:
    value = record.get(kind.unique_field)
    if not value:
        return []
    folded = str(value).upper()
    first = seen.get(folded)
    if first is None:
        seen[folded] = row_number
        return []
    return [f"Row {row_number}: duplicate {kind.unique_label} '{value}' (also on row {first})"]


def file_field_map(kind: ImportKind, record: Item) -> FieldMap:
    """How this file's headers are read: the headers its plan maps first (a MIF that names
    its plan), then the names we ship."""
    if not kind.takes_plan:
        return kind.field_map
    return kind.field_map.with_columns(plan_columns(record.get("plan")))


def validate_stage(kind_name: str, file_id: int) -> Item:
    """Read and validate every row; write normalised rows in chunks. Writes no patient data."""
    kind = get_kind(kind_name)
    settings = get_settings()
    record = load_file(kind_name, file_id)
    if record["status"] in ("completed", "failed"):
        return {"valid": record["status"] == "completed", "rows": record.get("rows_total") or 0}
    update_import_file(
        kind_name, file_id, status="processing", stage="validating", rows_processed=0
    )
    announce(kind_name, file_id, "import.processing")
    failures: dict[int, list[str]] = {}
    header: list[HeaderAt] = []
    unmapped: list[Item] = []
    kept: list[str] = []
    field_map = file_field_map(kind, record)
    rows_read = False  # every row was read (so a result file can list them)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload"
        client("s3").download_file(settings.files_bucket, record["s3_key"], str(path))
        try:
            file_type = detect_file_type(
                path,
                kind.file_types,
                declared=record.get("declared_type"),
                data_uri_type=record.get("data_uri_type"),
                filename=record.get("original_name"),
            )
            update_import_file(
                kind_name,
                file_id,
                file_type=file_type,
                filename=generated_filename(kind_name, file_type, record["created_at"]),
            )
            outcome = _validate_rows(
                kind,
                file_id,
                path,
                file_type,
                failures,
                record.get("mode") == VALID_ROWS,
                header,
                field_map,
                unmapped,
                kept,
            )
            rows_read = True
        except FileFormatError as exc:
            outcome = ImportRejected([str(exc)])
    if isinstance(outcome, ImportRejected):
        if rows_read and failures:  # before the status: "failed" means the files are there
            write_results(kind, file_id, failures, None, "", NOT_IMPORTED)
        mark_failed(
            kind_name,
            file_id,
            outcome.errors,
            warnings=summarize_errors(outcome.warnings, "warning"),
            stage="validated",
            records_failed=len(failures),
            unmapped_columns=unmapped,
            **header_fields(header),
        )
        announce(kind_name, file_id, "import.failed")
        count_metric("ImportsRejected", 1, kind=kind_name)
        count_metric("RowsFailed", len(failures), kind=kind_name)
        logger.info(
            "import rejected",
            extra={"kind": kind_name, "file_id": file_id, "error_count": len(outcome.errors)},
        )
        return {"valid": False, "rows": 0}
    rows, chunks, warnings = outcome
    if failures:
        save_failures(kind_name, file_id, "validate", failures)
    update_import_file(
        kind_name,
        file_id,
        **header_fields(header),
        rows_total=rows,
        rows_processed=rows,
        records_failed=len(failures),
        chunk_count=chunks,
        warnings=summarize_errors(warnings, "warning"),
        chunk_rows=settings.chunk_rows,
        unmapped_columns=unmapped,
        kept_columns=kept or None,
        stage="validated",
    )
    logger.info("import validated", extra={"kind": kind_name, "file_id": file_id, "rows": rows})
    return {"valid": True, "rows": rows, "chunks": chunks, "dry_run": bool(record.get("dry_run"))}


def validate_file(
    kind: ImportKind,
    path: Path,
    file_type: str,
    on_chunk: Callable[[list[tuple[int, Item]]], None],
    max_rows: int,
    chunk_rows: int,
    header: list[HeaderAt] | None = None,
    failures: dict[int, list[str]] | None = None,
    keep_valid: bool = False,
    *,
    field_map: FieldMap | None = None,
    unmapped: list[Item] | None = None,
    kept_headers: list[str] | None = None,
) -> tuple[int, list[str]] | ImportRejected:
    """Read and validate every row of a local file, handing valid rows over in chunks.

    Returns (rows, warnings), or every error when the import cannot go on: any invalid row
    (all-or-nothing), or no valid row at all (``keep_valid``, the ``valid_rows`` mode). Then
    the rows already handed over must be discarded. ``failures`` collects each invalid
    row's reasons; ``header`` receives where the header row was found (CSV and workbooks),
    ``unmapped`` the columns no field is known by, each with the fields it may be, and
    ``kept_headers`` those a map that keeps them kept: each valid record holds its cells
    of them as text under ``RECORD_KEY``, aligned with these headers.
    ``field_map`` reads the headers (the kind's own by default). The benchmark measures
    exactly this function.
    """
    field_map = field_map or kind.field_map
    stream = read_records(path, file_type, field_map, max_rows)
    if header is not None and stream.header is not None:
        header.append(stream.header)  # where the header row was taken from, failed or not
    if stream.missing_required or stream.header_errors:
        _note_unmapped(field_map, stream, unmapped)
        return ImportRejected(
            [f"Missing required column: {name}" for name in stream.missing_required]
            + stream.header_errors,
            stream.warnings,
        )
    typed = file_type in TYPED_CELL_TYPES
    today = date.today()
    errors: list[str] = []
    failed = failures if failures is not None else {}
    seen: dict[str, int] = {}
    buffer: list[tuple[int, Item]] = []
    rows = handed = 0
    validate = kind.validate_row
    kept = stream.kept
    for row_number, values in stream.records:
        rows += 1
        normalised, row_errors = validate(row_number, values, typed, today)
        row_errors += _duplicate_errors(kind, seen, row_number, normalised)
        if row_errors:
            errors.extend(row_errors)
            failed[row_number] = [ROW_PREFIX.sub("", e, count=1) for e in row_errors]
            continue
        if errors and not keep_valid:
            continue  # the import fails: stop handing rows over, keep collecting errors
        if kept is not None and (texts := kept.texts(values.get(KEPT))):
            normalised[RECORD_KEY] = texts
        buffer.append((row_number, normalised))
        if len(buffer) >= chunk_rows:
            on_chunk(buffer)
            handed += len(buffer)
            buffer = []
    _note_unmapped(field_map, stream, unmapped)
    if kept is not None:
        # First: a record shows the first 100 warnings, and a file of 100 kept columns has
        # as many warnings naming each one.
        stream.warnings[:0] = kept.warnings()
        if kept_headers is not None:
            kept_headers.extend(kept.headers)
    if rows == 0:
        errors.append("The file has no data rows")
    if errors and (not keep_valid or handed + len(buffer) == 0):
        return ImportRejected(errors, stream.warnings)
    if buffer:
        on_chunk(buffer)
    return rows, stream.warnings


def _note_unmapped(field_map: FieldMap, stream: RecordStream, into: list[Item] | None) -> None:
    """The stream's unknown columns, with suggestions, once its header (XML: its records)
    has been read."""
    if into is not None:
        into.extend(unmapped_columns(field_map, stream.unmapped, stream.fields))


def _validate_rows(
    kind: ImportKind,
    file_id: int,
    path: Path,
    file_type: str,
    failures: dict[int, list[str]],
    keep_valid: bool,
    header: list[HeaderAt],
    field_map: FieldMap,
    unmapped: list[Item],
    kept: list[str],
) -> tuple[int, int, list[str]] | ImportRejected:
    settings = get_settings()
    written = handed = 0

    def store_chunk(rows: list[tuple[int, Item]]) -> None:
        nonlocal written, handed
        put_json(rows_key(kind.name, file_id, written), rows)
        written += 1
        handed += len(rows)
        update_import_file(kind.name, file_id, rows_processed=handed + len(failures))

    outcome = validate_file(
        kind,
        path,
        file_type,
        store_chunk,
        settings.max_rows,
        settings.chunk_rows,
        header,
        failures,
        keep_valid,
        field_map=field_map,
        unmapped=unmapped,
        kept_headers=kept,
    )
    if isinstance(outcome, ImportRejected):
        return outcome
    rows, warnings = outcome
    return rows, written, warnings
