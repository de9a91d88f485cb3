"""ECM providers (name, NPI): the caseload a MIF row is assigned to when its provider exists."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PynamoDBException

from ecm.clock import iso_timestamp
from ecm.kinds.values import npi_is_valid, person_name
from ecm.models import MetaItem, Provider
from ecm.models.access import (
    all_items,
    as_model,
    condition_failed,
    get,
    next_ids,
    transaction,
)
from ecm.patients.index_fields import fold

Item = dict[str, Any]


class ProviderExists(ValueError):
    """Another provider has this NPI or this name (case-insensitive): a MIF row naming it
    could not tell the two apart."""


def _unique_keys(name: str, npi: str | None) -> list[tuple[str, str]]:
    keys = [(f"unique#provider-name#{fold(name)}", f"A provider named '{name}' already exists")]
    if npi:
        keys.append((f"unique#provider-npi#{npi}", f"A provider with NPI '{npi}' already exists"))
    return keys


def create_provider(name: str, npi: str | None) -> Item:
    """A new provider, unique by NPI and by folded name: checked against the directory, and
    made race-free by claim items in the meta table written with it in one transaction."""
    try:
        name = person_name(name)
    except ValueError as exc:
        raise ValueError(f"Provider name {exc}") from None
    if not name:
        raise ValueError("Provider name can't be blank")
    if npi and not npi_is_valid(npi):
        raise ValueError(f"NPI '{npi}' is not a valid 10-digit NPI")
    directory = ProviderDirectory(list_providers())
    if npi and npi in directory.by_npi:
        raise ProviderExists(f"A provider with NPI '{npi}' already exists")
    if fold(name) in directory.by_name:
        raise ProviderExists(f"A provider named '{name}' already exists")
    _, provider_id = next_ids("provider")
    provider = {"id": provider_id, "name": name, "npi": npi or None, "created_at": iso_timestamp()}
    claims = _unique_keys(name, npi)
    try:
        with transaction() as writes:
            writes.save(as_model(Provider, provider))
            for key, _ in claims:
                claim = MetaItem(key, value=provider_id)
                writes.save(claim, condition=MetaItem.pk.does_not_exist())
    except PynamoDBException as exc:
        if not condition_failed(exc):
            raise
        taken = [message for key, message in claims if get(MetaItem, key)]
        raise ProviderExists(taken[0] if taken else claims[0][1]) from None
    return provider


def list_providers() -> list[Item]:
    return sorted(all_items(Provider.scan()), key=lambda p: int(p["id"]))


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
