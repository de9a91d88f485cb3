"""ecm.readers: CSV/TSV, XML and XLSX records, and file type detection."""

from __future__ import annotations

import codecs
import io
import random
import struct
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fixtures_builders import MIF_HEADERS, mif_csv, mif_xlsx, mif_xml, sample_mif_row, write_file
from openpyxl import Workbook

from ecm.errors import FileFormatError
from ecm.files.kept import KEPT
from ecm.files.readers import HeaderAt, detect_file_type, read_records
from ecm.files.readers import xlsx_reader as xlsx_module
from ecm.files.readers.base import RecordStream, too_many_rows
from ecm.kinds.mif.fields import MIF_FIELDS
from ecm.kinds.values import normalize_zip
from ecm.settings import get_settings

MIF_TYPES = ("csv", "xml", "xlsx")


def _read(
    tmp_path: Path, data: bytes, file_type: str, max_rows: int = 1000
) -> tuple[list[tuple[int, dict[str, Any]]], RecordStream]:
    path = write_file(tmp_path, f"mif.{file_type}", data)
    stream = read_records(path, file_type, MIF_FIELDS, max_rows)
    return list(stream.records), stream


def _read_raw(tmp_path: Path, text: str | bytes, file_type: str = "csv", max_rows: int = 1000):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return _read(tmp_path, data, file_type, max_rows)


def _csv_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(FileFormatError) as info:
        _read_raw(tmp_path, text)
    return str(info.value)


# --- CSV ------------------------------------------------------------------------------------


def test_csv_comma_reads_every_field_as_text(tmp_path: Path) -> None:
    rows = [sample_mif_row(1), sample_mif_row(2)]
    records, stream = _read(tmp_path, mif_csv(rows), "csv")
    assert [n for n, _ in records] == [2, 3]
    assert records[0][1] == rows[0]
    assert records[1][1]["ZIP"] == "02134"
    assert records[1][1]["ADDRESS"] == "102 Main St, Apt 2"
    assert stream.warnings == []
    assert stream.missing_required == []


def test_csv_tab_separated(tmp_path: Path) -> None:
    rows = [sample_mif_row(3)]
    records, stream = _read(tmp_path, mif_csv(rows, delimiter="\t"), "csv")
    assert records == [(2, rows[0])]
    # The comma inside the address is data, not a separator, in a TSV.
    assert records[0][1]["ADDRESS"] == "103 Main St, Apt 3"
    assert stream.warnings == []


def test_csv_semicolon_separated_with_commas_inside_fields(tmp_path: Path) -> None:
    rows = [sample_mif_row(3)]
    records, stream = _read(tmp_path, mif_csv(rows, delimiter=";"), "csv")
    assert records == [(2, rows[0])]
    assert records[0][1]["ADDRESS"] == "103 Main St, Apt 3"
    assert stream.header == HeaderAt(None, 1, ";")
    assert stream.warnings == []


def test_csv_delimiter_is_the_one_that_reads_the_header(tmp_path: Path) -> None:
    # The title line holds more commas than semicolons; the header is ;-separated.
    text = "Members, Plan A, November\nMEMBER_ID;FIRST_NAME;LAST_NAME\nM1;Ana;Lopez, Jr\n"
    records, stream = _read_raw(tmp_path, text)
    assert records == [(3, {"MEMBER_ID": "M1", "FIRST_NAME": "Ana", "LAST_NAME": "Lopez, Jr"})]
    assert stream.header == HeaderAt(None, 2, ";")


def test_csv_utf16_unicode_text_with_bom(tmp_path: Path) -> None:
    row = {"MEMBER_ID": "M1", "FIRST_NAME": "José", "LAST_NAME": "Nguyễn"}
    data = codecs.BOM_UTF16_LE + mif_csv([row], delimiter="\t", crlf=True).decode().encode(
        "utf-16-le"
    )
    path = write_file(tmp_path, "upload", data)
    assert detect_file_type(path, MIF_TYPES) == "csv"
    records, stream = _read(tmp_path, data, "csv")
    assert records == [(2, row)]
    assert stream.warnings == []


def test_utf16_xml_is_sniffed_as_xml(tmp_path: Path) -> None:
    data = "\ufeff<?xml version='1.0' encoding='UTF-16'?><Members/>".encode("utf-16-le")
    assert detect_file_type(write_file(tmp_path, "upload", data), MIF_TYPES) == "xml"


def test_csv_title_and_blank_rows_above_the_header(tmp_path: Path) -> None:
    body = mif_csv([sample_mif_row(1)]).decode()
    records, stream = _read_raw(tmp_path, "Member Information File - Nov 2026\n\n" + body)
    assert stream.header == HeaderAt(None, 3, ",")
    assert [(n, r["MEMBER_ID"]) for n, r in records] == [(4, "M000000001")]


def test_csv_header_below_row_20_is_not_found_and_says_where_it_looked(tmp_path: Path) -> None:
    text = "note\n" * 20 + "MEMBER_ID,FIRST_NAME,LAST_NAME\nM1,Ana,Lopez\n"
    _, stream = _read_raw(tmp_path, text)
    assert stream.missing_required == ["MEMBER_ID", "FIRST_NAME", "LAST_NAME"]
    assert stream.header_errors == [
        "No row holds every required column (MEMBER_ID, FIRST_NAME, LAST_NAME): looked in "
        "rows 1-20. The closest is row 1"
    ]


