"""ecm.authorization: one authorization row validated and normalised
(docs/using/authorization-imports.md), and the authorization workbooks of every format read and
validated end to end."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fixtures_builders import (
    AUTH_HEADERS,
    auth_xlsm,
    auth_xlsx,
    sample_auth_row,
    sample_mif_row,
    write_file,
)
from fixtures_heavy import auth_xls, encrypted_xlsx

from ecm.errors import FileFormatError
from ecm.files.readers import HeaderAt, detect_file_type
from ecm.imports.stages.validate import validate_file
from ecm.kinds.authorization.rows import (
    AuthorizationForm,
    AuthorizationStatus,
    parse_form,
    parse_status,
    validate_authorization_row,
)
from ecm.kinds.registry import AUTHORIZATION

TODAY = date(2025, 6, 15)
Item = dict[str, Any]


def _validate(row_number: int = 5, **overrides: Any) -> tuple[Item, list[str]]:
    return validate_authorization_row(row_number, sample_auth_row(1, **overrides), True, TODAY)


def _ok(**overrides: Any) -> Item:
    record, errors = _validate(**overrides)
    assert errors == []
    return record


# --- the sample row --------------------------------------------------------------------------


def test_sample_row_has_every_documented_field_and_matches_the_mif_member() -> None:
    row = sample_auth_row(7)
    assert set(row) == set(AUTH_HEADERS)
    assert len(AUTH_HEADERS) == 15
    assert row["MEMBER_ID"] == sample_mif_row(7)["MEMBER_ID"]
    assert row["AUTH_NO"] == "AUTH0000000007"
    for i in range(40):
        r = sample_auth_row(i)
        assert r["RECEIVED_DATE"] <= r["DECISION_DATE"]
        assert r["START_DATE"] <= r["EXPIRATION_DATE"]


def test_valid_row_is_normalised_to_the_database_fields() -> None:
    record, errors = validate_authorization_row(
        2,
        sample_auth_row(1, MEMBER_NAME="  Ben Nguyen1 ", REMARKS=""),
        True,
        TODAY,
    )
    assert errors == []
    assert record == {
        "auth_no": "AUTH0000000001",
        "member_id": "M000000001",
        "auth_type": "ES",
        "auth_description": "ECM Service",
        "member_name": "Ben Nguyen1",
        "requesting_provider": "Dr. Smith",
        "servicing_provider": "Esteem Health PSC",
        "contact_name": "Jane Contact",
        "remarks": None,
        "status": "Approved",
        "authorization_type": "Form I",
        "received_date": "2024-02-02",
        "decision_date": "2024-02-03",
        "start_date": "2024-02-03",
        "expiration_date": "2025-02-02",
    }


# --- required fields -------------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_auth_no_is_required(blank: Any) -> None:
    record, errors = _validate(5, AUTH_NO=blank)
    assert errors == ["Row 5: Validation failed: Auth No can't be blank"]
    assert record["auth_no"] == ""


def test_member_id_is_required() -> None:
    _, errors = _validate(9, MEMBER_ID="")
    assert errors == ["Row 9: Validation failed: Member ID can't be blank"]


def test_missing_keys_are_blank() -> None:
    record, errors = validate_authorization_row(3, {}, True, TODAY)
    assert errors == [
        "Row 3: Validation failed: Auth No can't be blank",
        "Row 3: Validation failed: Member ID can't be blank",
    ]
    assert record["status"] is None
    assert record["authorization_type"] is None
    assert record["start_date"] is None


def test_every_error_of_a_row_is_collected() -> None:
    _, errors = _validate(
        4,
        AUTH_NO="",
        MEMBER_ID="",
        STATUS="Maybe",
        AUTHORIZATION_TYPE="Form Z",
        START_DATE="2024-05-01",
        EXPIRATION_DATE="2024-04-01",
        RECEIVED_DATE="13/45/2024",
    )
    assert len(errors) == 6
    assert all(e.startswith("Row 4: ") for e in errors)


# --- status ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Approved", "Approved"),
        ("APPROVED", "Approved"),
        (" approved ", "Approved"),
        ("Pending", "Pending"),
        ("pending", "Pending"),
        ("Cancel", "Cancel"),
        ("CANCEL", "Cancel"),
        ("Cancelled", "Cancel"),
        ("canceled", "Cancel"),
        ("CANCELED", "Cancel"),
        ("Denied", "Denied"),
        ("denied", "Denied"),
    ],
)
def test_status_is_case_insensitive_and_stored_as_documented(raw: str, stored: str) -> None:
    assert _ok(STATUS=raw)["status"] == stored
    assert parse_status(raw) == AuthorizationStatus(stored)


@pytest.mark.parametrize("bad", ["Rejected", "Approvedd", "Closed", "1"])
def test_unknown_status_is_an_error(bad: str) -> None:
    _, errors = _validate(6, STATUS=bad)
    assert errors == [f"Row 6: STATUS '{bad}' must be one of Approved, Pending, Cancel, Denied"]


def test_blank_status_is_no_status() -> None:
    assert _ok(STATUS="")["status"] is None
    assert parse_status(None) is None


def test_status_values_are_the_documented_values() -> None:
    assert [s.value for s in AuthorizationStatus] == ["Approved", "Pending", "Cancel", "Denied"]


# --- authorization type (form) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("I", "Form I"),
        ("i", "Form I"),
        ("form i", "Form I"),
        ("Form I", "Form I"),
        ("FORM  I", "Form I"),
        ("Form-I", "Form I"),
        ("E", "Form E"),
        ("form e", "Form E"),
        ("Form C", "Form C"),
        ("d", "Form D"),
        ("Form W", "Form W"),
    ],
)
def test_forms_are_read_in_every_spelling(raw: str, stored: str) -> None:
    assert _ok(AUTHORIZATION_TYPE=raw)["authorization_type"] == stored
    assert parse_form(raw) == AuthorizationForm(stored)


@pytest.mark.parametrize("bad", ["Form X", "F", "Initial", "Form"])
def test_unknown_form_is_an_error(bad: str) -> None:
    _, errors = _validate(7, AUTHORIZATION_TYPE=bad)
    assert errors == [
        f"Row 7: AUTHORIZATION_TYPE '{bad}' must be one of Form I, Form E, Form C, Form D, Form W"
    ]


def test_form_values_are_the_five_documented_forms() -> None:
    assert [f.value for f in AuthorizationForm] == [
        "Form I",
        "Form E",
        "Form C",
        "Form D",
        "Form W",
    ]


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        date(2024, 3, 7),
        datetime(2024, 3, 7, 0, 0),
        datetime(2024, 3, 7, 15, 30),
        45358.0,  # the Excel serial of 2024-03-07
        45358,
        45358.75,  # a serial with a time of day
        "2024-03-07",
        "03/07/2024",
        "3/7/2024",
        "03-07-2024",
        " 2024-03-07 ",
        "03/07/2024 00:00:00",
    ],
)
def test_dates_in_every_accepted_form(raw: Any) -> None:
    record = _ok(
        RECEIVED_DATE=raw,
        DECISION_DATE="2024-03-07",
        START_DATE=raw,
        EXPIRATION_DATE="2025-03-07",
    )
    assert record["received_date"] == "2024-03-07"
    assert record["start_date"] == "2024-03-07"


@pytest.mark.parametrize("bad", ["2024-02-30", "13/01/2024", "yesterday", "03/07/24", "2024.03.07"])
def test_invalid_dates_are_errors(bad: str) -> None:
    _, errors = _validate(8, EXPIRATION_DATE=bad)
    assert errors == [
        f"Row 8: EXPIRATION_DATE '{bad}' is not a valid date (YYYY-MM-DD, MM/DD/YYYY or MM-DD-YYYY)"
    ]


def test_out_of_range_serial_is_an_error() -> None:
    _, errors = _validate(8, START_DATE=-5.0)
    assert len(errors) == 1
    assert errors[0].startswith("Row 8: START_DATE '-5' is not a valid date")


def test_blank_dates_are_none() -> None:
    record = _ok(RECEIVED_DATE="", DECISION_DATE=None, START_DATE="", EXPIRATION_DATE="")
    assert [record[k] for k in ("received_date", "decision_date")] == [None, None]
    assert [record[k] for k in ("start_date", "expiration_date")] == [None, None]


def test_start_after_expiration_is_an_error() -> None:
    _, errors = _validate(10, START_DATE="2024-06-02", EXPIRATION_DATE="06/01/2024")
    assert errors == ["Row 10: START_DATE 2024-06-02 is after EXPIRATION_DATE 2024-06-01"]


def test_start_equal_to_expiration_is_fine() -> None:
    record = _ok(START_DATE="2024-06-01", EXPIRATION_DATE="2024-06-01")
    assert record["start_date"] == record["expiration_date"] == "2024-06-01"


def test_decision_before_received_is_an_error() -> None:
    _, errors = _validate(11, RECEIVED_DATE="2024-02-10", DECISION_DATE=date(2024, 2, 9))
    assert errors == ["Row 11: DECISION_DATE 2024-02-09 is before RECEIVED_DATE 2024-02-10"]


def test_decision_on_the_received_day_is_fine() -> None:
    assert _ok(RECEIVED_DATE="2024-02-10", DECISION_DATE="02/10/2024")["decision_date"] == (
        "2024-02-10"
    )


def test_order_checks_skip_missing_dates() -> None:
    _ok(START_DATE="", EXPIRATION_DATE="2020-01-01", RECEIVED_DATE="2030-01-01", DECISION_DATE="")


# --- AUTH_NO as Excel shows it ---------------------------------------------------------------


@pytest.mark.parametrize("shown", ["6.45722E+12", "6.45722e+12", "1E+10"])
def test_auth_no_in_scientific_notation_is_a_clear_error(shown: str) -> None:
    record, errors = _validate(12, AUTH_NO=shown)
    assert len(errors) == 1
    assert errors[0].startswith(f"Row 12: AUTH_NO '{shown}' is in scientific notation")
    assert "format the column as text" in errors[0]
    assert record["auth_no"] == ""


def test_numeric_auth_no_cell_keeps_every_digit() -> None:
    assert _ok(AUTH_NO=6457220000001.0)["auth_no"] == "6457220000001"
    assert _ok(AUTH_NO=6457220000001)["auth_no"] == "6457220000001"


def test_fractional_auth_no_is_an_error() -> None:
    _, errors = _validate(13, AUTH_NO=12.5)
    assert errors == ["Row 13: AUTH_NO '12.5' is not a whole identifier"]


def test_numeric_member_id_keeps_every_digit() -> None:
    assert _ok(MEMBER_ID=91234567.0)["member_id"] == "91234567"


def test_member_id_in_scientific_notation_is_an_error() -> None:
    _, errors = _validate(14, MEMBER_ID="9.12346E+7")
    assert len(errors) == 1
    assert errors[0].startswith("Row 14: MEMBER_ID '9.12346E+7' is in scientific notation")


def test_overlong_text_is_an_error() -> None:
    _, errors = _validate(15, REMARKS="x" * 256)
    assert errors == ["Row 15: REMARKS is longer than 255 characters"]


# --- workbooks of every format, read and validated end to end --------------------------------


def _read_and_validate(
    tmp_path: Path, name: str, data: bytes
) -> tuple[str, list[tuple[int, Item]], list[str], str | None]:
    path = write_file(tmp_path, name, data)
    file_type = detect_file_type(path, AUTHORIZATION.file_types, filename=name)
    rows: list[tuple[int, Item]] = []
    header: list[HeaderAt] = []
    outcome = validate_file(AUTHORIZATION, path, file_type, rows.extend, 1000, 50, header)
    errors = [] if isinstance(outcome, tuple) else outcome.errors
    assert header[0].row == 1
    return file_type, rows, errors, header[0].sheet_name


def _two_rows() -> list[Item]:
    return [
        sample_auth_row(1, STATUS="cancelled", AUTHORIZATION_TYPE="e"),
        sample_auth_row(2, AUTH_NO=6457220000001.0),
    ]


@pytest.mark.parametrize(
    ("name", "build", "expected_type"),
    [
        ("a.xlsx", auth_xlsx, "xlsx"),
        ("a.xlsx", lambda rows: auth_xlsx(rows, typed_dates=True), "xlsx"),
        ("a.xlsm", auth_xlsm, "xlsm"),
        ("a.xls", auth_xls, "xls"),
        ("a.xls", lambda rows: auth_xls(rows, typed_dates=True), "xls"),
    ],
)
def test_every_format_reads_and_validates(
    tmp_path: Path, name: str, build: Any, expected_type: str
) -> None:
    file_type, rows, errors, sheet = _read_and_validate(tmp_path, name, build(_two_rows()))
    assert file_type == expected_type
    assert errors == []
    assert sheet == "Authorizations"
    assert [n for n, _ in rows] == [2, 3]
    first, second = rows[0][1], rows[1][1]
    assert first["status"] == "Cancel"
    assert first["authorization_type"] == "Form E"
    assert first["received_date"] == "2024-02-02"
    assert first["expiration_date"] == "2025-02-02"
    assert second["auth_no"] == "6457220000001"
    assert second["member_id"] == "M000000002"


def test_xlsm_carries_a_vba_part(tmp_path: Path) -> None:
    data = auth_xlsm([sample_auth_row(1)])
    with zipfile.ZipFile(write_file(tmp_path, "m.xlsm", data)) as archive:
        assert archive.read("xl/vbaProject.bin")
        types = archive.read("[Content_Types].xml").decode()
    assert "/xl/vbaProject.bin" in types
    assert "macroEnabled" in types


def test_the_first_sheet_with_a_header_row_is_read(tmp_path: Path) -> None:
    data = auth_xlsx([sample_auth_row(3)], sheet_title="Data", leading_sheets=2)
    _, rows, errors, sheet = _read_and_validate(tmp_path, "lead.xlsx", data)
    assert errors == []
    assert sheet == "Data"
    assert [r["auth_no"] for _, r in rows] == ["AUTH0000000003"]


def test_row_errors_and_duplicates_reject_the_whole_file(tmp_path: Path) -> None:
    data = auth_xlsx(
        [
            sample_auth_row(1),
            sample_auth_row(2, AUTH_NO=""),
            sample_auth_row(3, AUTH_NO="auth0000000001"),
            sample_auth_row(4, AUTH_NO="6.45722E+12"),
        ]
    )
    _, _, errors, _ = _read_and_validate(tmp_path, "bad.xlsx", data)
    assert errors[0] == "Row 3: Validation failed: Auth No can't be blank"
    assert errors[1] == "Row 4: duplicate Auth No 'auth0000000001' (also on row 2)"
    assert errors[2].startswith("Row 5: AUTH_NO '6.45722E+12' is in scientific notation")
    assert len(errors) == 3


def test_encrypted_workbook_is_an_invalid_excel_format(tmp_path: Path) -> None:
    path = write_file(tmp_path, "locked.xlsx", encrypted_xlsx([sample_auth_row(1)]))
    with pytest.raises(FileFormatError, match=r"^Invalid Excel format: .*password"):
        file_type = detect_file_type(path, AUTHORIZATION.file_types)
        validate_file(AUTHORIZATION, path, file_type, lambda rows: None, 1000, 50)
