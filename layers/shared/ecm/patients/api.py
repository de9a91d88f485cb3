"""Patients (seed 002): list by name, status or provider; detail; update; the audit trail.

Lists query an index in name order and read the items up to the requested page (the first
page of 25 reads 25 items whatever the table's size); ``total_count`` is a counter kept with
the data (ecm.counts), not a scan. Every detail read and every update
writes an audit entry (who, what, when).
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import cache, partial
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, field_validator
from pynamodb.exceptions import PynamoDBException
from pynamodb.indexes import Index
from pynamodb.transactions import TransactWrite

from ecm.clock import iso_timestamp
from ecm.errors import ApiError, invalid_body
from ecm.imports.api import parse_positive_int
from ecm.kinds.authorization.member_status import MEMBER_STATUSES
from ecm.kinds.authorization.rows import AuthorizationStatus
from ecm.kinds.values import ACUITY_LEVELS
from ecm.models import AuditEntry, Authorization, Patient, PatientKey
from ecm.models.access import (
    all_items,
    as_dict,
    as_model,
    batch_read,
    condition_failed,
    count_query,
    get,
    next_ids,
    put_versioned,
    transaction,
)
from ecm.patients.counts import add_count_updates, add_deltas, read_counts
from ecm.patients.items import (
    PATIENT_KIND,
    SEARCH_INDEXES,
    name_key,
    patient_name_key,
    search_partitions,
    with_index_fields,
)

Item = dict[str, Any]
NOT_FOUND = "Patient not found"


# --- reading ------------------------------------------------------------------------------


def _query(index: Index[Patient], value: Any, wanted: int) -> list[Item]:
    """The first ``wanted`` items of one index partition, in name order."""
    return list(all_items(index.query(value, limit=wanted)))


def _eligibility_summary(patient: Item) -> Item:
    elig = patient.get("eligibility") or {}
    return {
        "id": elig.get("id"),
        "member_id": elig.get("member_id"),
        "cin": elig.get("cin"),
        "ecm_service_auth_id": elig.get("ecm_service_auth_id"),
        "ecm_provider_name": elig.get("ecm_provider_name"),
        "ecm_benefit_auth_eff_date": elig.get("ecm_benefit_auth_eff_date"),
        "ecm_benefit_auth_end_date": elig.get("ecm_benefit_auth_end_date"),
        "acuity_level": elig.get("acuity_level"),
        "member_record_status": elig.get("member_record_status"),
    }


def _caseload_patient(patient: Item) -> Item:
    case_load = patient.get("case_load") or {}
    return {
        "provider_id": case_load.get("provider_id"),
        "provider_name": case_load.get("provider_name"),
        "olcm_user_id": case_load.get("olcm_user_id"),
        "olcm_name": case_load.get("olcm_name"),
        "ilcm_user_id": case_load.get("ilcm_user_id"),
        "ilcm_name": case_load.get("ilcm_name"),
    }


def patient_summary(patient: Item) -> Item:
    return {
        "id": patient["id"],
        "name": patient.get("name"),
        "date_of_birth": patient.get("date_of_birth"),
        "ecm_eligibility_information": _eligibility_summary(patient),
        "case_load": _caseload_patient(patient),
    }


def list_patients(query: dict[str, str] | None) -> Item:
    query = query or {}
    page = parse_positive_int(query, "page", 1, 10**6)
    per_page = parse_positive_int(query, "per_page", 25, 100)
    status = (query.get("status") or "").strip()
    if status and status not in MEMBER_STATUSES:
        raise ApiError(422, f"status must be one of: {', '.join(MEMBER_STATUSES)}")
    provider_raw = (query.get("provider_id") or "").strip()
    provider_id = parse_positive_int(query, "provider_id", 0, 10**12) if provider_raw else None
    request = PatientFilterRequest(
        search=query.get("search") or None,
        filters=PatientFilters(status=status or None, provider_id=provider_id),
        page=page,
        per_page=per_page,
    )
    return _run_filter(request)


#: Search queries (one per index and partition) run this many at a time, on threads kept
#: for the process's life (a warm Lambda reuses them).
SEARCH_WORKERS = 16


@cache
def _search_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=SEARCH_WORKERS, thread_name_prefix="search")


def _parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run independent DynamoDB reads concurrently (botocore clients are thread-safe)."""
    if len(calls) <= 1:
        return [call() for call in calls]
    return list(_search_pool().map(lambda call: call(), calls))


