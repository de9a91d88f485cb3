"""The status of engagement the return file reports, rule by rule, at the period's edges."""

from __future__ import annotations

from typing import Any

import pytest

from ecm.exports.engagement import (
    DELIVERING_SERVICE,
    DISCONTINUED,
    IN_OUTREACH,
    PENDING_OUTREACH,
    engagement_status,
)

LAST_DAY = "2026-11-30"


@pytest.mark.parametrize(
    ("eligibility", "reached", "expected"),
    [
        # Just assigned by the plan: nobody has reached them yet, whatever the record says.
        ({"member_record_status": "new_member"}, False, PENDING_OUTREACH),
        ({"member_record_status": "pending_member"}, False, PENDING_OUTREACH),
        ({}, False, PENDING_OUTREACH),
        ({"member_record_status": "new_member"}, True, IN_OUTREACH),
        ({"member_record_status": "continuing_member"}, True, IN_OUTREACH),
        # Enrolled on or before the period's last day: delivering, even if inactive for now.
        ({"ecm_enrollment_start_date": LAST_DAY}, False, DELIVERING_SERVICE),
        (
            {"member_record_status": "inactive_member", "ecm_enrollment_start_date": "2026-01-02"},
            True,
            DELIVERING_SERVICE,
        ),
        # Enrolled only after the period: not yet delivering in it.
        ({"ecm_enrollment_start_date": "2026-12-01"}, True, IN_OUTREACH),
        ({"ecm_enrollment_start_date": "2026-12-01"}, False, PENDING_OUTREACH),
        # Discontinued by the period's end, or with no date (the row then lacks the date).
        (
            {
                "member_record_status": "terminated_member",
                "ecm_enrollment_start_date": "2026-02-01",
                "discontinuation_date": LAST_DAY,
            },
            True,
            DISCONTINUED,
        ),
        ({"member_record_status": "terminated_member"}, False, DISCONTINUED),
        # Discontinued only after the period: in it, still delivering (or in outreach).
        (
            {
                "member_record_status": "terminated_member",
                "ecm_enrollment_start_date": "2026-02-01",
                "discontinuation_date": "2026-12-01",
            },
            True,
            DELIVERING_SERVICE,
        ),
        (
            {"member_record_status": "terminated_member", "discontinuation_date": "2026-12-03"},
            True,
            IN_OUTREACH,
        ),
    ],
)
def test_each_rule_and_its_edges(eligibility: dict[str, Any], reached: bool, expected: str) -> None:
    assert engagement_status(eligibility, reached, LAST_DAY) == expected
