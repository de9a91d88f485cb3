"""PUT /providers/{id} over HTTP: a rename or an NPI change moves the provider's claims in one
transaction (the old name or NPI is free again, the new one is refused to anyone else), a
clash or a bad value changes nothing, a change over an old version is a 409, and a patient's
case load shows the provider's current name without being rewritten."""

from __future__ import annotations

import threading
from typing import Any

import requests
from fixtures_builders import mif_csv, sample_mif_row
from stack_fixture import STAFF_TOKEN, RunningStack, data_uri, patients_by_member, post_mif, scan

ECM = "/v1/admin/clinic/ecm"
#: Member numbers no other test file uses (the stack is shared per worker).
BASE = 771_000
#: Valid NPIs (check digit) no other test file uses.
NPIS = ["1812345605", "1812345613", "1812345621", "1812345639", "1812345647", "1812345654"]
CHANGED = "Provider was changed by someone else since it was read; reload and retry"


def call(
    stack: RunningStack, method: str, path: str, body: Any = None, token: str | None = None
) -> requests.Response:
    headers = stack.headers(token) if token else stack.headers()
    return requests.request(
        method, f"{stack.api}{ECM}{path}", json=body, headers=headers, timeout=60
    )


def create(stack: RunningStack, name: str, npi: str | None = None) -> dict[str, Any]:
    response = call(stack, "POST", "/providers", {"provider": {"name": name, "npi": npi}})
    assert response.status_code == 201, response.text
    return dict(response.json()["provider"])


def edit(stack: RunningStack, provider_id: int | str, body: dict[str, Any]) -> requests.Response:
    return call(stack, "PUT", f"/providers/{provider_id}", {"provider": body})


def listed(stack: RunningStack, provider_id: int) -> dict[str, Any]:
    providers = call(stack, "GET", "/providers").json()["providers"]
    return next(p for p in providers if p["id"] == provider_id)


def claims(stack: RunningStack, provider_id: int) -> set[str]:
    """The uniqueness claims the meta table holds for this provider."""
    return {
        item["pk"]
        for item in scan(stack, "MetaTable")
        if item["pk"].startswith("unique#provider-") and item.get("value") == provider_id
    }


def stored(stack: RunningStack, provider_id: int) -> dict[str, Any]:
    return next(p for p in scan(stack, "ProvidersTable") if p["id"] == provider_id)


def test_a_rename_moves_the_name_claim_and_shows_on_case_loads(stack: RunningStack) -> None:
    provider = create(stack, "Edit Harbor", NPIS[0])
    assert (provider["version"], provider["updated_at"]) == (1, None)
    row = sample_mif_row(BASE)
    answer = post_mif(stack, {"file": data_uri(mif_csv([row]), "csv")})
    assert answer.status_code == 201, answer.text
    patient = patients_by_member(stack)[row["MEMBER_ID"]]
    assigned = call(
        stack,
        "PUT",
        f"/patients/{patient['id']}/case_load",
        {"case_load": {"provider_id": provider["id"]}},
    )
    assert assigned.json()["patient"]["case_load"]["provider_name"] == "Edit Harbor"

    renamed = edit(stack, provider["id"], {"name": " Edit Harbor North ", "version": 1})
    assert renamed.status_code == 200, renamed.text
    changed = renamed.json()["provider"]
    assert changed == {
        **provider,
        "name": "Edit Harbor North",
        "version": 2,
        "updated_at": changed["updated_at"],
    }
    assert changed["updated_at"] >= provider["created_at"]
    assert listed(stack, provider["id"]) == changed
    assert claims(stack, provider["id"]) == {
        "unique#provider-name#edit harbor north",
        f"unique#provider-npi#{NPIS[0]}",
    }

    # The case load names the provider as it is called now; the patient is not rewritten.
    detail = call(stack, "GET", f"/patients/{patient['id']}").json()["patient"]
    assert detail["case_load"]["provider_name"] == "Edit Harbor North"
    assert detail["version"] == assigned.json()["patient"]["version"]
    page = call(stack, "GET", f"/patients?provider_id={provider['id']}").json()["patients"]
    assert [(p["id"], p["case_load"]["provider_name"]) for p in page] == [
        (patient["id"], "Edit Harbor North")
    ]
    kept = patients_by_member(stack)[row["MEMBER_ID"]]
    assert kept["case_load"]["provider_name"] == "Edit Harbor"

    # The old name is free again; the new one is taken, in any case.
    again = create(stack, "Edit Harbor")
    assert claims(stack, again["id"]) == {"unique#provider-name#edit harbor"}
    third = call(stack, "POST", "/providers", {"provider": {"name": "EDIT harbor north"}})
    assert (third.status_code, third.json()) == (
        409,
        {"errors": ["provider: A provider named 'EDIT harbor north' already exists"]},
    )