def test_csv_missing_required_column_takes_the_closest_row(tmp_path: Path) -> None:
    text = "Plan A export\nMEMBER_ID,LAST_NAME\nM1,Lopez\n"
    _, stream = _read_raw(tmp_path, text)
    assert stream.missing_required == ["FIRST_NAME"]
    assert stream.header == HeaderAt(None, 2, ",")
    assert stream.header_errors == [
        "No row holds every required column (MEMBER_ID, FIRST_NAME, LAST_NAME): looked in "
        "rows 1-3. The closest is row 2"
    ]


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Date of Birth (MM/DD/YYYY)", "DOB"),
        ("DOB (mm-dd-yyyy)", "DOB"),
        ("Member\r\nGender", "GENDER"),
        ("  ZIP   Code ", "ZIP"),
        ("Member Client Index Number (CIN)", "MEMBER_ID"),  # a name, not a hint
        ("Birthdate", "DOB"),
    ],
)
def test_headers_with_hints_and_line_breaks_map(header: str, field: str) -> None:
    assert field in MIF_FIELDS.resolve(header)


def test_an_unknown_birth_column_without_dob_is_a_header_error(tmp_path: Path) -> None:
    text = "MEMBER_ID,FIRST_NAME,LAST_NAME,Member Birth Day\nM1,Ana,Lopez,01-02-1950\n"
    _, stream = _read_raw(tmp_path, text)
    assert stream.header_errors == [
        "Column 'Member Birth Day' looks like DOB but is not a column name we know; rename it "
        "DOB so its values are imported"
    ]
    # With a DOB column beside it, the other one is only an unknown column.
    text = "MEMBER_ID,FIRST_NAME,LAST_NAME,DOB,Birth Place\nM1,Ana,Lopez,01-02-1950,Fresno\n"
    _, stream = _read_raw(tmp_path, text)
    assert stream.header_errors == []
    assert stream.warnings == ["Unknown column 'Birth Place' kept as a plan field"]


def test_csv_column_without_header_warns_once_when_it_holds_values(tmp_path: Path) -> None:
    text = "MEMBER_ID,FIRST_NAME,,LAST_NAME,\nM1,Ana,,Lopez,\nM2,Ben,x,Kim,\nM3,Cy,y,Li,\n"
    records, stream = _read_raw(tmp_path, text)
    assert [r["LAST_NAME"] for _, r in records] == ["Lopez", "Kim", "Li"]
    assert stream.warnings == [
        "Column 3 has values but no header (is its header cell merged with the next one?); "
        "its values were ignored"
    ]


def test_csv_utf8_bom_is_not_part_of_the_first_header(tmp_path: Path) -> None:
    rows = [sample_mif_row(4)]
    records, stream = _read(tmp_path, mif_csv(rows, bom=True), "csv")
    assert records[0][1]["MEMBER_ID"] == "M000000004"
    assert stream.warnings == []
    assert stream.missing_required == []


def test_csv_crlf_line_ends_leave_no_carriage_returns(tmp_path: Path) -> None:
    rows = [sample_mif_row(5), sample_mif_row(6)]
    records, _ = _read(tmp_path, mif_csv(rows, crlf=True, bom=True), "csv")
    assert [n for n, _ in records] == [2, 3]
    assert records[1][1]["ACUITY_LEVEL"] == "Low"
    assert all("\r" not in v for _, rec in records for v in rec.values())


def test_csv_quoted_fields_with_commas_quotes_and_newlines(tmp_path: Path) -> None:
    text = (
        "MEMBER_ID,FIRST_NAME,LAST_NAME,ADDRESS\n"
        'M1,Ana,"Lopez, Jr.","1 Main St\nApt 2"\n'
        'M2,"Ben ""Benny""",Kim,"x"\n'
    )
    records, _ = _read_raw(tmp_path, text)
    assert records == [
        (
            2,
            {
                "MEMBER_ID": "M1",
                "FIRST_NAME": "Ana",
                "LAST_NAME": "Lopez, Jr.",
                "ADDRESS": "1 Main St\nApt 2",
            },
        ),
        # Row numbers count records: the multi-line record above is row 2 only.
        (3, {"MEMBER_ID": "M2", "FIRST_NAME": 'Ben "Benny"', "LAST_NAME": "Kim", "ADDRESS": "x"}),
    ]


def test_csv_headers_are_case_insensitive_and_trimmed(tmp_path: Path) -> None:
    text = " member_id ,First_Name,  LAST NAME,dob\nM1,Ana,Lopez,01-02-1980\n"
    records, stream = _read_raw(tmp_path, text)
    assert records == [
        (2, {"MEMBER_ID": "M1", "FIRST_NAME": "Ana", "LAST_NAME": "Lopez", "DOB": "01-02-1980"})
    ]
    assert stream.warnings == []
    assert stream.missing_required == []


