"""Case loads over HTTP: providers, care managers (OLCM/ILCM users) and assignment."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from fixtures_builders import mif_csv, sample_mif_row
from stack_fixture import RunningStack, data_uri, patients_by_member, post_mif, scan

ECM = "/v1/admin/clinic/ecm"


def call(
    stack: RunningStack,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    token: str | None = None,
) -> requests.Response:
    headers = stack.headers(token) if token else stack.headers()
    return requests.request(
        method, f"{stack.api}{ECM}{path}", json=body, headers=headers, timeout=60
    )


def test_providers_and_care_managers_directories(stack: RunningStack) -> None:
    created = call(
        stack, "POST", "/providers", {"provider": {"name": "Harbor ECM", "npi": "1234567893"}}
    )
    assert created.status_code == 201, created.text
    provider = created.json()["provider"]
    assert (provider["name"], provider["npi"]) == ("Harbor ECM", "1234567893")
    assert provider in call(stack, "GET", "/providers").json()["providers"]
    bad = call(stack, "POST", "/providers", {"provider": {"name": "X", "npi": "1234567890"}})
    assert (bad.status_code, bad.json()) == (
        422,
        {"errors": ["provider: NPI '1234567890' is not a valid 10-digit NPI"]},
    )

    olcm = call(
        stack,
        "POST",
        "/care_managers",
        {"care_manager": {"name": "Jane Coordinator", "role": "olcm"}},
    )
    assert olcm.status_code == 201, olcm.text
    token = olcm.json()["token"]
    assert len(token) >= 40
    listed = call(stack, "GET", "/care_managers").json()["care_managers"]
    assert {
        "id": olcm.json()["care_manager"]["id"],
        "name": "Jane Coordinator",
        "role": "olcm",
        "phone": None,
        "email": None,
    } in listed
    forbidden = call(stack, "GET", "/providers", token=token)
    assert (forbidden.status_code, forbidden.json()) == (403, {"errors": ["Admin access required"]})
    wrong = call(stack, "POST", "/care_managers", {"care_manager": {"name": "Z", "role": "admin"}})
    assert (wrong.status_code, wrong.json()) == (
        422,
        {"errors": ["care_manager.role must be one of olcm, ilcm"]},
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (" ", "name can't be blank"),
        ("Ana\u202eztreP", "name can't contain control or bidirectional-override characters"),
        ("Ana\x00", "name can't contain control or bidirectional-override characters"),
        ("A" * 256, "name is longer than 255 characters"),
    ],
)
def test_care_manager_and_provider_names_are_what_a_reader_sees(
    stack: RunningStack, name: str, message: str
) -> None:
    before = call(stack, "GET", "/care_managers").json()["care_managers"]
    manager = call(
        stack, "POST", "/care_managers", {"care_manager": {"name": name, "role": "olcm"}}
    )
    assert (manager.status_code, manager.json()) == (422, {"errors": [f"care_manager.{message}"]})
    assert call(stack, "GET", "/care_managers").json()["care_managers"] == before
    provider = call(stack, "POST", "/providers", {"provider": {"name": name}})
    assert (provider.status_code, provider.json()) == (422, {"errors": [f"provider.{message}"]})


def test_assign_filter_count_and_clear_a_case_load(stack: RunningStack) -> None:
    row = sample_mif_row(500_000)
    assert post_mif(stack, {"file": data_uri(mif_csv([row]), "csv")}).status_code == 201
    patient = patients_by_member(stack)[row["MEMBER_ID"]]
    provider = call(stack, "POST", "/providers", {"provider": {"name": "Bay Care PSC"}}).json()[
        "provider"
    ]
    olcm = call(
        stack, "POST", "/care_managers", {"care_manager": {"name": "Olga Lead", "role": "olcm"}}
    ).json()["care_manager"]
    ilcm = call(
        stack, "POST", "/care_managers", {"care_manager": {"name": "Ian Lead", "role": "ilcm"}}
    ).json()["care_manager"]

    wrong_role = call(
        stack,
        "PUT",
        f"/patients/{patient['id']}/case_load",
        {"case_load": {"olcm_user_id": ilcm["id"]}},
    )
    assert wrong_role.status_code == 422
    assert wrong_role.json()["errors"] == [
        f"case_load.olcm_user_id {ilcm['id']} is not a care manager with role olcm"
    ]
    missing = call(
        stack, "PUT", f"/patients/{patient['id']}/case_load", {"case_load": {"provider_id": 987654}}
    )
    assert missing.json()["errors"] == ["case_load.provider_id 987654 does not exist"]

    assigned = call(
        stack,
        "PUT",
        f"/patients/{patient['id']}/case_load",
        {
            "case_load": {
                "provider_id": provider["id"],
                "olcm_user_id": olcm["id"],
                "ilcm_user_id": ilcm["id"],
            }
        },
    )
    assert assigned.status_code == 200, assigned.text
    case_load = assigned.json()["patient"]["case_load"]
    assert case_load == {
        "id": patient["id"],
        "provider_id": provider["id"],
        "provider_name": "Bay Care PSC",
        "olcm_user_id": olcm["id"],
        "olcm_name": "Olga Lead",
        "ilcm_user_id": ilcm["id"],
        "ilcm_name": "Ian Lead",
    }
    for filters in (
        {"olcm_user_id": olcm["id"]},
        {"ilcm_user_id": ilcm["id"]},
        {"provider_id": provider["id"]},
    ):
        body = call(stack, "POST", "/patients/filter", {"filters": filters}).json()
        assert [p["id"] for p in body["patients"]] == [patient["id"]], filters
        assert body["pagination"]["total_count"] == 1, filters
    listed = call(stack, "GET", f"/patients?provider_id={provider['id']}").json()
    assert [p["id"] for p in listed["patients"]] == [patient["id"]]
    counters = {c["pk"]: c.get("value") for c in scan(stack, "MetaTable")}
    assert counters[f"count#olcm#{olcm['id']}"] == 1

    cleared = call(
        stack, "PUT", f"/patients/{patient['id']}/case_load", {"case_load": {"olcm_user_id": None}}
    )
    assert cleared.json()["patient"]["case_load"]["olcm_user_id"] is None
    assert cleared.json()["patient"]["case_load"]["provider_id"] == provider["id"]
    after = call(
        stack, "POST", "/patients/filter", {"filters": {"olcm_user_id": olcm["id"]}}
    ).json()
    assert after["patients"] == [] and after["pagination"]["total_count"] == 0
    audit = call(stack, "GET", f"/patients/{patient['id']}/audit").json()["audit_entries"]
    assert [a["action"] for a in audit] == ["case_load", "case_load"]


def test_a_provider_is_unique_by_npi_and_by_name(stack: RunningStack) -> None:
    first = call(
        stack, "POST", "/providers", {"provider": {"name": "Unique Care PSC", "npi": "1811111115"}}
    )
    assert first.status_code == 201, first.text
    for body, message in (
        (
            {"name": "Another Name", "npi": "1811111115"},
            "provider: A provider with NPI '1811111115' already exists",
        ),
        (
            {"name": "  unique CARE psc "},
            "provider: A provider named 'unique CARE psc' already exists",
        ),
    ):
        response = call(stack, "POST", "/providers", {"provider": body})
        assert (response.status_code, response.json()) == (409, {"errors": [message]})
    named = [
        p for p in call(stack, "GET", "/providers").json()["providers"] if "nique" in p["name"]
    ]
    assert named == [first.json()["provider"]]