def test_an_npi_change_moves_its_claim_and_a_cleared_npi_frees_it(stack: RunningStack) -> None:
    provider = create(stack, "Edit Npi Clinic", NPIS[1])
    moved = edit(stack, provider["id"], {"npi": NPIS[2]})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["provider"]["npi"], moved.json()["provider"]["version"]) == (NPIS[2], 2)
    assert claims(stack, provider["id"]) == {
        "unique#provider-name#edit npi clinic",
        f"unique#provider-npi#{NPIS[2]}",
    }
    other = create(stack, "Edit Npi Other", NPIS[1])
    assert other["npi"] == NPIS[1]
    refused = call(
        stack, "POST", "/providers", {"provider": {"name": "Edit Npi Third", "npi": NPIS[2]}}
    )
    assert (refused.status_code, refused.json()) == (
        409,
        {"errors": [f"provider: A provider with NPI '{NPIS[2]}' already exists"]},
    )

    cleared = edit(stack, provider["id"], {"npi": None})
    assert (cleared.json()["provider"]["npi"], cleared.json()["provider"]["version"]) == (None, 3)
    assert claims(stack, provider["id"]) == {"unique#provider-name#edit npi clinic"}
    assert create(stack, "Edit Npi Third", NPIS[2])["npi"] == NPIS[2]

    # A change to the values it has writes nothing: same version, same claims.
    same = edit(stack, provider["id"], {"name": "Edit Npi Clinic", "npi": ""})
    assert (same.status_code, same.json()["provider"]) == (200, cleared.json()["provider"])
    assert stored(stack, provider["id"])["version"] == 3


def test_a_clash_is_refused_and_nothing_changes(stack: RunningStack) -> None:
    first = create(stack, "Edit Clash One", NPIS[3])
    second = create(stack, "Edit Clash Two", NPIS[4])
    before = (stored(stack, first["id"]), claims(stack, first["id"]), claims(stack, second["id"]))
    for body, message in (
        ({"name": "edit clash TWO"}, "provider: A provider named 'edit clash TWO' already exists"),
        ({"npi": NPIS[4]}, f"provider: A provider with NPI '{NPIS[4]}' already exists"),
        (
            {"name": "Edit Clash Free", "npi": NPIS[4]},
            f"provider: A provider with NPI '{NPIS[4]}' already exists",
        ),
    ):
        response = edit(stack, first["id"], body)
        assert (response.status_code, response.json()) == (409, {"errors": [message]})
    # A name claimed in the meta table by a writer the directory does not show yet (a create
    # racing this edit): the transaction is cancelled as a whole, the old claims stay.
    stack.client("dynamodb").put_item(
        TableName="MetaTable",
        Item={"pk": {"S": "unique#provider-name#edit clash racing"}, "value": {"N": "987654"}},
    )
    racing = edit(stack, first["id"], {"name": "Edit Clash Racing", "npi": NPIS[5]})
    assert (racing.status_code, racing.json()) == (
        409,
        {"errors": ["provider: A provider named 'Edit Clash Racing' already exists"]},
    )
    after = (stored(stack, first["id"]), claims(stack, first["id"]), claims(stack, second["id"]))
    assert after == before
    assert not [i for i in scan(stack, "MetaTable") if i["pk"].endswith(NPIS[5])]
    assert listed(stack, first["id"]) == first


