"""The README's walk-throughs, run for real against `make run`: the five minutes (`make user`,
then its curl steps as HTTP requests) and the month with one plan (its bash blocks run as
written, with curl, and what they print checked against the README)."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from stack_fixture import ROOT, free_port

ADMIN = "readme-admin-token-0123456789"


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    port, aws_port = free_port(), free_port()
    folder = tmp_path_factory.mktemp("make-run")
    log = (folder / "run.log").open("wb")
    env = {
        **os.environ,
        "PORT": str(port),
        "AWS_PORT": str(aws_port),
        "ECM_ADMIN_TOKEN": ADMIN,
        # The README's `make run` keeps its data; this one keeps it away from the checkout.
        "ECM_DATA_DIR": str(folder / "data"),
    }
    process = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{api}/v1/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.3)
        else:
            pytest.fail("make run did not serve /v1/health")
        yield api, aws_port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def _post(api: str, token: str, path: Path) -> requests.Response:
    encoded = base64.b64encode(path.read_bytes()).decode()
    return requests.post(
        f"{api}/v1/admin/clinic/ecm/mifs",
        json={"mif": {"file": f"data:text/csv;base64,{encoded}", "file_type": "csv"}},
        headers={"X-User-Token": token},
        timeout=60,
    )


def test_readme_walkthrough(make_run: tuple[str, int]) -> None:
    api, aws_port = make_run
    created = subprocess.run(
        ["make", "-s", "user", "ROLE=admin", "NAME=Readme", f"AWS_PORT={aws_port}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", token)

    imported = _post(api, token, ROOT / "samples/mif_sample.csv")
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert body["message"] == "MIF data imported successfully"
    assert body["imported_count"] == 3

    listing = requests.get(
        f"{api}/v1/admin/clinic/ecm/mifs", headers={"X-User-Token": ADMIN}, timeout=30
    )
    # The month's walk-through may have run first on the same stack.
    listed = {f["id"]: f for f in listing.json()["mif_files"]}
    assert listed[body["mif_file_id"]]["status"] == "completed"

    failed = _post(api, token, ROOT / "samples/mif_bad.csv")
    assert failed.status_code == 422
    assert failed.json() == {
        "errors": [
            "Row 2: DOB '13-45-2020' is not a valid MM-DD-YYYY date",
            "Row 3: Validation failed: Member ID can't be blank",
        ]
    }


MONTH_SECTION = "## A month with one plan"
MARK = "@@@ next block @@@"


def _readme_month() -> tuple[str, list[str]]:
    """The README's month section and its bash blocks, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index(MONTH_SECTION)
    end = readme.index("\n## ", start + len(MONTH_SECTION))
    section = readme[start:end]
    return section, re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)


def _outputs(text: str) -> list[Any]:
    """What one block printed: each JSON answer as an object, each other line as text."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    at = 0
    while at < len(text):
        if text[at].isspace():
            at += 1
        elif text[at] == "{":
            value, at = decoder.raw_decode(text, at)
            found.append(value)
        else:
            end = text.find("\n", at)
            end = len(text) if end < 0 else end
            found.append(text[at:end])
            at = end
    return found


def _csv_rows(url: str) -> list[dict[str, str]]:
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


def _export_rows(api: str, kind: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The newest export of ``kind`` (the README's), and its file's rows."""
    headers = {"X-User-Token": ADMIN}
    listed = requests.get(f"{api}/v1/admin/clinic/ecm/exports", headers=headers, timeout=30)
    newest = next(e for e in listed.json()["exports"] if e["kind"] == kind)
    detail = requests.get(
        f"{api}/v1/admin/clinic/ecm/exports/{newest['id']}", headers=headers, timeout=30
    ).json()["export"]
    return detail, _csv_rows(detail["file_url"])


def _patient(api: str, member_id: str) -> dict[str, Any]:
    headers = {"X-User-Token": ADMIN}
    found = requests.get(
        f"{api}/v1/admin/clinic/ecm/patients",
        params={"search": member_id},
        headers=headers,
        timeout=30,
    ).json()["patients"]
    assert len(found) == 1, member_id
    detail = requests.get(
        f"{api}/v1/admin/clinic/ecm/patients/{found[0]['id']}", headers=headers, timeout=30
    )
    return dict(detail.json()["patient"])


