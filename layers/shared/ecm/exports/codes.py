"""Our values → the return files' codes, in one table per code set (docs/return-files.md).

DHCS's own code lists were not found in public sources; each table says how sure it is.
A value with no code here (or in the plan's layout, which may add or change codes) is not
guessed: the row that needs it is left out of the file and listed with why, so the
provider can record the value or map it in the plan's layout.
"""

from __future__ import annotations

from ecm.exports.engagement import (
    DELIVERING_SERVICE,
    DISCONTINUED,
    ENGAGEMENT_STATUSES,
    IN_OUTREACH,
    PENDING_OUTREACH,
)
from ecm.kinds.values import ACUITY_LEVELS
from ecm.patients.activities import ACTIVITY_METHODS
from ecm.patients.choices import DISCONTINUATION_REASONS
from ecm.patients.referrals import CLOSURE_REASONS, REFERRAL_STATUSES

#: Member ECM status ("Status of Member Engagement"), by the engagement status
#: ``ecm.exports.engagement`` derives: 1 Pending Outreach, 2 Currently in Outreach,
#: 3 Currently Delivering Service, 4 Services Discontinued (a Community Supports RTF manual;
#: not re-confirmed).
ECM_STATUS = {
    PENDING_OUTREACH: "1",
    IN_OUTREACH: "2",
    DELIVERING_SERVICE: "3",
    DISCONTINUED: "4",
}

#: Outreach Attempt Method: 1 In-Person, 2 Telephonic, 3 Electronic (email, text, other
#: electronic), as DHCS's FAQ lists what counts as an attempt. Mail and "other" have none.
OUTREACH_METHOD = {
    "in_person": "1",
    "phone": "2",
    "video": "2",
    "text": "3",
    "email": "3",
}

#: Discontinuation Reason Code (numeric): 1, 3, 8 and 15 are the likely DHCS meanings seen in
#: plan-side reporting code; 4 and 7 less sure. Deceased, unsafe environment, eligibility on
#: hold, no capacity and incorrect information have no confirmed code.
DISCONTINUATION_REASON = {
    "goals_met": "1",
    "declined": "3",
    "unable_to_reach": "4",
    "other_program": "7",
    "not_enrolled": "8",
    "other": "15",
}

#: Referral Status and Reason for Referral (Loop) Closure: the referral's own values
#: (``ecm.patients.referrals``), written in DHCS's words where a public source states them
#: ("Declined", "Services Received") and in ours otherwise; no public code numbers were
#: found, so a plan that wants numbers gives them in its layout.
REFERRAL_STATUS = {value: code.label for value, code in REFERRAL_STATUSES.items()}
REFERRAL_CLOSURE_REASON = {value: code.label for value, code in CLOSURE_REASONS.items()}

#: Yes/no indicators: 1 / 0, blank when unknown.
YES_NO = {"yes": "1", "no": "0"}

#: Acuity as the MIF gives it; plans that want codes map them in their layout.
ACUITY = {"low": "Low", "medium": "Medium", "high": "High"}

#: The values each code set codes: a layout may give codes for these and nothing else.
CODE_DOMAINS: dict[str, tuple[str, ...]] = {
    "ecm_status": ENGAGEMENT_STATUSES,
    "outreach_method": ACTIVITY_METHODS,
    "discontinuation_reason": tuple(DISCONTINUATION_REASONS),
    "yes_no": ("yes", "no"),
    "acuity": ACUITY_LEVELS,
    "referral_status": tuple(REFERRAL_STATUSES),
    "referral_closure_reason": tuple(CLOSURE_REASONS),
}

#: The code sets a layout's ``codes`` may extend or change, by name.
CODE_SETS: dict[str, dict[str, str]] = {
    "ecm_status": ECM_STATUS,
    "outreach_method": OUTREACH_METHOD,
    "discontinuation_reason": DISCONTINUATION_REASON,
    "yes_no": YES_NO,
    "acuity": ACUITY,
    "referral_status": REFERRAL_STATUS,
    "referral_closure_reason": REFERRAL_CLOSURE_REASON,
}
