"""Large files through a presigned PUT (docs/api/mif-imports.md): waiting → processing → completed,
once; expired when nothing arrives in time."""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from fixtures_builders import auth_xlsx, mif_csv, sample_auth_row, sample_mif_row
from stack_fixture import MIF_URL, RunningStack, patients_by_member

AUTH_URL = "/v1/admin/clinic/ecm/authorizations"


def create_upload(stack: RunningStack, base_url: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{stack.api}{base_url}/uploads", json=body, headers=stack.headers(), timeout=30
    )


def wait_status(stack: RunningStack, url: str, wanted: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = requests.get(url, headers=stack.headers(), timeout=30).json()
        record = next(iter(body.values()))
        if record["status"] == wanted or time.monotonic() > deadline:
            return record
        time.sleep(0.3)


def test_upload_url_imports_once(stack: RunningStack) -> None:
    rows = [sample_mif_row(i) for i in range(600_000, 600_040)]
    created = create_upload(stack, MIF_URL, {"filename": "plan_a_2026-11.csv"})
    assert created.status_code == 201, created.text
    upload = created.json()
    assert upload["status"] == "waiting"
    assert upload["upload_method"] == "PUT"
    assert "X-Amz-Expires=600" in upload["upload_url"]
    waiting = requests.get(
        f"{stack.api}{MIF_URL}/{upload['id']}", headers=stack.headers(), timeout=30
    ).json()["mif_file"]
    assert (waiting["status"], waiting["file_url"], waiting["source_type"]) == (
        "waiting",
        None,
        "upload",
    )

    put = requests.put(
        upload["upload_url"], data=mif_csv(rows), headers=upload["required_headers"], timeout=60
    )
    assert put.status_code == 200
    done = wait_status(stack, f"{stack.api}{MIF_URL}/{upload['id']}", "completed")
    assert done["status"] == "completed"
    assert (done["records_imported"], done["created_count"]) == (40, 40)
    assert rows[0]["MEMBER_ID"] in patients_by_member(stack)
    record = stack.client("dynamodb").get_item(
        TableName="ImportFilesTable", Key={"kind": {"S": "mif"}, "id": {"N": str(upload["id"])}}
    )["Item"]
    execution = record["execution_arn"]["S"]

    again = requests.put(
        upload["upload_url"], data=mif_csv(rows[:1]), headers=upload["required_headers"], timeout=60
    )
    assert again.status_code == 200
    time.sleep(3)
    record = stack.client("dynamodb").get_item(
        TableName="ImportFilesTable", Key={"kind": {"S": "mif"}, "id": {"N": str(upload["id"])}}
    )["Item"]
    assert record["execution_arn"]["S"] == execution  # the second upload started nothing
    assert record["records_imported"]["N"] == "40"


def test_authorization_upload_and_dry_run(stack: RunningStack) -> None:
    created = create_upload(stack, AUTH_URL, {"filename": "auths.xlsx", "dry_run": True}).json()
    content = auth_xlsx([sample_auth_row(601_000), sample_auth_row(601_001)])
    requests.put(
        created["upload_url"], data=content, headers=created["required_headers"], timeout=60
    )
    done = wait_status(stack, f"{stack.api}{AUTH_URL}/{created['id']}", "completed")
    assert (done["status"], done["dry_run"], done["would_create"]) == ("completed", True, 2)
    auths = stack.client("dynamodb").scan(TableName="AuthorizationsTable")["Items"]
    assert sample_auth_row(601_000)["AUTH_NO"] not in {a["auth_no"]["S"] for a in auths}


def test_upload_not_sent_in_time_expires(stack: RunningStack) -> None:
    created = create_upload(stack, MIF_URL, {"filename": "late.csv"}).json()
    stack.client("dynamodb").update_item(
        TableName="ImportFilesTable",
        Key={"kind": {"S": "mif"}, "id": {"N": str(created["id"])}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"S": "2020-01-01T00:00:00.000Z"}},
    )
    record = requests.get(
        f"{stack.api}{MIF_URL}/{created['id']}", headers=stack.headers(), timeout=30
    ).json()["mif_file"]
    assert (record["status"], record["file_url"]) == ("expired", None)
    requests.put(
        created["upload_url"],
        data=mif_csv([sample_mif_row(602_000)]),
        headers=created["required_headers"],
        timeout=60,
    )
    time.sleep(3)
    record = requests.get(
        f"{stack.api}{MIF_URL}/{created['id']}", headers=stack.headers(), timeout=30
    ).json()["mif_file"]
    assert record["status"] == "expired"
    assert sample_mif_row(602_000)["MEMBER_ID"] not in patients_by_member(stack)


def test_upload_request_validation(stack: RunningStack) -> None:
    for body, message in (
        ({}, "filename Field required"),
        ({"filename": "a.csv", "file_type": "pdf"}, "file_type must be one of: csv, xml, xlsx"),
        (
            {"filename": "a.csv", "callback": "https://example.org/hook"},
            "Unknown field 'callback'",
        ),
    ):
        response = create_upload(stack, MIF_URL, body)
        assert (response.status_code, response.json()) == (422, {"errors": [message]}), body


def test_scheduled_sweep_expires_waiting_uploads(stack: RunningStack) -> None:
    created = create_upload(stack, MIF_URL, {"filename": "never.csv"}).json()
    fresh = create_upload(stack, MIF_URL, {"filename": "soon.csv"}).json()
    ddb = stack.client("dynamodb")
    ddb.update_item(
        TableName="ImportFilesTable",
        Key={"kind": {"S": "mif"}, "id": {"N": str(created["id"])}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"S": "2020-01-01T00:00:00.000Z"}},
    )
    # The schedule's target, run as Lambda runs it (through the local stack's shim).
    result = stack.client("lambda").invoke(FunctionName="ExpireUploadsFunction", Payload=b"{}")
    assert json.loads(result["Payload"].read())["expired"] >= 1

    def status(file_id: int) -> str:
        item = ddb.get_item(
            TableName="ImportFilesTable", Key={"kind": {"S": "mif"}, "id": {"N": str(file_id)}}
        )
        return str(item["Item"]["status"]["S"])

    assert status(created["id"]) == "expired"
    assert status(fresh["id"]) == "waiting"
