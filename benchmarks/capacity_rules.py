"""DynamoDB's write-capacity arithmetic: item sizes, the write units of one write to a table
and to each of its global secondary indexes, and the partition key each lands on.

Shared by ``capacity.py`` (which applies it to every write the product makes) and
``patients.py`` (item sizes of what it reads). The rules, from the DynamoDB Developer Guide:

- Item size: attribute names plus values; a number ~1 byte per two significant digits + 1;
  a map or list 3 bytes plus 1 per element
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
- One write request unit per 1 KB, rounded up. PutItem and UpdateItem: the larger of the item
  before and after; DeleteItem: the deleted item; BatchWriteItem: each item as its own put or
  delete. A conditional write whose condition fails still consumes: the item's size (we take
  the larger of the stored and the new item), 1 unit when no item exists
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html#write-operation-consumption,
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalWrites.ReturnConsumedCapacity).
- TransactWriteItems: two units per 1 KB for each item, prepare and commit
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-capacity-handling).
  Assumed here: index entries of a transaction count once (the guide doubles the item
  writes only), and a ConditionCheck costs like a failed write of the item it checks.
- A global secondary index is written per item: one put when the item enters it (its key
  attributes appear), one delete when it leaves, a delete and a put when its key changes, one
  write when only a projected attribute changes, none otherwise. An entry's size is the table
  key + the index key + the projected attributes + 100 bytes
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations.Writes,
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.StorageConsiderations).
- One partition key takes at most 1,000 write units per second, on the table and on each
  index; a new on-demand table or index serves 4,000 write units per second at first, or the
  ``WarmThroughput`` set on it
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html,
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html,
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

KB = 1024
INDEX_ENTRY_OVERHEAD = 100
PARTITION_WRU_PER_S = 1_000
NEW_ON_DEMAND_WRU_PER_S = 4_000
#: The index name of a write to the table itself.
BASE = ""

AttrItem = dict[str, dict[str, Any]]


def attr_size(value: Mapping[str, Any]) -> int:
    """DynamoDB's size of one attribute value (the documented approximation)."""
    kind, raw = next(iter(value.items()))
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        digits = raw.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":  # raw bytes count: a request carries them base64-encoded
        return len(raw) if isinstance(raw, bytes) else len(base64.b64decode(raw))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + attr_size(v) + 1 for k, v in raw.items())
    if kind == "L":
        return 3 + sum(attr_size(v) + 1 for v in raw)
    return sum(attr_size({kind[0]: v}) for v in raw)  # SS, NS, BS


