"""ecm.member_status: member record status from authorizations, and its history
(docs/using/authorization-imports.md)."""

from __future__ import annotations

from typing import Any

import pytest

from ecm.kinds.authorization.member_status import (
    SYSTEM_IMPORT,
    AuthorizationEvent,
    apply_authorization_events,
    assign_history_ids,
    change_status,
)

Item = dict[str, Any]
NOW = "2025-06-15T12:00:00.000Z"
EARLIER = "2024-01-01T00:00:00.000Z"


def _patient(status: str | None = "new_member", approved: list[str] | None = None) -> Item:
    patient: Item = {
        "id": 5,
        "name": "Ben Nguyen1",
        "eligibility": {"id": 1005, "member_record_status": status, "updated_at": EARLIER},
    }
    if approved is not None:
        patient["approved_auth_nos"] = approved
    return patient


def _event(
    auth_no: str, status: str | None, decision: str | None = None, row: int = 2
) -> AuthorizationEvent:
    return AuthorizationEvent(auth_no, status, decision, row)


def _status(patient: Item) -> str | None:
    return patient["eligibility"]["member_record_status"]


def _history(patient: Item) -> list[str]:
    return [h["status"] for h in patient["ecm_status_history"]]


# --- every transition ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "auth_status", "approved", "end"),
    [
        ("new_member", "Cancel", [], "terminated_member"),
        ("continuing_member", "Cancel", ["A0"], "terminated_member"),
        ("pending_member", "Cancel", [], "terminated_member"),
        ("new_member", "Pending", [], "pending_member"),
        ("terminated_member", "Pending", [], "pending_member"),
        ("continuing_member", "Pending", ["A0"], "pending_member"),
        ("pending_member", "Approved", [], "new_member"),
        ("terminated_member", "Approved", [], "new_member"),
        ("pending_member", "Approved", ["A0"], "continuing_member"),
        ("terminated_member", "Approved", ["A0"], "continuing_member"),
        ("new_member", "Approved", ["A0"], "continuing_member"),
        ("inactive_member", "Approved", [], "new_member"),
        (None, "Pending", [], "pending_member"),
    ],
)
def test_status_transitions(
    start: str | None, auth_status: str, approved: list[str], end: str
) -> None:
    patient = _patient(start, approved)
    added = apply_authorization_events(patient, [_event("A1", auth_status, "2024-05-01")], NOW)
    assert added == 1
    assert _status(patient) == end
    assert patient["eligibility"]["updated_at"] == NOW
    assert patient["ecm_status_history"] == [
        {"id": None, "status": end, "changed_at": NOW, "changed_by": "System Import"}
    ]
    assert SYSTEM_IMPORT == "System Import"


@pytest.mark.parametrize(
    "start",
    ["new_member", "continuing_member", "pending_member", "terminated_member", None],
)
@pytest.mark.parametrize("auth_status", ["Denied", None])
def test_denied_or_blank_status_changes_nothing(start: str | None, auth_status: str | None) -> None:
    patient = _patient(start, ["A0"])
    added = apply_authorization_events(patient, [_event("A1", auth_status, "2024-05-01")], NOW)
    assert added == 0
    assert _status(patient) == start
    assert patient["eligibility"]["updated_at"] == EARLIER
    assert patient["ecm_status_history"] == []
    assert patient["approved_auth_nos"] == ["A0"]


@pytest.mark.parametrize(
    ("start", "auth_status", "approved"),
    [
        ("terminated_member", "Cancel", []),
        ("pending_member", "Pending", []),
        ("new_member", "Approved", []),
        ("continuing_member", "Approved", ["A0"]),
    ],
)
def test_no_history_when_the_status_does_not_change(
    start: str, auth_status: str, approved: list[str]
) -> None:
    patient = _patient(start, approved)
    patient["ecm_status_history"] = [
        {"id": 3, "status": start, "changed_at": EARLIER, "changed_by": SYSTEM_IMPORT}
    ]
    added = apply_authorization_events(patient, [_event("A1", auth_status)], NOW)
    assert added == 0
    assert _status(patient) == start
    assert patient["eligibility"]["updated_at"] == EARLIER
    assert [h["id"] for h in patient["ecm_status_history"]] == [3]


