"""Files as spreadsheet programs really write them (tests/fixtures/real_files/,
docs/using/files-people-send.md).

Each generated file of the corpus was made from a small CSV by LibreOffice or gnumeric
(``make_corpus.py``); its MANIFEST entry holds the rows as the source CSV wrote them. A
correct reader gives, after validation, exactly what the source CSV gives: the same
normalised values (ZIPs with their leading zeros, dates, names with their accents), from the
header row the manifest names. The public ``.xls`` files were saved by Excel (a theme part
inside) or are encrypted.
"""

from __future__ import annotations

import json
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ecm.errors import FileFormatError
from ecm.files.readers import detect_file_type, read_records
from ecm.files.readers.detect import PROTECTED_WORKBOOK_MESSAGE
from ecm.imports.results import ORIGINAL_COLUMNS
from ecm.kinds.registry import AUTHORIZATION, MIF, ImportKind

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "real_files"
MANIFEST = {
    entry["file"]: entry for entry in json.loads((CORPUS / "MANIFEST.json").read_text())["files"]
}
TODAY = date(2026, 12, 4)
KINDS = {"mif": MIF, "authorization": AUTHORIZATION}
TYPED = ("xlsx", "xlsm", "xls")

GENERATED = sorted(name for name, entry in MANIFEST.items() if entry["kind"] in KINDS)
#: Refused on purpose (test_a_birth_column_we_cannot_name_is_refused)
REFUSED_FILES = ("mif_header_birthdate_lo.xlsx",)


def _kind(name: str) -> ImportKind:
    return KINDS[MANIFEST[name]["kind"]]


def _read(name: str) -> tuple[str, Any, list[tuple[int, dict[str, Any]]]]:
    """Detected and read as an import of its kind would (MIF .xls files too: the reader
    takes them although a MIF import accepts CSV, XML and XLSX only, as docs/using/mif-imports.md
    says)."""
    path = CORPUS / name
    kind = _kind(name)
    file_type = detect_file_type(path, (*kind.file_types, "xls"), filename=name)
    stream = read_records(path, file_type, kind.field_map, 1000)
    return file_type, stream, list(stream.records)


def _validated(kind: ImportKind, rows: list[tuple[int, dict[str, Any]]], typed: bool) -> Any:
    return {n: kind.validate_row(n, values, typed, TODAY) for n, values in rows}


def _expected(name: str) -> dict[int, tuple[dict[str, Any], list[str]]]:
    """What the source CSV's text gives for each row, validated as a CSV row is."""
    entry = MANIFEST[name]
    kind = _kind(name)
    text_rows = list(zip(entry["expect"]["row_numbers"], entry["expect"]["rows"], strict=True))
    return _validated(kind, [(n, {k: v for k, v in r.items() if k}) for n, r in text_rows], False)


def test_the_corpus_holds_every_case_of_the_docs() -> None:
    formats = {(e["kind"], e["format"]) for e in MANIFEST.values()}
    assert {("mif", "csv"), ("mif", "xlsx"), ("mif", "xls")} <= formats
    assert {
        ("authorization", "xlsx"),
        ("authorization", "xls"),
        ("authorization", "xlsm"),
    } <= formats
    makers = " ".join(e["made_by"] for e in MANIFEST.values())
    assert "LibreOffice" in makers and "gnumeric" in makers.lower()
    # Five .xls, one .xlsb (Excel) and one .ods (LibreOffice), each with its upstream blob.
    assert (CORPUS / "SOURCES.md").read_text().count("| `public/") == 7


@pytest.mark.parametrize("name", [n for n in GENERATED if n not in REFUSED_FILES])
def test_generated_file_is_read_from_its_header_with_the_source_values(name: str) -> None:
    entry = MANIFEST[name]
    expect = entry["expect"]
    file_type, stream, rows = _read(name)
    # LibreOffice's .xlsm holds no macro part, so its bytes are those of an .xlsx.
    assert file_type == {"xlsm": "xlsx"}.get(entry["format"], entry["format"])
    assert stream.header is not None
    assert stream.header.row == expect["header_row"]
    if file_type in TYPED:
        assert stream.header.sheet_name == expect["sheet"]
    else:
        assert stream.header.delimiter == expect["delimiter"]
    assert stream.missing_required == [] and stream.header_errors == []
    assert [n for n, _ in rows] == expect["row_numbers"]

    refused = {r["row"] for r in expect.get("refuse_rows", [])}
    actual = _validated(_kind(name), rows, file_type in TYPED)
    for row_number, (record, errors) in _expected(name).items():
        if row_number in refused:
            continue
        assert actual[row_number] == (record, errors), f"{name} row {row_number}"
        assert errors == []


@pytest.mark.parametrize("name", [n for n in GENERATED if MANIFEST[n]["expect"].get("refuse_rows")])
def test_numeric_ids_longer_than_15_digits_refuse_their_row(name: str) -> None:
    file_type, _, rows = _read(name)
    actual = _validated(_kind(name), rows, file_type in TYPED)
    for refused in MANIFEST[name]["expect"]["refuse_rows"]:
        record, errors = actual[refused["row"]]
        column = refused["column"]
        [message] = [e for e in errors if column in e]
        assert message.startswith(f"Row {refused['row']}: {column} is a number of more than 15 ")
        assert "format the column as text" in message
        # The changed number is never taken for the id.
        assert record[column.lower()] == ""
    for row in MANIFEST[name]["expect"]["import_rows"]:
        assert actual[row][1] == []


