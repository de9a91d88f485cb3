"""The referral part of PUT /patients/{id} (``ecm_eligibility_information.referral``): a
change by hand, checked against the referral it changes, and the rules
(``ecm.patients.referrals.follow``) for what else the same request changed."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from ecm.api.schemas import RequestBody
from ecm.clock import california_date, request_date
from ecm.errors import ApiError
from ecm.patients.choices import ClosureReasonField, ReferralStatusField
from ecm.patients.referrals import (
    CLOSED_STATUSES,
    FROM_USER,
    RECEIVED,
    follow,
    referral_of,
    set_status,
)

Item = dict[str, Any]
REFERRAL = "patient.ecm_eligibility_information.referral"


class ReferralUpdate(RequestBody):
    received_date: str | None = Field(None, description="YYYY-MM-DD; not in the future")
    status: ReferralStatusField = Field(
        None, description="A new status; its date is status_date, else today"
    )
    status_date: str | None = Field(
        None, description="YYYY-MM-DD; not in the future nor before received_date"
    )
    closure_reason: ClosureReasonField = Field(
        None, description=f"Why the loop closed; only with status {' or '.join(CLOSED_STATUSES)}"
    )

    _dates = field_validator("received_date", "status_date")(request_date)


def _by_hand(referral: Item, update: ReferralUpdate, now: str, by: str) -> None:
    """Apply what ``update`` sets, in place; 422 naming the field for a value the referral
    cannot take."""
    today = california_date(now).isoformat()
    for field in ("received_date", "status_date"):
        value = getattr(update, field)
        if value is not None and value > today:
            raise ApiError(422, f"{REFERRAL}.{field} can't be in the future")
    if update.received_date is not None and update.received_date != referral["received_date"]:
        old = referral["received_date"]
        referral["received_date"], referral["received_from"] = update.received_date, FROM_USER
        if referral["status"] == RECEIVED and referral["status_date"] == old:
            referral["status_date"] = update.received_date
    current = str(referral["status"])
    status = update.status or current
    if update.closure_reason is not None and status not in CLOSED_STATUSES:
        raise ApiError(
            422,
            f"{REFERRAL}.closure_reason needs status {' or '.join(CLOSED_STATUSES)}, not {status}",
        )
    moved = status != current
    day = update.status_date or (today if moved else str(referral["status_date"]))
    if day < str(referral["received_date"]):
        raise ApiError(422, f"{REFERRAL}.status_date can't be before received_date")
    if moved or update.status_date is not None or update.closure_reason is not None:
        kept_reason = None if moved else referral.get("closure_reason")
        reason = update.closure_reason or kept_reason
        set_status(referral, status, day, str(reason) if reason else None, now, by)


def change_referral(
    prior: Item, eligibility: Item, update: ReferralUpdate | None, now: str, by: str
) -> None:
    """The referral after a PUT that changed ``prior``'s eligibility record into
    ``eligibility`` (in place): the rules for what changed (unless the request sets the
    status itself), then the change by hand. Kept on the record only when it differs
    from the referral the patient had."""
    before = referral_of(prior)
    referral = referral_of(prior)
    if update is None or update.status is None:
        follow(prior.get("eligibility") or {}, eligibility, referral, now)
    if update is not None:
        _by_hand(referral, update, now, by)
    if referral != before:
        eligibility["referral"] = referral
