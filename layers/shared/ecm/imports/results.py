"""Result files: the uploaded file's own columns, plus what happened to each row.

Every import that got as far as reading its rows leaves two CSVs: every row with the record
it created or updated, its status (created, updated, failed, skipped) and the reason; and the
failed rows only, ready to fix and upload again (and, beside them, the failed rows' errors
cell by cell: ``ecm.imports.row_errors``). They are built by reading the original file
a second time with every column under its own header, so what the admin gets back is their
file, not our field map. Cells that a spreadsheet would run as a formula are escaped.
"""

from __future__ import annotations

import csv
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ecm.clients import client
from ecm.files.fields import FieldMap
from ecm.files.readers import HeaderAt, read_records
from ecm.files.readers.corrected import CellFix, correct_records
from ecm.imports.corrections import cell_fixes, load_corrections
from ecm.imports.records import header_at, update_import_file
from ecm.imports.row_errors import save_error_rows
from ecm.imports.work_area import failures_key, get_json, outcomes_key, put_json, result_keys
from ecm.settings import get_settings

Item = dict[str, Any]

CREATED, UPDATED, FAILED, SKIPPED = "created", "updated", "failed", "skipped"
#: What a spreadsheet would evaluate: =, +, -, @ (formulas, DDE), tab and CR (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ROW_PREFIX = re.compile(r"^Row (\d+): ")


class OriginalColumns(FieldMap):
    """A field map that keeps every column under its own header (for result files)."""

    def __init__(self) -> None:
        super().__init__(kind="original", fields=(), required=())

    def resolve(self, header: object) -> tuple[str, ...]:
        text = "" if header is None else str(header).replace("\ufeff", "").strip()
        return (text,) if text else ()


ORIGINAL_COLUMNS = OriginalColumns()


def escape_cell(value: Any) -> str:
    """The text of one cell, with a leading quote when a spreadsheet would run it."""
    text = value if type(value) is str else cell_text(value)  # str: every CSV and XML cell
    return "'" + text if text.startswith(FORMULA_START) else text


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def row_of(message: str) -> int | None:
    """The row a ``Row N: ...`` message is about (every row error is worded that way)."""
    match = ROW_PREFIX.match(message)
    return int(match.group(1)) if match else None


def group_by_row(messages: list[str]) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for message in messages:
        row = row_of(message)
        if row is not None:
            grouped.setdefault(row, []).append(ROW_PREFIX.sub("", message, count=1))
    return grouped


# --- what happened to each row, kept in the import's work area -----------------------------


def save_failures(kind: str, file_id: int, stage: str, failures: dict[int, list[str]]) -> None:
    put_json(failures_key(kind, file_id, stage), sorted(failures.items()))


def load_failures(kind: str, file_id: int) -> dict[int, list[str]]:
    """Rows that failed validation or matching, with every reason."""
    merged: dict[int, list[str]] = {}
    for stage in ("validate", "plan"):
        for row, reasons in get_json(failures_key(kind, file_id, stage), []):
            merged.setdefault(int(row), []).extend(reasons)
    return merged


def load_outcomes(kind: str, file_id: int) -> list[list[Any]]:
    """Rows the plan writes, as ``[row, created | updated, record id]``."""
    return list(get_json(outcomes_key(kind, file_id), []))


# --- the two CSV files --------------------------------------------------------------------


@dataclass(frozen=True)
class RowResult:
    status: str
    record_id: int | None
    reason: str


