"""Waiting for the import lock (docs/inside/architecture.md): a waiting import starts within seconds
of the release, shows its place in line, and never fails for waiting while the holder is alive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecm.errors import LockHeld
from ecm.imports.records import create_import_file, get_import_file
from ecm.imports.stages.lock import (
    LOCK_SECONDS,
    QUEUE_ENTRY_SECONDS,
    QUEUE_KEY,
    join_queue,
    lock_stage,
    release_lock,
)
from ecm.imports.stages.work import lock_holder
from ecm.models.access import get
from ecm.models.meta import MetaItem

ASL = Path(__file__).parents[2] / "statemachine" / "import.asl.json"
#: Step Functions' limit on one execution's history; each retry adds about three events.
HISTORY_EVENTS = 25_000


def _lock_held_retry() -> dict[str, object]:
    states = json.loads(ASL.read_text())["States"]
    (retry,) = [r for r in states["Lock"]["Retry"] if r["ErrorEquals"] == ["LockHeld"]]
    return dict(retry)


def _waits(retry: dict[str, object]) -> list[float]:
    """Each retry's longest delay, as Step Functions computes it (before jitter)."""
    delay, rate = float(retry["IntervalSeconds"]), float(retry["BackoffRate"])  # type: ignore[arg-type]
    cap = float(retry["MaxDelaySeconds"])  # type: ignore[arg-type]
    waits = []
    for _ in range(int(retry["MaxAttempts"])):  # type: ignore[call-overload]
        waits.append(min(delay, cap))
        delay = min(delay * rate, cap)
    return waits


def test_a_waiting_import_asks_again_within_three_seconds() -> None:
    retry = _lock_held_retry()
    assert max(_waits(retry)) <= 3
    assert retry["JitterStrategy"] == "FULL"  # waiters released together do not ask together


def test_an_import_waits_out_several_lock_holders_and_stays_in_its_history_limit() -> None:
    retry = _lock_held_retry()
    # Full jitter halves the mean delay: even so, the waiting outlasts six imports that each
    # hold the lock as long as it can be held without a refresh.
    assert sum(_waits(retry)) / 2 >= 6 * LOCK_SECONDS
    assert int(retry["MaxAttempts"]) * 3 + 5_000 <= HISTORY_EVENTS  # type: ignore[call-overload]
    assert sum(_waits(retry)) < QUEUE_ENTRY_SECONDS


def _new_import(kind: str = "mif") -> int:
    return int(create_import_file(kind, "base64", "f.csv")["id"])


def _waiting(kind: str, file_id: int) -> tuple[str | None, int | None]:
    record = get_import_file(kind, file_id) or {}
    return record.get("stage"), record.get("queue_position")


def test_waiting_imports_show_their_place_by_arrival_and_move_up(tables: None) -> None:
    first, second, third = _new_import(), _new_import(), _new_import("authorization")
    assert lock_stage("mif", first) == {"locked": True}
    for file_id, kind in ((second, "mif"), (third, "authorization"), (second, "mif")):
        with pytest.raises(LockHeld):
            lock_stage(kind, file_id)
    # The second asked twice and kept its place; the third came after it.
    assert _waiting("mif", second) == ("waiting_for_lock", 1)
    assert _waiting("authorization", third) == ("waiting_for_lock", 2)

    release_lock(lock_holder("mif", first))
    assert lock_stage("authorization", third) == {"locked": True}  # whoever asks first
    assert _waiting("authorization", third) == ("locked", None)
    with pytest.raises(LockHeld):
        lock_stage("mif", second)
    assert _waiting("mif", second) == ("waiting_for_lock", 1)

    release_lock(lock_holder("authorization", third))
    assert lock_stage("mif", second) == {"locked": True}
    assert _waiting("mif", second) == ("locked", None)
    assert get(MetaItem, QUEUE_KEY) in (None, {"pk": QUEUE_KEY})  # nobody left in line


def test_an_import_that_ends_while_waiting_leaves_the_line(tables: None) -> None:
    holder, gone, waiting = _new_import(), _new_import(), _new_import()
    lock_stage("mif", holder)
    for file_id in (gone, waiting):
        with pytest.raises(LockHeld):
            lock_stage("mif", file_id)
    release_lock(lock_holder("mif", gone))  # its rollback releases a lock it never held
    assert (get(MetaItem, "lock#imports") or {}).get("holder") == lock_holder("mif", holder)
    with pytest.raises(LockHeld):
        lock_stage("mif", waiting)
    assert _waiting("mif", waiting) == ("waiting_for_lock", 1)


def test_a_stale_entry_is_not_counted_and_is_dropped(tables: None) -> None:
    now = 2_000_000_000 * 10**9
    assert join_queue("mif#1", now - (QUEUE_ENTRY_SECONDS + 1) * 10**9) == 1
    assert join_queue("mif#2", now) == 1  # the entry of an import long gone does not count
    entries = (get(MetaItem, QUEUE_KEY) or {}).get("waiting")
    assert entries is not None and sorted(entries) == [f"{now:020d}#mif#2"]
