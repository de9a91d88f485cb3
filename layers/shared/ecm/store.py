"""S3 links, and the import stages' bulk DynamoDB path: items in attribute-value form,
batches.

The API side goes through the pynamodb models (ecm.models); the import stages write hundreds
of thousands of items, kept here as plain ``{"S": ...}`` attribute values (the models'
serialisation costs ~160 µs an item; tests/unit/test_models.py proves the two equal).
Every call goes through boto3's low-level client (ecm.clients: botocore's standard retry
mode); batch calls also retry what DynamoDB leaves unprocessed, a bounded number of
times, backing off with jitter.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from ecm.clients import PREBUILT_BODY, client
from ecm.errors import BatchIncomplete
from ecm.settings import get_settings

Item = dict[str, Any]
AttrItem = dict[str, dict[str, Any]]

#: Batch calls sent per batch while DynamoDB answers with unprocessed items, before the
#: stage fails (and the import rolls back) instead of spinning until Lambda's timeout.
BATCH_ATTEMPTS = 8
_BACKOFF_SECONDS = 0.05
_MAX_BACKOFF_SECONDS = 2.0
#: Calls of one large batch write in flight at once (``batch_write``).
BATCH_WRITERS = 8


#: Presigned download links expire after 30 minutes (docs/api/mif-imports.md).
PRESIGN_SECONDS = 1800


def presigned_get(key: str, seconds: int = PRESIGN_SECONDS) -> str:
    """A presigned GET of one object of the files bucket (file_url, result and errors files)."""
    return str(
        client("s3").generate_presigned_url(
            "get_object",
            Params={"Bucket": get_settings().files_bucket, "Key": key},
            ExpiresIn=seconds,
        )
    )


def to_attr(value: Any) -> dict[str, Any]:
    kind = type(value)
    if kind is str:
        return {"S": value}
    if value is None:
        return {"NULL": True}
    if kind is bool:
        return {"BOOL": value}
    if kind is int or kind is float:
        return {"N": str(value)}
    if kind is dict:
        return {"M": to_item(value)}
    if kind is list or kind is tuple:
        return {"L": [to_attr(v) for v in value]}
    raise TypeError(f"cannot store {kind.__name__}")


def to_item(values: Item) -> AttrItem:
    """An item (or map) in attribute-value form. An attribute whose value is None is left
    out, as the models' serialisation leaves it out: an item reads the same, whichever
    path wrote it (tests/unit/test_models.py)."""
    # Strings inline: most attributes are, and imports convert millions of them.
    return {
        k: {"S": v} if type(v) is str else to_attr(v) for k, v in values.items() if v is not None
    }


def from_attr(attr: dict[str, Any]) -> Any:
    ((kind, value),) = attr.items()
    if kind == "S":
        return value
    if kind == "N":
        return float(value) if ("." in value or "e" in value or "E" in value) else int(value)
    if kind == "NULL":
        return None
    if kind == "BOOL":
        return value
    if kind == "M":
        return {k: from_attr(v) for k, v in value.items()}
    if kind == "L":
        return [from_attr(v) for v in value]
    if kind == "NS":
        return sorted(int(v) for v in value)
    if kind == "SS":
        return sorted(value)
    raise TypeError(f"unsupported attribute type {kind}")


def from_item(item: AttrItem) -> Item:
    return {k: from_attr(v) for k, v in item.items()}


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batch_write_bodies(table: str, requests: Sequence[dict[str, Any]]) -> list[bytes]:
    """BatchWriteItem JSON bodies of 25 requests at most (AWS's limit; moto accepts more)."""
    return [orjson.dumps({"RequestItems": {table: list(group)}}) for group in _chunks(requests, 25)]


def batch_write(table: str, requests: Sequence[dict[str, Any]]) -> None:
    """Every request, 25 a call, ``BATCH_WRITERS`` calls in flight: a throttled batch waits
    out its own backoff instead of holding up the rest (a rollback deletes thousands)."""
    groups = [{table: list(group)} for group in _chunks(requests, 25)]
    if len(groups) <= 1:
        for group in groups:
            write_batch(group)
        return
    with ThreadPoolExecutor(max_workers=min(BATCH_WRITERS, len(groups))) as pool:
        list(pool.map(write_batch, groups))


#: ``batch_write_bodies`` writes one table per body, its name first.
_BODY_HEAD = b'{"RequestItems":{"'


def send_batch_write(body: bytes) -> None:
    """One BatchWriteItem of ``batch_write_bodies``, sent as it is; what DynamoDB leaves
    unprocessed goes through ``write_batch``."""
    table = body[len(_BODY_HEAD) : body.index(b'"', len(_BODY_HEAD))].decode()
    answer = client("dynamodb").batch_write_item(RequestItems={table: []}, **{PREBUILT_BODY: body})
    pending = answer.get("UnprocessedItems")
    if pending:
        _backoff(0)
        write_batch(pending, first_attempt=1)


def _backoff(attempt: int) -> None:
    """Full jitter: writers that were throttled together do not come back together."""
    time.sleep(random.uniform(0, min(_MAX_BACKOFF_SECONDS, _BACKOFF_SECONDS * 2**attempt)))  # noqa: S311


def write_batch(request_items: dict[str, Any], first_attempt: int = 0) -> None:
    """BatchWriteItem, sending what DynamoDB leaves unprocessed again (``BATCH_ATTEMPTS``)."""
    pending = request_items
    for attempt in range(first_attempt, BATCH_ATTEMPTS):
        pending = client("dynamodb").batch_write_item(RequestItems=pending).get("UnprocessedItems")
        if not pending:
            return
        _backoff(attempt)
    raise BatchIncomplete(f"BatchWriteItem left items unprocessed after {BATCH_ATTEMPTS} attempts")


#: Groups of one large batch read in flight at once: each waits out its own backoff (a
#: throttled group used to hold up every group after it).
BATCH_READERS = 8


def batch_get(table: str, keys: Iterable[AttrItem], consistent: bool = True) -> list[AttrItem]:
    """BatchGetItem in groups of 100, following UnprocessedKeys; raw attribute items.
    Consistent unless asked otherwise (a page listed from an index, itself eventually
    consistent, reads its items at half the cost)."""
    unique = list({orjson.dumps(key, option=orjson.OPT_SORT_KEYS): key for key in keys}.values())
    groups = [list(group) for group in _chunks(unique, 100)]
    if len(groups) <= 1:
        return [item for group in groups for item in _batch_get_group(table, group, consistent)]
    with ThreadPoolExecutor(max_workers=min(BATCH_READERS, len(groups))) as pool:
        found = pool.map(lambda group: _batch_get_group(table, group, consistent), groups)
        return [item for items in found for item in items]


def _batch_get_group(table: str, group: list[AttrItem], consistent: bool) -> list[AttrItem]:
    found: list[AttrItem] = []
    pending: dict[str, Any] = {table: {"Keys": group, "ConsistentRead": consistent}}
    for attempt in range(BATCH_ATTEMPTS):
        response = client("dynamodb").batch_get_item(RequestItems=pending)
        found.extend(response["Responses"].get(table, []))
        pending = response.get("UnprocessedKeys") or {}
        if not pending:
            return found
        _backoff(attempt)
    raise BatchIncomplete(f"BatchGetItem left keys unprocessed after {BATCH_ATTEMPTS} attempts")


def put_item(params: Item) -> None:
    """PutItem with a prebuilt body (``Item`` already in attribute form); ClientError as usual."""
    client("dynamodb").put_item(
        TableName=params["TableName"], **{PREBUILT_BODY: orjson.dumps(params)}
    )


def delete_item(params: Item) -> None:
    """DeleteItem with its key and condition already in attribute form."""
    client("dynamodb").delete_item(**params)


def get_raw(table: str, key: AttrItem) -> AttrItem | None:
    """A consistent GetItem, the item left in attribute form (for comparing versions)."""
    found: AttrItem | None = (
        client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    )
    return found
