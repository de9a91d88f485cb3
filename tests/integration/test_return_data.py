"""What the return files need that the imports do not hold (docs/using/return-files.md): the plan a
member came from, ECM enrollment dates, the discontinuation of a terminated member, the lead care
manager's phone and email, and whether an outreach attempt reached the member."""

from __future__ import annotations

import time
from typing import Any

import requests
from fixtures_builders import mif_csv, sample_mif_row
from stack_fixture import RunningStack, data_uri, patients_by_member, post_mif, wait_for_file

ECM = "/v1/admin/clinic/ecm"
ELIGIBILITY = "patient.ecm_eligibility_information"


def call(
    stack: RunningStack, method: str, path: str, body: dict[str, Any] | None = None
) -> requests.Response:
    return requests.request(
        method, f"{stack.api}{ECM}{path}", json=body, headers=stack.headers(), timeout=60
    )


def _import(stack: RunningStack, first: int, count: int, **options: Any) -> dict[str, Any]:
    content = mif_csv([sample_mif_row(i) for i in range(first, first + count)])
    response = post_mif(stack, {"file": data_uri(content, "csv"), **options})
    assert response.status_code == 201, response.text
    return wait_for_file(stack, response.json()["mif_file_id"])


def _patient(stack: RunningStack, i: int) -> dict[str, Any]:
    stored = patients_by_member(stack)[sample_mif_row(i)["MEMBER_ID"]]
    response = call(stack, "GET", f"/patients/{stored['id']}")
    assert response.status_code == 200, response.text
    return dict(response.json()["patient"])


def _put(stack: RunningStack, patient_id: int, eligibility: dict[str, Any]) -> requests.Response:
    body = {"patient": {"ecm_eligibility_information": eligibility}}
    return call(stack, "PUT", f"/patients/{patient_id}", body)


def test_a_mif_names_its_plan_and_each_member_keeps_it(stack: RunningStack) -> None:
    record = _import(stack, 730_000, 2, plan="healthnet")
    assert (record["status"], record["plan"]) == ("completed", "healthnet")
    patient = _patient(stack, 730_000)
    assert patient["ecm_eligibility_information"]["plan"] == "healthnet"
    stored = patients_by_member(stack)[sample_mif_row(730_000)["MEMBER_ID"]]
    assert stored["eligibility"]["plan"] == "healthnet"
    assert stored["plan_shard"] == f"healthnet#{stored['id'] % 16}"  # the plan's list
    listed = call(stack, "GET", "/patients?search=" + sample_mif_row(730_001)["MEMBER_ID"])
    assert [p["ecm_eligibility_information"]["plan"] for p in listed.json()["patients"]] == [
        "healthnet"
    ]

    # A later file that names no plan keeps the member's; one that names another moves it.
    assert _import(stack, 730_000, 1)["plan"] is None
    assert _patient(stack, 730_000)["ecm_eligibility_information"]["plan"] == "healthnet"
    _import(stack, 730_001, 1, plan="la-care")
    assert _patient(stack, 730_001)["ecm_eligibility_information"]["plan"] == "la-care"


def test_a_plan_is_a_short_code_and_only_a_mif_names_one(stack: RunningStack) -> None:
    content = data_uri(mif_csv([sample_mif_row(730_010)]), "csv")
    for plan in ("Health Net", "", "../x", "a" * 41, "-x"):
        bad = post_mif(stack, {"file": content, "plan": plan})
        assert (bad.status_code, bad.json()) == (
            422,
            {
                "errors": [
                    "mif.plan must be 1-40 letters, digits, '-' or '_', starting with a "
                    "letter or digit"
                ]
            },
        ), plan
    typed = post_mif(stack, {"file": content, "plan": 7})
    assert typed.status_code == 422
    authorization = call(
        stack, "POST", "/authorizations", {"authorization": {"path": "x.xlsx", "plan": "healthnet"}}
    )
    assert (authorization.status_code, authorization.json()) == (
        422,
        {"errors": ["authorization.plan is not accepted: only a MIF names its health plan"]},
    )
    upload = call(stack, "POST", "/mifs/uploads", {"filename": "big.csv", "plan": "iehp"})
    assert upload.status_code == 201, upload.text
    detail = call(stack, "GET", f"/mifs/{upload.json()['id']}").json()["mif_file"]
    assert (detail["status"], detail["plan"]) == ("waiting", "iehp")
    assert patients_by_member(stack).get(sample_mif_row(730_010)["MEMBER_ID"]) is None


