"""Case loads: ECM providers, care managers (OLCM / ILCM users), and who holds each patient.

Imports assign the provider (DESIGN.md); an admin assigns or clears the provider and the two
care managers here. A change moves the patient between the provider/OLCM/ILCM lists, so it
commits with its count deltas in one transaction, conditional on the version it read.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ecm.api.auth import create_user
from ecm.api.schemas import RequestBody
from ecm.clock import iso_timestamp
from ecm.errors import ApiError
from ecm.models import Patient, Provider, User
from ecm.models.access import all_items, get, put_versioned
from ecm.patients.audit import record_audit
from ecm.patients.counts import add_count_updates, add_deltas
from ecm.patients.detail import patient_detail_body
from ecm.patients.items import with_index_fields
from ecm.patients.providers import ProviderExists, create_provider, list_providers
from ecm.patients.reading import load_patient, parse_patient_id, patient_change

Item = dict[str, Any]
CARE_MANAGER_ROLES = ("olcm", "ilcm")


class ProviderBody(RequestBody):
    name: str
    npi: str | None = None


class CareManagerBody(RequestBody):
    name: str
    role: str


class CaseLoadBody(RequestBody):
    provider_id: int | None = None
    olcm_user_id: int | None = None
    ilcm_user_id: int | None = None


def add_provider(request: ProviderBody) -> Item:
    try:
        provider = create_provider(request.name, request.npi)
    except ProviderExists as exc:
        raise ApiError(409, f"provider: {exc}") from None
    except ValueError as exc:
        raise ApiError(422, f"provider: {exc}") from None
    return {"provider": provider}


def providers() -> Item:
    return {"providers": list_providers()}


def add_care_manager(request: CareManagerBody) -> Item:
    """A care manager is a user with the olcm or ilcm role; the token is shown once."""
    if request.role not in CARE_MANAGER_ROLES:
        raise ApiError(422, "care_manager.role must be one of olcm, ilcm")
    try:
        user, token = create_user(request.name, request.role)
    except ValueError as exc:
        raise ApiError(422, f"care_manager.{exc}") from None
    return {
        "care_manager": {"id": user["id"], "name": user["name"], "role": user["role"]},
        "token": token,
    }


def care_managers() -> Item:
    found = User.scan(
        User.role.is_in(*CARE_MANAGER_ROLES), attributes_to_get=["id", "name", "role"]
    )
    users = [{k: u[k] for k in ("id", "name", "role") if k in u} for u in all_items(found)]
    return {"care_managers": sorted(users, key=lambda u: int(u["id"]))}


def _user(user_id: int) -> Item | None:
    return next(all_items(User.by_id.query(user_id, limit=1)), None)


def _care_manager(field: str, user_id: int | None, role: str) -> tuple[int | None, str | None]:
    if user_id is None:
        return None, None
    user = _user(user_id)
    if user is None or user.get("role") != role:
        raise ApiError(422, f"case_load.{field} {user_id} is not a care manager with role {role}")
    return user_id, str(user["name"])


def assign_case_load(raw_id: str, request: CaseLoadBody, user: Item) -> Item:
    """PUT /patients/{id}/case_load: the given fields are set (null clears them)."""
    patient_id = parse_patient_id(raw_id)
    raw = request.model_fields_set
    prior = load_patient(patient_id)
    case_load = dict(prior.get("case_load") or {})
    if "provider_id" in raw:
        if request.provider_id is None:
            case_load["provider_id"] = case_load["provider_name"] = None
        else:
            provider = get(Provider, request.provider_id)
            if provider is None:
                raise ApiError(422, f"case_load.provider_id {request.provider_id} does not exist")
            case_load["provider_id"], case_load["provider_name"] = provider["id"], provider["name"]
    for field, name_field, role in (
        ("olcm_user_id", "olcm_name", "olcm"),
        ("ilcm_user_id", "ilcm_name", "ilcm"),
    ):
        if field in raw:
            case_load[field], case_load[name_field] = _care_manager(
                field, getattr(request, field), role
            )
    patient = {**prior, "case_load": case_load, "updated_at": iso_timestamp()}
    patient["version"] = int(prior.get("version", 0)) + 1
    patient["last_import"] = "api"
    with_index_fields(patient)
    deltas: Counter[str] = Counter()
    add_deltas(deltas, prior, patient)
    with patient_change() as writes:
        put_versioned(writes, Patient, patient)
        add_count_updates(writes, dict(deltas))
    record_audit(patient_id, user, "case_load")
    return patient_detail_body(patient)
