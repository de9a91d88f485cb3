"""Start the local stack (``python -m devstack``) in a subprocess for integration tests,
exactly as ``make run`` does, and give tests its URLs, tokens and AWS clients."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests

from ecm.store import from_item

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
STAFF_TOKEN = "test-staff-token-0123456789abcdef"
#: The plan whose files the session stack's monthly export schedule queues (test_exports.py
#: runs the schedule; none fires by itself locally).
SCHEDULED_PLAN = "sched-plan"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningStack:
    api: str
    aws: str
    log_path: Path
    process: subprocess.Popen[bytes]
    bucket: str = "ecm-local-files-123456789012"
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = boto3.client(
                service,
                endpoint_url=self.aws,
                region_name="us-east-1",
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
        return self.clients[service]

    def headers(self, token: str = ADMIN_TOKEN) -> dict[str, str]:
        return {"X-User-Token": token, "Content-Type": "application/json"}

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def run_cli(self, *args: str) -> str:
        """``python -m ecm.cli ARGS`` against this stack, as ``make user`` runs it; stdout."""
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": self.aws,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }
        done = subprocess.run(
            [sys.executable, "-m", "ecm.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return done.stdout


def start_stack(tmp: Path, extra_env: dict[str, str] | None = None) -> RunningStack:
    """``extra_env`` may give PORT and AWS_PORT (a restart on the same ports)."""
    extra_env = extra_env or {}
    port = int(extra_env.get("PORT") or free_port())
    aws_port = int(extra_env.get("AWS_PORT") or free_port())
    env = {
        **os.environ,
        "PORT": str(port),
        "AWS_PORT": str(aws_port),
        "ECM_ADMIN_TOKEN": ADMIN_TOKEN,
        "ECM_STAFF_TOKEN": STAFF_TOKEN,
        "ECM_ENABLE_FAULT_HOOKS": "1",
        "ECM_DATA_DIR": "",  # in memory, unless a test keeps data (extra_env)
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    log_path = tmp / f"stack-{port}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    api = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"local stack exited:\n{log_path.read_text()}")
        try:
            if requests.get(f"{api}/v1/health", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(f"local stack did not start:\n{log_path.read_text()}")
    return RunningStack(
        api=api, aws=f"http://127.0.0.1:{aws_port}", log_path=log_path, process=process
    )


def stop_stack(stack: RunningStack, timeout: float = 10) -> None:
    stack.process.terminate()
    try:
        stack.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stack.process.kill()


MIF_URL = "/v1/admin/clinic/ecm/mifs"
MIME = {
    "csv": "text/csv",
    "xml": "text/xml",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: Files the integration tests' local HTTP server answers with, by path.
SERVED: dict[str, bytes] = {}


def data_uri(content: bytes, file_type: str) -> str:
    return f"data:{MIME[file_type]};base64,{base64.b64encode(content).decode()}"


def post_mif(
    stack: RunningStack, source: dict[str, Any], token: str | None = None
) -> requests.Response:
    headers = stack.headers(token) if token else stack.headers()
    return requests.post(
        f"{stack.api}{MIF_URL}", json={"mif": source}, headers=headers, timeout=120
    )


def scan(stack: RunningStack, table: str) -> list[dict[str, Any]]:
    ddb = stack.client("dynamodb")
    items: list[dict[str, Any]] = []
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        items.extend(from_item(i) for i in page["Items"])
    return items


DATA_TABLES = (
    "PatientsTable",
    "PatientKeysTable",
    "AuthorizationsTable",
    "MetaTable",
    "ProvidersTable",
)


def snapshot(stack: RunningStack) -> dict[str, list[dict[str, Any]]]:
    """Every data table, sorted, for byte-for-byte comparisons around a failed import."""
    return {
        # Sorted by canonical JSON: a map's keys may come back in another order.
        table: sorted(scan(stack, table), key=lambda i: json.dumps(i, sort_keys=True, default=str))
        for table in DATA_TABLES
    }


def patients_by_member(stack: RunningStack) -> dict[str, dict[str, Any]]:
    return {p["eligibility"]["member_id"]: p for p in scan(stack, "PatientsTable")}


def finished_execution(stack: RunningStack, arn: str, timeout: float = 120) -> dict[str, Any]:
    """The execution once it has left RUNNING.

    The API answers as soon as the import's record is final; the state machine records its own
    end a moment later, so a test reading the execution right after the 201 waits for that.
    """
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        execution = sfn.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING" or time.monotonic() > deadline:
            return execution
        time.sleep(0.2)


def wait_for_file(stack: RunningStack, file_id: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(
            f"{stack.api}{MIF_URL}/{file_id}", headers=stack.headers(), timeout=30
        )
        body = response.json()["mif_file"]
        if body["status"] in ("completed", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.2)
