"""Import a file again with cells corrected by hand: the stored original is read as it came,
the corrections laid over its rows (``ecm.files.readers.corrected``), as a new file record
of its own. The corrections are checked against the file before anything is written: a row
or column the file does not have is refused, and no import starts."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from ecm.clients import client
from ecm.clock import iso_timestamp
from ecm.errors import ApiError, FileFormatError
from ecm.files.readers import read_records
from ecm.files.readers.corrected import FixTarget, check_targets
from ecm.imports.api import FINAL, original_filename, parse_file_id, run_import
from ecm.imports.corrections import Correction, load_corrections, merged, save_corrections
from ecm.imports.records import (
    create_import_file,
    generated_filename,
    get_import_file,
    mark_failed,
    summarize_errors,
    update_import_file,
)
from ecm.imports.schemas import (
    MAX_CORRECTED_TEXT,
    MAX_CORRECTIONS,
    CellCorrection,
    CorrectionsRequest,
)
from ecm.imports.stages.validate import file_field_map, record_file_type
from ecm.imports.uploads import expire_if_due
from ecm.imports.work_area import corrections_key
from ecm.kinds.registry import ALL_OR_NOTHING, ImportKind, get_kind
from ecm.log import logger
from ecm.settings import get_settings

Item = dict[str, Any]


def correct_import(
    kind_name: str, raw_id: str, request: CorrectionsRequest, user_id: Any
) -> tuple[int, Item]:
    """A new import of file ``raw_id``'s stored original with ``request``'s cells corrected
    (and those it was corrected with before), answered as an import is."""
    started = time.monotonic()
    kind = get_kind(kind_name)
    file_id = parse_file_id(kind, raw_id)
    original = get_import_file(kind.name, file_id)
    if original is None:
        raise ApiError(404, kind.not_found)
    original = expire_if_due(original)
    if original["status"] in ("waiting", "expired"):
        raise ApiError(
            422, f"{kind.label} file {file_id} has no file to correct: it was never uploaded"
        )
    if original["status"] not in FINAL:
        raise ApiError(
            422, f"{kind.label} file {file_id} is still being imported; correct it once it ends"
        )
    file_type, columns = _columns_named(kind, original, request.corrections)
    now = iso_timestamp()
    asked = [
        Correction(c.row, columns[index], c.value, str(user_id), now)
        for index, c in enumerate(request.corrections)
    ]
    corrections = merged(load_corrections(original), asked)
    _check_total(corrections)
    record = _register(kind, original, request, user_id, corrections, file_type)
    logger.info(
        "corrected import received",
        extra={
            "kind": kind.name,
            "file_id": record["id"],
            "corrected_from": record["corrected_from"],
            "corrections": len(corrections),
        },
    )
    return run_import(kind, int(record["id"]), started)


def _columns_named(
    kind: ImportKind, original: Item, asked: list[CellCorrection]
) -> tuple[str, dict[int, str]]:
    """The original's format and each correction's column as the file names it; a 422
    naming every correction the file has no row or column for."""
    targets = [FixTarget(index, c.row, c.column) for index, c in enumerate(asked)]
    settings = get_settings()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "original"
        client("s3").download_file(settings.files_bucket, original["s3_key"], str(path))
        try:
            file_type = record_file_type(kind, original, path)
            field_map = file_field_map(kind, original)
            stream = read_records(path, file_type, field_map, settings.max_rows)
            columns, errors = check_targets(stream, targets, field_map)
        except FileFormatError as exc:
            raise ApiError(422, f"The file cannot be corrected: {exc}") from None
    if errors:
        raise ApiError(422, *summarize_errors(errors))
    return file_type, columns


def _check_total(corrections: list[Correction]) -> None:
    """The bounds of one request hold for every round of a file's corrections together."""
    if len(corrections) > MAX_CORRECTIONS:
        raise ApiError(
            422,
            f"The file would have {len(corrections):,} corrected cells, more than "
            f"{MAX_CORRECTIONS:,}; import a corrected file instead",
        )
    if sum(len(c.value) for c in corrections) > MAX_CORRECTED_TEXT:
        raise ApiError(
            422,
            f"The file's corrected cells would hold more than {MAX_CORRECTED_TEXT:,} "
            "characters; import a corrected file instead",
        )


def _register(
    kind: ImportKind,
    original: Item,
    request: CorrectionsRequest,
    user_id: Any,
    corrections: list[Correction],
    file_type: str,
) -> Item:
    """The corrected import's record (``pending``), reading the first file's original, and
    its corrections beside that original."""
    first = int(original.get("corrected_from") or original["id"])
    record = create_import_file(
        kind.name,
        original["source_type"],
        original["original_name"],
        s3_key=original["s3_key"],
        declared_type=original.get("declared_type"),
        data_uri_type=original.get("data_uri_type"),
        created_by=user_id,
        dry_run=request.dry_run,
        mode=request.mode or original.get("mode") or ALL_OR_NOTHING,
        plan=original.get("plan"),
        original_filename=original_filename(original),
        corrected_from=first,
    )
    file_id = int(record["id"])
    key = corrections_key(kind.name, first, file_id)
    try:
        save_corrections(key, corrections)
    except Exception:
        mark_failed(kind.name, file_id, ["The import could not be started; try again"])
        raise
    filename = generated_filename(kind.name, file_type, record["created_at"])
    update_import_file(kind.name, file_id, corrections_key=key, filename=filename)
    return {**record, "corrections_key": key, "filename": filename}
