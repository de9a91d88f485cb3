"""Finding the header row: plans put cover sheets, title rows and merged group rows above it.

The header is the first row, of the first sheet, that holds every required column, looked
for in the first ``HEADER_SEARCH_ROWS`` rows of each sheet. When no row does, the closest
one (most required columns, then most known ones) is reported with where we looked, so
"Missing required column" always says which sheet and row were taken as the header.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from ecm.files.fields import ColumnPlan, FieldMap, plan_columns

HEADER_SEARCH_ROWS = 20

Rows = Iterator[Sequence[Any]]


@dataclass(frozen=True)
class HeaderAt:
    """Where a file's header is: its sheet (workbooks), its 1-based row, and for CSV the
    delimiter that reads it."""

    sheet_name: str | None
    row: int
    delimiter: str | None = None


@dataclass(frozen=True)
class FileColumn:
    """A column as the file names it (spaces collapsed; XML: an element) and the keys of a
    record its cells fill (none for a column no field is known by)."""

    name: str
    fields: tuple[str, ...]


@dataclass
class Header:
    at: HeaderAt
    cells: Sequence[Any]
    plan: ColumnPlan
    #: the sheet's rows after the header
    rows: Iterator[Sequence[Any]]
    #: where we looked, when no row holds every required column
    not_found: str | None = None

    def columns(self) -> list[FileColumn]:
        """The named columns of the header row, each with the fields it fills."""
        filled: dict[int, list[str]] = {}
        for index, name in self.plan.columns:
            filled.setdefault(index, []).append(name)
        return [
            FileColumn(" ".join(str(cell).replace("\ufeff", "").split()), tuple(filled.get(i, ())))
            for i, cell in enumerate(self.cells)
            if not is_blank(cell)
        ]


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _later(scanned: list[Sequence[Any]], number: int) -> Iterator[Sequence[Any]]:
    """The rows scanned after row ``number`` (read when the records are, not now)."""
    yield from scanned[number:]


def _where(sheet_name: str | None) -> str:
    return f" of sheet '{sheet_name}'" if sheet_name is not None else ""


def find_header(
    field_map: FieldMap, sheets: Iterable[tuple[str | None, Rows]], at: HeaderAt | None = None
) -> Header | None:
    """The header of the first sheet that has one; ``None`` when every sheet is blank.

    ``at`` skips the search (result files re-read the original at the header the import
    used). ``sheets`` is consumed lazily: a later sheet is not loaded once one has a header.
    """
    looked: list[str] = []
    best: tuple[tuple[int, int], Header] | None = None
    required = set(field_map.required)
    for sheet_name, rows in sheets:
        if at is not None and at.sheet_name is not None and sheet_name != at.sheet_name:
            continue
        scanned: list[Sequence[Any]] = []  # the rows looked at, kept for the closest header
        number = 0
        for number, cells in enumerate(rows, start=1):
            if at is not None:
                if number == at.row:
                    return Header(at, cells, plan_columns(field_map, cells), rows)
                continue
            scanned.append(cells)
            if not all(is_blank(v) for v in cells):
                plan = plan_columns(field_map, cells)
                if not plan.missing_required:
                    return Header(HeaderAt(sheet_name, number), cells, plan, rows)
                score = (len(required) - len(plan.missing_required), len(plan.columns))
                if best is None or score > best[0]:
                    after = chain(_later(scanned, number), rows)
                    best = (score, Header(HeaderAt(sheet_name, number), cells, plan, after))
            if number >= HEADER_SEARCH_ROWS:
                break
        looked.append(
            f"rows 1-{number}{_where(sheet_name)}"
            if number
            else f"{_where(sheet_name)[4:]} (empty)"
        )
    if best is None:
        return None
    header = best[1]
    header.not_found = (
        f"No row holds every required column ({', '.join(field_map.required)}): looked in "
        f"{'; '.join(looked)}. The closest is row {header.at.row}{_where(header.at.sheet_name)}"
    )
    return header
