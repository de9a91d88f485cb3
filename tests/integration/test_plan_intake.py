"""Our return files read as a plan's intake reads them (tests/plan_intake.py, which knows the
layout document and the code sets, never our exporter): a month set up through the API as
a user would (a plan and its layout, its MIF, outreach, enrollments one by one and in bulk,
a termination), then the RTF and OTF in CSV and XLSX, each checked column by column and
row by row."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import requests
from fixtures_builders import mif_csv, sample_mif_row
from plan_intake import ROOT, check_file, intake_spec, read_rows, with_check_digit
from stack_fixture import RunningStack, data_uri, patients_by_member, post_mif, wait_for_file

ECM = "/v1/admin/clinic/ecm"
PERIOD = "2026-11"
PRODUCED = "2026-12-03"

#: A plan whose layout changes what a plan may change: date and period formats, the
#: delimiter, codes (acuity letters, a discontinuation code, Y/N) and an added column.
CUSTOM_LAYOUT: dict[str, Any] = {
    "mcp_name": "Plan Intake Health",
    "mcp_identifier": "PI01",
    "rtf": {
        "date_format": "YYYY-MM-DD",
        "period_format": "MM/DD/YYYY-MM/DD/YYYY",
        "codes": {
            "acuity": {"low": "L", "medium": "M", "high": "H"},
            "discontinuation_reason": {"declined": "DP"},
        },
    },
    "otf": {
        "columns": [
            {"header": "Member CIN", "field": "cin"},
            {"header": "Reporting Month", "field": "reporting_period"},
            {"header": "Attempt Date", "field": "outreach_date"},
            {"header": "Method", "field": "outreach_method"},
            {"header": "Reached", "field": "outreach_successful"},
            {"header": "Provider NPI", "field": "provider_npi"},
            {"header": "Program", "value": "ECM"},
        ],
        "date_format": "YYYYMMDD",
        "period_format": "YYYYMM",
        "delimiter": "|",
        "codes": {
            "outreach_method": {"text": "4", "email": "4"},
            "yes_no": {"yes": "Y", "no": "N"},
        },
    },
}


def _sample_layout() -> dict[str, Any]:
    """The layout the repository ships as a sample (samples/plans), less its plan code."""
    document = json.loads((ROOT / "samples" / "plans" / "healthnet.json").read_text())
    document.pop("plan")
    return dict(document)


@dataclass
class Month:
    """One plan's month: its layout and what a plan expects back."""

    plan: str
    layout: dict[str, Any]
    members: dict[str, str]  # CIN -> the engagement status it must be reported with
    attempts: list[tuple[str, date]]  # the month's outreach attempts: (CIN, California day)
    left_out: str  # the CIN of a member terminated before the month


def call(
    stack: RunningStack, method: str, path: str, body: dict[str, Any] | None = None
) -> requests.Response:
    return requests.request(
        method, f"{stack.api}{ECM}{path}", json=body, headers=stack.headers(), timeout=120
    )


