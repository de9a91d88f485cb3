"""Prefix search over name, last name, member id and CIN: one page of matches and the exact
total, reading index entries (keys only) and the page's items only."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache, partial
from typing import Any

from ecm.models import Patient
from ecm.models.access import batch_read, count_query
from ecm.patients.items import SEARCH_INDEXES, search_partitions
from ecm.patients.reading import Item

#: Search queries (one per index and partition) run this many at a time, on threads kept
#: for the process's life (a warm Lambda reuses them).
SEARCH_WORKERS = 16


@cache
def _search_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=SEARCH_WORKERS, thread_name_prefix="search")


def _parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run independent DynamoDB reads concurrently (botocore clients are thread-safe)."""
    if len(calls) <= 1:
        return [call() for call in calls]
    return list(_search_pool().map(lambda call: call(), calls))


#: The search index of each field of SEARCH_INDEXES.
SEARCH_BY = {
    "name": Patient.search_by_name,
    "last": Patient.search_by_last,
    "member": Patient.search_by_member,
    "cin": Patient.search_by_cin,
}


def _starts_with(name: str, term: str) -> Any:
    return getattr(Patient, f"search_{name}").startswith(term)


def _count_partition(name: str, partition: str, term: str) -> tuple[int, int]:
    """(patients counted, entries matching) of one index partition for a folded term.

    An entry counts when this field is the first of the patient's fields (SEARCH_INDEXES
    order) the term matches (``search_<f>_from``, see ecm.patients.search_fields), so the
    sum over the indexes counts every matching patient once. Select=COUNT: DynamoDB reads
    the keys-only entries and returns two numbers.
    """
    counted_from = getattr(Patient, f"search_{name}_from")
    return count_query(
        SEARCH_BY[name], partition, _starts_with(name, term), counted_from <= len(term)
    )


def _first_entries(
    name: str, partitions: list[str], term: str, wanted: int | None
) -> list[tuple[str, int]]:
    """The first ``wanted`` (every, for None) matching entries of one index, as (range key,
    patient id) in key order: partitions are read in order, each only as far as needed."""
    found: list[tuple[str, int]] = []
    field = f"search_{name}"
    for partition in partitions:
        limit = None if wanted is None else wanted - len(found)
        entries = SEARCH_BY[name].query(
            partition, _starts_with(name, term), limit=limit, attributes_to_get=[field, "id"]
        )
        found.extend((str(getattr(entry, field)), int(entry.id)) for entry in entries)
        if wanted is not None and len(found) >= wanted:
            break
    return found


def _merge(entries: list[list[tuple[str, int]]]) -> list[int]:
    """Patient ids in search order: each at its smallest range key (the matched text, then
    its sort_name), once however many of its fields match."""
    best: dict[int, str] = {}
    for index_entries in entries:
        for key, patient_id in index_entries:
            if patient_id not in best or key < best[patient_id]:
                best[patient_id] = key
    return sorted(best, key=lambda i: (best[i], i))


def _patients_by_id(ids: list[int]) -> list[Item]:
    """The full items of ``ids``, in that order (BatchGetItem, 100 a call)."""
    by_id = {int(item["id"]): item for item in batch_read(Patient, ids)}
    return [by_id[i] for i in ids if i in by_id]


def search_page(term: str, page: int, per_page: int) -> tuple[list[Item], int]:
    """One page of a search in its default order, and the exact ``total_count``.

    The search indexes project keys only (and ``search_<f>_from``). The count reads the
    matching entries of every index with Select=COUNT, deduplicated by ``_from``. The page
    reads at most page·per_page entries per index (a patient in the first page·per_page
    results has its smallest key among the first page·per_page entries of its index, one
    entry per patient in each), skipping partitions the count found empty, merges them and
    reads the full items of that page only.
    """
    partitions = search_partitions(term)
    cells = [(name, partition) for name in SEARCH_INDEXES for partition in partitions]
    counts = _parallel([partial(_count_partition, name, part, term) for name, part in cells])
    total = sum(counted for counted, _ in counts)
    start, wanted = (page - 1) * per_page, page * per_page
    if start >= total:
        return [], total
    occupied = {cell for cell, (_, entries) in zip(cells, counts, strict=True) if entries}
    lists = _parallel(
        [
            partial(
                _first_entries,
                name,
                [p for p in partitions if (name, p) in occupied],
                term,
                wanted,
            )
            for name in SEARCH_INDEXES
        ]
    )
    return _patients_by_id(_merge(lists)[start:wanted]), total


def search_matches(term: str) -> list[Item]:
    """Every patient whose full name, last name, member id or CIN starts with ``term``, in
    search order: every matching index entry, then the full item of every match."""
    partitions = search_partitions(term)
    lists = _parallel(
        [partial(_first_entries, name, partitions, term, None) for name in SEARCH_INDEXES]
    )
    return _patients_by_id(_merge(lists))
