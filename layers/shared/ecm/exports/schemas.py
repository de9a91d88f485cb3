"""The bodies of the export routes, as pydantic models (the OpenAPI document's source)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ecm.api.schemas import Envelope, Pagination, RequestBody, ResponseBody
from ecm.plans import PlanCode

ExportStatus = Literal["pending", "processing", "completed", "failed"]


class ExportCreate(RequestBody):
    kind: Literal["rtf", "otf"] = Field(description="rtf: Return Transmission; otf: Outreach")
    plan: PlanCode = Field(description="The health plan's code, as its MIFs name it")
    period: str = Field(description="The reporting month, YYYY-MM (California's calendar)")
    format: Literal["csv", "xlsx"] = "csv"
    production_date: str | None = Field(
        None,
        description="YYYY-MM-DD written in the file and its name; today (California) if absent. "
        "The same data, period and production date give the same bytes",
    )


class ExportRequest(Envelope):
    """Make a plan's return file for a month."""

    export: ExportCreate


class ExportStarted(ResponseBody):
    export_id: int
    status: ExportStatus


class SkippedRow(ResponseBody):
    patient_id: int
    activity_id: int | None = None
    reasons: list[str]


class ExportSummary(ResponseBody):
    id: int
    kind: str
    plan: str
    period: str
    format: str
    production_date: str
    status: ExportStatus
    rows_processed: int
    row_count: int | None = Field(description="Rows written to the file")
    skipped_count: int | None = Field(description="Rows left out; `skipped` says why")
    file_name: str | None
    file_key: str | None = Field(description="Where the file is in the bucket (outbox/...)")
    file_url: str | None = Field(description="Presigned GET URL of the file, 30 minutes")
    file_bytes: int | None
    sha256: str | None = Field(description="The file's SHA-256: same data, same bytes")
    warnings: list[str]
    errors: list[str]
    created_by: str | None
    created_at: str
    updated_at: str


class ExportDetail(ExportSummary):
    skipped: list[SkippedRow] = Field(description="The first 100 rows left out, and why")
    skipped_file_url: str | None = Field(description="Every row left out, as CSV")


class ExportList(ResponseBody):
    exports: list[ExportSummary]
    pagination: Pagination


class ExportFile(ResponseBody):
    export: ExportDetail