def test_csv_dhcs_alias_headers(tmp_path: Path) -> None:
    headers = [
        "Member Client Index Number (CIN)",
        "Member First Name",
        "Member Last Name",
        "Member Date of Birth",
        "Member Gender Code",
        "Member Residential Address",
        "Member Residential City",
        "Member Residential Zip Code",
        "Primary Phone Number",
        "ECM Provider Name",
        "ECM Provider National Provider Identifier (NPI)",
        "Member Acuity Level",
    ]
    values = [
        "91234567A",
        "Ana",
        "Lopez",
        "01-02-1980",
        "F",
        "1 Main St",
        "Boston",
        "02134",
        "617-555-0100",
        "Esteem Health PSC",
        "1234567893",
        "High",
    ]
    text = ",".join(f'"{h}"' for h in headers) + "\n" + ",".join(values) + "\n"
    records, stream = _read_raw(tmp_path, text)
    assert records == [
        (
            2,
            {
                "MEMBER_ID": "91234567A",
                "CIN": "91234567A",
                "FIRST_NAME": "Ana",
                "LAST_NAME": "Lopez",
                "DOB": "01-02-1980",
                "GENDER": "F",
                "ADDRESS": "1 Main St",
                "CITY": "Boston",
                "ZIP": "02134",
                "PHONE": "617-555-0100",
                "ECM_PROVIDER_NAME": "Esteem Health PSC",
                "ECM_NPI": "1234567893",
                "ACUITY_LEVEL": "High",
            },
        )
    ]
    assert stream.warnings == []
    assert stream.missing_required == []


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Medi-Cal Member Client Index Number (CIN)", "CIN"),
        ("MCP_CIN", "CIN"),
        ("mcp cin", "MEMBER_ID"),
        ("Member Sex", "GENDER"),
        ("Member DOB", "DOB"),
        ("ECM Provider NPI", "ECM_NPI"),
    ],
)
def test_more_aliases_resolve(tmp_path: Path, header: str, field: str) -> None:
    text = f'"{header}",FIRST_NAME,LAST_NAME,MEMBER_ID\nVALUE,Ana,Lopez,M1\n'
    records, _ = _read_raw(tmp_path, text)
    assert records[0][1][field] == ("M1" if field == "MEMBER_ID" else "VALUE")


def test_explicit_member_id_column_wins_over_mcp_cin_in_any_order(tmp_path: Path) -> None:
    for text in (
        "MCP_CIN,MEMBER_ID,FIRST_NAME,LAST_NAME\n91234567A,M1,Ana,Lopez\n",
        "MEMBER_ID,MCP_CIN,FIRST_NAME,LAST_NAME\nM1,91234567A,Ana,Lopez\n",
    ):
        records, stream = _read_raw(tmp_path, text)
        assert records[0][1]["MEMBER_ID"] == "M1"
        assert records[0][1]["CIN"] == "91234567A"
        assert stream.warnings == []


def test_csv_repeated_column_warns_and_keeps_the_first(tmp_path: Path) -> None:
    text = "MEMBER_ID,FIRST_NAME,LAST_NAME,first name\nM1,Ana,Lopez,Other\n"
    records, stream = _read_raw(tmp_path, text)
    assert records[0][1]["FIRST_NAME"] == "Ana"
    assert stream.warnings == ["Column 'first name' repeats FIRST_NAME; column 2 is used"]


def test_csv_unknown_column_is_a_warning(tmp_path: Path) -> None:
    text = "MEMBER_ID,FIRST_NAME,LAST_NAME, Favorite Color ,\nM1,Ana,Lopez,blue,\n"
    records, stream = _read_raw(tmp_path, text)
    # A MIF keeps it (its plan fields), under the header as the file spells it, trimmed.
    assert records == [
        (2, {"MEMBER_ID": "M1", "FIRST_NAME": "Ana", "LAST_NAME": "Lopez", KEPT: ("blue",)})
    ]
    assert stream.kept is not None and stream.kept.headers == ["Favorite Color"]
    # The blank trailing header is not reported.
    assert stream.warnings == ["Unknown column 'Favorite Color' kept as a plan field"]
    # A kind that keeps no unknown column ignores it, and its rows carry nothing more.
    path = tmp_path / "plain.csv"
    path.write_text(text)
    plain = read_records(path, "csv", replace(MIF_FIELDS, keeps_unknown=False), 10)
    assert list(plain.records) == [
        (2, {"MEMBER_ID": "M1", "FIRST_NAME": "Ana", "LAST_NAME": "Lopez"})
    ]
    assert (plain.kept, plain.warnings) == (None, ["Unknown column 'Favorite Color' ignored"])


def test_csv_missing_required_columns(tmp_path: Path) -> None:
    _, stream = _read_raw(tmp_path, "MEMBER_ID,DOB\nM1,01-02-1980\n")
    assert stream.missing_required == ["FIRST_NAME", "LAST_NAME"]