#: The search index of each field of SEARCH_INDEXES.
SEARCH_BY = {
    "name": Patient.search_by_name,
    "last": Patient.search_by_last,
    "member": Patient.search_by_member,
    "cin": Patient.search_by_cin,
}


def _starts_with(name: str, term: str) -> Any:
    return getattr(Patient, f"search_{name}").startswith(term)


def _count_partition(name: str, partition: str, term: str) -> tuple[int, int]:
    """(patients counted, entries matching) of one index partition for a folded term.

    An entry counts when this field is the first of the patient's fields (SEARCH_INDEXES
    order) the term matches (``search_<f>_from``, see ecm.patients.search_fields), so the
    sum over the indexes counts every matching patient once. Select=COUNT: DynamoDB reads
    the keys-only entries and returns two numbers.
    """
    counted_from = getattr(Patient, f"search_{name}_from")
    return count_query(
        SEARCH_BY[name], partition, _starts_with(name, term), counted_from <= len(term)
    )


def _first_entries(
    name: str, partitions: list[str], term: str, wanted: int | None
) -> list[tuple[str, int]]:
    """The first ``wanted`` (every, for None) matching entries of one index, as (range key,
    patient id) in key order: partitions are read in order, each only as far as needed."""
    found: list[tuple[str, int]] = []
    field = f"search_{name}"
    for partition in partitions:
        limit = None if wanted is None else wanted - len(found)
        entries = SEARCH_BY[name].query(
            partition, _starts_with(name, term), limit=limit, attributes_to_get=[field, "id"]
        )
        found.extend((str(getattr(entry, field)), int(entry.id)) for entry in entries)
        if wanted is not None and len(found) >= wanted:
            break
    return found


def _merge(entries: list[list[tuple[str, int]]]) -> list[int]:
    """Patient ids in search order: each at its smallest range key (the matched text, then
    its sort_name), once however many of its fields match."""
    best: dict[int, str] = {}
    for index_entries in entries:
        for key, patient_id in index_entries:
            if patient_id not in best or key < best[patient_id]:
                best[patient_id] = key
    return sorted(best, key=lambda i: (best[i], i))


def _patients_by_id(ids: list[int]) -> list[Item]:
    """The full items of ``ids``, in that order (BatchGetItem, 100 a call)."""
    by_id = {int(item["id"]): item for item in batch_read(Patient, ids)}
    return [by_id[i] for i in ids if i in by_id]


def _search_page(term: str, page: int, per_page: int) -> tuple[list[Item], int]:
    """One page of a search in its default order, and the exact ``total_count``.

    The search indexes project keys only (and ``search_<f>_from``). The count reads the
    matching entries of every index with Select=COUNT, deduplicated by ``_from``. The page
    reads at most page·per_page entries per index (a patient in the first page·per_page
    results has its smallest key among the first page·per_page entries of its index, one
    entry per patient in each), skipping partitions the count found empty, merges them and
    reads the full items of that page only.
    """
    partitions = search_partitions(term)
    cells = [(name, partition) for name in SEARCH_INDEXES for partition in partitions]
    counts = _parallel([partial(_count_partition, name, part, term) for name, part in cells])
    total = sum(counted for counted, _ in counts)
    start, wanted = (page - 1) * per_page, page * per_page
    if start >= total:
        return [], total
    occupied = {cell for cell, (_, entries) in zip(cells, counts, strict=True) if entries}
    lists = _parallel(
        [
            partial(
                _first_entries,
                name,
                [p for p in partitions if (name, p) in occupied],
                term,
                wanted,
            )
            for name in SEARCH_INDEXES
        ]
    )
    return _patients_by_id(_merge(lists)[start:wanted]), total


def _search_matches(term: str) -> list[Item]:
    """Every patient whose full name, last name, member id or CIN starts with ``term``, in
    search order: every matching index entry, then the full item of every match."""
    partitions = search_partitions(term)
    lists = _parallel(
        [partial(_first_entries, name, partitions, term, None) for name in SEARCH_INDEXES]
    )
    return _patients_by_id(_merge(lists))


def _one_of(choices: tuple[str, ...] | list[str]) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return AfterValidator(check)


MemberStatusField = Annotated[str | None, _one_of(MEMBER_STATUSES)]
AcuityField = Annotated[str | None, _one_of(ACUITY_LEVELS)]
AuthorizationStatusField = Annotated[str | None, _one_of([s.value for s in AuthorizationStatus])]


