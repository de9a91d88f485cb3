"""The local stack keeps its data across restarts (docs/running/local-stack.md): patients, files,
presigned downloads, tokens and ids come back; an import a stop interrupted ends rolled back; a
damaged or older save is refused, never dropped. Each test runs its own stacks on a data folder."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from fixtures_builders import mif_csv, sample_mif_row
from stack_fixture import (
    ROOT,
    RunningStack,
    data_uri,
    free_port,
    patients_by_member,
    post_mif,
    snapshot,
    start_stack,
    stop_stack,
    wait_for_file,
)

from devstack.persistence import MANIFEST, DataDir

ECM = "/v1/admin/clinic/ecm"


def _start(tmp: Path, data: Path, ports: tuple[int, int], **extra: str) -> RunningStack:
    env = {
        "ECM_DATA_DIR": str(data),
        "ECM_SAVE_SECONDS": "0.3",
        "PORT": str(ports[0]),
        "AWS_PORT": str(ports[1]),
        **extra,
    }
    return start_stack(tmp, env)


def _get(stack: RunningStack, path: str, token: str | None = None) -> requests.Response:
    headers = stack.headers(token) if token else stack.headers()
    return requests.get(f"{stack.api}{ECM}{path}", headers=headers, timeout=60)


def _printed(stack: RunningStack, label: str) -> str:
    found = re.search(rf"{label}:\s+(\S+)", stack.log_text())
    assert found, stack.log_text()[-2000:]
    return found.group(1)


def test_everything_comes_back_after_a_restart(tmp_path: Path) -> None:
    data, ports = tmp_path / "data", (free_port(), free_port())
    first = _start(tmp_path, data, ports, ECM_ADMIN_TOKEN="")  # a token the stack makes
    try:
        token = _printed(first, "Admin token")
        secret = _printed(first, "Webhook secret")
        rows = [sample_mif_row(i) for i in range(900_000, 900_003)]
        created = post_mif(first, {"file": data_uri(mif_csv(rows), "csv")}, token)
        assert created.status_code == 201, created.text
        file_id = created.json()["mif_file_id"]
        detail = _get(first, f"/mifs/{file_id}", token).json()["mif_file"]
        assert detail["status"] == "completed"
        patient_id = int(patients_by_member(first)[rows[0]["MEMBER_ID"]]["id"])
        activity = requests.post(
            f"{first.api}{ECM}/patients/{patient_id}/activities",
            json={"activity": {"type": "outreach", "occurred_at": "2026-11-03T17:00:00Z"}},
            headers=first.headers(token),
            timeout=60,
        )
        assert activity.status_code == 201, activity.text
        before = snapshot(first)
        listed = _get(first, "/patients", token).json()
    finally:
        stop_stack(first, timeout=60)
    assert "Saving local data" in first.log_text()

    second = _start(tmp_path, data, ports, ECM_ADMIN_TOKEN="")
    try:
        assert "loaded from the last run" in second.log_text()
        assert _printed(second, "Admin token") == token
        assert _printed(second, "Webhook secret") == secret
        assert snapshot(second) == before
        assert _get(second, "/patients", token).json() == listed
        again = _get(second, f"/mifs/{file_id}", token).json()["mif_file"]
        assert again["eligibility_informations"] == detail["eligibility_informations"]
        # A download link handed out before the restart still works.
        original = requests.get(detail["file_url"], timeout=30)
        assert (original.status_code, original.content) == (200, mif_csv(rows))
        # Ids go on from where they were: none is handed out twice.
        more = [sample_mif_row(900_010)]
        next_file = post_mif(second, {"file": data_uri(mif_csv(more), "csv")}, token).json()
        assert next_file["mif_file_id"] == file_id + 1
        new_patient = int(patients_by_member(second)[more[0]["MEMBER_ID"]]["id"])
        assert new_patient > max(int(p["id"]) for p in before["PatientsTable"])
        activities = _get(second, f"/patients/{patient_id}/activities", token).json()
        assert [a["id"] for a in activities["activities"]] == [activity.json()["activity"]["id"]]
    finally:
        stop_stack(second, timeout=60)


def test_an_import_a_crash_interrupted_is_rolled_back_at_the_next_start(tmp_path: Path) -> None:
    data, ports = tmp_path / "data", (free_port(), free_port())
    stack = _start(tmp_path, data, ports, ECM_CHUNK_ROWS="20", ECM_SYNC_WAIT_SECONDS="1")
    try:
        seed = [sample_mif_row(i) for i in range(900_100, 900_103)]
        seeded = post_mif(stack, {"file": data_uri(mif_csv(seed), "csv")})
        # 202 when a busy machine takes more than the 1 s this stack waits: wait for it.
        assert seeded.status_code in (201, 202), seeded.text
        assert wait_for_file(stack, seeded.json()["mif_file_id"])["status"] == "completed"
        updated = {**seed[0], "FIRST_NAME": "Changed"}
        before = snapshot(stack)
        ddb = stack.client("dynamodb")
        # The apply of chunk 0 writes, then stalls: the import is caught mid-write.
        ddb.put_item(
            TableName="MetaTable",
            Item={
                "pk": {"S": "fault#apply"},
                "after_chunk": {"N": "0"},
                "hold_seconds": {"N": "120"},
            },
        )
        rows = [updated] + [sample_mif_row(i) for i in range(900_200, 900_260)]
        started = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv")})
        assert started.status_code == 202, started.text
        file_id = started.json()["mif_file_id"]
        # A busy machine takes minutes to validate, lock and plan: wait for the first chunk.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            record = _get(stack, f"/mifs/{file_id}").json()["mif_file"]
            # Validate counts rows too: the apply's count is the one once the stage is apply.
            if record["stage"] == "applying" and record["rows_processed"] > 0:
                break
            time.sleep(0.2)
        assert record["stage"] == "applying", record
        # Wait for a save that holds the half-written import, then crash (no last save). A
        # save captured just before the apply wrote may land after the apply: read each new
        # save until one holds rows of the import.
        stored: set[str] = set()
        deadline = time.monotonic() + 60
        while len(stored) <= len(before["PatientsTable"]) and time.monotonic() < deadline:
            saved_at = (data / MANIFEST).stat().st_mtime
            while (data / MANIFEST).stat().st_mtime == saved_at and time.monotonic() < deadline:
                time.sleep(0.1)
            saved = DataDir(data).load()
            assert saved is not None
            stored = {json.dumps(i, sort_keys=True) for i in saved.tables["PatientsTable"]}
        assert len(stored) > len(before["PatientsTable"])  # some rows of the import are in
    finally:
        stack.process.kill()
        stack.process.wait(timeout=30)

    again = _start(tmp_path, data, ports, ECM_CHUNK_ROWS="20")
    try:
        assert "1 import(s) the last stop interrupted" in again.log_text()
        record = _get(again, f"/mifs/{file_id}").json()["mif_file"]
        assert (record["status"], record["stage"]) == ("failed", "rolled_back")
        assert record["import_errors"] == (
            "Import failed and was rolled back (LocalStackStopped): "
            "the local stack stopped while the import ran"
        )
        ddb = again.client("dynamodb")
        ddb.delete_item(TableName="MetaTable", Key={"pk": {"S": "fault#apply"}})
        after = snapshot(again)
        # Every table as it was before the import (the lock and its queue are gone too).
        assert after == before
        retried = post_mif(again, {"file": data_uri(mif_csv(rows[:3]), "csv")})
        assert retried.status_code == 201, retried.text
        assert patients_by_member(again)[seed[0]["MEMBER_ID"]]["first_name"] == "Changed"
    finally:
        stop_stack(again, timeout=60)


def _run_devstack(data: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "ECM_DATA_DIR": str(data),
        "PORT": str(free_port()),
        "AWS_PORT": str(free_port()),
    }
    return subprocess.run(
        [sys.executable, "-m", "devstack"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with one import in it, made once; each case damages a copy."""
    tmp = tmp_path_factory.mktemp("saved")
    data = tmp / "data"
    stack = _start(tmp, data, (free_port(), free_port()))
    try:
        rows = [sample_mif_row(900_300)]
        assert post_mif(stack, {"file": data_uri(mif_csv(rows), "csv")}).status_code == 201
    finally:
        stop_stack(stack, timeout=60)
    return data


