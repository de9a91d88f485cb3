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
import threading
from pathlib import Path
from typing import Any

import waitress
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import main as moto_main
from waitress.parser import HTTPRequestParser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: devstack

from devstack.moto_transactions import copy_named_items_only
from devstack.stack import serialise_dynamodb

SERVERS = ("waitress", "werkzeug")
#: Worker threads: the stack's SQS pollers each hold one in a long poll, and the apply
#: stage runs 4 chunks at once, each with its own connection.
THREADS = 32
#: Open connections waitress keeps (its default is 100, past which it stops accepting and a
#: new client's request hangs unanswered): each Lambda execution environment of the stack
#: has its own clients and pools, and many imports waiting for the lock at once start many
#: environments of the lock function.
CONNECTION_LIMIT = 2000


#: DynamoDB actions that change no item: the store's index of GSI partitions stays valid.
_READS = frozenset(
    {"GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable", "ListTables", "TransactGetItems"}
)


def index_gsi_partitions() -> None:
    """Answer a Query of a GSI from the partition's own items, as DynamoDB does.

    moto walks and sorts every item of the table for each Query of a GSI, so a query costs
    O(table): at 100,000 patients ~7 s, and a sharded list or a search (16 or 64 queries)
    minutes, which would bury what the benchmarks measure (the reads each request makes)
    under moto's cost and time out. Here the items of each (table, hash attribute) are
    grouped by value once, and again after any write; moto then sorts, pages, filters and
    projects the partition's items exactly as before. The reads each request makes, which
    the benchmarks count, are the same; only moto's time to answer them changes."""
    state = {"generation": 0}
    groups: dict[tuple[int, str], tuple[int, dict[Any, list[Any]]]] = {}
    original_call = DynamoHandler.call_action
    original_query = Table.query
    original_all_items = Table.all_items
    original_size = Item.size
    querying = threading.local()  # the table and candidates of this thread's query

    def call_action(self: Any) -> Any:
        if self._get_action() not in _READS:
            state["generation"] += 1
        return original_call(self)

    def partition(table: Any, attribute: str, value: Any) -> list[Any]:
        key = (id(table), attribute)
        cached = groups.get(key)
        if cached is None or cached[0] != state["generation"]:
            grouped: dict[Any, list[Any]] = {}
            for item in original_all_items(table):
                found = item.attrs.get(attribute)
                if found is not None:
                    grouped.setdefault(found, []).append(item)
            cached = groups[key] = (state["generation"], grouped)
        return cached[1].get(value, [])

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        conditions = kwargs.get("hash_key_conditions") or []
        index_name = args[7] if len(args) > 7 else kwargs.get("index_name")
        if not index_name or len(conditions) != 1:
            return original_query(self, *args, **kwargs)
        attribute, value = conditions[0]
        items = partition(self, attribute, value)
        ranges = kwargs.get("range_key_conditions") or []
        if len(args) > 2 and args[1] == "BEGINS_WITH" and len(ranges) == 1:
            # moto casts every item's range key to test the prefix; a plain str test first
            name, prefix = ranges[0][0], str(args[2][0].value)
            items = [i for i in items if str(i.attrs[name].value).startswith(prefix)]
        querying.table, querying.items = self, items
        try:
            return original_query(self, *args, **kwargs)
        finally:
            querying.table = querying.items = None

    def all_items(self: Any) -> Any:
        if getattr(querying, "table", None) is self:
            return querying.items  # this query's candidates only
        return original_all_items(self)

    def size(self: Any) -> int:
        """An item's size, computed once per write generation: moto sizes every item of
        the partition on every query (for the 1 MB page), which was most of its time."""
        cached = self.__dict__.get("_bench_size")
        if cached is None or cached[0] != state["generation"]:
            cached = self.__dict__["_bench_size"] = (state["generation"], original_size(self))
        return int(cached[1])

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    Item.size = size  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


def answer_bodyless_expect_continue() -> None:
    """Serve a request that has ``Expect: 100-continue`` and no body.

    botocore sends that header on every S3 PUT; waitress 3.0.2 answers "100 Continue" to a
    request with ``Content-Length: 0`` and then never dispatches it, so an empty object (an
    import's write batches when a chunk creates nothing) hung until the client's read
    timeout. A request without a body has nothing to continue with.
    """
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

    serialise_dynamodb()  # as the local stack's own store: atomic transactions
    copy_named_items_only()  # as the local stack's own store: transactions copy their items
    index_gsi_partitions()
    if server == "werkzeug":
        moto_main(["-H", "127.0.0.1", "-p", str(port)])
        return

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
