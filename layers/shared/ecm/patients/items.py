"""Patient items and the lookup keys that let imports match rows without a scan.

A patient is one item (demographics, its ECM eligibility record, its case load). Matching
keys live in the patient-keys table: ``member#<CIN>`` → one patient, and
``name#<first>|<last>|<dob>`` → the patients with that name and date of birth.
"""

from __future__ import annotations

from typing import Any

from ecm.models.versions import next_version
from ecm.patients.index_fields import fold, with_index_fields

Item = dict[str, Any]


def member_key(member_id: str) -> str:
    return "member#" + member_id.strip().upper()


def name_key(first: str | None, last: str | None, dob: str | None) -> str | None:
    """Case- and whitespace-insensitive name + date of birth; no key without a DOB."""
    if not dob:
        return None
    return f"name#{fold(first)}|{fold(last)}|{dob}"


def patient_name_key(patient: Item) -> str | None:
    return name_key(
        patient.get("first_name"), patient.get("last_name"), patient.get("date_of_birth")
    )


def _pick(new: Any, old: Any) -> Any:
    return old if new is None else new


def build_patient(
    prior: Item | None,
    record: Item,
    patient_id: int,
    eligibility_id: int,
    file_id: int,
    provider: Item | None,
    import_tag: str,
    now: str,
    plan: str | None = None,
) -> Item:
    """The patient item after this MIF row: new values win, blanks keep what was known
    (a file that names no plan keeps the plan a member came from)."""
    old = prior or {}
    old_address = old.get("address") or {}
    old_elig = old.get("eligibility") or {}
    first, last = record["first_name"], record["last_name"]
    eligibility = {
        **old_elig,  # what the API keeps there (enrollment dates, discontinuation)
        "id": eligibility_id,
        "member_id": record["member_id"],
        "cin": _pick(record.get("cin"), old_elig.get("cin")),
        "ecm_service_auth_id": _pick(
            record.get("ecm_service_auth_id"), old_elig.get("ecm_service_auth_id")
        ),
        "ecm_provider_name": _pick(
            record.get("ecm_provider_name"), old_elig.get("ecm_provider_name")
        ),
        "ecm_npi": _pick(record.get("ecm_npi"), old_elig.get("ecm_npi")),
        "ecm_benefit_auth_eff_date": _pick(
            record.get("ecm_benefit_auth_eff_date"), old_elig.get("ecm_benefit_auth_eff_date")
        ),
        "ecm_benefit_auth_end_date": _pick(
            record.get("ecm_benefit_auth_end_date"), old_elig.get("ecm_benefit_auth_end_date")
        ),
        "acuity_level": _pick(record.get("acuity_level"), old_elig.get("acuity_level")),
        "member_record_status": old_elig.get("member_record_status") or "new_member",
        "mif_file_id": file_id,
        "plan": _pick(plan, old_elig.get("plan")),
        "created_at": old_elig.get("created_at") or now,
        "updated_at": now,
    }
    case_load = old.get("case_load")
    if provider is not None:
        case_load = {
            **(case_load or {}),
            "provider_id": provider["id"],
            "provider_name": provider["name"],
        }
    return with_index_fields(
        {
            **old,  # attributes other imports own (status history, approved authorizations)
            "id": patient_id,
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",
            "date_of_birth": _pick(record.get("date_of_birth"), old.get("date_of_birth")),
            "gender": _pick(record.get("gender"), old.get("gender")),
            "address": {
                "street": _pick(record.get("address"), old_address.get("street")),
                "city": _pick(record.get("city"), old_address.get("city")),
                "state": _pick(record.get("state"), old_address.get("state")),
                "zip": _pick(record.get("zip"), old_address.get("zip")),
            },
            "phone": _pick(record.get("phone"), old.get("phone")),
            "email": old.get("email"),
            "services": old.get("services") or ["ecm"],
            "eligibility": eligibility,
            "case_load": case_load,
            "created_at": old.get("created_at") or now,
            "updated_at": now,
            "version": next_version(old),
            "last_import": import_tag,
        }
    )


def eligibility_snapshot(patient: Item) -> Item:
    """What a MIF file's detail lists for one row, frozen at import time."""
    elig = patient["eligibility"]
    return {
        "id": elig["id"],
        "patient_id": patient["id"],
        "patient_name": patient["name"],
        "member_id": elig["member_id"],
        "cin": elig["cin"],
        "first_name": patient["first_name"],
        "last_name": patient["last_name"],
        "dob": patient["date_of_birth"],
        "ecm_service_auth_id": elig["ecm_service_auth_id"],
        "ecm_provider_name": elig["ecm_provider_name"],
        "member_record_status": elig["member_record_status"],
        "created_at": elig["created_at"],
        "updated_at": elig["updated_at"],
    }
