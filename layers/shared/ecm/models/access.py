"""Reading and writing items through the models, for code that works on plain dicts.

The domain (matching, planning, response bodies) works on dicts, as the import stages'
bulk path does; these helpers turn a dict into its model and back losslessly (the models
declare every attribute: tests/unit/test_models.py) and give the few operations the API
side needs one spelling: a consistent get, capped batch reads, id counters, transactions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

from pynamodb.connection import Connection
from pynamodb.constants import COUNT
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import Index
from pynamodb.pagination import ResultIterator
from pynamodb.transactions import TransactWrite

from ecm import aws_errors
from ecm.clients import CALL_ATTEMPTS, drop_clients, instrument
from ecm.errors import ServiceBusy
from ecm.models.base import TableMeta, TableModel, drop_connections
from ecm.models.meta import MetaItem
from ecm.models.versions import read_version
from ecm.store import batch_get, from_item, to_item

Item = dict[str, Any]
M = TypeVar("M", bound=TableModel)

#: Commits of a transaction DynamoDB cancels for a conflict or throttling (nothing written).
TRANSACTION_ATTEMPTS = CALL_ATTEMPTS


def as_dict(model: TableModel) -> Item:
    """The item as a plain dict (numbers as int or float, maps and lists as dicts, lists);
    only what was read (a projection may leave out even the key)."""
    return from_item(model.serialize(null_check=False))


def as_model(model_class: type[M], item: Item) -> M:
    return model_class.from_raw_data(to_item(item))


def get(model_class: type[M], hash_key: Any, range_key: Any = None) -> Item | None:
    """A strongly consistent read of one item, as a dict; None when there is none."""
    try:
        return as_dict(model_class.get(hash_key, range_key, consistent_read=True))
    except DoesNotExist:
        return None


def batch_read(model_class: type[M], keys: Iterable[Any], consistent: bool = True) -> list[Item]:
    """Items by key (hash keys, or (hash, range) pairs), through the capped BatchGetItem of
    ``ecm.store`` (pynamodb's own loop over unprocessed keys has no cap)."""
    hash_attribute = model_class._hash_key_attribute()
    range_attribute = model_class._range_key_attribute()
    raw_keys = []
    for key in keys:
        hash_key, range_key = key if range_attribute else (key, None)
        hash_raw, range_raw = model_class._serialize_keys(hash_key, range_key)
        raw = {hash_attribute.attr_name: {hash_attribute.attr_type: hash_raw}}
        if range_attribute:
            raw[range_attribute.attr_name] = {range_attribute.attr_type: range_raw}
        raw_keys.append(raw)
    found = batch_get(model_class.Meta.table_name, raw_keys, consistent)
    return [as_dict(model_class.from_raw_data(item)) for item in found]


def all_items(results: Iterable[TableModel]) -> Iterator[Item]:
    """The dicts of a query's or scan's models."""
    return (as_dict(model) for model in results)


def count_query(
    index: Index[Any],
    hash_key: Any,
    range_key_condition: Condition | None = None,
    filter_condition: Condition | None = None,
) -> tuple[int, int]:
    """(items matching, entries read) of one index partition: a Select=COUNT query, as
    pynamodb's ``Model.count`` runs it, keeping DynamoDB's ScannedCount as well."""
    results: ResultIterator[Any] = ResultIterator(
        index._model._get_connection().query,
        (index._hash_key_attribute().serialize(hash_key),),
        {
            "range_key_condition": range_key_condition,
            "filter_condition": filter_condition,
            "index_name": index.Meta.index_name,
            "select": COUNT,
        },
    )
    list(results)
    return results.total_count, results.page_iter.total_scanned_count


def next_ids(counter: str, count: int = 1) -> tuple[int, int]:
    """Reserve ``count`` ids from ``counter#<counter>``: (value before, value after)."""
    item = MetaItem(f"counter#{counter}")
    item.update(actions=[MetaItem.value.add(count)])
    after = int(item.value or 0)
    return after - count, after


def next_record_id(model_class: type[M], partition: str) -> int:
    """The next dense id of a partition whose item 0 counts them (``last_id``)."""
    counter = model_class(partition, 0)
    counter.update(actions=[model_class.last_id.add(1)])  # type: ignore[attr-defined]
    return int(counter.last_id or 0)  # type: ignore[attr-defined]


def newest_first_page(
    model_class: type[M], partition: str, page: int, per_page: int
) -> tuple[list[Item], dict[str, int]]:
    """A page of a dense-id partition, newest first: the ids are known from the counter, so
    a page is one batch read whatever its number, and ``total_count`` is the counter."""
    counter = get(model_class, partition, 0)
    total = int(counter.get("last_id") or 0) if counter else 0
    newest = total - (page - 1) * per_page
    ids = list(range(newest, max(newest - per_page, 0), -1)) if newest > 0 else []
    items = batch_read(model_class, ((partition, i) for i in ids))
    items.sort(key=lambda item: -int(item["id"]))
    pagination = {
        "current_page": page,
        "total_pages": math.ceil(total / per_page) if total else 0,
        "total_count": total,
        "per_page": per_page,
    }
    return items, pagination


def set_attributes(item: TableModel, **fields: Any) -> None:
    """Set the given attributes of a stored item in one UpdateItem (None removes one):
    records written by several stages at once change only what each owns."""
    attributes = type(item).get_attributes()
    item.update(
        actions=[
            attributes[name].remove() if value is None else attributes[name].set(value)
            for name, value in fields.items()
        ]
    )


def condition_failed(exc: Exception) -> bool:
    """Did a write fail only because its condition did not hold (a version changed)? A
    transaction cancelled for a conflict or throttling did not (``ecm.aws_errors``)."""
    return aws_errors.condition_failed(exc)


@cache
def _made_connection() -> Connection:
    return Connection(
        max_retry_attempts=TableMeta.max_retry_attempts,
        max_pool_connections=TableMeta.max_pool_connections,
    )


def _connection() -> Connection:
    """The connection transactions go through, its client with the product's hooks."""
    connection = _made_connection()
    instrument(connection.client)
    return connection


def reset_clients() -> None:
    """Drop every client and connection made so far: the next call connects anew (tests
    and the local stack change the endpoint and the table names between stacks)."""
    drop_clients()
    drop_connections()
    _made_connection.cache_clear()


def put_versioned(
    writes: TransactWrite, model_class: type[M], item: Item, prior: Item | None
) -> None:
    """Put ``item`` (``versioned`` over ``prior``) in ``writes`` on the condition that the
    stored item is still at ``prior``'s version: pynamodb's version attribute conditions on
    the version it is given and writes the next one."""
    writes.save(as_model(model_class, {**item, "version": read_version(prior) or None}))


class _RetriedTransactWrite(TransactWrite):
    """A transaction DynamoDB cancelled only because another transaction held one of its
    items (``TransactionConflict``) or for throttling wrote nothing: it is sent again, as
    DynamoDB's guide says, with jittered backoff, a bounded number of times; then the
    caller gets ``ServiceBusy`` (503, or a stage retried later). A failed condition is the
    caller's to read, at once."""

    def _commit(self) -> Any:
        attempt = 0
        while True:
            try:
                return super()._commit()
            except TransactWriteError as exc:
                if not aws_errors.retryable_cancellation(exc):
                    raise
                attempt += 1
                if attempt == TRANSACTION_ATTEMPTS:
                    reasons = sorted(set(aws_errors.cancellation_codes(exc)) - {"None"})
                    raise ServiceBusy(
                        f"TransactWriteItems cancelled: {', '.join(reasons)}"
                    ) from None
                aws_errors.backoff(attempt - 1)


@contextmanager
def transaction() -> Iterator[TransactWrite]:
    """A TransactWriteItems of model writes, committed when the block ends (and committed
    again while DynamoDB cancels it for a conflict or throttling only)."""
    with _RetriedTransactWrite(connection=_connection()) as writes:
        yield writes