def test_csv_short_rows_fill_missing_cells_with_blank(tmp_path: Path) -> None:
    records, _ = _read_raw(tmp_path, "MEMBER_ID,FIRST_NAME,LAST_NAME,CITY\nM1,Ana\n")
    assert records == [(2, {"MEMBER_ID": "M1", "FIRST_NAME": "Ana", "LAST_NAME": "", "CITY": ""})]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # The documented example (docs/using/mif-imports.md): the quote opens on line 3.
        ('MEMBER_ID,FIRST_NAME,LAST_NAME\nM1,Ana,Lopez\nM2,"Ben,Kim\nM3,Cy,Doe\n', 3),
        # A quoted newline earlier moves the physical line on.
        ('MEMBER_ID,FIRST_NAME,LAST_NAME\nM1,Ana,"Lo\npez"\nM2,"Ben,Kim\n', 4),
        # Blank lines count as lines.
        ('MEMBER_ID,FIRST_NAME,LAST_NAME\n\nM1,Ana,Lopez\n\n\nM2,Ben,"Kim\n', 6),
        # CRLF files.
        ('MEMBER_ID,FIRST_NAME,LAST_NAME\r\nM1,Ana,Lopez\r\nM2,"Ben,Kim\r\n', 3),
        # The record opens on line 2; its second quoted field opens (and never closes) on 3.
        ('MEMBER_ID,FIRST_NAME,LAST_NAME\nM1,"A\nna","Lopez\nM2,Ben,Kim\n', 3),
        # Escaped quotes inside a quoted field do not close it.
        ('MEMBER_ID,FIRST_NAME,LAST_NAME\nM1,Ana,"Lo ""the"" pez\n', 2),
        # In the header.
        ('MEMBER_ID,"FIRST_NAME,LAST_NAME\nM1,Ana,Lopez\n', 1),
    ],
)
def test_csv_unclosed_quote_names_the_line_where_it_opens(
    tmp_path: Path, text: str, line: int
) -> None:
    assert _csv_error(tmp_path, text) == f"Invalid CSV format: Unclosed quoted field on line {line}"


def test_csv_text_after_closing_quote_is_a_format_error(tmp_path: Path) -> None:
    message = _csv_error(tmp_path, 'MEMBER_ID,FIRST_NAME,LAST_NAME\nM1,"Ana"x,Lopez\n')
    assert message == "Invalid CSV format: ',' expected after '\"' on line 2"


def test_csv_row_numbers_count_the_header_and_skipped_blank_lines(tmp_path: Path) -> None:
    text = "MEMBER_ID,FIRST_NAME,LAST_NAME\nM1,Ana,Lopez\n\n , ,\nM2,Ben,Kim\n,,\n"
    records, _ = _read_raw(tmp_path, text)
    assert [(n, r["MEMBER_ID"]) for n, r in records] == [(2, "M1"), (5, "M2")]


def test_csv_header_only_file_has_no_records(tmp_path: Path) -> None:
    records, stream = _read_raw(tmp_path, "MEMBER_ID,FIRST_NAME,LAST_NAME\n")
    assert records == []
    assert stream.missing_required == []


def test_csv_more_rows_than_max_rows_is_an_error(tmp_path: Path) -> None:
    data = mif_csv([sample_mif_row(i) for i in range(3)])
    records, _ = _read(tmp_path, data, "csv", max_rows=3)
    assert len(records) == 3
    with pytest.raises(FileFormatError) as info:
        _read(tmp_path, data, "csv", max_rows=2)
    assert str(info.value) == too_many_rows(2)
    assert str(info.value).startswith("File has more than 2 data rows")


def test_csv_blank_lines_do_not_count_towards_max_rows(tmp_path: Path) -> None:
    text = "MEMBER_ID,FIRST_NAME,LAST_NAME\nM1,Ana,Lopez\n\n\n,,\nM2,Ben,Kim\n"
    records, _ = _read_raw(tmp_path, text, max_rows=2)
    assert [r["MEMBER_ID"] for _, r in records] == ["M1", "M2"]


def test_csv_windows_1252_fallback(tmp_path: Path) -> None:
    row = {"MEMBER_ID": "M1", "FIRST_NAME": "José", "LAST_NAME": "Müller – Peña"}
    records, _ = _read(tmp_path, mif_csv([row], encoding="cp1252"), "csv")
    assert records == [(2, row)]


def test_csv_utf8_is_preferred_over_windows_1252(tmp_path: Path) -> None:
    row = {"MEMBER_ID": "M1", "FIRST_NAME": "José", "LAST_NAME": "Nguyễn"}
    records, _ = _read(tmp_path, mif_csv([row], bom=True), "csv")
    assert records == [(2, row)]


def test_csv_no_code_page_reads_cleanly_is_a_format_error(tmp_path: Path) -> None:
    # High bytes at random: garbled in every code page the detector tries.
    rng = random.Random(7)
    noise = bytes(rng.randrange(128, 256) for _ in range(400))
    data = b"MEMBER_ID,FIRST_NAME,LAST_NAME\nM1," + noise + b",Lopez\n"
    with pytest.raises(FileFormatError) as info:
        _read(tmp_path, data, "csv")
    assert str(info.value).startswith("Invalid CSV format:")
    assert "UTF-8" in str(info.value)


def test_csv_bytes_undefined_in_windows_1252_are_read_with_a_weak_guess_warning(
    tmp_path: Path,
) -> None:
    # 0x81 and 0x8d are undefined in Windows-1252: code page 437 reads them as letters.
    data = b"MEMBER_ID,FIRST_NAME,LAST_NAME\nM1,An\x81a,Lo\x8dpez\n"
    records, stream = _read(tmp_path, data, "csv")
    assert records == [(2, {"MEMBER_ID": "M1", "FIRST_NAME": "Anüa", "LAST_NAME": "Loìpez"})]
    [warning] = stream.warnings
    assert warning.startswith("The file is not UTF-8; it was read as MS-DOS (code page 437)")
    assert "save the file as CSV UTF-8" in warning


