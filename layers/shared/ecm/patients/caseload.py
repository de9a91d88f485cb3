"""Case loads: ECM providers, care managers (OLCM / ILCM users), and who holds each patient.

Imports assign the provider (docs/using/patients.md); an admin assigns or clears the provider and
the two care managers here. A change moves the patient between the provider/OLCM/ILCM lists, so it
commits with its count deltas in one transaction, conditional on the version it read.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from pydantic import Field
from pynamodb.expressions.update import Action

from ecm.api.auth import create_user
from ecm.api.params import parse_id
from ecm.api.schemas import PersonName, RequestBody, text_limits
from ecm.clock import iso_timestamp
from ecm.errors import ApiError
from ecm.kinds.values import MAX_EMAIL, normalize_email, normalize_phone, person_name
from ecm.log import logger
from ecm.models import Patient, Provider, User
from ecm.models.access import all_items, get, put_versioned
from ecm.models.versions import versioned
from ecm.patients.audit import record_audit
from ecm.patients.counts import add_count_updates, add_deltas
from ecm.patients.detail import patient_detail_body
from ecm.patients.index_fields import with_index_fields
from ecm.patients.providers import (
    PROVIDER_NOT_FOUND,
    ProviderChange,
    ProviderChanged,
    ProviderExists,
    ProviderNotFound,
    create_provider,
    list_providers,
    provider_view,
    update_provider,
)
from ecm.patients.reading import load_patient, parse_patient_id, patient_change

Item = dict[str, Any]
CARE_MANAGER_ROLES = ("olcm", "ilcm")
CARE_MANAGER_FIELDS = ["id", "name", "role", "phone", "email"]
CARE_MANAGER_NOT_FOUND = "Care manager not found"


#: A care manager's email in a request; blank clears it as null does.
Email = Annotated[str, text_limits(MAX_EMAIL, blank=True)]


class ProviderBody(RequestBody):
    name: PersonName
    npi: str | None = None


class ProviderUpdate(RequestBody):
    """The fields to change; a null or empty NPI clears it."""

    name: PersonName | None = None
    npi: str | None = None
    version: int | None = Field(
        None,
        ge=0,
        description="The provider's version as read; when it has changed since → 409",
    )


def _contact(field: str, value: str | None) -> str | None:
    """A care manager's phone (stored +1 and 10 digits) or email, checked; None clears."""
    normalise = normalize_phone if field == "phone" else normalize_email
    try:
        return normalise(value) if value is not None else None
    except ValueError as exc:
        raise ApiError(422, f"care_manager.{field} {exc}") from None


class CareManagerBody(RequestBody):
    name: PersonName
    role: str
    phone: str | None = Field(None, description="10 digits; the return files' lead care manager")
    email: Email | None = None


class CareManagerUpdate(RequestBody):
    """The fields to change; a null phone or email clears it."""

    name: PersonName | None = None
    phone: str | None = None
    email: Email | None = None


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


def edit_provider(raw_id: str, request: ProviderUpdate) -> Item:
    """PUT /providers/{id}. A patient's case load shows the provider's current name (read
    when shown), so nothing else is written."""
    provider_id = parse_id(raw_id, PROVIDER_NOT_FOUND)
    given = request.model_fields_set
    if "name" in given and request.name is None:
        raise ApiError(422, "provider: Provider name can't be blank")
    change = ProviderChange(
        name=request.name,
        npi=request.npi,
        npi_given="npi" in given,
        version=request.version,
    )
    try:
        provider = update_provider(provider_id, change)
    except ProviderNotFound:
        raise ApiError(404, PROVIDER_NOT_FOUND) from None
    except ProviderChanged as exc:
        raise ApiError(409, str(exc)) from None
    except ProviderExists as exc:
        raise ApiError(409, f"provider: {exc}") from None
    except ValueError as exc:
        raise ApiError(422, f"provider: {exc}") from None
    return {"provider": provider}


def providers() -> Item:
    return {"providers": [provider_view(p) for p in list_providers()]}


def add_care_manager(request: CareManagerBody) -> Item:
    """A care manager is a user with the olcm or ilcm role; the token is shown once."""
    if request.role not in CARE_MANAGER_ROLES:
        raise ApiError(422, "care_manager.role must be one of olcm, ilcm")
    contact = {f: _contact(f, getattr(request, f)) for f in ("phone", "email")}
    try:
        user, token = create_user(
            request.name, request.role, phone=contact["phone"], email=contact["email"]
        )
    except ValueError as exc:
        raise ApiError(422, f"care_manager.{exc}") from None
    return {"care_manager": care_manager_body(user), "token": token}


def care_manager_body(user: Item) -> Item:
    return {k: user.get(k) for k in CARE_MANAGER_FIELDS}


def care_manager_users() -> list[Item]:
    """Every care manager, in id order (a scan: there are few users)."""
    found = User.scan(User.role.is_in(*CARE_MANAGER_ROLES), attributes_to_get=CARE_MANAGER_FIELDS)
    return sorted(all_items(found), key=lambda u: int(u["id"]))


def care_managers() -> Item:
    return {"care_managers": [care_manager_body(u) for u in care_manager_users()]}


def update_care_manager(raw_id: str, request: CareManagerUpdate) -> Item:
    """PUT /care_managers/{id}: the name, phone or email given (null clears phone or email).
    A patient's case load keeps the name it was assigned with until it is assigned again."""
    found = _user(parse_id(raw_id, CARE_MANAGER_NOT_FOUND))
    if found is None or found.get("role") not in CARE_MANAGER_ROLES:
        raise ApiError(404, CARE_MANAGER_NOT_FOUND)
    user = get(User, found["token_hash"])
    if user is None:
        raise ApiError(404, CARE_MANAGER_NOT_FOUND)
    given = request.model_fields_set
    actions: list[Action] = []
    if "name" in given:
        try:
            name = person_name(request.name or "")
        except ValueError as exc:
            raise ApiError(422, f"care_manager.name {exc}") from None
        if not name:
            raise ApiError(422, "care_manager.name can't be blank")
        user["name"] = name
        actions.append(User.name.set(name))
    for field in ("phone", "email"):
        if field in given:
            value = _contact(field, getattr(request, field))
            user[field] = value
            attribute = User.phone if field == "phone" else User.email
            actions.append(attribute.remove() if value is None else attribute.set(value))
    if actions:
        User(user["token_hash"]).update(
            actions=actions, condition=User.token_hash.exists() & (User.id == user["id"])
        )
        logger.info("care manager updated", extra={"user_id": user["id"], "fields": sorted(given)})
    return {"care_manager": care_manager_body(user)}


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
    versioned(patient, prior)
    patient["last_import"] = "api"
    with_index_fields(patient)
    deltas: Counter[str] = Counter()
    add_deltas(deltas, prior, patient)
    with patient_change() as writes:
        put_versioned(writes, Patient, patient, prior)
        add_count_updates(writes, dict(deltas))
    record_audit(patient_id, user, "case_load")
    return patient_detail_body(patient)
