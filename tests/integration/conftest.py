"""One local stack per test session (per xdist worker), shared by the integration tests; and
the fault tests' stacks, one per module that asks for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from faulty_stack import Client, start_faulty_stack, unexpected_5xx
from stack_fixture import (
    SCHEDULED_PLAN,
    SERVED,
    RunningStack,
    free_port,
    start_stack,
    stop_stack,
)

FILE_SERVER_PORT = free_port()
#: test_webhooks.py's receiver: allowlisted (as 127.0.0.1:<port> only) before the stack starts.
WEBHOOK_RECEIVER_PORT = free_port()


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
def webhook_receiver_port() -> int:
    return WEBHOOK_RECEIVER_PORT


@pytest.fixture(scope="session")
def stack_env(file_server: str) -> dict[str, str]:
    """A stack as the integration tests expect it: the file server and the webhook receiver
    allowlisted, 50-row chunks, a 1 s webhook backoff, one inbox folder for a plan."""
    return {
        "ECM_URL_ALLOWLIST": f"127.0.0.1:{FILE_SERVER_PORT},127.0.0.1:{WEBHOOK_RECEIVER_PORT}",
        "ECM_CHUNK_ROWS": "50",
        "ECM_WEBHOOK_BACKOFF_SECONDS": "1",
        "ECM_INBOX_PLANS": '{"inbox/mif/healthnet/": "healthnet"}',
        # Only test_exports.py runs the monthly schedule (no schedule fires locally).
        "ECM_EXPORT_SCHEDULE_PLANS": SCHEDULED_PLAN,
    }


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory, stack_env: dict[str, str]
) -> Iterator[RunningStack]:
    running = start_stack(tmp_path_factory.mktemp("stack"), stack_env)
    yield running
    stop_stack(running)


@pytest.fixture(scope="module")
def faulty_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """A stack whose AWS calls meet AWS's failures, one per test module (two fault modules,
    so the suite's two workers share the wait), and a client that retries 503s."""
    faulty = start_faulty_stack(tmp_path_factory.mktemp("aws-faults"))
    yield faulty
    stop_stack(faulty.stack)


@pytest.fixture
def only_busy_5xx(faulty_client: Client) -> Iterator[None]:
    """No answer may be a 5xx but 503 (busy, with Retry-After), in any test that uses it."""
    yield
    assert not unexpected_5xx(faulty_client), faulty_client.answers
