"""The changes file of a plan's MIF (docs/using/mif-imports.md, What changed): the plan
stage's findings kept in the import's work area in pieces (``WorkAreaChanges``), written
out as one CSV when the import ends, a piece at a time, and linked from the file record
beside the result files."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any

from ecm.clients import client
from ecm.imports.results import escape_cell
from ecm.imports.work_area import (
    changes_file_key,
    changes_piece_key,
    changes_summary_key,
    get_json,
    put_json,
)
from ecm.kinds.mif.changes import ChangeCounts, ChangeLine
from ecm.log import logger
from ecm.settings import get_settings

Item = dict[str, Any]
HEADER = ("member_id", "change", "fields")
#: Between the ``FIELD: old → new`` entries of one changed member.
FIELD_SEPARATOR = "; "


class WorkAreaChanges:
    """A ``ChangeSink`` writing to the import's work area (what a retried plan stage writes
    again is the same; the summary says how many pieces are the import's)."""

    def __init__(self, kind: str, file_id: int) -> None:
        self.kind, self.file_id = kind, file_id

    def put_piece(self, number: int, lines: list[ChangeLine]) -> None:
        put_json(
            changes_piece_key(self.kind, self.file_id, number), [line.stored() for line in lines]
        )

    def put_summary(self, counts: ChangeCounts, pieces: int) -> None:
        put_json(
            changes_summary_key(self.kind, self.file_id),
            {"counts": counts.as_dict(), "pieces": pieces},
        )


def csv_line(line: ChangeLine) -> list[str]:
    return [
        escape_cell(line.member_id),
        line.change,
        escape_cell(FIELD_SEPARATOR.join(line.fields)),
    ]


def _write_file(kind: str, file_id: int, pieces: int) -> str:
    """The CSV, streamed from the pieces into a local file, then stored; its key."""
    key = changes_file_key(kind, file_id)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "changes.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            for piece in range(pieces):
                for stored in get_json(changes_piece_key(kind, file_id, piece)):
                    writer.writerow(csv_line(ChangeLine.load(stored)))
        client("s3").upload_file(
            str(path), get_settings().files_bucket, key, ExtraArgs={"ContentType": "text/csv"}
        )
    return key


def changes_fields(kind: str, file_id: int) -> Item:
    """What the file record keeps once the import ends: ``changes`` (the counts) and
    ``changes_file_key``; nothing for a file that names no plan. A failure to write the
    CSV costs the file, never the import (as for the result files)."""
    summary = get_json(changes_summary_key(kind, file_id), None)
    if summary is None:
        return {}
    fields: Item = {"changes": dict(summary["counts"])}
    try:
        fields["changes_file_key"] = _write_file(kind, file_id, int(summary["pieces"]))
    except Exception as exc:
        logger.error(
            "changes file not written",
            extra={"kind": kind, "file_id": file_id, "error_type": type(exc).__name__},
        )
    return fields
