"""ecm.store's batch calls: what DynamoDB leaves unprocessed is sent again, a bounded number
of times (botocore's Stubber plays DynamoDB; no traffic leaves the process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import orjson
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from ecm import store
from ecm.errors import BatchIncomplete
from ecm.models.access import reset_clients

ITEM = {"PutRequest": {"Item": {"key": {"S": "member#M1"}}}}
KEY = {"key": {"S": "member#M1"}}


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    ddb = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    monkeypatch.setattr(store, "client", lambda service: ddb)
    sleeps: list[float] = []
    monkeypatch.setattr(store.time, "sleep", sleeps.append)
    with Stubber(ddb) as stubber:
        stubber.sleeps = sleeps  # type: ignore[attr-defined]
        yield stubber
        stubber.assert_no_pending_responses()


def _write(unprocessed: dict[str, Any]) -> dict[str, Any]:
    return {"UnprocessedItems": unprocessed}


def test_unprocessed_items_are_sent_again_until_none_are_left(stubbed: Stubber) -> None:
    request = {"T": [ITEM, ITEM]}
    stubbed.add_response("batch_write_item", _write({"T": [ITEM]}), {"RequestItems": request})
    stubbed.add_response("batch_write_item", _write({}), {"RequestItems": {"T": [ITEM]}})
    store.write_batch(request)
    assert len(stubbed.sleeps) == 1  # type: ignore[attr-defined]


def test_a_batch_that_never_clears_fails_after_the_cap(stubbed: Stubber) -> None:
    for _ in range(store.BATCH_ATTEMPTS):
        stubbed.add_response("batch_write_item", _write({"T": [ITEM]}))
    with pytest.raises(BatchIncomplete) as info:
        store.write_batch({"T": [ITEM]})
    assert str(info.value) == (
        f"BatchWriteItem left items unprocessed after {store.BATCH_ATTEMPTS} attempts"
    )
    sleeps = stubbed.sleeps  # type: ignore[attr-defined]
    assert len(sleeps) == store.BATCH_ATTEMPTS
    assert all(0 <= s <= 2.0 for s in sleeps)


def test_unprocessed_keys_are_read_again_and_capped(stubbed: Stubber) -> None:
    raw = {"key": {"S": "member#M1"}, "patient_id": {"N": "5"}}
    stubbed.add_response(
        "batch_get_item",
        {"Responses": {"T": []}, "UnprocessedKeys": {"T": {"Keys": [KEY]}}},
    )
    stubbed.add_response("batch_get_item", {"Responses": {"T": [raw]}, "UnprocessedKeys": {}})
    assert store.batch_get("T", [KEY, KEY]) == [raw]  # one key, asked once: deduplicated
    for _ in range(store.BATCH_ATTEMPTS):
        stubbed.add_response(
            "batch_get_item",
            {"Responses": {"T": []}, "UnprocessedKeys": {"T": {"Keys": [KEY]}}},
        )
    with pytest.raises(BatchIncomplete):
        store.batch_get("T", [KEY])


def test_prebuilt_write_bodies_hold_25_requests_at_most() -> None:
    bodies = store.batch_write_bodies("T", [ITEM] * 60)
    assert [len(orjson.loads(b)["RequestItems"]["T"]) for b in bodies] == [25, 25, 10]


# --- prebuilt bodies: botocore signs and sends the plan's own JSON ------------------------

PATIENT = {
    "id": 7,
    "name": "Ana López",
    "email": None,
    "services": ["ecm"],
    "active": True,
    "score": 1.5,
    "address": {"street": "1 Main St", "zip": "02134", "unit": None},
    "ecm_status_history": [{"id": 3, "status": "new_member"}],
}


@pytest.fixture
def dynamodb(fake_aws: None) -> Iterator[Any]:
    with mock_aws():
        ddb = store.client("dynamodb")
        ddb.create_table(
            TableName="T",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield ddb
    reset_clients()


def test_a_prebuilt_body_is_what_botocore_would_serialise() -> None:
    ddb = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    [body] = store.batch_write_bodies("T", [{"PutRequest": {"Item": store.to_item(PATIENT)}}])
    model = ddb.meta.service_model.operation_model("BatchWriteItem")
    theirs = ddb._serializer.serialize_to_request(orjson.loads(body), model)["body"]
    assert orjson.loads(theirs) == orjson.loads(body)


def test_prebuilt_batch_writes_and_puts_store_every_attribute(dynamodb: Any) -> None:
    [body] = store.batch_write_bodies("T", [{"PutRequest": {"Item": store.to_item(PATIENT)}}])
    store.send_batch_write(body)
    [stored] = dynamodb.scan(TableName="T")["Items"]
    # None is left out (as the models leave it out); everything else is stored as it was.
    assert store.from_item(stored) == {
        **{k: v for k, v in PATIENT.items() if v is not None},
        "address": {"street": "1 Main St", "zip": "02134"},
    }

    changed = {**PATIENT, "name": "Ana Lopez", "version": 2}
    store.put_item(
        {
            "TableName": "T",
            "Item": store.to_item(changed),
            "ConditionExpression": "attribute_not_exists(version)",
        }
    )
    assert store.from_item(dynamodb.scan(TableName="T")["Items"][0])["name"] == "Ana Lopez"
    # botocore still parses the answer: a failed condition is its modeled error.
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        store.put_item(
            {
                "TableName": "T",
                "Item": store.to_item(PATIENT),
                "ConditionExpression": "attribute_not_exists(version)",
            }
        )
    # An ordinary call of the same client carries its own parameters, not a prebuilt body.
    item = dynamodb.get_item(TableName="T", Key={"id": {"N": "7"}})["Item"]
    assert store.from_item(item)["version"] == 2
