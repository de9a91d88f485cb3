"""The one import lock (imports of every kind touch patients), refreshed while a stage runs
and released at the end; a lock left by a dead import expires.

An import that finds the lock held waits in the state machine's Lock retry (a delay capped
at 3 s with full jitter, so it starts within seconds of the release) and meanwhile stands in
``lock#queue``: its file shows ``waiting_for_lock`` and ``queue_position``, 1 being next by
arrival. The lock goes to whichever waiter asks first after a release, so the position is
the order of arrival, which waiting imports keep closely but not strictly.
"""

from __future__ import annotations

import time

from pynamodb.exceptions import PynamoDBException

from ecm.errors import ConcurrentModification, LockHeld
from ecm.imports.records import update_import_file
from ecm.imports.stages.work import Item, lock_holder
from ecm.log import logger
from ecm.models import MetaItem
from ecm.models.access import condition_failed, get

LOCK_KEY = "lock#imports"
QUEUE_KEY = "lock#queue"
LOCK_SECONDS = 900
#: Longer than the Lock state's retries can wait (4,000 tries of at most 3 s): an entry this
#: old belongs to an import that is no longer waiting, and is not counted or kept.
QUEUE_ENTRY_SECONDS = 4 * 3600


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
            position = join_queue(holder, time.time_ns())
            update_import_file(
                kind_name, file_id, stage="waiting_for_lock", queue_position=position
            )
            raise LockHeld("another import is running") from exc
        raise
    leave_queue(holder)
    update_import_file(kind_name, file_id, stage="locked", queue_position=None)
    return {"locked": True}


def _queue_entries() -> set[str]:
    item = get(MetaItem, QUEUE_KEY)
    return set(item.get("waiting") or ()) if item is not None else set()


def join_queue(holder: str, now_ns: int) -> int:
    """Stand in line (once: a retry keeps its arrival) and answer the place, 1 being next.
    Arrival is in nanoseconds so that imports started in the same second keep their order."""
    entries = _queue_entries()
    mine = next((e for e in entries if e.split("#", 1)[1] == holder), None)
    oldest = now_ns - QUEUE_ENTRY_SECONDS * 1_000_000_000
    stale = {e for e in entries if int(e.split("#", 1)[0]) < oldest}
    if mine is None:
        mine = f"{now_ns:020d}#{holder}"
        MetaItem(QUEUE_KEY).update(actions=[MetaItem.waiting.add({mine})])
    if stale - {mine}:
        MetaItem(QUEUE_KEY).update(actions=[MetaItem.waiting.delete(stale - {mine})])
    ahead = {e for e in entries - stale if e < mine}
    return len(ahead) + 1


def leave_queue(holder: str) -> None:
    """Out of line once the lock is taken, or the import ends while waiting."""
    mine = {e for e in _queue_entries() if e.split("#", 1)[1] == holder}
    if mine:
        MetaItem(QUEUE_KEY).update(actions=[MetaItem.waiting.delete(mine)])


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
    leave_queue(holder)
    try:
        MetaItem(LOCK_KEY).delete(condition=MetaItem.holder == holder)
    except PynamoDBException as exc:
        if not condition_failed(exc):
            raise
