"""Rollback, after any failure past validation: restore every changed item to its prior
image, delete what was created, put the id counters and list counts back, mark the file
failed, release the lock. Safe to run more than once."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError
from pynamodb.exceptions import PynamoDBException

from ecm.aws_errors import error_code
from ecm.clients import client
from ecm.errors import ApplyRunning
from ecm.faults import fault_point
from ecm.imports.records import mark_failed, update_import_file
from ecm.imports.results import load_failures
from ecm.imports.stages.finalize import apply_counts
from ecm.imports.stages.lock import keep_lock, release_lock
from ecm.imports.stages.work import (
    APPLY_SECONDS,
    NOT_IMPORTED,
    ROLLED_BACK,
    TABLE_KEYS,
    Item,
    announce,
    applying_key,
    load_file,
    lock_holder,
    planned_table,
    write_results,
)
from ecm.imports.work_area import get_json, manifest_key, plan_key, work_prefix
from ecm.kinds.plan_entry import CreatedItems, PlanEntry, load_entries
from ecm.kinds.registry import get_kind
from ecm.log import count_metric, logger
from ecm.models import MetaItem
from ecm.models.access import batch_read, condition_failed
from ecm.settings import get_settings
from ecm.store import batch_write, put_item, to_attr, to_item


def _restore(entry: PlanEntry, tag: str) -> bool:
    """Put one changed item back; False when someone changed it after this import."""
    table = planned_table(entry.table)
    prior = to_item(entry.prior or {})
    try:
        if entry.put is None:
            put_item(
                {
                    "TableName": table,
                    "Item": prior,
                    "ConditionExpression": "attribute_not_exists(#k)",
                    "ExpressionAttributeNames": {"#k": TABLE_KEYS[entry.table]},
                }
            )
        else:
            put_item(
                {
                    "TableName": table,
                    "Item": prior,
                    "ConditionExpression": "last_import = :t AND #v = :nv",
                    "ExpressionAttributeNames": {"#v": "version"},
                    "ExpressionAttributeValues": {
                        ":t": {"S": tag},
                        ":nv": to_attr(entry.put["version"]),
                    },
                }
            )
    except ClientError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def _restore_counters(record: Item) -> None:
    """Put each id counter back to its value before the import, on the condition that it
    still holds the import's last reservation. A counter another writer drew from since
    (``status_history``: PUT /patients draws without the import lock) stays as it is: its
    ids may be in use, and an id is never handed out twice (a gap is harmless)."""
    after = record.get("counters_after") or {}
    for name, before in (record.get("counters_before") or {}).items():
        counter = MetaItem(f"counter#{name}", value=int(before))
        last = after.get(name)
        condition = MetaItem.value == int(last) if last is not None else None
        try:
            if int(before) == 0:
                counter.delete(condition=condition)
            else:
                counter.save(condition=condition)
        except PynamoDBException as exc:
            if not condition_failed(exc):
                raise
            logger.info("id counter left as it is", extra={"counter": name})


def rollback_stage(kind_name: str, file_id: int, error: Item | None) -> Item:
    """Undo every write of this import and mark it failed. Safe to run more than once."""
    holder = lock_holder(kind_name, file_id)
    record = load_file(kind_name, file_id)
    if record["status"] == "failed" and record.get("stage") == "rolled_back":
        return {"status": "failed"}
    if record["status"] == "completed":
        # Finalize committed before the failure (its function died after writing
        # "completed"): the import stands; only the lock it may still hold is let go.
        release_lock(holder)
        logger.warning("rollback after completion", extra={"kind": kind_name, "file_id": file_id})
        return {"status": "completed"}
    if record.get("dry_run"):
        # A dry run wrote nothing (and held no lock): its plan must not be "undone".
        _rollback_results(kind_name, file_id, error)
        mark_failed(kind_name, file_id, _failure_messages(record, error), stage="rolled_back")
        announce(kind_name, file_id, "import.failed")
        return {"status": "failed", "restored": 0, "changed_since": 0}
    update_import_file(kind_name, file_id, stage="rolling_back")
    restored = skipped = 0
    manifest_chunks = _planned_chunks(kind_name, file_id)
    wait_for_apply(kind_name, file_id, manifest_chunks)
    for chunk in range(manifest_chunks):
        try:
            entries = get_json(plan_key(kind_name, file_id, chunk))
        except ClientError as exc:
            if error_code(exc) != "NoSuchKey":
                raise  # S3 busy: the chunk may be applied; the rollback is retried
            continue  # never planned, so never applied
        keep_lock(holder)
        deletes: dict[str, list[Item]] = {}
        changed: list[PlanEntry] = []
        for entry in load_entries(entries):
            if isinstance(entry, CreatedItems):
                key_name = TABLE_KEYS[entry.table]
                deletes.setdefault(entry.table, []).extend(
                    {"DeleteRequest": {"Key": {key_name: to_attr(value)}}} for value in entry.keys
                )
            else:
                changed.append(entry)
        # One conditional put per changed item, 8 at a time as apply writes them: a file of
        # 100k updates took 548 s restored one by one (benchmarks/), near Lambda's 900 s.
        with ThreadPoolExecutor(max_workers=8) as pool:
            for done in pool.map(lambda e: _restore(e, holder), changed):
                restored, skipped = restored + done, skipped + (not done)
        for logical, requests in deletes.items():
            batch_write(planned_table(logical), requests)
        fault_point("rollback", "chunk", chunk)
    _restore_counters(record)
    try:
        apply_counts(kind_name, file_id, get_json(manifest_key(kind_name, file_id)), undo=True)
    except ClientError as exc:
        if error_code(exc) != "NoSuchKey":
            raise  # no manifest: the plan never finished, no count was touched
    _rollback_results(kind_name, file_id, error)  # before the status, as in validate
    messages = _failure_messages(record, error)
    mark_failed(kind_name, file_id, messages, stage="rolled_back")
    release_lock(holder)
    announce(kind_name, file_id, "import.failed")
    count_metric("ImportsRolledBack", 1, kind=kind_name)
    logger.warning(
        "import rolled back",
        extra={
            "kind": kind_name,
            "file_id": file_id,
            "restored": restored,
            "changed_since": skipped,
            "error_type": (error or {}).get("Error"),
        },
    )
    return {"status": "failed", "restored": restored, "changed_since": skipped}


#: How often a rollback looks whether apply chunks of its import still run.
APPLY_POLL_SECONDS = 1.0


def wait_for_apply(kind_name: str, file_id: int, chunks: int) -> None:
    """Wait until no apply chunk of the import runs: when one chunk failed, the others'
    invocations go on, and a write of theirs after this rollback passed its item would stay
    applied. They stop at their next write (the file says ``rolling_back``); one that died
    holds its marker until the function's timeout. The markers go with the wait."""
    keys = [applying_key(kind_name, file_id, chunk) for chunk in range(chunks)]
    deadline = time.monotonic() + APPLY_SECONDS + 5
    while keys:
        markers = batch_read(MetaItem, keys)
        if all(int(m.get("expires_at") or 0) < time.time() for m in markers):
            for marker in markers:
                MetaItem(marker["pk"]).delete()  # a chunk that died left it
            return
        if time.monotonic() > deadline:
            raise ApplyRunning("an apply chunk of the import still runs")
        time.sleep(APPLY_POLL_SECONDS)


