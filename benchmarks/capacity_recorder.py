"""The capacity benchmark's recorder: what every DynamoDB write of the product costs, where.

``Recorder.attach`` is given to ``ecm.clients.add_client_hook``, so it reaches every client
the product makes (boto3's and pynamodb's) with the product's own calls, retries and
prebuilt bodies. On each client it registers two botocore handlers: ``before-call`` (last,
after the product's own handler has put a prebuilt body in place) keeps the request's JSON
body, ``after-call`` reads the answer (a failed condition, the items a batch left
unprocessed) and accounts the write with ``capacity_rules``.

Before-images come from a shadow of each table built from the writes seen (the store starts
empty, and the benchmark seeds its own writes with ``seed``); after an UpdateItem the item is
read back with ``reader``, a client the hook is not on. Each write is put down to the Lambda
functions running when it was made (``Stages``): one import runs at a time, and its stages
run one after another (apply's chunks in parallel, all "Apply").
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from capacity_rules import (
    AttrItem,
    Image,
    TableSchema,
    Write,
    account,
    image,
    item_size,
    scalar,
)

WRITE_OPERATIONS = frozenset(
    ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
)
CONDITION_FAILED = "ConditionalCheckFailedException"
TRANSACTION_CANCELED = "TransactionCanceledException"
_REQUEST = "capacity_benchmark_request"
Handler = Callable[[Any, Any], Any]


class Tally:
    """Write units per (table, index) and partition key, and the number of writes."""

    def __init__(self) -> None:
        self.units: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        self.writes: Counter[tuple[str, str]] = Counter()

    def add(self, writes: Iterable[Write]) -> None:
        for write in writes:
            self.units[write.table, write.index][write.partition] += write.units
            self.writes[write.table, write.index] += 1

    def merge(self, other: Tally) -> None:
        for place, units in other.units.items():
            self.units[place].update(units)
        self.writes.update(other.writes)

    def total(self) -> int:
        return sum(sum(units.values()) for units in self.units.values())


class Stages:
    """Which of the stack's Lambda functions are running (the handlers ``wrap`` returns).

    ``steps``: the functions the state machines run (the import stages); while one runs, the
    others (the API and its authorizer, answering the benchmark's polls) are left out.
    """

    def __init__(self, steps: Iterable[str] = ()) -> None:
        self.steps = {name.removesuffix("Function") for name in steps}
        self._active: Counter[str] = Counter()
        self._lock = threading.Lock()

    def wrap(self, name: str, handler: Handler) -> Handler:
        label = name.removesuffix("Function")

        def run(event: Any, context: Any) -> Any:
            with self._lock:
                self._active[label] += 1
            try:
                return handler(event, context)
            finally:
                with self._lock:
                    self._active[label] -= 1

        return run

    def current(self) -> str:
        """The running functions ("other" when none runs): the import stages if any."""
        with self._lock:
            names = sorted(name for name, count in self._active.items() if count)
        return "+".join([name for name in names if name in self.steps] or names) or "other"


class Recorder:
    def __init__(self, schemas: dict[str, TableSchema], reader: Any, stages: Stages) -> None:
        self.schemas = schemas
        self.reader = reader  # a DynamoDB client without the hook, for read-backs
        self.stages = stages
        self.lock = threading.Lock()
        self.shadow: dict[tuple[str, str], Image] = {}
        self.tallies: dict[str, Tally] = {}
        self.calls: Counter[str] = Counter()
        self.errors: list[str] = []

    # --- botocore ---------------------------------------------------------------------
    def attach(self, client: Any) -> None:
        if client.meta.service_model.service_name != "dynamodb":
            return
        client.meta.events.register_last("before-call.dynamodb", self._before)
        client.meta.events.register_last("after-call.dynamodb", self._after)

    def _before(
        self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        if model.name in WRITE_OPERATIONS:
            context[_REQUEST] = orjson.loads(params["body"])

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        request = context.pop(_REQUEST, None)
        if request is None:
            return
        error = (parsed.get("Error") or {}).get("Code")
        try:
            self.record(model.name, request, parsed, error)
        except Exception as exc:  # never fail the product's call; the report lists it
            with self.lock:
                self.errors.append(f"{model.name}: {type(exc).__name__}: {exc}")

    # --- what a call wrote ------------------------------------------------------------
    def record(
        self, operation: str, request: dict[str, Any], parsed: Any, error: str | None
    ) -> None:
        stage = self.stages.current()
        with self.lock:
            self.calls[operation if not error else f"{operation} ({error})"] += 1
        if operation == "BatchWriteItem":
            if not error:
                self._batch(stage, request, parsed.get("UnprocessedItems") or {})
            return
        if operation == "TransactWriteItems":
            if error in (None, TRANSACTION_CANCELED):
                for action in request["TransactItems"]:
                    ((kind, body),) = action.items()
                    self._single(stage, kind, body, error is not None, transactional=True)
            return
        if error in (None, CONDITION_FAILED):
            kind = {"PutItem": "Put", "UpdateItem": "Update", "DeleteItem": "Delete"}[operation]
            self._single(stage, kind, request, error is not None)

    def _single(
        self, stage: str, kind: str, body: dict[str, Any], failed: bool, transactional: bool = False
    ) -> None:
        table = body["TableName"]
        if kind == "Put":
            self.apply(
                stage, table, body["Item"], body["Item"], failed=failed, transactional=transactional
            )
            return
        key = body["Key"]
        if kind == "Update" and not failed:
            after = self.reader.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
            self.apply(stage, table, key, after, transactional=transactional, update=True)
        else:  # a delete, a failed update, or a transaction's ConditionCheck (writes nothing)
            failed = failed or kind != "Delete"
            self.apply(stage, table, key, None, failed=failed, transactional=transactional)

    def _batch(self, stage: str, request: dict[str, Any], unprocessed: dict[str, Any]) -> None:
        left = {
            (table, self.schemas[table].ident(_item_or_key(entry)))
            for table, entries in unprocessed.items()
            for entry in entries
        }
        for table, entries in request["RequestItems"].items():
            for entry in entries:
                key = _item_or_key(entry)
                if (table, self.schemas[table].ident(key)) in left:
                    continue  # not written: the product sends it again
                self.apply(stage, table, key, key if "PutRequest" in entry else None)

    def apply(
        self,
        stage: str,
        table_name: str,
        key: AttrItem,
        after_item: AttrItem | None,
        *,
        failed: bool = False,
        transactional: bool = False,
        update: bool = False,
    ) -> list[Write]:
        """Account one item change and keep the shadow. ``after_item``: the stored item after
        (None: deleted); for a failed write, the item it tried to put, if any."""
        table = self.schemas[table_name]
        ident, partition = table.ident(key), scalar(key[table.keys[0]])
        after = image(table, after_item) if after_item is not None and not failed else None
        new_size = item_size(after_item) if failed and after_item is not None else 0
        with self.lock:
            before = self.shadow.get((table_name, ident))
            if update and after is None:
                after = before  # gone by the read-back: assume the update changed nothing
            writes = account(
                table,
                partition,
                before,
                after,
                failed=failed,
                new_size=new_size,
                transactional=transactional,
            )
            if not failed:
                if after is None:
                    self.shadow.pop((table_name, ident), None)
                else:
                    self.shadow[table_name, ident] = after
            self.tallies.setdefault(stage, Tally()).add(writes)
        return writes

    # --- the benchmark's side ---------------------------------------------------------
    def seed(self, table_name: str, item: AttrItem) -> None:
        """An item the benchmark itself wrote (not counted): later writes see it as before."""
        table = self.schemas[table_name]
        with self.lock:
            self.shadow[table_name, table.ident(item)] = image(table, item)

    def unseed(self, table_name: str, key: AttrItem) -> None:
        with self.lock:
            self.shadow.pop((table_name, self.schemas[table_name].ident(key)), None)

    def check(self, items: int = 200) -> list[str]:
        """Compare the shadow with the store: the first ``items`` of each table, read with
        the client the hook is not on, must have the size and index entries the shadow has
        (the before-images every count relies on)."""
        wrong = []
        for name, table in self.schemas.items():
            found = self.reader.scan(TableName=name, Limit=items, ConsistentRead=True)["Items"]
            with self.lock:
                differ = sum(
                    self.shadow.get((name, table.ident(item))) != image(table, item)
                    for item in found
                )
            if differ:
                wrong.append(
                    f"{name}: {differ} of {len(found)} stored items differ from the shadow"
                )
        return wrong

    def take(self) -> tuple[dict[str, Tally], Counter[str], list[str]]:
        """What was recorded since the last call (tallies by stage, calls, errors)."""
        with self.lock:
            taken = self.tallies, self.calls, self.errors
            self.tallies, self.calls, self.errors = {}, Counter(), []
        return taken


def _item_or_key(entry: dict[str, Any]) -> AttrItem:
    if "PutRequest" in entry:
        item: AttrItem = entry["PutRequest"]["Item"]
        return item
    key: AttrItem = entry["DeleteRequest"]["Key"]
    return key
