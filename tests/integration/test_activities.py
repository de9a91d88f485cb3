"""Care activities (docs/api/patients.md) over HTTP: record and list them, the patient's
``activities_count`` / ``last_activity_at``, validation, 401/403/404, audit, racing writers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from fixtures_builders import mif_csv, sample_mif_row
from stack_fixture import STAFF_TOKEN, RunningStack, data_uri, patients_by_member, post_mif, scan

PATIENTS = "/v1/admin/clinic/ecm/patients"
TYPES = "outreach, encounter, care_plan, assessment, care_coordination, other"
METHODS = "phone, in_person, video, text, email, mail, other"
TIMESTAMP = "must be an ISO 8601 timestamp with a time zone, e.g. 2024-11-20T14:30:00Z"


def seed_patient(stack: RunningStack, base: int) -> dict[str, Any]:
    row = sample_mif_row(base)
    response = post_mif(stack, {"file": data_uri(mif_csv([row]), "csv")})
    assert response.status_code == 201, response.text
    return patients_by_member(stack)[row["MEMBER_ID"]]


def url(patient_id: int | str) -> str:
    return f"{PATIENTS}/{patient_id}/activities"


def post(
    stack: RunningStack, patient_id: int | str, body: Any, token: str | None = None
) -> requests.Response:
    return requests.post(
        f"{stack.api}{url(patient_id)}",
        json=body,
        headers=stack.headers(token) if token else stack.headers(),
        timeout=30,
    )


def get(stack: RunningStack, path: str, token: str | None = None) -> requests.Response:
    return requests.get(
        f"{stack.api}{path}", headers=stack.headers(token) if token else stack.headers(), timeout=30
    )


def activity(**fields: Any) -> dict[str, Any]:
    return {"activity": {"type": "outreach", "occurred_at": "2024-11-20T14:30:00Z", **fields}}


def test_record_list_and_patient_detail(stack: RunningStack) -> None:
    patient = seed_patient(stack, 400_000)
    pid = patient["id"]
    first = post(
        stack,
        pid,
        activity(
            type="encounter",
            occurred_at="2024-11-20T14:30:00Z",
            method="in_person",
            outcome="Completed intake",
            minutes=45,
            note="Discussed housing; follow up next week.",
        ),
    )
    assert first.status_code == 201, first.text
    created = first.json()["activity"]
    assert isinstance(created["id"], int)
    assert created["created_at"].endswith("Z")
    assert {k: v for k, v in created.items() if k not in ("id", "created_at")} == {
        "patient_id": pid,
        "type": "encounter",
        "occurred_at": "2024-11-20T14:30:00.000Z",
        "method": "in_person",
        "outcome": "Completed intake",
        "minutes": 45,
        "successful": None,
        "note": "Discussed housing; follow up next week.",
        "created_by": "Local Admin",
    }
    # An offset is converted to UTC; milliseconds are kept; optional fields may be absent.
    newest = post(
        stack, pid, activity(type="care_plan", occurred_at="2024-12-01T09:15:30.250+02:00")
    )
    assert newest.status_code == 201, newest.text
    assert newest.json()["activity"]["occurred_at"] == "2024-12-01T07:15:30.250Z"
    assert newest.json()["activity"]["method"] is None
    assert newest.json()["activity"]["minutes"] is None
    middle = post(stack, pid, activity(occurred_at="2024-11-25T08:00:00.123Z", method="phone"))
    assert middle.status_code == 201, middle.text
    # Older than the latest: counted, but last_activity_at stays on the newest.
    oldest = post(stack, pid, activity(type="assessment", occurred_at="2024-01-02T03:04:05-08:00"))
    assert oldest.status_code == 201, oldest.text
    assert oldest.json()["activity"]["occurred_at"] == "2024-01-02T11:04:05.000Z"
    order = [r.json()["activity"]["id"] for r in (newest, middle, first, oldest)]

    detail = get(stack, f"{PATIENTS}/{pid}").json()["patient"]
    assert detail["activities_count"] == 4
    assert detail["last_activity_at"] == "2024-12-01T07:15:30.250Z"

    everything = get(stack, url(pid)).json()
    assert [a["id"] for a in everything["activities"]] == order
    assert everything["pagination"] == {
        "current_page": 1,
        "total_pages": 1,
        "total_count": 4,
        "per_page": 25,
    }
    assert everything["activities"][2] == created
    assert set(everything["activities"][0]) == set(created)

    page1 = get(stack, f"{url(pid)}?per_page=3").json()
    assert [a["id"] for a in page1["activities"]] == order[:3]
    assert page1["pagination"] == {
        "current_page": 1,
        "total_pages": 2,
        "total_count": 4,
        "per_page": 3,
    }
    last = get(stack, f"{url(pid)}?per_page=3&page=2").json()
    assert [a["id"] for a in last["activities"]] == order[3:]
    assert last["pagination"]["current_page"] == 2
    beyond = get(stack, f"{url(pid)}?per_page=3&page=3").json()
    assert beyond["activities"] == []
    assert beyond["pagination"] == {
        "current_page": 3,
        "total_pages": 2,
        "total_count": 4,
        "per_page": 3,
    }

    stored = [a for a in scan(stack, "ActivitiesTable") if a["patient_id"] == pid]
    assert sorted(a["activity_key"] for a in stored) == sorted(
        f"{a['occurred_at']}#{a['id']:012d}" for a in everything["activities"]
    )
    item = patients_by_member(stack)[sample_mif_row(400_000)["MEMBER_ID"]]
    assert item["version"] == patient["version"] + 4
    assert item["activities_count"] == 4


def test_a_patient_without_activities_lists_none(stack: RunningStack) -> None:
    patient = seed_patient(stack, 400_100)
    body = get(stack, url(patient["id"])).json()
    assert body == {
        "activities": [],
        "pagination": {"current_page": 1, "total_pages": 0, "total_count": 0, "per_page": 25},
    }
    detail = get(stack, f"{PATIENTS}/{patient['id']}").json()["patient"]
    assert (detail["activities_count"], detail["last_activity_at"]) == (0, None)


def test_validation_messages(stack: RunningStack) -> None:
    patient = seed_patient(stack, 400_200)
    pid = patient["id"]
    soon = datetime.now(UTC) + timedelta(minutes=2)
    later = datetime.now(UTC) + timedelta(minutes=10)
    cases: list[tuple[Any, list[str]]] = [
        ({"activity": "call"}, ["Request body must be a JSON object with an 'activity' object"]),
        ({"type": "outreach"}, ["Request body must be a JSON object with an 'activity' object"]),
        (
            {"activity": {}},
            ["activity.type can't be blank", "activity.occurred_at can't be blank"],
        ),
        (activity(type="visit"), [f"activity.type must be one of {TYPES}"]),
        (activity(type=None), ["activity.type can't be blank"]),
        (activity(occurred_at="11/20/2024"), [f"activity.occurred_at {TIMESTAMP}"]),
        (activity(occurred_at="2024-11-20"), [f"activity.occurred_at {TIMESTAMP}"]),
        (activity(occurred_at="2024-11-20T14:30:00"), [f"activity.occurred_at {TIMESTAMP}"]),
        (activity(occurred_at="2024-02-30T14:30:00Z"), [f"activity.occurred_at {TIMESTAMP}"]),
        (activity(occurred_at=20241120), [f"activity.occurred_at {TIMESTAMP}"]),
        (
            activity(occurred_at=later.strftime("%Y-%m-%dT%H:%M:%SZ")),
            ["activity.occurred_at can't be more than 5 minutes in the future"],
        ),
        (activity(method="carrier pigeon"), [f"activity.method must be one of {METHODS}"]),
        (activity(outcome="x" * 256), ["activity.outcome is longer than 255 characters"]),
        (activity(outcome=42), ["activity.outcome must be a string"]),
        (activity(minutes=-1), ["activity.minutes must be an integer between 0 and 1440"]),
        (activity(minutes=1441), ["activity.minutes must be an integer between 0 and 1440"]),
        (activity(minutes=1.5), ["activity.minutes must be an integer between 0 and 1440"]),
        (activity(minutes="30"), ["activity.minutes must be an integer between 0 and 1440"]),
        (activity(minutes=True), ["activity.minutes must be an integer between 0 and 1440"]),
        (activity(note="n" * 4001), ["activity.note is longer than 4000 characters"]),
        (activity(duration=5), ["Unknown field 'activity.duration'"]),
    ]
    for body, messages in cases:
        response = post(stack, pid, body)
        assert (response.status_code, response.json()) == (422, {"errors": messages}), body
    # A note never comes back in an error, even when it is what was rejected.
    secret = "SSN 123-45-6789 " * 300
    response = post(stack, pid, activity(note=secret))
    assert "123-45-6789" not in response.text
    assert "123-45-6789" not in stack.log_text()
    assert get(stack, url(pid)).json()["pagination"]["total_count"] == 0

    edges = post(
        stack,
        pid,
        activity(
            occurred_at=soon.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
            minutes=1440,
            outcome="o" * 255,
            note="n" * 4000,
            method="other",
            type="other",
        ),
    )
    assert edges.status_code == 201, edges.text
    assert post(stack, pid, activity(minutes=0)).json()["activity"]["minutes"] == 0
    assert get(stack, url(pid)).json()["pagination"]["total_count"] == 2

    for query, message in (
        ("per_page=101", "per_page must be at most 100"),
        ("per_page=0", "per_page must be a positive integer"),
        ("page=abc", "page must be a positive integer"),
        ("page=-1", "page must be a positive integer"),
    ):
        response = get(stack, f"{url(pid)}?{query}")
        assert (response.status_code, response.json()) == (422, {"errors": [message]}), query
    assert get(stack, f"{url(pid)}?per_page=100").status_code == 200


def test_missing_patient_and_access(stack: RunningStack) -> None:
    patient = seed_patient(stack, 400_300)
    not_found = (404, {"errors": ["Patient not found"]})
    for pid in (99_999_999, "abc", 0):
        response = post(stack, pid, activity())
        assert (response.status_code, response.json()) == not_found, pid
        response = get(stack, url(pid))
        assert (response.status_code, response.json()) == not_found, pid
    forbidden = (403, {"errors": ["Admin access required"]})
    response = post(stack, patient["id"], activity(), STAFF_TOKEN)
    assert (response.status_code, response.json()) == forbidden
    response = get(stack, url(patient["id"]), STAFF_TOKEN)
    assert (response.status_code, response.json()) == forbidden
    anonymous = requests.post(f"{stack.api}{url(patient['id'])}", json=activity(), timeout=30)
    assert anonymous.status_code == 401
    assert requests.get(f"{stack.api}{url(patient['id'])}", timeout=30).status_code == 401
    assert get(stack, url(patient["id"])).json()["pagination"]["total_count"] == 0


def test_audit_entry_written(stack: RunningStack) -> None:
    patient = seed_patient(stack, 400_400)
    response = post(stack, patient["id"], activity(note="private"))
    assert response.status_code == 201, response.text
    audit = get(stack, f"{PATIENTS}/{patient['id']}/audit").json()["audit_entries"]
    assert [(a["action"], a["user_name"], a["patient_id"]) for a in audit] == [
        ("activity", "Local Admin", patient["id"])
    ]
    assert audit[0]["user_id"]
    assert audit[0]["at"].endswith("Z")


def test_racing_writers_never_lose_a_count(stack: RunningStack) -> None:
    patient = seed_patient(stack, 400_500)
    pid = patient["id"]
    results: list[requests.Response] = []
    lock = threading.Lock()

    def record(n: int) -> None:
        response = post(stack, pid, activity(occurred_at=f"2024-10-{n + 1:02d}T12:00:00Z"))
        with lock:
            results.append(response)

    def update() -> None:
        response = requests.put(
            f"{stack.api}{PATIENTS}/{pid}",
            json={"patient": {"ecm_eligibility_information": {"acuity_level": "high"}}},
            headers=stack.headers(),
            timeout=30,
        )
        with lock:
            results.append(response)

    threads = [threading.Thread(target=record, args=(n,)) for n in range(8)]
    threads += [threading.Thread(target=update) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    posts = [r for r in results if r.request.method == "POST"]
    assert {r.status_code for r in posts} <= {201, 409}, [(r.status_code, r.text) for r in posts]
    created = [r.json()["activity"] for r in posts if r.status_code == 201]
    assert created, "every racing activity failed"
    stored = [a for a in scan(stack, "ActivitiesTable") if a["patient_id"] == pid]
    assert sorted(a["id"] for a in stored) == sorted(a["id"] for a in created)
    detail = get(stack, f"{PATIENTS}/{pid}").json()["patient"]
    assert detail["activities_count"] == len(created)
    assert detail["last_activity_at"] == max(a["occurred_at"] for a in created)
    listed = get(stack, url(pid)).json()
    assert listed["pagination"]["total_count"] == len(created)
    occurred = [a["occurred_at"] for a in listed["activities"]]
    assert occurred == sorted(occurred, reverse=True)
