"""Patients API (docs/api/patients.md) over HTTP: list by status/provider with pagination, detail,
update with validation, status history and optimistic concurrency, audit entries."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import requests
from fixtures_builders import auth_xlsx, mif_csv, sample_auth_row, sample_mif_row
from stack_fixture import STAFF_TOKEN, RunningStack, data_uri, patients_by_member, post_mif, scan

PATIENTS = "/v1/admin/clinic/ecm/patients"
PROVIDER_ID = 777_001
PROVIDER_NAME = "Patients API Clinic"


def seed_provider_patients(stack: RunningStack, base: int, count: int) -> list[dict[str, Any]]:
    stack.client("dynamodb").put_item(
        TableName="ProvidersTable",
        Item={"id": {"N": str(PROVIDER_ID)}, "name": {"S": PROVIDER_NAME}, "npi": {"NULL": True}},
    )
    rows = [sample_mif_row(i) for i in range(base, base + count)]
    for row in rows:
        row["ECM_PROVIDER_NAME"], row["ECM_NPI"] = PROVIDER_NAME, ""
    response = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv")})
    assert response.status_code == 201, response.text
    stored = patients_by_member(stack)
    return [stored[r["MEMBER_ID"]] for r in rows]


def get(stack: RunningStack, path: str, token: str | None = None) -> requests.Response:
    return requests.get(
        f"{stack.api}{path}", headers=stack.headers(token) if token else stack.headers(), timeout=30
    )


def put(stack: RunningStack, patient_id: int, body: dict[str, Any]) -> requests.Response:
    return requests.put(
        f"{stack.api}{PATIENTS}/{patient_id}", json=body, headers=stack.headers(), timeout=30
    )


def test_list_by_provider_in_name_order_with_pagination_edges(stack: RunningStack) -> None:
    patients = seed_provider_patients(stack, 300_000, 5)
    expected = [
        p["id"]
        for p in sorted(patients, key=lambda p: (p["last_name"].lower(), p["first_name"].lower()))
    ]
    first = get(stack, f"{PATIENTS}?provider_id={PROVIDER_ID}&per_page=2").json()
    assert first["pagination"] == {
        "current_page": 1,
        "total_pages": 3,
        "total_count": 5,
        "per_page": 2,
    }
    assert [p["id"] for p in first["patients"]] == expected[:2]
    last = get(stack, f"{PATIENTS}?provider_id={PROVIDER_ID}&per_page=2&page=3").json()
    assert [p["id"] for p in last["patients"]] == expected[4:]
    beyond = get(stack, f"{PATIENTS}?provider_id={PROVIDER_ID}&per_page=2&page=4").json()
    assert beyond["patients"] == []
    assert beyond["pagination"]["total_count"] == 5
    item = first["patients"][0]
    assert set(item) == {"id", "name", "date_of_birth", "ecm_eligibility_information", "case_load"}
    assert item["case_load"]["provider_id"] == PROVIDER_ID
    assert item["case_load"]["provider_name"] == PROVIDER_NAME
    assert item["ecm_eligibility_information"]["member_record_status"] == "new_member"


def test_status_filter_follows_updates(stack: RunningStack) -> None:
    patient = seed_provider_patients(stack, 301_000, 1)[0]
    before = get(stack, f"{PATIENTS}?status=inactive_member&per_page=100").json()["pagination"][
        "total_count"
    ]
    response = put(
        stack,
        patient["id"],
        {"patient": {"ecm_eligibility_information": {"member_record_status": "inactive_member"}}},
    )
    assert response.status_code == 200, response.text
    listed = get(stack, f"{PATIENTS}?status=inactive_member&per_page=100").json()
    assert listed["pagination"]["total_count"] == before + 1
    assert patient["id"] in [p["id"] for p in listed["patients"]]
    both = get(stack, f"{PATIENTS}?status=inactive_member&provider_id={PROVIDER_ID}").json()
    assert patient["id"] in [p["id"] for p in both["patients"]]
    assert all(
        p["ecm_eligibility_information"]["member_record_status"] == "inactive_member"
        for p in both["patients"]
    )
    bad = get(stack, f"{PATIENTS}?status=gone")
    assert (bad.status_code, bad.json()) == (
        422,
        {
            "errors": [
                "status must be one of: new_member, continuing_member, pending_member, terminated_member, inactive_member"
            ]
        },
    )


def test_detail_and_audit(stack: RunningStack) -> None:
    patient = seed_provider_patients(stack, 302_000, 1)[0]
    detail = get(stack, f"{PATIENTS}/{patient['id']}")
    assert detail.status_code == 200
    body = detail.json()["patient"]
    row = sample_mif_row(302_000)
    assert body["first_name"] == row["FIRST_NAME"]
    assert body["address"]["zip"] == "02134"
    assert body["ecm_eligibility_information"]["member_id"] == row["MEMBER_ID"]
    assert body["ecm_eligibility_information"]["ecm_npi"] is None
    assert body["ecm_authorizations"] == []
    assert body["ecm_status_history"] == []
    assert body["activities_count"] == 0
    audit = get(stack, f"{PATIENTS}/{patient['id']}/audit").json()["audit_entries"]
    assert [(a["action"], a["user_name"]) for a in audit] == [("read", "Local Admin")]
    missing = get(stack, f"{PATIENTS}/99999999")
    assert (missing.status_code, missing.json()) == (404, {"errors": ["Patient not found"]})
    assert get(stack, f"{PATIENTS}/{patient['id']}", STAFF_TOKEN).json() == {
        "errors": ["Admin access required"]
    }
    assert requests.get(f"{stack.api}{PATIENTS}", timeout=30).status_code == 401


def test_update_validates_and_records_history(stack: RunningStack) -> None:
    patient = seed_provider_patients(stack, 303_000, 1)[0]
    for body, message in (
        (
            {"patient": {"date_of_birth": "05/15/2010"}},
            "patient.date_of_birth must be a date in YYYY-MM-DD format",
        ),
        (
            {"patient": {"ecm_eligibility_information": {"acuity_level": "extreme"}}},
            "patient.ecm_eligibility_information.acuity_level must be one of low, medium, high",
        ),
        (
            {"patient": {"ecm_eligibility_information": {"member_record_status": "gone"}}},
            "patient.ecm_eligibility_information.member_record_status must be one of new_member, continuing_member, pending_member, terminated_member, inactive_member",
        ),
        ({"patient": {"first_name": ""}}, "patient.first_name can't be blank"),
        (
            {"patient": {"first_name": "Ana\u0000"}},
            "patient.first_name can't contain control or bidirectional-override characters",
        ),
        (
            {"patient": {"last_name": "Kim\u202egnaL"}},
            "patient.last_name can't contain control or bidirectional-override characters",
        ),
        ({"patient": {"email": "x@example.org"}}, "Unknown field 'patient.email'"),
    ):
        response = put(stack, patient["id"], body)
        assert (response.status_code, response.json()) == (422, {"errors": [message]}), body
    response = put(
        stack,
        patient["id"],
        {
            "patient": {
                "last_name": "Renamed",
                "date_of_birth": "1970-01-31",
                "ecm_eligibility_information": {
                    "acuity_level": "low",
                    "member_record_status": "continuing_member",
                },
            }
        },
    )
    assert response.status_code == 200, response.text
    updated = response.json()["patient"]
    assert updated["name"] == f"{patient['first_name']} Renamed"
    assert updated["date_of_birth"] == "1970-01-31"
    assert updated["ecm_eligibility_information"]["acuity_level"] == "low"
    history = updated["ecm_status_history"]
    assert [(h["status"], h["changed_by"]) for h in history] == [
        ("continuing_member", "Local Admin")
    ]
    keys = {k["key"]: k for k in scan(stack, "PatientKeysTable")}
    new_key = f"name#{patient['first_name'].lower()}|renamed|1970-01-31"
    assert keys[new_key]["patient_ids"] == [patient["id"]]
    old_key = f"name#{patient['first_name'].lower()}|{patient['last_name'].lower()}|{patient['date_of_birth']}"
    assert patient["id"] not in keys.get(old_key, {}).get("patient_ids", [])
    again = put(
        stack,
        patient["id"],
        {"patient": {"ecm_eligibility_information": {"member_record_status": "continuing_member"}}},
    )
    assert len(again.json()["patient"]["ecm_status_history"]) == 1  # no change, no entry
    actions = [
        a["action"] for a in get(stack, f"{PATIENTS}/{patient['id']}/audit").json()["audit_entries"]
    ]
    # The second PUT changed nothing: no version bump, audited as a read.
    assert actions == ["read", "update"]


def test_racing_updates_never_lose_one_silently(stack: RunningStack) -> None:
    patient = seed_provider_patients(stack, 304_000, 1)[0]
    start_version = patient["version"]
    results: list[requests.Response] = []
    lock = threading.Lock()

    def update(level: str) -> None:
        response = put(
            stack,
            patient["id"],
            {"patient": {"ecm_eligibility_information": {"acuity_level": level}}},
        )
        with lock:
            results.append(response)

    threads = [
        threading.Thread(target=update, args=(level,)) for level in ("low", "medium", "high") * 3
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == len(threads)
    statuses = sorted(r.status_code for r in results)
    assert set(statuses) <= {200, 409}, [(r.status_code, r.text[:200]) for r in results]
    ok = [r for r in results if r.status_code == 200]
    conflicts = [r for r in results if r.status_code == 409]
    for r in conflicts:
        assert r.json()["errors"][0].startswith("Patient was changed by someone else")
    # A PUT asking for the level the patient already has writes nothing and
    # answers the version it read; every other 200 is a write with a version of its own.
    bodies = [r.json()["patient"] for r in ok]
    versions = sorted(b["version"] for b in bodies)
    writes = sorted(set(versions) - {start_version})
    assert writes == list(range(start_version + 1, start_version + 1 + len(writes)))
    assert len(writes) >= 1
    final = patients_by_member(stack)[sample_mif_row(304_000)["MEMBER_ID"]]
    assert final["version"] == start_version + len(writes)
    newest = max(bodies, key=lambda b: b["version"])
    assert (
        final["eligibility"]["acuity_level"]
        == newest["ecm_eligibility_information"]["acuity_level"]
    )


def test_counts_match_the_data_after_imports_updates_and_rollbacks(stack: RunningStack) -> None:
    seed_provider_patients(stack, 305_000, 3)
    patients = scan(stack, "PatientsTable")
    counters = {
        c["pk"]: c.get("value", 0) for c in scan(stack, "MetaTable") if c["pk"].startswith("count#")
    }
    assert counters["count#patient"] == len(patients)
    statuses: dict[str, int] = {}
    providers: dict[int, int] = {}
    for p in patients:
        status = p["eligibility"]["member_record_status"]
        statuses[status] = statuses.get(status, 0) + 1
        provider = (p.get("case_load") or {}).get("provider_id")
        if provider is not None:
            providers[provider] = providers.get(provider, 0) + 1
    for status, count in statuses.items():
        assert counters[f"count#status#{status}"] == count, status
    for provider, count in providers.items():
        assert counters[f"count#provider#{provider}"] == count, provider
    listed = get(stack, f"{PATIENTS}?per_page=1").json()["pagination"]
    assert listed["total_count"] == len(patients)


def test_search_by_each_kind_of_prefix(stack: RunningStack) -> None:
    rows = [sample_mif_row(i) for i in range(306_000, 306_003)]
    for n, row in enumerate(rows):
        row["FIRST_NAME"], row["LAST_NAME"] = "Xiomara", f"Quenby{n}"
    assert post_mif(stack, {"file": data_uri(mif_csv(rows), "csv")}).status_code == 201
    ids = {
        r["MEMBER_ID"]: p["id"] for r in rows for p in [patients_by_member(stack)[r["MEMBER_ID"]]]
    }

    def found(term: str, extra: str = "") -> list[int]:
        body = get(stack, f"{PATIENTS}?search={term}&per_page=100{extra}").json()
        assert body["pagination"]["total_count"] == len(body["patients"])
        return [p["id"] for p in body["patients"]]

    everyone = [ids[r["MEMBER_ID"]] for r in rows]
    assert found("xIoM") == everyone  # first name, any case, in name order
    assert found("Xiomara%20Quenby1") == [everyone[1]]  # full name
    assert found("quenby") == everyone  # last name
    assert found(rows[2]["MEMBER_ID"].lower()) == [everyone[2]]  # member id
    assert found(rows[1]["CIN"][:-1]) == [everyone[1]]  # CIN prefix
    assert found("xiomaraz") == []
    assert found("xiom", "&status=terminated_member") == []
    page = get(stack, f"{PATIENTS}?search=xiom&per_page=2&page=2").json()
    assert [p["id"] for p in page["patients"]] == everyone[2:]
    assert page["pagination"] == {
        "current_page": 2,
        "total_pages": 2,
        "total_count": 3,
        "per_page": 2,
    }


def post_filter(stack: RunningStack, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{stack.api}{PATIENTS}/filter", json=body, headers=stack.headers(), timeout=60
    )


def test_filter_sorts_and_combines_filters(stack: RunningStack) -> None:

    patients = seed_provider_patients(stack, 307_000, 4)
    ids = [p["id"] for p in patients]
    # acuity from the sample rows cycles; give two of them an authorization
    auths = [
        sample_auth_row(307_000, STATUS="Pending"),
        sample_auth_row(307_001, STATUS="Approved"),
    ]
    content = base64.b64encode(auth_xlsx(auths)).decode()
    response = requests.post(
        f"{stack.api}/v1/admin/clinic/ecm/authorizations",
        json={"authorization": {"file": content}},
        headers=stack.headers(),
        timeout=60,
    )
    assert response.status_code == 201, response.text
    base = {"filters": {"provider_id": PROVIDER_ID}, "per_page": 100}
    stored = {
        p["id"]: p
        for p in scan(stack, "PatientsTable")
        if (p.get("case_load") or {}).get("provider_id") == PROVIDER_ID
    }
    for sort_by, key in (
        ("date_of_birth", lambda p: p["date_of_birth"]),
        ("member_id", lambda p: p["eligibility"]["member_id"]),
        ("first_name", lambda p: p["first_name"].lower()),
        ("created_at", lambda p: p["created_at"]),
    ):
        for direction in ("ASC", "DESC"):
            body = post_filter(stack, {**base, "sort_by": sort_by, "sort_dir": direction}).json()
            got = [p["id"] for p in body["patients"]]
            expected = sorted(
                stored,
                key=lambda i: (key(stored[i]), stored[i]["sort_name"]),
                reverse=direction == "DESC",
            )
            assert got == expected, (sort_by, direction)
    pending = post_filter(
        stack, {**base, "filters": {"provider_id": PROVIDER_ID, "authorization_status": "Pending"}}
    ).json()
    assert [p["id"] for p in pending["patients"]] == [ids[0]]
    assert (
        pending["patients"][0]["ecm_eligibility_information"]["member_record_status"]
        == "pending_member"
    )
    acuity = stored[ids[1]]["eligibility"]["acuity_level"]
    combined = post_filter(
        stack,
        {
            "filters": {
                "provider_id": PROVIDER_ID,
                "acuity_level": acuity,
                "authorization_status": "Approved",
            }
        },
    ).json()
    assert [p["id"] for p in combined["patients"]] == [ids[1]]
    assert combined["pagination"]["total_count"] == 1
    searched = post_filter(
        stack,
        {
            "search": patients[2]["eligibility"]["member_id"],
            "filters": {"provider_id": PROVIDER_ID},
        },
    ).json()
    assert [p["id"] for p in searched["patients"]] == [ids[2]]
    by_name = post_filter(
        stack, {"filters": {"provider_id": PROVIDER_ID}, "per_page": 2, "page": 1}
    ).json()
    assert by_name["pagination"]["total_count"] == len(stored)


def test_filter_rejects_unknown_sorts_and_fields(stack: RunningStack) -> None:
    for body, message in (
        (
            {"sort_by": "ssn"},
            "sort_by must be one of name, last_name, first_name, date_of_birth, member_id, acuity_level, member_record_status, created_at, updated_at",
        ),
        ({"sort_dir": "UP"}, "sort_dir must be ASC or DESC"),
        ({"filters": {"color": "red"}}, "Unknown field 'filters.color'"),
        (
            {"filters": {"authorization_status": "Maybe"}},
            "filters.authorization_status must be one of Approved, Pending, Cancel, Denied",
        ),
        ({"per_page": 500}, "per_page must be between 1 and 100"),
    ):
        response = post_filter(stack, body)
        assert (response.status_code, response.json()) == (422, {"errors": [message]}), body


def test_every_whitelisted_sort(stack: RunningStack) -> None:
    seed_provider_patients(stack, 308_000, 4)
    stored = {
        p["id"]: p
        for p in scan(stack, "PatientsTable")
        if (p.get("case_load") or {}).get("provider_id") == PROVIDER_ID
    }
    rank = {"low": 0, "medium": 1, "high": 2}
    keys = {
        "name": lambda p: p["sort_name"],
        "last_name": lambda p: p["last_name"].lower(),
        "acuity_level": lambda p: rank.get(p["eligibility"].get("acuity_level") or "", -1),
        "member_record_status": lambda p: p["eligibility"]["member_record_status"],
        "updated_at": lambda p: p["updated_at"],
    }
    for sort_by, key in keys.items():
        for direction in ("ASC", "DESC"):
            body = post_filter(
                stack,
                {
                    "filters": {"provider_id": PROVIDER_ID},
                    "sort_by": sort_by,
                    "sort_dir": direction,
                    "per_page": 100,
                },
            ).json()
            expected = sorted(
                stored,
                key=lambda i: (key(stored[i]), stored[i]["sort_name"]),
                reverse=direction == "DESC",
            )
            assert [p["id"] for p in body["patients"]] == expected, (sort_by, direction)
            assert body["pagination"]["total_count"] == len(stored)


def _search(stack: RunningStack, term: str, page: int = 1, per_page: int = 25) -> dict[str, Any]:
    response = requests.get(
        f"{stack.api}{PATIENTS}",
        params={"search": term, "page": page, "per_page": per_page},
        headers=stack.headers(),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _brute_force_search(stack: RunningStack, term: str) -> list[int]:
    """Every stored patient whose search text starts with ``term``, in search order: its
    smallest matching range key (the folded text, then its sort_name), once per patient."""
    ranked = []
    for patient in scan(stack, "PatientsTable"):
        keys = [
            str(patient[f"search_{n}"])
            for n in ("name", "last", "member", "cin")
            if f"search_{n}" in patient
        ]
        matched = [k for k in keys if k.split("\x1f")[0].startswith(term)]
        if matched:
            ranked.append((min(matched), patient["id"]))
    return [patient_id for _, patient_id in sorted(ranked)]


def test_search_pages_a_broad_prefix_and_counts_each_patient_once(stack: RunningStack) -> None:
    rows = [sample_mif_row(i) for i in range(309_000, 309_008)]
    for n, row in enumerate(rows[:7]):
        row["LAST_NAME"] = f"Wendigo{n}"
    rows[7]["FIRST_NAME"], rows[7]["LAST_NAME"] = "Wend", "Wendigo9"  # full and last name match
    assert post_mif(stack, {"file": data_uri(mif_csv(rows), "csv")}).status_code == 201
    stored = patients_by_member(stack)
    ids = [stored[r["MEMBER_ID"]]["id"] for r in rows]
    both, singles = ids[7], ids[:7]
    # "wend wendigo9" (its full name) sorts before every "wendigo<n>"; counted once
    expected = [both, *singles]
    pages = [_search(stack, "wEnD", page, per_page=3) for page in (1, 2, 3, 4)]
    assert [[p["id"] for p in body["patients"]] for body in pages] == [
        expected[0:3],
        expected[3:6],
        expected[6:8],
        [],
    ]
    for page, body in enumerate(pages, start=1):
        assert body["pagination"] == {
            "current_page": page,
            "total_pages": 3,
            "total_count": 8,
            "per_page": 3,
        }
    # only its last name matches "wendigo": there it sorts after wendigo6
    assert [p["id"] for p in _search(stack, "wendigo", per_page=100)["patients"]] == [
        *singles,
        both,
    ]
    assert _search(stack, "Wend Wendigo9")["pagination"]["total_count"] == 1
    filtered = post_filter(stack, {"search": "WEND", "page": 2, "per_page": 3}).json()
    assert [p["id"] for p in filtered["patients"]] == expected[3:6]
    assert filtered["pagination"]["total_count"] == 8
    assert _brute_force_search(stack, "wend") == expected


def test_one_character_search_reads_every_partition_of_that_character(
    stack: RunningStack,
) -> None:
    # Second characters in different partitions: end of text / space, digit, letters, "é"
    names = [("Ø", "Brandt"), ("Ø9x", "Brandt"), ("Øa", "Brandt"), ("Øz", "Brandt")]
    names += [("Øé", "Brandt"), ("Øyvind", "Østby"), ("Ørjan", "Brandt")]
    rows = [sample_mif_row(i) for i in range(310_000, 310_000 + len(names))]
    for row, (first, last) in zip(rows, names, strict=True):
        row["FIRST_NAME"], row["LAST_NAME"] = first, last
    assert post_mif(stack, {"file": data_uri(mif_csv(rows), "csv")}).status_code == 201
    stored = patients_by_member(stack)
    ids = {stored[r["MEMBER_ID"]]["id"] for r in rows}
    expected = _brute_force_search(stack, "ø")
    assert set(expected) == ids  # nobody else's text starts with "ø"
    got = [p["id"] for page in (1, 2, 3, 4) for p in _search(stack, "Ø", page, 2)["patients"]]
    assert got == expected
    assert _search(stack, "ø", 4, 2)["pagination"] == {
        "current_page": 4,
        "total_pages": 4,
        "total_count": 7,
        "per_page": 2,
    }
    # "m": every sample member id starts with it; counted exactly against a scan
    everyone = _brute_force_search(stack, "m")
    body = _search(stack, "m")
    assert body["pagination"]["total_count"] == len(everyone)
    assert [p["id"] for p in body["patients"]] == everyone[:25]


def test_reindex_rewrites_patients_written_under_the_old_index_layout(
    stack: RunningStack,
) -> None:
    rows = [sample_mif_row(i) for i in range(309_000, 309_003)]
    rows[0]["LAST_NAME"] = "Quarrington"
    assert post_mif(stack, {"file": data_uri(mif_csv(rows), "csv")}).status_code == 201
    patient = patients_by_member(stack)[rows[0]["MEMBER_ID"]]
    ddb = stack.client("dynamodb")
    key = {"id": {"N": str(patient["id"])}}
    # The layout before sharded keys: search partitions by the text's first characters,
    # unsharded lists keyed on top-level copies (kind, status, provider, plan).
    ddb.update_item(
        TableName="PatientsTable",
        Key=key,
        UpdateExpression=(
            "SET search_last_p = :p, kind = :k, member_record_status = :s, provider_id = :v "
            "REMOVE status_shard, all_shard"
        ),
        ExpressionAttributeValues={
            ":p": {"S": "qu"},
            ":k": {"S": "patient"},
            ":s": {"S": "new_member"},
            ":v": {"N": "1"},
        },
    )
    assert _search(stack, "Quarrington")["pagination"]["total_count"] == 0
    counts = json.loads(stack.run_cli("reindex-patients"))
    assert counts["rewritten"] == 1
    assert counts["changed_since"] == 0
    assert counts["unchanged"] >= 2
    item = ddb.get_item(TableName="PatientsTable", Key=key)["Item"]
    assert item["search_last_p"] == {"S": str(patient["id"] % 16)}
    assert item["search_last"]["S"].startswith("quarrington\x1f")
    assert item["status_shard"] == {"S": f"new_member#{patient['id'] % 16}"}
    assert item["all_shard"] == {"S": f"patient#{patient['id'] % 16}"}
    assert not {"kind", "member_record_status", "provider_id"} & set(item)
    assert item["version"] == {"N": str(patient["version"])}  # derived fields only
    assert json.loads(stack.run_cli("reindex-patients"))["rewritten"] == 0
    found = _search(stack, "Quarrington")
    assert found["pagination"]["total_count"] == 1
    assert found["patients"][0]["id"] == patient["id"]


def test_an_update_that_changes_nothing_writes_nothing(stack: RunningStack) -> None:
    patient = seed_provider_patients(stack, 304_000, 1)[0]
    before = get(stack, f"{PATIENTS}/{patient['id']}").json()["patient"]
    same = {
        "first_name": before["first_name"],
        "ecm_eligibility_information": {
            "member_record_status": before["ecm_eligibility_information"]["member_record_status"]
        },
    }
    for body in ({"patient": {}}, {"patient": same}):
        response = put(stack, patient["id"], body)
        assert response.status_code == 200, response.text
        assert response.json()["patient"] == before
    after = get(stack, f"{PATIENTS}/{patient['id']}").json()["patient"]
    assert after == before  # same version, updated_at and history
    actions = [
        e["action"] for e in get(stack, f"{PATIENTS}/{patient['id']}/audit").json()["audit_entries"]
    ]
    assert actions[:4] == ["read", "read", "read", "read"]
