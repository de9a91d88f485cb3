"""One local stack per test session (per xdist worker), shared by the integration tests."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from stack_fixture import RunningStack, free_port, start_stack, stop_stack

from ecm.store import from_item

MIF_URL = "/v1/admin/clinic/ecm/mifs"
MIME = {
    "csv": "text/csv",
    "xml": "text/xml",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FILE_SERVER_PORT = free_port()
SERVED: dict[str, bytes] = {}


class _FileHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = SERVED.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def file_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", FILE_SERVER_PORT), _FileHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{FILE_SERVER_PORT}"
    server.shutdown()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, file_server: str) -> Iterator[RunningStack]:
    running = start_stack(
        tmp_path_factory.mktemp("stack"),
        {"ECM_URL_ALLOWLIST": f"127.0.0.1:{FILE_SERVER_PORT}", "ECM_CHUNK_ROWS": "50"},
    )
    yield running
    stop_stack(running)


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


DATA_TABLES = ("PatientsTable", "PatientKeysTable", "MetaTable", "ProvidersTable")


def snapshot(stack: RunningStack) -> dict[str, list[dict[str, Any]]]:
    """Every data table, sorted, for byte-for-byte comparisons around a failed import."""
    return {
        table: sorted(scan(stack, table), key=lambda i: repr(sorted(i.items())))
        for table in DATA_TABLES
    }


def patients_by_member(stack: RunningStack) -> dict[str, dict[str, Any]]:
    return {p["eligibility"]["member_id"]: p for p in scan(stack, "PatientsTable")}


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
