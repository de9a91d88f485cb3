"""Return files over HTTP (docs/using/return-files.md): a plan's RTF and OTF for a month, made from
what the caseload holds, read back with the project's own readers, and the same bytes twice."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from fixtures_builders import mif_csv, sample_mif_row
from stack_fixture import (
    SCHEDULED_PLAN,
    RunningStack,
    data_uri,
    patients_by_member,
    post_mif,
    wait_for_file,
)

from ecm.exports.layouts import default_layout
from ecm.files.fields import FieldMap
from ecm.files.readers import read_records
from ecm.kinds.mif.fields import MIF_FIELDS

ECM = "/v1/admin/clinic/ecm"
PLAN = "rt-plan"
OTHER_PLAN = "rt-other"
FIRST = 710_000
PRODUCED = "2026-12-05"


def call(
    stack: RunningStack, method: str, path: str, body: dict[str, Any] | None = None
) -> requests.Response:
    return requests.request(
        method, f"{stack.api}{ECM}{path}", json=body, headers=stack.headers(), timeout=60
    )


def _member(stack: RunningStack, i: int) -> int:
    return int(patients_by_member(stack)[sample_mif_row(i)["MEMBER_ID"]]["id"])


def _ok(response: requests.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def _put_eligibility(stack: RunningStack, patient_id: int, values: dict[str, Any]) -> None:
    body = {"patient": {"ecm_eligibility_information": values}}
    _ok(call(stack, "PUT", f"/patients/{patient_id}", body))


def _activity(stack: RunningStack, patient_id: int, **activity: Any) -> int:
    body = {"activity": activity}
    return int(
        _ok(call(stack, "POST", f"/patients/{patient_id}/activities", body), 201)["activity"]["id"]
    )


@pytest.fixture(scope="module")
def caseload(stack: RunningStack) -> dict[str, Any]:
    """Four members of the plan and one of another, with what a month of work leaves."""
    rows = [sample_mif_row(FIRST + i) for i in range(4)]
    rows[3]["ADDRESS"] = "=HYPERLINK(1)"  # a cell a spreadsheet would run
    content = data_uri(mif_csv(rows), "csv")
    _ok(post_mif(stack, {"file": content, "plan": PLAN}), 201)
    other = data_uri(mif_csv([sample_mif_row(FIRST + 9)]), "csv")
    file_id = _ok(post_mif(stack, {"file": other, "plan": OTHER_PLAN}), 201)["mif_file_id"]
    wait_for_file(stack, file_id)
    stack.client("s3").put_object(
        Bucket=stack.bucket,
        Key=f"config/plans/{PLAN}.json",
        Body=json.dumps(
            {"plan": PLAN, "mcp_name": "Round Trip Health", "mcp_identifier": "RT01"}
        ).encode(),
    )
    lead = _ok(
        call(
            stack,
            "POST",
            "/care_managers",
            {
                "care_manager": {
                    "name": "Lena Lead",
                    "role": "ilcm",
                    "phone": "805-555-0111",
                    "email": "lena@clinic.example.org",
                }
            },
        ),
        201,
    )["care_manager"]
    enrolled, ended, no_start, outreach_only = (_member(stack, FIRST + i) for i in range(4))
    outsider = _member(stack, FIRST + 9)

    _put_eligibility(
        stack,
        enrolled,
        {"member_record_status": "continuing_member", "ecm_enrollment_start_date": "2026-01-15"},
    )
    _ok(
        call(
            stack,
            "PUT",
            f"/patients/{enrolled}/case_load",
            {"case_load": {"ilcm_user_id": lead["id"]}},
        )
    )
    _put_eligibility(stack, ended, {"ecm_enrollment_start_date": "2026-02-01"})
    _put_eligibility(
        stack,
        ended,
        {
            "member_record_status": "terminated_member",
            "discontinuation_reason": "declined",
            "discontinuation_date": "2026-11-20",
        },
    )
    _put_eligibility(stack, no_start, {"member_record_status": "new_member"})
    _put_eligibility(stack, outreach_only, {"member_record_status": "pending_member"})

    at = "2026-11-{:02d}T18:00:00Z".format
    _activity(stack, enrolled, type="care_plan", occurred_at="2026-10-02T17:00:00Z")
    _activity(stack, enrolled, type="encounter", occurred_at=at(3), method="in_person")
    _activity(stack, enrolled, type="encounter", occurred_at=at(9), method="video")
    _activity(stack, enrolled, type="encounter", occurred_at=at(10), method="phone")
    # 06:30 UTC on Dec 1 is still Nov 30 in California: the month's last encounter.
    _activity(stack, enrolled, type="encounter", occurred_at="2026-12-01T06:30:00Z", method="phone")
    attempts = [
        _activity(
            stack,
            outreach_only,
            type="outreach",
            occurred_at=at(4),
            method="phone",
            minutes=15,
            successful=True,
        ),
        _activity(
            stack,
            outreach_only,
            type="outreach",
            occurred_at=at(5),
            method="email",
            minutes=5,
            successful=False,
        ),
        _activity(stack, no_start, type="outreach", occurred_at=at(6), method="in_person"),
    ]
    mailed = _activity(stack, outreach_only, type="outreach", occurred_at=at(7), method="mail")
    _activity(
        stack, outreach_only, type="outreach", occurred_at="2026-10-30T18:00:00Z", method="phone"
    )
    _activity(stack, outsider, type="outreach", occurred_at=at(8), method="phone")
    return {
        "enrolled": enrolled,
        "ended": ended,
        "no_start": no_start,
        "outreach_only": outreach_only,
        "attempts": attempts,
        "mailed": mailed,
        "lead": lead,
    }


def _export(stack: RunningStack, **asked: Any) -> dict[str, Any]:
    body = {"export": {"plan": PLAN, "period": "2026-11", "production_date": PRODUCED, **asked}}
    started = _ok(call(stack, "POST", "/exports", body), 201)
    assert started["status"] == "completed", started
    return dict(_ok(call(stack, "GET", f"/exports/{started['export_id']}"))["export"])


def _download(url: str, path: Path) -> bytes:
    response = requests.get(url, timeout=60)
    assert response.status_code == 200
    path.write_bytes(response.content)
    return response.content


def _layout_map(kind: str) -> FieldMap:
    """The layout's columns as a field map, so the import readers can read an export."""
    columns = default_layout(kind).columns or []
    names = tuple(f"C{i}" for i in range(len(columns)))
    aliases = {c.header: (name,) for c, name in zip(columns, names, strict=True)}
    return FieldMap(kind=kind, fields=names, required=(), aliases=aliases)


