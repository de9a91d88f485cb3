"""What both return files share: the export's context (plan, month, layout, who the
provider is), a row's values, and the values that are missing with why.

A kind builds each row as field → text; a value a plan needs but the data lacks is a
``Missing`` that says what to record. The engine writes a row only when every column it
has is filled, and lists the others: a file is never sent with a hole a plan would reject.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any

from ecm.clock import CALIFORNIA, iso_timestamp
from ecm.exports.layouts import Column, Layout
from ecm.files.fields import normalize_header
from ecm.models import Patient
from ecm.models.access import batch_read
from ecm.settings import get_settings

Item = dict[str, Any]
#: Patients read per BatchGetItem (DynamoDB's limit).
BATCH = 100


@dataclass(frozen=True)
class Missing:
    """A value a column needs that the data does not hold; ``reason`` says what to do."""

    reason: str


Value = str | Missing


@dataclass
class ExportRow:
    """One row: what it is about (patient, activity), its values by field, and the
    member's plan fields (the plan's MIF columns kept as they came, by header)."""

    ref: Item
    values: dict[str, Value]
    plan_fields: Mapping[str, str] = field(default_factory=dict)


def plan_fields_of(patient: Item) -> Mapping[str, str]:
    return (patient.get("eligibility") or {}).get("plan_fields") or {}


def plan_field(fields: Mapping[str, str], header: str) -> str:
    """A member's plan field by the header a layout names: as the file spelled it, else as
    headers match (case, spaces and punctuation do not count); blank when it has none."""
    found = fields.get(header)
    if found is not None or not fields:
        return found or ""
    wanted = normalize_header(header)
    return next((text for name, text in fields.items() if normalize_header(name) == wanted), "")


def column_cell(column: Column, row: ExportRow) -> Value:
    """What a layout's column holds in a row: its field's value, the member's plan field, or
    its fixed value."""
    if column.field is not None:
        return row.values.get(column.field, "")
    if column.plan_field is not None:
        return plan_field(row.plan_fields, column.plan_field)
    return column.value or ""


@dataclass(frozen=True)
class Period:
    """A reporting month on California's calendar, and its bounds as API timestamps."""

    first: date
    last: date

    @classmethod
    def of(cls, month: str) -> Period:
        """``YYYY-MM`` → the month (ValueError when it is not one)."""
        if len(month) != 7 or month[4] != "-":
            raise ValueError("must be a month as YYYY-MM")
        first = date(int(month[:4]), int(month[5:]), 1)
        following = (first + timedelta(days=31)).replace(day=1)
        return cls(first, following - timedelta(days=1))

    def start_key(self) -> str:
        """The first instant of the month, as activity keys and timestamps sort."""
        return _instant(self.first)

    def end_key(self) -> str:
        """The first instant after the month."""
        return _instant(self.last + timedelta(days=1))


def _instant(day: date) -> str:
    moment = datetime(day.year, day.month, day.day, tzinfo=CALIFORNIA).astimezone(UTC)
    return iso_timestamp(moment)


@dataclass
class ExportContext:
    """Everything a kind's rows need besides the tables."""

    plan: str
    period: Period
    production: date
    layout: Layout
    warnings: list[str] = field(default_factory=list)

    def date(self, value: str | None) -> str:
        return self.layout.format_date(date.fromisoformat(value[:10])) if value else ""

    def code(self, code_set: str, value: str | None, label: str) -> Value:
        """``value``'s code in the layout, or Missing naming the value and the code set."""
        if not value:
            return Missing(f"no {label}")
        code = self.layout.codes[code_set].get(value)
        if code is None:
            return Missing(f"{label} '{value}' has no code in the layout (codes.{code_set})")
        return code

    def shared_values(self) -> dict[str, Value]:
        """The plan's, the provider's and the file's own values, the same on every row."""
        settings = get_settings()
        return {
            "mcp_identifier": self.layout.mcp_identifier,
            "mcp_name": self.layout.mcp_name,
            "provider_name": settings.provider_name,
            "provider_npi": settings.provider_npi,
            "provider_tin": settings.provider_tin,
            "provider_phone": ten_digits(settings.provider_phone),
            "production_date": self.layout.format_date(self.production),
            "reporting_period": self.layout.format_period(self.period.first, self.period.last),
        }

    def member_values(self, patient: Item) -> dict[str, Value]:
        """Who the member is, as both files name them."""
        eligibility = patient.get("eligibility") or {}
        first, last = patient.get("first_name") or "", patient.get("last_name") or ""
        cin = eligibility.get("cin") or eligibility.get("member_id")
        return {
            "cin": cin or Missing("no CIN or member ID"),
            "member_id": eligibility.get("member_id") or "",
            "first_name": first,
            "last_name": last,
            "client_name": f"{first} {last}".strip(),
            # The member's own ECM provider from its MIF, else the organisation's.
            "provider_name": eligibility.get("ecm_provider_name") or get_settings().provider_name,
            "provider_npi": eligibility.get("ecm_npi") or get_settings().provider_npi,
        }


def ten_digits(phone: str | None) -> str:
    """A stored phone (``+1`` and 10 digits) as the files write it: the 10 digits."""
    digits = "".join(c for c in phone or "" if c.isdigit())
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def batches(values: Iterable[Any], size: int = BATCH) -> Iterator[list[Any]]:
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


def read_patients(ids: list[int]) -> dict[int, Item]:
    return {int(p["id"]): p for p in batch_read(Patient, ids)}
