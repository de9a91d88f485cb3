"""Files as plans' programs write them: pipe-delimited text, LibreOffice's .ods, Excel's
.xlsb, values merged down over rows, and long numbers quoted as a spreadsheet shows them."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fixtures_builders import MIF_HEADERS, mif_csv, sample_auth_row, sample_mif_row, write_file
from fixtures_workbooks import COVERED, ods_table, ods_workbook, xlsx_merged

from ecm.errors import ApiError, FileFormatError
from ecm.files.fields import FieldMap
from ecm.files.readers import HeaderAt, detect_file_type, read_records, xlsb_merged, xlsx_reader
from ecm.files.readers.merged import fill_merged_down
from ecm.imports.api import check_import_request
from ecm.imports.schemas import ImportSource
from ecm.kinds.authorization.fields import AUTHORIZATION_FIELDS
from ecm.kinds.authorization.rows import validate_authorization_row
from ecm.kinds.mif.fields import MIF_FIELDS
from ecm.kinds.registry import get_kind

PUBLIC = Path(__file__).resolve().parents[1] / "fixtures" / "real_files" / "public"
MIF_TYPES = ("csv", "xml", "xlsx")
AUTH_TYPES = ("xlsx", "xlsm", "xls")
#: A field map for calamine's public test workbooks (row 2 of Sheet1 starts with "String").
BASE_FIELDS = FieldMap(kind="base", fields=("STRING", "NUMBER"), required=("STRING",))


def _records(path: Path, file_type: str, field_map: FieldMap = MIF_FIELDS) -> list[Any]:
    return list(read_records(path, file_type, field_map, 1000).records)


# --- pipe-delimited text ----------------------------------------------------------------------


@pytest.mark.parametrize("quoted", [True, False])
def test_pipe_delimited_mif_reads_every_field(tmp_path: Path, quoted: bool) -> None:
    rows = [sample_mif_row(1), sample_mif_row(2)]
    data = mif_csv(rows, delimiter="|")
    if quoted:  # what database exports write: every field quoted
        data = b"\n".join(
            b"|".join(b'"' + cell + b'"' for cell in line.split(b"|"))
            for line in data.rstrip(b"\n").split(b"\n")
        )
    path = write_file(tmp_path, "members.txt", data)
    assert detect_file_type(path, MIF_TYPES) == "csv"
    stream = read_records(path, "csv", MIF_FIELDS, 1000)
    assert list(stream.records) == [(2, rows[0]), (3, rows[1])]
    assert stream.header == HeaderAt(None, 1, "|")
    assert (stream.missing_required, stream.header_errors, stream.warnings) == ([], [], [])


def test_pipes_inside_values_of_a_comma_file_do_not_split_it(tmp_path: Path) -> None:
    text = "MEMBER_ID,FIRST_NAME,LAST_NAME,ADDRESS\nM1,Ana,Lopez,1|2|3|4|5|6 Main St\n"
    path = write_file(tmp_path, "m.csv", text.encode())
    stream = read_records(path, "csv", MIF_FIELDS, 1000)
    assert list(stream.records) == [
        (
            2,
            {
                "MEMBER_ID": "M1",
                "FIRST_NAME": "Ana",
                "LAST_NAME": "Lopez",
                "ADDRESS": "1|2|3|4|5|6 Main St",
            },
        )
    ]
    assert stream.header == HeaderAt(None, 1, ",")


def test_a_pipe_file_missing_a_column_is_read_with_pipes(tmp_path: Path) -> None:
    path = write_file(tmp_path, "m.txt", b"MEMBER_ID|FIRST_NAME|CITY\nM1|Ana|Oakland\n")
    stream = read_records(path, "csv", MIF_FIELDS, 1000)
    assert stream.missing_required == ["LAST_NAME"]
    assert stream.header == HeaderAt(None, 1, "|")


def test_pipes_in_the_values_of_a_comma_file_missing_a_column_do_not_win(
    tmp_path: Path,
) -> None:
    # More pipes than commas, but split on pipes the header names none of our columns.
    text = b"MEMBER_ID,FIRST_NAME\nM1,a|b|c|d|e\n"
    stream = read_records(write_file(tmp_path, "m.csv", text), "csv", MIF_FIELDS, 1000)
    assert stream.missing_required == ["LAST_NAME"]
    assert stream.header == HeaderAt(None, 1, ",")


# --- OpenDocument (.ods) ----------------------------------------------------------------------


def test_ods_is_told_by_its_mimetype_and_read_with_typed_cells(tmp_path: Path) -> None:
    row = {**sample_mif_row(4), "DOB": date(1980, 1, 2), "ZIP": 2134}
    path = write_file(tmp_path, "upload", ods_table([row], MIF_HEADERS))
    assert detect_file_type(path, MIF_TYPES) == "ods"
    stream = read_records(path, "ods", MIF_FIELDS, 1000)
    [(number, values)] = list(stream.records)
    assert number == 2
    assert values["MEMBER_ID"] == row["MEMBER_ID"]
    assert values["DOB"] == date(1980, 1, 2)
    assert values["ZIP"] == 2134.0
    assert (stream.sheet_name, stream.header) == ("MIF", HeaderAt("MIF", 1))


@pytest.mark.parametrize(
    ("claims", "allowed"),
    [
        ({"data_uri_type": "application/vnd.oasis.opendocument.spreadsheet"}, MIF_TYPES),
        ({"filename": "November.ODS"}, AUTH_TYPES),
        ({"declared": "ods"}, AUTH_TYPES),
    ],
)
def test_ods_claims_are_accepted_wherever_xlsx_is(
    tmp_path: Path, claims: dict[str, str], allowed: tuple[str, ...]
) -> None:
    path = write_file(tmp_path, "upload", ods_table([sample_mif_row(1)], MIF_HEADERS))
    assert detect_file_type(path, allowed, **claims) == "ods"


def test_ods_is_not_taken_by_a_kind_that_reads_no_workbook(tmp_path: Path) -> None:
    path = write_file(tmp_path, "upload", ods_table([sample_mif_row(1)], MIF_HEADERS))
    with pytest.raises(FileFormatError) as info:
        detect_file_type(path, ("csv", "xml"))
    assert str(info.value) == "Unsupported file type 'ods'; expected one of: csv, xml"


def test_ods_named_xlsx_is_refused_naming_both(tmp_path: Path) -> None:
    path = write_file(tmp_path, "upload", ods_table([sample_mif_row(1)], MIF_HEADERS))
    with pytest.raises(FileFormatError) as info:
        detect_file_type(path, AUTH_TYPES, filename="auth.xlsx")
    assert str(info.value) == "Invalid Excel format: file name says 'xlsx' but the content is ODS"


def test_ods_header_below_a_cover_sheet(tmp_path: Path) -> None:
    data = ods_workbook(
        [
            ("Cover", [["Plan A members, November"]]),
            (
                "Members",
                [["Members"], [], ["MEMBER_ID", "FIRST_NAME", "LAST_NAME"], ["M1", "A", "B"]],
            ),
        ]
    )
    stream = read_records(write_file(tmp_path, "m.ods", data), "ods", MIF_FIELDS, 1000)
    assert list(stream.records) == [(4, {"MEMBER_ID": "M1", "FIRST_NAME": "A", "LAST_NAME": "B"})]
    assert stream.header == HeaderAt("Members", 3)


def test_an_ods_too_large_to_read_whole_is_refused_naming_what_to_save_as(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xlsx_reader, "ODS_CONTENT_LIMIT", 1 << 20)
    rows = [sample_mif_row(i) for i in range(1500)]  # ~2.3 MB of content.xml
    path = write_file(tmp_path, "m.ods", ods_table(rows, MIF_HEADERS))
    with pytest.raises(FileFormatError) as info:
        _records(path, "ods")
    assert str(info.value) == (
        "Invalid Excel format: the .ods file's content expands to 2 MB, more than the 1 MB an "
        ".ods is read within; save it as Excel 2007-365 (.xlsx) and import it again"
    )


def test_libreoffice_saved_ods_is_read(tmp_path: Path) -> None:
    path = PUBLIC / "python-calamine-base.ods"
    assert detect_file_type(path, AUTH_TYPES) == "ods"
    stream = read_records(path, "ods", BASE_FIELDS, 1000)
    assert stream.header == HeaderAt("Sheet1", 2)
    assert list(stream.records) == []  # row 2 is the only row: taken as the header


# --- Excel binary (.xlsb) ---------------------------------------------------------------------


def test_excel_saved_xlsb_is_told_from_xlsx_and_read() -> None:
    path = PUBLIC / "python-calamine-base.xlsb"
    assert detect_file_type(path, MIF_TYPES) == "xlsb"
    assert detect_file_type(path, AUTH_TYPES, filename="a.xlsb") == "xlsb"
    assert (
        detect_file_type(
            path, AUTH_TYPES, data_uri_type="application/vnd.ms-excel.sheet.binary.macroEnabled.12"
        )
        == "xlsb"
    )
    field_map = FieldMap(kind="base", fields=("LINE1",), required=("LINE1",))
    stream = read_records(path, "xlsb", field_map, 1000)
    # Sheet3's B2:D4 hold "line1", "line2", "line3" down each column.
    assert stream.header == HeaderAt("Sheet3", 2)
    assert list(stream.records) == [(3, {"LINE1": "line2"}), (4, {"LINE1": "line3"})]
    assert stream.warnings == ["Column 'line1' repeats LINE1; column 1 is used"] * 2


def test_a_zip_that_is_no_workbook_is_still_refused_as_before(tmp_path: Path) -> None:
    path = tmp_path / "notes.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    assert detect_file_type(path, AUTH_TYPES) == "xlsx"
    with pytest.raises(FileFormatError) as info:
        _records(path, "xlsx", AUTHORIZATION_FIELDS)
    assert str(info.value) == "Invalid Excel format: the zip file is not an Excel workbook"


# --- values merged down over rows -------------------------------------------------------------


def _provider_block() -> list[list[Any]]:
    header = ["MEMBER_ID", "FIRST_NAME", "LAST_NAME", "ECM_PROVIDER_NAME", "ECM_NPI"]
    members = [[f"9100000{i}A", f"First{i}", f"Last{i}"] for i in range(1, 5)]
    members[0] += ["Esteem Health PSC", 1234567893]
    return [header, *members]


def test_a_provider_name_and_npi_merged_over_four_rows_apply_to_each(tmp_path: Path) -> None:
    data = xlsx_merged(_provider_block(), ["D2:D5", "E2:E5"])
    records = _records(write_file(tmp_path, "m.xlsx", data), "xlsx")
    assert [(n, v["MEMBER_ID"], v["ECM_PROVIDER_NAME"], v["ECM_NPI"]) for n, v in records] == [
        (2, "91000001A", "Esteem Health PSC", 1234567893.0),
        (3, "91000002A", "Esteem Health PSC", 1234567893.0),
        (4, "91000003A", "Esteem Health PSC", 1234567893.0),
        (5, "91000004A", "Esteem Health PSC", 1234567893.0),
    ]


def test_merged_cells_are_placed_by_sheet_coordinates(tmp_path: Path) -> None:
    # A title row above, the table from column B: the merge is C4:C5 in the sheet.
    rows = [["Members"], [], ["MEMBER_ID", "FIRST_NAME", "LAST_NAME"], ["M1", "Ana", "Lopez"]]
    rows += [["M2", "Ben"], ["M3", "Carla", "Kim"]]
    data = xlsx_merged(rows, ["D4:D5"], first_column=2)
    records = _records(write_file(tmp_path, "m.xlsx", data), "xlsx")
    assert [(n, v["LAST_NAME"]) for n, v in records] == [(4, "Lopez"), (5, "Lopez"), (6, "Kim")]


def test_a_header_merged_across_columns_is_not_spread(tmp_path: Path) -> None:
    rows = [["MEMBER_ID", "FIRST_NAME", "LAST_NAME", ""], ["M1", "Ana", "Lopez", "x"]]
    data = xlsx_merged(rows, ["C1:D1"])
    stream = read_records(write_file(tmp_path, "m.xlsx", data), "xlsx", MIF_FIELDS, 1000)
    assert list(stream.records) == [
        (2, {"MEMBER_ID": "M1", "FIRST_NAME": "Ana", "LAST_NAME": "Lopez"})
    ]
    assert stream.warnings == [
        "Column D has values but no header (is its header cell merged with the next one?); "
        "its values were ignored"
    ]


def test_ods_merges_down_rows_apply_to_each_row(tmp_path: Path) -> None:
    # calamine reports no merges for .ods: they come from content.xml's rows-spanned.
    header = ["MEMBER_ID", "FIRST_NAME", "LAST_NAME", "ECM_PROVIDER_NAME"]
    rows = [
        ["Members"],
        header,
        ["M1", "Ana", "Lopez", "Esteem Health PSC"],
        ["M2", "Ben", "Kim", COVERED],
        ["M3", "Carla", "Rossi", COVERED],
        ["M4", "Dmitri", "Patel", "Bayview"],
    ]
    data = ods_workbook([("MIF", rows)], merged_down={(2, 3): 3})
    records = _records(write_file(tmp_path, "m.ods", data), "ods")
    assert [(n, v["ECM_PROVIDER_NAME"]) for n, v in records] == [
        (3, "Esteem Health PSC"),
        (4, "Esteem Health PSC"),
        (5, "Esteem Health PSC"),
        (6, "Bayview"),
    ]


@pytest.mark.parametrize("block", [1 << 20, 5])
def test_excel_saved_xlsb_merges_are_read_from_its_sheet_part(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    # calamine reports none; the sheet "Merged Cells" merges A1:A2 and B1:B2 (Excel's file).
    monkeypatch.setattr(xlsb_merged, "_BLOCK", block)  # a record run across read blocks
    assert xlsb_merged.xlsb_merges(PUBLIC / "python-calamine-base.xlsb") == {
        "Merged Cells": [((0, 0), (1, 0)), ((0, 1), (1, 1))]
    }


def test_an_xlsb_with_damaged_parts_has_no_merges(tmp_path: Path) -> None:
    path = tmp_path / "m.xlsb"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.bin", b"\x9c\x01\x7f")
    assert xlsb_merged.xlsb_merges(path) == {}


def test_excel_saved_xls_merges_are_filled_down() -> None:
    # A2:A4 "Column Merge", B2:D4 "Chunk Merged"; the used range ends on row 2.
    rows = list(
        fill_merged_down(
            iter(
                [
                    ["Row Merge", "", "Not Merged"],
                    ["Column Merge", "Chunk Merged", ""],
                    ["", "", ""],
                ]
            ),
            [((0, 0), (0, 1)), ((1, 0), (3, 0)), ((1, 1), (3, 3))],
            0,
        )
    )
    assert rows == [
        ["Row Merge", "", "Not Merged"],
        ["Column Merge", "Chunk Merged", ""],
        ["Column Merge", "Chunk Merged", ""],
    ]


def test_a_cell_under_a_merge_that_holds_a_value_keeps_it() -> None:
    rows = list(fill_merged_down(iter([["A", 1], ["B", ""], ["C", 7]]), [((0, 1), (2, 1))], 0))
    assert rows == [["A", 1], ["B", 1], ["C", 7]]


# --- numbers of more than 15 digits -----------------------------------------------------------


def test_an_18_digit_auth_no_is_quoted_as_the_spreadsheet_shows_it() -> None:
    row = {**sample_auth_row(1), "AUTH_NO": 2.02411010000123e17}
    _, errors = validate_authorization_row(2, row, True, date(2026, 12, 7))
    assert errors == [
        "Row 2: AUTH_NO is a number of more than 15 digits in the workbook "
        "(2.02411010000123E+17), which spreadsheet programs do not keep exactly; format the "
        "column as text and enter the ids again"
    ]


# --- what a request may declare ---------------------------------------------------------------


@pytest.mark.parametrize("declared", ["ods", "XLSB", "xlsx"])
def test_a_request_may_declare_ods_or_xlsb_wherever_xlsx_is_read(declared: str) -> None:
    for kind in ("mif", "authorization"):
        check_import_request(get_kind(kind), ImportSource(file="eA==", file_type=declared))


def test_other_declared_types_are_refused_with_the_kind_s_own_list() -> None:
    with pytest.raises(ApiError) as info:
        check_import_request(get_kind("authorization"), ImportSource(file="eA==", file_type="pdf"))
    assert (info.value.status, info.value.messages) == (
        422,
        ["authorization.file_type must be one of: xlsx, xlsm, xls"],
    )
