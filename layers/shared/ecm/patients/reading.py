"""One patient by id, and the summaries every patient response shares (docs/api/patients.md)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pynamodb.exceptions import PynamoDBException
from pynamodb.transactions import TransactWrite

from ecm.api.params import parse_id
from ecm.errors import ApiError
from ecm.models import Patient
from ecm.models.access import batch_read, condition_failed, get, transaction
from ecm.models.partitions import first_entries
from ecm.patients.index_fields import shard_keys

Item = dict[str, Any]
NOT_FOUND = "Patient not found"


def patients_by_id(ids: list[int]) -> list[Item]:
    """The full items of ``ids``, in that order (BatchGetItem, 100 a call); an id whose item
    is gone (deleted since an index listed it) is left out. The ids come from an index,
    which DynamoDB updates after the table, so the items are read eventually consistent
    too: half the read units of a consistent read, and no less fresh than the list."""
    by_id = {int(item["id"]): item for item in batch_read(Patient, ids, consistent=False)}
    return [by_id[i] for i in ids if i in by_id]


def plan_member_ids(plan: str) -> list[int]:
    """The plan's members, in id order: the plan's list merged from its shards (keys only;
    the index is eventually consistent, so a caller that acts on one reads its item)."""
    entries = first_entries(Patient.by_plan, shard_keys(plan), lambda e: int(e["id"]), None)
    return [int(entry["id"]) for entry in entries]


def eligibility_summary(patient: Item) -> Item:
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
        "plan": elig.get("plan"),
        "in_latest_mif": in_latest_mif(elig),
        "dropped_in_mif_file_id": elig.get("dropped_in_mif_file_id"),
    }


def in_latest_mif(eligibility: Item) -> bool:
    """False only for a member its plan's latest MIF left out (ecm.kinds.mif.changes)."""
    return eligibility.get("in_latest_mif") is not False


def caseload_summary(patient: Item, provider_names: Mapping[int, str]) -> Item:
    """The case load, its provider named as the directory names it now (``provider_names``,
    from ``ecm.patients.providers.provider_names``): a provider's rename shows on every
    patient at once without rewriting one. The name stored at assignment is the fallback
    for a provider no longer in the directory."""
    case_load = patient.get("case_load") or {}
    provider_id = case_load.get("provider_id")
    stored_name = case_load.get("provider_name")
    return {
        "provider_id": provider_id,
        "provider_name": (
            stored_name
            if provider_id is None
            else provider_names.get(int(provider_id), stored_name)
        ),
        "olcm_user_id": case_load.get("olcm_user_id"),
        "olcm_name": case_load.get("olcm_name"),
        "ilcm_user_id": case_load.get("ilcm_user_id"),
        "ilcm_name": case_load.get("ilcm_name"),
    }


def case_load_provider_ids(patients: list[Item]) -> list[int | None]:
    """The provider id of each patient's case load (None: no provider)."""
    return [(p.get("case_load") or {}).get("provider_id") for p in patients]


def parse_patient_id(raw: str) -> int:
    return parse_id(raw, NOT_FOUND)


def load_patient(patient_id: int) -> Item:
    patient = get(Patient, patient_id)
    if patient is None:
        raise ApiError(404, NOT_FOUND)
    return patient


CHANGED_SINCE_READ = "Patient was changed by someone else since it was read; reload and retry"


@contextmanager
def patient_change() -> Iterator[TransactWrite]:
    """The transaction of one change to a patient (its item, keys and counts together): a
    write whose version check fails means someone changed it meanwhile, answered 409."""
    try:
        with transaction() as writes:
            yield writes
    except PynamoDBException as exc:
        if condition_failed(exc):
            raise ApiError(409, CHANGED_SINCE_READ) from None
        raise
