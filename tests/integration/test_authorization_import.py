"""Authorization imports over HTTP against the local stack (docs/api/authorization-imports.md):
formats, sources, member statuses and their history, unlinked-then-linked, all-or-nothing and
rollback."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
import requests
from fixtures_builders import (
    auth_xlsm,
    auth_xlsx,
    mif_csv,
    sample_auth_row,
    sample_mif_row,
)
from fixtures_heavy import auth_xls, encrypted_xlsx
from stack_fixture import (
    SERVED,
    STAFF_TOKEN,
    RunningStack,
    data_uri,
    patients_by_member,
    post_mif,
    scan,
    snapshot,
)

AUTH_URL = "/v1/admin/clinic/ecm/authorizations"
AUTH_MIME = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    "xls": "application/vnd.ms-excel",
}
BUILDERS = {"xlsx": auth_xlsx, "xlsm": auth_xlsm, "xls": auth_xls}


def auth_uri(content: bytes, file_type: str) -> str:
    return f"data:{AUTH_MIME[file_type]};base64,{base64.b64encode(content).decode()}"


def post_auth(
    stack: RunningStack, source: dict[str, Any], token: str | None = None
) -> requests.Response:
    headers = stack.headers(token) if token else stack.headers()
    return requests.post(
        f"{stack.api}{AUTH_URL}", json={"authorization": source}, headers=headers, timeout=120
    )


def members(stack: RunningStack, start: int, count: int) -> list[dict[str, str]]:
    rows = [sample_mif_row(i) for i in range(start, start + count)]
    response = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv")})
    assert response.status_code == 201, response.text
    return rows


def auth_detail(stack: RunningStack, file_id: int) -> dict[str, Any]:
    response = requests.get(f"{stack.api}{AUTH_URL}/{file_id}", headers=stack.headers(), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["authorization_file"]


@pytest.mark.parametrize("file_type", ["xlsx", "xlsm", "xls"])
def test_each_excel_format_imports_and_links(stack: RunningStack, file_type: str) -> None:
    base = 200_000 + 100 * ["xlsx", "xlsm", "xls"].index(file_type)
    mif_rows = members(stack, base, 2)
    rows = [sample_auth_row(base), sample_auth_row(base + 1, STATUS="Pending")]
    response = post_auth(stack, {"file": auth_uri(BUILDERS[file_type](rows), file_type)})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["message"] == "Authorization data imported successfully"
    assert (body["imported_count"], body["updated_count"]) == (2, 0)
    detail = auth_detail(stack, body["authorization_file_id"])
    assert detail["file_type"] == file_type
    assert detail["records_imported"] == 2 and detail["records_updated"] == 0
    assert detail["filename"].startswith("authorization_") and detail["filename"].endswith(
        file_type
    )
    assert detail["sheet_name"]
    stored = patients_by_member(stack)
    first = next(a for a in detail["authorizations"] if a["auth_no"] == rows[0]["AUTH_NO"])
    patient = stored[mif_rows[0]["MEMBER_ID"]]
    assert first["patient_id"] == patient["id"]
    assert first["ecm_eligibility_information_id"] == patient["eligibility"]["id"]
    assert first["patient_name"] == patient["name"]
    assert first["status"] == "Approved"
    assert first["authorization_type"] == "Form I"
    assert (
        stored[mif_rows[1]["MEMBER_ID"]]["eligibility"]["member_record_status"] == "pending_member"
    )


@pytest.mark.parametrize("source", ["url", "path", "inbox"])
def test_other_sources(stack: RunningStack, file_server: str, source: str) -> None:
    base = 210_000 + 100 * ["url", "path", "inbox"].index(source)
    members(stack, base, 1)
    content = auth_xlsx([sample_auth_row(base, STATUS="Cancel")])
    if source == "url":
        SERVED[f"/auth/{base}.xlsx"] = content
        response = post_auth(stack, {"url": f"{file_server}/auth/{base}.xlsx"})
        assert response.status_code == 201, response.text
    elif source == "path":
        stack.client("s3").put_object(
            Bucket=stack.bucket, Key=f"sftp/auth-{base}.xlsx", Body=content
        )
        response = post_auth(stack, {"path": f"sftp/auth-{base}.xlsx"})
        assert response.status_code == 201, response.text
    else:
        stack.client("s3").put_object(
            Bucket=stack.bucket, Key=f"inbox/authorizations/{base}.xlsx", Body=content
        )
    member = sample_mif_row(base)["MEMBER_ID"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = patients_by_member(stack)[member]["eligibility"]["member_record_status"]
        if status == "terminated_member":
            break
        time.sleep(0.3)
    assert status == "terminated_member"


def test_status_rules_history_and_update_by_auth_no(stack: RunningStack) -> None:
    base = 220_000
    mif_rows = members(stack, base, 4)
    ids = [r["MEMBER_ID"] for r in mif_rows]
    rows = [
        # member 0: two approvals in one file, listed out of decision order
        sample_auth_row(
            base,
            AUTH_NO="A-220000-2",
            RECEIVED_DATE="2024-01-01",
            DECISION_DATE="2024-03-01",
            STATUS="Approved",
        ),
        sample_auth_row(
            base,
            AUTH_NO="A-220000-1",
            RECEIVED_DATE="2024-01-01",
            DECISION_DATE="2024-01-15",
            STATUS="approved",
        ),
        sample_auth_row(base + 1, AUTH_NO="A-220001", STATUS="Denied"),
        sample_auth_row(base + 2, AUTH_NO="A-220002", STATUS="Cancelled"),
        sample_auth_row(base + 3, AUTH_NO="A-220003", STATUS="Pending", AUTHORIZATION_TYPE="e"),
    ]
    response = post_auth(stack, {"file": auth_uri(auth_xlsx(rows), "xlsx")})
    assert response.status_code == 201, response.text
    assert response.json()["imported_count"] == 5
    stored = patients_by_member(stack)
    zero = stored[ids[0]]
    assert zero["eligibility"]["member_record_status"] == "continuing_member"
    # new_member was already the MIF default: the first approval changes nothing,
    # the second (later decision date) makes the member continuing.
    assert [h["status"] for h in zero["ecm_status_history"]] == ["continuing_member"]
    assert zero["ecm_status_history"][0]["changed_by"] == "System Import"
    assert (
        stored[ids[1]]["eligibility"]["member_record_status"] == "new_member"
    )  # Denied: no change
    assert stored[ids[1]].get("ecm_status_history", []) == []
    assert stored[ids[2]]["eligibility"]["member_record_status"] == "terminated_member"
    assert stored[ids[3]]["eligibility"]["member_record_status"] == "pending_member"
    auths = {a["auth_no"]: a for a in scan(stack, "AuthorizationsTable")}
    assert auths["A-220002"]["status"] == "Cancel"
    assert auths["A-220003"]["authorization_type"] == "Form E"

    update = post_auth(
        stack,
        {
            "file": auth_uri(
                auth_xlsx([sample_auth_row(base + 3, AUTH_NO="A-220003", STATUS="Approved")]),
                "xlsx",
            )
        },
    )
    assert update.status_code == 201, update.text
    assert (update.json()["imported_count"], update.json()["updated_count"]) == (0, 1)
    patient = patients_by_member(stack)[ids[3]]
    assert patient["eligibility"]["member_record_status"] == "new_member"
    assert [h["status"] for h in patient["ecm_status_history"]] == ["pending_member", "new_member"]
    assert {a["auth_no"]: a for a in scan(stack, "AuthorizationsTable")}["A-220003"]["version"] == 2


def test_unlinked_authorization_is_linked_when_the_mif_brings_the_member(
    stack: RunningStack,
) -> None:
    base = 230_000
    row = sample_auth_row(base, STATUS="Pending")
    response = post_auth(stack, {"file": auth_uri(auth_xlsx([row]), "xlsx")})
    assert response.status_code == 201, response.text
    assert any("not known yet" in w for w in response.json()["warnings"])
    stored = {a["auth_no"]: a for a in scan(stack, "AuthorizationsTable")}[row["AUTH_NO"]]
    assert stored.get("patient_id") is None  # unlinked: no patient_id attribute
    members(stack, base, 1)
    linked = {a["auth_no"]: a for a in scan(stack, "AuthorizationsTable")}[row["AUTH_NO"]]
    patient = patients_by_member(stack)[row["MEMBER_ID"]]
    assert linked["patient_id"] == patient["id"]
    assert linked["ecm_eligibility_information_id"] == patient["eligibility"]["id"]
    assert patient["eligibility"]["member_record_status"] == "pending_member"
    assert [h["status"] for h in patient["ecm_status_history"]] == ["pending_member"]
    keys = {k["key"] for k in scan(stack, "PatientKeysTable")}
    assert f"pending#{row['MEMBER_ID'].upper()}" not in keys


def test_invalid_row_writes_nothing(stack: RunningStack) -> None:
    base = 240_000
    members(stack, base, 3)
    before = snapshot(stack)
    rows = [sample_auth_row(base + i, STATUS="Cancel") for i in range(3)]
    rows[1]["AUTH_NO"] = ""
    rows[2]["START_DATE"], rows[2]["EXPIRATION_DATE"] = "2025-02-01", "2025-01-01"
    response = post_auth(stack, {"file": auth_uri(auth_xlsx(rows), "xlsx")})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert "Row 3: Validation failed: Auth No can't be blank" in errors
    assert "Row 4: START_DATE 2025-02-01 is after EXPIRATION_DATE 2025-01-01" in errors
    assert snapshot(stack) == before


def test_fault_during_apply_restores_statuses_and_history(stack: RunningStack) -> None:
    base = 250_000
    members(stack, base, 60)
    before = snapshot(stack)
    rows = [sample_auth_row(base + i, STATUS="Cancel") for i in range(60)]
    ddb = stack.client("dynamodb")
    ddb.put_item(
        TableName="MetaTable", Item={"pk": {"S": "fault#apply"}, "after_chunk": {"N": "1"}}
    )
    try:
        response = post_auth(stack, {"file": auth_uri(auth_xlsx(rows), "xlsx")})
    finally:
        ddb.delete_item(TableName="MetaTable", Key={"pk": {"S": "fault#apply"}})
    assert response.status_code == 422, response.text
    assert "rolled back" in response.json()["errors"][0]
    assert snapshot(stack) == before


def test_bad_workbooks_are_invalid_excel_format(stack: RunningStack) -> None:
    good = auth_xlsx([sample_auth_row(260_000)])
    cases = {
        "csv": (
            b"AUTH_NO,MEMBER_ID\nA1,M1\n",
            "Invalid Excel format: the file is CSV text, not an Excel workbook (xlsx, xlsm, xls)",
        ),
        "pdf": (b"%PDF-1.7\n%binary", "Invalid Excel format: this is a PDF document"),
        "truncated": (good[: len(good) // 2], "Invalid Excel format: the zip container is damaged"),
        "password": (
            encrypted_xlsx([sample_auth_row(260_001)]),
            "Invalid Excel format: the workbook is password-protected; remove the password and export it again",
        ),
    }
    for name, (content, message) in cases.items():
        response = post_auth(stack, {"file": base64.b64encode(content).decode()})
        assert response.status_code == 422, name
        assert response.json()["errors"] == [message], name


def test_text_claimed_as_a_workbook_is_invalid_excel_format(stack: RunningStack) -> None:
    """Bytes that are not a workbook answer "Invalid Excel format: ...", also when
    file_type or the data URI said xlsx; the detail after the colon says which claim."""
    content = b"AUTH_NO,MEMBER_ID\nA1,M1\n"
    by_type = post_auth(stack, {"file": base64.b64encode(content).decode(), "file_type": "xlsx"})
    assert by_type.status_code == 422
    assert by_type.json()["errors"] == [
        "Invalid Excel format: file_type says 'xlsx' but the content is CSV"
    ]
    by_uri = post_auth(stack, {"file": auth_uri(content, "xlsx")})
    assert by_uri.status_code == 422
    assert by_uri.json()["errors"] == [
        "Invalid Excel format: data URI prefix says 'xlsx' but the content is CSV"
    ]


def test_scientific_auth_no_and_duplicates(stack: RunningStack) -> None:
    rows = [
        sample_auth_row(270_000, AUTH_NO="6.45722E+12"),
        sample_auth_row(270_001),
        sample_auth_row(270_002),
    ]
    rows[2]["AUTH_NO"] = rows[1]["AUTH_NO"]
    response = post_auth(stack, {"file": auth_uri(auth_xlsx(rows), "xlsx")})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert any(
        e.startswith("Row 2: AUTH_NO '6.45722E+12' is in scientific notation") for e in errors
    )
    assert f"Row 4: duplicate Auth No '{rows[1]['AUTH_NO']}' (also on row 3)" in errors


def test_auth_errors_and_not_found(stack: RunningStack) -> None:
    assert requests.get(f"{stack.api}{AUTH_URL}", timeout=30).status_code == 401
    staff = requests.get(
        f"{stack.api}{AUTH_URL}", headers={"X-User-Token": STAFF_TOKEN}, timeout=30
    )
    assert (staff.status_code, staff.json()) == (403, {"errors": ["Admin access required"]})
    missing = requests.get(f"{stack.api}{AUTH_URL}/424242", headers=stack.headers(), timeout=30)
    assert (missing.status_code, missing.json()) == (
        404,
        {"errors": ["Authorization file not found"]},
    )
    listing = requests.get(
        f"{stack.api}{AUTH_URL}?per_page=2", headers=stack.headers(), timeout=30
    ).json()
    assert set(listing) == {"authorization_files", "pagination"}
    for item in listing["authorization_files"]:
        assert {"records_imported", "records_updated", "file_url", "import_errors"} <= set(item)