def test_readme_month_with_one_plan(
    make_run: tuple[str, int],
) -> None:
    """The README's month, its bash blocks run as written (curl against `make run`), with
    what each printed checked, the printed files' lines found in the README as shown, and
    the return files and patients read back."""
    api, _ = make_run
    section, blocks = _readme_month()
    assert len(blocks) == 5
    script = f"\nprintf '\\n{MARK}\\n'\n".join(blocks)
    ran = subprocess.run(
        ["bash", "-c", "set -eo pipefail\n" + script],
        cwd=ROOT,
        env={**os.environ, "API": api, "TOKEN": ADMIN},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    printed = [_outputs(text) for text in ran.stdout.split(MARK)]
    assert len(printed) == 5

    # Every line of a file the README prints is shown in the README as it came.
    for line in (item for out in printed for item in out if isinstance(item, str)):
        assert f"# {line}\n" in section, line

    (dry_run,), (plan, november), (first, second, bulk), files, december = printed
    assert dry_run["dry_run"] is True
    assert dry_run["would_create"] == 4
    assert dry_run["unmapped_columns"] == [
        {"column": "Mbr Acuity Lvl", "suggestions": [{"field": "ACUITY_LEVEL", "score": 0.91}]},
        {"column": "County", "suggestions": []},
    ]
    assert plan["plan"]["code"] == "healthnet"
    assert plan["plan"]["mif_columns"] == {"Mbr Acuity Lvl": "ACUITY_LEVEL"}
    assert november["message"] == "MIF data imported successfully"
    assert november["created_count"] == 4
    assert november["changes"] == {"added": 4, "changed": 0, "unchanged": 0, "dropped": 0}
    assert [a["activity"]["successful"] for a in (first, second)] == [False, True]
    assert [p["name"] for p in bulk["patients"]] == ["Carla Mendes", "Dev Patel"]
    for patient in bulk["patients"]:
        eligibility = patient["ecm_eligibility_information"]
        assert eligibility["ecm_enrollment_start_date"] == "2026-11-20"
        assert eligibility["acuity_level"] in {"low", "medium"}  # read through the mapping
        assert (eligibility["referral"]["status"], eligibility["referral"]["status_date"]) == (
            "accepted",
            "2026-11-20",
        )
    assert files == [
        "Member Client Index Number (CIN),Member First Name,Member ECM Status,"
        "ECM Enrollment Start Date,Referral Status,Date of Referral Status Update",
        "91000101A,Ana,1,,Received,11/01/2026",
        "91000102B,Ben,2,,Received,11/01/2026",
        "91000103C,Carla,3,11/20/2026,Accepted,11/20/2026",
        "91000104D,Dev,3,11/20/2026,Accepted,11/20/2026",
        "Client Name,Date of Outreach Attempt,Outreach Attempt Method,"
        "Outreach Attempt Successful,Time Spent Performing Outreach",
        "Ben Okafor,11/09/2026,2,0,5",
        "Ben Okafor,11/16/2026,1,1,40",
    ]

    # The return files whole: one RTF row per member, one OTF row per attempt.
    rtf, rtf_rows = _export_rows(api, "rtf")
    assert (rtf["period"], rtf["row_count"], rtf["skipped_count"]) == ("2026-11", 4, 0)
    by_cin = {row["Member Client Index Number (CIN)"]: row for row in rtf_rows}
    assert sorted(by_cin) == ["91000101A", "91000102B", "91000103C", "91000104D"]
    expected = {
        "91000101A": ("1", "", "Received", "11/01/2026"),
        "91000102B": ("2", "", "Received", "11/01/2026"),
        "91000103C": ("3", "11/20/2026", "Accepted", "11/20/2026"),
        "91000104D": ("3", "11/20/2026", "Accepted", "11/20/2026"),
    }
    for cin, (status, start, referral, referral_date) in expected.items():
        row = by_cin[cin]
        assert row["MCP Name"] == "Health Net Community Solutions"
        assert row["Primary Payer (MCP) Identifier"] == "HNCS"
        assert row["Member ECM Status"] == status
        assert row["ECM Enrollment Start Date"] == start
        assert row["Referral Status"] == referral
        assert row["Date of Referral Status Update"] == referral_date
        assert row["Reason for Referral Loop Closure"] == ""
        assert row["Member Information File Reporting Period"] == "11/2026"
    assert by_cin["91000102B"]["Member Acuity Level"] == "High"
    otf, otf_rows = _export_rows(api, "otf")
    assert (otf["period"], otf["row_count"], otf["skipped_count"]) == ("2026-11", 2, 0)
    assert [
        (
            r["Member Client Index Number"],
            r["Date of Outreach Attempt"],
            r["Outreach Attempt Method"],
        )
        for r in otf_rows
    ] == [("91000102B", "11/09/2026", "2"), ("91000102B", "11/16/2026", "1")]

    refused, fixed, *changes, dropped = december
    assert refused == {"errors": ["Row 5: DOB '31-07-1966' is not a valid MM-DD-YYYY date"]}
    assert fixed["message"] == "MIF data imported successfully"
    assert (fixed["created_count"], fixed["updated_count"]) == (1, 3)
    assert fixed["changes"] == {"added": 1, "changed": 1, "unchanged": 2, "dropped": 1}
    assert changes == [
        "member_id,change,fields",
        "HN0000000103,changed,PHONE: +12095550103 → +12095550199",
        "HN0000000105,added,",
        "HN0000000104,dropped,",
    ]
    assert [p["name"] for p in dropped["patients"]] == ["Dev Patel"]
    dev = _patient(api, "HN0000000104")["ecm_eligibility_information"]
    assert dev["in_latest_mif"] is False
    assert dev["dropped_in_mif_file_id"] == fixed["mif_file_id"]
    # Only marked: the enrollment and the referral stay as November left them.
    assert dev["ecm_enrollment_start_date"] == "2026-11-20"
    assert dev["referral"]["status"] == "accepted"
    eva = _patient(api, "HN0000000105")
    assert eva["date_of_birth"] == "1966-07-31"
    # December's file was read with the header mapped in November, with nothing sent again.
    assert eva["ecm_eligibility_information"]["acuity_level"] == "low"
    # The column no field reads is kept on the member's record.
    assert eva["ecm_eligibility_information"]["plan_fields"] == {"County": "San Joaquin"}
    assert _patient(api, "HN0000000103")["phone"] == "+12095550199"
