"""A MIF's columns no field is known by, kept as the member's plan fields: what a file keeps
and says it could not, how a row merges into what the member had, and a return-file column
that names one."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from fixtures_builders import mif_csv, mif_xlsx, mif_xml, sample_mif_row

from ecm.exports.layouts import Column, KindLayout, LayoutError, PlanDocument, effective_layout
from ecm.exports.rows import ExportRow, column_cell, plan_field
from ecm.exports.rtf import RTF_FIELDS
from ecm.files.kept import MAX_COLUMNS, MAX_VALUE, KeptColumns, kept_text
from ecm.imports.stages.validate import validate_file
from ecm.kinds.mif.plan_fields import (
    MAX_FIELDS,
    PlanFieldChange,
    PlanFields,
    merge_plan_fields,
    plan_field_changes,
)
from ecm.kinds.mif.planner import MifPlanner
from ecm.kinds.mif.rows import validate_mif_row
from ecm.kinds.registry import MIF
from ecm.models import Patient
from ecm.patients.detail import patient_detail_body
from ecm.patients.items import build_patient, member_key
from ecm.patients.providers import ProviderDirectory
from ecm.plans.columns import plan_field_problems
from ecm.store import to_item

Item = dict[str, Any]
NOW = "2026-12-07T13:15:56.000Z"
TODAY = date(2026, 12, 7)


def test_a_non_empty_cell_replaces_an_empty_one_keeps_and_an_absent_column_keeps() -> None:
    old = {"County": "Alameda", "Email": "a@example.org", "Referral": "Clinic A"}
    merged, left_out = merge_plan_fields(
        old, ["County", "Email", "POF"], ["Contra Costa", "", "Homeless"]
    )
    assert merged == {
        "County": "Contra Costa",  # replaced
        "Email": "a@example.org",  # an empty cell keeps it
        "Referral": "Clinic A",  # a column this file lacks keeps it
        "POF": "Homeless",  # new
    }
    assert left_out == 0
    # A row whose kept cells are all blank (its texts trimmed to nothing) keeps everything.
    assert merge_plan_fields(old, ["County"], []) == (old, 0)
    assert merge_plan_fields(None, ["County"], None) == ({}, 0)


def test_a_member_keeps_at_most_100_fields_this_files_first() -> None:
    old = {f"Old {i}": str(i) for i in range(80)}
    headers = [f"New {i}" for i in range(40)]
    merged, left_out = merge_plan_fields(old, headers, ["x"] * 40)
    assert len(merged) == MAX_FIELDS == 100
    assert left_out == 20
    assert all(merged[h] == "x" for h in headers)
    assert [h for h in merged if h.startswith("Old")] == [f"Old {i}" for i in range(60)]


def test_changes_between_two_images_name_each_header() -> None:
    old = {"County": "Alameda", "Email": "a@example.org"}
    new = {"County": "Fresno", "Email": "a@example.org", "POF": "Homeless"}
    assert plan_field_changes(old, new) == [
        PlanFieldChange("County", "Alameda", "Fresno"),
        PlanFieldChange("POF", None, "Homeless"),
    ]
    assert plan_field_changes(None, None) == []
    assert plan_field_changes(new, None)[0] == PlanFieldChange("County", "Fresno", None)


def _patient(plan: str | None, fields: dict[str, str] | None, **row: str) -> Item:
    record, errors = validate_mif_row(2, {**sample_mif_row(5), **row}, False, TODAY)
    assert errors == []
    patient = build_patient(None, record, 7, 70, 1, None, "mif#1", NOW, plan=plan)
    if fields:
        patient["eligibility"]["plan_fields"] = fields
    return patient


def test_a_member_whose_plan_changes_starts_afresh() -> None:
    prior = _patient("plan-a", {"County": "Alameda", "Email": "a@example.org"})
    kept = PlanFields(("County",))
    same = _patient("plan-a", None)
    kept.apply(prior, same, {"plan_fields": ["Fresno"]})
    assert same["eligibility"]["plan_fields"] == {"County": "Fresno", "Email": "a@example.org"}
    other = _patient("plan-b", None)
    kept.apply(prior, other, {"plan_fields": ["Fresno"]})
    assert other["eligibility"]["plan_fields"] == {"County": "Fresno"}
    # Nothing kept and nothing before: the eligibility holds no plan_fields at all.
    bare = _patient("plan-b", None)
    kept.apply(prior, bare, {})
    assert "plan_fields" not in bare["eligibility"]
    assert kept.warnings() == []


def test_a_file_keeps_100_columns_of_200_characters_and_says_once_what_it_left_out() -> None:
    kept = KeptColumns()
    positions = [kept.add(f" Extra\n{i} ") for i in range(MAX_COLUMNS)]
    assert positions == list(range(MAX_COLUMNS))
    assert kept.headers[:2] == ["Extra 0", "Extra 1"]  # trimmed, spaces collapsed
    assert kept.add("Extra 100") is None  # the 101st
    assert kept.add("") is None and kept.add("   ") is None  # no header: nothing to say
    long_kept = KeptColumns()
    assert long_kept.add("H" * 201) is None
    assert long_kept.add("County") == 0
    assert long_kept.add("county") == 1  # another spelling is another header
    assert long_kept.add("County") is None  # the same header twice
    assert long_kept.warnings() == [
        "Columns not kept as plan fields (at most 100 columns, each header at most 200 "
        f"characters and given once): '{'H' * 200}...', 'County'"
    ]
    assert kept.warnings() == [
        "Columns not kept as plan fields (at most 100 columns, each header at most 200 "
        "characters and given once): 'Extra 100'"
    ]


def test_values_are_text_as_a_spreadsheet_shows_them_and_cut_at_1000() -> None:
    assert [
        kept_text(v)
        for v in (
            " Alameda ",
            12.0,
            12.5,
            7,
            True,
            None,
            202411010000123008.0,
            datetime(2024, 1, 15),
            datetime(2024, 1, 15, 13, 30),
            date(2024, 1, 15),
            time(8, 5),
        )
    ] == [
        "Alameda",
        "12",
        "12.5",
        "7",
        "TRUE",
        "",
        "2.02411010000123E+17",
        "2024-01-15",
        "2024-01-15 13:30:00",
        "2024-01-15",
        "08:05:00",
    ]
    kept = KeptColumns()
    for header in ("A", "B", "C"):
        kept.add(header)
    assert kept.texts(("x", "", "")) == ["x"]  # trailing blanks left out
    assert kept.texts(("", "", "")) == []
    assert kept.texts(None) == []
    long = "y" * (MAX_VALUE + 5)
    assert kept.texts((long, "z", long)) == ["y" * MAX_VALUE, "z", "y" * MAX_VALUE]
    assert kept.texts((long,)) == ["y" * MAX_VALUE]
    assert kept.warnings() == [
        "3 values longer than 1,000 characters kept cut to 1,000, in 'A', 'C'"
    ]


def _validate(path: Path, file_type: str) -> tuple[list[tuple[int, Item]], list[str], list[str]]:
    chunks: list[tuple[int, Item]] = []
    kept: list[str] = []
    outcome = validate_file(MIF, path, file_type, chunks.extend, 100, 50, kept_headers=kept)
    assert isinstance(outcome, tuple), outcome
    return chunks, kept, outcome[1]


def test_validating_a_file_keeps_its_extra_columns_within_the_limits(tmp_path: Path) -> None:
    extra = {f"Extra {i}": f"v{i}" for i in range(MAX_COLUMNS + 3)}
    rows = [{**sample_mif_row(i), **extra} for i in range(3)]
    rows[1]["Extra 0"] = "z" * 1500
    rows[2]["Extra 1"] = ""
    rows[2]["Extra 99"] = ""
    path = tmp_path / "wide.csv"
    path.write_bytes(mif_csv(rows))
    chunks, kept, warnings = _validate(path, "csv")
    assert kept == [f"Extra {i}" for i in range(MAX_COLUMNS)]
    values = [row["plan_fields"] for _, row in chunks]
    assert values[0] == [f"v{i}" for i in range(MAX_COLUMNS)]
    assert values[1][0] == "z" * MAX_VALUE
    assert values[2][:3] == ["v0", "", "v2"] and len(values[2]) == 99  # trailing blank gone
    # One warning for the file naming what it left out or cut (first: a record shows 100
    # warnings), then one per kept column.
    assert warnings[2:4] == [
        "Unknown column 'Extra 0' kept as a plan field",
        "Unknown column 'Extra 1' kept as a plan field",
    ]
    assert len(warnings) == MAX_COLUMNS + 2
    assert warnings[:2] == [
        "Columns not kept as plan fields (at most 100 columns, each header at most 200 "
        "characters and given once): 'Extra 100', 'Extra 101', 'Extra 102'",
        "1 value longer than 1,000 characters kept cut to 1,000, in 'Extra 0'",
    ]


def test_a_workbook_date_and_number_are_kept_as_text_and_xml_elements_too(
    tmp_path: Path,
) -> None:
    rows = [
        {**sample_mif_row(1), "Referral Date": date(2024, 1, 15), "Visits": 3, "County": "A"},
        {**sample_mif_row(2), "Referral Date": None, "Visits": 2.5, "County": ""},
    ]
    path = tmp_path / "kept.xlsx"
    path.write_bytes(mif_xlsx(rows))
    chunks, kept, _ = _validate(path, "xlsx")
    assert kept == ["Referral Date", "Visits", "County"]
    assert [row["plan_fields"] for _, row in chunks] == [["2024-01-15", "3", "A"], ["", "2.5"]]

    xml_rows = [
        {**sample_mif_row(1), "County": "Alameda"},
        {**sample_mif_row(2), "Pof": "Homeless", "County": "Fresno"},
        sample_mif_row(3),
    ]
    path = tmp_path / "kept.xml"
    path.write_bytes(mif_xml(xml_rows))
    chunks, kept, warnings = _validate(path, "xml")
    assert kept == ["County", "Pof"]  # in the order they were first met
    assert [row.get("plan_fields") for _, row in chunks] == [
        ["Alameda"],
        ["Fresno", "Homeless"],
        None,
    ]
    assert warnings == [
        "Unknown element 'County' kept as a plan field",
        "Unknown element 'Pof' kept as a plan field",
    ]


class _Lookup:
    """One stored member (patient 7) and nothing else."""

    def __init__(self, patient: Item) -> None:
        mk = member_key(patient["eligibility"]["member_id"])
        self.keys = {mk: {"key": mk, "patient_id": 7, "version": 1}}
        self.patients = {7: patient}
        self.next = 100

    def get_keys(self, keys: list[str]) -> dict[str, Item]:
        return {k: self.keys[k] for k in keys if k in self.keys}

    def get_patients(self, ids: list[int]) -> dict[int, Item]:
        return {i: self.patients[i] for i in ids if i in self.patients}

    def get_authorizations(self, auth_nos: list[str]) -> dict[str, Item]:
        return {}

    def reserve(self, counter: str, count: int) -> int:
        self.next += count
        return self.next - count


def _planner(stored: Item) -> MifPlanner:
    """A planner of a plan-a file keeping County, Email and POF, over one stored member."""
    headers = ("County", "Email", "POF")
    kept = PlanFields(headers)
    return MifPlanner(9, _Lookup(stored), ProviderDirectory([]), NOW, "plan-a", plan_fields=kept)


def test_the_planner_merges_each_row_into_the_stored_member_and_warns_once() -> None:
    stored = _patient("plan-a", {"County": "Alameda", "Email": "a@example.org"})
    stored["version"] = 2
    planner = _planner(stored)
    updated, errors = validate_mif_row(2, sample_mif_row(5), False, TODAY)
    new, _ = validate_mif_row(3, sample_mif_row(6), False, TODAY)
    assert errors == []
    updated["plan_fields"] = ["Fresno", "", "Homeless"]
    new["plan_fields"] = ["Kern"]
    entries = planner.plan_chunk([(2, updated), (3, new)])
    puts = {e.put["id"]: e for e in entries if e.table == "patients" and e.put}
    assert puts[7].put["eligibility"]["plan_fields"] == {
        "County": "Fresno",
        "Email": "a@example.org",
        "POF": "Homeless",
    }
    # Rollback puts the prior image back whole: its plan fields are the stored ones.
    assert puts[7].prior["eligibility"]["plan_fields"] == {
        "County": "Alameda",
        "Email": "a@example.org",
    }
    created = next(e for pid, e in puts.items() if pid != 7)
    assert created.put["eligibility"]["plan_fields"] == {"County": "Kern"}
    list(planner.finish())
    assert planner.warnings == []

    crowded = _patient("plan-a", {f"Old {i}": "o" for i in range(MAX_FIELDS)})
    crowded["version"] = 1
    planner = _planner(crowded)
    row, _ = validate_mif_row(2, sample_mif_row(5), False, TODAY)
    row["plan_fields"] = ["Fresno"]
    planner.plan_chunk([(2, row)])
    list(planner.finish())
    assert planner.warnings == [
        "1 member would have more than 100 plan fields: this file's were kept and some from "
        "earlier files left out"
    ]


def test_a_patient_with_plan_fields_is_a_patient_model_and_its_detail_shows_them() -> None:
    fields = {"County": "Alameda", "Referral Organization": "Clinic A"}
    patient = _patient("plan-a", fields)
    raw = to_item(patient)
    assert Patient.from_raw_data(raw).serialize() == raw  # the model keeps every header
    body = patient_detail_body(patient, [])["patient"]["ecm_eligibility_information"]
    assert body["plan_fields"] == fields
    bare = patient_detail_body(_patient("plan-a", None), [])["patient"]
    assert bare["ecm_eligibility_information"]["plan_fields"] == {}


def test_a_layout_column_may_name_a_plan_field() -> None:
    row = ExportRow({"patient_id": 7}, {"cin": "91234567A"}, {"County Name": "Alameda"})
    columns = [
        Column(header="CIN", field="cin"),
        Column(header="County", plan_field="County Name"),
        Column(header="County again", plan_field="county_name"),  # as headers match
        Column(header="Email", plan_field="Email"),  # the member has none: blank
        Column(header="Program", value="ECM"),
    ]
    assert [column_cell(c, row) for c in columns] == ["91234567A", "Alameda", "Alameda", "", "ECM"]
    assert plan_field({}, "County") == ""
    default = effective_layout("rtf", "p", RTF_FIELDS, None).columns
    assert all(c.plan_field is None for c in default)


@pytest.mark.parametrize(
    "column",
    [
        {"header": "X", "field": "cin", "plan_field": "County"},
        {"header": "X", "value": "", "plan_field": "County"},
        {"header": "X"},
    ],
)
def test_a_layout_column_has_exactly_one_source(column: Item) -> None:
    document = PlanDocument.model_validate({"plan": "p", "rtf": {"columns": [column]}})
    with pytest.raises(LayoutError) as info:
        effective_layout("rtf", "p", RTF_FIELDS, document)
    assert info.value.problems == ["rtf.columns[0] needs one of a field, a value or a plan_field"]


def test_a_plan_field_the_plans_files_read_as_a_field_is_refused() -> None:
    layout = KindLayout.model_validate(
        {
            "columns": [
                {"header": "County", "plan_field": "County"},
                {"header": "Birth", "plan_field": "Member DOB"},  # a name we ship
                {"header": "Nm", "plan_field": "mbr frst nm"},  # the plan maps it
            ]
        }
    )
    problems = plan_field_problems({"Mbr Frst Nm": "FIRST_NAME"}, {"rtf": layout, "otf": None})
    assert problems == [
        "plan.rtf.columns[1].plan_field 'Member DOB' is read as the MIF field DOB, never kept "
        "as a plan field: name a field of the RTF instead",
        "plan.rtf.columns[2].plan_field 'mbr frst nm' is read as the MIF field FIRST_NAME, "
        "never kept as a plan field: name a field of the RTF instead",
    ]
