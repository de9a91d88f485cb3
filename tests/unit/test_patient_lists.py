"""Sharded patient lists: no partition key takes more than 1/16 of an index's writes for an
import of one plan, provider and status (pure), and a page merged from the shards is the
page a single sorted list would give, reading the page's items and about twice its entries
(moto in this process, the template's table)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from patients_table import Reads, put_patients

from devstack.template import LocalTemplate, load_template
from ecm.models.partitions import page_size_for
from ecm.patients.index_fields import SHARDS, shard_key, with_index_fields
from ecm.patients.listing import PatientFilterRequest, filter_patients, list_patients
from ecm.patients.reading import plan_member_ids

Item = dict[str, Any]
STATUSES = ("new_member", "continuing_member", "inactive_member")


def _patient(patient_id: int, rng: random.Random, status: str = "new_member") -> Item:
    cin = f"9{rng.randrange(10**7):07d}{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}"
    first = rng.choice(("Maria", "Jose", "Ana", "Luis", "Mai", "Minh"))
    last = rng.choice(("Garcia", "Hernandez", "Nguyen", "Martinez", "Lopez", "Smith"))
    return with_index_fields(
        {
            "id": patient_id,
            "first_name": first,
            "last_name": f"{last}{rng.randrange(100)}",
            "name": f"{first} {last}",
            "eligibility": {
                "member_id": cin,
                "cin": cin,
                "member_record_status": status,
                "plan": "healthnet",
                "acuity_level": rng.choice(("low", "medium", "high")),
            },
            "case_load": {"provider_id": 1, "provider_name": "Esteem Health PSC"},
            "version": 1,
        }
    )


def _hash_attributes() -> list[str]:
    """The partition key attribute of every index of the patients table, from the template."""
    props = LocalTemplate(load_template(), {}, 4566).table_properties("PatientsTable")
    return [
        next(k["AttributeName"] for k in index["KeySchema"] if k["KeyType"] == "HASH")
        for index in props["GlobalSecondaryIndexes"]
    ]


def test_no_index_key_takes_more_than_a_sixteenth_of_an_imports_writes() -> None:
    """An import of one plan, one provider, one status and real CINs (9 + 7 digits + a
    letter, which share their first characters): every index entry it writes, by key."""
    rng = random.Random(5)
    patients = [_patient(i, rng) for i in range(1, 16 * 400 + 1)]
    attributes = _hash_attributes()
    assert "all_shard" in attributes and "search_cin_p" in attributes
    for attribute in attributes:
        keys = Counter(p[attribute] for p in patients if attribute in p)
        if not keys:
            continue  # olcm/ilcm: nobody has a care manager yet
        assert max(keys.values()) <= sum(keys.values()) / SHARDS, (attribute, keys.most_common(2))
    assert patients[0]["status_shard"] == shard_key("new_member", 1) == "new_member#1"
    assert patients[0]["provider_shard"] == "1#1" and patients[0]["plan_shard"] == "healthnet#1"
    assert not {"kind", "member_record_status", "provider_id", "plan"} & set(patients[0])


@pytest.fixture
def listed(patients_table: Reads) -> tuple[Reads, list[Item]]:
    rng = random.Random(9)
    patients = [_patient(i, rng, STATUSES[i % 3]) for i in range(1, 301)]
    put_patients(patients)
    patients_table.reset()
    return patients_table, patients


def _ids(body: Item) -> list[int]:
    return [p["id"] for p in body["patients"]]


def test_a_page_of_a_list_is_the_merged_shards_page_and_reads_only_its_items(
    listed: tuple[Reads, list[Item]],
) -> None:
    reads, patients = listed
    everyone = [p["id"] for p in sorted(patients, key=lambda p: p["sort_name"])]
    continuing = [
        p["id"]
        for p in sorted(patients, key=lambda p: p["sort_name"])
        if p["eligibility"]["member_record_status"] == "continuing_member"
    ]
    for page, per_page in ((1, 25), (2, 25), (4, 25), (1, 100), (3, 100), (13, 25)):
        reads.reset()
        start = (page - 1) * per_page
        assert (
            _ids(list_patients(None, None, None, page, per_page))
            == (everyone[start : start + per_page])
        )
        assert reads.full == len(everyone[start : start + per_page])  # the page's items only
        wanted = page * per_page
        assert reads.entries <= SHARDS * page_size_for(wanted, SHARDS)
        assert reads.queries.count("all-shard-index") == SHARDS  # one round: a query a shard
        reads.reset()
        body = list_patients(None, "continuing_member", None, page, per_page)
        assert _ids(body) == continuing[start : start + per_page]
        assert reads.full == len(continuing[start : start + per_page])
    assert _ids(list_patients(None, None, 1, 1, 25)) == everyone[:25]  # by provider
    assert _ids(list_patients(None, None, 2, 1, 25)) == []


def test_a_filter_no_index_serves_reads_the_driving_list_whole(
    listed: tuple[Reads, list[Item]],
) -> None:
    reads, patients = listed
    body = filter_patients(
        PatientFilterRequest.model_validate(
            {"filters": {"status": "new_member", "acuity_level": "high"}, "per_page": 100}
        )
    )
    expected = [
        p["id"]
        for p in sorted(patients, key=lambda p: p["sort_name"])
        if p["eligibility"]["member_record_status"] == "new_member"
        and p["eligibility"]["acuity_level"] == "high"
    ]
    assert _ids(body) == expected
    assert body["pagination"]["total_count"] == len(expected)
    assert reads.entries == 100  # every new_member entry, each shard read to its end


def test_a_plans_members_come_in_id_order_across_shards(
    listed: tuple[Reads, list[Item]],
) -> None:
    assert plan_member_ids("healthnet") == list(range(1, 301))
    assert plan_member_ids("other") == []


def test_in_latest_mif_filters_the_members_their_plans_latest_mif_left_out(
    patients_table: Reads,
) -> None:
    rng = random.Random(11)
    patients = [_patient(i, rng) for i in range(1, 41)]
    for patient in patients[::4]:
        patient["eligibility"].update(in_latest_mif=False, dropped_in_mif_file_id=7)
    put_patients(patients)
    left_out = sorted(patients[::4], key=lambda p: p["sort_name"])

    def filtered(value: bool) -> Item:
        return filter_patients(
            PatientFilterRequest.model_validate(
                {"filters": {"in_latest_mif": value}, "per_page": 100}
            )
        )

    body = filtered(False)
    assert _ids(body) == [p["id"] for p in left_out]
    assert body["pagination"]["total_count"] == 10
    shown = body["patients"][0]["ecm_eligibility_information"]
    assert (shown["in_latest_mif"], shown["dropped_in_mif_file_id"]) == (False, 7)
    listed = filtered(True)
    assert listed["pagination"]["total_count"] == 30
    assert {p["id"] for p in listed["patients"]}.isdisjoint(p["id"] for p in left_out)
    assert listed["patients"][0]["ecm_eligibility_information"]["in_latest_mif"] is True
    with pytest.raises(ValueError):  # strict: "false" as text is not a boolean
        PatientFilterRequest.model_validate({"filters": {"in_latest_mif": "false"}})
