"""DynamoDB and S3 access shared by every module: clients, item (de)serialisation, batches.

Items are plain ``{"S": ...}`` attribute values, never boto3's resource layer: imports write
hundreds of thousands of them. Bulk calls (batch writes and reads, PutItem) go through
``ecm.dynamodb_http``; everything else through the low-level botocore client.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from typing import Any

import boto3
import orjson
from botocore.config import Config

from ecm import dynamodb_http
from ecm.settings import get_settings

Item = dict[str, Any]
AttrItem = dict[str, dict[str, Any]]

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 6},
    parameter_validation=False,
    max_pool_connections=32,
    # No CRC32 over every request and response body unless the API requires it: imports
    # move hundreds of MB through S3 and DynamoDB, and TLS already protects them in transit.
    request_checksum_calculation="when_required",
    response_checksum_validation="when_required",
)


_S3_CONFIG = _CONFIG.merge(Config(signature_version="s3v4", s3={"addressing_style": "path"}))


@cache
def client(service: str) -> Any:
    config = _S3_CONFIG if service == "s3" else _CONFIG
    return boto3.client(service, config=config)  # type: ignore[call-overload]


def dynamodb_call(operation: str, body: Item) -> Item:
    """One DynamoDB call with ``body`` as its whole JSON request (attribute-value form),
    for the bulk paths: see ``ecm.dynamodb_http`` for why it bypasses botocore's client."""
    return dynamodb_http.call(client("dynamodb"), operation, body)


def reset_clients() -> None:
    """Drop cached clients (tests change the endpoint between stacks)."""
    client.cache_clear()
    dynamodb_http.drop_connection()


#: Presigned download links expire after 30 minutes (seed 000).
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
    # Strings inline: most attributes are, and imports convert millions of them.
    return {k: {"S": v} if type(v) is str else to_attr(v) for k, v in values.items()}


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
    for body in batch_write_bodies(table, requests):
        send_batch_write(body)


def send_batch_write(body: bytes) -> None:
    """One BatchWriteItem of ``batch_write_bodies``; unprocessed items are sent again."""
    _write_unprocessed(dynamodb_http.call_serialized(client("dynamodb"), "BatchWriteItem", body))


def _write_unprocessed(answer: Item) -> None:
    """Send a BatchWriteItem answer's UnprocessedItems again, backing off, until none."""
    pending = answer.get("UnprocessedItems") or {}
    delay = 0.05
    while pending:
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
        pending = (
            dynamodb_call("BatchWriteItem", {"RequestItems": pending}).get("UnprocessedItems") or {}
        )


def batch_get(table: str, keys: Iterable[AttrItem]) -> list[AttrItem]:
    """BatchGetItem in groups of 100, following UnprocessedKeys; raw attribute items."""
    unique = list({orjson.dumps(key, option=orjson.OPT_SORT_KEYS): key for key in keys}.values())
    found: list[AttrItem] = []
    for group in _chunks(unique, 100):
        pending: dict[str, Any] = {table: {"Keys": list(group), "ConsistentRead": True}}
        delay = 0.05
        while pending:
            response = dynamodb_call("BatchGetItem", {"RequestItems": pending})
            found.extend(response["Responses"].get(table, []))
            pending = response.get("UnprocessedKeys") or {}
            if pending:
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
    return found


def put_item(params: Item) -> None:
    """PutItem with a prebuilt body (``Item`` already in attribute form); ClientError as usual."""
    dynamodb_call("PutItem", params)


def get_item(table: str, key: Item) -> Item | None:
    response = client("dynamodb").get_item(TableName=table, Key=to_item(key), ConsistentRead=True)
    item = response.get("Item")
    return from_item(item) if item else None


def next_ids(table: str, key: Item, attribute: str, count: int) -> tuple[int, int]:
    """Reserve ``count`` ids from an atomic counter; returns (value before, value after)."""
    response = client("dynamodb").update_item(
        TableName=table,
        Key=to_item(key),
        UpdateExpression="ADD #a :n",
        ExpressionAttributeNames={"#a": attribute},
        ExpressionAttributeValues={":n": {"N": str(count)}},
        ReturnValues="UPDATED_NEW",
    )
    after = int(response["Attributes"][attribute]["N"])
    return after - count, after


def is_conditional_failure(exc: Exception) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException")
