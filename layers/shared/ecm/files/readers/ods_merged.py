"""Cells merged over rows in an ``.ods``: calamine reports merges for Excel formats only, and
reads the cells an OpenDocument merge covers as empty. The merges are read here from
``content.xml`` (``table:number-rows-spanned``), parsed only when a quick scan of its bytes
finds one: most files have none, and they pay one streamed pass over the part.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import IO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from ecm.files.readers.merged import MergedRange

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ROWS_SPANNED = re.compile(rb'number-rows-spanned="0*([2-9]|[1-9]\d+)"')
_CELLS = (f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell")


def _spans_rows(archive: zipfile.ZipFile) -> bool:
    tail = b""
    with archive.open("content.xml") as part:
        while block := part.read(1 << 20):
            if _ROWS_SPANNED.search(tail + block):
                return True
            tail = block[-64:]
    return False


def ods_merges(path: Path) -> dict[str, list[MergedRange]]:
    """Each sheet's merges down rows, 0-based as calamine gives Excel's; {} when none (or
    when the part cannot be read: calamine then says why)."""
    merges: dict[str, list[MergedRange]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            if not _spans_rows(archive):
                return merges
            with archive.open("content.xml") as part:
                _collect(part, merges)
    except (KeyError, zipfile.BadZipFile, DefusedXmlException, SyntaxError, ValueError):
        return {}
    return merges


def _collect(part: IO[bytes], merges: dict[str, list[MergedRange]]) -> None:
    sheet, row, column = "", -1, 0
    for event, element in iterparse(part, events=("start", "end")):
        tag = element.tag
        if event == "start":
            if tag == f"{_TABLE}table":
                sheet, row = element.get(f"{_TABLE}name", ""), -1
            elif tag == f"{_TABLE}table-row":
                row, column = row + 1, 0
            elif tag in _CELLS:
                spanned = int(element.get(f"{_TABLE}number-rows-spanned", "1"))
                if spanned > 1:
                    merges.setdefault(sheet, []).append(
                        ((row, column), (row + spanned - 1, column))
                    )
            continue
        if tag == f"{_TABLE}table-row":
            row += int(element.get(f"{_TABLE}number-rows-repeated", "1")) - 1
            element.clear()
        elif tag in _CELLS:
            column += int(element.get(f"{_TABLE}number-columns-repeated", "1"))
