"""The failed rows' errors cell by cell over HTTP (GET /{mifs|authorizations}/{id}/errors)
against the local stack: the first 500 failed rows with row, column, message and value, and
how many failed in all, while the file's record and the 422 keep their first 100 messages."""

from __future__ import annotations

import base64

import requests
from fixtures_builders import auth_xlsx, mif_csv, sample_auth_row, sample_mif_row
from stack_fixture import MIF_URL, RunningStack, data_uri, post_mif, wait_for_file

AUTH_URL = "/v1/admin/clinic/ecm/authorizations"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Member numbers no other test file uses (the stack is shared per worker).
BASE = 64_000


def errors_of(stack: RunningStack, url: str, file_id: int | str) -> requests.Response:
    return requests.get(f"{stack.api}{url}/{file_id}/errors", headers=stack.headers(), timeout=30)


def newest_id(stack: RunningStack, url: str) -> int:
    listing = requests.get(f"{stack.api}{url}?per_page=1", headers=stack.headers(), timeout=30)
    body = listing.json()
    return int(body["mif_files" if url == MIF_URL else "authorization_files"][0]["id"])


def test_600_failed_rows_list_the_first_500_cell_by_cell(stack: RunningStack) -> None:
    rows = [sample_mif_row(i) for i in range(BASE, BASE + 602)]
    for i, row in enumerate(rows[2:]):
        row["DOB"] = f"31/{i % 28 + 1:02d}/1990"  # file rows 4 to 603
    refused = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv")})
    assert refused.status_code == 422, refused.text
    shown = refused.json()["errors"]  # the documented 422: the first 100 and how many more
    assert (len(shown), shown[-1]) == (101, "... and 500 more errors")
    file_id = newest_id(stack, MIF_URL)
    record = wait_for_file(stack, file_id)
    assert (record["status"], record["records_failed"]) == ("failed", 600)
    assert len(record["import_errors"].splitlines()) == 101

    answer = errors_of(stack, MIF_URL, file_id)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 600
    assert len(body["errors"]) == 500
    assert [e["row"] for e in body["errors"]] == list(range(4, 504))
    assert body["errors"][0] == {
        "row": 4,
        "column": "DOB",
        "message": "is not a valid MM-DD-YYYY date",
        "value": "31/01/1990",
    }
    assert body["errors"][-1]["value"] == rows[501]["DOB"]  # file row 503
    assert {e["column"] for e in body["errors"]} == {"DOB"}


def test_a_completed_dry_run_lists_its_failed_rows_and_a_valid_file_none(
    stack: RunningStack,
) -> None:
    rows = [sample_mif_row(i) for i in range(BASE + 700, BASE + 704)]
    rows[1]["DOB"] = "13/45/1990"  # file row 3
    rows[3]["LAST_NAME"] = ""  # file row 5
    source = {"file": data_uri(mif_csv(rows), "csv"), "dry_run": True, "mode": "valid_rows"}
    dry = post_mif(stack, source)
    assert dry.status_code == 200, dry.text
    listed = errors_of(stack, MIF_URL, dry.json()["mif_file_id"]).json()
    assert listed["total"] == 2
    assert listed["errors"] == [
        {
            "row": 3,
            "column": "DOB",
            "message": "is not a valid MM-DD-YYYY date",
            "value": "13/45/1990",
        },
        {"row": 5, "column": "Last name", "message": "can't be blank", "value": ""},
    ]

    valid = post_mif(stack, {"file": data_uri(mif_csv([rows[0]]), "csv"), "dry_run": True})
    assert valid.status_code == 200, valid.text
    assert errors_of(stack, MIF_URL, valid.json()["mif_file_id"]).json() == {
        "errors": [],
        "total": 0,
    }


def test_an_authorization_files_failed_rows_are_listed(stack: RunningStack) -> None:
    members = [sample_mif_row(i) for i in range(BASE + 800, BASE + 803)]
    assert post_mif(stack, {"file": data_uri(mif_csv(members), "csv")}).status_code == 201
    rows = [sample_auth_row(BASE + 800 + i) for i in range(3)]
    rows[1]["AUTH_NO"] = rows[2]["AUTH_NO"] = ""  # file rows 3 and 4
    content = base64.b64encode(auth_xlsx(rows)).decode()
    refused = requests.post(
        f"{stack.api}{AUTH_URL}",
        json={"authorization": {"file": f"data:{XLSX};base64,{content}"}},
        headers=stack.headers(),
        timeout=120,
    )
    assert refused.status_code == 422, refused.text
    body = errors_of(stack, AUTH_URL, newest_id(stack, AUTH_URL)).json()
    assert body == {
        "errors": [
            {"row": 3, "column": "Auth No", "message": "can't be blank", "value": ""},
            {"row": 4, "column": "Auth No", "message": "can't be blank", "value": ""},
        ],
        "total": 2,
    }


def test_an_unknown_file_is_a_404(stack: RunningStack) -> None:
    for url, message in (
        (MIF_URL, "MIF file not found"),
        (AUTH_URL, "Authorization file not found"),
    ):
        for file_id in (999_999, "x1"):
            answer = errors_of(stack, url, file_id)
            assert answer.status_code == 404, answer.text
            assert answer.json() == {"errors": [message]}