def item_size(item: Mapping[str, Any]) -> int:
    return sum(len(name.encode()) + attr_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    """Write request units of one write of ``size`` bytes (1 KB each, at least one)."""
    return max(1, -(-size // KB))


@dataclass(frozen=True)
class IndexSchema:
    name: str
    keys: tuple[str, ...]  # partition key, then the sort key if any
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    include: tuple[str, ...]
    throughput: int  # write units per second it serves at first


@dataclass(frozen=True)
class TableSchema:
    name: str
    keys: tuple[str, ...]
    indexes: tuple[IndexSchema, ...]
    throughput: int

    def ident(self, item: Mapping[str, Any]) -> str:
        """The item's primary key as one string (the shadow's key)."""
        return "\x1f".join(scalar(item[k]) for k in self.keys)


def scalar(value: Mapping[str, Any]) -> str:
    """A key attribute's value as text (S, N or base64 B)."""
    return str(next(iter(value.values())))


def _key_names(schema: list[dict[str, str]]) -> tuple[str, ...]:
    ordered = sorted(schema, key=lambda k: k["KeyType"] != "HASH")
    return tuple(k["AttributeName"] for k in ordered)


def _warm(properties: Mapping[str, Any]) -> int:
    warm = properties.get("WarmThroughput") or {}
    return int(warm.get("WriteUnitsPerSecond") or NEW_ON_DEMAND_WRU_PER_S)


def table_schema(name: str, properties: Mapping[str, Any]) -> TableSchema:
    """A table's keys, indexes and throughput from its CloudFormation properties."""
    indexes = tuple(
        IndexSchema(
            name=index["IndexName"],
            keys=_key_names(index["KeySchema"]),
            projection=index["Projection"]["ProjectionType"],
            include=tuple(index["Projection"].get("NonKeyAttributes") or ()),
            throughput=_warm(index),
        )
        for index in properties.get("GlobalSecondaryIndexes") or ()
    )
    return TableSchema(name, _key_names(properties["KeySchema"]), indexes, _warm(properties))


def template_schemas(template: Any) -> dict[str, TableSchema]:
    """Every table of template.yaml (a devstack.template.LocalTemplate), by its local name."""
    return {
        template.physical_name(logical): table_schema(
            template.physical_name(logical), template.resolve(resource["Properties"])
        )
        for logical, resource in template.of_type("AWS::DynamoDB::Table").items()
    }


class Entry(NamedTuple):
    """An item's entry in one index: where it sits, its size, and a digest of what the
    index projects beyond its keys (so a change there is seen)."""

    partition: str
    sort: str | None
    size: int
    digest: bytes


class Image(NamedTuple):
    """What the rules need of a stored item: its size and its index entries."""

    size: int
    entries: dict[str, Entry]


def _base64(value: Any) -> str:
    """A binary value as a request carries it (a read-back holds bytes)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(type(value).__name__)


def _digest(values: Mapping[str, Any]) -> bytes:
    text = orjson.dumps(values, default=_base64, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(text, digest_size=12).digest()


def image(table: TableSchema, item: AttrItem) -> Image:
    size = item_size(item)
    entries: dict[str, Entry] = {}
    whole: bytes | None = None
    for index in table.indexes:
        if not all(k in item for k in index.keys):
            continue  # a sparse index holds no entry for this item
        keys = dict.fromkeys((*table.keys, *index.keys))
        if index.projection == "ALL":
            entry_size = size
            whole = whole if whole is not None else _digest(item)
            digest = whole
        else:
            extra = {n: item[n] for n in index.include if n in item and n not in keys}
            entry_size = item_size({n: item[n] for n in keys if n in item}) + item_size(extra)
            digest = _digest(extra) if extra else b""
        sort = scalar(item[index.keys[1]]) if len(index.keys) > 1 else None
        entries[index.name] = Entry(
            scalar(item[index.keys[0]]), sort, entry_size + INDEX_ENTRY_OVERHEAD, digest
        )
    return Image(size, entries)


@dataclass(frozen=True, slots=True)
class Write:
    table: str
    index: str  # BASE for the table itself
    partition: str
    units: int


def index_writes(table: str, index: str, before: Entry | None, after: Entry | None) -> list[Write]:
    """The writes one item change makes to one index."""
    if before is None and after is None:
        return []
    if before is None:
        assert after is not None
        return [Write(table, index, after.partition, write_units(after.size))]
    if after is None:
        return [Write(table, index, before.partition, write_units(before.size))]
    if (before.partition, before.sort) != (after.partition, after.sort):
        return [
            Write(table, index, before.partition, write_units(before.size)),
            Write(table, index, after.partition, write_units(after.size)),
        ]
    if before.digest != after.digest:
        return [Write(table, index, after.partition, write_units(max(before.size, after.size)))]
    return []


def account(
    table: TableSchema,
    partition: str,
    before: Image | None,
    after: Image | None,
    *,
    failed: bool = False,
    new_size: int = 0,
    transactional: bool = False,
) -> list[Write]:
    """The writes of one item change: the table's, then each index's.

    ``before``/``after``: the stored item before and after (None: absent). A delete has no
    ``after``; a failed conditional write changes nothing and writes no index, and costs the
    stored item's size or ``new_size`` (the item it tried to put), whichever is larger, or 1
    unit when nothing was stored.
    """
    if failed:
        size = max(before.size, new_size) if before is not None else 0
    else:
        size = max(before.size if before else 0, after.size if after else 0)
    units = write_units(size) * (2 if transactional else 1)
    writes = [Write(table.name, BASE, partition, units)]
    if failed:
        return writes
    for index in table.indexes:
        writes += index_writes(
            table.name,
            index.name,
            before.entries.get(index.name) if before else None,
            after.entries.get(index.name) if after else None,
        )
    return writes
