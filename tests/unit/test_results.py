"""Result files: cell escaping, row reasons, and reading a file back with its own columns."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from fixtures_builders import mif_csv, mif_xlsx, mif_xml, sample_mif_row

from ecm.imports.results import (
    FAILED,
    ORIGINAL_COLUMNS,
    RowOutcomes,
    RowResult,
    _original_rows,
    cell_text,
    escape_cell,
    group_by_row,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+15551234", "'+15551234"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        (" =x", " =x"),
        ("", ""),
        (None, ""),
        (12.0, "12"),
        (12.5, "12.5"),
        (True, "TRUE"),
        (date(2024, 1, 31), "2024-01-31"),
        (datetime(2024, 1, 31), "2024-01-31"),
    ],
)
def test_escape_cell(value: object, expected: str) -> None:
    assert escape_cell(value) == expected


def test_cell_text_keeps_a_time() -> None:
    assert cell_text(datetime(2024, 1, 31, 8, 30)) == "2024-01-31 08:30:00"


def test_group_by_row_strips_the_prefix_and_keeps_every_reason() -> None:
    grouped = group_by_row(
        ["Row 3: matches the same patient as row 2", "Row 3: second reason", "no row here"]
    )
    assert grouped == {3: ["matches the same patient as row 2", "second reason"]}


def test_row_outcomes_failures_win_and_fake_ids_are_blank() -> None:
    default = RowResult("skipped", None, "not imported")
    outcomes = RowOutcomes(
        {4: ["bad", "worse"]},
        [[3, "updated", 17], [2, "created", -1], [4, "created", 9], [7, "created", 30]],
        "n",
        default,
    )
    asked = {row: outcomes.of(row) for row in (2, 3, 4, 5, 7, 8)}  # row order, as read
    assert asked[2] == RowResult("created", None, "n")
    assert asked[3] == RowResult("updated", 17, "n")
    assert asked[4] == RowResult(FAILED, None, "bad; worse")
    assert asked[5] == default
    assert asked[7] == RowResult("created", 30, "n")
    assert asked[8] == default


def test_original_columns_keep_unknown_headers() -> None:
    assert ORIGINAL_COLUMNS.resolve(" Notes ") == ("Notes",)
    assert ORIGINAL_COLUMNS.resolve("\ufeffMEMBER_ID") == ("MEMBER_ID",)
    assert ORIGINAL_COLUMNS.resolve("  ") == ()


def test_original_rows_of_a_csv(tmp_path: Path) -> None:
    rows = [sample_mif_row(1), sample_mif_row(2)]
    rows[1]["Notes"] = "x"
    path = tmp_path / "f.csv"
    path.write_bytes(mif_csv(rows, bom=True, crlf=True))
    headers, records = _original_rows(path, "csv", None)
    assert headers == [*rows[0].keys(), "Notes"]
    listed = list(records)
    assert [n for n, _ in listed] == [2, 3]
    assert listed[1][1]["Notes"] == "x"
    assert listed[0][1]["MEMBER_ID"] == rows[0]["MEMBER_ID"]


def test_original_rows_of_an_xml_union_their_elements(tmp_path: Path) -> None:
    first = {"MEMBER_ID": "A1", "FIRST_NAME": "Ana"}
    second = {"MEMBER_ID": "B2", "Extra": "e", "FIRST_NAME": "Ben"}
    path = tmp_path / "f.xml"
    path.write_bytes(mif_xml([first, second]))
    headers, records = _original_rows(path, "xml", None)
    assert headers == ["MEMBER_ID", "FIRST_NAME", "Extra"]
    assert [values for _, values in records] == [first, second]


def test_original_rows_of_an_xlsx(tmp_path: Path) -> None:
    rows = [sample_mif_row(5)]
    path = tmp_path / "f.xlsx"
    path.write_bytes(mif_xlsx(rows))
    headers, records = _original_rows(path, "xlsx", None)
    assert headers == list(rows[0])
    [(number, values)] = list(records)
    assert number == 2
    assert cell_text(values["MEMBER_ID"]) == rows[0]["MEMBER_ID"]
