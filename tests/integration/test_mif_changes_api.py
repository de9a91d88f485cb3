"""Two months (and a third) of one plan's MIFs over HTTP against the local stack: what each
file adds, changes, keeps and drops, in the 201 body, the file's detail and the changes
CSV; dropped members marked and nothing else about them changed, then cleared; a dry run
reports the same and writes nothing; a plan without a full roster drops nobody; the
in_latest_mif filter; a failed apply takes the marks back."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from fixtures_builders import mif_csv, sample_mif_row
from stack_fixture import (
    MIF_URL,
    RunningStack,
    data_uri,
    patients_by_member,
    post_mif,
    scan,
    wait_for_file,
)

PLANS = "/v1/admin/clinic/ecm/plans"
FILTER = "/v1/admin/clinic/ecm/patients/filter"


def _rows(first: int, count: int) -> list[dict[str, str]]:
    return [sample_mif_row(i) for i in range(first, first + count)]


def _import(
    stack: RunningStack, rows: list[dict[str, str]], plan: str, **options: Any
) -> dict[str, Any]:
    response = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv"), "plan": plan, **options})
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def _detail(stack: RunningStack, file_id: int) -> dict[str, Any]:
    response = requests.get(f"{stack.api}{MIF_URL}/{file_id}", headers=stack.headers(), timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json()["mif_file"])


def _changes_csv(url: str) -> list[list[str]]:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))


def _counts(added: int = 0, changed: int = 0, unchanged: int = 0, dropped: int = 0) -> Any:
    return {"added": added, "changed": changed, "unchanged": unchanged, "dropped": dropped}


def _patient(stack: RunningStack, patient_id: int) -> dict[str, Any]:
    response = requests.get(
        f"{stack.api}/v1/admin/clinic/ecm/patients/{patient_id}",
        headers=stack.headers(),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["patient"])


def _filtered(stack: RunningStack, term: str, in_latest: bool) -> list[str]:
    response = requests.post(
        f"{stack.api}{FILTER}",
        json={"search": term, "filters": {"in_latest_mif": in_latest}, "per_page": 100},
        headers=stack.headers(),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return sorted(
        p["ecm_eligibility_information"]["member_id"] for p in response.json()["patients"]
    )


def _month_two(rows: list[dict[str, str]], new: dict[str, str]) -> list[dict[str, str]]:
    """Row 0 as it was, row 1 with a new phone and city, row 2 with a blank address, a new
    member; rows 3 and 4 left out."""
    return [
        rows[0],
        {**rows[1], "PHONE": "(617) 555-9999", "CITY": "Salem"},
        {**rows[2], "ADDRESS": ""},
        new,
    ]


def test_two_months_of_one_plan_add_change_keep_and_drop_then_a_third_clears(
    stack: RunningStack,
) -> None:
    plan = "chg-months"
    rows = _rows(7_100_000, 5)
    first = _import(stack, rows, plan)
    assert first["changes"] == _counts(added=5)
    lines = _changes_csv(first["changes_file_url"])
    assert lines == [["member_id", "change", "fields"]] + [
        [r["MEMBER_ID"], "added", ""] for r in rows
    ]
    before = patients_by_member(stack)

    new = sample_mif_row(7_100_005)
    second = _import(stack, _month_two(rows, new), plan)
    file_id = second["mif_file_id"]
    assert second["changes"] == _counts(added=1, changed=1, unchanged=2, dropped=2)
    detail = _detail(stack, file_id)
    assert detail["changes"] == second["changes"]
    phone = before[rows[1]["MEMBER_ID"]]["phone"]
    assert _changes_csv(detail["changes_file_url"]) == [
        ["member_id", "change", "fields"],
        [rows[1]["MEMBER_ID"], "changed", f"CITY: Boston → Salem; PHONE: {phone} → +16175559999"],
        [new["MEMBER_ID"], "added", ""],
        [rows[3]["MEMBER_ID"], "dropped", ""],
        [rows[4]["MEMBER_ID"], "dropped", ""],
    ]
    after = patients_by_member(stack)
    for row in rows[3:]:
        old, marked = before[row["MEMBER_ID"]], after[row["MEMBER_ID"]]
        shown = _patient(stack, old["id"])["ecm_eligibility_information"]
        assert (shown["in_latest_mif"], shown["dropped_in_mif_file_id"]) == (False, file_id)
        eligibility = dict(marked["eligibility"])
        assert (eligibility.pop("in_latest_mif"), eligibility.pop("dropped_in_mif_file_id")) == (
            False,
            file_id,
        )
        assert marked["version"] == old["version"] + 1
        unchanged = {**marked, "eligibility": eligibility, "version": 0, "last_import": ""}
        assert unchanged == {**old, "version": 0, "last_import": ""}  # nothing else changed
    kept = _patient(stack, after[rows[0]["MEMBER_ID"]]["id"])["ecm_eligibility_information"]
    assert (kept["in_latest_mif"], kept["dropped_in_mif_file_id"]) == (True, None)
    assert _filtered(stack, "m0071", in_latest=False) == [r["MEMBER_ID"] for r in rows[3:]]
    assert _filtered(stack, "m0071", in_latest=True) == sorted(
        [r["MEMBER_ID"] for r in rows[:3]] + [new["MEMBER_ID"]]
    )

    # The third file lists row 3 again (no longer dropped: added) and leaves row 4 out, as
    # the second did: it is not dropped twice.
    third = _import(stack, [*_month_two(rows, new)[:2], rows[2], new, rows[3]], plan)
    assert third["changes"] == _counts(added=1, unchanged=4)
    assert _changes_csv(third["changes_file_url"])[1:] == [[rows[3]["MEMBER_ID"], "added", ""]]
    relisted = patients_by_member(stack)[rows[3]["MEMBER_ID"]]["eligibility"]
    assert "in_latest_mif" not in relisted and "dropped_in_mif_file_id" not in relisted
    still = patients_by_member(stack)[rows[4]["MEMBER_ID"]]["eligibility"]
    assert (still["in_latest_mif"], still["dropped_in_mif_file_id"]) == (False, file_id)


def test_a_dry_run_reports_the_changes_as_they_would_be_and_writes_nothing(
    stack: RunningStack,
) -> None:
    plan = "chg-dry"
    rows = _rows(7_200_000, 5)
    _import(stack, rows, plan)
    month_two = _month_two(rows, sample_mif_row(7_200_005))
    before = sorted(json.dumps(p, sort_keys=True) for p in scan(stack, "PatientsTable"))
    dry = _import(stack, month_two, plan, dry_run=True)
    assert dry["dry_run"] is True
    assert dry["changes"] == _counts(added=1, changed=1, unchanged=2, dropped=2)
    dry_lines = _changes_csv(dry["changes_file_url"])
    assert sorted(json.dumps(p, sort_keys=True) for p in scan(stack, "PatientsTable")) == before
    assert _detail(stack, dry["mif_file_id"])["changes"] == dry["changes"]
    real = _import(stack, month_two, plan)
    assert real["changes"] == dry["changes"]
    assert _changes_csv(real["changes_file_url"]) == dry_lines


def test_a_plan_without_a_full_roster_drops_nobody(stack: RunningStack) -> None:
    plan = "chg-partial"
    saved = requests.put(
        f"{stack.api}{PLANS}/{plan}",
        json={"plan": {"name": "Partial files", "full_roster": False}},
        headers=stack.headers(),
        timeout=30,
    )
    assert saved.status_code == 200, saved.text
    rows = _rows(7_300_000, 4)
    _import(stack, rows, plan)
    second = _import(stack, rows[:2], plan)
    assert second["changes"] == _counts(unchanged=2)
    assert _changes_csv(second["changes_file_url"]) == [["member_id", "change", "fields"]]
    members = patients_by_member(stack)
    assert all("in_latest_mif" not in members[r["MEMBER_ID"]]["eligibility"] for r in rows)


def test_a_file_naming_no_plan_has_no_changes(stack: RunningStack) -> None:
    response = post_mif(stack, {"file": data_uri(mif_csv(_rows(7_400_000, 2)), "csv")})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["changes"], body["changes_file_url"]) == (None, None)
    detail = _detail(stack, body["mif_file_id"])
    assert (detail["changes"], detail["changes_file_url"]) == (None, None)


@contextmanager
def _fault(stack: RunningStack, stage: str, **attributes: Any) -> Iterator[None]:
    item = {"pk": {"S": f"fault#{stage}"}}
    for name, value in attributes.items():
        item[name] = {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
    ddb = stack.client("dynamodb")
    ddb.put_item(TableName="MetaTable", Item=item)
    try:
        yield
    finally:
        ddb.delete_item(TableName="MetaTable", Key={"pk": {"S": f"fault#{stage}"}})


def test_an_import_that_fails_at_apply_takes_its_drop_marks_back(stack: RunningStack) -> None:
    """The second file plans one chunk of rows and one of marks (chunk 1): the apply of the
    marks writes them, then fails; the rollback puts every member back as it was."""
    plan = "chg-rollback"
    rows = _rows(7_500_000, 5)
    _import(stack, rows, plan)
    before = sorted(json.dumps(p, sort_keys=True) for p in scan(stack, "PatientsTable"))
    with _fault(stack, "apply", mode="raise", after_chunk=1):
        response = post_mif(stack, {"file": data_uri(mif_csv(rows[:3]), "csv"), "plan": plan})
        assert response.status_code in (202, 422), response.text
        listing = requests.get(f"{stack.api}{MIF_URL}?per_page=1", headers=stack.headers())
        detail = wait_for_file(stack, int(listing.json()["mif_files"][0]["id"]), timeout=120)
    assert (detail["status"], detail["stage"]) == ("failed", "rolled_back")
    assert "InjectedFault" in detail["import_errors"]
    assert (detail["changes"], detail["changes_file_url"]) == (None, None)
    assert sorted(json.dumps(p, sort_keys=True) for p in scan(stack, "PatientsTable")) == before
    again = _import(stack, rows[:3], plan)
    assert again["changes"] == _counts(unchanged=3, dropped=2)
