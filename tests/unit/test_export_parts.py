"""Return files' parts on their own (docs/return-files.md): layouts as checked data, codes, the
California month, safe and reproducible files, the worker's retries and the schedule."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from openpyxl import load_workbook

from ecm.clients import client
from ecm.errors import ApiError
from ecm.exports.codes import CODE_DOMAINS, CODE_SETS
from ecm.exports.engine import run_export
from ecm.exports.kinds import EXPORT_KINDS, get_export_kind
from ecm.exports.layouts import (
    LayoutError,
    PlanDocument,
    default_layout,
    effective_layout,
    load_layout,
)
from ecm.exports.records import create_export_record, get_export_record
from ecm.exports.rows import Period
from ecm.exports.schedule import handle_schedule_event, previous_month
from ecm.exports.worker import ATTEMPTS, handle_export_message
from ecm.exports.writer import CsvSink, XlsxSink, safe_cell
from ecm.patients.activities import ACTIVITY_METHODS
from ecm.patients.choices import DISCONTINUATION_REASONS
from ecm.settings import get_settings


@pytest.mark.parametrize("kind", sorted(EXPORT_KINDS))
def test_the_dhcs_layouts_use_only_their_kinds_fields(kind: str) -> None:
    layout = effective_layout(kind, "any", EXPORT_KINDS[kind].fields, None)
    assert layout.source == f"dhcs-{kind}.json"
    assert (layout.date_format, layout.period_format, layout.delimiter) == (
        "MM/DD/YYYY",
        "MM/YYYY",
        ",",
    )
    headers = [c.header for c in layout.columns]
    assert len(headers) == len(set(headers))
    assert len(headers) == {"rtf": 41, "otf": 12}[kind]


def test_every_code_table_maps_known_values_only() -> None:
    assert CODE_SETS["ecm_status"] == {
        "pending_outreach": "1",
        "in_outreach": "2",
        "delivering_service": "3",
        "discontinued": "4",
    }
    assert set(CODE_SETS["outreach_method"]) <= set(ACTIVITY_METHODS)
    assert set(CODE_SETS["discontinuation_reason"]) <= set(DISCONTINUATION_REASONS)
    # The values with no code are the ones docs/return-files.md lists as such.
    assert set(ACTIVITY_METHODS) - set(CODE_SETS["outreach_method"]) == {"mail", "other"}
    for name, table in CODE_SETS.items():
        assert set(table) <= set(CODE_DOMAINS[name]), name


def test_a_plan_document_changes_only_what_it_names() -> None:
    document = PlanDocument.model_validate(
        {
            "plan": "p",
            "mcp_name": "P Health",
            "rtf": {"date_format": "YYYY-MM-DD", "codes": {"ecm_status": {"in_outreach": "B"}}},
        }
    )
    layout = effective_layout("rtf", "p", EXPORT_KINDS["rtf"].fields, document)
    assert layout.source == "config/plans/p.json"
    assert layout.mcp_name == "P Health"
    assert layout.format_date(date(2026, 3, 4)) == "2026-03-04"
    assert layout.codes["ecm_status"]["in_outreach"] == "B"
    assert layout.codes["ecm_status"]["delivering_service"] == "3"  # the default's stays
    assert [c.header for c in layout.columns] == [
        c.header for c in default_layout("rtf").columns or []
    ]
    assert CODE_SETS["ecm_status"]["in_outreach"] == "2"  # the default is untouched


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"plan": "p", "rtf": {"delimiter": ";"}}, "rtf.delimiter input should be"),
        ({"plan": "p", "rtf": {"columns": []}}, "rtf.columns list should have at least 1 item"),
        ({"plan": "p", "extra": 1}, "extra extra inputs are not permitted"),
        ({"plan": "P Q"}, "plan value error, must be 1-40 letters"),
        (
            {"plan": "p", "rtf": {"codes": {"ecm_status": {"new_member": "3"}}}},
            "rtf.codes.ecm_status.new_member is not one of pending_outreach, in_outreach, "
            "delivering_service, discontinued",
        ),
        (
            {"plan": "p", "rtf": {"columns": [{"header": "A\nB", "value": ""}]}},
            "must not hold control characters",
        ),
    ],
)
def test_a_wrong_plan_document_is_refused_naming_the_part(
    tables: None, document: dict[str, Any], problem: str
) -> None:
    key = "config/plans/p.json"
    client("s3").put_object(
        Bucket=get_settings().files_bucket, Key=key, Body=json.dumps(document).encode()
    )
    with pytest.raises(LayoutError) as info:
        load_layout("rtf", "p", EXPORT_KINDS["rtf"].fields)
    assert info.value.source == key
    assert problem in str(info.value).lower().replace("'", ""), str(info.value)


def test_a_document_for_another_plan_or_not_json_is_refused(tables: None) -> None:
    bucket = get_settings().files_bucket
    client("s3").put_object(Bucket=bucket, Key="config/plans/p.json", Body=b'{"plan": "q"}')
    with pytest.raises(LayoutError, match="plan 'q' is not 'p'"):
        load_layout("otf", "p", EXPORT_KINDS["otf"].fields)
    client("s3").put_object(Bucket=bucket, Key="config/plans/p.json", Body=b"plan: p")
    with pytest.raises(LayoutError, match="is not JSON"):
        load_layout("otf", "p", EXPORT_KINDS["otf"].fields)


def test_a_month_is_californias() -> None:
    november = Period.of("2026-11")
    assert (november.first, november.last) == (date(2026, 11, 1), date(2026, 11, 30))
    # November begins in daylight time (UTC-7) and ends in standard time (UTC-8).
    assert november.start_key() == "2026-11-01T07:00:00.000Z"
    assert november.end_key() == "2026-12-01T08:00:00.000Z"
    assert Period.of("2028-02").last == date(2028, 2, 29)
    for wrong in ("2026-13", "2026-1", "202611", "2026/11"):
        with pytest.raises(ValueError):
            Period.of(wrong)
    assert previous_month(date(2027, 1, 1)) == "2026-12"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("O'Neil", "O'Neil"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_quoted(text: str, shown: str) -> None:
    assert safe_cell(text) == shown


def test_csv_is_rfc4180_and_xlsx_is_the_same_bytes_twice(tmp_path: Path) -> None:
    rows = [["CIN", "Name"], ["91234567A", 'Ana "Bee", Jr.'], ["=1+1", "Zoë"]]
    sink = CsvSink(tmp_path / "a.csv", ",")
    for row in rows:
        sink.write(row)
    sink.close()
    raw = (tmp_path / "a.csv").read_bytes()
    assert raw == 'CIN,Name\r\n91234567A,"Ana ""Bee"", Jr."\r\n\'=1+1,Zoë\r\n'.encode()
    assert list(csv.reader(io.StringIO(raw.decode()))) == [
        rows[0],
        rows[1],
        ["'=1+1", "Zoë"],
    ]

    made = []
    for name in ("a.xlsx", "b.xlsx"):
        sink = XlsxSink(tmp_path / name, "RTF", date(2026, 12, 5))
        for row in rows:
            sink.write(row)
        sink.close()
        made.append((tmp_path / name).read_bytes())
    assert made[0] == made[1]
    with zipfile.ZipFile(tmp_path / "a.xlsx") as package:
        assert {i.date_time for i in package.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = package.read("docProps/core.xml").decode()
    assert "2026-12-05T00:00:00Z" in core

    sheet = load_workbook(tmp_path / "a.xlsx", read_only=True)["RTF"]
    assert [[c.value for c in r] for r in sheet.iter_rows()] == [
        rows[0],
        rows[1],
        ["'=1+1", "Zoë"],
    ]


def _record(**fields: Any) -> int:
    base = {
        "kind": "otf",
        "plan": "p",
        "period": "2026-11",
        "format": "csv",
        "production_date": "2026-12-05",
    }
    return int(create_export_record(**{**base, **fields})["id"])


def test_a_failing_export_is_retried_and_fails_only_on_its_last_attempt(
    tables: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    export_id = _record()

    def broken(_: Any) -> Any:
        raise RuntimeError("Ana Lopez 91234567A")  # what a message must never carry out

    monkeypatch.setitem(
        EXPORT_KINDS,
        "otf",
        EXPORT_KINDS["otf"].__class__("otf", "OTF", EXPORT_KINDS["otf"].fields, broken),
    )
    message = json.dumps({"export_id": export_id})
    for attempt in range(1, ATTEMPTS):
        with pytest.raises(RuntimeError):
            handle_export_message(message, attempt)
        assert (get_export_record(export_id) or {})["status"] == "processing"
    handle_export_message(message, ATTEMPTS)
    record = get_export_record(export_id) or {}
    assert (record["status"], record["errors"]) == (
        "failed",
        ["The export could not be completed; try again"],
    )
    handle_export_message(message, ATTEMPTS + 1)  # a late duplicate changes nothing
    assert get_export_record(export_id) == record
    for wrong in ('{"export_id": "1"}', "[]", '{"export_id": true}'):
        with pytest.raises(ValueError, match="names no export"):
            handle_export_message(wrong, 1)


def test_an_export_made_once_is_not_made_again(tables: None) -> None:
    export_id = _record()
    run_export(export_id)
    record = get_export_record(export_id) or {}
    assert (record["status"], record["row_count"], record["skipped_count"]) == ("completed", 0, 0)
    assert record["file_key"] == "outbox/p/otf/p_OTF_202611_20261205.csv"
    assert record["warnings"][0].startswith("The plan has no record (PUT ")
    run_export(export_id)
    assert get_export_record(export_id) == record


def test_the_schedule_queues_last_months_files_once_per_event(
    tables: None, monkeypatch: pytest.MonkeyPatch
) -> None:

    queue = client("sqs").create_queue(QueueName="exports")["QueueUrl"]
    monkeypatch.setenv("EXPORT_QUEUE_URL", queue)
    monkeypatch.setenv("ECM_EXPORT_SCHEDULE_PLANS", "alpha, beta")
    monkeypatch.setenv("ECM_EXPORT_SCHEDULE_FORMAT", "xlsx")
    get_settings.cache_clear()
    bucket = get_settings().files_bucket
    client("s3").put_object(
        Bucket=bucket,
        Key="config/plans/beta.json",
        Body=b'{"plan": "beta", "otf": {"file_name": "{nope}"}}',
    )

    class Context(LambdaContext):
        _function_name = "ExportScheduleFunction"
        _aws_request_id = "r1"

        def get_remaining_time_in_millis(self) -> int:
            return 60_000

    event = {"id": "event-1", "time": "2026-12-01T09:00:00Z"}
    first = handle_schedule_event(event, Context())
    assert first["period"] == "2026-11"
    assert len(first["queued"]) == 3  # alpha's two, beta's RTF
    assert [(r["plan"], r["kind"]) for r in first["refused"]] == [("beta", "otf")]
    records = [get_export_record(i) or {} for i in first["queued"]]
    assert {(r["plan"], r["kind"], r["format"], r["created_by"]) for r in records} == {
        ("alpha", "rtf", "xlsx", "schedule"),
        ("alpha", "otf", "xlsx", "schedule"),
        ("beta", "rtf", "xlsx", "schedule"),
    }
    again = handle_schedule_event(event, Context())  # EventBridge delivered it twice
    assert again["queued"] == first["queued"]
    messages = client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(m["Body"])["export_id"] for m in messages) == sorted(first["queued"])


def test_an_export_kind_that_does_not_exist_is_a_422() -> None:
    with pytest.raises(ApiError) as info:
        get_export_kind("pdf")
    assert info.value.messages == ["export.kind must be one of rtf, otf"]


SAMPLE_PLANS = sorted((Path(__file__).parents[2] / "samples" / "plans").glob("*.json"))


@pytest.mark.parametrize("path", SAMPLE_PLANS, ids=lambda p: p.name)
def test_the_sample_plan_documents_are_usable(path: Path) -> None:
    document = PlanDocument.model_validate_json(path.read_bytes())
    assert path.stem == document.plan
    for kind, export_kind in EXPORT_KINDS.items():
        layout = effective_layout(kind, document.plan, export_kind.fields, document)
        assert layout.mcp_name == document.mcp_name