def _original_rows(
    path: Path, file_type: str, header: HeaderAt | None, fixes: Sequence[CellFix] = ()
) -> tuple[list[str], Iterator[tuple[int, Item]]]:
    """Headers and rows of the file as the admin wrote it (with the cells they corrected),
    numbered as the import numbers them (from the header row the import used: a title row
    above it is not the header)."""
    limit = get_settings().max_rows
    if file_type == "xml":  # elements may differ per record: the header is their union
        headers: dict[str, None] = {}
        for _, values in read_records(path, file_type, ORIGINAL_COLUMNS, limit).records:
            headers.update(dict.fromkeys(values))
        stream = read_records(path, file_type, ORIGINAL_COLUMNS, limit)
        return list(headers), correct_records(stream, fixes, ORIGINAL_COLUMNS).records
    stream = correct_records(
        read_records(path, file_type, ORIGINAL_COLUMNS, limit, header), fixes, ORIGINAL_COLUMNS
    )
    first = next(stream.records, None)
    if first is None:
        return [], iter(())

    def rows() -> Iterator[tuple[int, Item]]:
        yield first
        yield from stream.records

    return list(first[1]), rows()


class RowOutcomes:
    """What happened to each row: failed (with every reason), written by the plan (or, in a
    dry run, would be), else ``default``. Asked in row order, so the plan's outcomes are
    walked once instead of becoming a dict of 100,000 entries beside the sheet."""

    def __init__(
        self,
        failures: dict[int, list[str]],
        planned: list[list[Any]] | None,
        note: str,
        default: RowResult,
    ) -> None:
        self.failures = failures
        self.planned = sorted(planned or [], key=lambda entry: int(entry[0]))
        self.note = note
        self.default = default
        self.position = 0

    def of(self, row: int) -> RowResult:
        reasons = self.failures.get(row)
        if reasons:
            return RowResult(FAILED, None, "; ".join(reasons))
        planned, position = self.planned, self.position
        while position < len(planned) and int(planned[position][0]) < row:
            position += 1
        self.position = position
        if position < len(planned) and int(planned[position][0]) == row:
            _, status, record_id = planned[position]
            # a dry run numbers new records below zero: those ids mean nothing to the admin
            return RowResult(status, record_id if record_id and record_id > 0 else None, self.note)
        return self.default


def write_result_files(
    kind_name: str, id_column: str, record: Item, outcomes_after_open: Callable[[], RowOutcomes]
) -> tuple[int, int]:
    """Write result.csv and errors.csv for one import; returns (rows, failed rows).

    ``outcomes_after_open`` runs once the original file is open (``engine._write_results``).
    """
    settings = get_settings()
    file_id = int(record["id"])
    result_key, errors_key = result_keys(kind_name, file_id)
    rows = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "upload"
        client("s3").download_file(settings.files_bucket, record["s3_key"], str(source))
        fixes = cell_fixes(load_corrections(record))
        headers, records = _original_rows(
            source, str(record["file_type"]), header_at(record), fixes
        )
        outcomes = outcomes_after_open()
        result_path, errors_path = Path(tmp) / "result.csv", Path(tmp) / "errors.csv"
        with (
            result_path.open("w", newline="", encoding="utf-8") as result_handle,
            errors_path.open("w", newline="", encoding="utf-8") as errors_handle,
        ):
            result_csv, errors_csv = csv.writer(result_handle), csv.writer(errors_handle)
            header = [escape_cell(h) for h in headers] + [id_column, "status", "reason"]
            result_csv.writerow(header)
            errors_csv.writerow(header)
            for row_number, values in records:
                outcome = outcomes.of(row_number)
                line = [escape_cell(values.get(h)) for h in headers]
                line += [
                    "" if outcome.record_id is None else str(outcome.record_id),
                    outcome.status,
                    escape_cell(outcome.reason),
                ]
                result_csv.writerow(line)
                rows += 1
                if outcome.status == FAILED:
                    errors_csv.writerow(line)
                    failed += 1
        for path, key in ((result_path, result_key), (errors_path, errors_key)):
            client("s3").upload_file(
                str(path), settings.files_bucket, key, ExtraArgs={"ContentType": "text/csv"}
            )
    # The failed rows' errors cell by cell, for correcting them in place (the record lists
    # the first 100 messages only).
    rows_key = save_error_rows(kind_name, file_id, outcomes.failures) if outcomes.failures else None
    update_import_file(
        kind_name,
        file_id,
        result_file_key=result_key,
        errors_file_key=errors_key,
        error_rows_key=rows_key,
    )
    return rows, failed
