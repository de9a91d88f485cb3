"""Format readers: turn a file on disk into ``(row_number, {FIELD: value})`` records.

Every reader streams (or, for a workbook, holds one bounded sheet) and raises
``FileFormatError`` with the message returned to the admin when the file cannot be read.
"""

from __future__ import annotations

from pathlib import Path

from ecm.errors import FileFormatError
from ecm.files.fields import FieldMap
from ecm.files.readers.base import RecordStream
from ecm.files.readers.csv_reader import read_csv_records
from ecm.files.readers.detect import detect_file_type
from ecm.files.readers.header import HeaderAt
from ecm.files.readers.xlsx_reader import read_xlsx_records
from ecm.files.readers.xml_reader import read_xml_records

__all__ = ["WORKBOOK_TYPES", "HeaderAt", "RecordStream", "detect_file_type", "read_records"]

#: What calamine reads: typed cells (numbers, dates) rather than text.
WORKBOOK_TYPES = ("xlsx", "xlsm", "xls", "ods", "xlsb")


def read_records(
    path: Path,
    file_type: str,
    field_map: FieldMap,
    max_rows: int,
    header_at: HeaderAt | None = None,
) -> RecordStream:
    """``header_at``: read from that header row instead of looking for one (CSV, Excel)."""
    if file_type == "csv":
        return read_csv_records(path, field_map, max_rows, header_at)
    if file_type == "xml":
        return read_xml_records(path, field_map, max_rows)
    if file_type in WORKBOOK_TYPES:
        return read_xlsx_records(path, field_map, max_rows, header_at, file_type)
    raise FileFormatError(f"Unsupported file type '{file_type}'")
