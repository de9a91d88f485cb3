"""Each member's referral, closed-loop, over HTTP (docs/using/patients.md, Referral): dated by
what brought the member, moved by enrollment and discontinuation, set by hand through PUT
and bulk_update with its history and audit, and reported in the RTF's three CLR columns."""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path
from typing import Any

import requests
from fixtures_builders import auth_xlsx, mif_csv, sample_auth_row, sample_mif_row
from stack_fixture import RunningStack, data_uri, patients_by_member, post_mif, wait_for_file

from ecm.clock import california_date

ECM = "/v1/admin/clinic/ecm"
PLAN = "rf-plan"
FIRST = 745_000  # members of its own: test_console_browser takes 740,000 on the session stack
REFERRAL = "ecm_eligibility_information.referral"


def call(
    stack: RunningStack, method: str, path: str, body: dict[str, Any] | None = None
) -> requests.Response:
    return requests.request(
        method, f"{stack.api}{ECM}{path}", json=body, headers=stack.headers(), timeout=60
    )


def _ok(response: requests.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def _import(stack: RunningStack, rows: list[dict[str, str]], plan: str = PLAN) -> None:
    response = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv"), "plan": plan})
    assert response.status_code == 201, response.text
    assert wait_for_file(stack, response.json()["mif_file_id"])["status"] == "completed"


def _authorizations(stack: RunningStack, rows: list[dict[str, Any]]) -> None:
    content = base64.b64encode(auth_xlsx(rows)).decode()
    _ok(call(stack, "POST", "/authorizations", {"authorization": {"file": content}}), 201)


def _id(stack: RunningStack, i: int) -> int:
    return int(patients_by_member(stack)[sample_mif_row(i)["MEMBER_ID"]]["id"])


def _referral(stack: RunningStack, patient_id: int) -> dict[str, Any]:
    patient = _ok(call(stack, "GET", f"/patients/{patient_id}"))["patient"]
    return dict(patient["ecm_eligibility_information"]["referral"])


def _put(stack: RunningStack, patient_id: int, eligibility: dict[str, Any]) -> requests.Response:
    body = {"patient": {"ecm_eligibility_information": eligibility}}
    return call(stack, "PUT", f"/patients/{patient_id}", body)


def _history(referral: dict[str, Any]) -> list[tuple[str, str, str | None, str]]:
    return [
        (e["status"], e["status_date"], e["closure_reason"], e["changed_by"])
        for e in referral["history"]
    ]


def test_a_members_referral_is_dated_by_what_brought_them(stack: RunningStack) -> None:
    today = california_date().isoformat()
    # An authorization for a member no MIF has brought yet: it waits for the member.
    _authorizations(
        stack, [sample_auth_row(FIRST, RECEIVED_DATE="2024-01-10", DECISION_DATE="2024-01-20")]
    )
    rows = [sample_mif_row(FIRST + i) for i in range(3)]
    rows[2]["ECM_BENEFIT_AUTH_EFF_DATE"] = rows[2]["ECM_BENEFIT_AUTH_END_DATE"] = ""
    _import(stack, rows)
    by_authorization, by_benefit, by_import = (_id(stack, FIRST + i) for i in range(3))
    got = {
        name: (r["received_date"], r["received_from"], r["status"], r["status_date"])
        for name, r in (
            ("authorization", _referral(stack, by_authorization)),
            ("benefit", _referral(stack, by_benefit)),
            ("import", _referral(stack, by_import)),
        )
    }
    assert got == {
        "authorization": ("2024-01-10", "authorization", "received", "2024-01-10"),
        "benefit": ("2024-01-01", "benefit", "received", "2024-01-01"),
        "import": (today, "import", "received", today),
    }
    # A later MIF of the same members keeps each referral as it is.
    _import(stack, rows[:1])
    assert _referral(stack, by_authorization)["received_date"] == "2024-01-10"
    # An authorization arriving after the member, while the referral is only received,
    # dates it by its own received date.
    _authorizations(
        stack, [sample_auth_row(FIRST + 1, RECEIVED_DATE="2024-02-03", DECISION_DATE="2024-02-05")]
    )
    moved = _referral(stack, by_benefit)
    assert (moved["received_date"], moved["received_from"]) == ("2024-02-03", "authorization")
    assert _history(moved) == [("received", "2024-02-03", None, "System")]


def test_a_put_sets_the_referral_by_hand_with_history_and_audit(stack: RunningStack) -> None:
    _import(stack, [sample_mif_row(FIRST + 10)])
    patient_id = _id(stack, FIRST + 10)
    answer = _ok(
        _put(
            stack,
            patient_id,
            {"referral": {"status": "declined", "closure_reason": "declined"}},
        )
    )
    referral = answer["patient"]["ecm_eligibility_information"]["referral"]
    today = california_date().isoformat()
    assert (referral["status"], referral["status_date"], referral["closure_reason"]) == (
        "declined",
        today,
        "declined",
    )
    assert _history(referral) == [
        ("received", "2024-01-01", None, "System"),
        ("declined", today, "declined", "Local Admin"),
    ]
    _ok(_put(stack, patient_id, {"referral": {"status": "accepted", "status_date": "2025-05-01"}}))
    assert _history(_referral(stack, patient_id))[-1] == (
        "accepted",
        "2025-05-01",
        None,
        "Local Admin",
    )
    audit = _ok(call(stack, "GET", f"/patients/{patient_id}/audit"))["audit_entries"]
    assert [a["action"] for a in audit].count("update") == 2

    before = _ok(call(stack, "GET", f"/patients/{patient_id}"))["patient"]
    where = f"patient.{REFERRAL}"
    for body, message in (
        ({"status": "open"}, f"{where}.status must be one of received, accepted, declined, closed"),
        (
            {"closure_reason": "services_received"},
            f"{where}.closure_reason needs status declined or closed, not accepted",
        ),
        (
            {"status": "closed", "status_date": "2999-01-01"},
            f"{where}.status_date can't be in the future",
        ),
        (
            {"status": "closed", "status_date": "2023-12-31"},
            f"{where}.status_date can't be before received_date",
        ),
    ):
        refused = _put(stack, patient_id, {"referral": body})
        assert (refused.status_code, refused.json()) == (422, {"errors": [message]}), body
    after = _ok(call(stack, "GET", f"/patients/{patient_id}"))["patient"]
    assert after["version"] == before["version"]
    assert (
        after["ecm_eligibility_information"]["referral"]
        == (before["ecm_eligibility_information"]["referral"])
    )


def test_enrolling_accepts_and_a_declined_discontinuation_closes_it(stack: RunningStack) -> None:
    _import(stack, [sample_mif_row(FIRST + 20)])
    patient_id = _id(stack, FIRST + 20)
    _ok(_put(stack, patient_id, {"ecm_enrollment_start_date": "2026-02-01"}))
    accepted = _referral(stack, patient_id)
    assert (accepted["status"], accepted["status_date"]) == ("accepted", "2026-02-01")
    _ok(
        _put(
            stack,
            patient_id,
            {
                "member_record_status": "terminated_member",
                "discontinuation_reason": "declined",
                "discontinuation_date": "2026-03-15",
            },
        )
    )
    assert _history(_referral(stack, patient_id)) == [
        ("received", "2024-01-01", None, "System"),
        ("accepted", "2026-02-01", None, "System"),
        ("closed", "2026-03-15", "declined", "System"),
    ]


def test_a_bulk_update_moves_and_sets_referrals_all_or_nothing(stack: RunningStack) -> None:
    _import(stack, [sample_mif_row(FIRST + 30 + i) for i in range(3)])
    enrolled, unreached, served = (_id(stack, FIRST + 30 + i) for i in range(3))
    entries = [
        {
            "id": enrolled,
            "ecm_eligibility_information": {"ecm_enrollment_start_date": "2026-04-01"},
        },
        {
            "id": unreached,
            "ecm_eligibility_information": {
                "member_record_status": "terminated_member",
                "discontinuation_reason": "unable_to_reach",
                "discontinuation_date": "2026-04-20",
            },
        },
        {
            "id": served,
            "ecm_eligibility_information": {
                "referral": {"status": "closed", "closure_reason": "services_received"}
            },
        },
    ]
    # A closure reason for a referral that is not closed: the whole request is refused.
    reason_only = {"referral": {"closure_reason": "declined"}}
    bad = [*entries[:2], {"id": served, "ecm_eligibility_information": reason_only}]
    refused = call(stack, "POST", "/patients/bulk_update", {"patients": bad})
    assert (refused.status_code, refused.json()) == (
        422,
        {
            "errors": [
                f"patients[2] (id {served}): {REFERRAL}.closure_reason needs status declined "
                "or closed, not received"
            ]
        },
    )
    assert _referral(stack, enrolled)["status"] == "received"  # nothing written

    answer = _ok(call(stack, "POST", "/patients/bulk_update", {"patients": entries}))
    shown = {p["id"]: p["ecm_eligibility_information"]["referral"] for p in answer["patients"]}
    today = california_date().isoformat()
    assert {i: (r["status"], r["status_date"], r["closure_reason"]) for i, r in shown.items()} == {
        enrolled: ("accepted", "2026-04-01", None),
        unreached: ("closed", "2026-04-20", "unable_to_reach"),
        served: ("closed", today, "services_received"),
    }
    assert _history(shown[served])[-1][3] == "Local Admin"
    for patient_id in (enrolled, unreached, served):
        audit = _ok(call(stack, "GET", f"/patients/{patient_id}/audit"))["audit_entries"]
        assert "update" in [a["action"] for a in audit]
        assert _referral(stack, patient_id) == shown[patient_id]


def _rtf(stack: RunningStack, plan: str, tmp_path: Path) -> dict[str, dict[str, str]]:
    """The plan's RTF for March 2026, by CIN: where each referral stood on March 31."""
    body = {"export": {"kind": "rtf", "plan": plan, "period": "2026-03"}}
    started = _ok(call(stack, "POST", "/exports", body), 201)
    export = _ok(call(stack, "GET", f"/exports/{started['export_id']}"))["export"]
    assert (export["status"], export["skipped_count"]) == ("completed", 0), export
    path = tmp_path / f"{plan}.csv"
    path.write_bytes(requests.get(export["file_url"], timeout=60).content)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {r["Member Client Index Number (CIN)"]: r for r in rows}


CLR = ("Referral Status", "Date of Referral Status Update", "Reason for Referral Loop Closure")


def test_the_rtf_reports_each_referral_and_a_plan_layout_recodes_it(
    stack: RunningStack, tmp_path: Path
) -> None:
    plan = "rf-rtf"
    rows = [sample_mif_row(FIRST + 40 + i) for i in range(3)]
    _import(stack, rows, plan)
    enrolled, declined = (_id(stack, FIRST + 40 + i) for i in (1, 2))
    _ok(_put(stack, enrolled, {"ecm_enrollment_start_date": "2026-02-01"}))
    _ok(
        _put(
            stack,
            declined,
            {
                "member_record_status": "terminated_member",
                "discontinuation_reason": "declined",
                "discontinuation_date": "2026-03-15",
            },
        )
    )
    cins = [r["CIN"] for r in rows]
    default = _rtf(stack, plan, tmp_path)
    assert [tuple(default[c][h] for h in CLR) for c in cins] == [
        ("Received", "01/01/2024", ""),
        ("Accepted", "02/01/2026", ""),
        ("Closed", "03/15/2026", "Member Declined"),
    ]
    document = {
        "plan": plan,
        "rtf": {
            "codes": {
                "referral_status": {"received": "1", "accepted": "2", "closed": "4"},
                "referral_closure_reason": {"declined": "02"},
            }
        },
    }
    stack.client("s3").put_object(
        Bucket=stack.bucket, Key=f"config/plans/{plan}.json", Body=json.dumps(document).encode()
    )
    recoded = _rtf(stack, plan, tmp_path)
    assert [tuple(recoded[c][h] for h in CLR) for c in cins] == [
        ("1", "01/01/2024", ""),
        ("2", "02/01/2026", ""),
        ("4", "03/15/2026", "02"),
    ]
