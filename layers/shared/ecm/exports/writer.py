"""Writing a return file row by row to a local file (CSV, or XLSX through openpyxl's
write-only workbook), so a 100,000-member file never sits in memory.

Every cell is text (CIN, ZIP and NPI keep their leading zeros) and is safe to open in a
spreadsheet: a cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab,
carriage return first) gets a leading apostrophe, as OWASP advises. The same rows give the
same bytes: CSV has no clock in it, and the XLSX's timestamps are fixed to the production
date.
"""

from __future__ import annotations

import csv
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: The time every part of an XLSX file is stamped with (ZIP dates start in 1980).
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def safe_cell(text: str) -> str:
    """The text as a spreadsheet shows it but never runs it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class RowSink(Protocol):
    def write(self, cells: list[str]) -> None: ...

    def close(self) -> None: ...


class CsvSink:
    """RFC 4180 CSV in UTF-8 (CRLF line ends, quotes only where needed)."""

    def __init__(self, path: Path, delimiter: str) -> None:
        self.file = path.open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.file, delimiter=delimiter, lineterminator="\r\n")

    def write(self, cells: list[str]) -> None:
        self.writer.writerow([safe_cell(c) for c in cells])

    def close(self) -> None:
        self.file.close()


class XlsxSink:
    """One sheet, written as rows come (openpyxl's write-only mode streams the sheet to a
    temporary file); on close the package is re-stamped so its bytes do not follow the
    clock."""

    def __init__(self, path: Path, sheet: str, produced: date) -> None:
        # openpyxl loads for an XLSX file only: a CSV export's cold start goes without it.
        from openpyxl import Workbook  # noqa: PLC0415 - only XLSX exports need openpyxl

        self.path, self.produced = path, produced
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(sheet[:31])

    def write(self, cells: list[str]) -> None:
        self.sheet.append([safe_cell(c) for c in cells])

    def close(self) -> None:
        from openpyxl.writer.excel import ExcelWriter  # noqa: PLC0415 - as Workbook above

        moment = datetime(self.produced.year, self.produced.month, self.produced.day)
        properties = self.workbook.properties
        properties.created = properties.modified = moment
        properties.creator = "ECM Imports"
        # ExcelWriter, not Workbook.save: save stamps "modified" with the clock.
        archive = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        ExcelWriter(self.workbook, archive).save()
        restamp_zip(self.path)


def restamp_zip(path: Path) -> None:
    """Rewrite a ZIP package with every entry dated ZIP_TIME, in the same order."""
    stamped = path.with_suffix(".stamped")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(stamped, "w") as target:
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            with source.open(entry) as data, target.open(fixed, "w") as out:
                shutil.copyfileobj(data, out, 1 << 20)
    stamped.replace(path)


def open_sink(file_format: str, path: Path, delimiter: str, sheet: str, produced: date) -> RowSink:
    if file_format == "xlsx":
        return XlsxSink(path, sheet, produced)
    return CsvSink(path, delimiter)