def _read(path: Path, file_type: str, kind: str) -> list[dict[str, str]]:
    headers = [c.header for c in default_layout(kind).columns or []]
    stream = read_records(path, file_type, _layout_map(kind), 1000)
    return [
        {
            h: "" if v is None else str(v)
            for h, v in zip(headers, (r.get(f"C{i}") for i in range(len(headers))), strict=True)
        }
        for _, r in stream.records
    ]


def test_an_rtf_reads_back_with_our_own_readers(
    stack: RunningStack, caseload: dict[str, Any], tmp_path: Path
) -> None:
    export = _export(stack, kind="rtf")
    # Every member of the plan has a row: a new member not yet enrolled is in outreach.
    assert (export["row_count"], export["skipped_count"]) == (4, 0)
    assert export["file_name"] == f"{PLAN}_RTF_202611_20261205.csv"
    assert export["file_key"] == f"outbox/{PLAN}/rtf/{PLAN}_RTF_202611_20261205.csv"
    assert export["skipped"] == []
    content = _download(export["file_url"], tmp_path / "rtf.csv")
    assert content.startswith(b"Primary Payer (MCP) Identifier,MCP Name,")
    rows = _read(tmp_path / "rtf.csv", "csv", "rtf")
    by_cin = {r["Member Client Index Number (CIN)"]: r for r in rows}
    assert sorted(by_cin) == sorted(sample_mif_row(FIRST + i)["CIN"] for i in range(4))

    enrolled = by_cin[sample_mif_row(FIRST)["CIN"]]
    expected = sample_mif_row(FIRST)
    assert {
        k: enrolled[k]
        for k in (
            "Primary Payer (MCP) Identifier",
            "MCP Name",
            "Member First Name",
            "Member Last Name",
            "Member ECM Status",
            "ECM Enrollment Start Date",
            "ECM Enrollment End Date",
            "Date of Latest Care Plan Revision",
            "Date of Most Recent Encounter with Member",
            "ECM Lead Care Manager Name",
            "ECM Lead Care Manager Name Phone Number",
            "ECM Lead Care Manager Email",
            "In Person",
            "Telephonic/Video",
            "Member Information Return Transmission File Production Date",
            "Member Information File Reporting Period",
            "Discontinuation Reason Code",
        )
    } == {
        "Primary Payer (MCP) Identifier": "RT01",
        "MCP Name": "Round Trip Health",
        "Member First Name": expected["FIRST_NAME"],
        "Member Last Name": expected["LAST_NAME"],
        "Member ECM Status": "3",
        "ECM Enrollment Start Date": "01/15/2026",
        "ECM Enrollment End Date": "",
        "Date of Latest Care Plan Revision": "10/02/2026",
        "Date of Most Recent Encounter with Member": "11/30/2026",
        "ECM Lead Care Manager Name": "Lena Lead",
        "ECM Lead Care Manager Name Phone Number": "8055550111",
        "ECM Lead Care Manager Email": "lena@clinic.example.org",
        "In Person": "1",
        "Telephonic/Video": "3",
        "Member Information Return Transmission File Production Date": "12/05/2026",
        "Member Information File Reporting Period": "11/2026",
        "Discontinuation Reason Code": "",
    }
    ended = by_cin[sample_mif_row(FIRST + 1)["CIN"]]
    assert (
        ended["Member ECM Status"],
        ended["Discontinuation Date"],
        ended["Discontinuation Reason Code"],
        ended["ECM Enrollment End Date"],
    ) == ("4", "11/20/2026", "3", "11/20/2026")
    # new_member and pending_member, with outreach recorded and no enrollment: in outreach.
    no_start = by_cin[sample_mif_row(FIRST + 2)["CIN"]]
    assert (no_start["Member ECM Status"], no_start["ECM Enrollment Start Date"]) == ("2", "")
    pending = by_cin[sample_mif_row(FIRST + 3)["CIN"]]
    assert pending["Member ECM Status"] == "2"
    assert pending["Member Residential Address"] == "'=HYPERLINK(1)"  # never run as a formula

    # The same file read as a MIF: the member columns are MIF aliases.
    as_mif = read_records(tmp_path / "rtf.csv", "csv", MIF_FIELDS, 1000)
    members = {r["cin"] if "cin" in r else r["CIN"] for _, r in as_mif.records}
    assert members == set(by_cin)


