"""Making one return file: rows from the kind, cells from the layout, a local file written
as rows come, then the outbox object and the record.

Rows with a column the data cannot fill are left out and listed with why (the first 100 in
the record, every one in a CSV beside it). The file goes to ``outbox/<plan>/<kind>/<name>``
for an SFTP connector to pick up; its SHA-256 is kept, so anyone can check that the same
data and month gave the same bytes. Running an export twice (a queue delivers at least
once) writes the same object again; a finished export is not run again.
"""

from __future__ import annotations

import csv
import hashlib
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from ecm.clients import client
from ecm.exports.kinds import EXPORT_KINDS, ExportKind
from ecm.exports.layouts import Layout, LayoutError, load_layout
from ecm.exports.records import get_export_record, update_export_record
from ecm.exports.rows import ExportContext, ExportRow, Missing, Period, column_cell
from ecm.exports.writer import CONTENT_TYPES, open_sink
from ecm.imports.records import summarize_errors
from ecm.log import logger
from ecm.settings import get_settings

Item = dict[str, Any]
SKIPPED_SHOWN = 100
PROGRESS_EVERY = 5000
FAILED = "The export could not be completed; try again"
#: Values every layout can use whatever the data; blank ones are worth a warning.
SETUP_FIELDS = {
    "mcp_identifier": "the plan's mcp_identifier (PUT /plans/<plan>)",
    "mcp_name": "the plan's mcp_name (PUT /plans/<plan>)",
    "provider_tin": "ECM_PROVIDER_TIN (template parameter ProviderTin)",
    "provider_phone": "ECM_PROVIDER_PHONE (template parameter ProviderPhone)",
}


def outbox_key(plan: str, kind: str, file_name: str) -> str:
    return f"outbox/{plan}/{kind}/{file_name}"


def skipped_key(export_id: int) -> str:
    return f"results/exports/{export_id}/skipped.csv"


def file_name(layout: Layout, kind: ExportKind, period: Period, produced: date, ext: str) -> str:
    settings = get_settings()
    return layout.name_file(
        {
            "plan": layout.plan,
            "KIND": kind.name.upper(),
            "kind": kind.name,
            "npi": settings.provider_npi,
            "tin": settings.provider_tin,
            "YYYYMM": f"{period.first:%Y%m}",
            "MMYYYY": f"{period.first:%m%Y}",
            "production_YYYYMMDD": f"{produced:%Y%m%d}",
            "production_MMDDYYYY": f"{produced:%m%d%Y}",
        },
        ext,
    )


def setup_warnings(layout: Layout, has_document: bool) -> list[str]:
    """What the plan or the deployment leaves blank in every row of this layout."""
    warnings = []
    if not has_document:
        warnings.append(
            f"The plan has no record (PUT /v1/admin/clinic/ecm/plans/{layout.plan}): the DHCS "
            "template layout is used and the MCP identifier and name are blank"
        )
    used = {c.field for c in layout.columns}
    settings = get_settings()
    values = {
        "mcp_identifier": layout.mcp_identifier,
        "mcp_name": layout.mcp_name,
        "provider_tin": settings.provider_tin,
        "provider_phone": settings.provider_phone,
    }
    for name, where in SETUP_FIELDS.items():
        if name in used and not values[name] and (has_document or not name.startswith("mcp")):
            warnings.append(f"{name} is blank in every row: set {where}")
    return warnings


class SkippedRows:
    """Rows left out: the first ones kept for the record, every one written to a CSV."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.file, lineterminator="\r\n")
        self.writer.writerow(["patient_id", "activity_id", "reasons"])
        self.shown: list[Item] = []
        self.count = 0

    def add(self, row: ExportRow, reasons: list[str]) -> None:
        self.count += 1
        entry = {**row.ref, "reasons": reasons}
        if len(self.shown) < SKIPPED_SHOWN:
            self.shown.append(entry)
        self.writer.writerow(
            [row.ref.get("patient_id"), row.ref.get("activity_id") or "", *reasons]
        )

    def close(self) -> None:
        self.file.close()


def _upload(path: Path, key: str, content_type: str) -> None:
    client("s3").upload_file(
        str(path),
        get_settings().files_bucket,
        key,
        ExtraArgs={"ContentType": content_type, "ServerSideEncryption": "AES256"},
    )


def write_export(
    kind: ExportKind, context: ExportContext, file_format: str, workdir: Path, export_id: int
) -> tuple[Path, SkippedRows, int]:
    """Write the file and the skipped rows' CSV locally; answer both and the row count."""
    layout = context.layout
    path = workdir / f"export.{file_format}"
    sink = open_sink(file_format, path, layout.delimiter, kind.name.upper(), context.production)
    skipped = SkippedRows(workdir / "skipped.csv")
    if layout.header:
        sink.write([c.header for c in layout.columns])
    written = seen = 0
    for seen, row in enumerate(kind.rows(context), start=1):
        cells = [column_cell(c, row) for c in layout.columns]
        reasons = [cell.reason for cell in cells if isinstance(cell, Missing)]
        if reasons:
            skipped.add(row, list(dict.fromkeys(reasons)))
        else:
            sink.write([str(cell) for cell in cells])
            written += 1
        if seen % PROGRESS_EVERY == 0:
            update_export_record(export_id, rows_processed=seen)
    sink.close()
    skipped.close()
    return path, skipped, written


def run_export(export_id: int, last_attempt: bool = True) -> None:
    """Make the export's file (once: a finished export is left as it is). An unexpected
    error is raised again for the queue to retry, and marks the export failed only on the
    ``last_attempt``."""
    record = get_export_record(export_id)
    if record is None or record.get("status") in ("completed", "failed"):
        return
    update_export_record(export_id, status="processing")
    kind = EXPORT_KINDS[record["kind"]]
    try:
        layout = load_layout(kind.name, record["plan"], kind.fields)
    except LayoutError as exc:
        update_export_record(export_id, status="failed", errors=summarize_errors([str(exc)]))
        return
    period = Period.of(record["period"])
    produced = date.fromisoformat(record["production_date"])
    context = ExportContext(record["plan"], period, produced, layout)
    try:
        with tempfile.TemporaryDirectory(prefix="export-") as folder:
            workdir = Path(folder)
            path, skipped, written = write_export(
                kind, context, record["format"], workdir, export_id
            )
            name = file_name(layout, kind, period, produced, record["format"])
            key = outbox_key(record["plan"], kind.name, name)
            with path.open("rb") as made:
                digest = hashlib.file_digest(made, "sha256").hexdigest()
            _upload(path, key, CONTENT_TYPES[record["format"]])
            _upload(workdir / "skipped.csv", skipped_key(export_id), CONTENT_TYPES["csv"])
            update_export_record(
                export_id,
                status="completed",
                rows_processed=written + skipped.count,
                row_count=written,
                skipped_count=skipped.count,
                skipped=skipped.shown,
                skipped_file_key=skipped_key(export_id),
                file_name=name,
                file_key=key,
                file_bytes=path.stat().st_size,
                sha256=digest,
                warnings=setup_warnings(layout, layout.has_plan),
            )
    except Exception as exc:
        # Only the type: a message could quote a member's data.
        logger.error(
            "export failed",
            extra={"export_id": export_id, "error": type(exc).__name__, "last": last_attempt},
        )
        if not last_attempt:
            raise
        update_export_record(export_id, status="failed", errors=[FAILED])
        return
    logger.info(
        "export completed",
        extra={
            "export_id": export_id,
            "kind": kind.name,
            "rows": written,
            "skipped": skipped.count,
        },
    )
