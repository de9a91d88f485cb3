"""Corrected imports over HTTP against the local stack: a file refused for a bad cell is
imported again from its stored original with the cell corrected, as a file record of its
own; the first file, its record and its bytes stay as they were."""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

import requests
from fixtures_builders import auth_xlsx, mif_csv, mif_xml, sample_auth_row, sample_mif_row
from stack_fixture import (
    MIF_URL,
    RunningStack,
    data_uri,
    patients_by_member,
    post_mif,
    scan,
    snapshot,
    wait_for_file,
)

AUTH_URL = "/v1/admin/clinic/ecm/authorizations"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def correct(stack: RunningStack, url: str, file_id: int, body: dict[str, Any]) -> Any:
    return requests.post(
        f"{stack.api}{url}/{file_id}/corrections", json=body, headers=stack.headers(), timeout=120
    )


def detail(stack: RunningStack, url: str, file_id: int) -> dict[str, Any]:
    response = requests.get(f"{stack.api}{url}/{file_id}", headers=stack.headers(), timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body["mif_file" if url == MIF_URL else "authorization_file"]


def newest(stack: RunningStack, url: str) -> tuple[int, int]:
    """The newest file's id and how many files there are."""
    listing = requests.get(f"{stack.api}{url}?per_page=1", headers=stack.headers(), timeout=30)
    body = listing.json()
    files = body["mif_files" if url == MIF_URL else "authorization_files"]
    return int(files[0]["id"]), int(body["pagination"]["total_count"])


def file_item(stack: RunningStack, kind: str, file_id: int) -> dict[str, Any]:
    items = scan(stack, "ImportFilesTable")
    return next(i for i in items if (i["kind"], i["id"]) == (kind, file_id))


def stored_bytes(stack: RunningStack, key: str) -> bytes:
    body: bytes = stack.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read()
    return body


def test_a_mif_refused_for_one_cell_imports_with_the_cell_corrected(stack: RunningStack) -> None:
    members = [sample_mif_row(i) for i in range(61_000, 61_004)]
    members[1]["DOB"] = "13-45-1980"  # file row 3
    named = [{("Date of Birth" if k == "DOB" else k): v for k, v in m.items()} for m in members]
    content = mif_csv(named)
    refused = post_mif(stack, {"file": data_uri(content, "csv"), "filename": "january.csv"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == ["Row 3: DOB '13-45-1980' is not a valid MM-DD-YYYY date"]
    first, files = newest(stack, MIF_URL)
    original = file_item(stack, "mif", first)
    tables = snapshot(stack)

    # Checked, not imported: the field's name finds the column "Date of Birth".
    fix = {"row": 3, "column": "DOB", "value": "01-02-1980"}
    checked = correct(stack, MIF_URL, first, {"corrections": [fix], "dry_run": True})
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert (body["dry_run"], body["would_create"], body["records_failed"]) == (True, 4, 0)
    assert snapshot(stack) == tables
    dry = body["mif_file_id"]
    assert dry != first

    # Imported: the checked file with no further correction keeps the ones it was checked with.
    imported = correct(stack, MIF_URL, dry, {"corrections": []})
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert (body["imported_count"], body["created_count"]) == (4, 4)
    stored = patients_by_member(stack)
    assert stored[members[1]["MEMBER_ID"]]["date_of_birth"] == "1980-01-02"
    assert stored[members[2]["MEMBER_ID"]]["first_name"] == members[2]["FIRST_NAME"]

    listed = detail(stack, MIF_URL, body["mif_file_id"])
    assert listed["corrected_from"] == first  # the first file, not the checked one
    assert listed["corrections"] == [
        {
            "row": 3,
            "column": "Date of Birth",
            "value": "01-02-1980",
            "changed_by": original["created_by"],
            "changed_at": listed["corrections"][0]["changed_at"],
        }
    ]
    assert listed["corrections"][0]["changed_at"] >= original["created_at"]
    assert (listed["source_type"], listed["original_filename"]) == ("base64", "january.csv")
    assert (listed["status"], listed["records_imported"]) == ("completed", 4)
    assert {r["dob"] for r in listed["eligibility_informations"]} >= {"1980-01-02"}
    assert detail(stack, MIF_URL, dry)["corrected_from"] == first
    # The result file is the admin's file as imported: the corrected cell, under its header.
    result = requests.get(listed["result_file_url"], timeout=30)
    table = list(csv.reader(io.StringIO(result.text, newline="")))
    assert table[0][4] == "Date of Birth"
    assert [(line[4], line[-2]) for line in table[1:]] == [
        (members[0]["DOB"], "created"),
        ("01-02-1980", "created"),
        (members[2]["DOB"], "created"),
        (members[3]["DOB"], "created"),
    ]

    # The first file is as it was: its record and its bytes.
    assert file_item(stack, "mif", first) == original
    assert stored_bytes(stack, original["s3_key"]) == content
    first_detail = detail(stack, MIF_URL, first)
    assert (first_detail["status"], first_detail["corrected_from"]) == ("failed", None)
    assert first_detail["corrections"] == []
    assert newest(stack, MIF_URL) == (body["mif_file_id"], files + 2)


def test_a_correction_the_file_has_no_cell_for_starts_nothing(stack: RunningStack) -> None:
    members = [sample_mif_row(i) for i in range(62_000, 62_003)]
    members[0]["DOB"] = "02-30-1990"
    refused = post_mif(stack, {"file": data_uri(mif_csv(members), "csv")})
    assert refused.status_code == 422, refused.text
    first, files = newest(stack, MIF_URL)
    records = scan(stack, "ImportFilesTable")
    tables = snapshot(stack)
    body = {
        "corrections": [
            {"row": 2, "column": "DOB", "value": "02-28-1990"},
            {"row": 999, "column": "DOB", "value": "02-28-1990"},
            {"row": 3, "column": "NOPE", "value": "x"},
        ]
    }
    response = correct(stack, MIF_URL, first, body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        "corrections[1] (row 999, column 'DOB'): the file has no such data row",
        "corrections[2] (row 3, column 'NOPE'): the file has no such column",
    ]
    assert newest(stack, MIF_URL) == (first, files)
    assert sorted(scan(stack, "ImportFilesTable"), key=str) == sorted(records, key=str)
    assert snapshot(stack) == tables
    missing = correct(stack, MIF_URL, 987_654, {"corrections": []})
    assert (missing.status_code, missing.json()) == (404, {"errors": ["MIF file not found"]})


def test_an_uploaded_xml_is_corrected_from_the_upload_it_came_as(stack: RunningStack) -> None:
    """The original stays under uploads/ (whose new objects start imports): the corrected
    import reads it there and writes its corrections under files/ only."""
    created = requests.post(
        f"{stack.api}{MIF_URL}/uploads",
        json={"filename": "february.xml", "mode": "valid_rows"},
        headers=stack.headers(),
        timeout=30,
    ).json()
    waiting = correct(stack, MIF_URL, created["id"], {"corrections": []})
    assert waiting.status_code == 422
    assert waiting.json()["errors"] == [
        f"MIF file {created['id']} has no file to correct: it was never uploaded"
    ]
    members = [sample_mif_row(i) for i in range(64_000, 64_003)]
    members[2]["ZIP"] = "9"  # the third <Member>
    content = mif_xml(members)
    put = requests.put(
        created["upload_url"], data=content, headers=created["required_headers"], timeout=60
    )
    assert put.status_code == 200
    first = created["id"]
    done = wait_for_file(stack, first)
    assert (done["status"], done["records_failed"]) == ("completed", 1)
    original = file_item(stack, "mif", first)
    assert original["s3_key"].startswith("uploads/")

    fix = {"row": 3, "column": "zip", "value": "94110"}
    imported = correct(stack, MIF_URL, first, {"corrections": [fix]})
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert (body["updated_count"], body["created_count"], body["records_failed"]) == (2, 1, 0)
    assert patients_by_member(stack)[members[2]["MEMBER_ID"]]["address"]["zip"] == "94110"
    listed = detail(stack, MIF_URL, body["mif_file_id"])
    assert (listed["mode"], listed["source_type"], listed["file_type"]) == (
        "valid_rows",
        "upload",
        "xml",
    )
    assert [(c["row"], c["column"]) for c in listed["corrections"]] == [(3, "ZIP")]
    assert file_item(stack, "mif", first) == original
    assert stored_bytes(stack, original["s3_key"]) == content
    corrections = stack.client("s3").list_objects_v2(
        Bucket=stack.bucket, Prefix=f"files/mif/{first}/"
    )
    assert [o["Key"] for o in corrections["Contents"]] == [
        f"files/mif/{first}/corrections-{body['mif_file_id']}.json"
    ]


def test_an_authorization_file_imports_with_a_cell_corrected(stack: RunningStack) -> None:
    base = 63_000
    members = [sample_mif_row(i) for i in range(base, base + 3)]
    assert post_mif(stack, {"file": data_uri(mif_csv(members), "csv")}).status_code == 201
    rows = [sample_auth_row(base + i) for i in range(3)]
    rows[2]["AUTH_NO"] = ""  # file row 4
    content = auth_xlsx(rows)
    source = {"file": f"data:{XLSX};base64,{base64.b64encode(content).decode()}"}
    refused = requests.post(
        f"{stack.api}{AUTH_URL}",
        json={"authorization": source},
        headers=stack.headers(),
        timeout=120,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == ["Row 4: Validation failed: Auth No can't be blank"]
    first, files = newest(stack, AUTH_URL)
    original = file_item(stack, "authorization", first)

    beyond = {"row": 5, "column": "AUTH_NO", "value": "A1"}
    wrong = correct(stack, AUTH_URL, first, {"corrections": [beyond]})
    assert wrong.status_code == 422
    assert wrong.json()["errors"] == [
        "corrections[0] (row 5, column 'AUTH_NO'): the file has no such data row"
    ]
    assert newest(stack, AUTH_URL) == (first, files)

    fix = {"row": 4, "column": "auth_no", "value": f"AUTH{base}X"}
    imported = correct(stack, AUTH_URL, first, {"corrections": [fix], "mode": "valid_rows"})
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert (body["imported_count"], body["records_failed"]) == (3, 0)
    stored = {a["auth_no"]: a for a in scan(stack, "AuthorizationsTable")}
    assert stored[f"AUTH{base}X"]["member_id"] == rows[2]["MEMBER_ID"]
    listed = detail(stack, AUTH_URL, body["authorization_file_id"])
    assert (listed["corrected_from"], listed["mode"], listed["file_type"]) == (
        first,
        "valid_rows",
        "xlsx",
    )
    assert [(c["row"], c["column"], c["value"]) for c in listed["corrections"]] == [
        (4, "AUTH_NO", f"AUTH{base}X")
    ]
    assert file_item(stack, "authorization", first) == original
    assert stored_bytes(stack, original["s3_key"]) == content
