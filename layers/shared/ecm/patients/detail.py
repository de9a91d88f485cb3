"""A patient's detail (docs/api/patients.md): demographics, eligibility, case load, authorizations
and status history; every read is audited."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ecm.models import Authorization
from ecm.models.access import all_items
from ecm.patients.audit import record_audit
from ecm.patients.reading import (
    Item,
    caseload_summary,
    eligibility_summary,
    load_patient,
    parse_patient_id,
)
from ecm.patients.referrals import referral_view


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


def patient_detail_body(patient: Item, authorizations: list[Item] | None = None) -> Item:
    """GET /patients/{id}'s body (``authorizations``: the patient's, when already read)."""
    if authorizations is None:
        authorizations = _authorizations(int(patient["id"]))
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
                **eligibility_summary(patient),
                "ecm_npi": eligibility.get("ecm_npi"),
                "ecm_enrollment_start_date": eligibility.get("ecm_enrollment_start_date"),
                "ecm_enrollment_end_date": eligibility.get("ecm_enrollment_end_date"),
                "discontinuation_reason": eligibility.get("discontinuation_reason"),
                "discontinuation_date": eligibility.get("discontinuation_date"),
                "referral": referral_view(patient),
                "created_at": eligibility.get("created_at"),
                "updated_at": eligibility.get("updated_at"),
                "plan_fields": dict(eligibility.get("plan_fields") or {}),
            },
            "case_load": {"id": patient["id"], **caseload_summary(patient)},
            "ecm_authorizations": authorizations,
            "ecm_status_history": patient.get("ecm_status_history") or [],
            "activities_count": int(patient.get("activities_count") or 0),
            "last_activity_at": patient.get("last_activity_at"),
            "version": patient.get("version"),
        }
    }


#: Authorization queries in flight at once for many patients' details.
AUTHORIZATION_READERS = 8


def patient_details(patients: list[Item]) -> list[Item]:
    """Many patients as GET /patients/{id} shows each (one query per patient for its
    authorizations, ``AUTHORIZATION_READERS`` at once)."""
    with ThreadPoolExecutor(max_workers=AUTHORIZATION_READERS) as pool:
        found = list(pool.map(_authorizations, [int(p["id"]) for p in patients]))
    return [
        patient_detail_body(patient, auths)["patient"]
        for patient, auths in zip(patients, found, strict=True)
    ]


def patient_detail(raw_id: str, user: Item) -> Item:
    patient = load_patient(parse_patient_id(raw_id))
    record_audit(int(patient["id"]), user, "read")
    return patient_detail_body(patient)
