"""Files as people really send them, through the API of the local stack
(docs/using/files-people-send.md): the corpus of tests/fixtures/real_files/ imported end to
end, with the stored values checked, and two members with one name and date of birth kept
apart; pipe-delimited text, .ods, .xlsb and cells merged down over rows."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from fixtures_builders import (
    MIF_HEADERS,
    VALID_NPI,
    auth_xlsx,
    mif_csv,
    sample_auth_row,
    sample_mif_row,
)
from fixtures_workbooks import ODS_MIMETYPE, ods_table, xlsx_merged
from stack_fixture import MIF_URL, RunningStack, data_uri, patients_by_member, post_mif, scan

AUTH_URL = "/v1/admin/clinic/ecm/authorizations"
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "real_files"
MANIFEST = {e["file"]: e for e in json.loads((CORPUS / "MANIFEST.json").read_text())["files"]}


def _inline(name: str) -> str:
    """The file as an inline body with no type claim: detection from the bytes alone."""
    return base64.b64encode((CORPUS / name).read_bytes()).decode()


def _detail(stack: RunningStack, url: str, key: str, file_id: int) -> dict[str, Any]:
    response = requests.get(f"{stack.api}{url}/{file_id}", headers=stack.headers(), timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json()[key])


def _post_auth(stack: RunningStack, source: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{stack.api}{AUTH_URL}",
        json={"authorization": source},
        headers=stack.headers(),
        timeout=120,
    )


def _newest_file(stack: RunningStack, url: str, key: str) -> dict[str, Any]:
    response = requests.get(f"{stack.api}{url}?per_page=1", headers=stack.headers(), timeout=30)
    return dict(response.json()[key][0])


# --- two members, one name and date of birth ------------------------------------------------


def test_two_members_with_one_name_and_birth_date_are_never_merged(stack: RunningStack) -> None:
    first = {
        **sample_mif_row(95_001),
        "FIRST_NAME": "Twin",
        "LAST_NAME": "Samename",
        "DOB": "04-05-1977",
    }
    second = {**first, "MEMBER_ID": "97000001X", "CIN": "97000001X", "PHONE": "5105550111"}
    one = post_mif(stack, {"file": data_uri(mif_csv([first]), "csv")})
    assert one.status_code == 201, one.text
    two = post_mif(stack, {"file": data_uri(mif_csv([second]), "csv")})
    assert two.status_code == 201, two.text
    body = two.json()
    assert (body["created_count"], body["updated_count"]) == (1, 0)
    stored = patients_by_member(stack)
    a, b = stored[first["MEMBER_ID"]], stored["97000001X"]
    assert a["id"] != b["id"]
    assert body["warnings"] == [
        f"Row 2: member ID '97000001X' is new; patient {a['id']} (member ID "
        f"'{first['MEMBER_ID']}') has the same name and date of birth. A new patient was "
        "created: two member IDs are two members, never merged"
    ]
    assert a["phone"] != b["phone"] == "+15105550111"

    # The first file again updates its own member, and nothing flips back.
    again = post_mif(stack, {"file": data_uri(mif_csv([first]), "csv")})
    assert again.status_code == 201, again.text
    assert (again.json()["created_count"], again.json()["updated_count"]) == (0, 1)
    stored = patients_by_member(stack)
    assert stored[first["MEMBER_ID"]]["id"] == a["id"]
    assert stored["97000001X"]["id"] == b["id"]
    twins = [p for p in scan(stack, "PatientsTable") if p["last_name"] == "Samename"]
    assert len(twins) == 2


# --- workbooks and text exports of the corpus -----------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "mif_lo.xlsx",
        "mif_gnumeric.xlsx",
        "mif_cover_sheet_lo.xlsx",
        "mif_title_row_lo.xlsx",
        "mif_group_row_lo.xlsx",
        "mif_header_hints_lo.xlsx",
        "mif_lo_semicolon.csv",
        "mif_lo_unicode_text.txt",
        "mif_lo_msdos_cp437.csv",
        "mif_lo_cp1252.csv",
        "mif_gnumeric_cr.csv",
    ],
)
def test_mif_as_saved_by_a_spreadsheet_program_imports_its_values(
    stack: RunningStack, name: str
) -> None:
    expect = MANIFEST[name]["expect"]
    response = post_mif(stack, {"file": _inline(name)})
    assert response.status_code == 201, response.text
    assert response.json()["imported_count"] == len(expect["rows"])
    detail = _detail(stack, MIF_URL, "mif_file", response.json()["mif_file_id"])
    assert detail["header_row"] == expect["header_row"]
    assert detail["sheet_name"] == expect.get("sheet")
    stored = patients_by_member(stack)
    for row in expect["rows"]:
        patient = stored[row["MEMBER_ID"]]
        assert (patient["first_name"], patient["last_name"]) == (
            row["FIRST_NAME"],
            row["LAST_NAME"],
        )
        month, day, year = row["DOB"].replace("/", "-").split("-")
        assert patient["date_of_birth"] == f"{year}-{month}-{day}"
        assert patient["address"]["zip"] == row["ZIP"]
        assert patient["phone"] == "+1" + row["PHONE"]
        assert patient["eligibility"]["ecm_npi"] == row["ECM_NPI"]


def test_a_column_under_a_merged_header_cell_is_named_in_the_warnings(stack: RunningStack) -> None:
    response = post_mif(stack, {"file": _inline("mif_merged_header_lo.xlsx")})
    assert response.status_code == 201, response.text
    assert response.json()["warnings"] == [
        "Column H has values but no header (is its header cell merged with the next one?); "
        "its values were ignored"
    ]
    stored = patients_by_member(stack)["91234567A"]
    assert (stored["address"]["street"], stored["address"]["city"]) == ("45 Oak Ave", "Boston")


def test_an_unknown_birth_column_refuses_the_file_and_records_its_header(
    stack: RunningStack,
) -> None:
    before = scan(stack, "PatientsTable")
    response = post_mif(stack, {"file": _inline("mif_header_birthdate_lo.xlsx")})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        "Column 'Birthdate of Member' looks like DOB but is not a column name we know; rename "
        "it DOB so its values are imported"
    ]
    assert scan(stack, "PatientsTable") == before
    failed = _newest_file(stack, MIF_URL, "mif_files")
    detail = _detail(stack, MIF_URL, "mif_file", failed["id"])
    assert (detail["status"], detail["sheet_name"], detail["header_row"]) == (
        "failed",
        "mif_header_birthdate",
        1,
    )


@pytest.mark.parametrize("name", ["auth_lo.xlsx", "auth_gnumeric.xls", "auth_lo.xls"])
def test_numeric_auth_numbers_longer_than_15_digits_refuse_their_rows(
    stack: RunningStack, name: str
) -> None:
    expect = MANIFEST[name]["expect"]
    response = _post_auth(stack, {"file": _inline(name)})
    assert response.status_code == 422
    errors = response.json()["errors"]
    refused = expect["refuse_rows"]
    assert [e.split(":")[0] for e in errors] == [f"Row {r['row']}" for r in refused]
    assert all("is a number of more than 15 digits in the workbook" in e for e in errors)

    # The other rows import with their exact numbers when the bad ones are skipped.
    kept = _post_auth(stack, {"file": _inline(name), "mode": "valid_rows"})
    assert kept.status_code == 201, kept.text
    assert kept.json()["records_failed"] == len(refused)
    by_number = {a["auth_no"]: a for a in scan(stack, "AuthorizationsTable")}
    for row in expect["import_rows"]:
        text = expect["rows"][expect["row_numbers"].index(row)]["AUTH_NO"]
        assert by_number[text]["member_id"] == expect["rows"][row - 2]["MEMBER_ID"]
    changed = {str(int(r["calamine_reads"])) for r in refused}
    assert not changed & set(by_number)  # a changed number was never stored as an id


def test_excel_saved_xls_with_a_theme_is_not_taken_for_a_zip(stack: RunningStack) -> None:
    response = _post_auth(stack, {"file": _inline("public/poi-48968.xls")})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors[:2] == ["Missing required column: AUTH_NO", "Missing required column: MEMBER_ID"]
    assert errors[2].startswith("No row holds every required column (AUTH_NO, MEMBER_ID)")
    assert not any("zip" in e for e in errors)
    failed = _newest_file(stack, AUTH_URL, "authorization_files")
    assert failed["file_type"] == "xls"


@pytest.mark.parametrize("name", ["public/poi-password.xls", "public/poi-xor-encryption-abc.xls"])
def test_password_protected_xls_says_so(stack: RunningStack, name: str) -> None:
    response = _post_auth(stack, {"file": _inline(name)})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        "Invalid Excel format: the workbook is password-protected; remove the password and "
        "export it again"
    ]


# --- pipe-delimited text, .ods, .xlsb, merged cells, long numbers ---------------------------


def test_a_quoted_pipe_delimited_mif_imports_its_values(stack: RunningStack) -> None:
    rows = [sample_mif_row(96_001), sample_mif_row(96_002)]
    lines = mif_csv(rows, delimiter="|").decode().splitlines()
    text = "\r\n".join("|".join(f'"{cell}"' for cell in line.split("|")) for line in lines)
    response = post_mif(stack, {"file": base64.b64encode(text.encode()).decode()})
    assert response.status_code == 201, response.text
    assert response.json()["imported_count"] == 2
    stored = patients_by_member(stack)
    for row in rows:
        patient = stored[row["MEMBER_ID"]]
        assert (patient["first_name"], patient["address"]["street"]) == (
            row["FIRST_NAME"],
            row["ADDRESS"],
        )


def test_an_ods_with_its_mime_type_declared_imports_its_values(stack: RunningStack) -> None:
    row = {**sample_mif_row(96_101), "DOB": date(1980, 1, 2), "ZIP": 2134}
    data = base64.b64encode(ods_table([row], MIF_HEADERS)).decode()
    response = post_mif(stack, {"file": f"data:{ODS_MIMETYPE};base64,{data}"})
    assert response.status_code == 201, response.text
    detail = _detail(stack, MIF_URL, "mif_file", response.json()["mif_file_id"])
    assert (detail["file_type"], detail["sheet_name"], detail["header_row"]) == ("ods", "MIF", 1)
    patient = patients_by_member(stack)[row["MEMBER_ID"]]
    assert (patient["date_of_birth"], patient["address"]["zip"]) == ("1980-01-02", "02134")


def test_an_excel_saved_xlsb_is_read_as_a_workbook(stack: RunningStack) -> None:
    response = _post_auth(stack, {"file": _inline("public/python-calamine-base.xlsb")})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors[:2] == ["Missing required column: AUTH_NO", "Missing required column: MEMBER_ID"]
    assert errors[2].startswith("No row holds every required column (AUTH_NO, MEMBER_ID)")
    assert not any("not an Excel workbook" in e for e in errors)
    assert _newest_file(stack, AUTH_URL, "authorization_files")["file_type"] == "xlsb"


def test_a_provider_and_npi_merged_down_over_four_rows_are_stored_on_each(
    stack: RunningStack,
) -> None:
    header = ["MEMBER_ID", "FIRST_NAME", "LAST_NAME", "DOB", "ECM_PROVIDER_NAME", "ECM_NPI"]
    members = [[f"9620000{i}A", f"Merged{i}", "Rows", "01-02-1980"] for i in range(1, 5)]
    members[0] += ["Esteem Health PSC", int(VALID_NPI)]
    response = post_mif(
        stack, {"file": data_uri(xlsx_merged([header, *members], ["E2:E5", "F2:F5"]), "xlsx")}
    )
    assert response.status_code == 201, response.text
    assert response.json()["warnings"] == []
    stored = patients_by_member(stack)
    assert [
        (stored[m[0]]["eligibility"]["ecm_provider_name"], stored[m[0]]["eligibility"]["ecm_npi"])
        for m in members
    ] == [("Esteem Health PSC", VALID_NPI)] * 4


def test_an_18_digit_auth_no_is_quoted_as_the_spreadsheet_shows_it(stack: RunningStack) -> None:
    row = {**sample_auth_row(96_201), "AUTH_NO": 202411010000123008}
    response = _post_auth(stack, {"file": data_uri(auth_xlsx([row]), "xlsx")})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        "Row 2: AUTH_NO is a number of more than 15 digits in the workbook "
        "(2.02411010000123E+17), which spreadsheet programs do not keep exactly; format the "
        "column as text and enter the ids again"
    ]


def test_an_inline_body_over_the_lambda_limit_is_refused_naming_the_upload_url(
    stack: RunningStack,
) -> None:
    body = json.dumps({"mif": {"file": "A" * (7 << 20)}})
    response = requests.post(
        f"{stack.api}{MIF_URL}", data=body, headers=stack.headers(), timeout=120
    )
    assert response.status_code == 413
    [message] = response.json()["errors"]
    assert message.startswith("Request body is over the inline limit")
    assert "POST /v1/admin/clinic/ecm/mifs/uploads" in message
