"""What every reader returns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ecm.files.kept import KeptColumns
from ecm.files.readers.header import HeaderAt

Record = tuple[int, dict[str, Any]]


@dataclass
class RecordStream:
    """Records of one file. ``warnings`` may grow while ``records`` is consumed (XML tags,
    columns without a header that hold values).

    ``header_errors`` refuse the file before any row (where the header was looked for, a
    look-alike column); ``header`` is where the header row is (CSV and workbooks).
    """

    records: Iterator[Record]
    warnings: list[str] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)
    sheet_name: str | None = None
    header: HeaderAt | None = None
    header_errors: list[str] = field(default_factory=list)
    #: the columns (XML: elements) no field is known by, as the file names them; XML's grow
    #: while ``records`` is consumed
    unmapped: list[str] = field(default_factory=list)
    #: the fields some column (XML: element) fills
    fields: set[str] = field(default_factory=set)
    #: the unknown columns each record carries under ``KEPT`` (a map that keeps them);
    #: XML's grow while ``records`` is consumed
    kept: KeptColumns | None = None


def too_many_rows(max_rows: int) -> str:
    return (
        f"File has more than {max_rows:,} data rows; split it or raise the limit "
        "(ECM_MAX_ROWS) for the upload path"
    )
