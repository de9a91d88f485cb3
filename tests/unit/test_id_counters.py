"""Id counters after a rollback (docs/inside/architecture.md): an id is never handed out twice.

A rollback puts the counters an import drew from back to their value before it, but only
when nobody drew from them since: PUT /patients takes status-history ids without the import
lock, so rewinding that counter under it would hand its ids out again.
"""

from __future__ import annotations

from ecm.imports.records import create_import_file, get_import_file
from ecm.imports.stages.plan import DynamoLookup
from ecm.imports.stages.rollback import _restore_counters
from ecm.models.access import get, next_ids
from ecm.models.meta import MetaItem


def _counter(name: str) -> int | None:
    item = get(MetaItem, f"counter#{name}")
    return None if item is None else int(item["value"])


def _import_reserving(counter: str, counts: list[int]) -> tuple[int, list[int]]:
    record = create_import_file("authorization", "base64", "a.xlsx")
    lookup = DynamoLookup("authorization", int(record["id"]))
    firsts = [lookup.reserve(counter, n) for n in counts]
    return int(record["id"]), firsts


def test_a_counter_nobody_else_drew_from_is_put_back(tables: None) -> None:
    next_ids("status_history", 5)  # ids 1-5 handed out before the import
    file_id, firsts = _import_reserving("status_history", [3, 2])
    assert firsts == [6, 9] and _counter("status_history") == 10
    _restore_counters(get_import_file("authorization", file_id) or {})
    assert _counter("status_history") == 5


def test_a_counter_that_started_with_the_import_is_removed(tables: None) -> None:
    file_id, _ = _import_reserving("authorization", [4])
    _restore_counters(get_import_file("authorization", file_id) or {})
    assert _counter("authorization") is None


def test_a_counter_drawn_from_meanwhile_is_left_and_no_id_is_issued_twice(tables: None) -> None:
    file_id, firsts = _import_reserving("status_history", [3])  # the import holds 1-3
    _, put_id = next_ids("status_history")  # a PUT /patients meanwhile: id 4
    assert (firsts, put_id) == ([1], 4)
    _restore_counters(get_import_file("authorization", file_id) or {})
    assert _counter("status_history") == 4  # not rewound to 0
    _, after = next_ids("status_history")
    assert after == 5  # 4 is not handed out again
    issued = [1, 2, 3, put_id, after]
    assert len(issued) == len(set(issued))


def test_rollback_twice_is_harmless(tables: None) -> None:
    next_ids("patient", 2)
    file_id, _ = _import_reserving("patient", [10])
    record = get_import_file("authorization", file_id) or {}
    _restore_counters(record)
    _restore_counters(record)  # a retried rollback: the counter no longer holds 12
    assert _counter("patient") == 2
