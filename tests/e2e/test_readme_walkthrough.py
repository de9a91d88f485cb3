"""The README's walk-through, run for real: `make run`, `make user`, then the curl steps
(import the sample file, list files, see a failure) as HTTP requests."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

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
    assert listing.json()["pagination"]["total_count"] == 1
    assert listing.json()["mif_files"][0]["status"] == "completed"

    failed = _post(api, token, ROOT / "samples/mif_bad.csv")
    assert failed.status_code == 422
    assert failed.json() == {
        "errors": [
            "Row 2: DOB '13-45-2020' is not a valid MM-DD-YYYY date",
            "Row 3: Validation failed: Member ID can't be blank",
        ]
    }
