"""The bodies of the import routes (docs/api/mif-imports.md), as pydantic models.

Both kinds share one shape and differ only in their keys (``mif`` / ``authorization``,
``mif_file_id`` / ``authorization_file_id``, ``eligibility_informations`` /
``authorizations``), so each kind's models are built from its ``ImportKind`` once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema, create_model

from ecm.api.schemas import Envelope, ObjectBody, Pagination, RequestBody, ResponseBody
from ecm.kinds.registry import ALL_OR_NOTHING, ImportKind, ImportMode, get_kind
from ecm.plans import PlanCode
from ecm.webhooks import MAX_URL_LENGTH

PLAN_DESCRIPTION = (
    "MIF only: the health plan that sent the file, a short code (letters, digits, '-', '_'; "
    "case does not matter, it is kept in lower case); kept on each member's eligibility "
    "record, return files are made per plan, and the plan's mif_columns read the file"
)

#: A webhook URL in a request; ecm.webhooks checks it (with this bound) before it is kept.
WebhookUrl = Annotated[
    str,
    WithJsonSchema(
        {"type": "string", "format": "uri", "minLength": 1, "maxLength": MAX_URL_LENGTH}
    ),
]

FileStatus = Literal["pending", "processing", "completed", "failed", "waiting", "expired"]


class ImportSource(RequestBody):
    """Where the file is (exactly one of ``file``, ``url``, ``path``) and how to import it."""

    file: str | None = Field(
        None,
        description="The file's content in base64, with or without a data URI prefix "
        "(data:<mime>;base64,). Inline files are limited to about 4.4 MB: the whole request, "
        "base64 and all, must fit Lambda's 6 MB invoke payload, else 413; send larger files "
        "through an upload URL (POST .../uploads).",
    )
    url: str | None = Field(None, description="An https URL to download the file from")
    path: str | None = Field(None, description="A key of the bucket (inbox or upload area)")
    file_type: str | None = Field(None, description="Format; detected from the bytes if absent")
    dry_run: bool = Field(False, description="Validate and plan only; nothing is written")
    mode: ImportMode = Field(ALL_OR_NOTHING, description="valid_rows imports the rows that pass")
    webhook_url: WebhookUrl | None = Field(None, description="https URL told when the import ends")
    plan: PlanCode | None = Field(None, description=PLAN_DESCRIPTION)
    filename: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="The file's own name, shown as original_filename (an inline file has "
        "no other; a URL's or a path's name is taken when this is absent)",
    )


class UploadRequest(ObjectBody):
    """An upload URL for a file too large to send inline (over about 4.4 MB)."""

    filename: str = Field(min_length=1, max_length=200)
    file_type: str | None = None
    dry_run: bool = False
    mode: ImportMode = ALL_OR_NOTHING
    webhook_url: WebhookUrl | None = None
    plan: PlanCode | None = Field(None, description=PLAN_DESCRIPTION)


#: At most this many cells a request (or a file's corrections, all rounds together) corrects:
#: the console edits up to 500 failed rows.
MAX_CORRECTIONS = 5_000
#: The longest text a cell may be corrected to.
MAX_CORRECTION_VALUE = 1_000
#: The corrected text of one file in all: its detail lists every correction, and a Lambda
#: response holds 6 MB (a character may take 4 bytes).
MAX_CORRECTED_TEXT = 500_000
#: A row number is at most this (a spreadsheet has 1,048,576 rows; CSV rows are bounded by
#: ECM_MAX_ROWS data rows).
MAX_CORRECTION_ROW = 10_000_000


class CellCorrection(RequestBody):
    """One cell of the file, read as ``value`` instead of what the file holds."""

    row: int = Field(
        ge=1, le=MAX_CORRECTION_ROW, description="The row, numbered as the errors number it"
    )
    column: str = Field(
        min_length=1,
        max_length=200,
        description="The column's header as the file spells it (case and spacing aside; XML: "
        "the element), or the field it is read as (DOB for a header 'Date of Birth') when "
        "one column only is",
    )
    value: str = Field(
        max_length=MAX_CORRECTION_VALUE, description="The cell's new text; empty clears it"
    )


def _bounded_text(corrections: list[CellCorrection]) -> list[CellCorrection]:
    if sum(len(c.value) for c in corrections) > MAX_CORRECTED_TEXT:
        raise ValueError(f"values hold more than {MAX_CORRECTED_TEXT:,} characters in all")
    return corrections


class CorrectionsRequest(ObjectBody):
    """Import the file again, from its stored original, with these cells corrected."""

    corrections: Annotated[list[CellCorrection], AfterValidator(_bounded_text)] = Field(
        max_length=MAX_CORRECTIONS,
        description="The cells to correct, added to the ones the file was corrected with "
        "before (a cell corrected twice keeps its last value); at most "
        f"{MAX_CORRECTED_TEXT:,} characters of values in all",
    )
    dry_run: bool = Field(False, description="Validate and plan only; nothing is written")
    mode: ImportMode | None = Field(
        None, description="all_or_nothing or valid_rows; the corrected file's mode if absent"
    )


class CorrectionListed(ResponseBody):
    """A corrected cell, who corrected it and when."""

    row: int
    column: str = Field(description="The column's header as the file spells it")
    value: str
    changed_by: str = Field(description="The id of the admin who corrected it")
    changed_at: str


class RowErrorListed(ResponseBody):
    """One error of a failed row, by the cell it names."""

    row: int = Field(description="The row as the errors number it (corrections name it so)")
    column: str = Field(description="The column (field) the error names; empty when none")
    message: str = Field(description="What is wrong, without the row and the value")
    value: str = Field(description="The value the file holds, as the message quotes it")


class ErrorRows(ResponseBody):
    """Every error of the first 500 failed rows, in row order, for correcting them."""

    errors: list[RowErrorListed]
    total: int = Field(description="How many rows failed in all (the errors CSV lists them)")


class Upload(ResponseBody):
    id: int
    status: Literal["waiting"]
    upload_url: str = Field(description="Presigned PUT URL, valid 10 minutes")
    upload_method: Literal["PUT"]
    required_headers: dict[str, str]
    expires_at: str


class Suggestion(ResponseBody):
    field: str = Field(description="A field of the kind the column may be")
    score: float = Field(description="How alike their names are, 0-1")


class UnmappedColumn(ResponseBody):
    """A column no field is known by: its values were not imported. Map it for the plan
    (PUT /plans/{code}, mif_columns) and every later file of the plan imports it."""

    column: str = Field(description="The header, as the file spells it")
    suggestions: list[Suggestion] = Field(description="Plausible fields only, best first")


UNMAPPED_DESCRIPTION = "The columns no field is known by, each with the fields it may be"


class Changes(ResponseBody):
    """What a plan's MIF changed against the plan's list as its earlier MIFs left it."""

    added: int = Field(description="Rows of members not on the plan's list (new ones too)")
    changed: int = Field(description="Members on the list the file gives another value")
    unchanged: int = Field(description="Members on the list the file gives no other value")
    dropped: int = Field(
        description="Members on the list the file leaves out (full_roster plans only): "
        "marked in_latest_mif false"
    )


CHANGE_NAMES = tuple(Changes.model_fields)
CHANGES_DESCRIPTION = (
    "MIF naming its plan, once completed (a dry run: as it would be): the members it adds, "
    "changes, leaves as they were and drops against the plan's list; null otherwise"
)
CHANGES_FILE_DESCRIPTION = (
    "Presigned GET URL (30 minutes) of the changes CSV: member_id, change (added | changed "
    "| dropped), fields ('FIELD: old → new' entries joined by '; ')"
)
CHANGE_FIELDS: Any = {
    "changes": (Changes | None, Field(description=CHANGES_DESCRIPTION)),
    "changes_file_url": (str | None, Field(description=CHANGES_FILE_DESCRIPTION)),
}


class FileSummary(ResponseBody):
    """One import file as the list shows it: the documented fields and the progress ones."""

    id: int
    filename: str | None
    original_filename: str | None = Field(
        description="The file's name as it came (uploaded, in the URL or the bucket key); "
        "filename is the one we give it"
    )
    file_type: str | None
    source_type: str = Field(description="base64, url, path, inbox or upload")
    plan: str | None = Field(description="The health plan the file came from (MIF)")
    records_imported: int
    records_updated: int
    created_count: int
    updated_count: int
    import_errors: str | None
    status: FileStatus
    stage: str | None = Field(
        description="validating, waiting_for_lock, planning, applying, finalizing, "
        "rolling_back, done, waiting_for_upload, expired"
    )
    queue_position: int | None = Field(
        description="While waiting_for_lock: the place in line by arrival, 1 being next",
    )
    rows_total: int | None
    rows_processed: int
    warnings: list[str]
    sheet_name: str | None
    header_row: int | None
    dry_run: bool
    mode: ImportMode
    would_create: int | None
    would_update: int | None
    records_failed: int
    unmapped_columns: list[UnmappedColumn] = Field(description=UNMAPPED_DESCRIPTION)
    result_file_url: str | None
    errors_file_url: str | None
    created_at: str
    updated_at: str
    file_url: str | None = Field(description="Presigned GET URL of the original, 30 minutes")
    expires_at: str | None
    corrected_from: int | None = Field(
        description="A corrected import (POST .../{id}/corrections): the id of the file whose "
        "stored original it read"
    )


class EligibilityRecord(ResponseBody):
    """A MIF row's eligibility record, frozen at import time."""

    id: int
    patient_id: int
    patient_name: str | None
    member_id: str | None
    cin: str | None
    first_name: str | None
    last_name: str | None
    dob: str | None
    ecm_service_auth_id: str | None
    ecm_provider_name: str | None
    member_record_status: str | None
    created_at: str
    updated_at: str


