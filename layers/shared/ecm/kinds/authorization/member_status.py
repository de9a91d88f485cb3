"""Member record status from authorizations (docs/using/authorization-imports.md), with its history.

Cancel → terminated_member, Pending → pending_member, Approved → new_member when the member
has no earlier approved authorization, else continuing_member; Denied → no change.
Events of one file apply in order of decision date, then row order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecm.clock import california_date
from ecm.kinds.authorization.rows import AuthorizationStatus
from ecm.patients.index_fields import with_index_fields

Item = dict[str, Any]
MEMBER_STATUSES = (
    "new_member",
    "continuing_member",
    "pending_member",
    "terminated_member",
    "inactive_member",
)
SYSTEM_IMPORT = "System Import"
TERMINATED = "terminated_member"
#: What the eligibility record says about a member's discontinuation, kept only while the
#: member is terminated_member.
DISCONTINUATION_FIELDS = ("discontinuation_reason", "discontinuation_date")


def change_status(
    eligibility: Item,
    status: str,
    *,
    now: str,
    by: str,
    reason: str | None = None,
    day: str | None = None,
) -> Item:
    """Set a member's status in place and answer its history entry (``id`` None: the caller
    assigns one). Becoming terminated_member records the discontinuation's day (``day``, else
    the California day of ``now``) and its reason when known; leaving it clears both."""
    eligibility["member_record_status"] = status
    eligibility["updated_at"] = now
    entry: Item = {"id": None, "status": status, "changed_at": now, "changed_by": by}
    if status == TERMINATED:
        eligibility["discontinuation_date"] = day or california_date(now).isoformat()
        if reason:
            eligibility["discontinuation_reason"] = entry["reason"] = reason
        else:
            eligibility.pop("discontinuation_reason", None)
    else:
        for field in DISCONTINUATION_FIELDS:
            eligibility.pop(field, None)
    return entry


@dataclass(frozen=True)
class AuthorizationEvent:
    auth_no: str
    status: str | None
    decision_date: str | None
    row: int
    #: when the plan received the authorization request: it dates the member's referral
    received_date: str | None = None

    @property
    def order(self) -> tuple[bool, str, int]:
        return (self.decision_date is None, self.decision_date or "", self.row)


def apply_authorization_events(patient: Item, events: list[AuthorizationEvent], now: str) -> int:
    """Apply events to the patient item in place; return how many history entries were added.

    New history entries get ``id`` None: the caller reserves ids for them.
    """
    eligibility = patient.setdefault("eligibility", {})
    approved = list(patient.get("approved_auth_nos") or [])
    history = list(patient.get("ecm_status_history") or [])
    added = 0
    latest = dict(patient.get("latest_authorization") or {})
    for event in sorted(events, key=lambda e: e.order):
        if (event.decision_date or "") >= (latest.get("decision_date") or ""):
            latest = {
                "auth_no": event.auth_no,
                "status": event.status,
                "decision_date": event.decision_date,
            }
        new_status: str | None
        if event.status == AuthorizationStatus.APPROVED:
            earlier = [a for a in approved if a != event.auth_no]
            new_status = "continuing_member" if earlier else "new_member"
            if event.auth_no not in approved:
                approved.append(event.auth_no)
        elif event.status == AuthorizationStatus.PENDING:
            new_status = "pending_member"
        elif event.status == AuthorizationStatus.CANCEL:
            new_status = TERMINATED
        else:
            new_status = None  # Denied or blank: no change
        if new_status and new_status != eligibility.get("member_record_status"):
            # A cancelled authorization ends services on its decision date.
            day = event.decision_date if new_status == TERMINATED else None
            history.append(
                change_status(eligibility, new_status, now=now, by=SYSTEM_IMPORT, day=day)
            )
            added += 1
    patient["approved_auth_nos"] = approved
    patient["ecm_status_history"] = history
    if latest:
        # What "filters.authorization_status" means: the member's latest authorization.
        patient["latest_authorization"] = latest
        patient["latest_authorization_status"] = latest.get("status")
    with_index_fields(patient)
    return added


def assign_history_ids(patients: list[Item], first_id: int) -> None:
    next_id = first_id
    for patient in patients:
        for entry in patient.get("ecm_status_history") or []:
            if entry.get("id") is None:
                entry["id"] = next_id
                next_id += 1
