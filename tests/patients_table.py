"""The patients table of template.yaml in moto, in this process, and a count of what each
read of it costs: the unit tests of lists and search check reads, not only answers."""

from __future__ import annotations

import threading
from typing import Any

import boto3

from devstack.template import LocalTemplate, load_template
from ecm.clients import client
from ecm.models import MetaItem, Patient, Provider
from ecm.settings import get_settings
from ecm.store import to_item

Item = dict[str, Any]


class Reads:
    """Full items and index entries read, per DynamoDB call (botocore hooks). Every index
    of the patients table holds keys (and a count attribute) only: a Query of an index
    reads entries; a BatchGetItem of the patients table, or a Query of it, full items."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.local = threading.local()
        self.full = 0
        self.entries = 0
        self.queries: list[str] = []

    def before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.local.index = params.get("IndexName")

    def after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        with self.lock:
            if model.name == "Query":
                index = self.local.index
                self.queries.append(str(index))
                if index:
                    self.entries += int(parsed.get("ScannedCount", 0))
                else:
                    self.full += int(parsed.get("ScannedCount", 0))
            elif model.name == "BatchGetItem":
                patients = parsed.get("Responses", {}).get(get_settings().patients_table, [])
                self.full += len(patients)

    def reset(self) -> None:
        self.full = self.entries = 0
        self.queries = []


def create_patients_table() -> Reads:
    """The table as the template declares it (inside moto's mock) beside the meta table of
    the lists' counters and the providers (a case load is shown with its provider's current
    name), and a read counter on
    the clients the product reads with (queries: the model's; batch reads: ecm.clients')."""
    props = LocalTemplate(load_template(), {}, 4566).table_properties("PatientsTable")
    boto3.client("dynamodb").create_table(
        TableName=get_settings().patients_table,
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        # Warm throughput is how fast AWS may write, nothing moto keeps: left out.
        GlobalSecondaryIndexes=[
            {k: v for k, v in index.items() if k != "WarmThroughput"}
            for index in props["GlobalSecondaryIndexes"]
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    MetaItem.create_table(wait=True)  # the lists' counters
    Provider.create_table(wait=True)
    reads = Reads()
    for ddb in (client("dynamodb"), Patient._get_connection().connection.client):
        ddb.meta.events.register("before-parameter-build.dynamodb", reads.before)
        ddb.meta.events.register("after-call.dynamodb", reads.after)
    return reads


def put_patients(patients: list[Item]) -> None:
    ddb = client("dynamodb")
    for patient in patients:
        ddb.put_item(TableName=get_settings().patients_table, Item=to_item(patient))
