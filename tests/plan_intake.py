"""A health plan's intake of our return files, written apart from the code that makes them.

It knows only what a plan knows: the layout document (the DHCS default layout's JSON,
changed by the plan's document as ``PUT /plans/{code}`` stores it), the code sets as data
(``fixtures/plan_code_sets.json``, the documented tables) and the file's bytes, read with
``csv`` and openpyxl. It imports nothing of ``ecm``: a check that used the exporter's own
layout or code tables to decide what is valid could never fail.

What it refuses, each problem naming the row (the file's line or sheet row) and column:
headers that are not the layout's, in its order; a date not in the layout's format; a
coded value outside its code set (after the layout's re-coding); a required value left
blank; a CIN that is not a Medi-Cal CIN; an NPI failing its check digit; a status of
engagement its dates contradict; and members (RTF) or attempts (OTF) missing, repeated or
not expected.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: The DHCS default layouts are data files shipped beside the exporter: read as JSON only.
DEFAULT_LAYOUTS = ROOT / "layers" / "shared" / "ecm" / "exports" / "layouts"
CODE_SETS_FILE = Path(__file__).parent / "fixtures" / "plan_code_sets.json"

#: Which code set a coded field's values come from (docs/return-files.md, the column tables).
CODED_FIELDS = {
    "ecm_status": "ecm_status",
    "acuity_level": "acuity",
    "discontinuation_reason_code": "discontinuation_reason",
    "outreach_method": "outreach_method",
    "outreach_successful": "yes_no",
    "referral_status": "referral_status",
    "referral_closure_reason": "referral_closure_reason",
}
#: Values a plan cannot take a row without.
REQUIRED_FIELDS = frozenset(
    {
        "cin",
        "ecm_status",
        "production_date",
        "reporting_period",
        "outreach_date",
        "outreach_method",
        "provider_npi",
    }
)
#: A Medi-Cal CIN: nine characters, "9", seven digits and a letter, not one digit repeated
#: (a placeholder): a plan's own intake rule, the [KHS] source in docs/return-files.md (we
#: hold no CIN rule of our own: the MIF import keeps the text the plan sent).
CIN = re.compile(r"9[0-9]{7}[A-Z]")
PLACEHOLDER_CIN = re.compile(r"9([0-9])\1{6}[A-Z]")
DATE_TOKENS = re.compile(r"YYYY|MM|DD")
TOKEN_PATTERNS = {"YYYY": "([0-9]{4})", "MM": "([0-9]{2})", "DD": "([0-9]{2})"}


def is_date_field(field: str) -> bool:
    """Every field named ``*_date`` holds a date, and so does the date of birth."""
    return field.endswith("_date") or field == "date_of_birth"


def npi_check_digit(first_nine: str) -> int:
    """The NPI's tenth digit: the Luhn check digit of "80840" + the first nine digits, as
    CMS's NPI check digit standard defines it (the card-issuer prefix 80840 is constant,
    so its Luhn weight adds 24 to the doubled-digit sum of the nine)."""
    total = 24
    for position, char in enumerate(reversed(first_nine)):
        digit = int(char)
        if position % 2 == 0:  # rightmost of the nine is doubled: the check digit follows it
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return (10 - total % 10) % 10


def npi_valid(npi: str) -> bool:
    return (
        len(npi) == 10
        and npi.isascii()
        and npi.isdigit()
        and (npi_check_digit(npi[:9]) == int(npi[9]))
    )


def with_check_digit(first_nine: str) -> str:
    """A valid NPI from nine digits (for making test data)."""
    return first_nine + str(npi_check_digit(first_nine))


def parse_dates(format_spec: str, text: str) -> list[date] | None:
    """The dates ``text`` holds in a layout's format spec (``MM/DD/YYYY``, ``YYYYMM``,
    ``MM/DD/YYYY-MM/DD/YYYY``, ...), each token exactly its digits and every other
    character literal; a spec without DD gives the month's first day. None when the text
    does not match or a date does not exist."""
    tokens = DATE_TOKENS.findall(format_spec)
    pattern = ""
    position = 0
    for token in DATE_TOKENS.finditer(format_spec):
        pattern += re.escape(format_spec[position : token.start()]) + TOKEN_PATTERNS[token[0]]
        position = token.end()
    pattern += re.escape(format_spec[position:])
    match = re.fullmatch(pattern, text)
    if match is None:
        return None
    dates: list[dict[str, int]] = []
    current: dict[str, int] = {}
    for token, digits in zip(tokens, match.groups(), strict=True):
        if token in current:
            dates.append(current)
            current = {}
        current[token] = int(digits)
    dates.append(current)
    try:
        return [date(part["YYYY"], part["MM"], part.get("DD", 1)) for part in dates]
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True)
class Column:
    header: str
    field: str | None
    value: str | None


@dataclass(frozen=True)
class IntakeSpec:
    """What the plan's intake expects of one kind of file."""

    kind: str
    columns: tuple[Column, ...]
    date_format: str
    period_format: str
    delimiter: str
    header: bool
    #: Per code set: each of our values and the plan's code for it, after re-coding.
    codes: dict[str, dict[str, str]]

    def accepted(self, code_set: str) -> set[str]:
        return set(self.codes[code_set].values())


