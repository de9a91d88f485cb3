"""ecm.mif.validate_mif_row and the value normalisers of ecm.values."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import pytest
from fixtures_builders import INVALID_NPI, VALID_NPI, sample_mif_row

from ecm.kinds import values
from ecm.kinds.mif.rows import validate_mif_row

TODAY = date(2025, 6, 15)


def _validate(
    overrides: dict[str, Any] | None = None, row: int = 2, typed: bool = False
) -> tuple[dict[str, Any], list[str]]:
    return validate_mif_row(row, {**sample_mif_row(1), **(overrides or {})}, typed, TODAY)


def _errors(overrides: dict[str, Any], row: int = 2, typed: bool = False) -> list[str]:
    return _validate(overrides, row, typed)[1]


def _luhn_npi_ok(npi: str) -> bool:
    """Independent reference: the standard Luhn check over "80840" + the 10 NPI digits."""
    total = 0
    for position, char in enumerate(reversed("80840" + npi)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


# --- a whole row ----------------------------------------------------------------------------


def test_valid_row_is_normalised() -> None:
    record, errors = _validate()
    assert errors == []
    assert record == {
        "member_id": "M000000001",
        "first_name": "Ben",
        "last_name": "Nguyen1",
        "cin": "900000001A",
        "address": "101 Main St, Apt 1",
        "city": "Boston",
        "ecm_service_auth_id": "AUTH000001",
        "ecm_provider_name": "Esteem Health PSC",
        "gender": "female",
        "state": "MA",
        "zip": "02134",
        "phone": "+16175550001",
        "ecm_npi": VALID_NPI,
        "acuity_level": "medium",
        "date_of_birth": "1951-02-02",
        "ecm_benefit_auth_eff_date": "2024-01-01",
        "ecm_benefit_auth_end_date": "2024-12-31",
    }


def test_only_required_fields() -> None:
    record, errors = validate_mif_row(
        3, {"MEMBER_ID": " M1 ", "FIRST_NAME": " Ana ", "LAST_NAME": "Lopez"}, False, TODAY
    )
    assert errors == []
    assert record["member_id"] == "M1"
    assert record["first_name"] == "Ana"
    assert record["cin"] is None
    assert record["date_of_birth"] is None
    assert record["zip"] is None
    assert record["phone"] is None
    assert record["gender"] is None
    assert record["acuity_level"] is None


@pytest.mark.parametrize(
    ("field", "label"),
    [("MEMBER_ID", "Member ID"), ("FIRST_NAME", "First name"), ("LAST_NAME", "Last name")],
)
@pytest.mark.parametrize("blank", ["", "   ", None])
def test_required_fields_cannot_be_blank(field: str, label: str, blank: str | None) -> None:
    assert _errors({field: blank}, row=7) == [f"Row 7: Validation failed: {label} can't be blank"]


def test_missing_member_id_message_is_the_documented_one() -> None:
    row = {k: v for k, v in sample_mif_row(1).items() if k != "MEMBER_ID"}
    _, errors = validate_mif_row(7, row, False, TODAY)
    assert errors == ["Row 7: Validation failed: Member ID can't be blank"]


def test_every_error_of_a_row_is_reported() -> None:
    errors = _errors(
        {"MEMBER_ID": "", "DOB": "13-45-2020", "ZIP": "1234", "ECM_NPI": INVALID_NPI}, row=9
    )
    assert errors == [
        "Row 9: Validation failed: Member ID can't be blank",
        "Row 9: ZIP '1234' must be 5 or 9 digits",
        "Row 9: ECM_NPI '1234567890' fails the NPI check digit",
        "Row 9: DOB '13-45-2020' is not a valid MM-DD-YYYY date",
    ]


def test_text_longer_than_255_characters() -> None:
    assert _errors({"ADDRESS": "x" * 256}) == ["Row 2: ADDRESS is longer than 255 characters"]
    assert _errors({"LAST_NAME": "y" * 256}) == ["Row 2: Last name is longer than 255 characters"]
    assert _validate({"ADDRESS": "x" * 255})[0]["address"] == "x" * 255


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "01-02-2020",
        "1-2-2020",
        "1/2/2020",
        "01/02/2020",
        "2020-01-02",
        "2020-1-2",
        " 01-02-2020 ",
        "01-02-2020 00:00:00",
    ],
)
def test_accepted_date_formats(text: str) -> None:
    record, errors = _validate({"DOB": text})
    assert errors == []
    assert record["date_of_birth"] == "2020-01-02"


@pytest.mark.parametrize(
    "text",
    [
        "13-45-2020",
        "02-30-2020",
        "00-10-2020",
        "01-02-20",
        "2020/13/01",
        "Jan 2 2020",
        "01.02.2020",
        "01-02",
        "1-2-2020-3",
        "44927",
    ],
)
def test_invalid_dates(text: str) -> None:
    assert _errors({"DOB": text}, row=5) == [
        f"Row 5: DOB '{text.strip()}' is not a valid MM-DD-YYYY date"
    ]


def test_invalid_date_message_is_exact() -> None:
    assert _errors({"DOB": "13-45-2020"}, row=4) == [
        "Row 4: DOB '13-45-2020' is not a valid MM-DD-YYYY date"
    ]


def test_february_29() -> None:
    assert _errors({"DOB": "02-29-2023"}) == [
        "Row 2: DOB '02-29-2023' is not a valid MM-DD-YYYY date"
    ]
    assert _validate({"DOB": "02-29-2024"})[0]["date_of_birth"] == "2024-02-29"
    assert _errors({"DOB": "02-29-1900"}) == [
        "Row 2: DOB '02-29-1900' is not a valid MM-DD-YYYY date"
    ]
    assert _validate({"DOB": "02-29-2000"})[0]["date_of_birth"] == "2000-02-29"


def test_invalid_authorization_dates_name_their_column() -> None:
    assert _errors({"ECM_BENEFIT_AUTH_END_DATE": "12-32-2024"}, row=3) == [
        "Row 3: ECM_BENEFIT_AUTH_END_DATE '12-32-2024' is not a valid MM-DD-YYYY date"
    ]


def test_dob_in_the_future() -> None:
    assert _errors({"DOB": "06-16-2025"}, row=3) == ["Row 3: DOB '06-16-2025' is in the future"]
    assert _validate({"DOB": "06-15-2025"})[1] == []


def test_effective_date_after_end_date() -> None:
    errors = _errors(
        {"ECM_BENEFIT_AUTH_EFF_DATE": "12-31-2024", "ECM_BENEFIT_AUTH_END_DATE": "01-01-2024"},
        row=4,
    )
    assert errors == [
        "Row 4: ECM_BENEFIT_AUTH_EFF_DATE 2024-12-31 is after ECM_BENEFIT_AUTH_END_DATE 2024-01-01"
    ]
    same_day = {"ECM_BENEFIT_AUTH_EFF_DATE": "03-01-2024", "ECM_BENEFIT_AUTH_END_DATE": "3/1/2024"}
    assert _validate(same_day)[1] == []


def test_blank_end_date_is_allowed() -> None:
    record, errors = _validate({"ECM_BENEFIT_AUTH_END_DATE": ""})
    assert errors == []
    assert record["ecm_benefit_auth_end_date"] is None
    assert record["ecm_benefit_auth_eff_date"] == "2024-01-01"


def test_typed_excel_dates() -> None:
    record, errors = _validate(
        {"DOB": date(1980, 1, 2), "ECM_BENEFIT_AUTH_EFF_DATE": datetime(2024, 1, 1, 0, 0)},
        typed=True,
    )
    assert errors == []
    assert record["date_of_birth"] == "1980-01-02"
    assert record["ecm_benefit_auth_eff_date"] == "2024-01-01"


def test_excel_serial_dates_only_with_typed_cells() -> None:
    record, errors = _validate({"DOB": 44927.0, "ECM_BENEFIT_AUTH_EFF_DATE": 45292}, typed=True)
    assert errors == []
    assert record["date_of_birth"] == "2023-01-01"
    assert record["ecm_benefit_auth_eff_date"] == "2024-01-01"
    assert _errors({"DOB": 44927.0}, typed=False) == [
        "Row 2: DOB '44927' is not a valid MM-DD-YYYY date"
    ]


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (1, date(1899, 12, 31)),
        (61, date(1900, 3, 1)),
        (36526, date(2000, 1, 1)),
        (45658.75, date(2025, 1, 1)),
    ],
)
def test_parse_date_serials(serial: float, expected: date) -> None:
    assert values.parse_date(serial, typed_cells=True) == expected


@pytest.mark.parametrize("serial", [0, -5, 2958466, True])
def test_parse_date_refuses_out_of_range_serials_and_booleans(serial: Any) -> None:
    with pytest.raises(ValueError, match=r"out of range|not a date"):
        values.parse_date(serial, typed_cells=True)


def test_parse_date_blank() -> None:
    assert values.parse_date(None, typed_cells=False) is None
    assert values.parse_date("", typed_cells=False) is None
    assert values.parse_date("   ", typed_cells=False) is None


# --- gender, state, acuity ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("M", "male"),
        ("m", "male"),
        ("Male", "male"),
        (" MALE ", "male"),
        ("1", "male"),
        (1.0, "male"),
        ("F", "female"),
        ("female", "female"),
        ("2", "female"),
        (2, "female"),
        ("U", "unknown"),
        ("Unknown", "unknown"),
        ("X", "other"),
        ("Non-Binary", "other"),
        ("", None),
    ],
)
def test_gender(raw: Any, expected: str | None) -> None:
    record, errors = _validate({"GENDER": raw})
    assert errors == []
    assert record["gender"] == expected


def test_bad_gender() -> None:
    assert _errors({"GENDER": "Q"}, row=6) == [
        "Row 6: Gender 'Q' must be male, female, other or unknown (M/F/U/1/2 accepted)"
    ]
    assert _errors({"GENDER": "3"})[0].startswith("Row 2: Gender '3' must be")


@pytest.mark.parametrize(("raw", "expected"), [("ca", "CA"), (" Ma ", "MA"), ("", None)])
def test_state(raw: str, expected: str | None) -> None:
    assert _validate({"STATE": raw})[0]["state"] == expected


@pytest.mark.parametrize("raw", ["Calif", "C", "C1", "12"])
def test_bad_state(raw: str) -> None:
    assert _errors({"STATE": raw}) == [f"Row 2: State '{raw}' must be a two-letter state code"]


@pytest.mark.parametrize(
    ("raw", "expected"), [("HIGH", "high"), ("Medium", "medium"), (" low ", "low"), ("", None)]
)
def test_acuity_is_case_insensitive(raw: str, expected: str | None) -> None:
    record, errors = _validate({"ACUITY_LEVEL": raw})
    assert errors == []
    assert record["acuity_level"] == expected


def test_bad_acuity() -> None:
    assert _errors({"ACUITY_LEVEL": "Critical"}) == [
        "Row 2: ACUITY_LEVEL 'Critical' must be one of low, medium, high"
    ]


# --- ZIP, phone, NPI ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("02134", "02134"),
        (" 02134 ", "02134"),
        ("021341234", "02134-1234"),
        ("02134-1234", "02134-1234"),
        (2134, "02134"),
        (2134.0, "02134"),
        (501, "00501"),
        (21341234, "02134-1234"),
        (90210, "90210"),
        ("", None),
        (None, None),
    ],
)
def test_zip(raw: Any, expected: str | None) -> None:
    assert values.normalize_zip(raw) == expected


@pytest.mark.parametrize(
    "raw", ["2134", "ABCDE", "02134-12", "0213412345", "02134 1234", -2134, 2134.5, 1234567890]
)
def test_bad_zip(raw: Any) -> None:
    with pytest.raises(ValueError, match="must be 5 or 9 digits"):
        values.normalize_zip(raw)


def test_zip_in_a_row_keeps_its_leading_zero() -> None:
    assert _validate({"ZIP": 2134.0}, typed=True)[0]["zip"] == "02134"
    assert _errors({"ZIP": "2134"}) == ["Row 2: ZIP '2134' must be 5 or 9 digits"]


@pytest.mark.parametrize(
    "raw",
    [
        "(617) 555-0100",
        "617-555-0100",
        "617.555.0100",
        "6175550100",
        "1-617-555-0100",
        "+1 (617) 555-0100",
        "16175550100",
        6175550100.0,
        6175550100,
    ],
)
def test_phone(raw: Any) -> None:
    assert values.normalize_phone(raw) == "+16175550100"


@pytest.mark.parametrize("raw", ["555-0100", "26175550100", "617555010000", "6.17555E+09"])
def test_bad_phone(raw: str) -> None:
    with pytest.raises(ValueError, match="must have 10 digits"):
        values.normalize_phone(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "(617) 555-0100",
        " +1 617.555.0100 ",
        "",
        "   ",
        "617/555/0100",
        "tel: 617 555 0100 ext. 12",
        "617\u00a0555\u20110100",  # no-break space, non-breaking hyphen
        "\u0666\u0661\u0667-\u0665\u0665\u0665",  # Arabic-Indic digits are decimal digits too
        "\uff16\uff11\uff17 555 0100",  # full-width digits
        "6\u00b9\u00b2",  # superscripts are digits but not decimal ones
        "(--)",
        6175550100.0,
        6175550100,
        None,
    ],
)
def test_digits_match_the_regex_whatever_the_punctuation(raw: Any) -> None:
    expected = re.sub(r"\D+", "", values.cell_text(raw))
    assert values.digits(raw) == expected


def test_memo_keeps_text_and_numbers_apart() -> None:
    memo = values.Memo(values.cell_text, limit=3)
    assert memo("1") == ("1", None)
    assert memo(True) == ("TRUE", None)  # True == 1 == 1.0 as keys, not as cells
    assert memo(1) == ("1", None)
    assert memo(1.5) == ("1.5", None)  # answered but not kept: the caches hold 3 values
    assert memo["1"] == ("1", None)
    assert len(memo) + len(memo.typed) == 3
    assert values.Memo(values.normalize_state)(" ma ") == ("MA", None)
    assert values.Memo(values.normalize_state)["M"] == (None, "must be a two-letter state code")


def test_phone_in_a_row() -> None:
    assert _validate({"PHONE": ""})[0]["phone"] is None
    assert _errors({"PHONE": "555-0100"}, row=8) == ["Row 8: Phone '555-0100' must have 10 digits"]


def test_npi_check_digit() -> None:
    assert values.npi_is_valid(VALID_NPI)
    assert not values.npi_is_valid(INVALID_NPI)
    assert not values.npi_is_valid("123456789")
    assert not values.npi_is_valid("123456789X")


def test_npi_check_digit_agrees_with_the_reference_luhn() -> None:
    for base in range(100_000_000, 100_000_000 + 2_000, 7):
        for check in range(10):
            npi = f"1{base % 10**8:08d}{check}"
            assert values.npi_is_valid(npi) == _luhn_npi_ok(npi), npi
    # Exactly one check digit is valid for every 9-digit stem.
    assert sum(values.npi_is_valid(f"123456789{d}") for d in range(10)) == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (VALID_NPI, VALID_NPI),
        (" 1234567893 ", VALID_NPI),
        (1234567893.0, VALID_NPI),
        (1234567893, VALID_NPI),
        ("", None),
    ],
)
def test_normalize_npi(raw: Any, expected: str | None) -> None:
    assert values.normalize_npi(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("123456789", "ECM_NPI '123456789' must be 10 digits"),
        ("12345678931", "ECM_NPI '12345678931' must be 10 digits"),
        ("123456789O", "ECM_NPI '123456789O' must be 10 digits"),
        (INVALID_NPI, "ECM_NPI '1234567890' fails the NPI check digit"),
    ],
)
def test_bad_npi_in_a_row(raw: str, message: str) -> None:
    assert _errors({"ECM_NPI": raw}, row=11) == [f"Row 11: {message}"]


# --- identifiers and typed Excel values -----------------------------------------------------


def test_scientific_notation_member_id_is_refused() -> None:
    assert _errors({"MEMBER_ID": "6.45722E+12"}) == [
        "Row 2: Member ID '6.45722E+12' is in scientific notation (Excel shortened the "
        "number); format the column as text and export again"
    ]
    assert _errors({"CIN": "9.1234E+8"}) == [
        "Row 2: CIN '9.1234E+8' is in scientific notation (Excel shortened the number); "
        "format the column as text and export again"
    ]


def test_typed_numeric_ids_lose_the_float_suffix() -> None:
    record, errors = _validate({"MEMBER_ID": 12345678.0, "CIN": 91234567.0}, typed=True)
    assert errors == []
    assert record["member_id"] == "12345678"
    assert record["cin"] == "91234567"


def test_fractional_numeric_id_is_refused() -> None:
    assert _errors({"MEMBER_ID": 12345.5}, typed=True) == [
        "Row 2: Member ID '12345.5' is not a whole identifier"
    ]


@pytest.mark.parametrize(
    ("field", "label", "cell", "shown"),
    [
        # Quoted as a spreadsheet shows the cell (its 15 digits), not the double's ...680.
        ("MEMBER_ID", "Member ID", 123456789012345678.0, "1.23456789012346E+17"),
        ("CIN", "CIN", 1234567890123456, "1.23456789012346E+15"),  # an int cell (xls)
        ("ECM_SERVICE_AUTH_ID", "ECM_SERVICE_AUTH_ID", -1e15, "-1E+15"),
        ("MEMBER_ID", "Member ID", 2.02411010000123e17, "2.02411010000123E+17"),
    ],
)
def test_numeric_id_cells_of_more_than_15_digits_are_refused(
    field: str, label: str, cell: float, shown: str
) -> None:
    _, errors = _validate({field: cell}, typed=True)
    [error] = errors
    assert error == (
        f"Row 2: {label} is a number of more than 15 digits in the workbook ({shown}), which "
        "spreadsheet programs do not keep exactly; format the column as text and enter the "
        "ids again"
    )


def test_numeric_npi_cell_of_more_than_15_digits_is_refused() -> None:
    assert _errors({"ECM_NPI": 2.5e17}, typed=True) == [
        "Row 2: ECM_NPI '2.5E+17' is a number of more than 15 digits in the "
        "workbook (2.5E+17), which spreadsheet programs do not keep exactly; "
        "format the column as text and enter the ids again"
    ]


def test_numeric_id_cells_of_15_digits_and_long_text_ids_are_kept() -> None:
    record, errors = _validate(
        {"MEMBER_ID": 999999999999999.0, "CIN": "123456789012345678"}, typed=True
    )
    assert errors == []
    assert (record["member_id"], record["cin"]) == ("999999999999999", "123456789012345678")


def test_ids_keep_leading_zeros_and_letters() -> None:
    record, _ = _validate({"MEMBER_ID": "000123", "CIN": "0912345A"})
    assert record["member_id"] == "000123"
    assert record["cin"] == "0912345A"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("  a b ", "a b"),
        (True, "TRUE"),
        (12.0, "12"),
        (12.5, "12.5"),
        (7, "7"),
        (date(2020, 1, 2), "2020-01-02"),
        (datetime(2020, 1, 2, 3, 4), "2020-01-02"),
    ],
)
def test_cell_text(raw: Any, expected: str) -> None:
    assert values.cell_text(raw) == expected


@pytest.mark.parametrize(
    ("field", "label", "value"),
    [
        ("FIRST_NAME", "First name", "Ana\x00"),
        ("LAST_NAME", "Last name", "Kim\u202egnaL"),
        ("LAST_NAME", "Last name", "Line\nbreak"),
        ("FIRST_NAME", "First name", "\u2066Ana\u2069"),
    ],
)
def test_names_with_control_or_bidi_characters_are_refused(
    field: str, label: str, value: str
) -> None:
    assert _errors({field: value}, row=4) == [
        f"Row 4: {label} can't contain control or bidirectional-override characters"
    ]


def test_names_in_other_scripts_and_with_marks_are_kept() -> None:
    for name in ("José", "Nguyễn", "O'Neil-Smith", "李", "مريم", "Zoë\u200d"):
        assert _errors({"FIRST_NAME": name}) == []
