"""Authorization rows: validate and normalise one row of an authorization workbook.

Statuses and forms are stored in the documented spelling ("Approved", "Form I"); dates come as
date cells, Excel serials, YYYY-MM-DD, MM/DD/YYYY or MM-DD-YYYY.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from ecm.kinds.values import (
    MAX_TEXT,
    TYPED_DATE,
    Memo,
    bounded_text,
    cell_text,
    identifier,
    shown_cell,
)


class AuthorizationStatus(StrEnum):
    APPROVED = "Approved"
    PENDING = "Pending"
    CANCEL = "Cancel"
    DENIED = "Denied"


class AuthorizationForm(StrEnum):
    I = "Form I"  # noqa: E741 - the form's name
    E = "Form E"
    C = "Form C"
    D = "Form D"
    W = "Form W"


_STATUSES = {s.value.lower(): s for s in AuthorizationStatus} | {
    "cancelled": AuthorizationStatus.CANCEL,
    "canceled": AuthorizationStatus.CANCEL,
    "approve": AuthorizationStatus.APPROVED,
    "deny": AuthorizationStatus.DENIED,
}

_FORMS = {f.name.lower(): f for f in AuthorizationForm} | {
    f.value.lower(): f for f in AuthorizationForm
}


def parse_status(value: Any) -> AuthorizationStatus | None:
    text = " ".join(cell_text(value).lower().split())
    if not text:
        return None
    try:
        return _STATUSES[text]
    except KeyError:
        raise ValueError("must be one of Approved, Pending, Cancel, Denied") from None


def parse_form(value: Any) -> AuthorizationForm | None:
    text = " ".join(cell_text(value).lower().replace("-", " ").split())
    if not text:
        return None
    try:
        return _FORMS[text]
    except KeyError:
        raise ValueError("must be one of Form I, Form E, Form C, Form D, Form W") from None


_TEXT = (
    ("AUTH_TYPE", "auth_type"),
    ("AUTH_DESCRIPTION", "auth_description"),
    ("MEMBER_NAME", "member_name"),
    ("REQUESTING_PROVIDER", "requesting_provider"),
    ("SERVICING_PROVIDER", "servicing_provider"),
    ("CONTACT_NAME", "contact_name"),
    ("REMARKS", "remarks"),
)

_DATES = (
    ("RECEIVED_DATE", "received_date"),
    ("DECISION_DATE", "decision_date"),
    ("START_DATE", "start_date"),
    ("EXPIRATION_DATE", "expiration_date"),
)

_REQUIRED = (("AUTH_NO", "auth_no", "Auth No"), ("MEMBER_ID", "member_id", "Member ID"))

_CHOICES = (
    ("STATUS", "status", Memo(lambda v: s.value if (s := parse_status(v)) else None)),
    (
        "AUTHORIZATION_TYPE",
        "authorization_type",
        Memo(lambda v: f.value if (f := parse_form(v)) else None),
    ),
)


def validate_authorization_row(
    row_number: int, values: dict[str, Any], typed_cells: bool, today: date
) -> tuple[dict[str, Any], list[str]]:
    """Return the normalised authorization and every error of this row."""
    errors: list[str] = []
    record: dict[str, Any] = {}
    prefix = f"Row {row_number}: "
    for field, key, label in _REQUIRED:
        try:
            text = identifier(values.get(field))
        except ValueError as exc:
            errors.append(f"{prefix}{field} {exc}")
            text = ""
        else:
            if not text:
                errors.append(f"{prefix}Validation failed: {label} can't be blank")
        record[key] = text
    for field, key in _TEXT:
        raw = values.get(field)
        if raw.__class__ is str and len(raw) <= MAX_TEXT:  # the common case, without a call
            record[key] = raw.strip() or None
            continue
        try:
            record[key] = bounded_text(raw) or None
        except ValueError as exc:
            errors.append(f"{prefix}{field} {exc}")
    for field, key, parse in _CHOICES:
        raw = values.get(field)
        # memo[text] is a plain dict hit: text is nearly every cell (see Memo).
        value, error = parse[raw] if raw.__class__ is str else parse(raw)
        record[key] = value
        if error:
            errors.append(f"{prefix}{field} '{shown_cell(raw)}' {error}")
    dates: dict[str, date | None] = {}
    for field, key in _DATES:
        raw = values.get(field)
        # Authorization workbooks are Excel: serials are dates whatever the container.
        parsed, error = TYPED_DATE[raw] if raw.__class__ is str else TYPED_DATE(raw)
        if error:
            errors.append(
                f"{prefix}{field} '{shown_cell(raw)}' is not a valid date "
                "(YYYY-MM-DD, MM/DD/YYYY or MM-DD-YYYY)"
            )
        dates[field], record[key] = parsed if parsed else (None, None)
    start, end = dates["START_DATE"], dates["EXPIRATION_DATE"]
    if start and end and start > end:
        errors.append(
            f"{prefix}START_DATE {start.isoformat()} is after EXPIRATION_DATE {end.isoformat()}"
        )
    received, decided = dates["RECEIVED_DATE"], dates["DECISION_DATE"]
    if received and decided and decided < received:
        errors.append(
            f"{prefix}DECISION_DATE {decided.isoformat()} is before RECEIVED_DATE "
            f"{received.isoformat()}"
        )
    return record, errors
