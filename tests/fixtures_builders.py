"""Builders of test files (MIF and authorization files, TLS certificates), shared by the suite.

Every builder returns ``bytes``; write them to ``tmp_path`` with ``write_file``.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook

#: The 17 fields of the MIF (docs/using/mif-imports.md), in their documented order.
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
    """A valid MIF row (all 17 fields as text, as a CSV would carry them)."""
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


# --- authorization workbooks (docs/using/authorization-imports.md) -------------------------

#: The 15 fields of the authorization file, in their documented order.
AUTH_HEADERS: tuple[str, ...] = (
    "AUTH_NO",
    "AUTH_TYPE",
    "AUTH_DESCRIPTION",
    "MEMBER_ID",
    "MEMBER_NAME",
    "AUTHORIZATION_TYPE",
    "STATUS",
    "REQUESTING_PROVIDER",
    "SERVICING_PROVIDER",
    "RECEIVED_DATE",
    "DECISION_DATE",
    "START_DATE",
    "EXPIRATION_DATE",
    "CONTACT_NAME",
    "REMARKS",
)

AUTH_DATE_FIELDS = ("RECEIVED_DATE", "DECISION_DATE", "START_DATE", "EXPIRATION_DATE")


def sample_auth_row(i: int, **overrides: Any) -> dict[str, Any]:
    """A valid authorization row (all 15 fields) for the member of ``sample_mif_row(i)``.

    Dates are ``YYYY-MM-DD`` text with received <= decision <= start <= expiration.
    """
    mif = sample_mif_row(i)
    received = date(2024, i % 12 + 1, i % 28 + 1)
    decision = received + timedelta(days=i % 10)
    start = decision
    expiration = start + timedelta(days=365)
    row: dict[str, Any] = {
        "AUTH_NO": f"AUTH{i:010d}",
        "AUTH_TYPE": "ES",
        "AUTH_DESCRIPTION": "ECM Service",
        "MEMBER_ID": mif["MEMBER_ID"],
        "MEMBER_NAME": f"{mif['FIRST_NAME']} {mif['LAST_NAME']}",
        "AUTHORIZATION_TYPE": "Form I",
        "STATUS": "Approved",
        "REQUESTING_PROVIDER": "Dr. Smith",
        "SERVICING_PROVIDER": "Esteem Health PSC",
        "RECEIVED_DATE": received.isoformat(),
        "DECISION_DATE": decision.isoformat(),
        "START_DATE": start.isoformat(),
        "EXPIRATION_DATE": expiration.isoformat(),
        "CONTACT_NAME": "Jane Contact",
        "REMARKS": f"Authorization {i}",
    }
    row.update(overrides)
    return row


def _auth_headers(rows: Sequence[dict[str, Any]], headers: Sequence[str] | None) -> list[str]:
    if headers is not None:
        return list(headers)
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen) or list(AUTH_HEADERS)


def _auth_value(name: str, value: Any, typed_dates: bool) -> Any:
    if typed_dates and name in AUTH_DATE_FIELDS and isinstance(value, str) and value:
        return date.fromisoformat(value)
    return value


def auth_xlsx(
    rows: Sequence[dict[str, Any]],
    headers: Sequence[str] | None = None,
    sheet_title: str = "Authorizations",
    leading_sheets: int = 0,
    typed_dates: bool = False,
) -> bytes:
    """An authorization XLSX (openpyxl): headers in row 1 of sheet ``sheet_title``.

    ``leading_sheets`` empty sheets come BEFORE the data sheet; ``typed_dates`` turns the
    ``YYYY-MM-DD`` strings of the date fields into date cells. Other values keep their
    Python type (a float AUTH_NO is a number cell, a ``date`` a date cell).
    """
    names = _auth_headers(rows, headers)
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    sheets = [first] + [workbook.create_sheet() for _ in range(leading_sheets)]
    for index, sheet in enumerate(sheets[:-1], start=1):
        sheet.title = f"Notes{index}"
    data = sheets[-1]
    data.title = sheet_title
    data.append(names)
    for row in rows:
        data.append([_auth_value(n, row.get(n), typed_dates) for n in names])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


_MACRO_WORKBOOK = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_PLAIN_WORKBOOK = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_VBA_PROJECT = "application/vnd.ms-office.vbaProject"
_VBA_RELATIONSHIP = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"


def auth_xlsm(rows: Sequence[dict[str, Any]], headers: Sequence[str] | None = None) -> bytes:
    """An XLSM: the XLSX of ``rows`` plus an ``xl/vbaProject.bin`` part (never run), its
    relationship, and the macro-enabled content types in ``[Content_Types].xml``."""
    plain = auth_xlsx(rows, headers)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(plain)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "[Content_Types].xml":
                text = data.decode("utf-8").replace(_PLAIN_WORKBOOK, _MACRO_WORKBOOK)
                override = f'<Override PartName="/xl/vbaProject.bin" ContentType="{_VBA_PROJECT}"/>'
                data = text.replace("</Types>", override + "</Types>").encode("utf-8")
            elif info.filename == "xl/_rels/workbook.xml.rels":
                rel = f'<Relationship Id="rIdVba1" Type="{_VBA_RELATIONSHIP}" Target="vbaProject.bin"/>'
                data = (
                    data.decode("utf-8")
                    .replace("</Relationships>", rel + "</Relationships>")
                    .encode("utf-8")
                )
            target.writestr(info.filename, data)
        # Not a real VBA project: enough bytes for the part to exist; readers never run it.
        target.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    return out.getvalue()
