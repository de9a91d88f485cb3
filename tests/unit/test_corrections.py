"""Cells corrected by hand, laid over the rows a reader yields: a corrected row is numbered
as its error numbered it, a column is found by its header or by its field, and a row or
column the file does not have is named before anything is imported."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fixtures_builders import mif_csv, mif_xlsx, mif_xml, sample_mif_row

from ecm.errors import ImportRejected
from ecm.files.readers import read_records
from ecm.files.readers.corrected import CellFix, FixTarget, check_targets, correct_records
from ecm.imports.corrections import Correction, merged
from ecm.imports.results import _original_rows, cell_text
from ecm.imports.stages.validate import validate_file
from ecm.kinds.registry import MIF

BAD_DOB = "13-45-1980"


def _members(count: int, bad_row: int | None = None) -> list[dict[str, Any]]:
    """``count`` members; the one on file row ``bad_row`` (header on row 1) has a bad DOB."""
    rows: list[dict[str, Any]] = [sample_mif_row(700 + i) for i in range(count)]
    if bad_row is not None:
        rows[bad_row - 2]["DOB"] = BAD_DOB
    return rows


def _validate(path: Path, file_type: str, fixes: list[CellFix]) -> Any:
    chunks: list[tuple[int, dict[str, Any]]] = []
    outcome = validate_file(MIF, path, file_type, chunks.extend, 100, 50, fixes=fixes)
    return outcome, chunks


def test_a_csv_rows_bad_cell_corrected_is_read_as_corrected(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(mif_csv(_members(4, bad_row=3)))
    refused, _ = _validate(path, "csv", [])
    assert isinstance(refused, ImportRejected)
    assert len(refused.errors) == 1 and refused.errors[0].startswith("Row 3: ")
    assert "DOB" in refused.errors[0]

    outcome, chunks = _validate(path, "csv", [CellFix(3, "DOB", "01-02-1980")])
    assert outcome == (4, [])
    assert [number for number, _ in chunks] == [2, 3, 4, 5]
    assert chunks[1][1]["date_of_birth"] == "1980-01-02"
    assert path.read_bytes() == mif_csv(_members(4, bad_row=3))  # the file is as it came


def test_rows_below_a_title_keep_the_numbers_their_errors_gave(tmp_path: Path) -> None:
    """A title row above the header and a blank row between members: the corrected row is
    the one the error named, not the n-th record."""
    rows = _members(3, bad_row=3)
    body = mif_csv(rows).decode().split("\n")
    lines = ["Member list for January", *body[:2], "", *body[2:]]
    path = tmp_path / "titled.csv"
    path.write_text("\n".join(lines))
    refused, _ = _validate(path, "csv", [])
    assert refused.errors[0].startswith("Row 5: ")  # title 1, header 2, row 3, blank 4
    outcome, chunks = _validate(path, "csv", [CellFix(5, "DOB", "12-31-1979")])
    assert outcome == (3, [])
    assert [(n, r["date_of_birth"]) for n, r in chunks][1] == (5, "1979-12-31")


def test_an_xlsx_typed_cell_corrected_with_text(tmp_path: Path) -> None:
    """The other rows' dates are date cells; the corrected one is read from its text."""
    rows = _members(3, bad_row=4)
    for row in rows[:2]:
        row["DOB"] = datetime.strptime(row["DOB"], "%m-%d-%Y").date()
    path = tmp_path / "m.xlsx"
    path.write_bytes(mif_xlsx(rows))
    refused, _ = _validate(path, "xlsx", [])
    assert [e[:7] for e in refused.errors] == ["Row 4: "]
    outcome, chunks = _validate(path, "xlsx", [CellFix(4, "DOB", "07-04-1976")])
    assert outcome == (3, [])
    assert [(n, r["date_of_birth"]) for n, r in chunks] == [
        (2, rows[0]["DOB"].isoformat()),
        (3, rows[1]["DOB"].isoformat()),
        (4, "1976-07-04"),
    ]


def test_a_column_is_found_by_its_header_or_by_the_field_it_fills(tmp_path: Path) -> None:
    rows = [
        {("Date of Birth" if k == "DOB" else k): v for k, v in r.items()} | {"Notes": "n"}
        for r in _members(2)
    ]
    path = tmp_path / "named.csv"
    path.write_bytes(mif_csv(rows))
    targets = [
        FixTarget(0, 2, "date of birth"),  # the header, whatever its case
        FixTarget(1, 3, "DOB"),  # the field the header is read as
        FixTarget(2, 2, "Notes"),  # a column no field is known by is still the file's
        FixTarget(3, 3, " date_of_birth "),  # as headers are compared on import
    ]
    stream = read_records(path, "csv", MIF.field_map, 100)
    named, errors = check_targets(stream, targets, MIF.field_map)
    assert errors == []
    assert named == {0: "Date of Birth", 1: "Date of Birth", 2: "Notes", 3: "Date of Birth"}


