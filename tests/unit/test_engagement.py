"""The status of engagement the return file reports, rule by rule, at the period's edges."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ecm.exports.engagement import (
    DELIVERING_SERVICE,
    DISCONTINUED,
    IN_OUTREACH,
    PENDING_OUTREACH,
    engagement_status,
)
from ecm.exports.layouts import effective_layout
from ecm.exports.rows import ExportContext, Period
from ecm.exports.rtf import REACHING, RTF_FIELDS, ActivitySummary, rtf_values

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


@pytest.mark.parametrize(
    ("eligibility", "reached", "expected"),
    [
        # Enrolled after the month: in outreach for it, and no enrollment dates yet.
        (
            {"ecm_enrollment_start_date": "2026-12-02", "ecm_enrollment_end_date": "2027-06-30"},
            True,
            ("2", "", ""),
        ),
        ({"ecm_enrollment_start_date": "2026-12-01"}, False, ("1", "", "")),
        # Enrolled by the month's end: the dates as recorded, a later end date included.
        (
            {"ecm_enrollment_start_date": LAST_DAY, "ecm_enrollment_end_date": "2027-06-30"},
            False,
            ("3", "11/30/2026", "06/30/2027"),
        ),
    ],
)
def test_the_enrollment_columns_are_as_the_months_end_saw_them(
    eligibility: dict[str, Any], reached: bool, expected: tuple[str, str, str]
) -> None:
    context = ExportContext(
        plan="p",
        period=Period.of("2026-11"),
        production=date(2026, 12, 3),
        layout=effective_layout("rtf", "p", RTF_FIELDS, None),
    )
    summary = ActivitySummary(latest={kind: {} for kind in REACHING})
    if reached:
        summary.latest["outreach"][1] = "2026-11-20"
    patient = {"id": 1, "eligibility": {"cin": "912345678A", **eligibility}}
    values = rtf_values(patient, context, summary, {}, {})
    assert (
        values["ecm_status"],
        values["enrollment_start_date"],
        values["enrollment_end_date"],
    ) == expected
