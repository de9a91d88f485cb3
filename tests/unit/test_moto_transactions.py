"""The local stores' transactions keep copies of the items they name, not of whole tables:
a cancelled transaction still leaves every item as it was (moto in this process)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack.moto_transactions import copy_named_items_only
from ecm.settings import get_settings


def _put(table: str, pk: str, value: int) -> dict[str, object]:
    return {"Put": {"TableName": table, "Item": {"pk": {"S": pk}, "value": {"N": str(value)}}}}


def test_a_cancelled_transaction_leaves_every_item_as_it_was(tables: None) -> None:
    copy_named_items_only()
    ddb, meta = boto3.client("dynamodb"), get_settings().meta_table
    ddb.put_item(TableName=meta, Item={"pk": {"S": "a"}, "value": {"N": "1"}})
    refused = {
        "Update": {
            "TableName": meta,
            "Key": {"pk": {"S": "b"}},
            "UpdateExpression": "SET #v = :v",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": {"#v": "value"},
            "ExpressionAttributeValues": {":v": {"N": "9"}},
        }
    }
    with pytest.raises(ClientError) as raised:
        ddb.transact_write_items(TransactItems=[_put(meta, "a", 2), _put(meta, "new", 3), refused])
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    stored = {i["pk"]["S"]: i["value"]["N"] for i in ddb.scan(TableName=meta)["Items"]}
    assert stored == {"a": "1"}
    ddb.transact_write_items(TransactItems=[_put(meta, "a", 2), _put(meta, "new", 3)])
    stored = {i["pk"]["S"]: i["value"]["N"] for i in ddb.scan(TableName=meta)["Items"]}
    assert stored == {"a": "2", "new": "3"}
