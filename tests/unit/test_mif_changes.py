"""ecm.kinds.mif.changes: what a plan's MIF adds, changes, leaves and drops against the
plan's list, planned by MifPlanner against an in-memory store that applies each plan."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import pytest
from fixtures_builders import sample_mif_row

from ecm.imports.changes_file import HEADER, csv_line
from ecm.kinds.mif import changes as changes_module
from ecm.kinds.mif.changes import (
    ChangeCounts,
    ChangeLine,
    ChangeTracker,
    field_changes,
    held_values,
    mif_values,
)
from ecm.kinds.mif.planner import MifPlanner
from ecm.kinds.mif.rows import validate_mif_row
from ecm.kinds.plan_entry import PlanEntry
from ecm.patients.providers import ProviderDirectory

Item = dict[str, Any]
PLAN = "healthnet"
NOW = "2025-06-15T12:00:00.000Z"


class Store:
    """Patients, keys and counters in dictionaries; a plan's entries applied as apply would."""

    def __init__(self) -> None:
        self.keys: dict[str, Item] = {}
        self.patients: dict[int, Item] = {}
        self.counters: dict[str, int] = {}

    def get_keys(self, keys: list[str]) -> dict[str, Item]:
        return {k: self.keys[k] for k in keys if k in self.keys}

    def get_patients(self, ids: list[int]) -> dict[int, Item]:
        return {i: self.patients[i] for i in ids if i in self.patients}

    def get_authorizations(self, auth_nos: list[str]) -> dict[str, Item]:
        return {}

    def reserve(self, counter: str, count: int) -> int:
        before = self.counters.get(counter, 0)
        self.counters[counter] = before + count
        return before + 1

    def members(self, plan: str) -> Iterable[int]:
        """The plan's list index: every patient whose eligibility names the plan."""
        return [i for i, p in self.patients.items() if p["eligibility"].get("plan") == plan]

    def apply(self, entries: Iterable[PlanEntry]) -> None:
        for entry in entries:
            table = self.patients if entry.table == "patients" else self.keys
            if entry.put is None:
                table.pop((entry.delete or {})["key"], None)
            elif entry.table == "patients":
                self.patients[int(entry.put["id"])] = entry.put
            elif entry.table == "keys":
                self.keys[entry.put["key"]] = entry.put


class Sink:
    def __init__(self) -> None:
        self.pieces: dict[int, list[ChangeLine]] = {}
        self.summary: tuple[ChangeCounts, int] | None = None

    def put_piece(self, number: int, lines: list[ChangeLine]) -> None:
        self.pieces[number] = list(lines)

    def put_summary(self, counts: ChangeCounts, pieces: int) -> None:
        self.summary = (ChangeCounts(**counts.as_dict()), pieces)

    def lines(self) -> list[ChangeLine]:
        return [line for number in sorted(self.pieces) for line in self.pieces[number]]


def _record(row: dict[str, Any]) -> Item:
    record, errors = validate_mif_row(2, row, False, date(2025, 6, 15))
    assert errors == []
    return record


def _import(
    store: Store,
    file_id: int,
    rows: list[dict[str, Any]],
    plan: str | None = PLAN,
    full_roster: bool = True,
) -> tuple[Sink, list[PlanEntry]]:
    """Plan ``rows`` as file ``file_id`` and apply the plan; the sink and the drop marks."""
    sink = Sink()
    tracker = ChangeTracker(file_id, plan, full_roster, sink, store.members)
    planner = MifPlanner(file_id, store, ProviderDirectory([]), NOW, plan=plan, changes=tracker)
    entries = planner.plan_chunk([(n + 2, _record(row)) for n, row in enumerate(rows)])
    tail = list(planner.finish())
    assert planner.errors == []
    store.apply(entries + tail)
    return sink, [e for e in tail if e.table == "patients"]


def _by_member(store: Store) -> dict[str, Item]:
    return {p["eligibility"]["member_id"]: p for p in store.patients.values()}


# --- the pieces ----------------------------------------------------------------------------