def test_an_inbox_folder_configured_for_a_plan_gives_its_files_that_plan(
    stack: RunningStack,
) -> None:
    row = sample_mif_row(730_020)
    stack.client("s3").put_object(
        Bucket=stack.bucket, Key="inbox/mif/healthnet/june.csv", Body=mif_csv([row])
    )
    deadline = time.monotonic() + 30
    while row["MEMBER_ID"] not in patients_by_member(stack) and time.monotonic() < deadline:
        time.sleep(0.3)
    stored = patients_by_member(stack)[row["MEMBER_ID"]]
    assert stored["eligibility"]["plan"] == "healthnet"
    record = wait_for_file(stack, int(stored["eligibility"]["mif_file_id"]))
    assert (record["source_type"], record["plan"]) == ("inbox", "healthnet")


def test_enrollment_dates_and_a_discontinuation_are_kept_and_checked(stack: RunningStack) -> None:
    _import(stack, 730_030, 1, plan="healthnet")
    patient_id = _patient(stack, 730_030)["id"]
    ok = _put(
        stack,
        patient_id,
        {"ecm_enrollment_start_date": "2026-02-01", "member_record_status": "continuing_member"},
    )
    assert ok.status_code == 200, ok.text
    eligibility = ok.json()["patient"]["ecm_eligibility_information"]
    assert eligibility["ecm_enrollment_start_date"] == "2026-02-01"
    assert eligibility["ecm_enrollment_end_date"] is None

    refusals = {
        "ecm_enrollment_end_date can't be before ecm_enrollment_start_date": {
            "ecm_enrollment_end_date": "2026-01-31"
        },
        "discontinuation_reason and discontinuation_date need member_record_status "
        "terminated_member": {"discontinuation_reason": "declined"},
        "discontinuation_date can't be before ecm_enrollment_start_date": {
            "member_record_status": "terminated_member",
            "discontinuation_date": "2026-01-15",
        },
    }
    for message, change in refusals.items():
        refused = _put(stack, patient_id, change)
        assert (refused.status_code, refused.json()) == (
            422,
            {"errors": [f"{ELIGIBILITY}.{message}"]},
        ), change
    for field, value in (
        ("ecm_enrollment_start_date", "02/01/2026"),
        ("discontinuation_date", "2026-02-30"),
        ("discontinuation_reason", "bored"),
    ):
        refused = _put(
            stack, patient_id, {"member_record_status": "terminated_member", field: value}
        )
        assert refused.status_code == 422, (field, refused.text)
        assert refused.json()["errors"][0].startswith(f"{ELIGIBILITY}.{field}"), refused.text
    assert _patient(stack, 730_030)["ecm_eligibility_information"]["member_record_status"] == (
        "continuing_member"
    )

    ended = _put(
        stack,
        patient_id,
        {
            "member_record_status": "terminated_member",
            "discontinuation_reason": "unable_to_reach",
            "discontinuation_date": "2026-05-20",
            "ecm_enrollment_end_date": "2026-05-20",
        },
    )
    assert ended.status_code == 200, ended.text
    body = ended.json()["patient"]
    assert {
        k: body["ecm_eligibility_information"][k]
        for k in ("member_record_status", "discontinuation_reason", "discontinuation_date")
    } == {
        "member_record_status": "terminated_member",
        "discontinuation_reason": "unable_to_reach",
        "discontinuation_date": "2026-05-20",
    }
    last = body["ecm_status_history"][-1]
    assert (last["status"], last["reason"]) == ("terminated_member", "unable_to_reach")

    # The reason can be corrected while terminated; coming back clears the discontinuation.
    fixed = _put(stack, patient_id, {"discontinuation_reason": "declined"})
    assert fixed.json()["patient"]["ecm_eligibility_information"]["discontinuation_reason"] == (
        "declined"
    )
    back = _put(stack, patient_id, {"member_record_status": "continuing_member"})
    eligibility = back.json()["patient"]["ecm_eligibility_information"]
    assert (eligibility["discontinuation_reason"], eligibility["discontinuation_date"]) == (
        None,
        None,
    )
    assert eligibility["ecm_enrollment_end_date"] == "2026-05-20"  # kept: set by the user


