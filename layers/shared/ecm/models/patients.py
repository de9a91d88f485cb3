"""The patients table and its lookup keys: what a patient item is, attribute by attribute.

A patient is one item: demographics, its ECM eligibility record, its case load, its status
history, and top-level attributes the indexes key on (``sort_name``, the sharded list keys,
the search fields), which ``ecm.patients.index_fields.with_index_fields`` derives from the
data on every write.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import (
    GlobalSecondaryIndex,
    IncludeProjection,
    KeysOnlyProjection,
)

from ecm.models.base import TableMeta, TableModel, register


class Address(MapAttribute[str, object]):
    street = UnicodeAttribute(null=True)
    city = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)
    zip = UnicodeAttribute(null=True)


class ReferralChange(MapAttribute[str, object]):
    """One entry of a referral's history: where it stood from ``status_date`` on."""

    status = UnicodeAttribute(null=True)
    status_date = UnicodeAttribute(null=True)
    closure_reason = UnicodeAttribute(null=True)
    changed_at = UnicodeAttribute(null=True)
    changed_by = UnicodeAttribute(null=True)


class Referral(MapAttribute[str, object]):
    """The member's referral to ECM, closed-loop (ecm.patients.referrals)."""

    received_date = UnicodeAttribute(null=True)
    received_from = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    status_date = UnicodeAttribute(null=True)
    closure_reason = UnicodeAttribute(null=True)
    history = ListAttribute(of=ReferralChange, null=True)


class Eligibility(MapAttribute[str, object]):
    """The member's ECM eligibility record (``ecm_eligibility_information``,
    docs/api/mif-imports.md)."""

    id = NumberAttribute(null=True)
    member_id = UnicodeAttribute(null=True)
    cin = UnicodeAttribute(null=True)
    ecm_service_auth_id = UnicodeAttribute(null=True)
    ecm_provider_name = UnicodeAttribute(null=True)
    ecm_npi = UnicodeAttribute(null=True)
    ecm_benefit_auth_eff_date = UnicodeAttribute(null=True)
    ecm_benefit_auth_end_date = UnicodeAttribute(null=True)
    acuity_level = UnicodeAttribute(null=True)
    member_record_status = UnicodeAttribute(null=True)
    mif_file_id = NumberAttribute(null=True)
    #: the health plan of the MIF that brought the member (ecm.plans)
    plan = UnicodeAttribute(null=True)
    #: the member's values as the MIFs that listed it last gave them, by MIF field, and
    #: whether the plan's latest MIF left it out (ecm.kinds.mif.changes)
    mif_values = MapAttribute[str, Any](null=True)
    in_latest_mif = BooleanAttribute(null=True)
    dropped_in_mif_file_id = NumberAttribute(null=True)
    #: the plan's MIF columns no field is known by: header -> text (ecm.kinds.mif.plan_fields)
    plan_fields = MapAttribute[str, str](null=True)
    # Set through the API (PUT /patients/{id}); the return files report them.
    ecm_enrollment_start_date = UnicodeAttribute(null=True)
    ecm_enrollment_end_date = UnicodeAttribute(null=True)
    discontinuation_reason = UnicodeAttribute(null=True)
    discontinuation_date = UnicodeAttribute(null=True)
    referral = Referral(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)


class CaseLoad(MapAttribute[str, object]):
    provider_id = NumberAttribute(null=True)
    provider_name = UnicodeAttribute(null=True)
    olcm_user_id = NumberAttribute(null=True)
    olcm_name = UnicodeAttribute(null=True)
    ilcm_user_id = NumberAttribute(null=True)
    ilcm_name = UnicodeAttribute(null=True)


class StatusChange(MapAttribute[str, object]):
    """One entry of ``ecm_status_history`` (docs/api/patients.md)."""

    id = NumberAttribute(null=True)
    status = UnicodeAttribute(null=True)
    changed_at = UnicodeAttribute(null=True)
    changed_by = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)  # a discontinuation reason, for terminated_member


class LatestAuthorization(MapAttribute[str, object]):
    auth_no = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    decision_date = UnicodeAttribute(null=True)


def _index(name: str, projection: object, **keys: object) -> GlobalSecondaryIndex[Patient]:
    """One index of the patients table: its name, projection and key attributes.

    pynamodb reads an index's attributes from its class body, so each is built with
    ``type`` (ten indexes, one shape).
    """
    meta = type("Meta", (), {"index_name": name, "projection": projection})
    index = type(f"Index_{name}", (GlobalSecondaryIndex,), {"Meta": meta, **keys})
    return index()  # type: ignore[no-any-return]