def test_a_change_names_each_field_the_row_gives_another_value_in_file_order() -> None:
    old = {"FIRST_NAME": "Ann", "PHONE": "+16175550001", "CITY": "Boston", "ZIP": "02134"}
    new = {"FIRST_NAME": "Ann", "PHONE": "+16175550002", "CITY": "Salem", "STATE": "MA"}
    assert field_changes(old, new) == [
        "CITY: Boston → Salem",
        "STATE:  → MA",
        "PHONE: +16175550001 → +16175550002",
    ]
    assert field_changes(old, {"FIRST_NAME": "Ann"}) == []  # a blank cell changes nothing


def test_a_rows_values_leave_blanks_out_and_use_the_stored_forms() -> None:
    row = {**sample_mif_row(3), "PHONE": "", "GENDER": "F", "DOB": "03-04-1980"}
    values = mif_values(_record(row))
    assert "PHONE" not in values
    assert (values["GENDER"], values["DOB"], values["MEMBER_ID"]) == (
        "female",
        "1980-03-04",
        "M000000003",
    )


def test_held_values_are_the_snapshot_else_what_the_member_holds() -> None:
    patient = {
        "first_name": "Ann",
        "last_name": "Lee",
        "address": {"street": "1 Main", "city": None},
        "eligibility": {"member_id": "M1", "acuity_level": "high"},
    }
    assert held_values(patient) == {
        "FIRST_NAME": "Ann",
        "LAST_NAME": "Lee",
        "ADDRESS": "1 Main",
        "MEMBER_ID": "M1",
        "ACUITY_LEVEL": "high",
    }
    patient["eligibility"]["mif_values"] = {"MEMBER_ID": "M1", "LAST_NAME": "Leigh"}
    assert held_values(patient) == {"MEMBER_ID": "M1", "LAST_NAME": "Leigh"}


def test_a_csv_line_joins_the_fields_and_escapes_what_a_spreadsheet_would_run() -> None:
    line = ChangeLine("=M1", "changed", ("CITY: Boston → Salem", "ZIP: 02134 → 01970"))
    assert HEADER == ("member_id", "change", "fields")
    assert csv_line(line) == ["'=M1", "changed", "CITY: Boston → Salem; ZIP: 02134 → 01970"]
    assert csv_line(ChangeLine("M2", "dropped")) == ["M2", "dropped", ""]
    assert ChangeLine.load(line.stored()) == line


# --- two months of one plan ----------------------------------------------------------------


def _month_one(store: Store) -> list[dict[str, Any]]:
    rows = [sample_mif_row(i) for i in range(1, 6)]
    sink, drops = _import(store, 1, rows)
    assert sink.summary == (ChangeCounts(added=5), 1)
    assert drops == []
    return rows


def test_the_second_file_adds_changes_keeps_and_drops_members() -> None:
    store = Store()
    rows = _month_one(store)
    before = _by_member(store)
    second = [
        rows[0],  # unchanged
        {**rows[1], "PHONE": "(617) 555-9999", "CITY": "Salem"},  # changed
        {**rows[2], "ADDRESS": ""},  # a blank cell: unchanged
        sample_mif_row(6),  # added
    ]  # rows[3] and rows[4] are left out: dropped
    sink, drops = _import(store, 2, second)

    assert sink.summary == (ChangeCounts(added=1, changed=1, unchanged=2, dropped=2), 1)
    assert sink.lines() == [
        ChangeLine(
            "M000000002",
            "changed",
            ("CITY: Boston → Salem", "PHONE: +16175550002 → +16175559999"),
        ),
        ChangeLine("M000000006", "added"),
        ChangeLine("M000000004", "dropped"),
        ChangeLine("M000000005", "dropped"),
    ]
    after = _by_member(store)
    for member in ("M000000004", "M000000005"):
        old, new = before[member], after[member]
        [mark] = [e for e in drops if e.put and e.put["id"] == old["id"]]
        assert mark.prior == old  # what rollback puts back
        assert new["eligibility"]["in_latest_mif"] is False
        assert new["eligibility"]["dropped_in_mif_file_id"] == 2
        assert (new["version"], new["last_import"]) == (old["version"] + 1, "mif#2")
        unmarked = {**new, "eligibility": dict(new["eligibility"])}
        del unmarked["eligibility"]["in_latest_mif"]
        del unmarked["eligibility"]["dropped_in_mif_file_id"]
        assert {**unmarked, "version": 0, "last_import": ""} == {
            **old,
            "version": 0,
            "last_import": "",
        }  # nothing else about them changed
    assert "in_latest_mif" not in after["M000000001"]["eligibility"]


