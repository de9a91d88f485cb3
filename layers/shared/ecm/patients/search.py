"""Prefix search over name, last name, member id and CIN: one page of matches and the exact
total, reading index entries (keys only) and the page's items only.

Each search index is sharded by patient id (ecm.patients.index_fields): a term's matches
are in every shard, each shard in the index's order, so a page merges the shards' streams
of matching entries, then the four indexes' merged streams."""

from __future__ import annotations

from functools import partial
from itertools import islice
from typing import Any

from ecm.models import Patient
from ecm.models.access import count_query
from ecm.models.partitions import PartitionStream, in_parallel, merged, page_size_for
from ecm.patients.index_fields import SEARCH_INDEXES, search_shards
from ecm.patients.reading import Item, patients_by_id

#: The search index of each field of SEARCH_INDEXES.
SEARCH_BY = {
    "name": Patient.search_by_name,
    "last": Patient.search_by_last,
    "member": Patient.search_by_member,
    "cin": Patient.search_by_cin,
}


def _starts_with(name: str, term: str) -> Any:
    return getattr(Patient, f"search_{name}").startswith(term)


def _counted_from(name: str) -> Any:
    return getattr(Patient, f"search_{name}_from")


def _streams(name: str, term: str, page_size: int | None) -> list[PartitionStream]:
    """One stream per shard of a field's index: its entries matching ``term``."""
    return [
        PartitionStream(
            SEARCH_BY[name],
            shard,
            _starts_with(name, term),
            page_size,
            [f"search_{name}", f"search_{name}_from", "id"],
        )
        for shard in search_shards()
    ]


def _counted(name: str, stream: PartitionStream, term: str) -> int:
    """Patients one shard of one index counts for ``term``.

    An entry counts when this field is the first of the patient's fields (SEARCH_INDEXES
    order) the term matches (``search_<f>_from``, see ecm.patients.index_fields), so the
    sum over the indexes counts every matching patient once. A shard whose matches all came
    with the page is counted from them; any other by a Select=COUNT query (DynamoDB reads
    the keys-only entries and returns two numbers).
    """
    if stream.exhausted:
        field = f"search_{name}_from"
        return sum(1 for entry in stream.entries_read if int(entry[field]) <= len(term))
    counted, _ = count_query(
        SEARCH_BY[name], stream.hash_key, _starts_with(name, term), _counted_from(name) <= len(term)
    )
    return counted


def _merge(entries: dict[str, list[Item]]) -> list[int]:
    """Patient ids in search order: each at its smallest range key (the matched text, then
    its sort_name), once however many of its fields match."""
    best: dict[int, str] = {}
    for name, index_entries in entries.items():
        for entry in index_entries:
            key, patient_id = str(entry[f"search_{name}"]), int(entry["id"])
            if patient_id not in best or key < best[patient_id]:
                best[patient_id] = key
    return sorted(best, key=lambda i: (best[i], i))


def _first(name: str, streams: list[PartitionStream], wanted: int | None) -> list[Item]:
    """The first ``wanted`` (every, for None) matching entries of one index, in its order."""
    return list(islice(merged(streams, lambda entry: entry[f"search_{name}"]), wanted))


def search_page(term: str, page: int, per_page: int) -> tuple[list[Item], int]:
    """One page of a search in its default order, and the exact ``total_count``.

    The search indexes project keys only (and ``search_<f>_from``). Every shard of every
    index is read once for its first entries; the count adds up what they hold where that
    was the whole shard, and counts the rest with Select=COUNT. A patient in the first
    page·per_page results has its smallest key among the first page·per_page entries of
    its own index (one entry per patient in each), so each index's merged shards are read
    that far, merged, and only the page's patients are read whole (one BatchGetItem).
    """
    start, wanted = (page - 1) * per_page, page * per_page
    size = page_size_for(wanted, len(search_shards()))
    streams = {name: _streams(name, term, size) for name in SEARCH_INDEXES}
    in_parallel([stream.fetch for shards in streams.values() for stream in shards])
    counts = in_parallel(
        [
            partial(_counted, name, stream, term)
            for name, shards in streams.items()
            for stream in shards
        ]
    )
    total = sum(counts)
    if start >= total:
        return [], total
    ids = _merge({name: _first(name, streams[name], wanted) for name in SEARCH_INDEXES})
    return patients_by_id(ids[start:wanted]), total


def search_matches(term: str) -> list[Item]:
    """Every patient whose full name, last name, member id or CIN starts with ``term``, in
    search order: every matching index entry, then the full item of every match."""
    streams = {name: _streams(name, term, None) for name in SEARCH_INDEXES}
    in_parallel([stream.fetch for shards in streams.values() for stream in shards])
    return patients_by_id(
        _merge({name: _first(name, streams[name], None) for name in SEARCH_INDEXES})
    )
