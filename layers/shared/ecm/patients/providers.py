"""ECM providers (name, NPI): the caseload a MIF row is assigned to when its provider exists.

A provider is unique by NPI and by folded name: each is claimed by an item in the meta table
(``unique#provider-name#…``, ``unique#provider-npi#…``, its ``value`` the provider's id),
written in the transaction that creates or changes the provider, so two writers can never
both take one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PynamoDBException

from ecm.aws_errors import cancellation_codes
from ecm.clock import iso_timestamp
from ecm.kinds.values import npi_is_valid, person_name
from ecm.log import logger
from ecm.models import MetaItem, Provider
from ecm.models.access import (
    all_items,
    as_model,
    batch_read,
    condition_failed,
    get,
    next_ids,
    put_versioned,
    transaction,
)
from ecm.models.versions import read_version, versioned
from ecm.patients.index_fields import fold

Item = dict[str, Any]
PROVIDER_NOT_FOUND = "Provider not found"
PROVIDER_CHANGED = "Provider was changed by someone else since it was read; reload and retry"
FAILED = "ConditionalCheckFailed"


class ProviderExists(ValueError):
    """Another provider has this NPI or this name (case-insensitive): a MIF row naming it
    could not tell the two apart."""


class ProviderNotFound(LookupError):
    """No provider has this id."""


class ProviderChanged(RuntimeError):
    """The provider's stored version is not the one the change was made over."""


@dataclass(frozen=True)
class ProviderChange:
    """What an edit sets: ``name`` (None: kept), ``npi`` when ``npi_given`` (None or blank
    clears it), over ``version`` (the version the caller read; None: the one read here)."""

    name: str | None = None
    npi: str | None = None
    npi_given: bool = False
    version: int | None = None


def _unique_keys(name: str, npi: str | None) -> dict[str, str]:
    """The claim keys of a provider named ``name`` with ``npi``, each with the message a
    second provider asking for it gets."""
    keys = {f"unique#provider-name#{fold(name)}": f"A provider named '{name}' already exists"}
    if npi:
        keys[f"unique#provider-npi#{npi}"] = f"A provider with NPI '{npi}' already exists"
    return keys


def _checked_name(raw: str) -> str:
    try:
        name = person_name(raw)
    except ValueError as exc:
        raise ValueError(f"Provider name {exc}") from None
    if not name:
        raise ValueError("Provider name can't be blank")
    return name


def _checked_npi(raw: str | None) -> str | None:
    if raw and not npi_is_valid(raw):
        raise ValueError(f"NPI '{raw}' is not a valid 10-digit NPI")
    return raw or None


def _refuse_taken(name: str, npi: str | None, others: list[Item]) -> None:
    """ProviderExists when one of ``others`` has the NPI or the folded name (providers
    stored before claims existed hold none)."""
    directory = ProviderDirectory(others)
    if npi and npi in directory.by_npi:
        raise ProviderExists(f"A provider with NPI '{npi}' already exists")
    if fold(name) in directory.by_name:
        raise ProviderExists(f"A provider named '{name}' already exists")


def provider_view(item: Item) -> Item:
    """A provider as the API shows it (``version`` 0: stored before versions)."""
    return {
        "id": int(item["id"]),
        "name": item["name"],
        "npi": item.get("npi") or None,
        "created_at": item.get("created_at"),
        "updated_at": item.get("updated_at"),
        "version": read_version(item),
    }


def create_provider(name: str, npi: str | None) -> Item:
    """A new provider, unique by NPI and by folded name: checked against the directory, and
    made race-free by claim items in the meta table written with it in one transaction."""
    name, npi = _checked_name(name), _checked_npi(npi)
    _refuse_taken(name, npi, list_providers())
    _, provider_id = next_ids("provider")
    provider = {"id": provider_id, "name": name, "npi": npi, "created_at": iso_timestamp()}
    claims = _unique_keys(name, npi)
    try:
        with transaction() as writes:
            writes.save(as_model(Provider, provider))
            for key in claims:
                claim = MetaItem(key, value=provider_id)
                writes.save(claim, condition=MetaItem.pk.does_not_exist())
    except PynamoDBException as exc:
        if not condition_failed(exc):
            raise
        taken = [message for key, message in claims.items() if get(MetaItem, key)]
        raise ProviderExists(taken[0] if taken else next(iter(claims.values()))) from None
    return provider_view(versioned(provider, None))


def update_provider(provider_id: int, change: ProviderChange) -> Item:
    """The provider with ``change`` applied. A new name or NPI takes its claim and releases
    the old one in the transaction that writes the provider, conditional on the version
    read: the claims never disagree with the providers, and a change made meanwhile is a
    ProviderChanged, never overwritten. A change to nothing writes nothing."""
    current = get(Provider, provider_id)
    if current is None:
        raise ProviderNotFound(PROVIDER_NOT_FOUND)
    if change.version is not None and change.version != read_version(current):
        raise ProviderChanged(PROVIDER_CHANGED)
    name = current["name"] if change.name is None else _checked_name(change.name)
    npi = _checked_npi(change.npi) if change.npi_given else current.get("npi") or None
    if (name, npi) == (current["name"], current.get("npi") or None):
        return provider_view(current)
    others = [p for p in list_providers() if int(p["id"]) != provider_id]
    _refuse_taken(name, npi, others)
    old_keys = _unique_keys(current["name"], current.get("npi") or None)
    new_keys = _unique_keys(name, npi)
    released = [key for key in old_keys if key not in new_keys]
    taken = [(key, message) for key, message in new_keys.items() if key not in old_keys]
    provider = versioned(
        {**current, "name": name, "npi": npi, "updated_at": iso_timestamp()}, current
    )
    try:
        with transaction() as writes:
            put_versioned(writes, Provider, provider, current)
            for key in released:  # ours, or never written (a provider older than claims)
                mine = MetaItem.pk.does_not_exist() | (MetaItem.value == provider_id)
                writes.delete(MetaItem(key), condition=mine)
            for key, _ in taken:
                claim = MetaItem(key, value=provider_id)
                writes.save(claim, condition=MetaItem.pk.does_not_exist())
    except PynamoDBException as exc:
        if not condition_failed(exc):
            raise
        raise _refusal(cancellation_codes(exc), released, taken) from None
    logger.info(
        "provider updated",
        extra={
            "provider_id": provider_id,
            "claims_moved": len(taken),
            "version": provider["version"],
        },
    )
    return provider_view(provider)


def _refusal(
    codes: list[str], released: list[str], taken: list[tuple[str, str]]
) -> ProviderExists | ProviderChanged:
    """Why the edit's transaction was cancelled, from its reasons in action order: the
    provider's version, a claim of ours another provider holds, a claim already taken."""
    codes = codes + ["None"] * (1 + len(released) + len(taken) - len(codes))
    if codes[0] == FAILED:
        return ProviderChanged(PROVIDER_CHANGED)
    for (_, message), code in zip(taken, codes[1 + len(released) :], strict=True):
        if code == FAILED:
            return ProviderExists(message)
    return ProviderChanged(PROVIDER_CHANGED)


def list_providers() -> list[Item]:
    return sorted(all_items(Provider.scan()), key=lambda p: int(p["id"]))


def provider_names(provider_ids: Iterable[int | None]) -> dict[int, str]:
    """The current names of these providers (one batch read): a case load shows its
    provider's name as the directory has it now, so a rename rewrites no patient."""
    wanted = sorted({int(i) for i in provider_ids if i is not None})
    if not wanted:
        return {}
    return {int(p["id"]): str(p["name"]) for p in batch_read(Provider, wanted)}


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
