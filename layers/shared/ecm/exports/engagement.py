"""A member's status of engagement for a reporting period, from what we hold.

The return file asks where each member the plan assigned stands with ECM in the month, and
the member's record status alone cannot say it: a member the plan has just assigned is
``new_member`` but nobody has reached them yet. The rule (docs/return-files.md, "Member ECM
Status"), first match wins, everything as of the period's last day:

1. discontinued: the member is terminated and the discontinuation date is on or before the
   period's end (a terminated member with no date is discontinued too; the row then lacks
   the date the file requires and is skipped with that reason);
2. delivering service: an enrollment start date on or before the period's end;
3. in outreach: outreach recorded (an outreach attempt, or any encounter, assessment or care
   plan, which could not happen without reaching the member) on or before the period's end;
4. pending outreach: none of these.
"""

from __future__ import annotations

from typing import Any

PENDING_OUTREACH = "pending_outreach"
IN_OUTREACH = "in_outreach"
DELIVERING_SERVICE = "delivering_service"
DISCONTINUED = "discontinued"
#: In the order of the return file's codes 1-4.
ENGAGEMENT_STATUSES = (PENDING_OUTREACH, IN_OUTREACH, DELIVERING_SERVICE, DISCONTINUED)

TERMINATED = "terminated_member"


def engagement_status(eligibility: dict[str, Any], reached: bool, last_day: str) -> str:
    """The status for the period ending ``last_day`` (ISO date); ``reached``: outreach or
    other work with the member was recorded on or before that day."""
    stopped = eligibility.get("discontinuation_date")
    if eligibility.get("member_record_status") == TERMINATED and (
        not stopped or stopped <= last_day
    ):
        return DISCONTINUED
    start = eligibility.get("ecm_enrollment_start_date")
    if start and start <= last_day:
        return DELIVERING_SERVICE
    return IN_OUTREACH if reached else PENDING_OUTREACH
