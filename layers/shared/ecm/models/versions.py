"""Every item a writer changes carries a version: the writer reads the item, writes the next
version, and the write holds only while the stored item still has the version it read. A
change made meanwhile (an import and a PUT on one patient) is then found, never
overwritten. The API's transactions (pynamodb's version attribute) and the imports' bulk
writes (raw DynamoDB conditions) both take the versions from here."""

from __future__ import annotations

from typing import Any

Item = dict[str, Any]


def read_version(prior: Item | None) -> int:
    """The version of the item as read (0: there was none)."""
    return int(prior.get("version") or 0) if prior else 0


def next_version(prior: Item | None) -> int:
    """The version a write over ``prior`` gives its item (1 for a new item)."""
    return read_version(prior) + 1


def versioned(item: Item, prior: Item | None) -> Item:
    """``item``, changed in place to be the next version of ``prior``."""
    item["version"] = next_version(prior)
    return item


def version_condition(prior: Item) -> Item:
    """A raw write's condition that the stored item is still ``prior`` (attribute form)."""
    return {
        "ConditionExpression": "#v = :pv",
        "ExpressionAttributeNames": {"#v": "version"},
        "ExpressionAttributeValues": {":pv": {"N": str(read_version(prior))}},
    }