# --- XML ------------------------------------------------------------------------------------


def test_xml_any_root_and_every_field(tmp_path: Path) -> None:
    rows = [sample_mif_row(1), sample_mif_row(2)]
    records, stream = _read(tmp_path, mif_xml(rows, root="EnrollmentExport"), "xml")
    assert records == [(1, rows[0]), (2, rows[1])]
    assert stream.warnings == []


def test_xml_namespaces_are_ignored(tmp_path: Path) -> None:
    text = (
        '<?xml version="1.0"?>\n'
        '<m:Members xmlns:m="urn:dhcs:mif" xmlns="urn:default">'
        "<m:Member><m:MEMBER_ID>M1</m:MEMBER_ID><FIRST_NAME>Ana</FIRST_NAME>"
        "<LAST_NAME>Lopez</LAST_NAME></m:Member>"
        "<Member><MEMBER_ID>M2</MEMBER_ID><FIRST_NAME>Ben</FIRST_NAME>"
        "<LAST_NAME>Kim</LAST_NAME></Member>"
        "</m:Members>"
    )
    records, _ = _read_raw(tmp_path, text, "xml")
    assert records == [
        (1, {"MEMBER_ID": "M1", "FIRST_NAME": "Ana", "LAST_NAME": "Lopez"}),
        (2, {"MEMBER_ID": "M2", "FIRST_NAME": "Ben", "LAST_NAME": "Kim"}),
    ]


def test_xml_child_names_are_case_insensitive_and_aliases_work(tmp_path: Path) -> None:
    text = (
        "<members><MEMBER><mcp_cin> 91234567A </mcp_cin><First_Name>Ana</First_Name>"
        "<last_name>Lopez</last_name><Member_Date_Of_Birth>01-02-1980</Member_Date_Of_Birth>"
        "<Zip>02134</Zip><Notes>x</Notes></MEMBER>"
        "<member><member_id>M2</member_id><Notes>y</Notes></member></members>"
    )
    records, stream = _read_raw(tmp_path, text, "xml")
    assert records == [
        (
            1,
            {
                "MEMBER_ID": "91234567A",
                "CIN": "91234567A",
                "FIRST_NAME": "Ana",
                "LAST_NAME": "Lopez",
                "DOB": "01-02-1980",
                "ZIP": "02134",
                KEPT: ["x"],
            },
        ),
        (2, {"MEMBER_ID": "M2", KEPT: ["y"]}),
    ]
    # One warning per unknown element name, not per record.
    assert stream.warnings == ["Unknown element 'Notes' kept as a plan field"]


def test_xml_explicit_member_id_wins_over_mcp_cin(tmp_path: Path) -> None:
    text = (
        "<Members><Member><MCP_CIN>91234567A</MCP_CIN><MEMBER_ID>M1</MEMBER_ID>"
        "<FIRST_NAME>Ana</FIRST_NAME><LAST_NAME>Lopez</LAST_NAME></Member></Members>"
    )
    records, _ = _read_raw(tmp_path, text, "xml")
    assert records[0][1]["MEMBER_ID"] == "M1"
    assert records[0][1]["CIN"] == "91234567A"


def test_xml_escaped_text_is_decoded(tmp_path: Path) -> None:
    rows = [{"MEMBER_ID": "M1", "FIRST_NAME": "Ana", "LAST_NAME": "O'Neil & <Sons>"}]
    records, _ = _read(tmp_path, mif_xml(rows), "xml")
    assert records[0][1]["LAST_NAME"] == "O'Neil & <Sons>"


def test_xml_without_member_elements_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError) as info:
        _read_raw(
            tmp_path, "<Patients><Patient><MEMBER_ID>1</MEMBER_ID></Patient></Patients>", "xml"
        )
    assert str(info.value) == "Invalid XML format: no <Member> elements found"


def test_xml_malformed_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError) as info:
        _read_raw(tmp_path, "<Members><Member><MEMBER_ID>1</Member></Members>", "xml")
    # The parser's own words follow the prefix; the position is there whatever the library.
    message = str(info.value)
    assert message.startswith("Invalid XML format: ")
    assert "line 1" in message


def test_xml_max_rows(tmp_path: Path) -> None:
    data = mif_xml([sample_mif_row(i) for i in range(3)])
    with pytest.raises(FileFormatError) as info:
        _read(tmp_path, data, "xml", max_rows=2)
    assert str(info.value) == too_many_rows(2)


class OpenedFiles:
    """Paths Python opens while ``watching`` (audit hooks cannot be removed: they are gated)."""

    def __init__(self) -> None:
        self.watching = False
        self.paths: list[str] = []

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if self.watching and event == "open" and args and isinstance(args[0], str | Path):
            self.paths.append(str(args[0]))


@pytest.fixture
def opened_files() -> Iterator[OpenedFiles]:
    opened = OpenedFiles()
    sys.addaudithook(opened.hook)
    yield opened
    opened.watching = False


