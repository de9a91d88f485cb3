"""Per-plan layouts of the return files, as data: which columns in which order, their
headers, date and period formats, the file's name, delimiter and codes.

The DHCS template layout ships with the code (``layouts/dhcs-<kind>.json``); a plan's
record (``PUT /plans/<plan>``, ecm.plans) names the plan (MCP name and identifier) and may
change any part of a kind's layout. A plan without a record may still have the document
that came before records, ``config/plans/<plan>.json`` in the files bucket: it is read
until ``ecm.cli migrate-plans`` makes it a record. Both are checked when loaded: a wrong
layout is refused with every problem named, never half-applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ecm.exports.codes import CODE_DOMAINS, CODE_SETS
from ecm.files.kept import MAX_HEADER
from ecm.imports.work_area import get_json
from ecm.plans import check_plan
from ecm.plans.records import get_plan

LAYOUTS = Path(__file__).parent / "layouts"
PLAN_PREFIX = "config/plans/"

DateFormat = Literal["MM/DD/YYYY", "MM-DD-YYYY", "YYYY-MM-DD", "YYYYMMDD"]
PeriodFormat = Literal["MM/YYYY", "YYYY-MM", "MMYYYY", "YYYYMM", "MM/DD/YYYY-MM/DD/YYYY"]
DATE_FORMATS = {
    "MM/DD/YYYY": "%m/%d/%Y",
    "MM-DD-YYYY": "%m-%d-%Y",
    "YYYY-MM-DD": "%Y-%m-%d",
    "YYYYMMDD": "%Y%m%d",
}
#: What a file name pattern may hold: these placeholders and letters, digits, '-', '_', '.'.
NAME_PLACEHOLDERS = (
    "plan",
    "KIND",
    "kind",
    "npi",
    "tin",
    "YYYYMM",
    "MMYYYY",
    "production_YYYYMMDD",
    "production_MMDDYYYY",
)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NAME_TEXT = re.compile(r"[A-Za-z0-9_.-]*")


class LayoutError(ValueError):
    """A layout document that cannot be used; ``problems`` name each wrong part."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: {'; '.join(problems)}")
        self.source, self.problems = source, problems


class Column(BaseModel):
    """One column: its header and one source, a field of the kind, a fixed value, or a
    column of the plan's MIFs kept as the member's plan field (by its header)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    header: str = Field(min_length=1, max_length=200)
    field: str | None = None
    value: str | None = Field(None, max_length=200)
    plan_field: str | None = Field(None, min_length=1, max_length=MAX_HEADER)

    @field_validator("header", "value", "plan_field")
    @classmethod
    def _printable(cls, text: str | None) -> str | None:
        if text is not None and not text.isprintable():
            raise ValueError("must not hold control characters")
        return text


class KindLayout(BaseModel):
    """A kind's layout in a document; what a plan's document leaves out is the default's."""

    model_config = ConfigDict(extra="forbid", strict=True)

    columns: list[Column] | None = Field(None, min_length=1, max_length=200)
    date_format: DateFormat | None = None
    period_format: PeriodFormat | None = None
    file_name: str | None = Field(None, min_length=1, max_length=120)
    delimiter: Literal[",", "|", "\t"] | None = None
    header: bool | None = None
    codes: dict[str, dict[str, str]] = Field(default_factory=dict)


class PlanDocument(BaseModel):
    """``config/plans/<plan>.json``: the plan's identity and its changes to each layout."""

    model_config = ConfigDict(extra="forbid", strict=True)

    plan: str
    mcp_name: str = Field("", max_length=200)
    mcp_identifier: str = Field("", max_length=50)
    rtf: KindLayout | None = None
    otf: KindLayout | None = None

    _plan = field_validator("plan")(check_plan)


@dataclass(frozen=True)
class Layout:
    """The layout one export writes with: the default, changed by the plan's document."""

    kind: str
    plan: str
    mcp_name: str
    mcp_identifier: str
    columns: tuple[Column, ...]
    date_format: str
    period_format: str
    file_name: str
    delimiter: str
    header: bool
    codes: dict[str, dict[str, str]]
    source: str  # the plan's record or document, or the default's name when it has none

    def format_date(self, day: date | None) -> str:
        return day.strftime(DATE_FORMATS[self.date_format]) if day else ""

    def format_period(self, first: date, last: date) -> str:
        if self.period_format == "MM/DD/YYYY-MM/DD/YYYY":
            return f"{first:%m/%d/%Y}-{last:%m/%d/%Y}"
        pattern = {"MM/YYYY": "%m/%Y", "YYYY-MM": "%Y-%m", "MMYYYY": "%m%Y", "YYYYMM": "%Y%m"}
        return first.strftime(pattern[self.period_format])

    def name_file(self, values: dict[str, str], extension: str) -> str:
        return self.file_name.format_map(values) + "." + extension

    @property
    def has_plan(self) -> bool:
        """Whether the plan's record (or document) was read, not the default alone."""
        return not self.source.startswith("dhcs-")


def _problems(error: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(part) for part in e['loc']) or 'document'} {e['msg'][:1].lower()}"
        f"{e['msg'][1:]}"
        for e in error.errors()
    ]