def test_the_15_digit_id_survives_a_number_cell() -> None:
    _, _, rows = _read("auth_lo.xlsx")
    record, errors = _validated(AUTHORIZATION, rows, True)[6]
    assert errors == []
    assert record["auth_no"] == "100000000000001"


def test_a_cover_sheet_is_skipped_for_the_sheet_with_the_header() -> None:
    _, stream, rows = _read("mif_cover_sheet_lo.xlsx")
    assert (stream.header.sheet_name, stream.header.row) == ("Members", 1)
    assert MANIFEST["mif_cover_sheet_lo.xlsx"]["expect"]["sheet_index"] == 1
    assert len(rows) == 4


def test_header_hints_and_line_breaks_map_their_columns() -> None:
    _, stream, rows = _read("mif_header_hints_lo.xlsx")
    assert stream.warnings == []
    _, first = rows[0]
    assert {"DOB", "GENDER", "ZIP"} <= set(first)
    record, errors = MIF.validate_row(2, first, True, TODAY)
    assert errors == []
    assert (record["date_of_birth"], record["gender"], record["zip"]) == (
        "1961-03-07",
        "male",
        "02134",
    )


def test_a_birth_column_we_cannot_name_is_refused() -> None:
    _, stream, _ = _read("mif_header_birthdate_lo.xlsx")
    assert stream.missing_required == []
    assert stream.header_errors == [
        "Column 'Birthdate of Member' looks like DOB but is not a column name we know; rename "
        "it DOB so its values are imported"
    ]


def test_a_column_under_a_merged_header_cell_is_warned_about() -> None:
    _, stream, rows = _read("mif_merged_header_lo.xlsx")
    assert rows[0][1]["ADDRESS"] == "45 Oak Ave"
    assert rows[0][1]["CITY"] == "Boston"
    assert stream.warnings == [
        "Column H has values but no header (is its header cell merged with the next one?); "
        "its values were ignored"
    ]


@pytest.mark.parametrize(
    ("name", "warned"),
    [
        # Code page 437 and Mac Roman both read these accents as letters: said in a warning.
        ("mif_lo_msdos_cp437.csv", True),
        ("mif_lo_cp1252.csv", False),
        ("mif_lo_unicode_text.txt", False),
        ("mif_lo_semicolon.csv", False),
    ],
)
def test_text_exports_decode_names_exactly(name: str, warned: bool) -> None:
    _, stream, rows = _read(name)
    names = [(r["FIRST_NAME"], r["LAST_NAME"]) for _, r in rows]
    expected = [(r["FIRST_NAME"], r["LAST_NAME"]) for r in MANIFEST[name]["expect"]["rows"]]
    assert names == expected
    assert ("José", "Muñoz") in names
    assert bool(stream.warnings) is warned


# --- Excel-saved .xls files that carry a theme (a zip inside OLE2), and encrypted ones ---------

THEMED = sorted(
    n for n, e in MANIFEST.items() if n.startswith("public/") and "cells" in e["expect"]
)


@pytest.mark.parametrize("name", THEMED)
def test_excel_saved_xls_with_a_theme_is_read_as_xls(name: str) -> None:
    path = CORPUS / name
    assert zipfile.is_zipfile(path)  # the trap: a zip's end record inside the OLE2 file
    assert detect_file_type(path, AUTHORIZATION.file_types) == "xls"
    stream = read_records(path, "xls", ORIGINAL_COLUMNS, 1000)
    assert stream.header is not None
    assert stream.header.sheet_name == MANIFEST[name]["expect"]["sheet"]
    # Its cells were read, not refused as a damaged zip: the first used row is the header,
    # and the text cells of the rows below it are the records' values.
    cells = MANIFEST[name]["expect"]["cells"]
    first = min(int(ref[1:]) for ref in cells)
    assert stream.header.row == first
    records = list(stream.records)
    headed = {ref[0] for ref in cells if int(ref[1:]) == first}  # columns with a header
    values = {str(v).replace(" ", "T") for _, record in records for v in record.values()}
    below = {
        v.replace(" ", "T")
        for ref, v in cells.items()
        if int(ref[1:]) > first and ref[0] in headed and isinstance(v, str)
    }
    assert below <= values


def test_excel_saved_xls_without_our_columns_says_where_the_header_was_looked_for() -> None:
    path = CORPUS / "public/python-calamine-base.xls"
    stream = read_records(path, "xls", AUTHORIZATION.field_map, 1000)
    assert stream.missing_required == ["AUTH_NO", "MEMBER_ID"]
    [note] = stream.header_errors
    assert note == (
        "No row holds every required column (AUTH_NO, MEMBER_ID): looked in rows 1-2 of sheet "
        "'Sheet1'; sheet 'Sheet2' (empty); sheet 'Merged Cells' (empty). The closest is row 2 "
        "of sheet 'Sheet1'"
    )


@pytest.mark.parametrize("name", ["public/poi-password.xls", "public/poi-xor-encryption-abc.xls"])
def test_password_protected_xls_without_extension_says_so(tmp_path: Path, name: str) -> None:
    upload = tmp_path / "upload"  # as the validate stage stores it: no extension
    upload.write_bytes((CORPUS / name).read_bytes())
    with pytest.raises(FileFormatError) as info:
        detect_file_type(upload, AUTHORIZATION.file_types)
    assert str(info.value) == PROTECTED_WORKBOOK_MESSAGE