def load_code_sets() -> dict[str, dict[str, str]]:
    return dict(json.loads(CODE_SETS_FILE.read_text())["code_sets"])


def intake_spec(
    kind: str,
    plan_document: dict[str, Any] | None = None,
    code_sets: dict[str, dict[str, str]] | None = None,
) -> IntakeSpec:
    """The default layout of ``kind`` with what the plan's document changes (what it
    leaves out is the default's; its ``codes`` re-code values of a code set)."""
    default = json.loads((DEFAULT_LAYOUTS / f"dhcs-{kind}.json").read_text())
    own = (plan_document or {}).get(kind) or {}
    merged = {**default, **{k: v for k, v in own.items() if v is not None}}
    codes = {name: dict(table) for name, table in (code_sets or load_code_sets()).items()}
    for recoding in (default.get("codes") or {}, own.get("codes") or {}):
        for name, table in recoding.items():
            codes[name].update(table)
    return IntakeSpec(
        kind=kind,
        columns=tuple(
            Column(c["header"], c.get("field"), c.get("value")) for c in merged["columns"]
        ),
        date_format=merged["date_format"],
        period_format=merged["period_format"],
        delimiter=merged["delimiter"],
        header=merged["header"],
        codes=codes,
    )


def read_rows(
    content: bytes, file_format: str, spec: IntakeSpec
) -> tuple[list[list[str]], list[str]]:
    """The file's rows as text cells, and what stops a plan from reading it as text."""
    if file_format == "csv":
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            return [], ["the file is not UTF-8"]
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=spec.delimiter)), []
    from openpyxl import load_workbook  # noqa: PLC0415 - only an XLSX file needs it

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError):
        return [], ["the file is not an XLSX workbook"]
    sheet_name = spec.kind.upper()
    if sheet_name not in workbook.sheetnames:
        return [], [f"the workbook has no sheet {sheet_name} (it has {workbook.sheetnames})"]
    rows, problems = [], []
    for number, values in enumerate(workbook[sheet_name].iter_rows(values_only=True), 1):
        cells = []
        for value in values:
            if value is not None and not isinstance(value, str):
                problems.append(f"row {number}: a cell holds {type(value).__name__}, not text")
            cells.append("" if value is None else str(value))
        while len(cells) > len(spec.columns) and cells[-1] == "":
            cells.pop()
        rows.append(cells)
    workbook.close()
    return rows, problems


def check_file(
    content: bytes,
    file_format: str,
    spec: IntakeSpec,
    period: str,
    expected: Iterable[str] | Iterable[tuple[str, date]],
) -> list[str]:
    """Every problem a plan's intake finds in the file of ``period`` (``YYYY-MM``).
    ``expected``: the RTF's members by CIN, or the OTF's attempts as (CIN, day)."""
    rows, problems = read_rows(content, file_format, spec)
    if not rows and not problems:
        problems.append("the file is empty")
    if problems:
        return problems
    headers = [c.header for c in spec.columns]
    first = 1
    if spec.header:
        problems.extend(_header_problems(rows[0], headers))
        first = 2
    keys: Counter[str] = Counter()
    for number, row in enumerate(rows[first - 1 :], first):
        if len(row) != len(headers):
            problems.append(f"row {number} has {len(row)} cells, the layout {len(headers)}")
            continue
        cells = list(zip(spec.columns, row, strict=True))
        problems.extend(_row_problems(number, cells, spec, period))
        by_field = {c.field: v for c, v in cells if c.field}
        if spec.kind == "rtf":
            keys[by_field.get("cin", "")] += 1
        else:
            day = parse_dates(spec.date_format, by_field.get("outreach_date", ""))
            keys[f"{by_field.get('cin', '')} on {day[0] if day else 'no date'}"] += 1
    wanted = Counter(
        key if isinstance(key, str) else f"{key[0]} on {key[1].isoformat()}" for key in expected
    )
    problems.extend(_count_problems(spec.kind, keys, wanted))
    return problems