# --- new versus continuing -------------------------------------------------------------------


def test_first_approval_is_a_new_member_and_is_remembered() -> None:
    patient = _patient("pending_member")
    apply_authorization_events(patient, [_event("A1", "Approved")], NOW)
    assert _status(patient) == "new_member"
    assert patient["approved_auth_nos"] == ["A1"]


def test_reapplying_the_same_approved_auth_alone_stays_new_member() -> None:
    patient = _patient("pending_member", ["A1"])
    apply_authorization_events(patient, [_event("A1", "Approved")], NOW)
    assert _status(patient) == "new_member"
    assert patient["approved_auth_nos"] == ["A1"]


def test_another_earlier_approval_makes_a_continuing_member() -> None:
    patient = _patient("terminated_member", ["A1"])
    apply_authorization_events(patient, [_event("A2", "Approved")], NOW)
    assert _status(patient) == "continuing_member"
    assert patient["approved_auth_nos"] == ["A1", "A2"]


def test_pending_or_cancelled_authorizations_are_not_earlier_approvals() -> None:
    patient = _patient("new_member")
    events = [
        _event("A1", "Pending", "2024-01-01"),
        _event("A2", "Cancel", "2024-02-01"),
        _event("A3", "Denied", "2024-03-01"),
        _event("A4", "Approved", "2024-04-01"),
    ]
    apply_authorization_events(patient, events, NOW)
    assert _history(patient) == ["pending_member", "terminated_member", "new_member"]
    assert patient["approved_auth_nos"] == ["A4"]


def test_two_approvals_in_one_file_new_then_continuing() -> None:
    patient = _patient("pending_member")
    events = [_event("A2", "Approved", "2024-03-01", 2), _event("A1", "Approved", "2024-01-15", 3)]
    added = apply_authorization_events(patient, events, NOW)
    assert added == 2
    assert _history(patient) == ["new_member", "continuing_member"]
    assert patient["approved_auth_nos"] == ["A1", "A2"]


# --- ordering inside a file ------------------------------------------------------------------


def test_events_apply_in_decision_date_order_not_row_order() -> None:
    patient = _patient("new_member", ["A0"])
    events = [
        _event("A3", "Cancel", "2024-03-01", 2),
        _event("A1", "Pending", "2024-01-01", 3),
        _event("A2", "Approved", "2024-02-01", 4),
    ]
    apply_authorization_events(patient, events, NOW)
    assert _history(patient) == ["pending_member", "continuing_member", "terminated_member"]
    assert _status(patient) == "terminated_member"


def test_same_decision_date_applies_in_row_order() -> None:
    patient = _patient("new_member")
    events = [
        _event("A2", "Cancel", "2024-02-01", 9),
        _event("A1", "Pending", "2024-02-01", 4),
    ]
    apply_authorization_events(patient, events, NOW)
    assert _history(patient) == ["pending_member", "terminated_member"]


def test_undated_events_apply_after_dated_ones_in_row_order() -> None:
    patient = _patient("new_member")
    events = [
        _event("A1", "Cancel", None, 2),
        _event("A2", "Pending", None, 3),
        _event("A3", "Approved", "2030-12-31", 4),
        _event("A4", "Cancel", "2024-01-01", 5),
    ]
    apply_authorization_events(patient, events, NOW)
    assert _history(patient) == [
        "terminated_member",  # A4, 2024-01-01
        "new_member",  # A3, 2030-12-31
        "terminated_member",  # A1, undated, row 2
        "pending_member",  # A2, undated, row 3
    ]
    assert _status(patient) == "pending_member"


def test_event_order_key() -> None:
    assert _event("A", "Approved", "2024-01-01", 7).order == (False, "2024-01-01", 7)
    assert _event("A", "Approved", None, 7).order == (True, "", 7)


# --- history ---------------------------------------------------------------------------------


def test_history_is_appended_after_prior_entries() -> None:
    patient = _patient("new_member")
    prior_entry = {"id": 1, "status": "new_member", "changed_at": EARLIER, "changed_by": "admin"}
    patient["ecm_status_history"] = [prior_entry]
    added = apply_authorization_events(patient, [_event("A1", "Pending")], NOW)
    assert added == 1
    assert patient["ecm_status_history"] == [
        prior_entry,
        {"id": None, "status": "pending_member", "changed_at": NOW, "changed_by": SYSTEM_IMPORT},
    ]


