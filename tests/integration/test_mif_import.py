"""MIF imports over HTTP against the local stack: every source × format, updates, all-or-
nothing, rollback after an injected fault, inbox drops, concurrency, limits and auth."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import requests
from fixtures_builders import mif_csv, mif_xlsx, mif_xml, sample_mif_row
from stack_fixture import (
    MIF_URL,
    SERVED,
    STAFF_TOKEN,
    RunningStack,
    data_uri,
    finished_execution,
    patients_by_member,
    post_mif,
    scan,
    snapshot,
    wait_for_file,
)

BUILDERS = {"csv": mif_csv, "xml": mif_xml, "xlsx": mif_xlsx}


def rows(start: int, count: int) -> list[dict[str, str]]:
    return [sample_mif_row(i) for i in range(start, start + count)]


def upload_key(stack: RunningStack, key: str, body: bytes) -> None:
    stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=body)


@pytest.mark.parametrize("file_type", ["csv", "xml", "xlsx"])
@pytest.mark.parametrize("source", ["base64", "url", "path", "inbox"])
def test_each_source_and_format_imports_and_stores_fields(
    stack: RunningStack, file_server: str, source: str, file_type: str
) -> None:
    base = 10_000 + 100 * (
        ["base64", "url", "path", "inbox"].index(source) * 3
        + ["csv", "xml", "xlsx"].index(file_type)
    )
    batch = rows(base, 3)
    content = BUILDERS[file_type](batch)
    if source == "base64":
        response = post_mif(stack, {"file": data_uri(content, file_type)})
    elif source == "url":
        SERVED[f"/files/{base}.{file_type}"] = content
        response = post_mif(stack, {"url": f"{file_server}/files/{base}.{file_type}"})
    elif source == "path":
        upload_key(stack, f"sftp/plan-a/{base}.{file_type}", content)
        response = post_mif(stack, {"path": f"s3://{stack.bucket}/sftp/plan-a/{base}.{file_type}"})
    else:
        upload_key(stack, f"inbox/mif/{base}.{file_type}", content)
        deadline = time.monotonic() + 30
        record = None
        while time.monotonic() < deadline and record is None:
            listing = requests.get(
                f"{stack.api}{MIF_URL}?per_page=100", headers=stack.headers(), timeout=30
            ).json()
            record = next(
                (
                    f
                    for f in listing["mif_files"]
                    if f["source_type"] == "inbox"
                    and f["file_type"] == file_type
                    and f["status"] == "completed"
                    and f["records_imported"] == 3
                    and base_in_file(stack, f["id"], base)
                ),
                None,
            )
            time.sleep(0.3)
        assert record is not None, "the inbox drop was not imported"
        response = None
    if response is not None:
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["message"] == "MIF data imported successfully"
        assert body["imported_count"] == 3
        assert body["created_count"] == 3
        assert body["updated_count"] == 0
        assert isinstance(body["mif_file_id"], int)
        detail = wait_for_file(stack, body["mif_file_id"])
        assert detail["source_type"] == source
        assert detail["file_type"] == file_type
        assert detail["filename"].startswith("mif_") and detail["filename"].endswith(
            f".{file_type}"
        )
    stored = patients_by_member(stack)
    first = stored[batch[0]["MEMBER_ID"]]
    expected = batch[0]
    assert first["first_name"] == expected["FIRST_NAME"]
    assert first["last_name"] == expected["LAST_NAME"]
    month, day, year = expected["DOB"].split("-")
    assert first["date_of_birth"] == f"{year}-{month}-{day}"
    assert first["address"]["zip"] == "02134"
    assert first["phone"].startswith("+1617555")
    assert first["eligibility"]["cin"] == expected["CIN"]
    assert first["eligibility"]["ecm_npi"] == expected["ECM_NPI"]
    assert first["eligibility"]["ecm_benefit_auth_eff_date"] == "2024-01-01"
    assert first["eligibility"]["member_record_status"] == "new_member"
    assert first["gender"] in ("male", "female")


def base_in_file(stack: RunningStack, file_id: int, base: int) -> bool:
    detail = requests.get(
        f"{stack.api}{MIF_URL}/{file_id}", headers=stack.headers(), timeout=30
    ).json()
    return any(
        r["member_id"] == f"M{base:09d}" for r in detail["mif_file"]["eligibility_informations"]
    )


def test_update_keeps_one_patient_and_detail_keeps_what_each_file_imported(
    stack: RunningStack,
) -> None:
    batch = rows(20_000, 2)
    first = post_mif(stack, {"file": data_uri(mif_csv(batch), "csv")}).json()
    changed = [dict(r) for r in batch]
    changed[0]["PHONE"] = "805-123-4567"
    changed[0]["ECM_PROVIDER_NAME"] = "Another Provider"
    changed[1]["ADDRESS"] = ""  # a blank keeps what is stored
    second = post_mif(stack, {"file": data_uri(mif_csv(changed), "csv")})
    assert second.status_code == 201, second.text
    assert second.json()["updated_count"] == 2
    assert second.json()["created_count"] == 0
    stored = patients_by_member(stack)
    patient = stored[batch[0]["MEMBER_ID"]]
    assert patient["phone"] == "+18051234567"
    assert patient["eligibility"]["ecm_provider_name"] == "Another Provider"
    assert patient["version"] == 2
    assert stored[batch[1]["MEMBER_ID"]]["address"]["street"] == batch[1]["ADDRESS"]
    old = requests.get(
        f"{stack.api}{MIF_URL}/{first['mif_file_id']}", headers=stack.headers(), timeout=30
    ).json()
    old_row = next(
        r
        for r in old["mif_file"]["eligibility_informations"]
        if r["member_id"] == batch[0]["MEMBER_ID"]
    )
    assert old_row["ecm_provider_name"] == "Esteem Health PSC"
    assert old_row["patient_id"] == patient["id"]
    assert old_row["patient_name"] == f"{batch[0]['FIRST_NAME']} {batch[0]['LAST_NAME']}"


def test_one_bad_row_among_many_leaves_tables_unchanged(stack: RunningStack) -> None:
    post_mif(stack, {"file": data_uri(mif_csv(rows(30_000, 5)), "csv")})
    before = snapshot(stack)
    batch = rows(30_000, 120)  # 5 updates + 115 creates
    batch[77]["DOB"] = "13-45-2020"
    batch[90]["MEMBER_ID"] = ""
    response = post_mif(stack, {"file": data_uri(mif_csv(batch), "csv")})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert "Row 79: DOB '13-45-2020' is not a valid MM-DD-YYYY date" in errors
    assert "Row 92: Validation failed: Member ID can't be blank" in errors
    assert snapshot(stack) == before
    listing = requests.get(f"{stack.api}{MIF_URL}", headers=stack.headers(), timeout=30).json()
    failed = listing["mif_files"][0]
    assert failed["status"] == "failed"
    assert "Row 79" in failed["import_errors"]
    # Invalid rows are the sender's to fix: the execution succeeds (no failed-execution alarm).
    record = stack.client("dynamodb").get_item(
        TableName="ImportFilesTable", Key={"kind": {"S": "mif"}, "id": {"N": str(failed["id"])}}
    )["Item"]
    execution = finished_execution(stack, record["execution_arn"]["S"])
    assert execution["status"] == "SUCCEEDED"


def test_fault_after_some_chunks_rolls_back_to_exact_prior_state(stack: RunningStack) -> None:
    post_mif(stack, {"file": data_uri(mif_csv(rows(40_000, 60)), "csv")})
    before = snapshot(stack)
    batch = rows(40_000, 200)  # 60 updates then 140 creates: chunks of 50 rows
    for row in batch[:60]:
        row["ACUITY_LEVEL"] = "high"
    ddb = stack.client("dynamodb")
    ddb.put_item(
        TableName="MetaTable", Item={"pk": {"S": "fault#apply"}, "after_chunk": {"N": "2"}}
    )
    try:
        response = post_mif(stack, {"file": data_uri(mif_csv(batch), "csv")})
    finally:
        ddb.delete_item(TableName="MetaTable", Key={"pk": {"S": "fault#apply"}})
    assert response.status_code == 422, response.text
    assert "rolled back" in response.json()["errors"][0]
    assert "InjectedFault" in response.json()["errors"][0]
    assert snapshot(stack) == before
    file_id = requests.get(f"{stack.api}{MIF_URL}", headers=stack.headers(), timeout=30).json()[
        "mif_files"
    ][0]["id"]
    detail = wait_for_file(stack, file_id)
    assert detail["status"] == "failed"
    assert detail["stage"] == "rolled_back"
    assert detail["rows_processed"] >= 100  # chunks 0-2 were written before the fault
    record = ddb.get_item(
        TableName="ImportFilesTable", Key={"kind": {"S": "mif"}, "id": {"N": str(file_id)}}
    )["Item"]
    arn = record["execution_arn"]["S"]
    execution = finished_execution(stack, arn)
    assert (execution["status"], execution.get("error")) == ("FAILED", "ImportFailed")
    # The result file says no row was kept, and why.
    result = requests.get(detail["result_file_url"], timeout=30).text.splitlines()
    assert len(result) == 201
    assert all(
        line.endswith(
            ",skipped,not imported: the import failed and was rolled back; nothing was kept"
        )
        for line in result[1:]
    )


def test_state_machine_really_ran_the_import(stack: RunningStack) -> None:
    response = post_mif(stack, {"file": data_uri(mif_csv(rows(50_000, 2)), "csv")})
    file_id = response.json()["mif_file_id"]
    record = stack.client("dynamodb").get_item(
        TableName="ImportFilesTable", Key={"kind": {"S": "mif"}, "id": {"N": str(file_id)}}
    )["Item"]
    arn = record["execution_arn"]["S"]
    assert finished_execution(stack, arn)["status"] == "SUCCEEDED"
    sfn = stack.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]
    for state in ("Validate", "Lock", "Plan", "Apply", "Finalize"):
        assert state in entered


def test_duplicate_s3_event_imports_once(stack: RunningStack) -> None:
    sqs = stack.client("sqs")
    queue = sqs.get_queue_url(QueueName="InboxQueue")["QueueUrl"]
    before = count_files(stack)
    upload_key(stack, "inbox/mif/dup-60000.csv", mif_csv(rows(60_000, 2)))
    deadline = time.monotonic() + 20
    while count_files(stack) == before and time.monotonic() < deadline:
        time.sleep(0.3)
    assert count_files(stack) == before + 1  # the real S3 event started one import
    event = {  # an S3 event notification as AWS writes it
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Put",
                "eventTime": "2026-01-01T00:00:00.000Z",
                "userIdentity": {"principalId": "AWS:sftp"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": "r1", "x-amz-id-2": "r2"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "inbox",
                    "bucket": {
                        "name": stack.bucket,
                        "ownerIdentity": {"principalId": "owner"},
                        "arn": f"arn:aws:s3:::{stack.bucket}",
                    },
                    "object": {
                        "key": "inbox%2Fmif%2Fdup-60000.csv",
                        "size": 120,
                        "eTag": "abc",
                        "sequencer": "0001",
                    },
                },
            }
        ]
    }
    for _ in range(3):  # S3 and SQS deliver at least once: the same event three times
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(event))
    time.sleep(4)
    assert count_files(stack) == before + 2


def count_files(stack: RunningStack) -> int:
    listing = requests.get(f"{stack.api}{MIF_URL}", headers=stack.headers(), timeout=30).json()
    return int(listing["pagination"]["total_count"])


def test_two_imports_started_together_both_succeed_one_after_the_other(stack: RunningStack) -> None:
    shared = rows(70_000, 30)
    a = mif_csv(shared + rows(70_100, 20))
    b = mif_csv(shared + rows(70_200, 20))
    results: dict[str, Any] = {}

    def run(name: str, content: bytes) -> None:
        results[name] = post_mif(stack, {"file": data_uri(content, "csv")})

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bodies = {}
    for name, response in results.items():
        if response.status_code == 202:
            bodies[name] = wait_for_file(stack, response.json()["mif_file_id"])
            assert bodies[name]["status"] == "completed"
            bodies[name] = {
                "created_count": bodies[name]["created_count"],
                "updated_count": bodies[name]["updated_count"],
            }
        else:
            assert response.status_code == 201, response.text
            bodies[name] = response.json()
    created = sorted(b["created_count"] for b in bodies.values())
    assert created == [20, 50]  # the second saw the first's 30 shared members
    stored = patients_by_member(stack)
    for row in shared:
        assert row["MEMBER_ID"] in stored
    ids = [p["id"] for p in scan(stack, "PatientsTable")]
    assert len(ids) == len(set(ids))


def test_declared_type_contradicting_content_is_422(stack: RunningStack) -> None:
    response = post_mif(
        stack, {"file": data_uri(mif_csv(rows(80_000, 1)), "csv"), "file_type": "xlsx"}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == ["file_type says 'xlsx' but the content is CSV"]


def test_missing_required_column_names_it(stack: RunningStack) -> None:
    batch = [{k: v for k, v in r.items() if k != "FIRST_NAME"} for r in rows(80_100, 2)]
    response = post_mif(stack, {"file": data_uri(mif_csv(batch), "csv")})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        "Missing required column: FIRST_NAME",
        "No row holds every required column (MEMBER_ID, FIRST_NAME, LAST_NAME): looked in "
        "rows 1-3. The closest is row 1",
    ]


def test_unclosed_quote_reports_the_line(stack: RunningStack) -> None:
    content = b'MEMBER_ID,FIRST_NAME,LAST_NAME\nA1,Ann,Lee\nA2,"Bob,Smith\n'
    response = post_mif(stack, {"file": data_uri(content, "csv")})
    assert response.status_code == 422
    assert response.json()["errors"] == ["Invalid CSV format: Unclosed quoted field on line 3"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({}, "Provide one of mif.file, mif.url or mif.path"),
        (
            {"file": "eA==", "path": "x.csv"},
            "Provide only one of mif.file, mif.url or mif.path (got file, path)",
        ),
        ({"file": "not base64!!"}, "mif.file is not valid base64"),
        (
            {"path": "../etc/passwd"},
            "mif.path '../etc/passwd' is not a valid key of the inbox bucket",
        ),
        (
            {"path": "s3://another-bucket/x.csv"},
            "mif.path must be in the inbox bucket 'ecm-local-files-123456789012'",
        ),
        (
            {"path": "sftp/missing.csv"},
            "mif.path 'sftp/missing.csv' does not exist in the inbox bucket",
        ),
        ({"file": "eA==", "color": "red"}, "Unknown field 'mif.color'"),
    ],
)
def test_bad_requests_are_422_with_a_clear_message(
    stack: RunningStack, source: dict[str, Any], message: str
) -> None:
    response = post_mif(stack, source)
    assert response.status_code == 422
    assert response.json() == {"errors": [message]}


def test_url_to_a_loopback_address_outside_the_allowlist_is_refused(
    stack: RunningStack, file_server: str
) -> None:
    SERVED["/files/private.csv"] = mif_csv(rows(81_000, 1))
    before = count_files(stack)
    port = int(file_server.rsplit(":", 1)[1])
    response = post_mif(stack, {"url": f"http://localhost:{port}/files/private.csv"})
    assert response.status_code == 422
    assert response.json()["errors"][0].startswith("mif.url: ")
    response = post_mif(stack, {"url": f"https://127.0.0.2:{port}/files/private.csv"})
    assert response.status_code == 422
    assert "private or reserved" in response.json()["errors"][0]
    assert count_files(stack) == before


def test_auth_errors(stack: RunningStack) -> None:
    url = f"{stack.api}{MIF_URL}"
    missing = requests.get(url, timeout=30)
    assert missing.status_code == 401
    assert missing.json() == {"errors": ["Unauthorized: missing or invalid X-User-Token"]}
    unknown = requests.get(url, headers={"X-User-Token": "nope-nope-nope-nope"}, timeout=30)
    assert unknown.status_code == 401
    staff = requests.get(url, headers={"X-User-Token": STAFF_TOKEN}, timeout=30)
    assert staff.status_code == 403
    assert staff.json() == {"errors": ["Admin access required"]}
    staff_post = post_mif(stack, {"file": "eA=="}, token=STAFF_TOKEN)
    assert staff_post.status_code == 403
    health = requests.get(f"{stack.api}/v1/health", timeout=30)
    assert health.status_code == 200


def test_not_found_and_paging_errors(stack: RunningStack) -> None:
    for file_id in ("999999", "abc", "0"):
        response = requests.get(
            f"{stack.api}{MIF_URL}/{file_id}", headers=stack.headers(), timeout=30
        )
        assert response.status_code == 404
        assert response.json() == {"errors": ["MIF file not found"]}
    for query, message in (
        ("per_page=0", "per_page must be a positive integer"),
        ("per_page=101", "per_page must be at most 100"),
        ("page=abc", "page must be a positive integer"),
    ):
        response = requests.get(
            f"{stack.api}{MIF_URL}?{query}", headers=stack.headers(), timeout=30
        )
        assert response.status_code == 422
        assert response.json() == {"errors": [message]}


def test_list_shape_and_pagination(stack: RunningStack) -> None:
    post_mif(stack, {"file": data_uri(mif_csv(rows(82_000, 1)), "csv")})
    post_mif(stack, {"file": data_uri(mif_csv(rows(82_001, 1)), "csv")})
    total = count_files(stack)
    page = requests.get(
        f"{stack.api}{MIF_URL}?per_page=1&page=2", headers=stack.headers(), timeout=30
    ).json()
    assert page["pagination"] == {
        "current_page": 2,
        "total_pages": total,
        "total_count": total,
        "per_page": 1,
    }
    item = page["mif_files"][0]
    assert item["id"] == total - 1
    for field in (
        "id",
        "filename",
        "file_type",
        "source_type",
        "records_imported",
        "import_errors",
        "status",
        "created_at",
        "updated_at",
        "file_url",
    ):
        assert field in item
    assert item["created_at"].endswith("Z") and len(item["created_at"]) == 24
    assert "X-Amz-Expires=1800" in item["file_url"]
    beyond = requests.get(
        f"{stack.api}{MIF_URL}?page=9999", headers=stack.headers(), timeout=30
    ).json()
    assert beyond["mif_files"] == []


def test_no_phi_in_logs(stack: RunningStack) -> None:
    batch = rows(90_000, 3)
    batch[2]["DOB"] = "02-30-2001"
    post_mif(stack, {"file": data_uri(mif_csv(batch[:2]), "csv")})
    post_mif(stack, {"file": data_uri(mif_csv(batch), "csv")})
    logs = stack.log_text()
    assert "import completed" in logs  # the structured logs are captured here
    for row in batch:
        for field in ("MEMBER_ID", "CIN", "LAST_NAME", "ADDRESS", "PHONE"):
            assert row[field] not in logs, field
    assert "02-30-2001" not in logs


def test_each_log_line_names_the_function_that_wrote_it(stack: RunningStack) -> None:
    response = post_mif(stack, {"file": data_uri(mif_csv(rows(90_100, 2)), "csv")})
    assert response.status_code == 201, response.text
    file_id = response.json()["mif_file_id"]
    wanted = {"import received", "import validated", "import planned", "import completed"}
    deadline = time.monotonic() + 20  # the stack's output reaches its log file in blocks
    while True:
        lines = [json.loads(line) for line in stack.log_text().splitlines() if line[:1] == "{"]
        ours = [
            line for line in lines if (line.get("file_id"), line.get("kind")) == (file_id, "mif")
        ]
        by_message = {line["message"]: line.get("function_name") for line in ours}
        if wanted <= set(by_message) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert by_message["import received"] == "MifsApiFunction"
    assert by_message["import validated"] == "ValidateFunction"
    assert by_message["import planned"] == "PlanFunction"
    assert by_message["import completed"] == "FinalizeFunction"
    stages = {
        line["stage"]: line.get("function_name")
        for line in lines
        if line.get("message") == "stage finished"
    }
    assert stages["lock"] == "LockFunction"
    assert stages["apply"] == "ApplyFunction"


def test_rows_join_the_caseload_of_an_existing_provider(stack: RunningStack) -> None:
    provider = json.loads(
        stack.run_cli("add-provider", "--name", "Sunrise ECM", "--npi", "1993999998")
    )
    batch = rows(95_000, 3)
    batch[0]["ECM_NPI"] = "1993999998"  # by NPI
    batch[1]["ECM_NPI"] = ""
    batch[1]["ECM_PROVIDER_NAME"] = "  sunrise ecm "  # by name, any case and spacing
    batch[2]["ECM_PROVIDER_NAME"] = "Unknown Clinic"
    batch[2]["ECM_NPI"] = ""
    response = post_mif(stack, {"file": data_uri(mif_csv(batch), "csv")})
    assert response.status_code == 201, response.text
    stored = patients_by_member(stack)
    for row in batch[:2]:
        assert stored[row["MEMBER_ID"]]["case_load"]["provider_id"] == provider["id"]
        assert stored[row["MEMBER_ID"]]["case_load"]["provider_name"] == "Sunrise ECM"
    assert stored[batch[2]["MEMBER_ID"]].get("case_load") is None  # None is not stored


def test_dry_run_reports_and_writes_nothing(stack: RunningStack) -> None:
    existing = rows(96_000, 3)
    assert post_mif(stack, {"file": data_uri(mif_csv(existing), "csv")}).status_code == 201
    before = snapshot(stack)
    batch = existing + rows(96_100, 4)
    response = post_mif(stack, {"file": data_uri(mif_csv(batch), "csv"), "dry_run": True})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Dry run: the file is valid; nothing was written"
    assert (body["dry_run"], body["would_create"], body["would_update"]) == (True, 4, 3)
    assert snapshot(stack) == before  # patients, keys, counters, locks: all unchanged
    detail = wait_for_file(stack, body["mif_file_id"])
    assert (detail["status"], detail["dry_run"], detail["would_create"]) == ("completed", True, 4)
    assert detail["records_imported"] == 0
    invalid = [dict(r) for r in batch]
    invalid[5]["DOB"] = "02-30-1990"
    failed = post_mif(stack, {"file": data_uri(mif_csv(invalid), "csv"), "dry_run": True})
    assert failed.status_code == 422
    assert failed.json()["errors"] == ["Row 7: DOB '02-30-1990' is not a valid MM-DD-YYYY date"]
    assert snapshot(stack) == before