def _header_problems(found: list[str], headers: list[str]) -> list[str]:
    if found == headers:
        return []
    problems = [
        f"header column {i} is '{got}' where the layout has '{want}'"
        for i, (got, want) in enumerate(zip(found, headers, strict=False), 1)
        if got != want
    ]
    if len(found) != len(headers):
        problems.append(f"the header has {len(found)} columns, the layout {len(headers)}")
    return problems


def _row_problems(
    number: int, cells: list[tuple[Column, str]], spec: IntakeSpec, period: str
) -> list[str]:
    problems = []
    for column, text in cells:
        at = f"row {number}, {column.header}"
        if column.field is None:
            if text != column.value:
                problems.append(f"{at}: '{text}' is not the layout's fixed value '{column.value}'")
            continue
        problems.extend(f"{at}: {p}" for p in _cell_problems(column.field, text, spec, period))
    by_field = {c.field: v for c, v in cells if c.field}
    problems.extend(f"row {number}: {p}" for p in _status_problems(by_field, spec))
    return problems


def _cell_problems(field: str, text: str, spec: IntakeSpec, period: str) -> list[str]:
    if not text:
        return [f"{field} is required"] if field in REQUIRED_FIELDS else []
    if field == "cin":
        if not CIN.fullmatch(text) or PLACEHOLDER_CIN.fullmatch(text):
            return [f"CIN '{text}' is not 9 characters: '9', seven digits and a letter"]
    elif field.endswith("_npi"):
        if not npi_valid(text):
            return [f"NPI '{text}' fails the NPI check digit"]
    elif field == "reporting_period":
        first = date(int(period[:4]), int(period[5:]), 1)
        last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
        dates = parse_dates(spec.period_format, text)
        wanted = [first, last] if spec.period_format.count("MM") == 2 else [first]
        if dates != wanted:
            return [f"'{text}' is not the period {period} as {spec.period_format}"]
    elif is_date_field(field):
        dates = parse_dates(spec.date_format, text)
        if dates is None or len(dates) != 1:
            return [f"'{text}' is not a date as {spec.date_format}"]
    elif field in CODED_FIELDS:
        code_set = CODED_FIELDS[field]
        if text not in spec.accepted(code_set):
            accepted = ", ".join(sorted(spec.accepted(code_set)))
            return [f"'{text}' is not a code of {code_set} ({accepted})"]
    return []


def _status_problems(values: dict[str, str], spec: IntakeSpec) -> list[str]:
    """What the status of engagement needs of the row's other columns (a column the layout
    leaves out is not asked for)."""
    if "ecm_status" not in values:
        return []
    status = {code: value for value, code in spec.codes["ecm_status"].items()}.get(
        values["ecm_status"]
    )
    needs = {
        "discontinued": ("discontinuation_date", "discontinuation_reason_code"),
        "delivering_service": ("enrollment_start_date",),
    }.get(status or "", ())
    problems = [
        f"{field} is required for status {values['ecm_status']} ({status})"
        for field in needs
        if field in values and not values[field]
    ]
    if status in ("pending_outreach", "in_outreach") and values.get("enrollment_start_date"):
        problems.append(f"a member {status} has an enrollment start date")
    return problems


def _count_problems(kind: str, found: Counter[str], expected: Counter[str]) -> list[str]:
    """RTF: one row per member expected, no other; OTF: one per attempt (a member may have
    two on one day, so only the counts are compared)."""
    if kind == "rtf":
        problems = [f"member {key} has {n} rows" for key, n in sorted(found.items()) if n > 1]
        problems += [f"member {key} has no row" for key in sorted(expected - found)]
        return problems + [
            f"member {key} has a row but was not expected"
            for key in sorted(found - expected)
            if key not in expected
        ]
    missing, extra = expected - found, found - expected
    return [f"attempt {key} has {n} row(s) too few" for key, n in sorted(missing.items())] + [
        f"attempt {key} has {n} row(s) more than expected" for key, n in sorted(extra.items())
    ]