def test_a_hand_edit_since_the_last_file_is_not_the_plans_change() -> None:
    store = Store()
    rows = _month_one(store)
    edited = _by_member(store)["M000000001"]
    edited["last_name"] = "Corrected"  # PUT /patients/{id}
    sink, _ = _import(store, 2, rows)
    assert sink.summary == (ChangeCounts(unchanged=5), 0)
    assert sink.lines() == []


def test_a_member_imported_before_snapshots_is_compared_with_what_it_holds() -> None:
    store = Store()
    rows = _month_one(store)
    for patient in store.patients.values():
        del patient["eligibility"]["mif_values"]
    held = _record(rows[1])["acuity_level"]
    other = "low" if held == "high" else "high"
    sink, _ = _import(store, 2, [rows[0], {**rows[1], "ACUITY_LEVEL": other}, *rows[2:]])
    [line] = sink.lines()
    assert line.change == "changed"
    assert line.fields == (f"ACUITY_LEVEL: {held} → {other}",)
    snapshot = _by_member(store)["M000000001"]["eligibility"]["mif_values"]
    assert snapshot == mif_values(_record(rows[0]))


def test_a_later_file_listing_a_dropped_member_clears_the_mark_and_adds_it() -> None:
    store = Store()
    rows = _month_one(store)
    _import(store, 2, rows[:4])
    assert _by_member(store)["M000000005"]["eligibility"]["in_latest_mif"] is False
    sink, drops = _import(store, 3, rows[:3])  # M5 is not dropped twice; M4 is
    assert [line.member_id for line in sink.lines()] == ["M000000004"]
    assert len(drops) == 1
    sink, drops = _import(store, 4, rows)
    assert sink.summary == (ChangeCounts(added=2, unchanged=3), 1)
    assert drops == []
    for member in ("M000000004", "M000000005"):
        eligibility = _by_member(store)[member]["eligibility"]
        assert "in_latest_mif" not in eligibility
        assert "dropped_in_mif_file_id" not in eligibility


def test_a_member_of_another_plan_is_added_and_is_no_drop_of_its_old_plan() -> None:
    store = Store()
    rows = _month_one(store)
    sink, _ = _import(store, 2, [rows[0]], plan="other")
    assert sink.summary == (ChangeCounts(added=1), 1)
    sink, _ = _import(store, 3, rows[1:])
    assert sink.summary == (ChangeCounts(unchanged=4), 0)


def test_a_plan_without_a_full_roster_drops_nobody() -> None:
    store = Store()
    rows = _month_one(store)
    sink, drops = _import(store, 2, rows[:2], full_roster=False)
    assert sink.summary == (ChangeCounts(unchanged=2), 0)
    assert drops == []
    assert all("in_latest_mif" not in p["eligibility"] for p in store.patients.values())


def test_a_file_naming_no_plan_reports_nothing_and_keeps_the_snapshots() -> None:
    store = Store()
    rows = _month_one(store)
    sink, drops = _import(store, 2, [{**rows[0], "CITY": "Salem"}], plan=None)
    assert (sink.summary, sink.pieces, drops) == (None, {}, [])
    patient = _by_member(store)["M000000001"]
    assert patient["eligibility"]["mif_values"]["CITY"] == "Salem"
    assert patient["eligibility"]["plan"] == PLAN


def test_the_lines_go_to_the_sink_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(changes_module, "LINES_PER_PIECE", 2)
    store = Store()
    sink, _ = _import(store, 1, [sample_mif_row(i) for i in range(1, 6)])
    assert sink.summary == (ChangeCounts(added=5), 3)
    assert [len(sink.pieces[n]) for n in range(3)] == [2, 2, 1]