def test_members_just_assigned_are_each_reported_as_pending_outreach(
    stack: RunningStack, tmp_path: Path
) -> None:
    """A plan's MIF of three members, then its RTF for the month: a row for each, pending
    outreach (nobody has reached them), none skipped."""
    plan, first = "rt-fresh", FIRST + 100
    rows = [sample_mif_row(first + i) for i in range(3)]
    _ok(post_mif(stack, {"file": data_uri(mif_csv(rows), "csv"), "plan": plan}), 201)
    body = {
        "export": {"kind": "rtf", "plan": plan, "period": "2026-11", "production_date": PRODUCED}
    }
    started = _ok(call(stack, "POST", "/exports", body), 201)
    export = _ok(call(stack, "GET", f"/exports/{started['export_id']}"))["export"]
    assert (export["status"], export["row_count"], export["skipped_count"]) == ("completed", 3, 0)
    _download(export["file_url"], tmp_path / "fresh.csv")
    read = _read(tmp_path / "fresh.csv", "csv", "rtf")
    assert sorted(
        (
            r["Member Client Index Number (CIN)"],
            r["Member ECM Status"],
            r["ECM Enrollment Start Date"],
        )
        for r in read
    ) == sorted((row["CIN"], "1", "") for row in rows)


def test_the_same_data_and_month_give_the_same_bytes(
    stack: RunningStack, caseload: dict[str, Any], tmp_path: Path
) -> None:
    first, second = _export(stack, kind="rtf"), _export(stack, kind="rtf")
    assert first["id"] != second["id"]
    assert first["sha256"] == second["sha256"]
    assert _download(first["file_url"], tmp_path / "a") == _download(
        second["file_url"], tmp_path / "b"
    )
    workbook = _export(stack, kind="rtf", format="xlsx")
    again = _export(stack, kind="rtf", format="xlsx")
    assert workbook["sha256"] == again["sha256"]
    assert workbook["file_name"] == f"{PLAN}_RTF_202611_20261205.xlsx"
    _download(workbook["file_url"], tmp_path / "rtf.xlsx")
    _download(first["file_url"], tmp_path / "rtf.csv")
    assert _read(tmp_path / "rtf.xlsx", "xlsx", "rtf") == _read(tmp_path / "rtf.csv", "csv", "rtf")


