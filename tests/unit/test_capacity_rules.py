"""The capacity benchmark's write accounting (benchmarks/capacity_rules.py, capacity_recorder.py)
on hand-made items: table units from item sizes, and each index's puts, deletes and updates as
AWS documents them, so a wrong rule fails here rather than skewing the benchmark's floors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.append(str(Path(__file__).parents[2] / "benchmarks"))

from capacity_recorder import Recorder, Stages
from capacity_rules import (
    BASE,
    NEW_ON_DEMAND_WRU_PER_S,
    TableSchema,
    Write,
    account,
    image,
    item_size,
    table_schema,
    template_schemas,
)

from devstack.template import LocalTemplate, load_template

T = "Patients"
PROPERTIES: dict[str, Any] = {
    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "status-index",
            "KeySchema": [
                {"AttributeName": "sort_name", "KeyType": "RANGE"},
                {"AttributeName": "status", "KeyType": "HASH"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
        {
            "IndexName": "search-index",
            "KeySchema": [
                {"AttributeName": "search_p", "KeyType": "HASH"},
                {"AttributeName": "search", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["search_from"]},
            "WarmThroughput": {"WriteUnitsPerSecond": 12000},
        },
        {
            "IndexName": "plan-index",
            "KeySchema": [
                {"AttributeName": "plan", "KeyType": "HASH"},
                {"AttributeName": "id", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        },
    ],
}


@pytest.fixture
def table() -> TableSchema:
    return table_schema(T, PROPERTIES)


def patient(**changes: Any) -> dict[str, Any]:
    """A patient of 1,6xx bytes (2 write units), in every index of PROPERTIES."""
    item: dict[str, Any] = {
        "id": {"N": "7"},
        "status": {"S": "new_member"},
        "sort_name": {"S": "smith ana#000000000007"},
        "search_p": {"S": "sm"},
        "search": {"S": "smith\x1fsmith ana#000000000007"},
        "search_from": {"N": "1"},
        "plan": {"S": "healthnet"},
        "notes": {"S": "x" * 1500},
    }
    item.update(changes)
    return {k: v for k, v in item.items() if v is not None}


def by_index(writes: list[Write]) -> dict[str, list[tuple[str, int]]]:
    found: dict[str, list[tuple[str, int]]] = {}
    for write in writes:
        found.setdefault(write.index, []).append((write.partition, write.units))
    return found


def test_item_sizes_follow_the_documented_rules() -> None:
    assert item_size({"id": {"N": "123"}}) == 2 + 3  # name + (2 digits per byte, + 1)
    assert item_size({"name": {"S": "Zoë"}}) == 4 + 4  # UTF-8 bytes
    assert item_size({"ok": {"BOOL": True}, "no": {"NULL": True}}) == 3 + 3
    assert item_size({"m": {"M": {"a": {"S": "bc"}}}}) == 1 + 3 + (1 + 2 + 1)
    assert item_size({"l": {"L": [{"N": "1"}, {"N": "10"}]}}) == 1 + 3 + (2 + 1) + (2 + 1)
    assert item_size({"b": {"B": "AAEC"}}) == 1 + 3  # base64 in a request: raw bytes count


def test_the_schema_is_read_from_the_template_properties(table: TableSchema) -> None:
    assert table.keys == ("id",)
    status, search, plan = table.indexes
    assert (status.keys, status.projection) == (("status", "sort_name"), "ALL")
    assert (search.include, search.throughput) == (("search_from",), 12000)
    assert (plan.projection, plan.throughput) == ("KEYS_ONLY", NEW_ON_DEMAND_WRU_PER_S)


def test_template_yaml_indexes_are_read_not_written_down() -> None:
    schemas = template_schemas(LocalTemplate(load_template(), {}, 4566))
    patients = schemas["PatientsTable"]
    assert patients.keys == ("id",)
    names = {index.name: index for index in patients.indexes}
    assert names["all-shard-index"].keys == ("all_shard", "sort_name")
    assert names["plan-shard-index"].projection == "KEYS_ONLY"
    assert "name-index" not in names  # the template's default: a stack past the migration
    assert names["search-cin-index"].throughput == 10_000  # ImportIndexWriteUnits
    assert patients.throughput == 30_000  # ImportWriteUnits
    assert schemas["PatientKeysTable"].indexes == ()


def test_a_new_item_is_put_into_each_index_it_has_the_keys_of(table: TableSchema) -> None:
    item = patient()
    assert 1024 < item_size(item) <= 2048
    writes = by_index(account(table, "7", None, image(table, item)))
    assert writes[BASE] == [("7", 2)]
    assert writes["status-index"] == [("new_member", 2)]  # ALL: the whole item + 100 bytes
    assert writes["search-index"] == [("sm", 1)]  # keys + search_from + 100 bytes
    assert writes["plan-index"] == [("healthnet", 1)]  # keys only
    sparse = by_index(account(table, "7", None, image(table, patient(plan=None))))
    assert "plan-index" not in sparse


def test_an_index_entry_carries_100_bytes_of_overhead(table: TableSchema) -> None:
    short = patient(notes={"S": ""})
    item = patient(notes={"S": "x" * (990 - item_size(short))})
    assert item_size(item) == 990
    writes = by_index(account(table, "7", None, image(table, item)))
    assert writes[BASE] == [("7", 1)]
    assert writes["status-index"] == [("new_member", 2)]  # 990 + 100 bytes: two units


def test_an_update_changing_an_index_key_deletes_and_puts_its_entry(table: TableSchema) -> None:
    before, after = image(table, patient()), image(table, patient(status={"S": "active"}))
    writes = by_index(account(table, "7", before, after))
    assert writes[BASE] == [("7", 2)]
    assert writes["status-index"] == [("new_member", 2), ("active", 2)]
    assert "search-index" not in writes  # nothing it projects changed
    assert "plan-index" not in writes


def test_an_update_of_an_unprojected_attribute_writes_only_all_projections(
    table: TableSchema,
) -> None:
    before = image(table, patient())
    writes = by_index(account(table, "7", before, image(table, patient(notes={"S": "y" * 1500}))))
    assert writes == {BASE: [("7", 2)], "status-index": [("new_member", 2)]}
    included = by_index(account(table, "7", before, image(table, patient(search_from={"N": "3"}))))
    assert included["search-index"] == [("sm", 1)]  # a projected non-key attribute changed
    left = by_index(account(table, "7", before, image(table, patient(plan=None))))
    assert left["plan-index"] == [("healthnet", 1)]  # leaves a sparse index: one delete


def test_a_delete_costs_the_deleted_item_and_one_delete_per_index(table: TableSchema) -> None:
    writes = by_index(account(table, "7", image(table, patient()), None))
    assert writes[BASE] == [("7", 2)]
    assert writes["status-index"] == [("new_member", 2)]
    assert writes["search-index"] == [("sm", 1)]
    assert writes["plan-index"] == [("healthnet", 1)]
    assert by_index(account(table, "8", None, None)) == {BASE: [("8", 1)]}  # nothing stored


def test_a_failed_condition_costs_the_table_write_and_no_index(table: TableSchema) -> None:
    stored = image(table, patient(notes={"S": "x" * 2500}))
    writes = account(table, "7", stored, None, failed=True, new_size=item_size(patient()))
    assert writes == [Write(T, BASE, "7", 3)]  # the larger: the stored item
    assert account(table, "9", None, None, failed=True, new_size=5000) == [Write(T, BASE, "9", 1)]


class Reader:
    """The read-back client: the item after an update, as the store holds it."""

    def __init__(self, items: dict[str, dict[str, Any]]) -> None:
        self.items = items

    def get_item(self, TableName: str, Key: dict[str, Any], ConsistentRead: bool) -> Any:
        return {"Item": self.items[Key["id"]["N"]]}


def test_a_transaction_costs_two_units_per_item_and_indexes_once(table: TableSchema) -> None:
    updated = patient(status={"S": "active"})
    recorder = Recorder({T: table}, Reader({"7": updated}), Stages())
    recorder.seed(T, patient())
    recorder.seed(T, patient(id={"N": "8"}))
    put = {"Put": {"TableName": T, "Item": patient(id={"N": "9"}, plan=None)}}
    update = {"Update": {"TableName": T, "Key": {"id": {"N": "7"}}, "UpdateExpression": "..."}}
    check = {"ConditionCheck": {"TableName": T, "Key": {"id": {"N": "8"}}}}
    recorder.record("TransactWriteItems", {"TransactItems": [put, update, check]}, {}, None)
    tally = recorder.take()[0]["other"]
    assert dict(tally.units[T, BASE]) == {"9": 4, "7": 4, "8": 4}
    assert dict(tally.units[T, "status-index"]) == {"new_member": 4, "active": 2}
    assert dict(tally.units[T, "search-index"]) == {"sm": 1}  # the new item only
    assert dict(tally.units[T, "plan-index"]) == {}  # 9 has no plan; 7's key is unchanged
    # The shadow follows: a delete of 7 now costs its updated image.
    recorder.record("DeleteItem", {"TableName": T, "Key": {"id": {"N": "7"}}}, {}, None)
    deleted = recorder.take()[0]["other"]
    assert dict(deleted.units[T, "status-index"]) == {"active": 2}


def test_a_batch_counts_only_what_was_processed(table: TableSchema) -> None:
    recorder = Recorder({T: table}, Reader({}), Stages())
    items = [patient(id={"N": str(i)}) for i in (1, 2, 3)]
    request = {"RequestItems": {T: [{"PutRequest": {"Item": item}} for item in items]}}
    left = {"UnprocessedItems": {T: [{"PutRequest": {"Item": items[1]}}]}}
    recorder.record("BatchWriteItem", request, left, None)
    tally = recorder.take()[0]["other"]
    assert dict(tally.units[T, BASE]) == {"1": 2, "3": 2}
    assert tally.writes[T, "status-index"] == 2