def _rollback_results(kind_name: str, file_id: int, error: Item | None) -> None:
    """Rows that failed keep their reasons; every other row was not imported, and says why."""
    failures = load_failures(kind_name, file_id)
    rejected = (error or {}).get("Error") == "ImportRejected"
    if failures:
        update_import_file(kind_name, file_id, records_failed=len(failures))
    if failures or not rejected:
        default = NOT_IMPORTED if rejected else ROLLED_BACK
        write_results(get_kind(kind_name), file_id, failures, None, "", default)


def _planned_chunks(kind: str, file_id: int) -> int:
    """How many plan chunks may exist: the manifest's count, or every one a crashed plan wrote."""
    paginator = client("s3").get_paginator("list_objects_v2")
    pages = paginator.paginate(
        Bucket=get_settings().files_bucket, Prefix=f"{work_prefix(kind, file_id)}plan-"
    )
    return sum(int(page.get("KeyCount", 0)) for page in pages)


def _failure_messages(record: Item, error: Item | None) -> list[str]:
    error = error or {}
    error_type = str(error.get("Error") or "ImportFailed")
    try:
        cause = json.loads(error.get("Cause") or "{}")
    except ValueError:
        cause = {}
    if error_type == "ImportRejected" and record.get("errors"):
        return list(record["errors"])
    detail = str(cause.get("errorMessage") or error_type)
    return [f"Import failed and was rolled back ({error_type}): {detail}"]
