"""The closed value sets request bodies are checked against (statuses, acuity levels,
discontinuation reasons, referral statuses and closure reasons)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from ecm.kinds.authorization.member_status import MEMBER_STATUSES
from ecm.kinds.authorization.rows import AuthorizationStatus
from ecm.kinds.values import ACUITY_LEVELS
from ecm.patients.referrals import CLOSURE_REASONS, REFERRAL_STATUSES


def _one_of(choices: tuple[str, ...] | list[str]) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return AfterValidator(check)


MemberStatusField = Annotated[str | None, _one_of(MEMBER_STATUSES)]
AcuityField = Annotated[str | None, _one_of(ACUITY_LEVELS)]
AuthorizationStatusField = Annotated[str | None, _one_of([s.value for s in AuthorizationStatus])]
ReferralStatusField = Annotated[str | None, _one_of(tuple(REFERRAL_STATUSES))]
ClosureReasonField = Annotated[str | None, _one_of(tuple(CLOSURE_REASONS))]

#: Why a member's ECM ended, as the API records it (the reasons DHCS's Health Homes and ECM
#: reporting use); ``ecm.exports.codes`` maps them to the return files' codes.
DISCONTINUATION_REASONS = {
    "goals_met": "Member met care plan goals or no longer needs ECM",
    "declined": "Member declined or no longer wishes to receive ECM",
    "unable_to_reach": "Unable to reach or engage the member",
    "unsafe_environment": "Unsafe behavior or environment",
    "deceased": "Member is deceased",
    "not_enrolled": "Member is no longer enrolled in the plan",
    "eligibility_on_hold": "Member's Medi-Cal eligibility is on hold or ended",
    "no_capacity": "Provider has no capacity for the member",
    "incorrect_information": "Member information is incorrect",
    "other_program": "Member moved to a duplicative or other program",
    "other": "Other",
}
DiscontinuationReasonField = Annotated[str | None, _one_of(tuple(DISCONTINUATION_REASONS))]
