"""moto's TransactWriteItems keeps a copy of each table it writes, to put back if the
transaction fails; moto 5.2 makes that copy once per action of the transaction rather than
once per table. A 100-action transaction over 1,000 patients deep-copies 100,000 items,
seconds of CPU, where DynamoDB's cost does not grow with the table. Here the copies one
transaction makes of one table are made once (the table does not change while moto
copies it); the copy and the rollback stay moto's own."""

from __future__ import annotations

import copy
import threading
from typing import Any

import moto.dynamodb.models as moto_dynamodb_models
from moto.dynamodb.models.table import Table


class _CopyEachTableOnce:
    """Stands in for the ``copy`` module in moto's DynamoDB backend: inside a transaction,
    a second deep copy of one table is the first one."""

    def __init__(self) -> None:
        self.local = threading.local()

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        copies: dict[int, Any] | None = getattr(self.local, "copies", None)
        if copies is None or not isinstance(value, Table):
            return copy.deepcopy(value, memo)
        if id(value) not in copies:
            copies[id(value)] = copy.deepcopy(value, memo)
        return copies[id(value)]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def copy_each_table_once() -> None:
    """Install the stand-in (once; idempotent)."""
    backend = moto_dynamodb_models.DynamoDBBackend
    if getattr(backend.transact_write_items, "copies_once", False):
        return
    stand_in = _CopyEachTableOnce()
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        stand_in.local.copies = {}
        try:
            original(self, transact_items)
        finally:
            stand_in.local.copies = None

    transact_write_items.copies_once = True  # type: ignore[attr-defined]
    moto_dynamodb_models.copy = stand_in  # type: ignore[assignment]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