def test_no_events_leave_the_patient_as_it_was() -> None:
    patient = _patient("pending_member", ["A1"])
    assert apply_authorization_events(patient, [], NOW) == 0
    assert _status(patient) == "pending_member"
    assert patient["approved_auth_nos"] == ["A1"]
    assert patient["ecm_status_history"] == []


def test_patient_without_eligibility_gets_one() -> None:
    patient: Item = {"id": 9}
    assert apply_authorization_events(patient, [_event("A1", "Cancel")], NOW) == 1
    assert patient["eligibility"] == {
        "member_record_status": "terminated_member",
        "updated_at": NOW,
        # No decision date: the California day of the import.
        "discontinuation_date": "2025-06-15",
    }


def test_a_cancellation_discontinues_on_its_decision_date_and_an_approval_undoes_it() -> None:
    patient = _patient("new_member", ["A1"])
    apply_authorization_events(patient, [_event("A2", "Cancel", "2025-03-31")], NOW)
    assert _status(patient) == "terminated_member"
    assert patient["eligibility"]["discontinuation_date"] == "2025-03-31"
    assert "discontinuation_reason" not in patient["eligibility"]  # an import knows none
    assert "reason" not in patient["ecm_status_history"][-1]
    apply_authorization_events(patient, [_event("A3", "Approved", "2025-04-02")], NOW)
    assert _status(patient) == "continuing_member"
    assert "discontinuation_date" not in patient["eligibility"]


def test_a_status_change_near_midnight_is_dated_in_california() -> None:
    eligibility: Item = {"member_record_status": "new_member"}
    # 06:30 UTC on April 1 is still March 31 in Los Angeles (PDT, UTC-7).
    entry = change_status(
        eligibility,
        "terminated_member",
        now="2025-04-01T06:30:00.000Z",
        by="Ana",
        reason="declined",
    )
    assert eligibility["discontinuation_date"] == "2025-03-31"
    assert eligibility["discontinuation_reason"] == "declined"
    assert entry == {
        "id": None,
        "status": "terminated_member",
        "changed_at": "2025-04-01T06:30:00.000Z",
        "changed_by": "Ana",
        "reason": "declined",
    }


def test_the_events_list_is_not_reordered_in_place() -> None:
    events = [_event("A2", "Cancel", "2024-03-01"), _event("A1", "Pending", "2024-01-01")]
    snapshot = list(events)
    apply_authorization_events(_patient(), events, NOW)
    assert events == snapshot


def test_assign_history_ids_numbers_only_new_entries_in_patient_order() -> None:
    first = _patient("new_member")
    first["ecm_status_history"] = [
        {"id": 4, "status": "new_member", "changed_at": EARLIER, "changed_by": SYSTEM_IMPORT},
        {"id": None, "status": "pending_member", "changed_at": NOW, "changed_by": SYSTEM_IMPORT},
        {"id": None, "status": "terminated_member", "changed_at": NOW, "changed_by": SYSTEM_IMPORT},
    ]
    second: Item = {"id": 6, "ecm_status_history": [{"id": None, "status": "new_member"}]}
    untouched: Item = {"id": 7}
    assign_history_ids([first, untouched, second], 100)
    assert [h["id"] for h in first["ecm_status_history"]] == [4, 100, 101]
    assert [h["id"] for h in second["ecm_status_history"]] == [102]
    assert "ecm_status_history" not in untouched


def test_apply_then_assign_gives_consecutive_ids() -> None:
    patients = [_patient("new_member"), _patient("pending_member")]
    added = apply_authorization_events(
        patients[0],
        [_event("A1", "Pending", "2024-01-01"), _event("A2", "Cancel", "2024-02-01")],
        NOW,
    )
    added += apply_authorization_events(patients[1], [_event("B1", "Approved")], NOW)
    assert added == 3
    assign_history_ids(patients, 41)
    ids = [h["id"] for p in patients for h in p["ecm_status_history"]]
    assert ids == [41, 42, 43]
