"""POST /patients/bulk_update over HTTP: each patient stored and answered as GET shows it,
status history and audit entries as for PUT, counters equal to a recount; a request with
an invalid entry is a 422 naming each, with nothing written."""

from __future__ import annotations

from collections import Counter
from typing import Any

import requests
from fixtures_builders import mif_csv, sample_mif_row
from stack_fixture import (
    STAFF_TOKEN,
    RunningStack,
    data_uri,
    patients_by_member,
    post_mif,
    scan,
    snapshot,
)

from ecm.patients.counts import count_keys

PATIENTS = "/v1/admin/clinic/ecm/patients"
BULK = PATIENTS + "/bulk_update"


def _seed(stack: RunningStack, base: int, count: int) -> list[dict[str, Any]]:
    rows = [sample_mif_row(i) for i in range(base, base + count)]
    response = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv")})
    assert response.status_code == 201, response.text
    stored = patients_by_member(stack)
    return [stored[row["MEMBER_ID"]] for row in rows]


def _post(stack: RunningStack, body: Any, token: str | None = None) -> requests.Response:
    headers = stack.headers(token) if token else stack.headers()
    return requests.post(f"{stack.api}{BULK}", json=body, headers=headers, timeout=120)


def _get(stack: RunningStack, path: str) -> Any:
    response = requests.get(f"{stack.api}{path}", headers=stack.headers(), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _assert_counts_equal_a_recount(stack: RunningStack) -> None:
    recount = Counter(key for p in scan(stack, "PatientsTable") for key in count_keys(p))
    stored = {
        m["pk"]: int(m.get("value") or 0)
        for m in scan(stack, "MetaTable")
        if m["pk"].startswith("count#")
    }
    for key in {*recount, *stored}:
        assert stored.get(key, 0) == recount.get(key, 0), key


def test_a_months_enrollments_in_one_request(stack: RunningStack) -> None:
    patients = _seed(stack, 330_000, 40)
    enroll = {
        "member_record_status": "continuing_member",
        "ecm_enrollment_start_date": "2026-11-01",
    }
    entries: list[dict[str, Any]] = [
        {"id": p["id"], "ecm_eligibility_information": enroll} for p in patients[:30]
    ]
    entries += [
        {
            "id": p["id"],
            "ecm_eligibility_information": {
                "member_record_status": "terminated_member",
                "discontinuation_reason": "declined",
                "discontinuation_date": "2026-11-15",
            },
        }
        for p in patients[30:]
    ]
    response = _post(stack, {"patients": entries})
    assert response.status_code == 200, response.text
    answered = response.json()["patients"]
    assert [p["id"] for p in answered] == [p["id"] for p in patients]
    for before, shown in zip(patients, answered, strict=True):
        detail = _get(stack, f"{PATIENTS}/{before['id']}")["patient"]
        assert shown == detail
        assert detail["version"] == before["version"] + 1
        eligibility = detail["ecm_eligibility_information"]
        (change,) = detail["ecm_status_history"]
        assert change["changed_by"] == "Local Admin"
        if before in patients[:30]:
            assert eligibility["member_record_status"] == "continuing_member"
            assert eligibility["ecm_enrollment_start_date"] == "2026-11-01"
            assert change["status"] == "continuing_member"
        else:
            assert eligibility["member_record_status"] == "terminated_member"
            assert eligibility["discontinuation_reason"] == "declined"
            assert eligibility["discontinuation_date"] == "2026-11-15"
            assert (change["status"], change["reason"]) == ("terminated_member", "declined")
        audit = _get(stack, f"{PATIENTS}/{before['id']}/audit")["audit_entries"]
        assert [(a["action"], a["user_name"]) for a in audit] == [
            ("read", "Local Admin"),  # the GET just above
            ("update", "Local Admin"),
        ]
    history_ids = [p["ecm_status_history"][0]["id"] for p in answered]
    assert len(set(history_ids)) == len(history_ids)
    _assert_counts_equal_a_recount(stack)
    listed = _get(stack, f"{PATIENTS}?status=terminated_member&per_page=100")
    assert {p["id"] for p in patients[30:]} <= {p["id"] for p in listed["patients"]}


def test_invalid_entries_are_named_and_nothing_is_written(stack: RunningStack) -> None:
    patients = _seed(stack, 331_000, 3)
    ids = [p["id"] for p in patients]
    before = snapshot(stack)
    audit_before = scan(stack, "AuditTable")
    cases = [
        (
            [
                {"id": ids[0], "ecm_eligibility_information": {"acuity_level": "low"}},
                {
                    "id": ids[1],
                    "ecm_eligibility_information": {"discontinuation_reason": "declined"},
                },
                {"id": 987_654_321, "first_name": "Ana"},
            ],
            [
                f"patients[1] (id {ids[1]}): ecm_eligibility_information.discontinuation_reason "
                "and discontinuation_date need member_record_status terminated_member",
                "patients[2] (id 987654321): Patient not found",
            ],
        ),
        (
            [{"id": ids[0], "date_of_birth": "05/15/2010"}, {"id": ids[0]}],
            [
                f"patients[0] (id {ids[0]}): date_of_birth must be a date in YYYY-MM-DD format",
                f"patients[1] (id {ids[0]}): the same patient as patients[0]",
            ],
        ),
        (
            [{"id": i} for i in range(1, 1002)],
            ["patients must hold 1 to 1,000 entries, not 1,001"],
        ),
    ]
    for entries, messages in cases:
        response = _post(stack, {"patients": entries})
        assert (response.status_code, response.json()) == (422, {"errors": messages})
    for body, message in (
        ({}, "patients Field required"),
        ({"patients": "all"}, "patients Input should be a valid list"),
    ):
        response = _post(stack, body)
        assert (response.status_code, response.json()) == (422, {"errors": [message]})
    staff = _post(stack, {"patients": [{"id": ids[0]}]}, STAFF_TOKEN)
    assert (staff.status_code, staff.json()) == (403, {"errors": ["Admin access required"]})
    assert snapshot(stack) == before
    assert scan(stack, "AuditTable") == audit_before