def test_an_otf_lists_exactly_the_months_outreach_of_the_plans_members(
    stack: RunningStack, caseload: dict[str, Any], tmp_path: Path
) -> None:
    export = _export(stack, kind="otf")
    assert (export["row_count"], export["skipped_count"]) == (3, 1)
    assert export["skipped"] == [
        {
            "patient_id": caseload["outreach_only"],
            "activity_id": caseload["mailed"],
            "reasons": ["outreach method 'mail' has no code in the layout (codes.outreach_method)"],
        }
    ]
    _download(export["file_url"], tmp_path / "otf.csv")
    rows = _read(tmp_path / "otf.csv", "csv", "otf")
    cin = {i: sample_mif_row(FIRST + i)["CIN"] for i in range(4)}
    assert [
        (
            r["Member Client Index Number"],
            r["Date of Outreach Attempt"],
            r["Outreach Attempt Method"],
            r["Outreach Attempt Successful"],
            r["Time Spent Performing Outreach"],
        )
        for r in rows
    ] == [
        (cin[3], "11/04/2026", "2", "1", "15"),
        (cin[3], "11/05/2026", "3", "0", "5"),
        (cin[2], "11/06/2026", "1", "", ""),
    ]
    assert {r["MCP Name"] for r in rows} == {"Round Trip Health"}


def test_a_plan_layout_changes_columns_codes_and_name(
    stack: RunningStack, caseload: dict[str, Any], tmp_path: Path
) -> None:
    plan = "rt-layout"
    document = {
        "plan": plan,
        "mcp_name": "Layout Health",
        "otf": {
            "columns": [
                {"header": "CIN", "field": "cin"},
                {"header": "Attempt", "field": "outreach_date"},
                {"header": "How", "field": "outreach_method"},
                {"header": "Reached", "field": "outreach_successful"},
                {"header": "Program", "value": "ECM"},
            ],
            "date_format": "YYYYMMDD",
            "delimiter": "|",
            "file_name": "OTF_{npi}_{MMYYYY}",
            "codes": {"outreach_method": {"mail": "4"}, "yes_no": {"yes": "Y", "no": "N"}},
        },
    }
    stack.client("s3").put_object(
        Bucket=stack.bucket, Key=f"config/plans/{plan}.json", Body=json.dumps(document).encode()
    )
    content = data_uri(mif_csv([sample_mif_row(FIRST + 20)]), "csv")
    _ok(post_mif(stack, {"file": content, "plan": plan}), 201)
    member = _member(stack, FIRST + 20)
    _activity(
        stack,
        member,
        type="outreach",
        occurred_at="2026-11-12T18:00:00Z",
        method="mail",
        successful=True,
    )
    body = {
        "export": {"kind": "otf", "plan": plan, "period": "2026-11", "production_date": PRODUCED}
    }
    started = _ok(call(stack, "POST", "/exports", body), 201)
    export = _ok(call(stack, "GET", f"/exports/{started['export_id']}"))["export"]
    assert export["file_name"] == "OTF__112026.csv"  # no NPI configured locally
    content_bytes = _download(export["file_url"], tmp_path / "x.csv")
    assert content_bytes.decode() == (
        f"CIN|Attempt|How|Reached|Program\r\n{sample_mif_row(FIRST + 20)['CIN']}|20261112|4|Y|ECM\r\n"
    )


def test_wrong_requests_and_layouts_are_refused_with_the_reason(
    stack: RunningStack, caseload: dict[str, Any]
) -> None:
    base = {"kind": "rtf", "plan": PLAN, "period": "2026-11"}
    cases = [
        ({**base, "period": "2026-13"}, "export.period must be a month as YYYY-MM"),
        ({**base, "period": "11/2026"}, "export.period must be a month as YYYY-MM"),
        ({**base, "period": "2030-01"}, "export.period can't be a month that has not begun"),
        (
            {**base, "production_date": "2026-10-31"},
            "export.production_date must be in or after the period, and not in the future",
        ),
        (
            {**base, "production_date": "12/05/2026"},
            "export.production_date must be a date in YYYY-MM-DD format",
        ),
    ]
    for body, message in cases:
        refused = call(stack, "POST", "/exports", {"export": body})
        assert (refused.status_code, refused.json()) == (422, {"errors": [message]}), body
    for body in (
        {**base, "kind": "csv"},
        {**base, "format": "pdf"},
        {**base, "plan": "Bad Plan"},
        {"kind": "rtf"},
    ):
        refused = call(stack, "POST", "/exports", {"export": body})
        assert refused.status_code == 422, body
        assert refused.json()["errors"][0].startswith("export."), refused.text

    stack.client("s3").put_object(
        Bucket=stack.bucket,
        Key="config/plans/rt-broken.json",
        Body=json.dumps(
            {
                "plan": "rt-broken",
                "rtf": {
                    "columns": [{"header": "X", "field": "favourite_colour"}, {"header": "Y"}],
                    "file_name": "{plan}/../{secret}",
                    "codes": {"colours": {}},
                },
            }
        ).encode(),
    )
    refused = call(stack, "POST", "/exports", {"export": {**base, "plan": "rt-broken"}})
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert all(e.startswith("config/plans/rt-broken.json: ") for e in errors), errors
    text = "\n".join(errors)
    for part in (
        "rtf.columns[0].field 'favourite_colour' is not a field of the RTF",
        "rtf.columns[1] needs one of a field, a value or a plan_field",
        "rtf.codes.colours is not a code set",
        "rtf.file_name placeholder {secret} is not one of",
        "rtf.file_name may hold letters, digits, '-', '_', '.' only",
    ):
        assert part in text, part
    listed = _ok(call(stack, "GET", "/exports?per_page=100"))
    assert all(e["plan"] != "rt-broken" for e in listed["exports"])  # nothing was recorded
    for missing in ("999999", "0", "x"):
        gone = call(stack, "GET", f"/exports/{missing}")
        assert (gone.status_code, gone.json()) == (404, {"errors": ["Export not found"]})


