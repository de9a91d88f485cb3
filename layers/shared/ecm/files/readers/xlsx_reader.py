"""XLSX/XLSM/XLS, and ODS and XLSB, through python-calamine (10x openpyxl's speed, see
benchmarks/).

A workbook is a zip (or OLE2) file: the uncompressed size, rows and columns are bounded
before any cell is read, so a zip bomb fails fast. The header is looked for on each sheet
in turn (``ecm.readers.header``): cover sheets and title rows come first in real files.
A value merged down over rows is read on each row it covers (``ecm.readers.merged``).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path

from python_calamine import CalamineError, CalamineWorkbook, PasswordError

from ecm.errors import FileFormatError
from ecm.files.fields import FieldMap, unnamed_column_warning
from ecm.files.kept import KEPT, cell_picker
from ecm.files.readers.base import Record, RecordStream, too_many_rows
from ecm.files.readers.detect import PROTECTED_WORKBOOK_MESSAGE, ZIP_MAGIC
from ecm.files.readers.header import HeaderAt, Rows, find_header, is_blank
from ecm.files.readers.merged import MergedRange, fill_merged_down
from ecm.files.readers.ods_merged import ods_merges
from ecm.files.readers.xlsb_merged import xlsb_merges
from ecm.settings import get_settings

MAX_COLUMNS = 500
#: The part each zip workbook cannot do without.
WORKBOOK_PARTS = {"xlsb": "xl/workbook.bin", "ods": "content.xml"}
#: calamine reads an .ods whole, its cells taking ~1.6x its content.xml: 100 MB of content
#: (about 60,000 rows of 17 columns) keeps a stage near an XLSX's peak at 100,000 rows.
ODS_CONTENT_LIMIT = 100 << 20


def _check_container(path: Path, file_type: str) -> None:
    """Bound a zip workbook (XLSX, XLSM, XLSB, ODS) before reading it. Judged by the leading
    bytes: Excel embeds a theme part (a zip) inside OLE2 ``.xls`` files, where
    ``zipfile.is_zipfile`` finds its end record, and those files are workbooks, not damaged
    zips."""
    with path.open("rb") as handle:
        if handle.read(len(ZIP_MAGIC)) != ZIP_MAGIC:
            return  # XLS (OLE2): bounded by its own format (65,536 rows)
    limit = get_settings().max_xlsx_uncompressed_bytes
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
            names = set(archive.namelist())
            ods = file_type == "ods" and "content.xml" in names
            content = archive.getinfo("content.xml").file_size if ods else 0
    except zipfile.BadZipFile as exc:
        raise FileFormatError("Invalid Excel format: the zip container is damaged") from exc
    if total > limit:
        raise FileFormatError(
            f"Invalid Excel format: the workbook expands to {total // (1 << 20)} MB, "
            f"more than the {limit // (1 << 20)} MB limit"
        )
    if WORKBOOK_PARTS.get(file_type, "xl/workbook.xml") not in names:
        raise FileFormatError("Invalid Excel format: the zip file is not an Excel workbook")
    if content > ODS_CONTENT_LIMIT:
        raise FileFormatError(
            f"Invalid Excel format: the .ods file's content expands to {content // (1 << 20)} "
            f"MB, more than the {ODS_CONTENT_LIMIT // (1 << 20)} MB an .ods is read within; "
            "save it as Excel 2007-365 (.xlsx) and import it again"
        )


def _open(path: Path) -> tuple[CalamineWorkbook, list[str]]:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        return workbook, list(workbook.sheet_names)
    except PasswordError as exc:
        raise FileFormatError(PROTECTED_WORKBOOK_MESSAGE) from exc
    except (CalamineError, ValueError, OSError) as exc:
        raise FileFormatError(f"Invalid Excel format: {exc}") from exc


def _sheets(
    workbook: CalamineWorkbook, names: list[str], merges: dict[str, list[MergedRange]] | None
) -> Iterator[tuple[str | None, Rows]]:
    """Each sheet's rows, loaded only when the header search gets to it.

    ``iter_rows`` yields every row from the sheet's row 1 (the blank rows above the used
    range come as empty rows; columns start at the used range), so counting from 1 gives
    the row numbers Excel shows.
    """
    for index, sheet_name in enumerate(names):
        try:
            sheet = workbook.get_sheet_by_index(index)
        except (CalamineError, ValueError) as exc:
            raise FileFormatError(f"Invalid Excel format: sheet '{sheet_name}': {exc}") from exc
        if sheet.width > MAX_COLUMNS:
            raise FileFormatError(
                f"Invalid Excel format: sheet '{sheet_name}' has more than {MAX_COLUMNS} columns"
            )
        first_column = sheet.start[1] if sheet.start else 0
        merged = sheet.merged_cell_ranges if merges is None else merges.get(sheet_name)
        rows = fill_merged_down(sheet.iter_rows(), merged, first_column)
        yield sheet_name, rows


def read_xlsx_records(
    path: Path,
    field_map: FieldMap,
    max_rows: int,
    header_at: HeaderAt | None = None,
    file_type: str = "xlsx",
) -> RecordStream:
    _check_container(path, file_type)
    workbook, names = _open(path)
    # calamine reports merges for XLSX and XLS only: the others' are read here.
    merges = {"ods": ods_merges, "xlsb": xlsb_merges}.get(file_type)
    header = find_header(
        field_map, _sheets(workbook, names, merges(path) if merges else None), header_at
    )
    if header is None:
        raise FileFormatError("Invalid Excel format: the workbook has no sheet with a header row")
    plan = header.plan
    stream = RecordStream(
        records=iter(()),
        warnings=plan.warnings,
        missing_required=plan.missing_required,
        sheet_name=header.at.sheet_name,
        header=header.at,
        header_errors=[*plan.errors, *([header.not_found] if header.not_found else [])],
        unmapped=plan.unknown,
        fields={name for _, name in plan.columns},
        kept=plan.kept,
    )

    def records() -> Iterator[Record]:
        columns = plan.columns
        kept = cell_picker(plan.kept_at)
        names = [name for _, name in columns]
        indexes = [index for index, _ in columns]
        needed = max(indexes, default=-1) + 1
        # The usual sheet: the mapped columns lead, in order, so the row zips as it is.
        leading = indexes == list(range(len(indexes)))
        pick = itemgetter(*indexes) if len(indexes) > 1 else None
        unnamed = list(plan.unnamed)  # columns without a header, until one shows a value
        data_rows = 0
        first = indexes[0] if indexes else 0
        for row_number, row in enumerate(header.rows, start=header.at.row + 1):
            if not any(row):
                continue  # an empty row (calamine gives "" for empty cells)
            width = len(row)
            lead = row[first] if first < width else ""
            if is_blank(lead) and all(is_blank(v) for v in row):
                continue  # whitespace only: a phantom row Excel keeps after deletions
            data_rows += 1
            if data_rows > max_rows:
                raise FileFormatError(too_many_rows(max_rows))
            if unnamed:
                for index in [i for i in unnamed if i < width and not is_blank(row[i])]:
                    unnamed.remove(index)
                    stream.warnings.append(unnamed_column_warning(index, lettered=True))
            if width < needed:
                values = {name: row[index] if index < width else "" for index, name in columns}
            elif leading:  # zip stops at the last mapped column
                values = dict(zip(names, row, strict=False))
            elif pick is not None:
                values = dict(zip(names, pick(row), strict=True))
            else:
                values = {name: row[index] for index, name in columns}
            if kept is not None:
                values[KEPT] = kept(row)
            yield row_number, values

    stream.records = records()
    return stream
