"""A provider's edit: which claims move, why a cancelled transaction is refused, and the case
load's provider name read from the directory."""

from __future__ import annotations

from typing import Any

import pytest

from ecm.models import MetaItem, Provider
from ecm.models.access import all_items, as_model, get
from ecm.patients.providers import (
    PROVIDER_CHANGED,
    ProviderChange,
    ProviderChanged,
    ProviderExists,
    ProviderNotFound,
    _refusal,
    create_provider,
    provider_names,
    update_provider,
)
from ecm.patients.reading import caseload_summary

FAILED = "ConditionalCheckFailed"
NPI_A, NPI_B = "1812345605", "1812345613"


def _claims() -> dict[str, int]:
    return {
        item["pk"]: int(item["value"])
        for item in all_items(MetaItem.scan())
        if item["pk"].startswith("unique#provider-")
    }


def test_the_version_failing_is_a_change_made_meanwhile() -> None:
    refused = _refusal([FAILED, "None", "None"], ["old"], [("new", "taken new")])
    assert isinstance(refused, ProviderChanged) and str(refused) == PROVIDER_CHANGED


def test_a_new_claim_failing_names_what_is_taken() -> None:
    taken = [("name", "A provider named 'X' already exists"), ("npi", "NPI taken")]
    refused = _refusal(["None", "None", "None", FAILED], ["old"], taken)
    assert isinstance(refused, ProviderExists) and str(refused) == "NPI taken"
    first = _refusal(["None", FAILED, FAILED], [], taken)
    assert str(first) == "A provider named 'X' already exists"


def test_an_old_claim_held_by_another_or_no_reasons_is_a_change_made_meanwhile() -> None:
    assert isinstance(_refusal(["None", FAILED, "None"], ["old"], [("n", "m")]), ProviderChanged)
    assert isinstance(_refusal([], ["old"], [("n", "m")]), ProviderChanged)


def test_a_change_of_case_keeps_the_claim_and_writes_the_name(tables: None) -> None:
    provider = create_provider("Acme Care", NPI_A)
    before = _claims()
    changed = update_provider(provider["id"], ProviderChange(name="ACME care"))
    assert (changed["name"], changed["version"]) == ("ACME care", 2)
    assert (
        _claims()
        == before
        == {
            "unique#provider-name#acme care": provider["id"],
            f"unique#provider-npi#{NPI_A}": provider["id"],
        }
    )


def test_a_rename_and_an_npi_change_move_both_claims_in_one_write(tables: None) -> None:
    provider = create_provider("Acme Care", NPI_A)
    other = create_provider("Bay Care", None)
    change = ProviderChange(name="Coast Care", npi=NPI_B, npi_given=True, version=1)
    changed = update_provider(provider["id"], change)
    assert (changed["name"], changed["npi"], changed["version"]) == ("Coast Care", NPI_B, 2)
    assert _claims() == {
        "unique#provider-name#coast care": provider["id"],
        f"unique#provider-npi#{NPI_B}": provider["id"],
        "unique#provider-name#bay care": other["id"],
    }
    stored = get(Provider, provider["id"])
    assert stored is not None and stored["version"] == 2 and stored["updated_at"]


def test_refusals_change_nothing(tables: None) -> None:
    provider = create_provider("Acme Care", NPI_A)
    create_provider("Bay Care", NPI_B)
    before = (get(Provider, provider["id"]), _claims())
    cases: list[tuple[ProviderChange, type[Exception], str]] = [
        (ProviderChange(name="bay care"), ProviderExists, "A provider named 'bay care'"),
        (ProviderChange(npi=NPI_B, npi_given=True), ProviderExists, f"NPI '{NPI_B}'"),
        (ProviderChange(npi="1234567890", npi_given=True), ValueError, "not a valid"),
        (ProviderChange(name="  "), ValueError, "can't be blank"),
        (ProviderChange(name="Dune Care", version=2), ProviderChanged, "changed by someone"),
    ]
    for change, error, words in cases:
        with pytest.raises(error, match=words):
            update_provider(provider["id"], change)
    with pytest.raises(ProviderNotFound):
        update_provider(999, ProviderChange(name="Nobody"))
    assert (get(Provider, provider["id"]), _claims()) == before


def test_a_claim_taken_meanwhile_cancels_the_whole_change(tables: None) -> None:
    provider = create_provider("Acme Care", NPI_A)
    MetaItem("unique#provider-name#dune care", value=4242).save()
    with pytest.raises(ProviderExists, match="A provider named 'Dune Care' already exists"):
        update_provider(provider["id"], ProviderChange(name="Dune Care", npi=NPI_B, npi_given=True))
    stored = get(Provider, provider["id"])
    assert stored is not None and (stored["name"], stored["npi"]) == ("Acme Care", NPI_A)
    assert _claims() == {
        "unique#provider-name#acme care": provider["id"],
        f"unique#provider-npi#{NPI_A}": provider["id"],
        "unique#provider-name#dune care": 4242,
    }


def test_a_case_load_names_its_provider_as_the_directory_does_now(tables: None) -> None:
    provider = create_provider("Acme Care", None)
    as_model(Provider, {"id": 77, "name": "Old Stored"}).save()
    update_provider(provider["id"], ProviderChange(name="Acme Care North"))
    names = provider_names([provider["id"], None, 404, provider["id"]])
    assert names == {provider["id"]: "Acme Care North"}

    def load(provider_id: int | None, name: str | None) -> dict[str, Any]:
        return {"case_load": {"provider_id": provider_id, "provider_name": name}}

    assert caseload_summary(load(provider["id"], "Acme Care"), names)["provider_name"] == (
        "Acme Care North"
    )
    # A provider no longer in the directory keeps the name stored at assignment.
    assert caseload_summary(load(404, "Gone Care"), names)["provider_name"] == "Gone Care"
    assert caseload_summary(load(None, None), names)["provider_name"] is None
    assert provider_names([None]) == {}