def test_terminating_without_a_reason_or_date_records_the_day(stack: RunningStack) -> None:
    _import(stack, 730_040, 1)
    patient_id = _patient(stack, 730_040)["id"]
    ended = _put(stack, patient_id, {"member_record_status": "terminated_member"})
    eligibility = ended.json()["patient"]["ecm_eligibility_information"]
    assert eligibility["discontinuation_reason"] is None
    assert len(eligibility["discontinuation_date"]) == 10
    assert ended.json()["patient"]["ecm_status_history"][-1]["reason"] is None


def test_care_managers_have_a_phone_and_an_email(stack: RunningStack) -> None:
    created = call(
        stack,
        "POST",
        "/care_managers",
        {
            "care_manager": {
                "name": "Rosa Lead",
                "role": "ilcm",
                "phone": "(805) 555-0142",
                "email": "rosa@clinic.example.org",
            }
        },
    )
    assert created.status_code == 201, created.text
    manager = created.json()["care_manager"]
    assert {k: manager[k] for k in ("name", "role", "phone", "email")} == {
        "name": "Rosa Lead",
        "role": "ilcm",
        "phone": "+18055550142",
        "email": "rosa@clinic.example.org",
    }
    assert manager in call(stack, "GET", "/care_managers").json()["care_managers"]

    for field, value, message in (
        ("phone", "555-0142", "care_manager.phone must have 10 digits"),
        ("email", "rosa@", "care_manager.email must be an email address such as name@example.org"),
    ):
        bad = call(
            stack,
            "POST",
            "/care_managers",
            {"care_manager": {"name": "X", "role": "olcm", field: value}},
        )
        assert (bad.status_code, bad.json()) == (422, {"errors": [message]})

    path = f"/care_managers/{manager['id']}"
    changed = call(stack, "PUT", path, {"care_manager": {"phone": "8055550199", "email": None}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["care_manager"] == {**manager, "phone": "+18055550199", "email": None}
    assert {**manager, "phone": "+18055550199", "email": None} in call(
        stack, "GET", "/care_managers"
    ).json()["care_managers"]
    for missing in ("/care_managers/999999", "/care_managers/1x"):
        gone = call(stack, "PUT", missing, {"care_manager": {"phone": "8055550199"}})
        assert (gone.status_code, gone.json()) == (404, {"errors": ["Care manager not found"]})
    bad = call(stack, "PUT", path, {"care_manager": {"name": ""}})
    assert (bad.status_code, bad.json()) == (422, {"errors": ["care_manager.name can't be blank"]})


def test_an_outreach_attempt_records_whether_it_reached_the_member(stack: RunningStack) -> None:
    _import(stack, 730_050, 1)
    patient_id = _patient(stack, 730_050)["id"]
    path = f"/patients/{patient_id}/activities"
    attempt = {
        "type": "outreach",
        "occurred_at": "2026-11-03T17:00:00Z",
        "method": "phone",
        "minutes": 12,
        "successful": False,
    }
    created = call(stack, "POST", path, {"activity": attempt})
    assert created.status_code == 201, created.text
    assert created.json()["activity"]["successful"] is False
    listed = call(stack, "GET", path).json()["activities"]
    assert [a["successful"] for a in listed] == [False]
    wrong = call(stack, "POST", path, {"activity": {**attempt, "type": "encounter"}})
    assert wrong.status_code == 422
    assert "successful is recorded for outreach activities only" in wrong.json()["errors"][0]
