"""A member's referral to ECM, closed-loop: when it was received, where it stands, why its
loop closed, and every change of it (docs/using/patients.md, Referral).

The plan tracks each referral it makes and closes its loop from what the provider's return
file says, so the referral is ours to keep. Its values are the one table below: the API
checks against it, the return file's codes (``ecm.exports.codes``) are built from it, and
docs/return-files.md says which value a public source confirms and which is our choice.

Where a rule is clear the referral follows what happens without anyone typing it:

- received: at the member's arrival, dated by the authorization's received date, else the
  benefit's effective date (no later than the import's day), else the import's day;
- accepted: when the member's ECM enrollment start date is recorded, if still received;
- closed: when the member is discontinued for a reason that closes the loop (declined,
  unable to reach), with that reason, unless already closed.

A change by hand always wins, and the rules never reopen a referral.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ecm.clock import california_date
from ecm.kinds.authorization.member_status import TERMINATED

Item = dict[str, Any]


@dataclass(frozen=True)
class CodeValue:
    """One value of a referral code set."""

    #: what the return file writes by default: DHCS's own words where a public source
    #: states the value, else ours (a plan's layout may re-code it)
    label: str
    #: whether a public DHCS source states this value (docs/return-files.md names it)
    confirmed: bool


RECEIVED = "received"
ACCEPTED = "accepted"
DECLINED = "declined"
CLOSED = "closed"

REFERRAL_STATUSES: dict[str, CodeValue] = {
    RECEIVED: CodeValue("Received", confirmed=False),
    ACCEPTED: CodeValue("Accepted", confirmed=False),
    DECLINED: CodeValue("Declined", confirmed=True),
    CLOSED: CodeValue("Closed", confirmed=False),
}
#: The statuses that end a referral's loop: only they carry a closure reason.
CLOSED_STATUSES = (DECLINED, CLOSED)

CLOSURE_REASONS: dict[str, CodeValue] = {
    "services_received": CodeValue("Services Received", confirmed=True),
    "declined": CodeValue("Member Declined", confirmed=False),
    "unable_to_reach": CodeValue("Unable to Reach", confirmed=False),
    "ineligible": CodeValue("Member Ineligible", confirmed=False),
    "other": CodeValue("Other", confirmed=False),
}

#: Discontinuation reasons (``ecm.patients.choices``) that close the loop by themselves,
#: with the closure reason each gives.
CLOSING_DISCONTINUATIONS = {"declined": "declined", "unable_to_reach": "unable_to_reach"}

#: Where ``received_date`` came from.
FROM_AUTHORIZATION, FROM_BENEFIT, FROM_IMPORT, FROM_USER = (
    "authorization",
    "benefit",
    "import",
    "user",
)
#: Who a rule's change is recorded as.
SYSTEM = "System"


@dataclass(frozen=True)
class ReferralState:
    """Where a referral stood on a day: what the return file reports for a month."""

    status: str
    status_date: str
    closure_reason: str | None


def _entry(referral: Item, now: str, by: str) -> Item:
    return {
        "status": referral["status"],
        "status_date": referral["status_date"],
        "closure_reason": referral.get("closure_reason"),
        "changed_at": now,
        "changed_by": by,
    }


def new_referral(eligibility: Item, import_day: str, now: str, by: str) -> Item:
    """A referral received as the member arrives: dated by the benefit's effective date
    (no later than ``import_day``: the referral was in hand when the file came), else the
    import's day. An authorization's received date comes after (``authorization_received``)."""
    benefit = eligibility.get("ecm_benefit_auth_eff_date")
    if benefit:
        received, source = min(benefit, import_day), FROM_BENEFIT
    else:
        received, source = import_day, FROM_IMPORT
    referral: Item = {
        "received_date": received,
        "received_from": source,
        "status": RECEIVED,
        "status_date": received,
    }
    referral["history"] = [_entry(referral, now, by)]
    return referral


def set_status(
    referral: Item, status: str, day: str, reason: str | None, now: str, by: str
) -> bool:
    """Change the referral in place and record it; False when it already says this. A
    closure reason belongs to a closed status only (the caller checks what it is given)."""
    reason = reason if status in CLOSED_STATUSES else None
    current = (referral.get("status"), referral.get("status_date"), referral.get("closure_reason"))
    if current == (status, day, reason):
        return False
    referral["status"], referral["status_date"] = status, day
    if reason:
        referral["closure_reason"] = reason
    else:
        referral.pop("closure_reason", None)
    referral["history"] = [*(referral.get("history") or []), _entry(referral, now, by)]
    return True


def _bounded(referral: Item, day: str | None, today: str) -> str:
    """A rule's status date: the day of the event, never before the referral's receipt
    nor after today."""
    return max(str(referral["received_date"]), min(day or today, today))


def follow(
    before: Item, after: Item, referral: Item, now: str, by: str = SYSTEM, today: str | None = None
) -> bool:
    """Apply the rules to ``referral`` in place for an eligibility record changed from
    ``before`` to ``after`` (recorded at ``now``; ``today``, the clinic's day, bounds the
    dates: ``now``'s day unless given); True when the referral changed."""
    today = today or california_date(now).isoformat()
    changed = False
    start = after.get("ecm_enrollment_start_date")
    if start and not before.get("ecm_enrollment_start_date") and referral["status"] == RECEIVED:
        changed |= set_status(referral, ACCEPTED, _bounded(referral, start, today), None, now, by)
    reason = after.get("discontinuation_reason")
    closing = CLOSING_DISCONTINUATIONS.get(reason or "")
    newly = before.get("member_record_status") != TERMINATED or (
        before.get("discontinuation_reason") != reason
    )
    if (
        closing
        and newly
        and after.get("member_record_status") == TERMINATED
        and referral["status"] not in CLOSED_STATUSES
    ):
        day = _bounded(referral, after.get("discontinuation_date"), today)
        changed |= set_status(referral, CLOSED, day, closing, now, by)
    return changed


def _arrival(patient: Item) -> str:
    """When we learned of the member: the eligibility record's creation, else the patient's."""
    eligibility = patient.get("eligibility") or {}
    return str(eligibility.get("created_at") or patient.get("created_at") or "")


def referral_of(patient: Item) -> Item:
    """The patient's referral: the one kept, else (a member stored before referrals were
    kept) the one the rules give from the record as it stands, dated by its arrival. A
    copy: the caller may change it."""
    eligibility = patient.get("eligibility") or {}
    kept = eligibility.get("referral")
    if kept:
        return copy.deepcopy(dict(kept))
    arrived = _arrival(patient)
    now = arrived or "1970-01-01T00:00:00.000Z"
    referral = new_referral(eligibility, california_date(now).isoformat(), now, SYSTEM)
    follow({}, eligibility, referral, now, today=california_date().isoformat())
    return referral


def authorization_received(patient: Item, dates: list[str | None]) -> bool:
    """Date the referral by its authorizations' received dates, in place: the earliest one
    replaces a date the referral only had from the benefit or the import (while the
    referral is still just received: the authorization is what brought the member), and
    replaces any earlier-dated authorization's only when earlier itself (a later one is a
    re-authorization). A date a user gave is kept. True when the referral changed; it is
    then kept on the patient."""
    known = [d for d in dates if d]
    eligibility = patient.setdefault("eligibility", {})
    referral = referral_of(patient)
    if not known or referral.get("received_from") == FROM_USER:
        return False
    earliest, old = min(known), referral["received_date"]
    untouched = referral["status"] == RECEIVED and len(referral.get("history") or []) <= 1
    fallback = referral.get("received_from") in (FROM_BENEFIT, FROM_IMPORT)
    if (earliest > old and not (fallback and untouched)) or (earliest == old and not fallback):
        return False
    referral["received_date"], referral["received_from"] = earliest, FROM_AUTHORIZATION
    for item in [referral, *(referral.get("history") or [])]:
        if item.get("status") == RECEIVED and item.get("status_date") == old:
            item["status_date"] = earliest
    eligibility["referral"] = referral
    return True


def referral_as_of(referral: Item, day: str) -> ReferralState:
    """Where the referral stood at the end of ``day``: its last recorded change dated on or
    before it; received (on its received date) when none is."""
    for entry in reversed(referral.get("history") or []):
        if entry.get("status_date") and entry["status_date"] <= day:
            return ReferralState(entry["status"], entry["status_date"], entry.get("closure_reason"))
    if not referral.get("history") and referral.get("status_date", "") <= day:
        status = referral["status"]
        return ReferralState(status, referral["status_date"], referral.get("closure_reason"))
    return ReferralState(RECEIVED, referral["received_date"], None)


def referral_view(patient: Item) -> Item:
    """The referral as GET /patients/{id} shows it (``ecm_eligibility_information.referral``)."""
    referral = referral_of(patient)
    return {
        "received_date": referral["received_date"],
        "received_from": referral.get("received_from"),
        "status": referral["status"],
        "status_date": referral["status_date"],
        "closure_reason": referral.get("closure_reason"),
        "history": [
            {
                "status": entry["status"],
                "status_date": entry["status_date"],
                "closure_reason": entry.get("closure_reason"),
                "changed_at": entry.get("changed_at"),
                "changed_by": entry.get("changed_by"),
            }
            for entry in referral.get("history") or []
        ],
    }


def keep_referral(patient: Item) -> None:
    """Keep the patient's referral on its record, as the member arrives (or, for a member
    stored before referrals were kept, as the rules give it from the record)."""
    eligibility = patient.setdefault("eligibility", {})
    if not eligibility.get("referral"):
        eligibility["referral"] = referral_of(patient)
