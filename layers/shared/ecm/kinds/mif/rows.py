"""MIF rows: validate and normalise one row into the fields the store keeps.

Every rule of docs/using/mif-imports.md (Fields, Rows); errors read ``Row 7: ...`` and quote
the value (they are returned to the admin, never logged).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ecm.kinds.values import (
    ACUITY_LEVELS,
    MAX_TEXT,
    TEXT_DATE,
    TYPED_DATE,
    Memo,
    bounded_text,
    cell_text,
    identifier,
    normalize_choice,
    normalize_gender,
    normalize_npi,
    normalize_phone,
    normalize_state,
    normalize_zip,
    person_name,
    shown_cell,
)

MifRecord = dict[str, Any]

_REQUIRED = (
    ("MEMBER_ID", "member_id", "Member ID", identifier),
    ("FIRST_NAME", "first_name", "First name", person_name),
    ("LAST_NAME", "last_name", "Last name", person_name),
)

_SIMPLE: tuple[tuple[str, str, str, Memo], ...] = (
    ("GENDER", "gender", "Gender", Memo(normalize_gender)),
    ("STATE", "state", "State", Memo(normalize_state)),
    ("ZIP", "zip", "ZIP", Memo(normalize_zip)),
    ("PHONE", "phone", "Phone", Memo(normalize_phone, limit=0)),  # phones rarely repeat
    ("ECM_NPI", "ecm_npi", "ECM_NPI", Memo(normalize_npi)),
    (
        "ACUITY_LEVEL",
        "acuity_level",
        "ACUITY_LEVEL",
        Memo(lambda v: normalize_choice(v, ACUITY_LEVELS)),
    ),
)

_IDS = (
    ("CIN", "cin", "CIN"),
    ("ECM_SERVICE_AUTH_ID", "ecm_service_auth_id", "ECM_SERVICE_AUTH_ID"),
)

_TEXT = (
    ("ADDRESS", "address"),
    ("CITY", "city"),
    ("ECM_PROVIDER_NAME", "ecm_provider_name"),
)

_DATES = (
    ("DOB", "date_of_birth"),
    ("ECM_BENEFIT_AUTH_EFF_DATE", "ecm_benefit_auth_eff_date"),
    ("ECM_BENEFIT_AUTH_END_DATE", "ecm_benefit_auth_end_date"),
)


def validate_mif_row(
    row_number: int, values: dict[str, Any], typed_cells: bool, today: date
) -> tuple[MifRecord, list[str]]:
    """Return the normalised record and every error of this row (empty when valid)."""
    errors: list[str] = []
    record: MifRecord = {}
    get = values.get

    for field, key, label, read in _REQUIRED:
        try:
            text = read(get(field))
        except ValueError as exc:
            errors.append(f"Row {row_number}: {label} {exc}")
            text = ""
        else:
            if not text:
                errors.append(f"Row {row_number}: Validation failed: {label} can't be blank")
        record[key] = text

    for field, key, label in _IDS:
        try:
            record[key] = identifier(get(field)) or None
        except ValueError as exc:
            errors.append(f"Row {row_number}: {label} {exc}")

    for field, key in _TEXT:
        raw = get(field)
        if type(raw) is str and len(raw) <= MAX_TEXT:  # the common case, without a call
            record[key] = raw.strip() or None
            continue
        try:
            record[key] = bounded_text(raw) or None
        except ValueError as exc:
            errors.append(f"Row {row_number}: {field} {exc}")

    for field, key, label, normalize in _SIMPLE:
        raw = get(field)
        # memo[text] is a plain dict hit: text is nearly every cell (see Memo).
        value, error = normalize[raw] if raw.__class__ is str else normalize(raw)
        record[key] = value
        if error:
            errors.append(f"Row {row_number}: {label} '{shown_cell(raw)}' {error}")

    parse = TYPED_DATE if typed_cells else TEXT_DATE
    parsed: list[date | None] = []  # in _DATES order
    for field, key in _DATES:
        raw = get(field)
        value, error = parse[raw] if raw.__class__ is str else parse(raw)
        if error:
            errors.append(
                f"Row {row_number}: {field} '{shown_cell(raw)}' is not a valid MM-DD-YYYY date"
            )
        day, record[key] = value if value else (None, None)
        parsed.append(day)

    dob, effective, end = parsed
    if dob and dob > today:
        errors.append(f"Row {row_number}: DOB '{cell_text(get('DOB'))}' is in the future")
    if effective and end and effective > end:
        errors.append(
            f"Row {row_number}: ECM_BENEFIT_AUTH_EFF_DATE {effective.isoformat()} is after "
            f"ECM_BENEFIT_AUTH_END_DATE {end.isoformat()}"
        )
    return record, errors