def test_a_row_or_column_the_file_does_not_have_is_named(tmp_path: Path) -> None:
    rows = [*_members(2), dict.fromkeys(sample_mif_row(0), ""), *_members(3)[2:]]
    rows[0] = rows[0] | {"Note": "a", "NOTE": "b"}
    path = tmp_path / "m.csv"
    path.write_bytes(mif_csv(rows))
    targets = [
        FixTarget(0, 2, "DOB"),
        FixTarget(1, 999, "DOB"),
        FixTarget(2, 3, "NOPE"),
        FixTarget(3, 4, "DOB"),  # the blank row: no error numbers it
        FixTarget(4, 1, "DOB"),  # the header
        FixTarget(5, 2, "note"),
    ]
    stream = read_records(path, "csv", MIF.field_map, 100)
    named, errors = check_targets(stream, targets, MIF.field_map)
    assert named == {0: "DOB", 1: "DOB", 3: "DOB", 4: "DOB"}
    assert errors == [
        "corrections[1] (row 999, column 'DOB'): the file has no such data row",
        "corrections[2] (row 3, column 'NOPE'): the file has no such column",
        "corrections[3] (row 4, column 'DOB'): the file has no such data row",
        "corrections[4] (row 1, column 'DOB'): the file has no such data row",
        "corrections[5] (row 2, column 'note'): the name fits several columns ('Note', 'NOTE')",
    ]


def test_the_check_stops_at_the_last_row_named_and_closes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(mif_csv(_members(50)))
    stream = read_records(path, "csv", MIF.field_map, 100)
    named, errors = check_targets(stream, [FixTarget(0, 3, "DOB")], MIF.field_map)
    assert (named, errors) == ({0: "DOB"}, [])
    assert next(stream.records, None) is None  # closed: nothing more is read


def test_an_xml_element_is_corrected_by_its_name_or_its_field(tmp_path: Path) -> None:
    rows = _members(3, bad_row=3)  # the second <Member>
    rows[2] = {k: v for k, v in rows[2].items() if k != "ACUITY_LEVEL"}
    path = tmp_path / "m.xml"
    path.write_bytes(mif_xml(rows))
    refused, _ = _validate(path, "xml", [])
    assert refused.errors[0].startswith("Row 2: ")
    stream = read_records(path, "xml", MIF.field_map, 100)
    targets = [FixTarget(0, 2, "dob"), FixTarget(1, 3, "ACUITY_LEVEL"), FixTarget(2, 4, "DOB")]
    named, errors = check_targets(stream, targets, MIF.field_map)
    assert named == {0: "DOB", 1: "ACUITY_LEVEL", 2: "DOB"}
    assert errors == ["corrections[2] (row 4, column 'DOB'): the file has no such data row"]
    fixes = [CellFix(2, "DOB", "02-03-1981"), CellFix(3, "ACUITY_LEVEL", "High")]
    outcome, chunks = _validate(path, "xml", fixes)
    assert outcome == (3, [])
    assert chunks[1][1]["date_of_birth"] == "1981-02-03"
    assert chunks[2][1]["acuity_level"] == "high"  # an element the record lacked


def test_a_column_filling_two_fields_corrects_both(tmp_path: Path) -> None:
    rows = [
        {("MCP_CIN" if k == "MEMBER_ID" else k): v for k, v in r.items() if k != "CIN"}
        for r in _members(2)
    ]
    path = tmp_path / "m.csv"
    path.write_bytes(mif_csv(rows))
    stream = correct_records(
        read_records(path, "csv", MIF.field_map, 100),
        [CellFix(3, "MCP_CIN", "9123456789")],
        MIF.field_map,
    )
    listed = dict(stream.records)
    assert (listed[3]["MEMBER_ID"], listed[3]["CIN"]) == ("9123456789", "9123456789")
    assert listed[2]["MEMBER_ID"] == rows[0]["MCP_CIN"]


def test_result_files_list_the_corrected_cells(tmp_path: Path) -> None:
    rows = _members(2, bad_row=2)
    path = tmp_path / "m.xlsx"
    path.write_bytes(mif_xlsx(rows))
    headers, records = _original_rows(path, "xlsx", None, [CellFix(2, "DOB", "01-02-1980")])
    listed = list(records)
    assert [cell_text(v["DOB"]) for _, v in listed] == ["01-02-1980", rows[1]["DOB"]]
    assert headers == list(rows[0])


def test_a_cell_corrected_again_keeps_its_last_value() -> None:
    first = [Correction(3, "DOB", "01-02-1980", "1", "t1"), Correction(4, "CIN", "x", "1", "t1")]
    later = [Correction(3, "DOB", "01-03-1980", "2", "t2"), Correction(5, "DOB", "y", "2", "t2")]
    assert merged(first, later) == [later[0], first[1], later[1]]
