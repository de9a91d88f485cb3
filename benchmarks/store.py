"""The benchmarks' AWS endpoint: moto's DynamoDB/S3/SQS app in its own process.

``python benchmarks/store.py PORT [waitress|werkzeug]``. The default serves moto's WSGI app
with waitress, which keeps HTTP/1.1 connections alive as AWS endpoints do. ``werkzeug`` is
``python -m moto.server``: its development server closes the connection after every answer,
so each DynamoDB or S3 call of the stack under test also pays a TCP connect and close
(about 100 µs of the caller's CPU per call, measured against the same app; see
benchmarks/README.md). Either way the store's CPU is its own process's, not the stack's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: devstack

SERVERS = ("waitress", "werkzeug")
#: Worker threads: the stack's SQS pollers each hold one in a long poll, and the apply
#: stage runs 4 chunks at once, each with its own connection.
THREADS = 32
#: Open connections waitress keeps (its default is 100, past which it stops accepting and a
#: new client's request hangs unanswered): each Lambda execution environment of the stack
#: has its own clients and pools, and many imports waiting for the lock at once start many
#: environments of the lock function.
CONNECTION_LIMIT = 2000


def answer_bodyless_expect_continue() -> None:
    """Serve a request that has ``Expect: 100-continue`` and no body.

    botocore sends that header on every S3 PUT; waitress 3.0.2 answers "100 Continue" to a
    request with ``Content-Length: 0`` and then never dispatches it, so an empty object (an
    import's write batches when a chunk creates nothing) hung until the client's read
    timeout. A request without a body has nothing to continue with.
    """
    from waitress.parser import HTTPRequestParser

    original = HTTPRequestParser.parse_header

    def parse_header(self: Any, header_plus: bytes) -> None:
        original(self, header_plus)
        if self.body_rcv is None:
            self.expect_continue = False

    HTTPRequestParser.parse_header = parse_header


def main(argv: list[str]) -> None:
    port = int(argv[0])
    server = argv[1] if len(argv) > 1 else SERVERS[0]
    if server not in SERVERS:
        raise SystemExit(f"server must be one of {SERVERS}")
    from devstack.stack import serialise_dynamodb

    serialise_dynamodb()  # as the local stack's own store: atomic transactions
    if server == "werkzeug":
        from moto.server import main as moto_main

        moto_main(["-H", "127.0.0.1", "-p", str(port)])
        return
    import waitress
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    answer_bodyless_expect_continue()
    os.environ.setdefault("MOTO_PORT", str(port))  # as moto.server sets it (presigned URLs)
    app = DomainDispatcherApplication(create_backend_app)
    waitress.serve(
        app,
        host="127.0.0.1",
        port=port,
        threads=THREADS,
        connection_limit=CONNECTION_LIMIT,
        ident=None,
        _quiet=True,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
