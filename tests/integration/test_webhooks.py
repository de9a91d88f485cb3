"""Import webhooks through the local stack (docs/using/webhooks.md): a receiver on 127.0.0.1
(allowlisted by the stack fixture) checks every Standard Webhooks signature with the secret the
stack printed; it answers 500 twice, and the queue retries with backoff under the same webhook-id. A
failed import sends import.failed; a URL resolving to loopback without the allowlist gets nothing.

Member ids 700_000–709_999. Traffic stays on 127.0.0.0/8.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from fixtures_builders import mif_csv, sample_mif_row
from stack_fixture import MIF_URL, RunningStack, data_uri, free_port, post_mif
from standardwebhooks import Webhook

SECRET_LINE = re.compile(r"Webhook secret:\s+(whsec_\S+)")


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver(ThreadingHTTPServer):
    """``/hook/flaky`` answers 500 to the first two attempts of each webhook-id, then 200."""

    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.port = port
        self.lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        self.attempts: Counter[str] = Counter()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, webhook_id: str) -> int:
        with self.lock:
            self.attempts[webhook_id] += 1
            if path == "/hook/flaky" and self.attempts[webhook_id] <= 2:
                return 500
            return 200

    def for_file(self, file_id: int, path: str) -> list[Delivery]:
        with self.lock:
            return [
                d
                for d in self.deliveries
                if d.path == path and d.payload.get("data", {}).get("id") == file_id
            ]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        status = self.server.answer(self.path, headers.get("webhook-id", ""))
        with self.server.lock:
            self.server.deliveries.append(Delivery(self.path, headers, body, status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def receiver(webhook_receiver_port: int) -> Iterator[Receiver]:
    server = Receiver(webhook_receiver_port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def verifier(stack: RunningStack) -> Webhook:
    """The secret the stack printed at start, checked against the one in Secrets Manager."""
    printed = SECRET_LINE.search(stack.log_text())
    assert printed, "the local stack prints the webhook signing secret at start"
    stored = stack.client("secretsmanager").get_secret_value(SecretId="WebhookSigningSecret")
    assert printed.group(1) == "whsec_" + stored["SecretString"]
    return Webhook(printed.group(1))


def wait_until(check: Callable[[], bool], timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for webhook deliveries")
        time.sleep(0.2)


def _rows(*numbers: int) -> list[dict[str, str]]:
    return [sample_mif_row(n) for n in numbers]


def _phi(rows: list[dict[str, str]]) -> list[str]:
    fields = ("MEMBER_ID", "CIN", "FIRST_NAME", "LAST_NAME", "DOB", "ADDRESS", "PHONE")
    return [row[f] for row in rows for f in fields if row.get(f)]


def _import(stack: RunningStack, rows: list[dict[str, str]], webhook_url: str) -> requests.Response:
    source = {"file": data_uri(mif_csv(rows), "csv"), "file_type": "csv"}
    return post_mif(stack, {**source, "webhook_url": webhook_url})


def test_events_are_signed_and_retried_after_500_with_the_same_id(
    stack: RunningStack, receiver: Receiver, verifier: Webhook
) -> None:
    rows = _rows(700_001, 700_002, 700_003)
    response = _import(stack, rows, receiver.url("/hook/flaky"))
    assert response.status_code == 201, response.text
    file_id = response.json()["mif_file_id"]

    def both_delivered() -> bool:
        ok = [d for d in receiver.for_file(file_id, "/hook/flaky") if d.status == 200]
        return {d.payload["type"] for d in ok} >= {"import.processing", "import.completed"}

    wait_until(both_delivered)
    time.sleep(2.5)  # a delivered event is deleted: no fourth attempt comes
    deliveries = receiver.for_file(file_id, "/hook/flaky")

    for delivery in deliveries:
        assert verifier.verify(delivery.body, delivery.headers) == delivery.payload
        assert delivery.headers["content-type"] == "application/json"
        assert re.fullmatch(r"v1,[A-Za-z0-9+/]+=*", delivery.headers["webhook-signature"])
    by_type: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        by_type.setdefault(delivery.payload["type"], []).append(delivery)
    assert set(by_type) == {"import.processing", "import.completed"}
    for attempts in by_type.values():
        assert [d.status for d in attempts] == [500, 500, 200]
        assert len({d.webhook_id for d in attempts}) == 1
        assert attempts[0].webhook_id.startswith("evt_")
        assert len({d.body for d in attempts}) == 1  # the same event, re-signed per attempt
    processing, completed = by_type["import.processing"], by_type["import.completed"]
    assert processing[0].webhook_id != completed[0].webhook_id
    assert deliveries.index(processing[0]) < deliveries.index(completed[0])

    assert processing[0].payload["data"]["status"] == "processing"
    data = completed[0].payload["data"]
    assert {k: data[k] for k in ("id", "kind", "status", "dry_run", "mode")} == {
        "id": file_id,
        "kind": "mif",
        "status": "completed",
        "dry_run": False,
        "mode": "all_or_nothing",
    }
    assert (data["rows_total"], data["created_count"], data["updated_count"]) == (3, 3, 0)
    assert data["records_failed"] == 0
    assert data["detail_path"] == f"{MIF_URL}/{file_id}"
    if data["result_file_url"]:
        assert requests.get(data["result_file_url"], timeout=30).status_code == 200
    text = b"".join(d.body for d in deliveries).decode()
    for value in _phi(rows):
        assert value not in text


def test_a_failed_import_sends_import_failed_without_error_text(
    stack: RunningStack, receiver: Receiver, verifier: Webhook
) -> None:
    rows = _rows(700_010, 700_011)
    rows[1]["DOB"] = "13-45-2020"
    response = _import(stack, rows, receiver.url("/hook/ok"))
    assert response.status_code == 422, response.text
    assert any("13-45-2020" in error for error in response.json()["errors"])
    listed = requests.get(f"{stack.api}{MIF_URL}?per_page=1", headers=stack.headers(), timeout=30)
    file_id = listed.json()["mif_files"][0]["id"]

    wait_until(
        lambda: any(
            d.payload["type"] == "import.failed" for d in receiver.for_file(file_id, "/hook/ok")
        )
    )
    deliveries = receiver.for_file(file_id, "/hook/ok")
    (failed,) = [d for d in deliveries if d.payload["type"] == "import.failed"]
    assert verifier.verify(failed.body, failed.headers) == failed.payload
    data = failed.payload["data"]
    assert (data["id"], data["kind"], data["status"]) == (file_id, "mif", "failed")
    assert (data["created_count"], data["updated_count"]) == (0, 0)
    text = failed.body.decode()
    assert "13-45-2020" not in text and "Row " not in text
    for value in _phi(rows):
        assert value not in text


def test_request_time_refusal_of_private_and_plain_http_urls(stack: RunningStack) -> None:
    def total() -> int:
        listed = requests.get(f"{stack.api}{MIF_URL}", headers=stack.headers(), timeout=30)
        return int(listed.json()["pagination"]["total_count"])

    before = total()
    for url, reason in (
        ("http://hooks.example.com/ecm", "https://"),
        ("https://169.254.169.254/latest/meta-data", "private or reserved"),
        ("https://10.0.0.7/hook", "private or reserved"),
    ):
        response = _import(stack, _rows(700_020), url)
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error.startswith("mif.webhook_url: ") and reason in error
    assert total() == before


def test_no_delivery_to_loopback_by_name_without_the_allowlist(
    stack: RunningStack,
) -> None:
    """``localhost`` passes the request-time check (a name) but resolves to 127.0.0.1, which is
    not allowlisted under that name: the sender refuses before connecting."""
    port = free_port()
    listener = socket.create_server(("127.0.0.1", port))
    listener.settimeout(0.2)
    accepted: list[Any] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(address)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        response = _import(stack, _rows(700_030), f"https://localhost:{port}/hook")
        assert response.status_code == 201, response.text

        def refusals() -> list[dict[str, Any]]:
            found = []
            for line in stack.log_text().splitlines():
                if '"webhook delivery failed"' in line and line.startswith("{"):
                    entry = json.loads(line)
                    if entry.get("refused"):
                        found.append(entry)
            return found

        wait_until(lambda: len(refusals()) >= 2)  # the first attempt and its retry
        assert accepted == []
        assert all(entry["error_type"] == "WebhookDeliveryError" for entry in refusals())
        assert "localhost" not in "".join(json.dumps(e) for e in refusals())
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=2)