SORTS: dict[str, Any] = {
    "name": lambda p: p.get("sort_name"),
    "last_name": lambda p: (p.get("last_name") or "").lower(),
    "first_name": lambda p: (p.get("first_name") or "").lower(),
    "date_of_birth": lambda p: p.get("date_of_birth"),
    "member_id": lambda p: (p.get("eligibility") or {}).get("member_id"),
    "acuity_level": lambda p: {"low": 0, "medium": 1, "high": 2}.get(
        (p.get("eligibility") or {}).get("acuity_level") or ""
    ),
    "member_record_status": lambda p: p.get("member_record_status"),
    "created_at": lambda p: p.get("created_at"),
    "updated_at": lambda p: p.get("updated_at"),
}


class PatientFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: MemberStatusField = None
    acuity_level: AcuityField = None
    provider_id: int | None = None
    olcm_user_id: int | None = None
    ilcm_user_id: int | None = None
    authorization_status: AuthorizationStatusField = None


class PatientFilterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    search: str | None = None
    sort_by: str = "name"
    sort_dir: str = "ASC"
    filters: PatientFilters = PatientFilters()
    page: int = 1
    per_page: int = 25

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

    @field_validator("page")
    @classmethod
    def _page(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be a positive integer")
        return value

    @field_validator("per_page")
    @classmethod
    def _per_page(cls, value: int) -> int:
        if not 1 <= value <= 100:
            raise ValueError("must be between 1 and 100")
        return value


def _matches(patient: Item, filters: PatientFilters) -> bool:
    case_load = patient.get("case_load") or {}
    eligibility = patient.get("eligibility") or {}
    return (
        (filters.status is None or patient.get("member_record_status") == filters.status)
        and (
            filters.acuity_level is None or eligibility.get("acuity_level") == filters.acuity_level
        )
        and (filters.provider_id is None or patient.get("provider_id") == filters.provider_id)
        and (filters.olcm_user_id is None or case_load.get("olcm_user_id") == filters.olcm_user_id)
        and (filters.ilcm_user_id is None or case_load.get("ilcm_user_id") == filters.ilcm_user_id)
        and (
            filters.authorization_status is None
            or patient.get("latest_authorization_status") == filters.authorization_status
        )
    )


def filter_patients(body: Any) -> Item:
    """POST /patients/filter: filters combine with AND; sort by a whitelisted field.

    The most selective index drives the read (search, provider, status, else every patient
    by name). Name order with only that index's filter reads just the page; any other sort
    or filter reads the driving partition whole (its cost is in the README).
    """
    if not isinstance(body, dict):
        raise ApiError(422, "Request body must be a JSON object")
    try:
        request = PatientFilterRequest.model_validate(body)
    except ValidationError as exc:
        raise invalid_body(None, exc) from None
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
    return {
        "patients": [patient_summary(p) for p in items[start : start + per_page]],
        "pagination": {
            "current_page": page,
            "total_pages": math.ceil(total / per_page) if total else 0,
            "total_count": total,
            "per_page": per_page,
        },
    }


def _run_filter(request: PatientFilterRequest) -> Item:
    """One index drives the read; the rest of the filters and the sort run on its items.

    Name order with only the driving index's own filter reads just the items up to the page
    and takes total_count from its counter; a search in its own order with no filter reads
    index entries up to the page, the page's items, and counts the matching entries
    (``_search_page``). Anything else reads the driving partition (or every search match)
    whole: the cost the README's access-pattern table states.
    """
    filters = request.filters
    given = {k for k, v in filters.model_dump().items() if v is not None}
    term = " ".join((request.search or "").lower().split())
    driving = next((d for d in DRIVING_INDEXES if getattr(filters, d[0]) is not None), None)
    index, value, counter = (
        (driving[1], getattr(filters, driving[0]), f"count#{driving[2]}#")
        if driving
        else (Patient.by_name, PATIENT_KIND, "count#patient")
    )
    if driving:
        counter += str(value)
    name_order = request.sort_by == "name" and request.sort_dir == "ASC"
    if not term and name_order and given <= ({driving[0]} if driving else set()):
        wanted = request.page * request.per_page
        items = _query(index, value, wanted)
        total = read_counts([counter])[counter]
        return _page_body(items, total, request.page, request.per_page)
    if term and name_order and not given:
        items, total = _search_page(term, request.page, request.per_page)
        return _page_body(items, total, request.page, request.per_page, window=True)
    candidates = _search_matches(term) if term else _query(index, value, 10**9)
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


def parse_patient_id(raw: str) -> int:
    try:
        patient_id = int(raw)
    except ValueError:
        raise ApiError(404, NOT_FOUND) from None
    if patient_id < 1:
        raise ApiError(404, NOT_FOUND)
    return patient_id


def reindex_patients() -> dict[str, int]:
    """Rewrite every patient's derived index attributes from its data.

    For a stack whose items were written under an earlier index layout (the search
    partitions changed in issue #4): scans the table once and re-puts each patient whose
    derived attributes differ, conditionally on its version, so an update racing the
    rewrite is never overwritten (it is counted in ``changed_since`` and already carries
    the new attributes, since every writer calls ``with_index_fields``).
    """
    counts = Counter({"rewritten": 0, "unchanged": 0, "changed_since": 0})
    for model in Patient.scan():
        stored = as_dict(model)
        rebuilt = with_index_fields(dict(stored))
        if rebuilt == stored:
            counts["unchanged"] += 1
            continue
        # The derived attributes only, conditional on the version read: the version stays
        # (the patient's data did not change), so this goes below the model's save().
        derived = {k for k in (*stored, *rebuilt) if stored.get(k) != rebuilt.get(k)}
        attributes = Patient.get_attributes()
        actions = [
            attributes[k].set(rebuilt[k]) if k in rebuilt else attributes[k].remove()
            for k in sorted(derived)
        ]
        version = stored.get("version")
        condition = (
            Patient.version.does_not_exist() if version is None else (Patient.version == version)
        )
        try:
            Patient._get_connection().update_item(
                str(int(model.id)),
                actions=actions,
                condition=condition,  # N keys as text
            )
        except PynamoDBException as exc:
            if not condition_failed(exc):
                raise
            counts["changed_since"] += 1
        else:
            counts["rewritten"] += 1
    return dict(counts)


def load_patient(patient_id: int) -> Item:
    patient = get(Patient, patient_id)
    if patient is None:
        raise ApiError(404, NOT_FOUND)
    return patient


def _authorizations(patient_id: int) -> list[Item]:
    items = list(all_items(Authorization.by_patient.query(patient_id)))
    items.sort(key=lambda a: (a.get("decision_date") or "", a["id"]))
    return [
        {
            "id": a["id"],
            "auth_no": a["auth_no"],
            "auth_type": a.get("auth_type"),
            "authorization_type": a.get("authorization_type"),
            "status": a.get("status"),
            "start_date": a.get("start_date"),
            "expiration_date": a.get("expiration_date"),
        }
        for a in items
    ]


def patient_detail_body(patient: Item) -> Item:
    address = patient.get("address") or {}
    eligibility = patient.get("eligibility") or {}
    return {
        "patient": {
            "id": patient["id"],
            "name": patient.get("name"),
            "first_name": patient.get("first_name"),
            "last_name": patient.get("last_name"),
            "date_of_birth": patient.get("date_of_birth"),
            "gender": patient.get("gender"),
            "address": {
                "street": address.get("street"),
                "city": address.get("city"),
                "state": address.get("state"),
                "zip": address.get("zip"),
            },
            "phone": patient.get("phone"),
            "email": patient.get("email"),
            "services": patient.get("services") or [],
            "ecm_eligibility_information": {
                **_eligibility_summary(patient),
                "ecm_npi": eligibility.get("ecm_npi"),
                "created_at": eligibility.get("created_at"),
                "updated_at": eligibility.get("updated_at"),
            },
            "case_load": {"id": patient["id"], **_caseload_patient(patient)},
            "ecm_authorizations": _authorizations(int(patient["id"])),
            "ecm_status_history": patient.get("ecm_status_history") or [],
            "activities_count": int(patient.get("activities_count") or 0),
            "last_activity_at": patient.get("last_activity_at"),
            "version": patient.get("version"),
        }
    }


def record_audit(patient_id: int, user: Item, action: str) -> None:
    """Who read or changed which patient, and when (HIPAA access log)."""
    at = iso_timestamp()
    AuditEntry(
        patient_id,
        f"{at}#{uuid.uuid4().hex[:8]}",
        action=action,
        user_id=str(user.get("user_id")),
        user_name=user.get("name"),
        recorded_at=at,
    ).save()


def patient_detail(raw_id: str, user: Item) -> Item:
    patient = load_patient(parse_patient_id(raw_id))
    record_audit(int(patient["id"]), user, "read")
    return patient_detail_body(patient)


def list_audit(raw_id: str, query: dict[str, str] | None) -> Item:
    patient_id = parse_patient_id(raw_id)
    load_patient(patient_id)
    page = parse_positive_int(query, "page", 1, 10**6)
    per_page = parse_positive_int(query, "per_page", 25, 100)
    newest_first = AuditEntry.query(patient_id, scan_index_forward=False, limit=page * per_page)
    entries = list(all_items(newest_first))
    window = entries[(page - 1) * per_page :]
    return {
        "audit_entries": [
            {
                "patient_id": e["patient_id"],
                "action": e["action"],
                "user_id": e["user_id"],
                "user_name": e.get("user_name"),
                "at": e["recorded_at"],
            }
            for e in window
        ]
    }


# --- updating -----------------------------------------------------------------------------


class EligibilityUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    acuity_level: AcuityField = None
    member_record_status: MemberStatusField = None


class PatientUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: str | None = None
    ecm_eligibility_information: EligibilityUpdate | None = None

    @field_validator("first_name", "last_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise ValueError("can't be blank")
        if value is not None and len(value) > 255:
            raise ValueError("is longer than 255 characters")
        return value

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a date in YYYY-MM-DD format") from None
        if len(value) != 10:
            raise ValueError("must be a date in YYYY-MM-DD format")
        if parsed > date.today():
            raise ValueError("can't be in the future")
        return value


def _move_name_key(
    writes: TransactWrite, old: str | None, new: str | None, patient_id: int
) -> None:
    """Move a patient between name keys in ``writes`` (matching stays right), each write
    conditional on the key's version as read."""
    if old == new:
        return
    for key, add in ((old, False), (new, True)):
        if not key:
            continue
        current = get(PatientKey, key)
        ids = [int(i) for i in (current or {}).get("patient_ids", [])]
        ids = [*ids, patient_id] if add and patient_id not in ids else ids
        if not add:
            ids = [i for i in ids if i != patient_id]
        version = int((current or {}).get("version", 0))
        if ids:
            item = {"key": key, "patient_ids": ids, "version": version + 1, "last_import": "api"}
            put_versioned(writes, PatientKey, item)
        elif current:
            writes.delete(as_model(PatientKey, current))


def update_patient(raw_id: str, body: Any, user: Item) -> Item:
    """Apply a PUT; a concurrent change between our read and write is a 409, never lost."""
    patient_id = parse_patient_id(raw_id)
    if not isinstance(body, dict) or not isinstance(body.get("patient"), dict):
        raise ApiError(422, "Request body must be a JSON object with a 'patient' object")
    try:
        change = PatientUpdate.model_validate(body["patient"])
    except ValidationError as exc:
        raise invalid_body("patient", exc) from None
    prior = load_patient(patient_id)
    now = iso_timestamp()
    patient = {**prior, "eligibility": dict(prior.get("eligibility") or {})}
    for field in ("first_name", "last_name", "date_of_birth"):
        value = getattr(change, field)
        if value is not None:
            patient[field] = value
    patient["name"] = f"{patient['first_name']} {patient['last_name']}"
    eligibility = patient["eligibility"]
    history = list(patient.get("ecm_status_history") or [])
    if change.ecm_eligibility_information is not None:
        update = change.ecm_eligibility_information
        if update.acuity_level is not None:
            eligibility["acuity_level"] = update.acuity_level
        status = update.member_record_status
        if status is not None and status != eligibility.get("member_record_status"):
            eligibility["member_record_status"] = status
            _, history_id = next_ids("status_history")
            history.append(
                {
                    "id": history_id,
                    "status": status,
                    "changed_at": now,
                    "changed_by": user.get("name") or f"user {user.get('user_id')}",
                }
            )
        eligibility["updated_at"] = now
    patient["ecm_status_history"] = history
    patient["updated_at"] = now
    patient["version"] = int(prior.get("version", 0)) + 1
    patient["last_import"] = "api"
    with_index_fields(patient)
    deltas: Counter[str] = Counter()
    add_deltas(deltas, prior, patient)
    try:
        with transaction() as writes:
            put_versioned(writes, Patient, patient)
            _move_name_key(
                writes,
                patient_name_key(prior),
                name_key(patient["first_name"], patient["last_name"], patient.get("date_of_birth")),
                patient_id,
            )
            add_count_updates(writes, dict(deltas))
    except PynamoDBException as exc:
        if condition_failed(exc):
            raise ApiError(
                409, "Patient was changed by someone else since it was read; reload and retry"
            ) from None
        raise
    record_audit(patient_id, user, "update")
    return patient_detail_body(patient)
