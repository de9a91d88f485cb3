"""The plan-side check itself (tests/plan_intake.py), against files made by hand: a good file
passes, and each defect a plan's intake refuses is found, with the row and column named."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from openpyxl import Workbook
from plan_intake import (
    IntakeSpec,
    check_file,
    intake_spec,
    npi_valid,
    parse_dates,
    with_check_digit,
)

from ecm.kinds.values import npi_is_valid

PERIOD = "2026-11"
NPI = with_check_digit("123456789")
PENDING, ENDED = "91234567A", "92345678B"


def _member(cin: str, **values: str) -> dict[str, str]:
    return {
        "mcp_identifier": "HN01",
        "mcp_name": "Health Net",
        "cin": cin,
        "last_name": "Lopez",
        "first_name": "Ana",
        "ecm_status": "1",
        "acuity_level": "Low",
        "production_date": "12/03/2026",
        "reporting_period": "11/2026",
        "provider_npi": NPI,
        **values,
    }


def _rtf_rows() -> list[dict[str, str]]:
    return [
        _member(PENDING),
        _member(
            ENDED,
            ecm_status="4",
            enrollment_start_date="06/01/2026",
            enrollment_end_date="11/20/2026",
            discontinuation_date="11/20/2026",
            discontinuation_reason_code="3",
        ),
    ]


def _cells(spec: IntakeSpec, rows: list[dict[str, str]]) -> list[list[str]]:
    body = [
        [row.get(c.field, "") if c.field else (c.value or "") for c in spec.columns] for row in rows
    ]
    return [[c.header for c in spec.columns], *body]


def _csv(spec: IntakeSpec, cells: list[list[Any]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=spec.delimiter, lineterminator="\r\n").writerows(cells)
    return out.getvalue().encode()


def _xlsx(sheet: str, cells: list[list[Any]]) -> bytes:
    workbook = Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = sheet
    for row in cells:
        worksheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_a_good_rtf_passes_as_csv_and_xlsx() -> None:
    spec = intake_spec("rtf")
    cells = _cells(spec, _rtf_rows())
    assert check_file(_csv(spec, cells), "csv", spec, PERIOD, [PENDING, ENDED]) == []
    assert check_file(_xlsx("RTF", cells), "xlsx", spec, PERIOD, [PENDING, ENDED]) == []


def _set(field: str, value: str, row: int = 0) -> Callable[[list[dict[str, str]]], None]:
    def change(rows: list[dict[str, str]]) -> None:
        rows[row][field] = value

    return change


PRODUCED = "Member Information Return Transmission File Production Date"


@pytest.mark.parametrize(
    ("change", "problems"),
    [
        (
            _set("production_date", "2026-12-03"),
            [f"row 2, {PRODUCED}: '2026-12-03' is not a date as MM/DD/YYYY"],
        ),
        (
            _set("enrollment_start_date", "02/30/2026", 1),
            ["row 3, ECM Enrollment Start Date: '02/30/2026' is not a date as MM/DD/YYYY"],
        ),
        (
            _set("production_date", "12/3/2026"),
            [f"row 2, {PRODUCED}: '12/3/2026' is not a date as MM/DD/YYYY"],
        ),
        (
            _set("reporting_period", "10/2026"),
            [
                "row 2, Member Information File Reporting Period: '10/2026' is not the period "
                "2026-11 as MM/YYYY"
            ],
        ),
        (
            _set("ecm_status", "5"),
            ["row 2, Member ECM Status: '5' is not a code of ecm_status (1, 2, 3, 4)"],
        ),
        (
            _set("discontinuation_reason_code", "DP", 1),
            [
                "row 3, Discontinuation Reason Code: 'DP' is not a code of discontinuation_reason "
                "(1, 15, 3, 4, 7, 8)"
            ],
        ),
        (
            _set("cin", "9123456A"),
            [
                "row 2, Member Client Index Number (CIN): CIN '9123456A' is not 9 characters: "
                "'9', seven digits and a letter",
                f"member {PENDING} has no row",
                "member 9123456A has a row but was not expected",
            ],
        ),
        (
            _set("provider_npi", "1234567890", 1),
            [
                "row 3, ECM Provider National Provider Identifier (NPI): NPI '1234567890' fails "
                "the NPI check digit"
            ],
        ),
        (
            _set("ecm_status", ""),
            ["row 2, Member ECM Status: ecm_status is required"],
        ),
        (
            _set("discontinuation_date", "", 1),
            ["row 3: discontinuation_date is required for status 4 (discontinued)"],
        ),
        (
            _set("enrollment_start_date", "11/02/2026"),
            ["row 2: a member pending_outreach has an enrollment start date"],
        ),
        (
            lambda rows: rows.append(dict(rows[0])),
            [f"member {PENDING} has 2 rows"],
        ),
        (
            lambda rows: rows.pop(0),
            [f"member {PENDING} has no row"],
        ),
    ],
)
def test_each_defect_is_found_with_its_row_and_column(
    change: Callable[[list[dict[str, str]]], None], problems: list[str]
) -> None:
    spec = intake_spec("rtf")
    rows = _rtf_rows()
    change(rows)
    found = check_file(_csv(spec, _cells(spec, rows)), "csv", spec, PERIOD, [PENDING, ENDED])
    assert found == problems


def test_columns_out_of_order_or_missing_are_found() -> None:
    spec = intake_spec("rtf")
    cells = _cells(spec, _rtf_rows())
    swapped = [[*row[:3], row[4], row[3], *row[5:]] for row in cells]
    found = check_file(_csv(spec, swapped), "csv", spec, PERIOD, [PENDING, ENDED])
    assert found == [
        "header column 4 is 'Member First Name' where the layout has 'Member Last Name'",
        "header column 5 is 'Member Last Name' where the layout has 'Member First Name'",
    ]
    short = [row[:-1] for row in cells]
    found = check_file(_csv(spec, short), "csv", spec, PERIOD, [PENDING, ENDED])
    assert found == [
        "the header has 40 columns, the layout 41",
        "row 2 has 40 cells, the layout 41",
        "row 3 has 40 cells, the layout 41",
        f"member {PENDING} has no row",
        f"member {ENDED} has no row",
    ]


def test_a_layouts_recoding_replaces_the_codes_it_names() -> None:
    spec = intake_spec("rtf", {"rtf": {"codes": {"acuity": {"low": "L"}}}})
    assert spec.accepted("acuity") == {"L", "Medium", "High"}
    rows = _rtf_rows()
    found = check_file(_csv(spec, _cells(spec, rows)), "csv", spec, PERIOD, [PENDING, ENDED])
    assert found == [
        "row 2, Member Acuity Level: 'Low' is not a code of acuity (High, L, Medium)",
        "row 3, Member Acuity Level: 'Low' is not a code of acuity (High, L, Medium)",
    ]
    for row in rows:
        row["acuity_level"] = "L"
    assert check_file(_csv(spec, _cells(spec, rows)), "csv", spec, PERIOD, [PENDING, ENDED]) == []


def test_an_xlsx_cell_that_is_not_text_or_a_missing_sheet_is_found() -> None:
    spec = intake_spec("rtf")
    cells: list[list[Any]] = _cells(spec, _rtf_rows())
    cells[1][cells[0].index("Member Residential Zip")] = 2134  # a ZIP that lost its zero
    found = check_file(_xlsx("RTF", cells), "xlsx", spec, PERIOD, [PENDING, ENDED])
    assert found == ["row 2: a cell holds int, not text"]
    found = check_file(_xlsx("Sheet1", cells), "xlsx", spec, PERIOD, [PENDING])
    assert found == ["the workbook has no sheet RTF (it has ['Sheet1'])"]
    assert check_file(b"not a zip", "xlsx", spec, PERIOD, []) == [
        "the file is not an XLSX workbook"
    ]
    assert check_file(b"\xff\xfe", "csv", spec, PERIOD, []) == ["the file is not UTF-8"]


def test_an_otf_has_one_row_per_attempt_and_its_plans_formats() -> None:
    document = {
        "otf": {
            "columns": [
                {"header": "CIN", "field": "cin"},
                {"header": "Attempt", "field": "outreach_date"},
                {"header": "Method", "field": "outreach_method"},
                {"header": "Reached", "field": "outreach_successful"},
                {"header": "Program", "value": "ECM"},
            ],
            "date_format": "YYYYMMDD",
            "delimiter": "|",
            "codes": {"yes_no": {"yes": "Y", "no": "N"}},
        }
    }
    spec = intake_spec("otf", document)
    attempts = [(PENDING, date(2026, 11, 3)), (PENDING, date(2026, 11, 3))]
    good = [
        ["CIN", "Attempt", "Method", "Reached", "Program"],
        [PENDING, "20261103", "2", "Y", "ECM"],
        [PENDING, "20261103", "3", "", "ECM"],
    ]
    assert check_file(_csv(spec, good), "csv", spec, PERIOD, attempts) == []
    bad = [
        *good,
        [PENDING, "20261103", "9", "1", "OTHER"],
        [ENDED, "11/04/2026", "", "N", "ECM"],
    ]
    assert check_file(_csv(spec, bad), "csv", spec, PERIOD, attempts) == [
        "row 4, Method: '9' is not a code of outreach_method (1, 2, 3)",
        "row 4, Reached: '1' is not a code of yes_no (N, Y)",
        "row 4, Program: 'OTHER' is not the layout's fixed value 'ECM'",
        "row 5, Attempt: '11/04/2026' is not a date as YYYYMMDD",
        "row 5, Method: outreach_method is required",
        f"attempt {PENDING} on 2026-11-03 has 1 row(s) more than expected",
        f"attempt {ENDED} on no date has 1 row(s) more than expected",
    ]


@pytest.mark.parametrize(
    ("spec", "text", "dates"),
    [
        ("MM/DD/YYYY", "11/30/2026", [date(2026, 11, 30)]),
        ("MM-DD-YYYY", "02/28/2026", None),
        ("YYYY-MM-DD", "2026-02-29", None),
        ("YYYYMMDD", "20240229", [date(2024, 2, 29)]),
        ("MM/YYYY", "11/2026", [date(2026, 11, 1)]),
        ("YYYYMM", "202613", None),
        ("MM/DD/YYYY-MM/DD/YYYY", "11/01/2026-11/30/2026", [date(2026, 11, 1), date(2026, 11, 30)]),
        ("MM/DD/YYYY", "11/30/2026 ", None),
    ],
)
def test_a_layouts_date_format_is_read_as_its_tokens(
    spec: str, text: str, dates: list[date] | None
) -> None:
    assert parse_dates(spec, text) == dates


def test_the_npi_check_digit_agrees_with_cms_and_with_the_importer() -> None:
    """CMS's worked example is 1234567893; the importer's check was written apart, so the two
    agreeing on many numbers is evidence for both."""
    assert npi_valid("1234567893") and not npi_valid("1234567890")
    assert not npi_valid("123456789") and not npi_valid("12345678９3")
    numbers = [f"{random.Random(7).randrange(10**9):09d}{d}" for d in range(10)]
    numbers += [f"{n:010d}" for n in random.Random(8).sample(range(10**10), 5000)]
    assert [npi_valid(n) for n in numbers] == [npi_is_valid(n) for n in numbers]
    assert all(npi_valid(with_check_digit(n[:9])) for n in numbers)
