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

from botocore.exceptions import ClientError
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, field_validator

from ecm.authorization import AuthorizationStatus
from ecm.clock import iso_timestamp
from ecm.counts import add_deltas, count_updates, read_counts
from ecm.errors import ApiError, invalid_body
from ecm.imports.api import parse_positive_int
from ecm.member_status import MEMBER_STATUSES
from ecm.patients import (
    SEARCH_INDEXES,
    name_key,
    patient_name_key,
    search_partitions,
    with_index_fields,
)
from ecm.settings import get_settings
from ecm.store import (
    batch_get,
    client,
    from_item,
    get_item,
    is_conditional_failure,
    next_ids,
    to_attr,
    to_item,
)
from ecm.values import ACUITY_LEVELS

Item = dict[str, Any]
NOT_FOUND = "Patient not found"


# --- reading ------------------------------------------------------------------------------


def _query(index: str, key: str, value: Any, wanted: int) -> tuple[list[Item], bool]:
    """The first ``wanted`` items of one index partition, in name order."""
    ddb = client("dynamodb")
    items: list[Item] = []
    args: dict[str, Any] = {
        "TableName": get_settings().patients_table,
        "IndexName": index,
        "KeyConditionExpression": "#k = :v",
        "ExpressionAttributeNames": {"#k": key},
        "ExpressionAttributeValues": {":v": to_attr(value)},
    }
    while len(items) < wanted:
        response = ddb.query(**args, Limit=wanted - len(items))
        items.extend(from_item(i) for i in response["Items"])
        if "LastEvaluatedKey" not in response:
            return items, False
        args["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return items, True


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


def _search_args(name: str, partition: str, term: str) -> dict[str, Any]:
    return {
        "TableName": get_settings().patients_table,
        "IndexName": f"search-{name}-index",
        "KeyConditionExpression": "#p = :p AND begins_with(#s, :t)",
        "ExpressionAttributeNames": {"#p": f"search_{name}_p", "#s": f"search_{name}"},
        "ExpressionAttributeValues": {":p": to_attr(partition), ":t": to_attr(term)},
    }


def _count_partition(ddb: Any, name: str, partition: str, term: str) -> tuple[int, int]:
    """(patients counted, entries matching) of one index partition for a folded term.

    An entry counts when this field is the first of the patient's fields (SEARCH_INDEXES
    order) the term matches (``search_<f>_from``, see ecm.patients.search_fields), so the
    sum over the indexes counts every matching patient once. Select=COUNT: DynamoDB reads
    the keys-only entries and returns two numbers.
    """
    args = _search_args(name, partition, term)
    args["ExpressionAttributeNames"]["#f"] = f"search_{name}_from"
    args["ExpressionAttributeValues"][":n"] = to_attr(len(term))
    counted = entries = 0
    while True:
        response = ddb.query(**args, Select="COUNT", FilterExpression="#f <= :n")
        counted += int(response["Count"])
        entries += int(response["ScannedCount"])
        if "LastEvaluatedKey" not in response:
            return counted, entries
        args["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _first_entries(
    ddb: Any, name: str, partitions: list[str], term: str, wanted: int | None
) -> list[tuple[str, int]]:
    """The first ``wanted`` (every, for None) matching entries of one index, as (range key,
    patient id) in key order: partitions are read in order, each only as far as needed."""
    found: list[tuple[str, int]] = []
    for partition in partitions:
        args = _search_args(name, partition, term)
        args["ProjectionExpression"] = "#s, #id"
        args["ExpressionAttributeNames"]["#id"] = "id"
        while wanted is None or len(found) < wanted:
            limit = {} if wanted is None else {"Limit": wanted - len(found)}
            response = ddb.query(**args, **limit)
            found.extend(
                (str(raw[f"search_{name}"]["S"]), int(raw["id"]["N"])) for raw in response["Items"]
            )
            if "LastEvaluatedKey" not in response:
                break
            args["ExclusiveStartKey"] = response["LastEvaluatedKey"]
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
    found = batch_get(get_settings().patients_table, ({"id": {"N": str(i)}} for i in ids))
    by_id = {int(raw["id"]["N"]): raw for raw in found}
    return [from_item(by_id[i]) for i in ids if i in by_id]


def _search_page(term: str, page: int, per_page: int) -> tuple[list[Item], int]:
    """One page of a search in its default order, and the exact ``total_count``.

    The search indexes project keys only (and ``search_<f>_from``). The count reads the
    matching entries of every index with Select=COUNT, deduplicated by ``_from``. The page
    reads at most page·per_page entries per index (a patient in the first page·per_page
    results has its smallest key among the first page·per_page entries of its index, one
    entry per patient in each), skipping partitions the count found empty, merges them and
    reads the full items of that page only.
    """
    ddb = client("dynamodb")
    partitions = search_partitions(term)
    cells = [(name, partition) for name in SEARCH_INDEXES for partition in partitions]
    counts = _parallel([partial(_count_partition, ddb, name, part, term) for name, part in cells])
    total = sum(counted for counted, _ in counts)
    start, wanted = (page - 1) * per_page, page * per_page
    if start >= total:
        return [], total
    occupied = {cell for cell, (_, entries) in zip(cells, counts, strict=True) if entries}
    lists = _parallel(
        [
            partial(
                _first_entries,
                ddb,
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
    ddb = client("dynamodb")
    partitions = search_partitions(term)
    lists = _parallel(
        [partial(_first_entries, ddb, name, partitions, term, None) for name in SEARCH_INDEXES]
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


#: Indexes that drive a list, most selective first: (filter field, index, key, counter name).
DRIVING_INDEXES = (
    ("provider_id", "provider-index", "provider_id", "provider"),
    ("olcm_user_id", "olcm-index", "olcm_user_id", "olcm"),
    ("ilcm_user_id", "ilcm-index", "ilcm_user_id", "ilcm"),
    ("status", "status-index", "member_record_status", "status"),
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
    index, key, value, counter = (
        (driving[1], driving[2], getattr(filters, driving[0]), f"count#{driving[3]}#")
        if driving
        else ("name-index", "kind", "patient", "count#patient")
    )
    if driving:
        counter += str(value)
    name_order = request.sort_by == "name" and request.sort_dir == "ASC"
    if not term and name_order and given <= ({driving[0]} if driving else set()):
        wanted = request.page * request.per_page
        items, _ = _query(index, key, value, wanted)
        total = read_counts([counter])[counter]
        return _page_body(items, total, request.page, request.per_page)
    if term and name_order and not given:
        items, total = _search_page(term, request.page, request.per_page)
        return _page_body(items, total, request.page, request.per_page, window=True)
    candidates = _search_matches(term) if term else _query(index, key, value, 10**9)[0]
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
    ddb = client("dynamodb")
    table = get_settings().patients_table
    counts = Counter({"rewritten": 0, "unchanged": 0, "changed_since": 0})
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        for raw in page["Items"]:
            rebuilt = to_item(with_index_fields(from_item(raw)))
            if rebuilt == raw:
                counts["unchanged"] += 1
                continue
            condition: dict[str, Any] = (
                {
                    "ConditionExpression": "#v = :v",
                    "ExpressionAttributeValues": {":v": raw["version"]},
                }
                if "version" in raw
                else {"ConditionExpression": "attribute_not_exists(#v)"}
            )
            try:
                ddb.put_item(
                    TableName=table,
                    Item=rebuilt,
                    ExpressionAttributeNames={"#v": "version"},
                    **condition,
                )
            except ClientError as exc:
                if not is_conditional_failure(exc):
                    raise
                counts["changed_since"] += 1
            else:
                counts["rewritten"] += 1
    return dict(counts)


def load_patient(patient_id: int) -> Item:
    patient = get_item(get_settings().patients_table, {"id": patient_id})
    if patient is None:
        raise ApiError(404, NOT_FOUND)
    return patient


def _authorizations(patient_id: int) -> list[Item]:
    response = client("dynamodb").query(
        TableName=get_settings().authorizations_table,
        IndexName="patient_id-index",
        KeyConditionExpression="patient_id = :p",
        ExpressionAttributeValues={":p": to_attr(patient_id)},
    )
    items = [from_item(i) for i in response["Items"]]
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
    client("dynamodb").put_item(
        TableName=get_settings().audit_table,
        Item=to_item(
            {
                "patient_id": patient_id,
                "at": f"{at}#{uuid.uuid4().hex[:8]}",
                "action": action,
                "user_id": str(user.get("user_id")),
                "user_name": user.get("name"),
                "recorded_at": at,
            }
        ),
    )


def patient_detail(raw_id: str, user: Item) -> Item:
    patient = load_patient(parse_patient_id(raw_id))
    record_audit(int(patient["id"]), user, "read")
    return patient_detail_body(patient)


def list_audit(raw_id: str, query: dict[str, str] | None) -> Item:
    patient_id = parse_patient_id(raw_id)
    load_patient(patient_id)
    page = parse_positive_int(query, "page", 1, 10**6)
    per_page = parse_positive_int(query, "per_page", 25, 100)
    ddb = client("dynamodb")
    args: dict[str, Any] = {
        "TableName": get_settings().audit_table,
        "KeyConditionExpression": "patient_id = :p",
        "ExpressionAttributeValues": {":p": to_attr(patient_id)},
        "ScanIndexForward": False,
    }
    entries: list[Item] = []
    while len(entries) < page * per_page:
        response = ddb.query(**args, Limit=page * per_page - len(entries))
        entries.extend(from_item(i) for i in response["Items"])
        if "LastEvaluatedKey" not in response:
            break
        args["ExclusiveStartKey"] = response["LastEvaluatedKey"]
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


def _name_key_writes(old: str | None, new: str | None, patient_id: int) -> list[Item]:
    """Transaction items that move a patient between name keys (matching stays right)."""
    if old == new:
        return []
    table = get_settings().patient_keys_table
    writes: list[Item] = []
    for key, add in ((old, False), (new, True)):
        if not key:
            continue
        current = get_item(table, {"key": key})
        ids = [int(i) for i in (current or {}).get("patient_ids", [])]
        ids = [*ids, patient_id] if add and patient_id not in ids else ids
        if not add:
            ids = [i for i in ids if i != patient_id]
        version = int((current or {}).get("version", 0))
        condition: Item
        if current:
            condition = {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": to_attr(version)},
            }
        else:
            condition = {
                "ConditionExpression": "attribute_not_exists(#k)",
                "ExpressionAttributeNames": {"#k": "key"},
            }
        if ids:
            item = {"key": key, "patient_ids": ids, "version": version + 1, "last_import": "api"}
            writes.append({"Put": {"TableName": table, "Item": to_item(item), **condition}})
        elif current:
            writes.append(
                {"Delete": {"TableName": table, "Key": to_item({"key": key}), **condition}}
            )
    return writes


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
            _, history_id = next_ids(
                get_settings().meta_table, {"pk": "counter#status_history"}, "value", 1
            )
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
    writes = [
        {
            "Put": {
                "TableName": get_settings().patients_table,
                "Item": to_item(patient),
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": to_attr(int(prior.get("version", 0)))},
            }
        },
        *_name_key_writes(
            patient_name_key(prior),
            name_key(patient["first_name"], patient["last_name"], patient.get("date_of_birth")),
            patient_id,
        ),
    ]
    deltas: Counter[str] = Counter()
    add_deltas(deltas, prior, patient)
    writes += count_updates(dict(deltas))
    try:
        client("dynamodb").transact_write_items(TransactItems=writes)
    except ClientError as exc:
        if is_conditional_failure(exc):
            raise ApiError(
                409, "Patient was changed by someone else since it was read; reload and retry"
            ) from None
        raise
    record_audit(patient_id, user, "update")
    return patient_detail_body(patient)
