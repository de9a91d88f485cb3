"""The failed rows' errors cell by cell: each message split into its column, value and what
is wrong, the first 500 failed rows kept with every error of each, and the record's first
messages read the same way when nothing else was kept."""

from __future__ import annotations

from ecm.imports.row_errors import (
    MAX_ERROR_ROWS,
    RowError,
    error_rows,
    errors_from_record,
    parse_reason,
)


def test_a_message_is_split_at_its_column_and_quoted_value() -> None:
    assert parse_reason(3, "DOB '13/45/1990' is not a valid MM-DD-YYYY date") == RowError(
        3, "DOB", "is not a valid MM-DD-YYYY date", "13/45/1990"
    )
    assert parse_reason(4, "Validation failed: Auth No can't be blank") == RowError(
        4, "Auth No", "can't be blank", ""
    )
    # a quote inside the value is kept: only "' " ends it
    assert parse_reason(5, "LAST_NAME 'O'Neil' is too long") == RowError(
        5, "LAST_NAME", "is too long", "O'Neil"
    )


def test_a_message_naming_no_cell_is_kept_whole() -> None:
    message = "duplicate member id 'M1' (also on row 2)"
    assert parse_reason(7, message) == RowError(7, "", message, "")


def test_the_first_500_failed_rows_are_kept_with_every_error_and_the_total() -> None:
    failures = {row: [f"DOB '{row}' is not a valid MM-DD-YYYY date"] for row in range(2, 603)}
    failures[2].append("Validation failed: Last name can't be blank")
    document = error_rows(failures)
    assert document["total"] == 601
    rows = [e["row"] for e in document["errors"]]
    assert rows == [2, 2, *range(3, 2 + MAX_ERROR_ROWS)]
    assert len(set(rows)) == MAX_ERROR_ROWS == 500
    assert document["errors"][1] == {
        "row": 2,
        "column": "Last name",
        "message": "can't be blank",
        "value": "",
    }


def test_a_record_without_the_list_answers_from_its_first_messages() -> None:
    record = {
        "records_failed": 150,
        "errors": [
            "Row 9: DOB 'x' is not a valid MM-DD-YYYY date",
            "Missing required column: MEMBER_ID",
            "... and 149 more errors",
        ],
    }
    assert errors_from_record(record) == {
        "errors": [
            {"row": 9, "column": "DOB", "message": "is not a valid MM-DD-YYYY date", "value": "x"}
        ],
        "total": 150,
    }
    assert errors_from_record({}) == {"errors": [], "total": 0}
