"""Patients lists (docs/api/patients.md): GET /patients and POST /patients/filter.

A list is a sharded keys-only index in name order (ecm.patients.index_fields): a page merges
the shards' entries up to it and reads the page's items only (25 items for a page of 25,
whatever the table's size); ``total_count`` is a counter kept with the data
(ecm.patients.counts), not a scan."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pynamodb.indexes import Index

from ecm.api.params import MAX_PER_PAGE, WINDOW_SCHEMA, page_window
from ecm.api.schemas import ObjectBody
from ecm.errors import ApiError
from ecm.kinds.authorization.member_status import MEMBER_STATUSES
from ecm.models import Patient
from ecm.models.partitions import first_entries
from ecm.patients.choices import AcuityField, AuthorizationStatusField, MemberStatusField
from ecm.patients.counts import read_counts
from ecm.patients.index_fields import ALL_PATIENTS, shard_keys
from ecm.patients.providers import provider_names
from ecm.patients.reading import (
    Item,
    case_load_provider_ids,
    caseload_summary,
    eligibility_summary,
    in_latest_mif,
    patients_by_id,
)
from ecm.patients.search import search_matches, search_page


def _list_ids(index: Index[Patient], value: Any, wanted: int | None) -> list[int]:
    """The first ``wanted`` (every, for None) patient ids of one list, in name order."""
    entries = first_entries(index, shard_keys(value), lambda e: e["sort_name"], wanted)
    return [int(entry["id"]) for entry in entries]


def patient_summary(patient: Item, names: dict[int, str]) -> Item:
    """A patient in a list (``names``: the page's providers, ``provider_names``)."""
    return {
        "id": patient["id"],
        "name": patient.get("name"),
        "date_of_birth": patient.get("date_of_birth"),
        "ecm_eligibility_information": eligibility_summary(patient),
        "case_load": caseload_summary(patient, names),
    }


def list_patients(
    search: str | None,
    status: str | None,
    provider_id: int | None,
    page: int | None,
    per_page: int | None,
) -> Item:
    status = (status or "").strip()
    if status and status not in MEMBER_STATUSES:
        raise ApiError(422, f"status must be one of: {', '.join(MEMBER_STATUSES)}")
    page, per_page = page_window(page, per_page)
    request = PatientFilterRequest(
        search=search or None,
        filters=PatientFilters(status=status or None, provider_id=provider_id),
        page=page,
        per_page=per_page,
    )
    return _run_filter(request)


SORTS: dict[str, Any] = {
    "name": lambda p: p.get("sort_name"),
    "last_name": lambda p: (p.get("last_name") or "").lower(),
    "first_name": lambda p: (p.get("first_name") or "").lower(),
    "date_of_birth": lambda p: p.get("date_of_birth"),
    "member_id": lambda p: (p.get("eligibility") or {}).get("member_id"),
    "acuity_level": lambda p: {"low": 0, "medium": 1, "high": 2}.get(
        (p.get("eligibility") or {}).get("acuity_level") or ""
    ),
    "member_record_status": lambda p: (p.get("eligibility") or {}).get("member_record_status"),
    "created_at": lambda p: p.get("created_at"),
    "updated_at": lambda p: p.get("updated_at"),
}


class PatientFilters(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    status: MemberStatusField = None
    acuity_level: AcuityField = None
    provider_id: int | None = None
    olcm_user_id: int | None = None
    ilcm_user_id: int | None = None
    authorization_status: AuthorizationStatusField = None
    #: false: the members their plan's latest MIF left out; true: every other one
    in_latest_mif: bool | None = None


class PatientFilterRequest(ObjectBody):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, strict=True)

    search: str | None = None
    sort_by: str = "name"
    sort_dir: str = "ASC"
    filters: PatientFilters = PatientFilters()
    page: int = Field(1, ge=1, json_schema_extra=WINDOW_SCHEMA)
    per_page: int = Field(25, ge=1, le=MAX_PER_PAGE)

    @field_validator("sort_by")
    @classmethod
    def _sort_by(cls, value: str) -> str:
        if value not in SORTS:
            raise ValueError(f"must be one of {', '.join(SORTS)}")
        return value

    @field_validator("sort_dir")
    @classmethod
    def _sort_dir(cls, value: str) -> str:
        if value.upper() not in ("ASC", "DESC"):
            raise ValueError("must be ASC or DESC")
        return value.upper()

    # Before the fields' own bounds, for these messages; a value of another type is left to
    # the strict type check.
    @field_validator("page", mode="before")
    @classmethod
    def _page(cls, value: Any) -> Any:
        if type(value) is int and value < 1:
            raise ValueError("must be a positive integer")
        return value

    @field_validator("per_page", mode="before")
    @classmethod
    def _per_page(cls, value: Any) -> Any:
        if type(value) is int and not 1 <= value <= MAX_PER_PAGE:
            raise ValueError(f"must be between 1 and {MAX_PER_PAGE}")
        return value


def _matches(patient: Item, filters: PatientFilters) -> bool:
    case_load = patient.get("case_load") or {}
    eligibility = patient.get("eligibility") or {}
    return (
        (filters.status is None or eligibility.get("member_record_status") == filters.status)
        and (
            filters.acuity_level is None or eligibility.get("acuity_level") == filters.acuity_level
        )
        and (filters.provider_id is None or case_load.get("provider_id") == filters.provider_id)
        and (filters.olcm_user_id is None or case_load.get("olcm_user_id") == filters.olcm_user_id)
        and (filters.ilcm_user_id is None or case_load.get("ilcm_user_id") == filters.ilcm_user_id)
        and (
            filters.authorization_status is None
            or patient.get("latest_authorization_status") == filters.authorization_status
        )
        and (filters.in_latest_mif is None or in_latest_mif(eligibility) is filters.in_latest_mif)
    )


def filter_patients(request: PatientFilterRequest) -> Item:
    """POST /patients/filter: filters combine with AND; sort by a whitelisted field.

    The most selective index drives the read (search, provider, status, else every patient
    by name). Name order with only that index's filter reads just the page; any other sort
    or filter reads the driving partition whole (its cost is in docs/inside/access-patterns.md).
    """
    page_window(request.page, request.per_page)
    return _run_filter(request)


#: Indexes that drive a list, most selective first: (filter field, index, counter name).
DRIVING_INDEXES: tuple[tuple[str, Index[Patient], str], ...] = (
    ("provider_id", Patient.by_provider, "provider"),
    ("olcm_user_id", Patient.by_olcm, "olcm"),
    ("ilcm_user_id", Patient.by_ilcm, "ilcm"),
    ("status", Patient.by_status, "status"),
)


def _page_body(
    items: list[Item], total: int, page: int, per_page: int, *, window: bool = False
) -> Item:
    """The response for ``page``: of every item up to it, or of just its items (``window``)."""
    start = 0 if window else (page - 1) * per_page
    shown = items[start : start + per_page]
    names = provider_names(case_load_provider_ids(shown))
    return {
        "patients": [patient_summary(p, names) for p in shown],
        "pagination": {
            "current_page": page,
            "total_pages": math.ceil(total / per_page) if total else 0,
            "total_count": total,
            "per_page": per_page,
        },
    }


def _run_filter(request: PatientFilterRequest) -> Item:
    """One index drives the read; the rest of the filters and the sort run on its items.

    Name order with only the driving index's own filter reads the list's entries up to the
    page, then the page's items, and takes total_count from its counter; a search in its
    own order with no filter reads index entries up to the page, the page's items, and
    counts the matching entries (``search_page``). Anything else reads the driving list
    (or every search match) whole: the cost docs/inside/access-patterns.md states.
    """
    filters = request.filters
    given = {k for k, v in filters.model_dump().items() if v is not None}
    term = " ".join((request.search or "").lower().split())
    driving = next((d for d in DRIVING_INDEXES if getattr(filters, d[0]) is not None), None)
    index, value, counter = (
        (driving[1], getattr(filters, driving[0]), f"count#{driving[2]}#")
        if driving
        else (Patient.by_all, ALL_PATIENTS, "count#patient")
    )
    if driving:
        counter += str(value)
    name_order = request.sort_by == "name" and request.sort_dir == "ASC"
    if not term and name_order and given <= ({driving[0]} if driving else set()):
        start = (request.page - 1) * request.per_page
        ids = _list_ids(index, value, start + request.per_page)[start:]
        total = read_counts([counter])[counter]
        return _page_body(patients_by_id(ids), total, request.page, request.per_page, window=True)
    if term and name_order and not given:
        items, total = search_page(term, request.page, request.per_page)
        return _page_body(items, total, request.page, request.per_page, window=True)
    candidates = search_matches(term) if term else patients_by_id(_list_ids(index, value, None))
    matched = [p for p in candidates if _matches(p, filters)]
    if term and name_order:
        ordered = matched  # search results keep their order: matched text, then name
    else:
        sort_key = SORTS[request.sort_by]
        present = [p for p in matched if sort_key(p) is not None]
        missing = [p for p in matched if sort_key(p) is None]
        present.sort(
            key=lambda p: (sort_key(p), p.get("sort_name")), reverse=request.sort_dir == "DESC"
        )
        ordered = present + missing  # blanks last, whichever the direction
    return _page_body(ordered, len(ordered), request.page, request.per_page)
