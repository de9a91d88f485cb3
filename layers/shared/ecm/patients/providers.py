"""ECM providers (name, NPI): the caseload a MIF row is assigned to when its provider exists."""

from __future__ import annotations

from typing import Any

from ecm.clock import iso_timestamp
from ecm.kinds.values import npi_is_valid
from ecm.models import Provider
from ecm.models.access import all_items, as_model, next_ids
from ecm.patients.items import fold

Item = dict[str, Any]


def create_provider(name: str, npi: str | None) -> Item:
    name = name.strip()
    if not name:
        raise ValueError("Provider name can't be blank")
    if npi and not npi_is_valid(npi):
        raise ValueError(f"NPI '{npi}' is not a valid 10-digit NPI")
    _, provider_id = next_ids("provider")
    provider = {"id": provider_id, "name": name, "npi": npi or None, "created_at": iso_timestamp()}
    as_model(Provider, provider).save()
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
