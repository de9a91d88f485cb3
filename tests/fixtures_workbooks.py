"""Builders of the workbooks LibreOffice and Excel write beyond plain XLSX: an OpenDocument
spreadsheet (a zip holding ``mimetype`` and ``content.xml``, written here as XML) and an
XLSX with cells merged down over rows. Each returns ``bytes``."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import date
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from openpyxl import Workbook

ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
_ODS_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3"'
)
_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
    'manifest:version="1.3">'
    f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{ODS_MIMETYPE}"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


#: A cell a merge covers, as LibreOffice writes it (empty).
COVERED = object()


def _ods_cell(value: Any, spanned: int = 1) -> str:
    if value is COVERED:
        return "<table:covered-table-cell/>"
    if spanned > 1:
        open_tag = f'<table:table-cell table:number-rows-spanned="{spanned}" '
        return _ods_cell(value).replace("<table:table-cell ", open_tag, 1)
    if value is None or value == "":
        return "<table:table-cell/>"
    if isinstance(value, date):
        return (
            f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}">'
            f"<text:p>{value.isoformat()}</text:p></table:table-cell>"
        )
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value!r}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    return (
        '<table:table-cell office:value-type="string">'
        f"<text:p>{escape(str(value))}</text:p></table:table-cell>"
    )


def ods_workbook(
    sheets: Sequence[tuple[str, Sequence[Sequence[Any]]]],
    merged_down: dict[tuple[int, int], int] | None = None,
) -> bytes:
    """An ``.ods``: each sheet's rows of cells (text, numbers, dates), ``mimetype`` stored
    first and uncompressed as the OpenDocument package format requires. ``merged_down``:
    (row, column) of a cell, 0-based, → the rows its merge spans; the cells it covers below
    are ``COVERED``."""
    spans = merged_down or {}
    tables = []
    for name, rows in sheets:
        body = "".join(
            "<table:table-row>"
            + "".join(_ods_cell(v, spans.get((r, c), 1)) for c, v in enumerate(row))
            + "</table:table-row>"
            for r, row in enumerate(rows)
        )
        tables.append(f"<table:table table:name={quoteattr(name)}>{body}</table:table>")
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {_ODS_NAMESPACES}>'
        f"<office:body><office:spreadsheet>{''.join(tables)}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", ODS_MIMETYPE, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", _MANIFEST, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def ods_table(rows: Sequence[dict[str, Any]], headers: Sequence[str]) -> bytes:
    """An ``.ods`` with one sheet ``MIF``: the header row, then one row per dict."""
    table = [list(headers), *([row.get(name, "") for name in headers] for row in rows)]
    return ods_workbook([("MIF", table)])


def xlsx_merged(
    rows: Sequence[Sequence[Any]], merges: Sequence[str], first_row: int = 1, first_column: int = 1
) -> bytes:
    """An XLSX (openpyxl's normal mode, which writes ``<mergeCells>``) holding ``rows`` from
    the cell at ``first_row``/``first_column``, with each range of ``merges`` merged
    (``"C3:C6"``): as in a spreadsheet, only the top-left cell of a merge keeps its value."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "MIF"
    for r, row in enumerate(rows, start=first_row):
        for c, value in enumerate(row, start=first_column):
            if value not in (None, ""):
                sheet.cell(r, c, value)
    for cells in merges:
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
