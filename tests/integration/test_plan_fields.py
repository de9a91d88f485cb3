"""A plan's MIF columns no field is known by, kept on each member as its plan fields, over
HTTP against the local stack: two months of one plan's files (kept, replaced, an empty cell
not erasing, a column the second file lacks kept), the limits said once, a failed import
leaving them as they were, and a return file taking a column from them."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import requests
from fixtures_builders import mif_csv, mif_xlsx, sample_mif_row
from stack_fixture import (
    RunningStack,
    data_uri,
    patients_by_member,
    post_mif,
    snapshot,
)

ECM = "/v1/admin/clinic/ecm"
PLAN = "kept-plan"
FIRST = 47_000
LAYOUT = [
    {"header": "CIN", "field": "cin"},
    {"header": "County", "plan_field": "County"},
    {"header": "Referred by", "plan_field": "referral org"},  # as headers match
    {"header": "Program", "value": "ECM"},
]


def _call(stack: RunningStack, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(
        method, f"{stack.api}{ECM}{path}", json=body, headers=stack.headers(), timeout=60
    )


def _ok(response: requests.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def _plan_fields(stack: RunningStack, i: int) -> dict[str, str]:
    patient_id = patients_by_member(stack)[sample_mif_row(i)["MEMBER_ID"]]["id"]
    detail = _ok(_call(stack, "GET", f"/patients/{patient_id}"))["patient"]
    return dict(detail["ecm_eligibility_information"]["plan_fields"])


def test_two_months_of_a_plans_files_keep_merge_and_export_its_extra_columns(
    stack: RunningStack,
) -> None:
    _ok(
        _call(
            stack, "PUT", f"/plans/{PLAN}", {"plan": {"name": "Kept", "rtf": {"columns": LAYOUT}}}
        )
    )
    a, b, c = FIRST, FIRST + 1, FIRST + 2
    november = [
        {**sample_mif_row(a), "County": "Alameda", "Email": "a@example.org", "Referral Org": "X"},
        {**sample_mif_row(b), "County": "Fresno", "Email": "", "Referral Org": "Clinic B"},
    ]
    first = _ok(post_mif(stack, {"file": data_uri(mif_csv(november), "csv"), "plan": PLAN}), 201)
    assert first["warnings"] == [
        "Unknown column 'County' kept as a plan field",
        "Unknown column 'Email' kept as a plan field",
        "Unknown column 'Referral Org' kept as a plan field",
    ]
    assert [u["column"] for u in first["unmapped_columns"]] == ["County", "Email", "Referral Org"]
    assert _plan_fields(stack, a) == {
        "County": "Alameda",
        "Email": "a@example.org",
        "Referral Org": "X",
    }
    assert _plan_fields(stack, b) == {"County": "Fresno", "Referral Org": "Clinic B"}

    # December, as a workbook: no Referral Org column, a new one, a date cell, a long note.
    note = "n" * 1200
    december = [
        {**sample_mif_row(a), "County": "Contra Costa", "Email": "", "POF": date(2026, 11, 3)},
        {**sample_mif_row(b), "County": "", "Email": "b@example.org", "POF": note},
        {**sample_mif_row(c), "County": "Kern", "Email": "", "POF": None},
    ]
    second = _ok(post_mif(stack, {"file": data_uri(mif_xlsx(december), "xlsx"), "plan": PLAN}), 201)
    assert (second["created_count"], second["updated_count"]) == (1, 2)
    assert second["warnings"] == [
        "1 value longer than 1,000 characters kept cut to 1,000, in 'POF'",
        "Unknown column 'County' kept as a plan field",
        "Unknown column 'Email' kept as a plan field",
        "Unknown column 'POF' kept as a plan field",
    ]
    assert _plan_fields(stack, a) == {
        "County": "Contra Costa",  # replaced
        "Email": "a@example.org",  # an empty cell keeps it
        "Referral Org": "X",  # a column December lacks keeps it
        "POF": "2026-11-03",
    }
    assert _plan_fields(stack, b) == {
        "County": "Fresno",
        "Email": "b@example.org",
        "Referral Org": "Clinic B",
        "POF": "n" * 1000,
    }
    assert _plan_fields(stack, c) == {"County": "Kern"}

    # The return file takes its columns from them; a member without one has it blank.
    export = _ok(
        _call(
            stack,
            "POST",
            "/exports",
            {
                "export": {
                    "kind": "rtf",
                    "plan": PLAN,
                    "period": "2026-11",
                    "production_date": "2026-12-05",
                }
            },
        ),
        201,
    )
    detail = _ok(_call(stack, "GET", f"/exports/{export['export_id']}"))["export"]
    assert (detail["status"], detail["row_count"]) == ("completed", 3)
    text = requests.get(detail["file_url"], timeout=60).content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["CIN", "County", "Referred by", "Program"],
        [sample_mif_row(a)["CIN"], "Contra Costa", "X", "ECM"],
        [sample_mif_row(b)["CIN"], "Fresno", "Clinic B", "ECM"],
        [sample_mif_row(c)["CIN"], "Kern", "", "ECM"],
    ]


def test_a_failed_import_leaves_plan_fields_as_they_were(stack: RunningStack) -> None:
    base, plan = FIRST + 100, "kept-rollback"
    rows = [{**sample_mif_row(base + i), "County": "Alameda"} for i in range(60)]
    _ok(post_mif(stack, {"file": data_uri(mif_csv(rows), "csv"), "plan": plan}), 201)
    before = snapshot(stack)
    changed = [{**sample_mif_row(base + i), "County": "Kern", "Site": "S"} for i in range(200)]
    ddb = stack.client("dynamodb")
    ddb.put_item(
        TableName="MetaTable", Item={"pk": {"S": "fault#apply"}, "after_chunk": {"N": "2"}}
    )
    try:
        failed = post_mif(stack, {"file": data_uri(mif_csv(changed), "csv"), "plan": plan})
    finally:
        ddb.delete_item(TableName="MetaTable", Key={"pk": {"S": "fault#apply"}})
    assert failed.status_code == 422, failed.text
    assert "rolled back" in failed.json()["errors"][0]
    assert snapshot(stack) == before
    assert _plan_fields(stack, base) == {"County": "Alameda"}


def test_columns_beyond_the_limits_are_named_once_and_a_layout_cannot_name_a_field(
    stack: RunningStack,
) -> None:
    plan = "kept-limits"
    extra = {f"Extra {i}": "x" for i in range(103)}
    rows = [{**sample_mif_row(FIRST + 200 + i), **extra} for i in range(3)]
    dry = _ok(
        post_mif(stack, {"file": data_uri(mif_csv(rows), "csv"), "plan": plan, "dry_run": True}),
        200,
    )
    assert dry["warnings"][0] == (
        "Columns not kept as plan fields (at most 100 columns, each header at most 200 "
        "characters and given once): 'Extra 100', 'Extra 101', 'Extra 102'"
    )
    assert sum("Extra 100" in w for w in dry["warnings"]) == 1  # once, not once per row

    stored = {"columns": [{"header": "County", "plan_field": "County"}]}
    _ok(_call(stack, "PUT", f"/plans/{plan}", {"plan": {"name": "Limits", "rtf": stored}}))
    layout = {"columns": [{"header": "Born", "plan_field": "Member DOB"}]}
    refused = _call(stack, "PUT", f"/plans/{plan}", {"plan": {"name": "Limits", "rtf": layout}})
    assert (refused.status_code, refused.json()) == (
        422,
        {
            "errors": [
                "plan.rtf.columns[0].plan_field 'Member DOB' is read as the MIF field DOB, "
                "never kept as a plan field: name a field of the RTF instead"
            ]
        },
    )
    assert _ok(_call(stack, "GET", f"/plans/{plan}"))["plan"]["rtf"]["columns"] == [
        {"header": "County", "field": None, "value": None, "plan_field": "County"}
    ]
