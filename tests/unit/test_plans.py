"""Plans as records, on their own: codes in any case, a plan's MIF headers checked and read
first, the suggestions for a column no field is known by, and a plan's layout read from its
record before the bucket's document."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fixtures_builders import mif_csv, sample_mif_row
from pydantic import ValidationError

from ecm.clients import client
from ecm.errors import ApiError
from ecm.exports.kinds import EXPORT_KINDS
from ecm.exports.layouts import LayoutError, load_layout
from ecm.files.fields import plan_columns as header_plan
from ecm.files.suggestions import MIN_SCORE, similarity, suggestions, unmapped_columns
from ecm.imports.stages.validate import validate_file
from ecm.kinds.mif.fields import MIF_FIELDS
from ecm.kinds.registry import MIF
from ecm.plans import check_plan, check_plan_option, fold_plan, inbox_plan
from ecm.plans.api import all_plans, one_plan, plan_body, put_plan
from ecm.plans.columns import column_problems
from ecm.plans.documents import migrate_documents
from ecm.plans.records import get_plan, save_plan
from ecm.plans.schemas import PlanFields, PlanRequest
from ecm.settings import Settings, get_settings

FIELDS = ", ".join(MIF_FIELDS.fields)


def test_a_plan_code_is_one_plan_whatever_its_case() -> None:
    assert check_plan("HealthNet") == "healthnet"
    assert check_plan("health_net-2") == "health_net-2"
    assert fold_plan("HEALTHNET") == "healthnet"
    assert fold_plan(None) is None
    assert fold_plan("Health Net") == "Health Net"  # left for the check that names it
    check_plan_option("HealthNet", "mif.plan", accepted=True)
    for wrong in ("Health Net", "", "-x", "a" * 41, "\u212aaiser"):  # a Kelvin sign
        with pytest.raises(ValueError, match="must be 1-40 letters, digits"):
            check_plan(wrong)
    assert inbox_plan("inbox/mif/hn/x.csv", {"inbox/mif/hn/": "HN"}) == "hn"


def test_settings_keep_plan_codes_in_lower_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECM_INBOX_PLANS", '{"inbox/mif/hn/": "HealthNet"}')
    monkeypatch.setenv("ECM_EXPORT_SCHEDULE_PLANS", "HealthNet, Molina")
    settings = Settings()
    assert settings.inbox_plans == {"inbox/mif/hn/": "healthnet"}
    assert settings.export_schedule_plans == ("healthnet", "molina")


def test_a_plans_headers_are_checked_naming_each_fault() -> None:
    assert column_problems({"Mbr Frst Nm": "FIRST_NAME", "Cnty": "CITY"}) == []
    assert column_problems({"Mbr Frst Nm": "FRST_NAME", "Given": "first_name"}) == [
        f"plan.mif_columns['Mbr Frst Nm'] 'FRST_NAME' is not a MIF field ({FIELDS})",
        f"plan.mif_columns['Given'] 'first_name' is not a MIF field ({FIELDS})",
    ]
    assert column_problems({"First": "FIRST_NAME", "Given Name": "FIRST_NAME"}) == [
        "plan.mif_columns maps both 'First' and 'Given Name' to FIRST_NAME: a field is read "
        "from one header"
    ]
    assert column_problems({"Mbr Frst Nm": "FIRST_NAME", "MBR_FRST_NM": "LAST_NAME"}) == [
        "plan.mif_columns['MBR_FRST_NM'] is the header 'Mbr Frst Nm' again (case, spaces and "
        "punctuation do not count)"
    ]
    assert column_problems({"--": "CITY"}) == [
        "plan.mif_columns['--'] is not a header: it needs a letter or digit"
    ]
    too_many = {f"Column {i}": "CITY" for i in range(101)}
    assert column_problems(too_many) == [
        "plan.mif_columns may map at most 100 headers (it has 101)"
    ]


def test_a_plan_body_takes_its_defaults_and_refuses_what_it_does_not_know() -> None:
    fields = PlanFields.model_validate({"name": " Health Net "})
    assert fields.model_dump(exclude_none=True) == {
        "name": "Health Net",
        "mif_columns": {},
        "full_roster": True,
        "mcp_name": "",
        "mcp_identifier": "",
    }
    for wrong in (
        {"plan": {"name": "x", "colour": "red"}},
        {"plan": {"name": "x", "full_roster": "yes"}},
        {"plan": {"name": ""}},
        {"plan": {"name": "x", "rtf": {"delimiter": ";"}}},
        {"name": "x"},
    ):
        with pytest.raises(ValidationError):
            PlanRequest.model_validate(wrong)


def test_a_plans_headers_are_read_before_the_names_we_ship() -> None:
    own = MIF_FIELDS.with_columns({"Mbr Frst Nm": "FIRST_NAME", "Member ID": "CIN"})
    assert own.resolve("MBR_FRST_NM") == ("FIRST_NAME",)
    assert own.resolve("member id") == ("CIN",)  # the plan's meaning wins over ours
    assert own.resolve("LAST_NAME") == ("LAST_NAME",)
    assert MIF_FIELDS.resolve("Mbr Frst Nm") == ()  # the shipped map is untouched
    assert MIF_FIELDS.with_columns({}) is MIF_FIELDS
    # "MEMBER_ID" is the header "Member ID" (normalised): the plan reads it as CIN.
    header = header_plan(own, ["MEMBER_ID", "Mbr Frst Nm", "LAST_NAME", "Cnty Nm"])
    assert header.missing_required == ["MEMBER_ID"]
    header = header_plan(
        MIF_FIELDS.with_columns({"Mbr Frst Nm": "FIRST_NAME"}),
        ["MEMBER_ID", "Mbr Frst Nm", "LAST_NAME", "Cnty Nm"],
    )
    assert header.columns == [(0, "MEMBER_ID"), (1, "FIRST_NAME"), (2, "LAST_NAME")]
    assert header.unknown == ["Cnty Nm"]
    assert header.missing_required == []


def test_suggestions_name_plausible_fields_only_best_first() -> None:
    assert suggestions(MIF_FIELDS, "Mbr Frst Nm") == [{"field": "FIRST_NAME", "score": 0.91}]
    assert suggestions(MIF_FIELDS, "Mbr Acuity Lvl") == [{"field": "ACUITY_LEVEL", "score": 0.91}]
    assert suggestions(MIF_FIELDS, "Date Of Brth") == [{"field": "DOB", "score": 0.96}]
    assert suggestions(MIF_FIELDS, "Gender Cd") == [{"field": "GENDER", "score": 0.9}]
    for unlike in ("Favourite Colour", "Referring Organization", "County", "Member", "Name"):
        assert suggestions(MIF_FIELDS, unlike) == [], unlike
    # A field another column fills already is no suggestion.
    assert suggestions(MIF_FIELDS, "Mbr Frst Nm", ["FIRST_NAME"]) == []
    # Several plausible fields, best first.
    both = suggestions(MIF_FIELDS, "Member Name")
    assert [s["score"] for s in both] == sorted((s["score"] for s in both), reverse=True)
    assert all(MIN_SCORE <= s["score"] <= 1 for s in both)
    assert similarity("member first name", "member first name") == 1.0
    assert similarity("mbr frst nm", "member first name") < 1.0


def test_unmapped_columns_are_listed_once_in_the_files_order() -> None:
    listed = unmapped_columns(MIF_FIELDS, ["Zzz", "Mbr Frst Nm", "Zzz", " "], ["LAST_NAME"])
    assert [c["column"] for c in listed] == ["Zzz", "Mbr Frst Nm"]
    assert listed[0]["suggestions"] == []
    assert listed[1]["suggestions"][0]["field"] == "FIRST_NAME"


def _renamed_csv(tmp_path: Path, renames: dict[str, str], extra: dict[str, str]) -> Path:
    rows = []
    for i in range(3):
        row: dict[str, Any] = {renames.get(k, k): v for k, v in sample_mif_row(900 + i).items()}
        rows.append({**row, **extra})
    path = tmp_path / "renamed.csv"
    path.write_bytes(mif_csv(rows))
    return path


def test_validating_a_file_reads_a_plans_headers_and_lists_the_rest(tmp_path: Path) -> None:
    path = _renamed_csv(tmp_path, {"ACUITY_LEVEL": "Mbr Acuity Lvl"}, {"County": "Alameda"})
    chunks: list[Any] = []
    unmapped: list[Any] = []
    kept: list[str] = []
    outcome = validate_file(
        MIF, path, "csv", chunks.extend, 100, 50, unmapped=unmapped, kept_headers=kept
    )
    assert outcome == (
        3,
        [
            "Unknown column 'Mbr Acuity Lvl' kept as a plan field",
            "Unknown column 'County' kept as a plan field",
        ],
    )
    assert [c["column"] for c in unmapped] == ["Mbr Acuity Lvl", "County"]
    assert unmapped[0]["suggestions"][0]["field"] == "ACUITY_LEVEL"
    assert all(row.get("acuity_level") in (None, "") for _, row in chunks)
    # Until mapped, the column is kept as it came, beside the other unknown one.
    assert kept == ["Mbr Acuity Lvl", "County"]
    acuity = [sample_mif_row(900 + i)["ACUITY_LEVEL"] for i in range(3)]
    assert [row["plan_fields"] for _, row in chunks] == [[a, "Alameda"] for a in acuity]

    chunks, unmapped = [], []
    own = MIF.field_map.with_columns({"mbr acuity lvl": "ACUITY_LEVEL"})
    outcome = validate_file(
        MIF, path, "csv", chunks.extend, 100, 50, field_map=own, unmapped=unmapped
    )
    assert [c["column"] for c in unmapped] == ["County"]
    expected = [sample_mif_row(900 + i)["ACUITY_LEVEL"].lower() for i in range(3)]
    assert [row["acuity_level"] for _, row in chunks] == expected
    assert [row["plan_fields"] for _, row in chunks] == [["Alameda"]] * 3


def test_a_refused_file_still_says_which_columns_it_could_not_read(tmp_path: Path) -> None:
    path = _renamed_csv(tmp_path, {"FIRST_NAME": "Mbr Frst Nm"}, {})
    unmapped: list[Any] = []
    outcome = validate_file(MIF, path, "csv", lambda rows: None, 100, 50, unmapped=unmapped)
    assert outcome.errors == [  # type: ignore[union-attr]
        "Missing required column: FIRST_NAME",
        "No row holds every required column (MEMBER_ID, FIRST_NAME, LAST_NAME): looked in "
        "rows 1-4. The closest is row 1",
    ]
    assert [c["column"] for c in unmapped] == ["Mbr Frst Nm"]
    assert unmapped[0]["suggestions"][0]["field"] == "FIRST_NAME"


def _put_document(code: str, document: dict[str, Any]) -> None:
    client("s3").put_object(
        Bucket=get_settings().files_bucket,
        Key=f"config/plans/{code}.json",
        Body=json.dumps(document).encode(),
    )


def test_a_plans_layout_comes_from_its_record_before_the_buckets_document(tables: None) -> None:
    rtf = EXPORT_KINDS["rtf"]
    _put_document("p", {"plan": "p", "mcp_name": "From The Bucket"})
    assert load_layout("rtf", "p", rtf.fields).mcp_name == "From The Bucket"
    assert load_layout("rtf", "p", rtf.fields).source == "config/plans/p.json"
    save_plan("p", {"name": "P", "mcp_name": "From The Record", "rtf": {"delimiter": "|"}}, "1")
    layout = load_layout("rtf", "p", rtf.fields)
    assert (layout.mcp_name, layout.delimiter, layout.source) == (
        "From The Record",
        "|",
        "plan 'p'",
    )
    assert layout.has_plan
    assert not load_layout("rtf", "none", rtf.fields).has_plan
    save_plan("q", {"name": "Q", "rtf": {"columns": [{"header": "X", "field": "colour"}]}}, "1")
    with pytest.raises(LayoutError, match=re.escape("plan 'q': rtf.columns[0].field 'colour'")):
        load_layout("rtf", "q", rtf.fields)


def test_migrating_makes_each_document_a_record_once(tables: None) -> None:
    _put_document("alpha", {"plan": "alpha", "mcp_name": "Alpha Health", "otf": {"header": False}})
    _put_document("beta", {"plan": "beta"})
    _put_document("broken", {"plan": "broken", "rtf": {"delimiter": ";"}})
    save_plan("beta", {"name": "Beta, as a record"}, "7")
    report = migrate_documents()
    assert report["migrated"] == ["alpha"]
    assert report["already_records"] == ["beta"]
    assert list(report["refused"]) == ["config/plans/broken.json"]
    alpha = get_plan("alpha")
    assert alpha is not None
    assert {k: alpha[k] for k in ("code", "name", "mcp_name", "otf", "full_roster")} == {
        "code": "alpha",
        "name": "Alpha Health",
        "mcp_name": "Alpha Health",
        "otf": {"header": False, "codes": {}},
        "full_roster": True,
    }
    assert (get_plan("beta") or {})["name"] == "Beta, as a record"
    assert migrate_documents()["migrated"] == []  # once


def test_a_long_header_is_listed_cut_to_what_a_plan_can_map() -> None:
    (listed,) = unmapped_columns(MIF_FIELDS, ["x" * 5000])
    assert listed == {"column": "x" * 200, "suggestions": []}
    many = unmapped_columns(MIF_FIELDS, [f"Extra {i}" for i in range(150)])
    assert [c["column"] for c in many] == [f"Extra {i}" for i in range(100)]


def test_the_plans_domain_stores_reads_and_refuses(tables: None) -> None:
    admin = {"user_id": "4"}
    stored = put_plan("Gamma", PlanFields.model_validate({"name": "Gamma Health"}), admin)
    assert stored["plan"]["code"] == "gamma"
    assert one_plan("GAMMA") == stored
    assert all_plans() == {"plans": [stored["plan"]]}
    assert plan_body({"code": "old", "name": "Old", "created_at": "t", "updated_at": "t"}) == {
        "code": "old",
        "name": "Old",
        "mif_columns": {},
        "full_roster": True,
        "mcp_name": "",
        "mcp_identifier": "",
        "rtf": None,
        "otf": None,
        "created_at": "t",
        "updated_at": "t",
        "updated_by": None,
    }
    for raw, status in (("no-such", 404), ("Bad Code", 404)):
        with pytest.raises(ApiError) as missing:
            one_plan(raw)
        assert (missing.value.status, missing.value.messages) == (status, ["Plan not found"])
    _put_document("delta", {"plan": "delta"})
    with pytest.raises(ApiError) as held:
        put_plan("delta", PlanFields.model_validate({"name": "Delta"}), admin)
    assert held.value.status == 409
    assert get_plan("delta") is None
