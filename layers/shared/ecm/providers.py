"""ECM providers (name, NPI): the caseload a MIF row is assigned to when its provider exists."""

from __future__ import annotations

from typing import Any

from ecm.clock import iso_timestamp
from ecm.patients import fold
from ecm.settings import get_settings
from ecm.store import client, from_item, next_ids, to_item
from ecm.values import npi_is_valid

Item = dict[str, Any]


def create_provider(name: str, npi: str | None) -> Item:
    name = name.strip()
    if not name:
        raise ValueError("Provider name can't be blank")
    if npi and not npi_is_valid(npi):
        raise ValueError(f"NPI '{npi}' is not a valid 10-digit NPI")
    settings = get_settings()
    _, provider_id = next_ids(settings.meta_table, {"pk": "counter#provider"}, "value", 1)
    provider = {"id": provider_id, "name": name, "npi": npi or None, "created_at": iso_timestamp()}
    client("dynamodb").put_item(TableName=settings.providers_table, Item=to_item(provider))
    return provider


def list_providers() -> list[Item]:
    paginator = client("dynamodb").get_paginator("scan")
    items: list[Item] = []
    for page in paginator.paginate(TableName=get_settings().providers_table):
        items.extend(from_item(i) for i in page["Items"])
    return sorted(items, key=lambda p: int(p["id"]))


class ProviderDirectory:
    """Providers loaded once per import, matched by NPI first, then by name."""

    def __init__(self, providers: list[Item]) -> None:
        self.by_npi = {p["npi"]: p for p in providers if p.get("npi")}
        self.by_name = {fold(p["name"]): p for p in providers}

    def find(self, npi: str | None, name: str | None) -> Item | None:
        if npi and npi in self.by_npi:
            return self.by_npi[npi]
        if name:
            return self.by_name.get(fold(name))
        return None