def _refused(tmp_path: Path, text: str, opened: OpenedFiles | None = None) -> str:
    """The reader refuses ``text`` as XML, having yielded no record and expanded nothing.

    The detail after the prefix is the parser's (which guard fires first differs between
    libraries and their versions): what matters is that the file is refused.
    """
    path = write_file(tmp_path, "mif.xml", text.encode())
    records: list[Any] = []
    if opened is not None:
        opened.watching = True
    try:
        with pytest.raises(FileFormatError) as info:
            records.extend(read_records(path, "xml", MIF_FIELDS, 10).records)
    finally:
        if opened is not None:
            opened.watching = False
    message = str(info.value)
    assert message.startswith("Invalid XML format: ")
    assert records == []
    assert "lollol" not in message and "LEAKED" not in message
    return message


def test_xml_xxe_file_entity_is_refused_and_never_read(
    tmp_path: Path, opened_files: OpenedFiles
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-PHI")
    text = (
        f'<?xml version="1.0"?>\n<!DOCTYPE Members [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        "<Members><Member><MEMBER_ID>&xxe;</MEMBER_ID><FIRST_NAME>A</FIRST_NAME>"
        "<LAST_NAME>B</LAST_NAME></Member></Members>"
    )
    message = _refused(tmp_path, text, opened_files)
    assert "TOP-SECRET-PHI" not in message
    # The reader opened the upload and nothing else.
    assert opened_files.paths
    assert all(p.endswith("mif.xml") for p in opened_files.paths)


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE Members [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>\n<Members><Member><MEMBER_ID>&lol9;</MEMBER_ID></Member></Members>"
)


def test_xml_billion_laughs_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, BILLION_LAUGHS)


def test_xml_billion_laughs_is_refused_within_bounded_memory_and_cpu(tmp_path: Path) -> None:
    """Expanded, the file is 3 GB of "lol": a child process capped at 1 GB of address space
    and 20 s of CPU must still refuse it (a MemoryError or SIGXCPU would fail this test)."""
    path = write_file(tmp_path, "laughs.xml", BILLION_LAUGHS.encode())
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "resource.setrlimit(resource.RLIMIT_CPU, (20, 20))\n"
        "from ecm.errors import FileFormatError\n"
        "from ecm.kinds.mif.fields import MIF_FIELDS\n"
        "from ecm.files.readers import read_records\n"
        "try:\n"
        "    list(read_records(__import__('pathlib').Path(sys.argv[1]), 'xml', MIF_FIELDS, 10)"
        ".records)\n"
        "except FileFormatError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("Invalid XML format: ")
    assert "lollol" not in done.stdout


def test_xml_external_dtd_is_refused_and_never_read(
    tmp_path: Path, opened_files: OpenedFiles
) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "LEAKED">')
    text = (
        f'<?xml version="1.0"?>\n<!DOCTYPE Members SYSTEM "file://{dtd}">\n'
        "<Members><Member><MEMBER_ID>M1</MEMBER_ID></Member></Members>"
    )
    _refused(tmp_path, text, opened_files)
    assert opened_files.paths
    assert all(p.endswith("mif.xml") for p in opened_files.paths)


def test_xml_internal_entity_without_dtd_use_is_still_refused(tmp_path: Path) -> None:
    text = (
        '<!DOCTYPE Members [<!ENTITY n "Ana">]><Members><Member><MEMBER_ID>M1</MEMBER_ID>'
        "<FIRST_NAME>&n;</FIRST_NAME></Member></Members>"
    )
    _refused(tmp_path, text)


# --- XLSX -----------------------------------------------------------------------------------


def test_xlsx_headers_in_first_row_and_text_values(tmp_path: Path) -> None:
    rows = [sample_mif_row(1), sample_mif_row(2)]
    records, stream = _read(tmp_path, mif_xlsx(rows), "xlsx")
    assert records == [(2, rows[0]), (3, rows[1])]
    assert stream.sheet_name == "MIF"
    assert stream.warnings == []
    assert stream.missing_required == []


def test_xlsx_typed_date_cells_come_back_as_dates(tmp_path: Path) -> None:
    rows = [sample_mif_row(1)]
    records, _ = _read(tmp_path, mif_xlsx(rows, typed_dates=True), "xlsx")
    record = records[0][1]
    assert record["DOB"] == date(1951, 2, 2)
    assert record["ECM_BENEFIT_AUTH_EFF_DATE"] == date(2024, 1, 1)
    assert record["ECM_BENEFIT_AUTH_END_DATE"] == date(2024, 12, 31)


def test_xlsx_numbers_serials_and_numeric_zip(tmp_path: Path) -> None:
    row = {
        **sample_mif_row(1),
        "MEMBER_ID": 12345678,
        "ZIP": 2134,
        "DOB": 44927,
        "ECM_NPI": 1234567893,
    }
    records, _ = _read(tmp_path, mif_xlsx([row]), "xlsx")
    record = records[0][1]
    assert record["ZIP"] == 2134
    assert normalize_zip(record["ZIP"]) == "02134"
    assert record["MEMBER_ID"] == 12345678
    assert record["DOB"] == 44927  # a serial number: the row validator turns it into a date
    assert record["ECM_NPI"] == 1234567893


