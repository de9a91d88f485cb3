"""The Return Transmission File: one row per member of the plan reported for the month,
with the member's status of engagement (``ecm.exports.engagement``), enrollment, lead care
manager, discontinuation and the month's encounters.

Who is reported: every member of the plan (its MIFs name it) whose ECM authorization or
enrollment began by the end of the month and did not end before the month began. Rows are
in patient id order, so the same data gives the same file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from ecm.clock import california_date
from ecm.exports.engagement import DISCONTINUED, engagement_status
from ecm.exports.rows import (
    ExportContext,
    ExportRow,
    Item,
    Missing,
    Value,
    batches,
    plan_fields_of,
    read_patients,
    ten_digits,
)
from ecm.models import Activity
from ecm.models.access import all_items
from ecm.patients.caseload import care_manager_users
from ecm.patients.choices import DISCONTINUATION_REASONS
from ecm.patients.reading import plan_member_ids
from ecm.patients.referrals import referral_as_of, referral_of

#: Work that reaches the member: any of it on record means outreach has happened.
REACHING = ("outreach", "encounter", "assessment", "care_plan")
IN_PERSON = ("in_person",)
TELEPHONIC_VIDEO = ("phone", "video")

RTF_FIELDS = frozenset(
    {
        "mcp_identifier",
        "mcp_name",
        "cin",
        "member_id",
        "first_name",
        "last_name",
        "client_name",
        "date_of_birth",
        "address_street",
        "address_city",
        "address_state",
        "address_zip",
        "phone",
        "ecm_status",
        "member_record_status",
        "acuity_level",
        "enrollment_start_date",
        "enrollment_end_date",
        "benefit_start_date",
        "benefit_end_date",
        "ecm_service_auth_id",
        "latest_care_plan_date",
        "latest_assessment_date",
        "latest_encounter_date",
        "lead_care_manager_name",
        "lead_care_manager_phone",
        "lead_care_manager_email",
        "discontinuation_date",
        "discontinuation_reason_code",
        "discontinuation_reason",
        "in_person_encounters",
        "telephonic_video_encounters",
        "production_date",
        "reporting_period",
        "provider_name",
        "provider_npi",
        "provider_tin",
        "provider_phone",
        "plan",
        "referral_status",
        "referral_status_date",
        "referral_closure_reason",
    }
)


@dataclass
class ActivitySummary:
    """Per member: the last day of each kind of work up to the month's end, and the month's
    encounters by how they happened."""

    latest: dict[str, dict[int, str]] = field(default_factory=dict)
    in_person: Counter[int] = field(default_factory=Counter)
    telephonic_video: Counter[int] = field(default_factory=Counter)


def summarize_activities(context: ExportContext, members: set[int]) -> ActivitySummary:
    """One pass over each activity type's index up to the month's end (only the last day
    and the month's counts per member are kept, never the activities)."""
    summary = ActivitySummary()
    start, end = context.period.start_key(), context.period.end_key()
    for kind in REACHING:
        latest = summary.latest.setdefault(kind, {})
        for activity in all_items(Activity.by_type.query(kind, Activity.activity_key < end)):
            patient_id = int(activity["patient_id"])
            if patient_id not in members:
                continue
            day = california_date(activity["occurred_at"]).isoformat()
            if day > latest.get(patient_id, ""):
                latest[patient_id] = day
            if kind == "encounter" and activity["activity_key"] >= start:
                method = activity.get("method")
                if method in IN_PERSON:
                    summary.in_person[patient_id] += 1
                elif method in TELEPHONIC_VIDEO:
                    summary.telephonic_video[patient_id] += 1
    return summary


def reported(patient: Item, context: ExportContext) -> bool:
    """Begun by the month's end (the ECM authorization or enrollment, else the day we
    learned of the member) and not ended before it began."""
    eligibility = patient.get("eligibility") or {}
    first, last = context.period.first.isoformat(), context.period.last.isoformat()
    starts = [
        day
        for day in (
            eligibility.get("ecm_benefit_auth_eff_date"),
            eligibility.get("ecm_enrollment_start_date"),
        )
        if day
    ]
    known = patient.get("created_at") or eligibility.get("created_at")
    begins = min(starts) if starts else california_date(known).isoformat() if known else first
    ended = [eligibility.get("discontinuation_date"), eligibility.get("ecm_enrollment_end_date")]
    return begins <= last and not any(day and day < first for day in ended)


def _lead_care_manager(patient: Item, managers: dict[int, Item]) -> dict[str, Value]:
    """The intensive lead care manager once assigned, else the outreach one."""
    case_load = patient.get("case_load") or {}
    for role in ("ilcm", "olcm"):
        user_id = case_load.get(f"{role}_user_id")
        if user_id is not None:
            user = managers.get(int(user_id)) or {}
            return {
                "lead_care_manager_name": case_load.get(f"{role}_name") or "",
                "lead_care_manager_phone": ten_digits(user.get("phone")),
                "lead_care_manager_email": user.get("email") or "",
            }
    return {
        "lead_care_manager_name": "",
        "lead_care_manager_phone": "",
        "lead_care_manager_email": "",
    }


def reached(summary: ActivitySummary, patient_id: int) -> bool:
    """Outreach, or other work that reaches the member, recorded by the month's end."""
    return any(patient_id in summary.latest.get(kind, {}) for kind in REACHING)


def _enrollment(eligibility: Item, context: ExportContext, engagement: str) -> dict[str, Value]:
    """The enrollment as it stood at the month's end: one that begins after it is not yet
    there (the member is pending or in outreach for the month), nor is its end."""
    start = eligibility.get("ecm_enrollment_start_date")
    end = eligibility.get("ecm_enrollment_end_date")
    if start and start > context.period.last.isoformat():
        start = end = None
    values: dict[str, Value] = {
        "enrollment_start_date": context.date(start),
        "enrollment_end_date": context.date(end),
        "discontinuation_date": "",
        "discontinuation_reason_code": "",
        "discontinuation_reason": "",
    }
    if engagement == DISCONTINUED:
        stopped, reason = (
            eligibility.get("discontinuation_date"),
            eligibility.get("discontinuation_reason"),
        )
        values["discontinuation_date"] = (
            context.date(stopped) if stopped else Missing("no discontinuation date")
        )
        values["enrollment_end_date"] = context.date(end or stopped)
        values["discontinuation_reason_code"] = context.code(
            "discontinuation_reason", reason, "discontinuation reason"
        )
        values["discontinuation_reason"] = DISCONTINUATION_REASONS.get(reason or "", "")
    return values


def _referral(patient: Item, context: ExportContext) -> dict[str, Value]:
    """The three Closed-Loop Referral elements: where the referral stood at the month's end,
    since when, and why its loop closed (blank while open)."""
    state = referral_as_of(referral_of(patient), context.period.last.isoformat())
    reason = state.closure_reason
    return {
        "referral_status": context.code("referral_status", state.status, "referral status"),
        "referral_status_date": context.date(state.status_date),
        "referral_closure_reason": context.code(
            "referral_closure_reason", reason, "referral closure reason"
        )
        if reason
        else "",
    }


def rtf_values(
    patient: Item,
    context: ExportContext,
    summary: ActivitySummary,
    managers: dict[int, Item],
    shared: dict[str, Value],
) -> dict[str, Value]:
    eligibility = patient.get("eligibility") or {}
    address = patient.get("address") or {}
    patient_id = int(patient["id"])
    status = eligibility.get("member_record_status")
    acuity = eligibility.get("acuity_level")
    latest = summary.latest
    engagement = engagement_status(
        eligibility, reached(summary, patient_id), context.period.last.isoformat()
    )
    return {
        **shared,
        **context.member_values(patient),
        "date_of_birth": context.date(patient.get("date_of_birth")),
        "address_street": address.get("street") or "",
        "address_city": address.get("city") or "",
        "address_state": address.get("state") or "",
        "address_zip": address.get("zip") or "",
        "phone": ten_digits(patient.get("phone")),
        "ecm_status": context.code("ecm_status", engagement, "engagement status"),
        "member_record_status": status or "",
        "acuity_level": context.layout.codes["acuity"].get(acuity, acuity) if acuity else "",
        "benefit_start_date": context.date(eligibility.get("ecm_benefit_auth_eff_date")),
        "benefit_end_date": context.date(eligibility.get("ecm_benefit_auth_end_date")),
        "ecm_service_auth_id": eligibility.get("ecm_service_auth_id") or "",
        "latest_care_plan_date": context.date(latest["care_plan"].get(patient_id)),
        "latest_assessment_date": context.date(latest["assessment"].get(patient_id)),
        "latest_encounter_date": context.date(latest["encounter"].get(patient_id)),
        "in_person_encounters": str(summary.in_person[patient_id]),
        "telephonic_video_encounters": str(summary.telephonic_video[patient_id]),
        "plan": context.plan,
        **_enrollment(eligibility, context, engagement),
        **_lead_care_manager(patient, managers),
        **_referral(patient, context),
    }


def rtf_rows(context: ExportContext) -> Iterator[ExportRow]:
    members = plan_member_ids(context.plan)
    summary = summarize_activities(context, set(members))
    managers = {int(u["id"]): u for u in care_manager_users()}
    shared = context.shared_values()
    for ids in batches(members):
        patients = read_patients(ids)
        for patient_id in ids:
            patient = patients.get(patient_id)
            if patient is None or not reported(patient, context):
                continue
            values = rtf_values(patient, context, summary, managers, shared)
            yield ExportRow({"patient_id": patient_id}, values, plan_fields_of(patient))