class AuthorizationRecord(ResponseBody):
    """An authorization file's row, frozen at import time."""

    id: int
    auth_no: str
    auth_type: str | None
    auth_description: str | None
    member_id: str | None
    member_name: str | None
    authorization_type: str | None
    status: str | None
    requesting_provider: str | None
    servicing_provider: str | None
    received_date: str | None
    decision_date: str | None
    start_date: str | None
    expiration_date: str | None
    contact_name: str | None
    remarks: str | None
    ecm_eligibility_information_id: int | None
    patient_id: int | None
    patient_name: str | None
    created_at: str
    updated_at: str


RECORD_MODELS: dict[str, type[ResponseBody]] = {
    "mif": EligibilityRecord,
    "authorization": AuthorizationRecord,
}


@dataclass(frozen=True)
class KindSchemas:
    request: type[BaseModel]
    imported: type[BaseModel]
    dry_run: type[BaseModel]
    accepted: type[BaseModel]
    listing: type[BaseModel]
    detail: type[BaseModel]


def _model(
    name: str, doc: str, fields: dict[str, Any], base: type[BaseModel] = ResponseBody
) -> Any:
    return create_model(name, __base__=base, __doc__=doc, **fields)


@cache
def kind_schemas(kind_name: str) -> KindSchemas:
    kind: ImportKind = get_kind(kind_name)
    title = "Mif" if kind.name == "mif" else kind.label
    id_field: Any = {kind.id_field: (int, ...)}
    valid_rows: Any = {
        "records_failed": (int, Field(description="Rows skipped (valid_rows mode)")),
        "errors": (list[str], Field(description="Why each skipped row failed")),
        "unmapped_columns": (list[UnmappedColumn], Field(description=UNMAPPED_DESCRIPTION)),
    } | (CHANGE_FIELDS if kind.takes_plan else {})
    summary: Any = (
        _model(f"{title}FileSummary", FileSummary.__doc__ or "", CHANGE_FIELDS, FileSummary)
        if kind.takes_plan
        else FileSummary
    )
    counts = {
        "message": (str, ...),
        "imported_count": (int, ...),
        "updated_count": (int, ...),
        "created_count": (int, ...),
        "warnings": (list[str], ...),
    }
    imported = _model(
        f"{title}Imported", f"The {kind.label} file was imported.", counts | id_field | valid_rows
    )
    dry_run_fields = {
        "message": (str, ...),
        "dry_run": (Literal[True], ...),
        "would_create": (int, ...),
        "would_update": (int, ...),
        "warnings": (list[str], ...),
    }
    dry_run = _model(
        f"{title}DryRun",
        "What the import would do; nothing was written.",
        dry_run_fields | id_field | valid_rows,
    )
    accepted = _model(
        f"{title}Accepted",
        "Still running after the synchronous window; poll the file.",
        {"status": (Literal["processing"], ...)} | id_field,
    )
    listing = _model(
        f"{title}Files",
        f"A page of {kind.label} files, newest first.",
        {"pagination": (Pagination, ...), kind.list_key: (list[summary], ...)},
    )
    record_model = RECORD_MODELS[kind.name]
    records: Any = list.__class_getitem__(record_model)
    detail_file = _model(
        f"{title}FileDetail",
        "The file and the records it imported, paged by records_page.",
        {
            "corrections": (
                list[CorrectionListed],
                Field(description="The cells read in place of the file's (a corrected import)"),
            ),
            "records_pagination": (Pagination, ...),
            kind.records_key: (records, ...),
        },
        summary,
    )
    detail = _model(f"{title}File", "One file.", {kind.detail_key: (detail_file, ...)})
    request = _model(
        f"{title}ImportRequest",
        f"Import a {kind.label} file.",
        {kind.body_key: (ImportSource, ...)},
        Envelope,
    )
    return KindSchemas(request, imported, dry_run, accepted, listing, detail)