def _list(name: str, key: str, range_key: str = "sort_name") -> GlobalSecondaryIndex[Patient]:
    """A sharded patients list (ecm.patients.index_fields), keys only: a page merges the
    shards' entries, then reads the page's items (ecm.patients.listing)."""
    range_attribute = NumberAttribute if range_key == "id" else UnicodeAttribute
    return _index(
        name,
        KeysOnlyProjection(),
        **{key: UnicodeAttribute(hash_key=True), range_key: range_attribute(range_key=True)},
    )


def _search(field: str) -> GlobalSecondaryIndex[Patient]:
    """A prefix search over one field: keys and ``search_<f>_from`` only."""
    return _index(
        f"search-{field}-index",
        IncludeProjection([f"search_{field}_from"]),
        **{
            f"search_{field}_p": UnicodeAttribute(hash_key=True),
            f"search_{field}": UnicodeAttribute(range_key=True),
        },
    )


@register
class Patient(TableModel):
    resource = "PatientsTable"
    setting = "patients_table"

    class Meta(TableMeta):
        pass

    id = NumberAttribute(hash_key=True)
    sort_name = UnicodeAttribute(null=True)
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    date_of_birth = UnicodeAttribute(null=True)
    gender = UnicodeAttribute(null=True)
    address = Address(null=True)
    phone = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    services = ListAttribute(of=UnicodeAttribute, null=True)
    eligibility = Eligibility(null=True)
    case_load = CaseLoad(null=True)
    ecm_status_history = ListAttribute(of=StatusChange, null=True)
    approved_auth_nos = ListAttribute(of=UnicodeAttribute, null=True)
    latest_authorization = LatestAuthorization(null=True)
    latest_authorization_status = UnicodeAttribute(null=True)
    activities_count = NumberAttribute(null=True)
    last_activity_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    last_import = UnicodeAttribute(null=True)
    version = VersionAttribute(null=True)

    # What the indexes key on (ecm.patients.index_fields; sparse: absent when the value is).
    all_shard = UnicodeAttribute(null=True)
    status_shard = UnicodeAttribute(null=True)
    provider_shard = UnicodeAttribute(null=True)
    olcm_shard = UnicodeAttribute(null=True)
    ilcm_shard = UnicodeAttribute(null=True)
    plan_shard = UnicodeAttribute(null=True)
    search_name_p = UnicodeAttribute(null=True)
    search_name = UnicodeAttribute(null=True)
    search_name_from = NumberAttribute(null=True)
    search_last_p = UnicodeAttribute(null=True)
    search_last = UnicodeAttribute(null=True)
    search_last_from = NumberAttribute(null=True)
    search_member_p = UnicodeAttribute(null=True)
    search_member = UnicodeAttribute(null=True)
    search_member_from = NumberAttribute(null=True)
    search_cin_p = UnicodeAttribute(null=True)
    search_cin = UnicodeAttribute(null=True)
    search_cin_from = NumberAttribute(null=True)

    by_all = _list("all-shard-index", "all_shard")
    by_status = _list("status-shard-index", "status_shard")
    by_provider = _list("provider-shard-index", "provider_shard")
    by_olcm = _list("olcm-shard-index", "olcm_shard")
    by_ilcm = _list("ilcm-shard-index", "ilcm_shard")
    #: a plan's members in id order: an export reads them in a stable order
    by_plan = _list("plan-shard-index", "plan_shard", range_key="id")
    search_by_name = _search("name")
    search_by_last = _search("last")
    search_by_member = _search("member")
    search_by_cin = _search("cin")


@register
class PatientKey(TableModel):
    """A matching key: ``member#<CIN>`` → one patient, ``name#<first>|<last>|<dob>`` → the
    patients with that name and birth date, ``pending#<CIN>`` → the authorizations waiting
    for that member to arrive."""

    resource = "PatientKeysTable"
    setting = "patient_keys_table"

    class Meta(TableMeta):
        pass

    key = UnicodeAttribute(hash_key=True)
    patient_id = NumberAttribute(null=True)
    patient_ids = ListAttribute(of=NumberAttribute, null=True)
    auth_nos = ListAttribute(of=UnicodeAttribute, null=True)
    last_import = UnicodeAttribute(null=True)
    version = VersionAttribute(null=True)
