"""Apply: send one plan chunk, new items in batches, changed items conditional on the
version planned, so a concurrent change is detected, never overwritten."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from ecm.errors import ConcurrentModification
from ecm.imports.records import add_rows_processed, get_json, get_lines
from ecm.imports.stages.lock import refresh_lock
from ecm.imports.stages.work import (
    TABLE_KEYS,
    Item,
    creates_key,
    lock_holder,
    plan_key,
    planned_table,
)
from ecm.models.access import condition_failed
from ecm.store import delete_item, get_raw, put_item, send_batch_write, to_attr, to_item


def _already_applied(table: str, key: Item, entry: Item, tag: str) -> bool:
    current = get_raw(table, key)
    if entry.get("delete") is not None:
        return current is None
    return (
        current is not None
        and current.get("last_import", {}).get("S") == tag
        and current.get("version") == to_attr(entry["put"].get("version"))
    )


def _conditional_write(entry: Item, tag: str) -> None:
    logical = entry["t"]
    table = planned_table(logical)
    key_name = TABLE_KEYS[logical]
    prior = entry["prior"]
    condition = {
        "ConditionExpression": "#v = :pv",
        "ExpressionAttributeNames": {"#v": "version"},
        "ExpressionAttributeValues": {":pv": to_attr(prior["version"])},
    }
    key = {key_name: to_attr(prior[key_name])}
    try:
        if entry.get("delete") is not None:
            delete_item({"TableName": table, "Key": key, **condition})
        else:
            put_item({"TableName": table, "Item": to_item(entry["put"]), **condition})
    except ClientError as exc:
        if not condition_failed(exc):
            raise  # throttling or 5xx past botocore's retries: the stage is retried
        if not _already_applied(table, key, entry, tag):
            raise ConcurrentModification(
                f"a {logical} record changed while the import was running"
            ) from exc


def _patients_written(entry: Item) -> int:
    """Patients a plan entry of the patients table writes (created ones come as key lists)."""
    return len(entry["created"]) if "created" in entry else 1


def apply_stage(kind_name: str, file_id: int, chunk: int) -> Item:
    """Write one plan chunk: new items in batches, changed items conditionally on version."""
    holder = lock_holder(kind_name, file_id)
    refresh_lock(holder)
    for body in get_lines(creates_key(kind_name, file_id, chunk)):
        send_batch_write(body)
    entries = get_json(plan_key(kind_name, file_id, chunk))
    updates = [entry for entry in entries if "created" not in entry]
    if updates:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda e: _conditional_write(e, holder), updates))
    rows = sum(_patients_written(e) for e in entries if e["t"] == "patients")
    if rows:
        add_rows_processed(kind_name, file_id, rows)
    return {"chunk": chunk, "entries": len(entries)}
