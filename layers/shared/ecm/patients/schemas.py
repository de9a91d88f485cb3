"""The response bodies of the caseload routes (docs/api/patients.md), and the
envelopes of their request bodies; the request fields are the domain's models
(``PatientUpdate``, ``PatientFilterRequest``, ``ActivityCreate``, ...)."""

from __future__ import annotations

from pydantic import Field

from ecm.api.schemas import Envelope, Pagination, ResponseBody
from ecm.patients.activities import ActivityCreate
from ecm.patients.caseload import CareManagerBody, CareManagerUpdate, CaseLoadBody, ProviderBody
from ecm.patients.update import PatientUpdate


class EligibilitySummary(ResponseBody):
    id: int | None
    member_id: str | None
    cin: str | None
    ecm_service_auth_id: str | None
    ecm_provider_name: str | None
    ecm_benefit_auth_eff_date: str | None
    ecm_benefit_auth_end_date: str | None
    acuity_level: str | None
    member_record_status: str | None
    plan: str | None = Field(description="The health plan of the MIF that brought the member")
    in_latest_mif: bool = Field(
        description="False when the plan's latest MIF (a full roster) left the member out"
    )
    dropped_in_mif_file_id: int | None = Field(
        description="While in_latest_mif is false: the MIF file that left the member out"
    )


class CaseLoadSummary(ResponseBody):
    provider_id: int | None
    provider_name: str | None
    olcm_user_id: int | None
    olcm_name: str | None
    ilcm_user_id: int | None
    ilcm_name: str | None


class PatientSummary(ResponseBody):
    id: int
    name: str | None
    date_of_birth: str | None = Field(description="YYYY-MM-DD")
    ecm_eligibility_information: EligibilitySummary
    case_load: CaseLoadSummary


class PatientList(ResponseBody):
    patients: list[PatientSummary]
    pagination: Pagination


class Address(ResponseBody):
    street: str | None
    city: str | None
    state: str | None
    zip: str | None


class ReferralChange(ResponseBody):
    status: str
    status_date: str = Field(description="YYYY-MM-DD: the status holds from this day")
    closure_reason: str | None
    changed_at: str | None
    changed_by: str | None = Field(description="The user, or System / System Import for a rule")


class Referral(ResponseBody):
    received_date: str = Field(description="YYYY-MM-DD")
    received_from: str | None = Field(description="authorization, benefit, import or user")
    status: str = Field(description="received, accepted, declined or closed")
    status_date: str = Field(description="YYYY-MM-DD: the Date of Referral Status Update")
    closure_reason: str | None = Field(description="While declined or closed")
    history: list[ReferralChange] = Field(description="Oldest first")


class EligibilityDetail(EligibilitySummary):
    ecm_npi: str | None
    ecm_enrollment_start_date: str | None = Field(description="YYYY-MM-DD")
    ecm_enrollment_end_date: str | None = Field(description="YYYY-MM-DD")
    discontinuation_reason: str | None = Field(description="While terminated_member")
    discontinuation_date: str | None = Field(description="YYYY-MM-DD, while terminated_member")
    referral: Referral = Field(description="The member's referral to ECM, closed-loop")
    created_at: str | None
    updated_at: str | None
    plan_fields: dict[str, str] = Field(
        description="The plan's MIF columns no field is known by, header -> text, each from "
        "the latest MIF of the plan that had it ({} when none)"
    )


class CaseLoad(CaseLoadSummary):
    id: int


class AuthorizationSummary(ResponseBody):
    id: int
    auth_no: str
    auth_type: str | None
    authorization_type: str | None
    status: str | None
    start_date: str | None
    expiration_date: str | None


class StatusChange(ResponseBody):
    id: int
    status: str
    changed_at: str
    changed_by: str
    reason: str | None = Field(None, description="The discontinuation reason it was given")


class PatientRecord(ResponseBody):
    id: int
    name: str | None
    first_name: str | None
    last_name: str | None
    date_of_birth: str | None
    gender: str | None
    address: Address
    phone: str | None
    email: str | None
    services: list[str]
    ecm_eligibility_information: EligibilityDetail
    case_load: CaseLoad
    ecm_authorizations: list[AuthorizationSummary]
    ecm_status_history: list[StatusChange]
    activities_count: int
    last_activity_at: str | None
    version: int | None


class PatientDetail(ResponseBody):
    patient: PatientRecord


class BulkUpdated(ResponseBody):
    patients: list[PatientRecord] = Field(description="In the request's order")


class AuditEntryBody(ResponseBody):
    patient_id: int
    action: str = Field(description="read, update, case_load or activity")
    user_id: str
    user_name: str | None
    at: str


class AuditTrail(ResponseBody):
    audit_entries: list[AuditEntryBody]


class ActivityBody(ResponseBody):
    id: int
    patient_id: int
    type: str
    occurred_at: str
    method: str | None
    outcome: str | None
    minutes: int | None
    successful: bool | None = Field(None, description="Outreach: the attempt reached the member")
    note: str | None
    created_by: str | None
    created_at: str


class ActivityCreated(ResponseBody):
    activity: ActivityBody


class ActivityList(ResponseBody):
    activities: list[ActivityBody]
    pagination: Pagination


class ProviderRecord(ResponseBody):
    id: int
    name: str
    npi: str | None = None
    created_at: str | None = None


class ProviderCreated(ResponseBody):
    provider: ProviderRecord


class ProviderList(ResponseBody):
    providers: list[ProviderRecord]


class CareManager(ResponseBody):
    id: int
    name: str
    role: str
    phone: str | None = Field(None, description="+1 and 10 digits")
    email: str | None = None


class CareManagerCreated(ResponseBody):
    care_manager: CareManager
    token: str = Field(description="The care manager's token, shown this once")


class CareManagerList(ResponseBody):
    care_managers: list[CareManager]


class PatientUpdateRequest(Envelope):
    """Change a patient's names, date of birth, acuity or status."""

    patient: PatientUpdate


class CaseLoadRequest(Envelope):
    """Assign (or clear with null) the provider and care managers."""

    case_load: CaseLoadBody


class ProviderRequest(Envelope):
    """Add an ECM provider."""

    provider: ProviderBody


class CareManagerRequest(Envelope):
    """Add an OLCM or ILCM user."""

    care_manager: CareManagerBody


class CareManagerUpdateRequest(Envelope):
    """Change a care manager's name, phone or email."""

    care_manager: CareManagerUpdate


class CareManagerUpdated(ResponseBody):
    care_manager: CareManager


class ActivityRequest(Envelope):
    """Record a care activity."""

    activity: ActivityCreate
