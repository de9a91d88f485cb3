"""Apply: send one plan chunk, new items in batches, changed items conditional on the
version planned, so a concurrent change is detected, never overwritten.

A chunk says it runs (``applying#...``, until the function's timeout) and stops at its next
write once the import's rollback has begun: when one chunk of the Map fails, Step Functions
starts the rollback while the other chunks' invocations still run, and a write landing after
the rollback passed its item would stay. The rollback waits until no chunk runs
(``rollback.wait_for_apply``); a chunk that starts later sees the rollback and writes nothing.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from ecm.aws_errors import error_name
from ecm.errors import ConcurrentModification
from ecm.imports.records import add_rows_processed, get_import_file
from ecm.imports.stages.lock import refresh_lock
from ecm.imports.stages.work import (
    APPLY_SECONDS,
    ROLLING_BACK,
    TABLE_KEYS,
    Item,
    applying_key,
    lock_holder,
    planned_table,
)
from ecm.imports.work_area import creates_key, get_json, get_lines, plan_key
from ecm.kinds.plan_entry import CreatedItems, PlanEntry, StoredEntry, load_entries
from ecm.log import logger
from ecm.models import MetaItem
from ecm.models.access import condition_failed
from ecm.models.versions import version_condition
from ecm.store import delete_item, get_raw, put_item, send_batch_write, to_attr, to_item

#: Writes of one apply chunk in flight at once.
WRITERS = 8
#: How often a running chunk reads whether its import is being rolled back.
FENCE_SECONDS = 1.0


class RollbackFence:
    """Before a write: has the import's rollback begun (read at most once a second)?"""

    def __init__(self, kind: str, file_id: int) -> None:
        self.kind, self.file_id = kind, file_id
        self.lock = threading.Lock()
        self.read_at = -FENCE_SECONDS
        self.stopped = False

    def check(self) -> None:
        with self.lock:
            if not self.stopped and time.monotonic() - self.read_at >= FENCE_SECONDS:
                record = get_import_file(self.kind, self.file_id) or {}
                self.stopped = (
                    record.get("stage") in ROLLING_BACK or record.get("status") == "failed"
                )
                self.read_at = time.monotonic()
            if self.stopped:  # every write still queued in the chunk's pool stops too
                raise ConcurrentModification("the import is being rolled back")


def _already_applied(table: str, key: Item, entry: PlanEntry, tag: str) -> bool:
    current = get_raw(table, key)
    if entry.put is None:
        return current is None
    return (
        current is not None
        and current.get("last_import", {}).get("S") == tag
        and current.get("version") == to_attr(entry.put.get("version"))
    )


def _conditional_write(entry: PlanEntry, tag: str) -> None:
    """Write a change over the item it was planned on (``entry.prior``, never None here:
    new items go in batches)."""
    prior = entry.prior or {}
    table = planned_table(entry.table)
    key_name = TABLE_KEYS[entry.table]
    key = {key_name: to_attr(prior[key_name])}
    condition = version_condition(prior)
    try:
        if entry.put is None:
            delete_item({"TableName": table, "Key": key, **condition})
        else:
            put_item({"TableName": table, "Item": to_item(entry.put), **condition})
    except ClientError as exc:
        if not condition_failed(exc):
            raise  # throttling or 5xx past botocore's retries: the stage is retried
        if not _already_applied(table, key, entry, tag):
            raise ConcurrentModification(
                f"a {entry.table} record changed while the import was running"
            ) from exc


def _patients_written(entry: StoredEntry) -> int:
    """Rows a plan entry writes a patient for (created ones come as key lists; a member
    marked as left out of the file is no row of it)."""
    if entry.table != "patients":
        return 0
    if isinstance(entry, CreatedItems):
        return len(entry.keys)
    return 0 if entry.row is None else 1


def apply_stage(kind_name: str, file_id: int, chunk: int) -> Item:
    """Write one plan chunk: new items in batches, changed items conditionally on version."""
    holder = lock_holder(kind_name, file_id)
    refresh_lock(holder)
    running = applying_key(kind_name, file_id, chunk)
    # Said before the first look at the record: a rollback either sees this chunk and waits,
    # or began before that look and this chunk writes nothing.
    MetaItem(running, expires_at=int(time.time()) + APPLY_SECONDS).save()
    try:
        fence = RollbackFence(kind_name, file_id)
        fence.check()
        entries = _write_chunk(kind_name, file_id, chunk, holder, fence)
    finally:
        try:
            MetaItem(running).delete()
        except Exception as exc:  # it expires; the rollback then removes it
            logger.warning("apply marker left", extra={"error_type": error_name(exc)})
    rows = sum(_patients_written(e) for e in entries)
    if rows:
        add_rows_processed(kind_name, file_id, rows)
    return {"chunk": chunk, "entries": len(entries)}


def _write_chunk(
    kind_name: str, file_id: int, chunk: int, holder: str, fence: RollbackFence
) -> list[StoredEntry]:
    def create(body: bytes) -> None:
        fence.check()
        send_batch_write(body)

    def change(entry: PlanEntry) -> None:
        fence.check()
        _conditional_write(entry, holder)

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        # New items 8 batches at a time, as changed items are written: each batch waits out
        # its own throttling backoff instead of holding up the rest of the chunk.
        list(pool.map(create, get_lines(creates_key(kind_name, file_id, chunk))))
        entries = load_entries(get_json(plan_key(kind_name, file_id, chunk)))
        list(pool.map(change, [e for e in entries if isinstance(e, PlanEntry)]))
    return entries