def test_bad_values_and_unknown_ids_are_refused(stack: RunningStack) -> None:
    provider = create(stack, "Edit Refusals")
    for body, status, message in (
        (
            {"npi": "1234567890"},
            422,
            "provider: NPI '1234567890' is not a valid 10-digit NPI",
        ),
        ({"name": None}, 422, "provider: Provider name can't be blank"),
        ({"name": "   "}, 422, "provider.name can't be blank"),
        ({"nickname": "x"}, 422, "Unknown field 'provider.nickname'"),
        ({"version": -1}, 422, "provider.version Input should be greater than or equal to 0"),
    ):
        response = edit(stack, provider["id"], body)
        assert (response.status_code, response.json()) == (status, {"errors": [message]}), body
    assert listed(stack, provider["id"]) == provider
    for raw in ("999999999", "01", "abc"):
        missing = edit(stack, raw, {"name": "Nobody"})
        assert (missing.status_code, missing.json()) == (404, {"errors": ["Provider not found"]})
    staff = call(
        stack, "PUT", f"/providers/{provider['id']}", {"provider": {"name": "X"}}, STAFF_TOKEN
    )
    assert (staff.status_code, staff.json()) == (403, {"errors": ["Admin access required"]})
    assert listed(stack, provider["id"]) == provider


def test_a_change_over_an_old_version_is_refused(stack: RunningStack) -> None:
    provider = create(stack, "Edit Versions")
    first = edit(stack, provider["id"], {"name": "Edit Versions A", "version": 1})
    assert first.json()["provider"]["version"] == 2
    stale = edit(stack, provider["id"], {"name": "Edit Versions B", "version": 1})
    assert (stale.status_code, stale.json()) == (409, {"errors": [CHANGED]})
    assert listed(stack, provider["id"]) == first.json()["provider"]
    assert claims(stack, provider["id"]) == {"unique#provider-name#edit versions a"}

    # Renames racing with no version given: each answer is a write of its own or a 409,
    # and the claims end up naming the provider's final name only.
    results: list[requests.Response] = []
    lock = threading.Lock()

    def rename(name: str) -> None:
        response = edit(stack, provider["id"], {"name": name})
        with lock:
            results.append(response)

    names = [f"Edit Versions R{i}" for i in range(6)]
    threads = [threading.Thread(target=rename, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {r.status_code for r in results} <= {200, 409}, [r.text for r in results]
    written = sorted(r.json()["provider"]["version"] for r in results if r.status_code == 200)
    assert written == list(range(3, 3 + len(written))) and written
    for refused in (r for r in results if r.status_code == 409):
        assert refused.json() == {"errors": [CHANGED]}
    final = listed(stack, provider["id"])
    assert final["version"] == written[-1]
    assert claims(stack, provider["id"]) == {f"unique#provider-name#{final['name'].lower()}"}


def test_a_provider_stored_before_versions_and_claims_is_changed(stack: RunningStack) -> None:
    stack.client("dynamodb").put_item(
        TableName="ProvidersTable",
        Item={"id": {"N": "771001"}, "name": {"S": "Edit Legacy"}, "npi": {"NULL": True}},
    )
    assert listed(stack, 771001)["version"] == 0
    stale = edit(stack, 771001, {"name": "Edit Legacy Two", "version": 1})
    assert (stale.status_code, stale.json()) == (409, {"errors": [CHANGED]})
    changed = edit(stack, 771001, {"name": "Edit Legacy Two", "version": 0})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["provider"]["name"], changed.json()["provider"]["version"]) == (
        "Edit Legacy Two",
        1,
    )
    assert claims(stack, 771001) == {"unique#provider-name#edit legacy two"}
