"""Builders of MIF test files (CSV, XML, XLSX) in memory, shared by the whole test suite.

Every builder returns ``bytes``; write them to ``tmp_path`` with ``write_file``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

#: The 17 fields of the seed's MIF field map, in the seed's order.
MIF_HEADERS: tuple[str, ...] = (
    "MEMBER_ID",
    "CIN",
    "FIRST_NAME",
    "LAST_NAME",
    "DOB",
    "GENDER",
    "ADDRESS",
    "CITY",
    "STATE",
    "ZIP",
    "PHONE",
    "ECM_SERVICE_AUTH_ID",
    "ECM_PROVIDER_NAME",
    "ECM_NPI",
    "ECM_BENEFIT_AUTH_EFF_DATE",
    "ECM_BENEFIT_AUTH_END_DATE",
    "ACUITY_LEVEL",
)

#: A valid NPI (Luhn check digit with the 80840 prefix) and one that fails the check.
VALID_NPI = "1234567893"
INVALID_NPI = "1234567890"

DATE_FIELDS = ("DOB", "ECM_BENEFIT_AUTH_EFF_DATE", "ECM_BENEFIT_AUTH_END_DATE")

_FIRST_NAMES = ("Ana", "Ben", "Carla", "Dmitri", "Elena", "Farid", "Grace", "Hugo")
_LAST_NAMES = ("Lopez", "Nguyen", "Smith", "Okafor", "Garcia", "Kim", "Patel", "Rossi")
_ACUITY = ("Low", "Medium", "High")


def sample_mif_row(i: int) -> dict[str, str]:
    """A valid MIF row (all 17 seed fields as text, as a CSV would carry them)."""
    month = i % 12 + 1
    day = i % 28 + 1
    return {
        "MEMBER_ID": f"M{i:09d}",
        "CIN": f"9{i:08d}A",
        "FIRST_NAME": _FIRST_NAMES[i % len(_FIRST_NAMES)],
        "LAST_NAME": f"{_LAST_NAMES[i % len(_LAST_NAMES)]}{i}",
        "DOB": f"{month:02d}-{day:02d}-{1950 + i % 50}",
        "GENDER": "F" if i % 2 else "M",
        "ADDRESS": f"{100 + i} Main St, Apt {i % 7}",
        "CITY": "Boston",
        "STATE": "MA",
        "ZIP": "02134",
        "PHONE": f"(617) 555-{i % 10000:04d}",
        "ECM_SERVICE_AUTH_ID": f"AUTH{i:06d}",
        "ECM_PROVIDER_NAME": "Esteem Health PSC",
        "ECM_NPI": VALID_NPI,
        "ECM_BENEFIT_AUTH_EFF_DATE": "01-01-2024",
        "ECM_BENEFIT_AUTH_END_DATE": "12-31-2024",
        "ACUITY_LEVEL": _ACUITY[i % len(_ACUITY)],
    }


def _headers(rows: Sequence[dict[str, Any]], headers: Sequence[str] | None) -> list[str]:
    if headers is not None:
        return list(headers)
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen) or list(MIF_HEADERS)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.strftime("%m-%d-%Y")
    return str(value)


def mif_csv(
    rows: Sequence[dict[str, Any]],
    headers: Sequence[str] | None = None,
    delimiter: str = ",",
    bom: bool = False,
    crlf: bool = False,
    encoding: str = "utf-8",
) -> bytes:
    """A CSV (or TSV with ``delimiter="\\t"``) with a header row; values quoted when needed.

    ``headers`` defaults to the keys of the rows in first-seen order; a row's missing keys
    are written as empty cells.
    """
    names = _headers(rows, headers)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_text(row.get(name)) for name in names])
    data = buffer.getvalue().encode(encoding)
    return b"\xef\xbb\xbf" + data if bom else data


def mif_xml(rows: Sequence[dict[str, Any]], root: str = "Members", record: str = "Member") -> bytes:
    """An XML file: ``<root><record><FIELD>value</FIELD>...</record>...</root>``."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', f"<{root}>"]
    for row in rows:
        parts.append(f"  <{record}>")
        parts.extend(f"    <{k}>{escape(_text(v))}</{k}>" for k, v in row.items())
        parts.append(f"  </{record}>")
    parts.append(f"</{root}>")
    return ("\n".join(parts) + "\n").encode("utf-8")


def _excel_value(name: str, value: Any, typed_dates: bool) -> Any:
    if typed_dates and name in DATE_FIELDS and isinstance(value, str) and value:
        return datetime.strptime(value, "%m-%d-%Y").date()
    return value


def mif_xlsx(
    rows: Sequence[dict[str, Any]],
    headers: Sequence[str] | None = None,
    typed_dates: bool = False,
    trailing_empty_rows: int = 0,
) -> bytes:
    """An XLSX workbook (openpyxl write mode): headers in row 1, one row per dict.

    Values keep their Python type (an ``int`` ZIP is a number cell, a ``date`` a date
    cell); ``typed_dates`` turns MM-DD-YYYY strings of the date fields into date cells.
    ``trailing_empty_rows`` appends rows of whitespace-only cells after the data (what a
    re-saved sheet with cleared cells holds).
    """
    from openpyxl import Workbook

    names = _headers(rows, headers)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("MIF")
    sheet.append(names)
    for row in rows:
        sheet.append([_excel_value(n, row.get(n), typed_dates) for n in names])
    for _ in range(trailing_empty_rows):
        sheet.append([" " for _ in names])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_file(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``directory/name`` and return the path."""
    path = directory / name
    path.write_bytes(data)
    return path
