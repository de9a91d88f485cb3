"""A member's referral, closed-loop (ecm.patients.referrals): its receipt, the rules that move
it, a change by hand and its checks, and the return file's three columns from it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from ecm.errors import ApiError, field_messages
from ecm.exports.codes import CODE_DOMAINS, CODE_SETS
from ecm.exports.kinds import EXPORT_KINDS
from ecm.exports.layouts import LayoutError, PlanDocument, effective_layout
from ecm.exports.rows import ExportContext, Period
from ecm.exports.rtf import ActivitySummary, rtf_values
from ecm.patients.referral_update import ReferralUpdate, change_referral
from ecm.patients.referrals import (
    CLOSURE_REASONS,
    REFERRAL_STATUSES,
    authorization_received,
    follow,
    keep_referral,
    new_referral,
    referral_as_of,
    referral_of,
    referral_view,
)
from ecm.patients.update import PatientUpdate, plan_update

Item = dict[str, Any]
NOW = "2026-03-10T18:00:00.000Z"  # 2026-03-10 in California
ADMIN = {"user_id": 1, "name": "Referral Admin"}


def _patient(**eligibility: Any) -> Item:
    return {
        "id": 1,
        "first_name": "Ana",
        "last_name": "Lopez",
        "name": "Ana Lopez",
        "created_at": "2026-01-05T17:00:00.000Z",
        "eligibility": {
            "member_id": "91234567A",
            "member_record_status": "new_member",
            "created_at": "2026-01-05T17:00:00.000Z",
            **eligibility,
        },
        "version": 1,
    }


def _statuses(referral: Item) -> list[tuple[str, str, str | None]]:
    return [(e["status"], e["status_date"], e.get("closure_reason")) for e in referral["history"]]


def test_a_referral_is_received_on_the_benefit_date_else_the_import_day() -> None:
    dated = new_referral({"ecm_benefit_auth_eff_date": "2026-02-01"}, "2026-03-10", NOW, "Sys")
    assert (dated["received_date"], dated["received_from"], dated["status"]) == (
        "2026-02-01",
        "benefit",
        "received",
    )
    assert _statuses(dated) == [("received", "2026-02-01", None)]
    # A benefit that starts after the file came: the referral was in hand on the import day.
    later = new_referral({"ecm_benefit_auth_eff_date": "2026-04-01"}, "2026-03-10", NOW, "Sys")
    assert (later["received_date"], later["received_from"]) == ("2026-03-10", "benefit")
    plain = new_referral({}, "2026-03-10", NOW, "Sys")
    assert (plain["received_date"], plain["received_from"]) == ("2026-03-10", "import")


def test_the_authorization_that_brings_a_member_dates_its_referral() -> None:
    patient = _patient(ecm_benefit_auth_eff_date="2026-01-01")
    keep_referral(patient)
    assert patient["eligibility"]["referral"]["received_from"] == "benefit"
    # The benefit's date was a stand-in: the authorization's received date replaces it.
    assert authorization_received(patient, [None, "2026-01-20", "2026-01-12"])
    referral = patient["eligibility"]["referral"]
    assert (referral["received_date"], referral["received_from"]) == (
        "2026-01-12",
        "authorization",
    )
    assert _statuses(referral) == [("received", "2026-01-12", None)]
    # A later authorization (a re-authorization) does not move it; an earlier one does.
    assert not authorization_received(patient, ["2026-05-01"])
    assert authorization_received(patient, ["2025-12-30"])
    assert patient["eligibility"]["referral"]["received_date"] == "2025-12-30"
    # Nothing moves a date a user gave.
    patient["eligibility"]["referral"]["received_from"] = "user"
    assert not authorization_received(patient, ["2025-12-01"])


def test_a_referral_already_moved_on_keeps_its_date_against_a_later_authorization() -> None:
    patient = _patient()
    keep_referral(patient)
    referral = patient["eligibility"]["referral"]
    follow({}, {"ecm_enrollment_start_date": "2026-02-01"}, referral, NOW)
    assert not authorization_received(patient, ["2026-01-20"])
    assert patient["eligibility"]["referral"]["received_date"] == "2026-01-05"


def test_enrollment_accepts_a_received_referral_on_its_start_date() -> None:
    referral = new_referral({}, "2026-01-05", NOW, "Sys")
    before = {"member_record_status": "new_member"}
    after = {**before, "ecm_enrollment_start_date": "2026-02-01"}
    assert follow(before, after, referral, NOW)
    assert (referral["status"], referral["status_date"]) == ("accepted", "2026-02-01")
    assert referral["history"][-1]["changed_by"] == "System"
    # Already recorded: nothing more; a second start date does not move it again.
    assert not follow(after, {**after, "ecm_enrollment_start_date": "2026-02-03"}, referral, NOW)


@pytest.mark.parametrize(
    ("start", "dated"),
    [("2026-05-01", "2026-03-10"), ("2025-06-01", "2026-01-05")],
    ids=["future-start-dated-today", "start-before-receipt-dated-on-receipt"],
)
def test_a_rules_date_stays_between_receipt_and_today(start: str, dated: str) -> None:
    referral = new_referral({}, "2026-01-05", NOW, "Sys")
    follow({}, {"ecm_enrollment_start_date": start}, referral, NOW)
    assert referral["status_date"] == dated


@pytest.mark.parametrize("reason", ["declined", "unable_to_reach"])
def test_a_discontinuation_for_declining_or_no_contact_closes_the_loop(reason: str) -> None:
    referral = new_referral({}, "2026-01-05", NOW, "Sys")
    before = {"member_record_status": "new_member", "ecm_enrollment_start_date": "2026-02-01"}
    follow({}, before, referral, NOW)
    after = {
        **before,
        "member_record_status": "terminated_member",
        "discontinuation_reason": reason,
        "discontinuation_date": "2026-03-01",
    }
    assert follow(before, after, referral, NOW)
    assert _statuses(referral) == [
        ("received", "2026-01-05", None),
        ("accepted", "2026-02-01", None),
        ("closed", "2026-03-01", reason),
    ]


def test_other_discontinuations_and_closed_referrals_are_left_as_they_are() -> None:
    referral = new_referral({}, "2026-01-05", NOW, "Sys")
    terminated = {"member_record_status": "terminated_member", "discontinuation_date": "2026-03-01"}
    assert not follow({}, {**terminated, "discontinuation_reason": "goals_met"}, referral, NOW)
    assert not follow({}, terminated, referral, NOW)  # no reason: not clear
    referral.update(status="closed", closure_reason="services_received")
    assert not follow({}, {**terminated, "discontinuation_reason": "declined"}, referral, NOW)
    assert referral["closure_reason"] == "services_received"


def test_a_member_stored_before_referrals_has_the_one_the_rules_give() -> None:
    patient = _patient(
        ecm_benefit_auth_eff_date="2025-12-01",
        ecm_enrollment_start_date="2026-01-15",
        member_record_status="terminated_member",
        discontinuation_reason="unable_to_reach",
        discontinuation_date="2026-02-20",
    )
    referral = referral_of(patient)
    assert _statuses(referral) == [
        ("received", "2025-12-01", None),
        ("accepted", "2026-01-15", None),
        ("closed", "2026-02-20", "unable_to_reach"),
    ]
    assert "referral" not in patient["eligibility"]  # derived on read, not written
    view = referral_view(patient)
    assert (view["status"], view["status_date"], view["closure_reason"]) == (
        "closed",
        "2026-02-20",
        "unable_to_reach",
    )
    assert set(view["history"][0]) == {
        "status",
        "status_date",
        "closure_reason",
        "changed_at",
        "changed_by",
    }


def test_where_a_referral_stood_at_a_months_end() -> None:
    patient = _patient(
        ecm_benefit_auth_eff_date="2025-12-01",
        ecm_enrollment_start_date="2026-01-15",
        member_record_status="terminated_member",
        discontinuation_reason="declined",
        discontinuation_date="2026-02-20",
    )
    referral = referral_of(patient)
    assert referral_as_of(referral, "2025-12-31").status == "received"
    assert referral_as_of(referral, "2026-01-31").status == "accepted"
    state = referral_as_of(referral, "2026-02-28")
    assert (state.status, state.status_date, state.closure_reason) == (
        "closed",
        "2026-02-20",
        "declined",
    )
    early = referral_as_of(referral, "2025-11-30")
    assert (early.status, early.status_date) == ("received", "2025-12-01")


def _put(patient: Item, eligibility: Item) -> Item:
    planned = plan_update(
        patient,
        PatientUpdate.model_validate({"ecm_eligibility_information": eligibility}),
        ADMIN,
        NOW,
    )
    assert planned is not None
    return dict(planned.patient["eligibility"]["referral"])


def test_a_put_sets_the_status_by_hand_dated_today_unless_told() -> None:
    patient = _patient()
    keep_referral(patient)
    referral = _put(patient, {"referral": {"status": "declined", "closure_reason": "declined"}})
    assert (referral["status"], referral["status_date"], referral["closure_reason"]) == (
        "declined",
        "2026-03-10",
        "declined",
    )
    assert referral["history"][-1] == {
        "status": "declined",
        "status_date": "2026-03-10",
        "closure_reason": "declined",
        "changed_at": NOW,
        "changed_by": "Referral Admin",
    }
    dated = _put(patient, {"referral": {"status": "accepted", "status_date": "2026-02-02"}})
    assert (dated["status"], dated["status_date"], dated.get("closure_reason")) == (
        "accepted",
        "2026-02-02",
        None,
    )


def test_enrolling_through_a_put_accepts_the_referral_and_a_hand_status_wins() -> None:
    patient = _patient()
    keep_referral(patient)
    enrolled = _put(patient, {"ecm_enrollment_start_date": "2026-02-01"})
    assert (enrolled["status"], enrolled["status_date"]) == ("accepted", "2026-02-01")
    both = _put(
        patient,
        {
            "ecm_enrollment_start_date": "2026-02-01",
            "referral": {"status": "closed", "closure_reason": "services_received"},
        },
    )
    assert _statuses(both)[1:] == [("closed", "2026-03-10", "services_received")]


def test_a_put_that_restates_the_referral_changes_nothing() -> None:
    patient = _patient()
    keep_referral(patient)
    kept = patient["eligibility"]["referral"]
    same = {"status": kept["status"], "status_date": kept["status_date"]}
    update = PatientUpdate.model_validate({"ecm_eligibility_information": {"referral": same}})
    assert plan_update(patient, update, ADMIN, NOW) is None


def _refused(referral: Item, update: Item) -> list[str]:
    patient = _patient()
    patient["eligibility"]["referral"] = referral
    change = ReferralUpdate.model_validate(update)
    with pytest.raises(ApiError) as raised:
        change_referral(patient, dict(patient["eligibility"]), change, NOW, "Admin")
    assert raised.value.status == 422
    return raised.value.messages


@pytest.mark.parametrize(
    ("update", "message"),
    [
        (
            {"status": "accepted", "closure_reason": "declined"},
            "patient.ecm_eligibility_information.referral.closure_reason needs status "
            "declined or closed, not accepted",
        ),
        (
            {"closure_reason": "other"},
            "patient.ecm_eligibility_information.referral.closure_reason needs status "
            "declined or closed, not received",
        ),
        (
            {"status": "accepted", "status_date": "2026-03-11"},
            "patient.ecm_eligibility_information.referral.status_date can't be in the future",
        ),
        (
            {"status": "accepted", "status_date": "2026-01-04"},
            "patient.ecm_eligibility_information.referral.status_date can't be before "
            "received_date",
        ),
        (
            {"received_date": "2026-03-11"},
            "patient.ecm_eligibility_information.referral.received_date can't be in the future",
        ),
    ],
)
def test_a_hand_change_the_referral_cannot_take_is_a_422(update: Item, message: str) -> None:
    referral = new_referral({}, "2026-01-05", NOW, "Sys")
    assert _refused(referral, update) == [message]


def test_unknown_statuses_and_reasons_name_the_field() -> None:
    body = {"referral": {"status": "open", "closure_reason": "moved", "status_date": "3/1/26"}}
    with pytest.raises(ValidationError) as raised:
        PatientUpdate.model_validate({"ecm_eligibility_information": body})
    messages = field_messages(raised.value.errors(), "patient")
    where = "patient.ecm_eligibility_information.referral"
    assert sorted(messages) == sorted(
        [
            f"{where}.status must be one of {', '.join(REFERRAL_STATUSES)}",
            f"{where}.status_date must be a date in YYYY-MM-DD format",
            f"{where}.closure_reason must be one of {', '.join(CLOSURE_REASONS)}",
        ]
    )


def test_the_referral_code_sets_are_the_referral_values() -> None:
    assert CODE_SETS["referral_status"] == {
        "received": "Received",
        "accepted": "Accepted",
        "declined": "Declined",
        "closed": "Closed",
    }
    assert CODE_SETS["referral_closure_reason"]["services_received"] == "Services Received"
    assert set(CODE_DOMAINS["referral_status"]) == set(REFERRAL_STATUSES)
    assert set(CODE_DOMAINS["referral_closure_reason"]) == set(CLOSURE_REASONS)


def _context(document: PlanDocument | None) -> ExportContext:
    layout = effective_layout("rtf", "healthnet", EXPORT_KINDS["rtf"].fields, document)
    return ExportContext("healthnet", Period.of("2026-02"), date(2026, 3, 5), layout)


def _clr(patient: Item, context: ExportContext) -> dict[str, Any]:
    summary = ActivitySummary(latest={k: {} for k in ("care_plan", "assessment", "encounter")})
    values = rtf_values(patient, context, summary, {}, context.shared_values())
    return {
        k: values[k] for k in ("referral_status", "referral_status_date", "referral_closure_reason")
    }


def test_the_rtf_columns_carry_the_referral_and_a_layout_recodes_them() -> None:
    patient = _patient(
        ecm_benefit_auth_eff_date="2025-12-01",
        ecm_enrollment_start_date="2026-01-15",
        member_record_status="terminated_member",
        discontinuation_reason="declined",
        discontinuation_date="2026-02-20",
    )
    default = _context(None)
    headers = {c.field: c.header for c in default.layout.columns if c.field}
    assert [
        headers[f] for f in ("referral_status", "referral_status_date", "referral_closure_reason")
    ] == [
        "Referral Status",
        "Date of Referral Status Update",
        "Reason for Referral Loop Closure",
    ]
    assert _clr(patient, default) == {
        "referral_status": "Closed",
        "referral_status_date": "02/20/2026",
        "referral_closure_reason": "Member Declined",
    }
    document = PlanDocument.model_validate(
        {
            "plan": "healthnet",
            "rtf": {
                "codes": {
                    "referral_status": {"closed": "3"},
                    "referral_closure_reason": {"declined": "D"},
                }
            },
        }
    )
    assert _clr(patient, _context(document)) == {
        "referral_status": "3",
        "referral_status_date": "02/20/2026",
        "referral_closure_reason": "D",
    }
    # An open referral leaves the closure reason blank.
    open_patient = _patient(ecm_benefit_auth_eff_date="2026-01-02")
    assert _clr(open_patient, default) == {
        "referral_status": "Received",
        "referral_status_date": "01/02/2026",
        "referral_closure_reason": "",
    }


def test_a_layout_may_code_only_the_referral_values() -> None:
    with pytest.raises(LayoutError) as raised:
        _context(
            PlanDocument.model_validate(
                {"plan": "healthnet", "rtf": {"codes": {"referral_status": {"open": "1"}}}}
            )
        )
    assert raised.value.problems == [
        "rtf.codes.referral_status.open is not one of received, accepted, declined, closed"
    ]
