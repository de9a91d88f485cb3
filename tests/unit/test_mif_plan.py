"""ecm.mif_plan.MifPlanner against an in-memory PatientLookup."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fixtures_builders import VALID_NPI, sample_mif_row

from ecm.kinds.mif.planner import MifPlanner
from ecm.kinds.mif.rows import validate_mif_row
from ecm.kinds.plan_entry import PlanEntry
from ecm.patients.items import build_patient, member_key, name_key, patient_name_key
from ecm.patients.providers import ProviderDirectory

Item = dict[str, Any]
NOW = "2025-06-15T12:00:00.000Z"
EARLIER = "2024-01-01T00:00:00.000Z"
TODAY = date(2025, 6, 15)
FILE_ID = 42
TAG = f"mif#{FILE_ID}"


class FakeLookup:
    """Key items, patient items and counters in dictionaries; records what was asked."""

    def __init__(self) -> None:
        self.keys: dict[str, Item] = {}
        self.patients: dict[int, Item] = {}
        self.counters: dict[str, int] = {"patient": 100, "eligibility": 500}
        self.key_reads: list[list[str]] = []
        self.reserved: list[tuple[str, int]] = []

    def get_keys(self, keys: list[str]) -> dict[str, Item]:
        self.key_reads.append(list(keys))
        return {k: self.keys[k] for k in keys if k in self.keys}

    def get_patients(self, ids: list[int]) -> dict[int, Item]:
        return {i: self.patients[i] for i in ids if i in self.patients}

    def reserve(self, counter: str, count: int) -> int:
        self.reserved.append((counter, count))
        before = self.counters.get(counter, 0)
        self.counters[counter] = before + count
        return before + 1

    def add_patient(
        self, patient_id: int, row: dict[str, Any], version: int = 3, with_member_id: bool = True
    ) -> Item:
        """Store a patient built from a MIF row, with its member and name keys.

        ``with_member_id=False``: a patient whose member id is not known (no member key),
        the only kind a name and date of birth may match.
        """
        record = _record(row)
        patient = build_patient(
            None, record, patient_id, patient_id + 1000, 1, None, "mif#1", EARLIER
        )
        patient["version"] = version
        self.patients[patient_id] = patient
        if with_member_id:
            mk = member_key(record["member_id"])
            self.keys[mk] = {
                "key": mk,
                "patient_id": patient_id,
                "version": 1,
                "last_import": "mif#1",
            }
        else:
            patient["eligibility"]["member_id"] = None
        nk = patient_name_key(patient)
        if nk:
            item = self.keys.setdefault(
                nk, {"key": nk, "patient_ids": [], "version": 1, "last_import": "mif#1"}
            )
            item["patient_ids"].append(patient_id)
        return patient


def _record(row: dict[str, Any]) -> Item:
    record, errors = validate_mif_row(2, row, False, TODAY)
    assert errors == []
    return record


def _row(i: int, **overrides: Any) -> dict[str, Any]:
    return {**sample_mif_row(i), **overrides}


PROVIDERS = [
    {"id": 7, "name": "Esteem Health PSC", "npi": VALID_NPI},
    {"id": 8, "name": "Other  Care Group", "npi": None},
]


def _planner(lookup: FakeLookup, providers: list[Item] | None = None) -> MifPlanner:
    return MifPlanner(FILE_ID, lookup, ProviderDirectory(providers or []), NOW)


def _plan(
    lookup: FakeLookup, *rows: tuple[int, dict[str, Any]], providers: list[Item] | None = None
) -> tuple[MifPlanner, list[Item], list[Item]]:
    planner = _planner(lookup, providers)
    entries = planner.plan_chunk([(n, _record(r)) for n, r in rows])
    return planner, entries, list(planner.finish())


def _decoded(entries: list[PlanEntry], kind: str) -> list[Item]:
    """Each entry of table ``kind`` as a dict of its parts."""
    return [
        {
            "row": entry.row,
            "put": entry.put,
            "prior": entry.prior,
            "delete": entry.delete,
        }
        for entry in entries
        if entry.table == kind
    ]


def _patients(entries: list[Item]) -> list[Item]:
    return _decoded(entries, "patients")


def _keys(entries: list[Item]) -> dict[str, Item]:
    return {(e["put"] or e["delete"])["key"]: e for e in _decoded(entries, "keys")}


# --- creating -------------------------------------------------------------------------------


def test_new_rows_create_patients_with_fresh_ids_and_keys() -> None:
    lookup = FakeLookup()
    planner, entries, tail = _plan(lookup, (2, _row(1)), (3, _row(2)))

    assert planner.errors == []
    assert (planner.created, planner.updated) == (2, 0)
    assert lookup.reserved == [("patient", 2), ("eligibility", 2)]

    patients = _patients(entries)
    assert [(p["row"], p["put"]["id"], p["prior"]) for p in patients] == [
        (2, 101, None),
        (3, 102, None),
    ]
    first = patients[0]["put"]
    assert first["name"] == "Ben Nguyen1"
    assert first["date_of_birth"] == "1951-02-02"
    assert first["version"] == 1
    assert first["last_import"] == TAG
    assert first["created_at"] == NOW
    assert first["address"] == {
        "street": "101 Main St, Apt 1",
        "city": "Boston",
        "state": "MA",
        "zip": "02134",
    }
    assert first["phone"] == "+16175550001"
    assert first["services"] == ["ecm"]
    assert first["case_load"] is None
    assert first["eligibility"]["id"] == 501
    assert first["eligibility"]["member_id"] == "M000000001"
    assert first["eligibility"]["mif_file_id"] == FILE_ID
    assert first["eligibility"]["member_record_status"] == "new_member"
    assert patients[1]["put"]["eligibility"]["id"] == 502

    snap = next(e for e in entries if e.table == "patients").snapshot
    assert snap == {
        "id": 501,
        "patient_id": 101,
        "patient_name": "Ben Nguyen1",
        "member_id": "M000000001",
        "cin": "900000001A",
        "first_name": "Ben",
        "last_name": "Nguyen1",
        "dob": "1951-02-02",
        "ecm_service_auth_id": "AUTH000001",
        "ecm_provider_name": "Esteem Health PSC",
        "member_record_status": "new_member",
        "created_at": NOW,
        "updated_at": NOW,
    }

    member_keys = _keys(entries)
    assert member_keys["member#M000000001"]["put"] == {
        "key": "member#M000000001",
        "patient_id": 101,
        "version": 1,
        "last_import": TAG,
    }
    assert member_keys["member#M000000002"]["put"]["patient_id"] == 102
    assert all(k["prior"] is None for k in member_keys.values())

    name_keys = _keys(tail)
    assert set(name_keys) == {"name#ben|nguyen1|1951-02-02", "name#carla|smith2|1952-03-03"}
    assert name_keys["name#ben|nguyen1|1951-02-02"]["put"] == {
        "key": "name#ben|nguyen1|1951-02-02",
        "patient_ids": [101],
        "version": 1,
        "last_import": TAG,
    }
    assert name_keys["name#ben|nguyen1|1951-02-02"]["prior"] is None


def test_rows_without_new_patients_reserve_no_ids() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, _row(1))
    planner, _, _ = _plan(lookup, (2, _row(1)))
    assert planner.updated == 1
    assert lookup.reserved == []


def test_ids_continue_across_chunks() -> None:
    lookup = FakeLookup()
    planner = _planner(lookup)
    first = planner.plan_chunk([(2, _record(_row(1)))])
    second = planner.plan_chunk([(3, _record(_row(2))), (4, _record(_row(3)))])
    ids = [p["put"]["id"] for p in _patients(first) + _patients(second)]
    assert ids == [101, 102, 103]
    assert planner.created == 3
    tail = _keys(planner.finish())
    assert sorted(k["put"]["patient_ids"][0] for k in tail.values()) == [101, 102, 103]


def test_row_without_dob_creates_no_name_key() -> None:
    lookup = FakeLookup()
    planner, entries, tail = _plan(lookup, (2, _row(1, DOB="")))
    assert planner.created == 1
    assert _patients(entries)[0]["put"]["date_of_birth"] is None
    assert tail == []


# --- matching -------------------------------------------------------------------------------


def test_member_id_match_updates_the_patient() -> None:
    lookup = FakeLookup()
    old = lookup.add_patient(5, _row(1), version=3)
    changed = _row(1, PHONE="617-555-9999", ACUITY_LEVEL="High", MEMBER_ID="m000000001")
    planner, entries, tail = _plan(lookup, (8, changed))

    assert planner.errors == []
    assert (planner.created, planner.updated) == (0, 1)
    [entry] = _patients(entries)
    assert entry["row"] == 8
    assert entry["prior"] == old
    put = entry["put"]
    assert put["id"] == 5
    assert put["version"] == 4
    assert put["phone"] == "+16175559999"
    assert put["eligibility"]["acuity_level"] == "high"
    assert put["eligibility"]["id"] == 1005  # the patient keeps its eligibility record
    assert put["eligibility"]["created_at"] == EARLIER
    assert put["eligibility"]["updated_at"] == NOW
    assert put["created_at"] == EARLIER
    assert put["updated_at"] == NOW
    assert put["last_import"] == TAG
    # The member key exists already (matched case-insensitively): no key write, no name change.
    assert _keys(entries) == {}
    assert tail == []


def test_name_and_dob_match_is_case_and_space_insensitive() -> None:
    lookup = FakeLookup()
    lookup.add_patient(
        5, _row(1, FIRST_NAME="Mary Ann", LAST_NAME="de la Cruz"), with_member_id=False
    )
    row = _row(1, MEMBER_ID="NEWID77", FIRST_NAME="  MARY   ANN ", LAST_NAME="De La  CRUZ")
    planner, entries, tail = _plan(lookup, (4, row))

    assert planner.errors == []
    assert (planner.created, planner.updated) == (0, 1)
    [entry] = _patients(entries)
    assert entry["put"]["id"] == 5
    assert entry["put"]["first_name"] == "MARY   ANN"  # the file's spelling wins
    assert entry["put"]["eligibility"]["member_id"] == "NEWID77"
    # The new member id now leads to the same patient.
    assert _keys(entries)["member#NEWID77"]["put"]["patient_id"] == 5
    # The folded name key is unchanged, so no name key is written.
    assert tail == []


def test_same_name_different_dob_is_a_different_patient() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, _row(1))
    row = _row(1, MEMBER_ID="OTHER1", DOB="02-03-1951")
    planner, entries, tail = _plan(lookup, (2, row))

    assert planner.errors == []
    assert (planner.created, planner.updated) == (1, 0)
    [entry] = _patients(entries)
    assert entry["prior"] is None
    assert entry["put"]["id"] == 101
    assert list(_keys(tail)) == ["name#ben|nguyen1|1951-02-03"]


def test_two_existing_patients_with_the_name_are_ambiguous() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, _row(1), with_member_id=False)
    lookup.add_patient(6, _row(1, MEMBER_ID="M-TWIN"), with_member_id=False)
    assert lookup.keys["name#ben|nguyen1|1951-02-02"]["patient_ids"] == [5, 6]

    planner, entries, _ = _plan(lookup, (4, _row(1, MEMBER_ID="M-THIRD")))
    assert planner.errors == [
        "Row 4: ambiguous match: 2 patients have this name and date of birth and none has "
        "this member ID"
    ]
    assert entries == []
    assert planner.created == planner.updated == 0


def test_member_id_resolves_what_the_name_cannot() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, _row(1))
    lookup.add_patient(6, _row(1, MEMBER_ID="M-TWIN"))
    planner, entries, _ = _plan(lookup, (4, _row(1, MEMBER_ID="M-TWIN")))
    assert planner.errors == []
    assert [p["put"]["id"] for p in _patients(entries)] == [6]


def test_two_rows_matching_one_patient_name_both_rows() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, _row(1), with_member_id=False)
    first = (2, _row(1, MEMBER_ID="ALIAS2"))
    second = (9, _row(1, MEMBER_ID="ALIAS9"))
    planner, entries, _ = _plan(lookup, first, second)
    assert planner.errors == ["Row 9: matches the same patient as row 2"]
    assert [p["row"] for p in _patients(entries)] == [2]


def test_two_rows_matching_one_patient_by_member_id_and_by_name() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, _row(1, MEMBER_ID="KNOWN5"))
    lookup.patients[5]["eligibility"]["member_id"] = None  # the key survives, the id not
    planner, entries, _ = _plan(lookup, (2, _row(1, MEMBER_ID="KNOWN5")), (9, _row(1)))
    assert planner.errors == ["Row 9: matches the same patient as row 2"]
    assert [p["row"] for p in _patients(entries)] == [2]


def test_two_rows_matching_one_patient_across_chunks() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, _row(1), with_member_id=False)
    planner = _planner(lookup)
    planner.plan_chunk([(2, _record(_row(1, MEMBER_ID="ALIAS2")))])
    planner.plan_chunk([(600, _record(_row(1, MEMBER_ID="ALIAS600")))])
    assert planner.errors == ["Row 600: matches the same patient as row 2"]


# --- two members with one name and date of birth are never merged ---------------------------


def test_new_member_id_beside_a_look_alike_creates_a_patient_and_warns() -> None:
    lookup = FakeLookup()
    stored = lookup.add_patient(5, _row(1))  # member id M000000001
    planner, entries, tail = _plan(lookup, (4, _row(1, MEMBER_ID="91234567A")))

    assert planner.errors == []
    assert (planner.created, planner.updated) == (1, 0)
    [entry] = _patients(entries)
    assert entry["prior"] is None
    assert entry["put"]["id"] == 101
    assert entry["put"]["eligibility"]["member_id"] == "91234567A"
    assert planner.warnings == [
        "Row 4: member ID '91234567A' is new; patient 5 (member ID 'M000000001') has the same "
        "name and date of birth. A new patient was created: two member IDs are two members, "
        "never merged"
    ]
    # Patient 5 and its member key are not written; the name key lists both patients.
    assert 5 not in [p["put"]["id"] for p in _patients(entries)]
    assert "member#M000000001" not in _keys(entries)
    assert lookup.patients[5] == stored
    assert _keys(entries)["member#91234567A"]["put"]["patient_id"] == 101
    assert _keys(tail)["name#ben|nguyen1|1951-02-02"]["put"]["patient_ids"] == [5, 101]


def test_the_first_member_id_again_updates_its_own_patient_only() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, _row(1))
    lookup.add_patient(101, _row(1, MEMBER_ID="91234567A"))
    planner, entries, tail = _plan(lookup, (2, _row(1)))
    assert planner.errors == planner.warnings == []
    [entry] = _patients(entries)
    assert (entry["put"]["id"], entry["put"]["eligibility"]["member_id"]) == (5, "M000000001")
    assert tail == []


def test_name_matches_the_patient_without_member_id_beside_one_with_another() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, _row(1))  # M000000001
    lookup.add_patient(6, _row(1, MEMBER_ID="UNUSED"), with_member_id=False)
    planner, entries, _ = _plan(lookup, (3, _row(1, MEMBER_ID="91234567A")))
    assert planner.errors == planner.warnings == []
    [entry] = _patients(entries)
    assert entry["put"]["id"] == 6
    assert entry["prior"] == lookup.patients[6]
    assert entry["put"]["eligibility"]["member_id"] == "91234567A"


def test_every_look_alike_with_another_member_id_is_named() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, _row(1))
    lookup.add_patient(6, _row(1, MEMBER_ID="M-TWIN"))
    planner, entries, _ = _plan(lookup, (4, _row(1, MEMBER_ID="M-THIRD")))
    assert planner.errors == []
    assert [p["put"]["id"] for p in _patients(entries)] == [101]
    assert [w.split(";")[1].split(")")[0] for w in planner.warnings] == [
        " patient 5 (member ID 'M000000001'",
        " patient 6 (member ID 'M-TWIN'",
    ]


def test_rows_of_one_file_with_one_name_and_different_ids_create_two_patients() -> None:
    lookup = FakeLookup()
    planner, entries, tail = _plan(lookup, (2, _row(1)), (3, _row(1, MEMBER_ID="SIBLING")))
    assert planner.errors == []
    assert [p["put"]["id"] for p in _patients(entries)] == [101, 102]
    assert _keys(tail)["name#ben|nguyen1|1951-02-02"]["put"]["patient_ids"] == [101, 102]


# --- providers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "provider"),
    [
        ({"ECM_NPI": VALID_NPI, "ECM_PROVIDER_NAME": "Unknown Name"}, (7, "Esteem Health PSC")),
        ({"ECM_NPI": "", "ECM_PROVIDER_NAME": "  ESTEEM health psc "}, (7, "Esteem Health PSC")),
        ({"ECM_NPI": "", "ECM_PROVIDER_NAME": "other care   GROUP"}, (8, "Other  Care Group")),
        (
            {"ECM_NPI": "1003000126", "ECM_PROVIDER_NAME": "Other Care Group"},
            (8, "Other  Care Group"),
        ),
        ({"ECM_NPI": "", "ECM_PROVIDER_NAME": "Nobody"}, None),
    ],
)
def test_provider_assignment(overrides: dict[str, str], provider: tuple[int, str] | None) -> None:
    lookup = FakeLookup()
    _, entries, _ = _plan(lookup, (2, _row(1, **overrides)), providers=PROVIDERS)
    case_load = _patients(entries)[0]["put"]["case_load"]
    if provider is None:
        assert case_load is None
    else:
        assert case_load == {"provider_id": provider[0], "provider_name": provider[1]}


def test_unknown_provider_keeps_the_prior_case_load() -> None:
    lookup = FakeLookup()
    patient = lookup.add_patient(5, _row(1))
    patient["case_load"] = {"provider_id": 8, "provider_name": "Other  Care Group", "x": 1}
    _, entries, _ = _plan(
        lookup, (2, _row(1, ECM_NPI="", ECM_PROVIDER_NAME="Nobody")), providers=PROVIDERS
    )
    assert _patients(entries)[0]["put"]["case_load"] == patient["case_load"]
    _, entries, _ = _plan(lookup, (2, _row(1)), providers=PROVIDERS)
    assert _patients(entries)[0]["put"]["case_load"] == {
        "provider_id": 7,
        "provider_name": "Esteem Health PSC",
        "x": 1,
    }


# --- updates keep what the file leaves blank --------------------------------------------------


def test_blanks_in_an_update_keep_prior_values() -> None:
    lookup = FakeLookup()
    old = lookup.add_patient(5, _row(1))
    blanks = dict.fromkeys(
        (
            "CIN",
            "DOB",
            "GENDER",
            "ADDRESS",
            "CITY",
            "STATE",
            "ZIP",
            "PHONE",
            "ECM_SERVICE_AUTH_ID",
            "ECM_PROVIDER_NAME",
            "ECM_NPI",
            "ECM_BENEFIT_AUTH_EFF_DATE",
            "ECM_BENEFIT_AUTH_END_DATE",
            "ACUITY_LEVEL",
        ),
        "",
    )
    _, entries, tail = _plan(lookup, (2, _row(1, **blanks)))
    put = _patients(entries)[0]["put"]
    assert put["date_of_birth"] == old["date_of_birth"] == "1951-02-02"
    assert put["gender"] == "female"
    assert put["address"] == old["address"]
    assert put["phone"] == old["phone"]
    for field in (
        "cin",
        "ecm_service_auth_id",
        "ecm_provider_name",
        "ecm_npi",
        "ecm_benefit_auth_eff_date",
        "ecm_benefit_auth_end_date",
        "acuity_level",
    ):
        assert put["eligibility"][field] == old["eligibility"][field], field
    assert put["eligibility"]["acuity_level"] == "medium"
    assert put["version"] == old["version"] + 1
    assert tail == []


def test_new_values_replace_prior_values() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, _row(1))
    row = _row(1, CITY="Cambridge", ZIP="02139-4307", GENDER="U", ECM_SERVICE_AUTH_ID="AUTH9")
    put = _patients(_plan(lookup, (2, row))[1])[0]["put"]
    assert put["address"]["city"] == "Cambridge"
    assert put["address"]["zip"] == "02139-4307"
    assert put["gender"] == "unknown"
    assert put["eligibility"]["ecm_service_auth_id"] == "AUTH9"


def test_prior_status_and_other_data_are_kept() -> None:
    lookup = FakeLookup()
    patient = lookup.add_patient(5, _row(1))
    patient["eligibility"]["member_record_status"] = "continuing_member"
    patient["email"] = "ben@example.org"
    patient["services"] = ["ecm", "chw"]
    put = _patients(_plan(lookup, (2, _row(1)))[1])[0]["put"]
    assert put["eligibility"]["member_record_status"] == "continuing_member"
    assert put["email"] == "ben@example.org"
    assert put["services"] == ["ecm", "chw"]


# --- name changes move the name key -----------------------------------------------------------


def test_name_change_moves_the_patient_to_the_new_name_key() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, _row(1))
    old_key = lookup.keys["name#ben|nguyen1|1951-02-02"]
    _, entries, tail = _plan(lookup, (2, _row(1, LAST_NAME="Nguyen-Park")))

    assert _patients(entries)[0]["put"]["name"] == "Ben Nguyen-Park"
    keys = _keys(tail)
    assert set(keys) == {"name#ben|nguyen1|1951-02-02", "name#ben|nguyen-park|1951-02-02"}
    removed = keys["name#ben|nguyen1|1951-02-02"]
    assert removed["delete"] == {"key": "name#ben|nguyen1|1951-02-02"}
    assert removed["put"] is None
    assert removed["prior"] == old_key
    added = keys["name#ben|nguyen-park|1951-02-02"]
    assert added["put"] == {
        "key": "name#ben|nguyen-park|1951-02-02",
        "patient_ids": [5],
        "version": 1,
        "last_import": TAG,
    }
    assert added["prior"] is None


def test_name_change_keeps_the_other_patients_of_the_old_key() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, _row(1))
    lookup.add_patient(6, _row(1, MEMBER_ID="M-TWIN"))
    lookup.add_patient(
        9, _row(2, FIRST_NAME="Ben", LAST_NAME="Nguyen1", DOB="02-02-1951", MEMBER_ID="M-OTHER")
    )
    prior_old = dict(lookup.keys["name#ben|nguyen1|1951-02-02"])
    # Patient 5 changes their DOB, which changes the name key too.
    _, _, tail = _plan(lookup, (2, _row(1, DOB="02-12-1951")))
    keys = _keys(tail)
    old = keys["name#ben|nguyen1|1951-02-02"]
    assert old["put"]["patient_ids"] == [6, 9]
    assert old["put"]["version"] == prior_old["version"] + 1
    assert old["prior"]["patient_ids"] == [5, 6, 9]
    assert keys["name#ben|nguyen1|1951-02-12"]["put"]["patient_ids"] == [5]


def test_new_patient_added_to_an_existing_empty_name_key_bumps_its_version() -> None:
    lookup = FakeLookup()
    nk = name_key("Ben", "Nguyen1", "1951-02-02")
    assert nk is not None
    lookup.keys[nk] = {"key": nk, "patient_ids": [], "version": 4, "last_import": "mif#3"}
    planner, _, tail = _plan(lookup, (2, _row(1)))
    assert planner.created == 1
    entry = _keys(tail)[nk]
    assert entry["put"]["patient_ids"] == [101]
    assert entry["put"]["version"] == 5
    assert entry["prior"] == lookup.keys[nk]


def test_member_key_pointing_at_a_missing_patient_is_repointed() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, _row(1))
    del lookup.patients[5]  # a dangling key: the patient item is gone
    planner, entries, _ = _plan(lookup, (2, _row(1)))
    assert planner.errors == []
    assert planner.created == 1
    new_id = _patients(entries)[0]["put"]["id"]
    assert new_id == 101
    key = _keys(entries)["member#M000000001"]
    assert key["put"]["patient_id"] == new_id
    assert key["put"]["version"] == 2
    assert key["prior"] == lookup.keys["member#M000000001"]


def test_reads_are_batched_per_chunk() -> None:
    lookup = FakeLookup()
    planner = _planner(lookup)
    planner.plan_chunk([(n, _record(_row(n))) for n in range(2, 12)])
    # One read of the member keys for the chunk, then name keys (batched).
    assert len(lookup.key_reads[0]) == 10
    assert all(k.startswith("member#") for k in lookup.key_reads[0])
    assert len(lookup.key_reads) <= 3


def test_name_key_pointing_at_a_missing_patient_creates_with_a_fresh_id() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, _row(1))
    del lookup.patients[5]
    del lookup.keys["member#M000000001"]
    planner, entries, tail = _plan(lookup, (2, _row(1, MEMBER_ID="NEW1")), (3, _row(2)))
    assert planner.errors == []
    assert planner.created == 2
    assert [p["put"]["id"] for p in _patients(entries)] == [101, 102]
    assert [p["put"]["eligibility"]["id"] for p in _patients(entries)] == [501, 502]
    assert lookup.reserved == [("patient", 2), ("eligibility", 2)]
    assert 101 in _keys(tail)["name#ben|nguyen1|1951-02-02"]["put"]["patient_ids"]
