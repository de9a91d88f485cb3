"""File type detection from the bytes, checked against every claim (file_type, data URI, name)."""

from __future__ import annotations

import codecs
import io
import zipfile
from pathlib import Path

import xlrd

from ecm.errors import FileFormatError

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

DATA_URI_TYPES = {
    "text/csv": "csv",
    "text/tab-separated-values": "csv",
    "application/csv": "csv",
    "text/plain": "csv",
    "text/xml": "xml",
    "application/xml": "xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.ms-excel.sheet.macroenabled.12": "xlsm",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.ms-excel.sheet.binary.macroenabled.12": "xlsb",
}

EXTENSION_TYPES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xml": "xml",
    ".xlsx": "xlsx",
    ".xlsm": "xlsm",
    ".xls": "xls",
    ".ods": "ods",
    ".xlsb": "xlsb",
}

#: Workbooks calamine reads besides Excel's XML ones: LibreOffice's own format and Excel's
#: binary one. Taken wherever XLSX is, without being listed in what a kind names.
OTHER_WORKBOOKS = ("ods", "xlsb")
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


PROTECTED_WORKBOOK_MESSAGE = (
    "Invalid Excel format: the workbook is password-protected; remove the password and "
    "export it again"
)
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")


def _is_encrypted_package(path: Path) -> bool:
    """An encrypted XLSX/XLSM is an OLE2 file holding EncryptionInfo + EncryptedPackage."""
    with path.open("rb") as handle:
        tail = b""
        while block := handle.read(1 << 20):
            if _ENCRYPTION_STREAM in tail + block:
                return True
            tail = block[-len(_ENCRYPTION_STREAM) :]
    return False


def is_encrypted_xls(path: Path) -> bool:
    """A BIFF ``.xls`` with a FILEPASS record: xlrd reads the workbook globals only
    (``on_demand``) and refuses such a file, which calamine cannot tell from garbage."""
    try:
        book = xlrd.open_workbook(str(path), on_demand=True, logfile=io.StringIO())
    except xlrd.XLRDError as exc:
        return "encrypted" in str(exc).lower()
    except Exception:
        return False  # not readable as BIFF at all: the reader says why
    book.release_resources()
    return False


def accepted_types(allowed: tuple[str, ...]) -> tuple[str, ...]:
    """The types a kind reads: its own, and the other workbooks wherever it reads XLSX."""
    return (*allowed, *OTHER_WORKBOOKS) if "xlsx" in allowed else allowed


def _zip_type(path: Path) -> str:
    """xlsx, xlsm, xlsb (a binary workbook part) or ods (its ``mimetype`` member); any other
    zip is taken for an xlsx, which the reader refuses as not a workbook."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:64] if "mimetype" in names else b""
    except zipfile.BadZipFile as exc:
        raise FileFormatError("Invalid Excel format: the zip container is damaged") from exc
    if "xl/workbook.bin" in names:
        return "xlsb"
    if mimetype.strip() == ODS_MIMETYPE:
        return "ods"
    return "xlsm" if "xl/vbaProject.bin" in names else "xlsx"


def sniff_content(path: Path) -> str:
    """What the bytes say: zip → xlsx/xlsm/xlsb/ods, OLE2 → xls, ``<`` → xml, text → csv.

    Containers are told by their leading magic bytes only: an Excel-saved ``.xls`` embeds a
    zip (its theme) and must not be taken for one.
    """
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(UTF16_BOMS):  # Excel's "Unicode Text", or XML saved as UTF-16
        text = head.decode("utf-16", errors="ignore").lstrip("\ufeff \t\r\n")
        if not text:
            raise FileFormatError("the file is empty")
        return "xml" if text.startswith("<") else "csv"
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise FileFormatError("the file is empty")
    if head.startswith(ZIP_MAGIC):
        return _zip_type(path)
    if head.startswith(OLE2_MAGIC):
        if _is_encrypted_package(path) or is_encrypted_xls(path):
            raise FileFormatError(PROTECTED_WORKBOOK_MESSAGE)
        return "xls"
    if head.startswith(b"%PDF"):
        raise FileFormatError("this is a PDF document")
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "xml"
    if b"\x00" in head:
        raise FileFormatError("binary content that is not a spreadsheet")
    return "csv"


def claimed_type(value: str | None, table: dict[str, str]) -> str | None:
    if not value:
        return None
    return table.get(value.strip().lower())


def detect_file_type(
    path: Path,
    allowed: tuple[str, ...],
    declared: str | None = None,
    data_uri_type: str | None = None,
    filename: str | None = None,
) -> str:
    """Return the file's type; a claim that contradicts the content is an error."""
    excel_only = set(allowed) <= {"xlsx", "xlsm", "xls"}
    reads = accepted_types(allowed)
    prefix = "Invalid Excel format: " if excel_only else "Unsupported file: "
    try:
        actual = sniff_content(path)
    except FileFormatError as exc:
        message = str(exc)
        raise FileFormatError(
            message if message.startswith("Invalid") else prefix + message
        ) from exc
    claims: list[tuple[str, str]] = []
    if declared:
        claims.append(("file_type", declared.strip().lower()))
    uri = claimed_type(data_uri_type, DATA_URI_TYPES)
    if uri:
        claims.append(("data URI prefix", uri))
    if filename:
        ext = Path(filename).suffix.lower()
        if ext in EXTENSION_TYPES:
            claims.append(("file name", EXTENSION_TYPES[ext]))
    for source, claim in claims:
        if claim not in reads and source == "file_type":
            raise FileFormatError(
                f"Unsupported file_type '{claim}'; expected one of: {', '.join(allowed)}"
            )
        # An xlsm saved as .xlsx (or the reverse) is still one container format.
        same_family = {claim, actual} <= {"xlsx", "xlsm"}
        if claim != actual and not same_family:
            # docs/using/authorization-imports.md: what is not a workbook is "Invalid Excel format:
            # ...", whatever it claimed.
            lead = "Invalid Excel format: " if excel_only else ""
            raise FileFormatError(
                f"{lead}{source} says '{claim}' but the content is {actual.upper()}"
            )
    if actual not in reads and excel_only:
        kind = {"csv": "CSV text", "xml": "XML"}.get(actual, actual.upper())
        raise FileFormatError(
            f"Invalid Excel format: the file is {kind}, not an Excel workbook "
            f"({', '.join(allowed)})"
        )
    if actual not in reads:
        raise FileFormatError(
            f"Unsupported file type '{actual}'; expected one of: {', '.join(allowed)}"
        )
    return actual