def _ok(response: requests.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def _mif_rows(first: int) -> list[dict[str, str]]:
    """Eight members with real-looking CINs and NPIs whose check digits are computed: two
    providers of the plan's network."""
    rows = []
    for n in range(8):
        row = sample_mif_row(first + n)
        row["CIN"] = f"9{first + n:07d}{'ABCDEFGH'[n]}"
        north = n < 4
        row["ECM_NPI"] = with_check_digit("1588667" + ("01" if north else "02"))
        row["ECM_PROVIDER_NAME"] = "Intake North Clinic" if north else "Intake South Clinic"
        row["ECM_BENEFIT_AUTH_EFF_DATE"] = "01-01-2026"
        row["ECM_BENEFIT_AUTH_END_DATE"] = "12-31-2026"
        rows.append(row)
    return rows


def _activity(stack: RunningStack, patient_id: int, **activity: Any) -> None:
    _ok(call(stack, "POST", f"/patients/{patient_id}/activities", {"activity": activity}), 201)


def _eligibility(stack: RunningStack, patient_id: int, values: dict[str, Any]) -> None:
    body = {"patient": {"ecm_eligibility_information": values}}
    _ok(call(stack, "PUT", f"/patients/{patient_id}", body))


def _set_up(stack: RunningStack, plan: str, layout: dict[str, Any], first: int) -> Month:
    _ok(call(stack, "PUT", f"/plans/{plan}", {"plan": {"name": plan.title(), **layout}}))
    rows = _mif_rows(first)
    answer = _ok(post_mif(stack, {"file": data_uri(mif_csv(rows), "csv"), "plan": plan}), 201)
    assert wait_for_file(stack, answer["mif_file_id"])["status"] == "completed"
    stored = patients_by_member(stack)
    _pending, reaching, enrolled, bulk_new, bulk_old, ended, gone, late = (
        int(stored[row["MEMBER_ID"]]["id"]) for row in rows
    )
    cin = [row["CIN"] for row in rows]

    # Outreach: two attempts on one day, one at 06:30 UTC on Dec 1 (Nov 30 in California),
    # one at 06:30 UTC on Nov 1 (still Oct 31 there: not the month's).
    _activity(
        stack,
        reaching,
        type="outreach",
        occurred_at="2026-11-03T17:00:00Z",
        method="phone",
        minutes=12,
        successful=True,
    )
    _activity(
        stack,
        reaching,
        type="outreach",
        occurred_at="2026-11-12T17:00:00Z",
        method="email",
        successful=False,
    )
    _activity(stack, reaching, type="outreach", occurred_at="2026-11-12T21:00:00Z", method="text")
    _activity(
        stack,
        bulk_new,
        type="outreach",
        occurred_at="2026-12-01T06:30:00Z",
        method="in_person",
        minutes=40,
        successful=True,
    )
    _activity(stack, enrolled, type="outreach", occurred_at="2026-11-01T06:30:00Z", method="phone")
    _activity(stack, bulk_old, type="encounter", occurred_at="2026-11-09T18:00:00Z", method="video")
    _activity(stack, late, type="outreach", occurred_at="2026-11-20T18:00:00Z", method="phone")

    # Enrollment: one by PUT, three in one bulk request (one of them after the month: still
    # in outreach for it); a termination in the month and one before it (not reported).
    _eligibility(
        stack,
        enrolled,
        {"member_record_status": "continuing_member", "ecm_enrollment_start_date": "2026-10-15"},
    )
    entries = [
        {
            "id": bulk_new,
            "ecm_eligibility_information": {
                "member_record_status": "continuing_member",
                "ecm_enrollment_start_date": "2026-11-05",
            },
        },
        {
            "id": bulk_old,
            "ecm_eligibility_information": {
                "member_record_status": "continuing_member",
                "ecm_enrollment_start_date": "2026-09-01",
            },
        },
        {
            "id": late,
            "ecm_eligibility_information": {
                "member_record_status": "continuing_member",
                "ecm_enrollment_start_date": "2026-12-02",
            },
        },
    ]
    _ok(call(stack, "POST", "/patients/bulk_update", {"patients": entries}))
    for patient_id, start, stop, reason in (
        (ended, "2026-06-01", "2026-11-20", "declined"),
        (gone, "2026-03-01", "2026-09-30", "goals_met"),
    ):
        _eligibility(stack, patient_id, {"ecm_enrollment_start_date": start})
        _eligibility(
            stack,
            patient_id,
            {
                "member_record_status": "terminated_member",
                "discontinuation_reason": reason,
                "discontinuation_date": stop,
            },
        )
    return Month(
        plan=plan,
        layout=layout,
        members={
            cin[0]: "pending_outreach",
            cin[1]: "in_outreach",
            cin[2]: "delivering_service",
            cin[3]: "delivering_service",
            cin[4]: "delivering_service",
            cin[5]: "discontinued",
            cin[7]: "in_outreach",
        },
        attempts=[
            (cin[1], date(2026, 11, 3)),
            (cin[1], date(2026, 11, 12)),
            (cin[1], date(2026, 11, 12)),
            (cin[3], date(2026, 11, 30)),
            (cin[7], date(2026, 11, 20)),
        ],
        left_out=cin[6],
    )


@pytest.fixture(scope="module")
def months(stack: RunningStack) -> dict[str, Month]:
    return {
        "custom": _set_up(stack, "pi-custom", CUSTOM_LAYOUT, 7_610_000),
        "sample": _set_up(stack, "pi-sample", _sample_layout(), 7_610_100),
    }


def _export(
    stack: RunningStack, month: Month, kind: str, file_format: str
) -> tuple[dict[str, Any], bytes]:
    body = {
        "export": {
            "kind": kind,
            "plan": month.plan,
            "period": PERIOD,
            "format": file_format,
            "production_date": PRODUCED,
        }
    }
    started = _ok(call(stack, "POST", "/exports", body), 201)
    export = _ok(call(stack, "GET", f"/exports/{started['export_id']}"))["export"]
    assert export["status"] == "completed", export
    download = requests.get(export["file_url"], timeout=60)
    assert download.status_code == 200
    return dict(export), download.content


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
@pytest.mark.parametrize("layout", ["custom", "sample"])
def test_a_plan_takes_our_rtf(
    stack: RunningStack, months: dict[str, Month], layout: str, file_format: str
) -> None:
    month = months[layout]
    export, content = _export(stack, month, "rtf", file_format)
    assert (export["row_count"], export["skipped_count"]) == (len(month.members), 0)
    spec = intake_spec("rtf", month.layout)
    assert check_file(content, file_format, spec, PERIOD, month.members) == []

    # And each member with the status the month gives them, in the plan's codes.
    again = check_file(content, file_format, spec, PERIOD, [*month.members, month.left_out])
    assert again == [f"member {month.left_out} has no row"]  # the check does look


def test_the_rtf_reports_each_member_as_the_month_left_them(
    stack: RunningStack, months: dict[str, Month]
) -> None:

    month = months["custom"]
    _, content = _export(stack, month, "rtf", "csv")
    spec = intake_spec("rtf", month.layout)
    rows, problems = read_rows(content, "csv", spec)
    assert problems == []
    headers = rows[0]
    by_cin = {
        r[headers.index("Member Client Index Number (CIN)")]: dict(zip(headers, r, strict=True))
        for r in rows[1:]
    }
    status_code = spec.codes["ecm_status"]
    assert {c: r["Member ECM Status"] for c, r in by_cin.items()} == {
        c: status_code[s] for c, s in month.members.items()
    }
    ended = next(c for c, s in month.members.items() if s == "discontinued")
    assert (
        by_cin[ended]["Discontinuation Date"],
        by_cin[ended]["Discontinuation Reason Code"],
        by_cin[ended]["Member Information File Reporting Period"],
    ) == ("2026-11-20", "DP", "11/01/2026-11/30/2026")


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
@pytest.mark.parametrize("layout", ["custom", "sample"])
def test_a_plan_takes_our_otf(
    stack: RunningStack, months: dict[str, Month], layout: str, file_format: str
) -> None:
    month = months[layout]
    export, content = _export(stack, month, "otf", file_format)
    assert (export["row_count"], export["skipped_count"]) == (len(month.attempts), 0)
    spec = intake_spec("otf", month.layout)
    assert check_file(content, file_format, spec, PERIOD, month.attempts) == []
    fewer = check_file(content, file_format, spec, PERIOD, month.attempts[1:])
    cin, day = month.attempts[0]
    assert fewer == [f"attempt {cin} on {day.isoformat()} has 1 row(s) more than expected"]
