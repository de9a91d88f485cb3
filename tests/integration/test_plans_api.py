"""Plans as records over HTTP against the local stack: stored whole, read in any case,
refused naming the fault; a plan's MIF headers remembered, so a header mapped once imports
in every later file of the plan; a file's own name kept."""

from __future__ import annotations

import json
from typing import Any

import requests
from fixtures_builders import mif_csv, sample_mif_row
from stack_fixture import (
    MIF_URL,
    STAFF_TOKEN,
    RunningStack,
    data_uri,
    patients_by_member,
    post_mif,
    scan,
)

from ecm.kinds.mif.fields import MIF_FIELDS

PLANS = "/v1/admin/clinic/ecm/plans"
FIELDS = ", ".join(MIF_FIELDS.fields)
#: What an import's 201 body held before plans were records; unmapped_columns is added.
REFUSED = [
    "Missing required column: FIRST_NAME",
    "No row holds every required column (MEMBER_ID, FIRST_NAME, LAST_NAME): looked in rows "
    "1-4. The closest is row 1",
]
IMPORTED_KEYS = {
    "message",
    "imported_count",
    "updated_count",
    "mif_file_id",
    "created_count",
    "warnings",
    "records_failed",
    "errors",
}


def _call(stack: RunningStack, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    return requests.request(
        method,
        f"{stack.api}{path}",
        json=body,
        headers=kw.get("headers") or stack.headers(),
        timeout=60,
    )


def _stored(stack: RunningStack, code: str) -> dict[str, Any] | None:
    return next((p for p in scan(stack, "PlansTable") if p["code"] == code), None)


def _renamed_csv(first: int, renames: dict[str, str], extra: dict[str, str]) -> bytes:
    rows = []
    for i in range(first, first + 3):
        rows.append({**{renames.get(k, k): v for k, v in sample_mif_row(i).items()}, **extra})
    return mif_csv(rows)


def test_a_plan_is_stored_whole_and_read_in_any_case(stack: RunningStack) -> None:
    body = {
        "plan": {
            "name": "Health Net Community Solutions",
            "mif_columns": {"Mbr Frst Nm": "FIRST_NAME"},
            "mcp_name": "Health Net",
            "mcp_identifier": "HN01",
            "rtf": {"date_format": "YYYY-MM-DD", "codes": {"ecm_status": {"in_outreach": "3"}}},
        }
    }
    put = _call(stack, "PUT", f"{PLANS}/HealthNetX", body)
    assert put.status_code == 200, put.text
    plan = put.json()["plan"]
    users = _call(stack, "GET", "/v1/admin/clinic/ecm/users").json()["users"]
    admin = next(u for u in users if u["role"] == "admin")
    assert {k: v for k, v in plan.items() if k not in ("created_at", "updated_at")} == {
        "code": "healthnetx",
        "name": "Health Net Community Solutions",
        "mif_columns": {"Mbr Frst Nm": "FIRST_NAME"},
        "full_roster": True,
        "mcp_name": "Health Net",
        "mcp_identifier": "HN01",
        "rtf": {
            "columns": None,
            "date_format": "YYYY-MM-DD",
            "period_format": None,
            "file_name": None,
            "delimiter": None,
            "header": None,
            "codes": {"ecm_status": {"in_outreach": "3"}},
        },
        "otf": None,
        "updated_by": str(admin["id"]),
    }
    for code in ("healthnetx", "HEALTHNETX", "HealthNetX"):
        got = _call(stack, "GET", f"{PLANS}/{code}")
        assert (got.status_code, got.json()) == (200, {"plan": plan}), code
    listed = _call(stack, "GET", PLANS).json()["plans"]
    assert [p for p in listed if p["code"] == "healthnetx"] == [plan]
    stored = _stored(stack, "healthnetx")
    assert stored is not None
    assert stored["mif_columns"] == {"Mbr Frst Nm": "FIRST_NAME"}
    assert stored["rtf"] == {
        "date_format": "YYYY-MM-DD",
        "codes": {"ecm_status": {"in_outreach": "3"}},
    }
    assert _stored(stack, "HealthNetX") is None  # one plan, one record

    again = _call(
        stack, "PUT", f"{PLANS}/healthnetx", {"plan": {"name": "HN", "full_roster": False}}
    )
    assert again.status_code == 200, again.text
    replaced = again.json()["plan"]
    assert (replaced["mif_columns"], replaced["full_roster"], replaced["rtf"]) == ({}, False, None)
    assert replaced["created_at"] == plan["created_at"]
    assert replaced["updated_at"] >= plan["updated_at"]


def test_wrong_plans_are_refused_naming_the_fault_and_nothing_is_stored(
    stack: RunningStack,
) -> None:
    cases = [
        (
            {"name": "X", "mif_columns": {"Frst": "FRST_NAME"}},
            [f"plan.mif_columns['Frst'] 'FRST_NAME' is not a MIF field ({FIELDS})"],
        ),
        (
            {"name": "X", "mif_columns": {"First": "FIRST_NAME", "Given Name": "FIRST_NAME"}},
            [
                "plan.mif_columns maps both 'First' and 'Given Name' to FIRST_NAME: a field is "
                "read from one header"
            ],
        ),
        ({"mif_columns": {}}, ["plan.name Field required"]),
        ({"name": "X", "colour": "red"}, ["Unknown field 'plan.colour'"]),
    ]
    for plan, errors in cases:
        refused = _call(stack, "PUT", f"{PLANS}/refused-plan", {"plan": plan})
        assert (refused.status_code, refused.json()) == (422, {"errors": errors}), plan
    layout = _call(
        stack,
        "PUT",
        f"{PLANS}/refused-plan",
        {"plan": {"name": "X", "otf": {"columns": [{"header": "A", "field": "colour"}]}}},
    )
    assert layout.status_code == 422
    (message,) = layout.json()["errors"]
    assert message.startswith("plan.otf.columns[0].field 'colour' is not a field of the OTF ("), (
        message
    )
    bad_code = _call(stack, "PUT", f"{PLANS}/Health%20Net", {"plan": {"name": "X"}})
    assert (bad_code.status_code, bad_code.json()) == (
        422,
        {
            "errors": [
                "code must be 1-40 letters, digits, '-' or '_', starting with a letter or digit"
            ]
        },
    )
    for code in ("refused-plan", "Health%20Net", "no-such-plan"):
        missing = _call(stack, "GET", f"{PLANS}/{code}")
        assert (missing.status_code, missing.json()) == (404, {"errors": ["Plan not found"]})
    assert _stored(stack, "refused-plan") is None
    staff = _call(stack, "GET", PLANS, headers=stack.headers(STAFF_TOKEN))
    assert (staff.status_code, staff.json()) == (403, {"errors": ["Admin access required"]})
    put_staff = _call(
        stack, "PUT", f"{PLANS}/x", {"plan": {"name": "X"}}, headers=stack.headers(STAFF_TOKEN)
    )
    assert (put_staff.status_code, put_staff.json()) == (403, {"errors": ["Admin access required"]})


def test_a_bucket_document_is_migrated_before_its_plan_is_changed(stack: RunningStack) -> None:
    stack.client("s3").put_object(
        Bucket=stack.bucket,
        Key="config/plans/legacy-plan.json",
        Body=json.dumps({"plan": "legacy-plan", "mcp_name": "Legacy Health"}).encode(),
    )
    refused = _call(stack, "PUT", f"{PLANS}/Legacy-Plan", {"plan": {"name": "New"}})
    assert (refused.status_code, refused.json()) == (
        409,
        {
            "errors": [
                "Plan 'legacy-plan' has a layout document in the bucket "
                "(config/plans/legacy-plan.json): migrate it first (make migrate-plans, or "
                "ecm.cli migrate-plans), then change the plan here"
            ]
        },
    )
    report = json.loads(stack.run_cli("migrate-plans"))
    assert "legacy-plan" in report["migrated"]
    migrated = _call(stack, "GET", f"{PLANS}/legacy-plan").json()["plan"]
    assert (migrated["name"], migrated["mcp_name"], migrated["updated_by"]) == (
        "Legacy Health",
        "Legacy Health",
        "migrate-plans",
    )
    changed = _call(
        stack, "PUT", f"{PLANS}/legacy-plan", {"plan": {**_without_stamps(migrated), "name": "L"}}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["plan"]["mcp_name"] == "Legacy Health"


def _without_stamps(plan: dict[str, Any]) -> dict[str, Any]:
    dropped = ("code", "created_at", "updated_at", "updated_by")
    return {k: v for k, v in plan.items() if k not in dropped and v is not None}


def test_a_header_mapped_once_imports_in_every_later_file_of_the_plan(
    stack: RunningStack,
) -> None:
    renamed = {"FIRST_NAME": "Mbr Frst Nm", "ACUITY_LEVEL": "Mbr Acuity Lvl"}
    content = data_uri(_renamed_csv(46_000, renamed, {"County": "Alameda"}), "csv")
    # The plan named in any case; FIRST_NAME is required, so the file is refused as today.
    refused = post_mif(stack, {"file": content, "plan": "MapPlan", "dry_run": True})
    assert (refused.status_code, refused.json()) == (422, {"errors": REFUSED})
    listed = _call(stack, "GET", f"{MIF_URL}?per_page=25").json()["mif_files"]
    newest = next(f for f in listed if f["plan"] == "mapplan")
    assert (newest["plan"], newest["status"], newest["dry_run"]) == ("mapplan", "failed", True)
    assert [c["column"] for c in newest["unmapped_columns"]] == [
        "Mbr Frst Nm",
        "Mbr Acuity Lvl",
        "County",
    ]
    assert newest["unmapped_columns"] == [
        {"column": "Mbr Frst Nm", "suggestions": [{"field": "FIRST_NAME", "score": 0.91}]},
        {"column": "Mbr Acuity Lvl", "suggestions": [{"field": "ACUITY_LEVEL", "score": 0.91}]},
        {"column": "County", "suggestions": []},
    ]

    columns = {"Mbr Frst Nm": "FIRST_NAME", "MBR ACUITY LVL": "ACUITY_LEVEL"}
    put = _call(stack, "PUT", f"{PLANS}/mapplan", {"plan": {"name": "Map", "mif_columns": columns}})
    assert put.status_code == 200, put.text

    dry = post_mif(stack, {"file": content, "plan": "mapplan", "dry_run": True})
    assert dry.status_code == 200, dry.text
    assert dry.json()["unmapped_columns"] == [{"column": "County", "suggestions": []}]
    done = post_mif(stack, {"file": content, "plan": "MAPPLAN"})
    assert done.status_code == 201, done.text
    body = done.json()
    assert set(body) == IMPORTED_KEYS | {"unmapped_columns", "changes", "changes_file_url"}
    assert (body["imported_count"], body["created_count"]) == (3, 3)
    assert body["unmapped_columns"] == [{"column": "County", "suggestions": []}]
    members = patients_by_member(stack)
    for i in range(46_000, 46_003):
        row = sample_mif_row(i)
        patient = members[row["MEMBER_ID"]]
        assert patient["first_name"] == row["FIRST_NAME"]
        assert patient["eligibility"]["acuity_level"] == row["ACUITY_LEVEL"].lower()
        assert patient["eligibility"]["plan"] == "mapplan"
    # Another plan's files are read with its own headers only.
    other = data_uri(_renamed_csv(46_010, renamed, {}), "csv")
    refused = post_mif(stack, {"file": other, "plan": "other-plan"})
    assert (refused.status_code, refused.json()) == (422, {"errors": REFUSED})


def test_a_files_own_name_is_kept_beside_the_one_we_give_it(stack: RunningStack) -> None:
    content = data_uri(mif_csv([sample_mif_row(46_100)]), "csv")
    named = post_mif(stack, {"file": content, "filename": "Health Net Dec 2026.csv"})
    assert named.status_code == 201, named.text
    detail = _call(stack, "GET", f"{MIF_URL}/{named.json()['mif_file_id']}").json()["mif_file"]
    assert detail["original_filename"] == "Health Net Dec 2026.csv"
    assert detail["filename"].startswith("mif_") and detail["filename"].endswith(".csv")
    unnamed = post_mif(stack, {"file": content})
    assert unnamed.status_code == 201, unnamed.text
    ids = {named.json()["mif_file_id"], unnamed.json()["mif_file_id"]}
    listed = _call(stack, "GET", f"{MIF_URL}?per_page=25").json()["mif_files"]
    assert sorted((f["id"], f["original_filename"]) for f in listed if f["id"] in ids) == [
        (named.json()["mif_file_id"], "Health Net Dec 2026.csv"),
        (unnamed.json()["mif_file_id"], None),
    ]
    upload = _call(stack, "POST", f"{MIF_URL}/uploads", {"filename": "From Molina.csv"})
    assert upload.status_code == 201, upload.text
    waiting = _call(stack, "GET", f"{MIF_URL}/{upload.json()['id']}").json()["mif_file"]
    assert waiting["original_filename"] == "From Molina.csv"


def test_a_plan_too_large_to_store_is_refused(stack: RunningStack) -> None:
    codes = {"in_outreach": "x" * 300_000}  # a code's text has no bound of its own
    body = {"plan": {"name": "Big", "rtf": {"codes": {"ecm_status": codes}}}}
    refused = _call(stack, "PUT", f"{PLANS}/big-plan", body)
    assert refused.status_code == 422
    (message,) = refused.json()["errors"]
    assert message.startswith("plan is ") and message.endswith(
        "bytes as JSON; a plan holds 262,144 at most"
    ), message
    assert _stored(stack, "big-plan") is None
