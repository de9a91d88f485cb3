"""The one import lock (imports of every kind touch patients), refreshed while a stage runs
and released at the end; a lock left by a dead import expires."""

from __future__ import annotations

import time

from pynamodb.exceptions import PynamoDBException

from ecm.errors import ConcurrentModification, LockHeld
from ecm.imports.records import update_import_file
from ecm.imports.stages.work import Item, lock_holder
from ecm.log import logger
from ecm.models import MetaItem
from ecm.models.access import condition_failed

LOCK_KEY = "lock#imports"
LOCK_SECONDS = 900


def lock_stage(kind_name: str, file_id: int) -> Item:
    """Take the one import lock (imports of every kind touch patients). Raises LockHeld."""
    holder = lock_holder(kind_name, file_id)
    now = int(time.time())
    try:
        MetaItem(LOCK_KEY, holder=holder, expires_at=now + LOCK_SECONDS).save(
            condition=MetaItem.pk.does_not_exist()
            | (MetaItem.holder == holder)
            | (MetaItem.expires_at < now)
        )
    except PynamoDBException as exc:
        if condition_failed(exc):
            update_import_file(kind_name, file_id, stage="waiting_for_lock")
            raise LockHeld("another import is running") from exc
        raise
    update_import_file(kind_name, file_id, stage="locked")
    return {"locked": True}


def refresh_lock(holder: str) -> None:
    try:
        MetaItem(LOCK_KEY).update(
            actions=[MetaItem.expires_at.set(int(time.time()) + LOCK_SECONDS)],
            condition=MetaItem.holder == holder,
        )
    except PynamoDBException as exc:
        if condition_failed(exc):
            raise ConcurrentModification("the import lock was lost") from exc
        raise


def keep_lock(holder: str) -> None:
    """Rollback refreshes the lock per chunk but never stops for it: every restore is
    conditional on the item still being this import's, so finishing is always right."""
    try:
        refresh_lock(holder)
    except ConcurrentModification:
        logger.warning("rollback continues without the lock", extra={"holder": holder})


def release_lock(holder: str) -> None:
    try:
        MetaItem(LOCK_KEY).delete(condition=MetaItem.holder == holder)
    except PynamoDBException as exc:
        if not condition_failed(exc):
            raise