def test_xlsx_trailing_empty_rows_are_ignored(tmp_path: Path) -> None:
    rows = [sample_mif_row(1), sample_mif_row(2)]
    records, _ = _read(tmp_path, mif_xlsx(rows, trailing_empty_rows=5), "xlsx", max_rows=2)
    assert [n for n, _ in records] == [2, 3]


def test_xlsx_header_below_blank_rows_keeps_sheet_row_numbers(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.cell(row=3, column=2, value="MEMBER_ID")
    sheet.cell(row=3, column=3, value="First Name")
    sheet.cell(row=3, column=4, value="Last Name")
    sheet.cell(row=4, column=2, value="M1")
    sheet.cell(row=4, column=3, value="Ana")
    sheet.cell(row=4, column=4, value="Lopez")
    sheet.cell(row=6, column=2, value="M2")
    sheet.cell(row=6, column=3, value="Ben")
    sheet.cell(row=6, column=4, value="Kim")
    buffer = io.BytesIO()
    workbook.save(buffer)
    records, _ = _read(tmp_path, buffer.getvalue(), "xlsx")
    assert records == [
        (4, {"MEMBER_ID": "M1", "FIRST_NAME": "Ana", "LAST_NAME": "Lopez"}),
        (6, {"MEMBER_ID": "M2", "FIRST_NAME": "Ben", "LAST_NAME": "Kim"}),
    ]


def test_xlsx_dhcs_headers_and_missing_required(tmp_path: Path) -> None:
    rows = [{"Member Client Index Number (CIN)": "91234567A", "Member Date of Birth": "x"}]
    records, stream = _read(tmp_path, mif_xlsx(rows), "xlsx")
    assert records == [(2, {"MEMBER_ID": "91234567A", "CIN": "91234567A", "DOB": "x"})]
    assert stream.missing_required == ["FIRST_NAME", "LAST_NAME"]


@pytest.mark.parametrize(
    "headers",
    [
        ["MEMBER_ID", "FIRST_NAME", "LAST_NAME", "Notes"],  # mapped columns lead, extra after
        ["Notes", "LAST_NAME", "MEMBER_ID", "FIRST_NAME"],  # an unknown first, out of order
        ["FIRST_NAME", "Notes", "MEMBER_ID", "LAST_NAME"],  # an unknown between
    ],
)
def test_xlsx_maps_columns_wherever_they_stand(tmp_path: Path, headers: list[str]) -> None:
    rows = [
        {"MEMBER_ID": "M1", "FIRST_NAME": "Ana", "LAST_NAME": "Lopez", "Notes": "n1"},
        {"MEMBER_ID": "M2", "FIRST_NAME": "Ben", "LAST_NAME": "Kim", "Notes": ""},
    ]
    records, stream = _read(tmp_path, mif_xlsx(rows, headers=headers), "xlsx")
    assert records == [
        (2, {"MEMBER_ID": "M1", "FIRST_NAME": "Ana", "LAST_NAME": "Lopez", KEPT: ("n1",)}),
        (3, {"MEMBER_ID": "M2", "FIRST_NAME": "Ben", "LAST_NAME": "Kim", KEPT: ("",)}),
    ]
    assert stream.warnings == ["Unknown column 'Notes' kept as a plan field"]


def test_xlsx_max_rows(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError) as info:
        _read(tmp_path, mif_xlsx([sample_mif_row(i) for i in range(3)]), "xlsx", max_rows=2)
    assert str(info.value) == too_many_rows(2)


def test_xlsx_over_the_uncompressed_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limited = get_settings().model_copy(update={"max_xlsx_uncompressed_bytes": 2 * 1024 * 1024})
    monkeypatch.setattr(xlsx_module, "get_settings", lambda: limited)
    workbook = io.BytesIO(mif_xlsx([sample_mif_row(1)]))
    with zipfile.ZipFile(workbook, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (3 * 1024 * 1024))
    with pytest.raises(FileFormatError) as info:
        _read(tmp_path, workbook.getvalue(), "xlsx")
    assert str(info.value) == (
        "Invalid Excel format: the workbook expands to 3 MB, more than the 2 MB limit"
    )


def _declare_huge(data: bytes) -> bytes:
    """Rewrite every central-directory entry to declare a 4 GB uncompressed size."""
    out = bytearray(data)
    start = 0
    while (at := out.find(b"PK\x01\x02", start)) != -1:
        struct.pack_into("<I", out, at + 24, 0xFFFF0000)
        start = at + 4
    return bytes(out)


def test_xlsx_declared_zip_bomb_is_refused_before_reading(tmp_path: Path) -> None:
    data = _declare_huge(mif_xlsx([sample_mif_row(1)]))
    with pytest.raises(FileFormatError) as info:
        _read(tmp_path, data, "xlsx")
    message = str(info.value)
    assert message.startswith("Invalid Excel format: the workbook expands to ")
    assert message.endswith("more than the 400 MB limit")


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("members.csv", "MEMBER_ID\nM1\n")
    path = write_file(tmp_path, "mif.xlsx", buffer.getvalue())
    assert detect_file_type(path, MIF_TYPES) == "xlsx"
    with pytest.raises(FileFormatError) as info:
        read_records(path, "xlsx", MIF_FIELDS, 10)
    assert str(info.value) == "Invalid Excel format: the zip file is not an Excel workbook"


def test_damaged_zip(tmp_path: Path) -> None:
    data = mif_xlsx([sample_mif_row(1)])
    path = write_file(tmp_path, "mif.xlsx", data[:200])
    with pytest.raises(FileFormatError) as info:
        detect_file_type(path, MIF_TYPES)
    assert str(info.value) == "Invalid Excel format: the zip container is damaged"
    with pytest.raises(FileFormatError) as info:
        read_records(path, "xlsx", MIF_FIELDS, 10)
    assert str(info.value).startswith("Invalid Excel format:")


def test_empty_sheet(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Workbook().save(buffer)
    with pytest.raises(FileFormatError) as info:
        _read(tmp_path, buffer.getvalue(), "xlsx")
    assert str(info.value) == "Invalid Excel format: the workbook has no sheet with a header row"


def test_unsupported_reader_type(tmp_path: Path) -> None:
    path = write_file(tmp_path, "mif.json", b"{}")
    with pytest.raises(FileFormatError) as info:
        read_records(path, "json", MIF_FIELDS, 10)
    assert str(info.value) == "Unsupported file type 'json'"


# --- type detection -------------------------------------------------------------------------


def _detect(tmp_path: Path, data: bytes, **claims: str) -> str:
    return detect_file_type(write_file(tmp_path, "upload.bin", data), MIF_TYPES, **claims)


def _detect_error(tmp_path: Path, data: bytes, **claims: str) -> str:
    with pytest.raises(FileFormatError) as info:
        _detect(tmp_path, data, **claims)
    return str(info.value)


def test_detect_by_content(tmp_path: Path) -> None:
    rows = [sample_mif_row(1)]
    assert _detect(tmp_path, mif_xlsx(rows)) == "xlsx"
    assert _detect(tmp_path, mif_xml(rows)) == "xml"
    assert _detect(tmp_path, b"\xef\xbb\xbf\r\n  <Members/>") == "xml"
    assert _detect(tmp_path, mif_csv(rows, bom=True)) == "csv"
    assert _detect(tmp_path, mif_csv(rows, delimiter="\t")) == "csv"


def test_detect_agreeing_claims(tmp_path: Path) -> None:
    data = mif_xlsx([sample_mif_row(1)])
    assert (
        _detect(
            tmp_path,
            data,
            declared=" XLSX ",
            data_uri_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename="members.XLSX",
        )
        == "xlsx"
    )
    assert (
        _detect(
            tmp_path, b"MEMBER_ID\nM1\n", declared="csv", data_uri_type="text/csv", filename="m.txt"
        )
        == "csv"
    )
    # xlsm and xlsx are one container family.
    assert _detect(tmp_path, data, filename="members.xlsm") == "xlsx"


def test_detect_claims_contradicting_content(tmp_path: Path) -> None:
    csv_data = mif_csv([sample_mif_row(1)])
    assert _detect_error(tmp_path, csv_data, declared="xml") == (
        "file_type says 'xml' but the content is CSV"
    )
    assert _detect_error(tmp_path, csv_data, data_uri_type="text/xml") == (
        "data URI prefix says 'xml' but the content is CSV"
    )
    assert _detect_error(tmp_path, csv_data, filename="members.xlsx") == (
        "file name says 'xlsx' but the content is CSV"
    )
    xlsx_data = mif_xlsx([sample_mif_row(1)])
    assert _detect_error(tmp_path, xlsx_data, declared="csv") == (
        "file_type says 'csv' but the content is XLSX"
    )


def test_detect_workbook_claims_on_text_are_invalid_excel_format(tmp_path: Path) -> None:
    path = write_file(tmp_path, "upload", mif_csv([sample_mif_row(1)]))
    with pytest.raises(FileFormatError) as info:
        detect_file_type(path, ("xlsx", "xlsm", "xls"), declared="xlsx")
    assert str(info.value) == "Invalid Excel format: file_type says 'xlsx' but the content is CSV"


def test_detect_refuses_unsupported_declared_type(tmp_path: Path) -> None:
    assert _detect_error(tmp_path, b"MEMBER_ID\nM1\n", declared="json") == (
        "Unsupported file_type 'json'; expected one of: csv, xml, xlsx"
    )


def test_detect_refuses_pdf_empty_binary_and_xls(tmp_path: Path) -> None:
    assert _detect_error(tmp_path, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") == (
        "Unsupported file: this is a PDF document"
    )
    assert _detect_error(tmp_path, b"\xef\xbb\xbf \r\n\t") == "Unsupported file: the file is empty"
    assert _detect_error(tmp_path, b"M\x00E\x00M\x00") == (
        "Unsupported file: binary content that is not a spreadsheet"
    )
    assert _detect_error(tmp_path, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100) == (
        "Unsupported file type 'xls'; expected one of: csv, xml, xlsx"
    )


def test_sample_rows_have_every_documented_field() -> None:
    row = sample_mif_row(7)
    assert tuple(row) == MIF_HEADERS
    assert row["MEMBER_ID"] == "M000000007"
    assert row["ZIP"] == "02134"
    assert row["ECM_NPI"] == "1234567893"