@pytest.mark.parametrize("damage", ["table", "object", "manifest", "format", "missing"])
def test_a_damaged_or_older_save_is_refused_and_left_as_it_is(
    tmp_path: Path, saved: Path, damage: str
) -> None:
    data = tmp_path / "data"
    shutil.copytree(saved, data)
    manifest = json.loads((data / MANIFEST).read_bytes())
    table = data / manifest["generation"] / "PatientsTable.jsonl"
    blob = next((data / "objects").iterdir())
    if damage == "table":
        table.write_bytes(table.read_bytes().replace(b"Boston", b"Bostan"))
        named = str(table)
    elif damage == "object":
        blob.write_bytes(b"x" + blob.read_bytes())
        named = str(blob)
    elif damage == "manifest":
        (data / MANIFEST).write_bytes(b'{"format": 1, "gener')
        named = str(data / MANIFEST)
    elif damage == "format":
        (data / MANIFEST).write_bytes(json.dumps({**manifest, "format": 0}).encode())
        named = "format 0; this version reads format 1"
    else:
        table.unlink()
        named = f"{table} is missing"
    kept = _files(data)
    refused = _run_devstack(data)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    message = refused.stderr
    assert f"The local data in {data} cannot be loaded" in message
    assert named in message
    assert "make reset" in message and "nothing was changed" in message
    assert _files(data) == kept  # not discarded, not rewritten


def test_an_empty_data_dir_setting_keeps_everything_in_memory(tmp_path: Path) -> None:
    ports = (free_port(), free_port())
    stack = start_stack(
        tmp_path, {"ECM_DATA_DIR": "", "PORT": str(ports[0]), "AWS_PORT": str(ports[1])}
    )
    try:
        assert "in memory only" in stack.log_text()
        rows = [sample_mif_row(900_400)]
        assert post_mif(stack, {"file": data_uri(mif_csv(rows), "csv")}).status_code == 201
    finally:
        stop_stack(stack)
    assert not list(tmp_path.rglob(MANIFEST))
    again = start_stack(
        tmp_path, {"ECM_DATA_DIR": "", "PORT": str(ports[0]), "AWS_PORT": str(ports[1])}
    )
    try:
        assert patients_by_member(again) == {}
    finally:
        stop_stack(again)
