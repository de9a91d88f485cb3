"""moto's TransactWriteItems keeps a deep copy of each table it writes, to put back if the
transaction is cancelled; moto 5.2 makes that copy once per action of the transaction. A
100-action transaction over 1,000 patients deep-copies 100,000 items, seconds of CPU, where
DynamoDB's cost does not grow with the table. Here a transaction keeps a copy of the items
its actions name instead (all it can change), and puts those back when moto cancels it;
moto's own table copies become the tables themselves (its "put back" then changes nothing).
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import moto.dynamodb.models as moto_dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

#: (table, hash key, range key or None, the item as it was or None)
Saved = tuple[Table, DynamoType, DynamoType | None, Any]


class _TablesNotCopied:
    """Stands in for the ``copy`` module in moto's DynamoDB backend: inside a transaction,
    a deep copy of a table is the table itself."""

    def __init__(self) -> None:
        self.local = threading.local()

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if getattr(self.local, "active", False) and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _saved_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[Saved]:
    saved: list[Saved] = []
    for action in transact_items:
        (op,) = action.values()
        table = backend.tables.get(op.get("TableName"))
        key = op.get("Key") or op.get("Item")
        if table is None or not isinstance(key, dict) or table.hash_key_attr not in key:
            continue  # moto refuses it before writing anything
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.has_range_key else None
        if table.has_range_key and table.range_key_attr not in key:
            continue
        try:
            item = table.get_item(hash_key, range_key)
        except Exception:  # noqa: S112 - a key moto refuses: it writes nothing either
            continue
        saved.append((table, hash_key, range_key, copy.deepcopy(item)))
    return saved


def _put_back(saved: list[Saved]) -> None:
    for table, hash_key, range_key, item in reversed(saved):
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        elif item is None:
            table.items.get(hash_key, {}).pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item


def copy_named_items_only() -> None:
    """Install the stand-in (once; idempotent)."""
    backend = moto_dynamodb_models.DynamoDBBackend
    if getattr(backend.transact_write_items, "copies_items", False):
        return
    stand_in = _TablesNotCopied()
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = _saved_items(self, transact_items)
        stand_in.local.active = True
        try:
            original(self, transact_items)
        except Exception:
            _put_back(saved)
            raise
        finally:
            stand_in.local.active = False

    transact_write_items.copies_items = True  # type: ignore[attr-defined]
    moto_dynamodb_models.copy = stand_in  # type: ignore[assignment]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