@cache
def default_layout(kind: str) -> KindLayout:
    """The DHCS template layout of a kind, shipped with the code."""
    path = LAYOUTS / f"dhcs-{kind}.json"
    try:
        return KindLayout.model_validate_json(path.read_bytes())
    except ValidationError as exc:  # a broken default is a bug of ours: fail loudly
        raise LayoutError(path.name, _problems(exc)) from None


def plan_document_key(plan: str) -> str:
    return f"{PLAN_PREFIX}{plan}.json"


def plan_record_source(plan: str) -> str:
    """How a layout error names the plan's record."""
    return f"plan '{plan}'"


#: What of a plan's record is its layout (``PlanDocument`` less the code).
LAYOUT_FIELDS = ("mcp_name", "mcp_identifier", "rtf", "otf")


def record_document(record: dict[str, object]) -> PlanDocument:
    """A plan record's layout part as a document (the record was checked when stored)."""
    fields = {k: record[k] for k in LAYOUT_FIELDS if record.get(k) is not None}
    try:
        return PlanDocument.model_validate({"plan": record["code"], **fields})
    except ValidationError as exc:
        raise LayoutError(plan_record_source(str(record["code"])), _problems(exc)) from None


def read_plan_document(plan: str) -> PlanDocument | None:
    """The plan's document from the bucket, checked; None when the plan has none."""
    key = plan_document_key(plan)
    try:
        body = get_json(key, None)
        if body is None:
            return None
        document = PlanDocument.model_validate(body)
    except ValueError as exc:
        problems = _problems(exc) if isinstance(exc, ValidationError) else ["is not JSON"]
        raise LayoutError(key, problems) from None
    if document.plan != plan:
        raise LayoutError(key, [f"plan '{document.plan}' is not '{plan}'"])
    return document


def effective_layout(
    kind: str,
    plan: str,
    fields: frozenset[str],
    document: PlanDocument | None,
    source: str | None = None,
) -> Layout:
    """The default layout of ``kind`` changed by the plan's document, checked as a whole:
    every column's field is one of ``fields``, every code set is known, the file name
    pattern uses known placeholders only. ``source`` names the document in errors (the
    bucket key by default)."""
    base = default_layout(kind)
    own = getattr(document, kind, None) or KindLayout.model_validate({})
    if document is None:
        source = f"dhcs-{kind}.json"
    source = source or plan_document_key(plan)
    merged = base.model_copy(
        update={k: v for k, v in own.model_dump(exclude={"codes"}).items() if v is not None}
    )
    columns = tuple(Column.model_validate(c) for c in (own.columns or base.columns or []))
    problems = _column_problems(kind, columns, fields)
    codes = {name: dict(table) for name, table in CODE_SETS.items()}
    for name, table in {**base.codes, **own.codes}.items():
        if name not in codes:
            problems.append(f"{kind}.codes.{name} is not a code set ({', '.join(codes)})")
        else:
            domain = CODE_DOMAINS[name]
            problems.extend(
                f"{kind}.codes.{name}.{value} is not one of {', '.join(domain)}"
                for value in table
                if value not in domain
            )
            codes[name].update(table)
    problems.extend(_name_problems(kind, str(merged.file_name)))
    if problems:
        raise LayoutError(source, problems)
    return Layout(
        kind=kind,
        plan=plan,
        mcp_name=document.mcp_name if document else "",
        mcp_identifier=document.mcp_identifier if document else "",
        columns=columns,
        date_format=str(merged.date_format),
        period_format=str(merged.period_format),
        file_name=str(merged.file_name),
        delimiter=str(merged.delimiter),
        header=bool(merged.header),
        codes=codes,
        source=source,
    )


def _column_problems(kind: str, columns: tuple[Column, ...], fields: frozenset[str]) -> list[str]:
    problems = []
    for number, column in enumerate(columns):
        at = f"{kind}.columns[{number}]"
        sources = (column.field, column.value, column.plan_field)
        if sum(source is not None for source in sources) != 1:
            problems.append(f"{at} needs one of a field, a value or a plan_field")
        elif column.field is not None and column.field not in fields:
            problems.append(
                f"{at}.field '{column.field}' is not a field of the {kind.upper()} "
                f"({', '.join(sorted(fields))})"
            )
    return problems


def _name_problems(kind: str, pattern: str) -> list[str]:
    unknown = [p for p in _PLACEHOLDER.findall(pattern) if p not in NAME_PLACEHOLDERS]
    text = _PLACEHOLDER.sub("", pattern)
    problems = []
    if unknown:
        problems.append(
            f"{kind}.file_name placeholder {{{unknown[0]}}} is not one of "
            + ", ".join(f"{{{p}}}" for p in NAME_PLACEHOLDERS)
        )
    if not _NAME_TEXT.fullmatch(text) or "{" in text or "}" in text or pattern.startswith("."):
        problems.append(f"{kind}.file_name may hold letters, digits, '-', '_', '.' only")
    return problems


def load_layout(kind: str, plan: str, fields: frozenset[str]) -> Layout:
    """The layout of one plan's export of ``kind`` (LayoutError when it cannot be used):
    from the plan's record, else from its document in the bucket, else the default."""
    record = get_plan(plan)
    if record is not None:
        document = record_document(record)
        return effective_layout(kind, plan, fields, document, plan_record_source(plan))
    return effective_layout(kind, plan, fields, read_plan_document(plan))
