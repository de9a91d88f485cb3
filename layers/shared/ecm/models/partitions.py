"""Reading one ordered list kept under several partition keys of an index.

The patients' lists and search indexes are sharded (ecm.patients.index_fields): one list is
``SHARDS`` sorted partitions. A page of it is the first entries of their merge. Each
partition is read a page at a time; the first page of every partition is read at once (on
a thread pool, as botocore clients are thread-safe), and the merge asks a partition for
its next page only when it runs out before the caller has enough. With pages of about twice
a partition's share of what is wanted, a list's page reads about twice its entries plus a
few per partition, almost always in one round of queries, whatever the list's size.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from itertools import islice
from typing import Any, TypeVar

from pynamodb.expressions.condition import Condition
from pynamodb.indexes import Index

from ecm.models.access import as_dict

Item = dict[str, Any]
T = TypeVar("T")

#: Partition reads running at once, on threads kept for the process's life (a warm Lambda
#: reuses them).
READ_WORKERS = 16


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=READ_WORKERS, thread_name_prefix="partitions")


def in_parallel(calls: list[Callable[[], T]]) -> list[T]:
    """Run independent DynamoDB reads at once; their answers in the calls' order."""
    if len(calls) <= 1:
        return [call() for call in calls]
    return list(_pool().map(lambda call: call(), calls))


def page_size_for(wanted: int, partitions: int) -> int:
    """Entries asked of each partition per query when ``wanted`` are wanted in all: twice
    a partition's even share, plus a margin, so one round almost always suffices."""
    return 2 * math.ceil(wanted / partitions) + 4


@dataclass
class PartitionStream:
    """One partition of an index, in range-key order, read a page at a time (``page_size``
    None: DynamoDB's own pages, up to 1 MB each, until the partition ends)."""

    index: Index[Any]
    hash_key: Any
    range_key_condition: Condition | None = None
    page_size: int | None = None
    attributes: list[str] | None = None
    entries_read: list[Item] = field(default_factory=list)
    _last_key: Item | None = None
    _started: bool = False

    def fetch(self) -> PartitionStream:
        """Read the next page (all of the partition when there is no page size)."""
        results = self.index.query(
            self.hash_key,
            self.range_key_condition,
            limit=self.page_size,
            page_size=self.page_size,
            last_evaluated_key=self._last_key,
            attributes_to_get=self.attributes,
        )
        self.entries_read.extend(as_dict(model) for model in results)
        self._last_key = results.last_evaluated_key
        self._started = True
        return self

    @property
    def started(self) -> bool:
        return self._started

    @property
    def exhausted(self) -> bool:
        """Every entry of the partition has been read."""
        return self._started and self._last_key is None

    def entries(self) -> Iterator[Item]:
        position = 0
        if not self._started:
            self.fetch()
        while True:
            while position < len(self.entries_read):
                yield self.entries_read[position]
                position += 1
            if self._last_key is None:
                return
            self.fetch()


def merged(streams: list[PartitionStream], order: Callable[[Item], Any]) -> Iterator[Item]:
    """The entries of several partitions in one order: the first page of each partition not
    read yet is read at once, then each next page only when the merge reaches it."""
    in_parallel([stream.fetch for stream in streams if not stream.started])
    return heapq.merge(*(stream.entries() for stream in streams), key=order)


def first_entries(
    index: Index[Any],
    hash_keys: list[Any],
    order: Callable[[Item], Any],
    wanted: int | None,
    range_key_condition: Condition | None = None,
    attributes: list[str] | None = None,
) -> list[Item]:
    """The first ``wanted`` entries (every one, for None) of the merged partitions."""
    size = None if wanted is None else page_size_for(wanted, len(hash_keys))
    streams = [
        PartitionStream(index, key, range_key_condition, size, attributes) for key in hash_keys
    ]
    return list(islice(merged(streams, order), wanted))
