"""ecm.authorization_plan.AuthorizationPlanner (and the MIF side that links pending
authorizations) against an in-memory lookup: create/update by AUTH_NO, linking, unlinked
authorizations, member statuses and their history (docs/using/authorization-imports.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fixtures_builders import sample_auth_row, sample_mif_row

from ecm.kinds.authorization.planner import AuthorizationPlanner, pending_key
from ecm.kinds.authorization.rows import validate_authorization_row
from ecm.kinds.mif.planner import MifPlanner
from ecm.kinds.mif.rows import validate_mif_row
from ecm.kinds.plan_entry import PlanEntry
from ecm.patients.items import build_patient, member_key
from ecm.patients.providers import ProviderDirectory

Item = dict[str, Any]
NOW = "2025-06-15T12:00:00.000Z"
EARLIER = "2024-01-01T00:00:00.000Z"
TODAY = date(2025, 6, 15)
FILE_ID = 42
TAG = f"authorization#{FILE_ID}"


class FakeLookup:
    """Key, patient and authorization items and counters in dictionaries (as in
    test_mif_plan.py), plus the authorizations table; records what was asked."""

    def __init__(self) -> None:
        self.keys: dict[str, Item] = {}
        self.patients: dict[int, Item] = {}
        self.authorizations: dict[str, Item] = {}
        self.counters: dict[str, int] = {
            "patient": 100,
            "eligibility": 500,
            "authorization": 900,
            "status_history": 40,
        }
        self.key_reads: list[list[str]] = []
        self.auth_reads: list[list[str]] = []
        self.reserved: list[tuple[str, int]] = []

    def get_keys(self, keys: list[str]) -> dict[str, Item]:
        self.key_reads.append(list(keys))
        return {k: self.keys[k] for k in keys if k in self.keys}

    def get_patients(self, ids: list[int]) -> dict[int, Item]:
        return {i: self.patients[i] for i in ids if i in self.patients}

    def get_authorizations(self, auth_nos: list[str]) -> dict[str, Item]:
        self.auth_reads.append(list(auth_nos))
        return {a: self.authorizations[a] for a in auth_nos if a in self.authorizations}

    def reserve(self, counter: str, count: int) -> int:
        self.reserved.append((counter, count))
        before = self.counters.get(counter, 0)
        self.counters[counter] = before + count
        return before + 1

    def add_patient(
        self,
        patient_id: int,
        i: int,
        status: str = "new_member",
        approved: list[str] | None = None,
        version: int = 3,
    ) -> Item:
        """Store the patient of ``sample_mif_row(i)`` with its member key."""
        record = _mif_record(sample_mif_row(i))
        patient = build_patient(
            None, record, patient_id, patient_id + 1000, 1, None, "mif#1", EARLIER
        )
        patient["version"] = version
        patient["eligibility"]["member_record_status"] = status
        if approved is not None:
            patient["approved_auth_nos"] = approved
        self.patients[patient_id] = patient
        mk = member_key(record["member_id"])
        self.keys[mk] = {"key": mk, "patient_id": patient_id, "version": 1, "last_import": "mif#1"}
        return patient

    def add_authorization(self, auth_id: int, row: Item, **extra: Any) -> Item:
        """Store an authorization as an earlier import left it."""
        item = {
            **_auth_record(row),
            "id": auth_id,
            "patient_id": None,
            "ecm_eligibility_information_id": None,
            "patient_name": None,
            "authorization_file_id": 7,
            "created_at": EARLIER,
            "updated_at": EARLIER,
            "version": 2,
            "last_import": "authorization#7",
            **extra,
        }
        self.authorizations[item["auth_no"]] = item
        return item


def _mif_record(row: Item) -> Item:
    record, errors = validate_mif_row(2, row, False, TODAY)
    assert errors == []
    return record


def _auth_record(row: Item) -> Item:
    record, errors = validate_authorization_row(2, row, True, TODAY)
    assert errors == []
    return record


def _auth(i: int, **overrides: Any) -> Item:
    return _auth_record(sample_auth_row(i, **overrides))


def _plan(
    lookup: FakeLookup, *rows: tuple[int, Item]
) -> tuple[AuthorizationPlanner, list[Item], list[Item]]:
    planner = AuthorizationPlanner(FILE_ID, lookup, NOW)
    entries = planner.plan_chunk(list(rows))
    return planner, entries, list(planner.finish())


def _decoded(entries: list[PlanEntry], kind: str) -> list[Item]:
    """Each entry of table ``kind`` as a dict of its parts."""
    return [
        {
            "row": entry.row,
            "put": entry.put,
            "prior": entry.prior,
            "delete": entry.delete,
            "snap": entry.snapshot,
        }
        for entry in entries
        if entry.table == kind
    ]


def _auths(entries: list[Item]) -> list[Item]:
    return _decoded(entries, "authorizations")


def _patients(entries: list[Item]) -> list[Item]:
    return _decoded(entries, "patients")


def _keys(entries: list[Item]) -> dict[str, Item]:
    return {(e["put"] or e["delete"])["key"]: e for e in _decoded(entries, "keys")}


def _statuses(patient: Item) -> list[tuple[int, str]]:
    return [(h["id"], h["status"]) for h in patient["ecm_status_history"]]


# --- create versus update ------------------------------------------------------------------


def test_new_auth_nos_create_authorizations_with_reserved_ids() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, 1)
    lookup.add_patient(6, 2)
    planner, entries, _ = _plan(lookup, (2, _auth(1)), (3, _auth(2)))

    assert (planner.created, planner.updated) == (2, 0)
    assert planner.errors == []
    assert planner.warnings == []
    assert ("authorization", 2) in lookup.reserved
    auths = _auths(entries)
    assert [(a["row"], a["put"]["id"], a["prior"]) for a in auths] == [
        (2, 901, None),
        (3, 902, None),
    ]
    put = auths[0]["put"]
    assert put == {
        **_auth(1),
        "id": 901,
        "patient_id": 5,
        "ecm_eligibility_information_id": 1005,
        "patient_name": "Ben Nguyen1",
        "authorization_file_id": FILE_ID,
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
        "last_import": TAG,
    }
    assert auths[0]["snap"] == {
        "id": 901,
        "auth_no": "AUTH0000000001",
        "auth_type": "ES",
        "auth_description": "ECM Service",
        "member_id": "M000000001",
        "member_name": "Ben Nguyen1",
        "authorization_type": "Form I",
        "status": "Approved",
        "requesting_provider": "Dr. Smith",
        "servicing_provider": "Esteem Health PSC",
        "received_date": "2024-02-02",
        "decision_date": "2024-02-03",
        "start_date": "2024-02-03",
        "expiration_date": "2025-02-02",
        "contact_name": "Jane Contact",
        "remarks": "Authorization 1",
        "ecm_eligibility_information_id": 1005,
        "patient_id": 5,
        "patient_name": "Ben Nguyen1",
        "created_at": NOW,
        "updated_at": NOW,
    }
    assert auths[1]["put"]["patient_id"] == 6


def test_existing_auth_no_is_updated_with_its_prior_image() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, 1)
    old = lookup.add_authorization(
        77,
        sample_auth_row(1, STATUS="Pending"),
        patient_id=5,
        ecm_eligibility_information_id=1005,
        patient_name="Ben Nguyen1",
    )
    planner, entries, _ = _plan(lookup, (4, _auth(1, REMARKS="Now approved")))

    assert (planner.created, planner.updated) == (0, 1)
    assert not [r for r in lookup.reserved if r[0] == "authorization"]
    [entry] = _auths(entries)
    assert entry["row"] == 4
    assert entry["prior"] == old
    put = entry["put"]
    assert put["id"] == 77
    assert put["version"] == 3
    assert put["status"] == "Approved"
    assert put["remarks"] == "Now approved"
    assert put["created_at"] == EARLIER
    assert put["updated_at"] == NOW
    assert put["authorization_file_id"] == FILE_ID
    assert put["last_import"] == TAG
    assert entry["snap"]["created_at"] == EARLIER
    assert entry["snap"]["id"] == 77


def test_mixed_chunk_counts_and_reserves_only_the_new_ones() -> None:
    lookup = FakeLookup()
    lookup.add_authorization(77, sample_auth_row(2))
    planner, entries, _ = _plan(lookup, (2, _auth(1)), (3, _auth(2)), (4, _auth(3)))
    assert (planner.created, planner.updated) == (2, 1)
    assert [r for r in lookup.reserved if r[0] == "authorization"] == [("authorization", 2)]
    assert [a["put"]["id"] for a in _auths(entries)] == [901, 77, 902]
    assert lookup.auth_reads == [["AUTH0000000001", "AUTH0000000002", "AUTH0000000003"]]


def test_ids_continue_across_chunks() -> None:
    lookup = FakeLookup()
    planner = AuthorizationPlanner(FILE_ID, lookup, NOW)
    first = planner.plan_chunk([(2, _auth(1))])
    second = planner.plan_chunk([(3, _auth(2)), (4, _auth(3))])
    assert [a["put"]["id"] for a in _auths(first + second)] == [901, 902, 903]
    assert planner.created == 3


# --- linking to the member's patient -------------------------------------------------------


def test_member_id_links_case_insensitively() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, 1)
    planner, entries, _ = _plan(lookup, (2, _auth(1, MEMBER_ID="m000000001")))
    [entry] = _auths(entries)
    assert entry["put"]["member_id"] == "m000000001"
    for image in (entry["put"], entry["snap"]):
        assert image["patient_id"] == 5
        assert image["ecm_eligibility_information_id"] == 1005
        assert image["patient_name"] == "Ben Nguyen1"
    assert planner.warnings == []
    assert planner.unlinked_count == 0


def test_member_reads_are_batched_and_cached() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, 1)
    planner = AuthorizationPlanner(FILE_ID, lookup, NOW)
    planner.plan_chunk([(2, _auth(1)), (3, _auth(1, AUTH_NO="X2")), (4, _auth(2))])
    planner.plan_chunk([(5, _auth(1, AUTH_NO="X3"))])
    assert len(lookup.key_reads) == 1
    assert sorted(lookup.key_reads[0]) == ["member#M000000001", "member#M000000002"]


def test_key_pointing_at_a_missing_patient_leaves_the_authorization_unlinked() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, 1)
    del lookup.patients[5]
    planner, entries, tail = _plan(lookup, (2, _auth(1)))
    assert _auths(entries)[0]["put"]["patient_id"] is None
    assert planner.unlinked_count == 1
    assert list(_keys(tail)) == ["pending#M000000001"]


def test_update_of_a_linked_authorization_keeps_its_link() -> None:
    lookup = FakeLookup()
    lookup.add_authorization(
        77, sample_auth_row(1), patient_id=5, ecm_eligibility_information_id=1005, patient_name="B"
    )
    planner, entries, tail = _plan(lookup, (2, _auth(1)))
    put = _auths(entries)[0]["put"]
    assert (put["patient_id"], put["ecm_eligibility_information_id"], put["patient_name"]) == (
        5,
        1005,
        "B",
    )
    assert planner.warnings == []
    assert tail == []


def test_authorization_moved_to_an_unknown_member_is_unlinked() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, 1)
    lookup.add_authorization(
        77, sample_auth_row(1), patient_id=5, ecm_eligibility_information_id=1005, patient_name="B"
    )
    planner, entries, tail = _plan(lookup, (2, _auth(1, MEMBER_ID="NEWMEMBER")))
    put = _auths(entries)[0]["put"]
    assert put["member_id"] == "NEWMEMBER"
    assert put["patient_id"] is None
    assert put["ecm_eligibility_information_id"] is None
    assert put["patient_name"] is None
    assert planner.unlinked_count == 1
    assert _keys(tail)["pending#NEWMEMBER"]["put"]["auth_nos"] == ["AUTH0000000001"]
    assert _patients(tail) == []  # the old member's status is not touched


def test_authorization_moved_to_another_known_member_links_there() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, 1)
    lookup.add_patient(6, 2, status="pending_member")
    lookup.add_authorization(
        77, sample_auth_row(1), patient_id=5, ecm_eligibility_information_id=1005, patient_name="B"
    )
    _, entries, tail = _plan(lookup, (2, _auth(1, MEMBER_ID="M000000002")))
    assert _auths(entries)[0]["put"]["patient_id"] == 6
    assert [p["put"]["id"] for p in _patients(tail)] == [6]


# --- unlinked authorizations ---------------------------------------------------------------


def test_unknown_member_is_stored_unlinked_with_a_warning_and_a_pending_key() -> None:
    lookup = FakeLookup()
    planner, entries, tail = _plan(
        lookup, (2, _auth(9)), (3, _auth(9, AUTH_NO="AUTHX", MEMBER_ID="m000000009"))
    )
    assert (planner.created, planner.updated) == (2, 0)
    assert planner.unlinked_count == 2
    assert planner.warnings == [
        "Row 2: member 'M000000009' is not known yet; the authorization is stored unlinked and "
        "linked when a MIF brings the member",
        "Row 3: member 'm000000009' is not known yet; the authorization is stored unlinked and "
        "linked when a MIF brings the member",
    ]
    for entry in _auths(entries):
        assert entry["put"]["patient_id"] is None
        assert entry["put"]["ecm_eligibility_information_id"] is None
        assert entry["put"]["patient_name"] is None
        assert entry["snap"]["patient_id"] is None
    keys = _keys(tail)
    assert list(keys) == ["pending#M000000009"]
    assert keys["pending#M000000009"]["put"] == {
        "key": "pending#M000000009",
        "auth_nos": ["AUTH0000000009", "AUTHX"],
        "version": 1,
        "last_import": TAG,
    }
    assert keys["pending#M000000009"]["prior"] is None
    assert _patients(tail) == []


def test_pending_key_merges_with_an_existing_one() -> None:
    lookup = FakeLookup()
    key = pending_key("M000000009")
    existing = {
        "key": key,
        "auth_nos": ["OLD1", "AUTH0000000009"],
        "version": 4,
        "last_import": "x",
    }
    lookup.keys[key] = existing
    lookup.add_authorization(55, sample_auth_row(9))  # stored unlinked by an earlier file
    planner, _, tail = _plan(lookup, (2, _auth(9)), (3, _auth(9, AUTH_NO="NEW2")))
    assert (planner.created, planner.updated) == (1, 1)
    entry = _keys(tail)[key]
    assert entry["put"] == {
        "key": key,
        "auth_nos": ["OLD1", "AUTH0000000009", "NEW2"],
        "version": 5,
        "last_import": TAG,
    }
    assert entry["prior"] == existing


def test_pending_key_spelling() -> None:
    assert pending_key(" m123 ") == "pending#M123"


def test_warnings_are_capped_but_every_unlinked_row_is_counted() -> None:
    lookup = FakeLookup()
    rows = [(n, _auth(1000 + n)) for n in range(2, 152)]
    planner, _, tail = _plan(lookup, *rows)
    assert planner.unlinked_count == 150
    assert len(planner.warnings) == 100
    assert len(_keys(tail)) == 150


# --- member statuses -----------------------------------------------------------------------


def test_several_authorizations_for_one_member_apply_in_decision_date_order() -> None:
    lookup = FakeLookup()
    old = lookup.add_patient(5, 1, status="new_member", version=3)
    rows = [
        (
            2,
            _auth(
                1,
                AUTH_NO="A-3",
                STATUS="Cancel",
                RECEIVED_DATE="2024-03-01",
                DECISION_DATE="2024-03-01",
            ),
        ),
        (
            3,
            _auth(
                1,
                AUTH_NO="A-2",
                STATUS="Approved",
                RECEIVED_DATE="2024-02-01",
                DECISION_DATE="2024-02-01",
            ),
        ),
        (
            4,
            _auth(
                1,
                AUTH_NO="A-1",
                STATUS="Pending",
                RECEIVED_DATE="2024-01-01",
                DECISION_DATE="2024-01-01",
            ),
        ),
        (
            5,
            _auth(
                1,
                AUTH_NO="A-4",
                STATUS="Denied",
                RECEIVED_DATE="2024-04-01",
                DECISION_DATE="2024-04-01",
            ),
        ),
    ]
    _, entries, tail = _plan(lookup, *rows)
    assert len(_auths(entries)) == 4
    assert _patients(entries) == []  # patients are planned once, at the end

    [entry] = _patients(tail)
    assert entry["prior"] == old
    patient = entry["put"]
    assert patient["id"] == 5
    assert patient["version"] == 4
    assert patient["last_import"] == TAG
    assert patient["updated_at"] == NOW
    assert patient["eligibility"]["member_record_status"] == "terminated_member"
    assert patient["eligibility"]["updated_at"] == NOW
    assert patient["approved_auth_nos"] == ["A-2"]
    assert _statuses(patient) == [
        (41, "pending_member"),
        (42, "new_member"),
        (43, "terminated_member"),
    ]
    assert all(
        h["changed_by"] == "System Import" and h["changed_at"] == NOW
        for h in patient["ecm_status_history"]
    )
    assert ("status_history", 3) in lookup.reserved


def test_second_approval_in_one_file_makes_a_continuing_member() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, 1, status="pending_member")
    rows = [
        (2, _auth(1, AUTH_NO="A-220000-2", RECEIVED_DATE="2024-03-01", DECISION_DATE="2024-03-01")),
        (3, _auth(1, AUTH_NO="A-220000-1", RECEIVED_DATE="2024-01-15", DECISION_DATE="2024-01-15")),
    ]
    _, _, tail = _plan(lookup, *rows)
    patient = _patients(tail)[0]["put"]
    assert patient["eligibility"]["member_record_status"] == "continuing_member"
    assert patient["approved_auth_nos"] == ["A-220000-1", "A-220000-2"]
    assert [s for _, s in _statuses(patient)] == ["new_member", "continuing_member"]


def test_an_earlier_approval_from_another_file_makes_a_continuing_member() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, 1, status="terminated_member", approved=["OLD"])
    _, _, tail = _plan(lookup, (2, _auth(1)))
    patient = _patients(tail)[0]["put"]
    assert patient["eligibility"]["member_record_status"] == "continuing_member"
    assert patient["approved_auth_nos"] == ["OLD", "AUTH0000000001"]


def test_events_of_one_member_spread_over_chunks_apply_together() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, 1)
    planner = AuthorizationPlanner(FILE_ID, lookup, NOW)
    planner.plan_chunk([(2, _auth(1, AUTH_NO="LATE", STATUS="Cancel", DECISION_DATE="2024-06-01"))])
    planner.plan_chunk(
        [(900, _auth(1, AUTH_NO="EARLY", STATUS="Pending", DECISION_DATE="2024-02-05"))]
    )
    [entry] = _patients(list(planner.finish()))
    assert [s for _, s in _statuses(entry["put"])] == ["pending_member", "terminated_member"]


def test_unchanged_status_records_only_the_latest_authorization() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, 1, status="new_member", approved=["AUTH0000000001"])
    lookup.add_patient(6, 2, status="pending_member")
    lookup.add_patient(7, 3, status="terminated_member")
    _, _, tail = _plan(
        lookup,
        (2, _auth(1)),  # re-import of the same approval: stays new_member
        (3, _auth(2, STATUS="Pending")),
        (4, _auth(3, STATUS="Denied")),
    )
    written = {e["put"]["id"]: e["put"] for e in _patients(tail)}
    # No status changes and no history; only each member's latest authorization is noted
    # (it backs filters.authorization_status).
    assert {pid: p["eligibility"]["member_record_status"] for pid, p in written.items()} == {
        5: "new_member",
        6: "pending_member",
        7: "terminated_member",
    }
    assert all(p["ecm_status_history"] == [] for p in written.values())
    assert {pid: p["latest_authorization_status"] for pid, p in written.items()} == {
        5: "Approved",
        6: "Pending",
        7: "Denied",
    }
    assert not [r for r in lookup.reserved if r[0] == "status_history"]


def test_first_approval_of_a_new_member_records_the_auth_without_history() -> None:
    lookup = FakeLookup()
    old = lookup.add_patient(5, 1, status="new_member")
    _, _, tail = _plan(lookup, (2, _auth(1)))
    [entry] = _patients(tail)
    assert entry["prior"] == old
    assert entry["put"]["version"] == old["version"] + 1
    assert entry["put"]["approved_auth_nos"] == ["AUTH0000000001"]
    assert entry["put"]["ecm_status_history"] == []
    assert entry["put"]["eligibility"]["member_record_status"] == "new_member"
    assert not [r for r in lookup.reserved if r[0] == "status_history"]


def test_history_ids_are_reserved_once_for_every_changed_patient() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, 1)
    lookup.add_patient(6, 2)
    prior_history = [{"id": 7, "status": "new_member", "changed_at": EARLIER, "changed_by": "x"}]
    lookup.patients[6]["ecm_status_history"] = prior_history
    _, _, tail = _plan(
        lookup,
        (2, _auth(2, STATUS="Cancel")),
        (3, _auth(1, STATUS="Pending")),
        (4, _auth(1, AUTH_NO="A2", STATUS="Cancel", DECISION_DATE="2025-01-01")),
    )
    assert [r for r in lookup.reserved if r[0] == "status_history"] == [("status_history", 3)]
    patients = {p["put"]["id"]: p for p in _patients(tail)}
    assert _statuses(patients[5]["put"]) == [(41, "pending_member"), (42, "terminated_member")]
    assert _statuses(patients[6]["put"]) == [(7, "new_member"), (43, "terminated_member")]
    assert patients[6]["prior"]["ecm_status_history"] == prior_history
    assert lookup.patients[5].get("ecm_status_history") is None  # the lookup is not mutated


def test_patient_gone_by_the_end_is_skipped() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, 1)
    planner = AuthorizationPlanner(FILE_ID, lookup, NOW)
    planner.plan_chunk([(2, _auth(1, STATUS="Cancel"))])
    del lookup.patients[5]
    assert list(planner.finish()) == []


# --- a MIF import links what was waiting ---------------------------------------------------


def _store_unlinked(lookup: FakeLookup, i: int, *rows: Item) -> list[Item]:
    """What an authorization import leaves for an unknown member: items and a pending key."""
    stored = [lookup.add_authorization(800 + n, row) for n, row in enumerate(rows)]
    member = sample_mif_row(i)["MEMBER_ID"]
    key = pending_key(member)
    lookup.keys[key] = {
        "key": key,
        "auth_nos": [a["auth_no"] for a in stored],
        "version": 1,
        "last_import": "authorization#7",
    }
    return stored


def _mif_plan(lookup: FakeLookup, *rows: tuple[int, Item]) -> tuple[MifPlanner, list[Item]]:
    planner = MifPlanner(FILE_ID, lookup, ProviderDirectory([]), NOW)
    entries = planner.plan_chunk([(n, _mif_record(r)) for n, r in rows])
    return planner, entries


def test_mif_that_brings_the_member_links_its_pending_authorizations() -> None:
    lookup = FakeLookup()
    stored = _store_unlinked(
        lookup,
        1,
        sample_auth_row(
            1,
            AUTH_NO="P-1",
            STATUS="Pending",
            RECEIVED_DATE="2024-01-01",
            DECISION_DATE="2024-01-01",
        ),
        sample_auth_row(
            1,
            AUTH_NO="C-1",
            STATUS="Cancel",
            RECEIVED_DATE="2024-02-01",
            DECISION_DATE="2024-02-01",
        ),
    )
    pending_before = dict(lookup.keys["pending#M000000001"])
    planner, entries = _mif_plan(lookup, (2, sample_mif_row(1)), (3, sample_mif_row(2)))

    assert planner.errors == []
    assert planner.created == 2
    assert planner.linked_authorizations == 2

    auths = {a["put"]["auth_no"]: a for a in _auths(entries)}
    assert set(auths) == {"P-1", "C-1"}
    for original in stored:
        entry = auths[original["auth_no"]]
        assert entry["prior"] == original
        put = entry["put"]
        assert put["patient_id"] == 101
        assert put["ecm_eligibility_information_id"] == 501
        assert put["patient_name"] == "Ben Nguyen1"
        assert put["version"] == original["version"] + 1
        assert put["updated_at"] == NOW
        assert put["status"] == original["status"]

    keys = _keys(entries)
    removed = keys["pending#M000000001"]
    assert removed["delete"] == {"key": "pending#M000000001"}
    assert removed["put"] is None
    assert removed["prior"] == pending_before
    assert "pending#M000000002" not in keys

    patients = {p["put"]["id"]: p for p in _patients(entries)}
    linked = patients[101]["put"]
    assert linked["eligibility"]["member_record_status"] == "terminated_member"
    assert _statuses(linked) == [(41, "pending_member"), (42, "terminated_member")]
    assert all(h["changed_by"] == "System Import" for h in linked["ecm_status_history"])
    assert patients[101]["snap"]["member_record_status"] == "terminated_member"
    other = patients[102]["put"]
    assert other["eligibility"]["member_record_status"] == "new_member"
    assert other.get("ecm_status_history") in (None, [])
    assert ("status_history", 2) in lookup.reserved


def test_mif_link_of_an_approved_authorization_records_it() -> None:
    lookup = FakeLookup()
    _store_unlinked(lookup, 1, sample_auth_row(1, AUTH_NO="AP-1"))
    _, entries = _mif_plan(lookup, (2, sample_mif_row(1)))
    patient = _patients(entries)[0]["put"]
    assert patient["eligibility"]["member_record_status"] == "new_member"
    assert patient["approved_auth_nos"] == ["AP-1"]
    assert patient["ecm_status_history"] == []  # new_member already: no change, no history
    assert not [r for r in lookup.reserved if r[0] == "status_history"]


def test_mif_skips_authorizations_linked_meanwhile_but_still_drops_the_key() -> None:
    lookup = FakeLookup()
    _store_unlinked(lookup, 1, sample_auth_row(1, AUTH_NO="X-1", STATUS="Cancel"))
    lookup.authorizations["X-1"]["patient_id"] = 55
    planner, entries = _mif_plan(lookup, (2, sample_mif_row(1)))
    assert _auths(entries) == []
    assert planner.linked_authorizations == 0
    assert _keys(entries)["pending#M000000001"]["delete"] == {"key": "pending#M000000001"}
    assert _patients(entries)[0]["put"]["eligibility"]["member_record_status"] == "new_member"


def test_mif_update_of_a_known_member_does_not_look_for_pending_keys() -> None:
    lookup = FakeLookup()
    lookup.add_patient(5, 1)
    _, entries = _mif_plan(lookup, (2, sample_mif_row(1)))
    assert not any(k.startswith("pending#") for read in lookup.key_reads for k in read)
    assert _auths(entries) == []


def test_authorization_import_then_mif_then_authorization_import() -> None:
    """The whole round trip through the planners, applying each plan to the lookup."""
    lookup = FakeLookup()

    def apply(entries: list[PlanEntry]) -> None:
        for entry in entries:
            if entry.put:
                item = entry.put
                if entry.table == "authorizations":
                    lookup.authorizations[item["auth_no"]] = item
                elif entry.table == "patients":
                    lookup.patients[item["id"]] = item
                else:
                    lookup.keys[item["key"]] = item
            elif entry.delete:
                lookup.keys.pop(entry.delete["key"], None)

    planner, entries, tail = _plan(lookup, (2, _auth(1, STATUS="Pending")))
    assert planner.unlinked_count == 1
    apply(entries + tail)
    assert lookup.authorizations["AUTH0000000001"]["patient_id"] is None
    assert "pending#M000000001" in lookup.keys

    _, entries = _mif_plan(lookup, (2, sample_mif_row(1)))
    apply(entries)
    assert "pending#M000000001" not in lookup.keys
    assert lookup.authorizations["AUTH0000000001"]["patient_id"] == 101
    assert lookup.patients[101]["eligibility"]["member_record_status"] == "pending_member"

    planner, entries, tail = _plan(lookup, (2, _auth(1, STATUS="Approved")))
    assert (planner.created, planner.updated, planner.unlinked_count) == (0, 1, 0)
    apply(entries + tail)
    patient = lookup.patients[101]
    assert patient["eligibility"]["member_record_status"] == "new_member"
    assert [s for _, s in _statuses(patient)] == ["pending_member", "new_member"]
    assert lookup.authorizations["AUTH0000000001"]["status"] == "Approved"