def test_exports_are_listed_newest_first_with_their_files(
    stack: RunningStack, caseload: dict[str, Any]
) -> None:
    made = _export(stack, kind="otf")
    listed = _ok(call(stack, "GET", "/exports?per_page=2"))
    assert listed["exports"][0]["id"] == made["id"]
    assert listed["pagination"]["per_page"] == 2
    assert listed["pagination"]["total_count"] >= made["id"]
    newest = listed["exports"][0]
    assert {k: newest[k] for k in ("kind", "plan", "period", "status", "row_count")} == {
        "kind": "otf",
        "plan": PLAN,
        "period": "2026-11",
        "status": "completed",
        "row_count": 3,
    }
    stored = stack.client("s3").get_object(Bucket=stack.bucket, Key=made["file_key"])
    assert stored["ContentType"] == "text/csv; charset=utf-8"


def test_the_monthly_schedule_queues_each_plans_files_once(stack: RunningStack) -> None:
    """The schedule's target, run as Lambda runs it (EventBridge's event, through the local
    stack's shim): last month's RTF and OTF of the configured plan, and the same event
    delivered again queues nothing more (idempotent per event and plan)."""
    event = {"id": "monthly-2026-12", "time": "2026-12-01T09:00:00Z", "detail": {}}

    def run() -> dict[str, Any]:
        answer = stack.client("lambda").invoke(
            FunctionName="ExportScheduleFunction", Payload=json.dumps(event).encode()
        )
        return dict(json.loads(answer["Payload"].read()))

    first = run()
    assert "errorType" not in first, first
    assert first["period"] == "2026-11" and first["refused"] == []
    assert len(first["queued"]) == 2
    assert run() == first
    made = [_finished(stack, i) for i in first["queued"]]
    assert sorted((e["kind"], e["plan"], e["period"]) for e in made) == [
        ("otf", SCHEDULED_PLAN, "2026-11"),
        ("rtf", SCHEDULED_PLAN, "2026-11"),
    ]
    assert {e["created_by"] for e in made} == {"schedule"}
    # the plan has neither a record nor a layout document: the DHCS layout, said so (S3's
    # NoSuchKey read as none)
    assert all(
        e["warnings"][0].startswith(
            f"The plan has no record (PUT /v1/admin/clinic/ecm/plans/{SCHEDULED_PLAN}): the DHCS"
        )
        for e in made
    )
    asked = {"export": {"plan": SCHEDULED_PLAN, "period": "2026-10", "kind": "rtf"}}
    by_hand = _ok(call(stack, "POST", "/exports", asked), 201)
    assert _finished(stack, by_hand["export_id"])["warnings"][0] == made[0]["warnings"][0]


def _finished(stack: RunningStack, export_id: int, timeout: float = 120) -> dict[str, Any]:
    """The export once the worker has made it (the schedule only queues it)."""
    deadline = time.monotonic() + timeout
    while True:
        export = dict(_ok(call(stack, "GET", f"/exports/{export_id}"))["export"])
        if export["status"] in ("completed", "failed") or time.monotonic() > deadline:
            assert export["status"] == "completed", export
            return export
        time.sleep(0.2)
